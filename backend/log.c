/*
 * log.c - timestamped log lines on stderr.
 */
#include "log.h"
#include "proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <unistd.h>

static char log_service[32] = "counterd";

void log_init(const char *service)
{
    snprintf(log_service, sizeof log_service, "%s", service);
}

static void emit(const char *level, const char *fmt, va_list ap)
{
    char ts[32], line[1024];
    proto_utc_now(ts, sizeof ts);
    vsnprintf(line, sizeof line, fmt, ap);
    fprintf(stderr, "%s %s[%d] %s: %s\n", ts, log_service, (int)getpid(), level, line);
    fflush(stderr);
}

#define LOG_FN(name, level)                                                                      \
    void name(const char *fmt, ...)                                                              \
    {                                                                                            \
        va_list ap;                                                                              \
        va_start(ap, fmt);                                                                       \
        emit(level, fmt, ap);                                                                    \
        va_end(ap);                                                                              \
    }

LOG_FN(log_info, "info")
LOG_FN(log_warn, "warn")
LOG_FN(log_error, "error")
