/*
 * log.h - a worker's log: one line per event worth knowing, with a level,
 *
 *     2026-11-25T14:40:00.123Z catalog[1234] warn: ...
 *
 * written to stderr. `counter backend start` opens stderr on
 * $COUNTER_HOME/log/SERVICE.log (O_APPEND); under systemd it is the journal.
 * Only when stderr is that very file (log_open checks the inode) does the
 * worker rotate it: past max_bytes SERVICE.log becomes SERVICE.log.1 (older
 * ones shift up to SERVICE.log.KEEP, the oldest goes) and a new SERVICE.log
 * takes stderr's place. Each line is one write(2) on an O_APPEND file, and a
 * worker that finds the file already rotated by another process reopens it
 * instead of rotating again. Control characters in a line become '?', so a
 * line is always one line. Safe from any thread (one lock).
 */
#ifndef LOG_H
#define LOG_H

enum { LOGLEVEL_ERROR, LOGLEVEL_WARN, LOGLEVEL_INFO, LOGLEVEL_DEBUG };

/* The current level (LOGLEVEL_*): lines above it are not written. */
extern int log_level;

void log_init(const char *service);

/* "error", "warn", "info" or "debug" -> LOGLEVEL_*; -1 for anything else. */
int log_level_parse(const char *name);

/* Set the level, and rotate stderr at max_bytes keeping keep old files when
 * stderr is path (see above; max_bytes 0: never). 0, or -1 when stderr is
 * path but cannot be examined (said on stderr; logging goes on). */
int log_open(int level, const char *path, long long max_bytes, int keep);

void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Debug lines cost a comparison when the level is below debug: the
 * arguments are not even evaluated. */
#define log_debug(...)                                                                           \
    do {                                                                                         \
        if (log_level >= LOGLEVEL_DEBUG)                                                         \
            log_debug_line(__VA_ARGS__);                                                         \
    } while (0)

/* An info line that a caller can provoke at will (a refused request, a
 * failed login): at most LOG_BURST such lines a second per process; the rest
 * are counted and said in one "... and K more" line (at the next such line
 * after the second, or at log_tick). */
#define LOG_BURST 20
void log_limited(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* From a periodic timer: says the count of lines log_limited held back once
 * their second is over. */
void log_tick(void);

#endif
