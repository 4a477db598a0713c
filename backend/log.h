/*
 * log.h - one line per message on stderr (the service's log file):
 * "2026-11-25T14:40:00.123Z catalog[1234] warn: ...".
 */
#ifndef LOG_H
#define LOG_H

void log_init(const char *service);
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
