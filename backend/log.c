/*
 * log.c - timestamped, levelled log lines on stderr, with size-based rotation
 * when stderr is the service's log file (log.h says when).
 */
#include "log.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES 1024

int log_level = LOGLEVEL_INFO;

static const char *const level_names[] = {"error", "warn", "info", "debug"};
static char log_service[32] = "counterd";
/* One lock for the file, its size and the rate limit: lines from several
 * threads never interleave, and only one of them rotates. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static struct {
    char path[4200];        /* "": stderr is not our log file, never rotated */
    long long max_bytes;    /* 0: never rotated */
    int keep;
    int stdout_too;         /* stdout is the same file: it follows a rotation */
    long long size;         /* bytes in the file, as far as we know */
} file;

static struct {
    long long second;       /* monotonic second of the lines counted */
    int lines;              /* lines written in that second */
    long long held;         /* lines not written since the last "and K more" */
} limit;

void log_init(const char *service)
{
    snprintf(log_service, sizeof log_service, "%s", service);
}

int log_level_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof level_names / sizeof level_names[0]); i++)
        if (name && strcmp(level_names[i], name) == 0)
            return i;
    return -1;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static void write_line_locked(int level, const char *text);

/* Rotation is given up (stderr stays where it is) after saying why once. */
static void rotation_failed_locked(const char *what, const char *path)
{
    char why[4400];
    snprintf(why, sizeof why, "log rotation stops: cannot %s %s: %s", what, path,
             strerror(errno));
    file.path[0] = '\0';
    write_line_locked(LOGLEVEL_WARN, why);
}

/* Open path anew as stderr (and stdout, when it was the log too). */
static int reopen_locked(void)
{
    int fd = open(file.path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        rotation_failed_locked("open", file.path);
        return -1;
    }
    struct stat st;
    int rc = dup2(fd, STDERR_FILENO) < 0 || (file.stdout_too && dup2(fd, STDOUT_FILENO) < 0) ||
                     fstat(STDERR_FILENO, &st) != 0
                 ? -1
                 : 0;
    if (rc != 0)
        rotation_failed_locked("make stderr of", file.path);
    else
        file.size = (long long)st.st_size;
    if (close(fd) != 0 && rc == 0)
        rotation_failed_locked("close", file.path);
    return rc;
}

/* SERVICE.log -> .1 -> .2 ... -> .KEEP (overwriting the oldest), then a new
 * SERVICE.log. When the name no longer is our file, someone else (another
 * process of the service) rotated it: only reopen. */
static void rotate_locked(void)
{
    struct stat ours, named;
    if (fstat(STDERR_FILENO, &ours) != 0) {
        rotation_failed_locked("examine stderr for", file.path);
        return;
    }
    if (stat(file.path, &named) == 0 && (named.st_ino != ours.st_ino || named.st_dev != ours.st_dev)) {
        (void)reopen_locked();
        return;
    }
    if ((long long)ours.st_size < file.max_bytes) {   /* our count was off */
        file.size = (long long)ours.st_size;
        return;
    }
    char from[4300], to[4300];
    for (int i = file.keep; i >= 1; i--) {
        if (i == 1)
            snprintf(from, sizeof from, "%s", file.path);
        else
            snprintf(from, sizeof from, "%s.%d", file.path, i - 1);
        snprintf(to, sizeof to, "%s.%d", file.path, i);
        if (rename(from, to) != 0 && errno != ENOENT) {
            rotation_failed_locked("rename", from);
            return;
        }
    }
    if (file.keep == 0 && unlink(file.path) != 0 && errno != ENOENT) {
        rotation_failed_locked("remove", file.path);
        return;
    }
    (void)reopen_locked();
}

/* One line: the prefix, text with control characters made '?', '\n'. */
static void write_line_locked(int level, const char *text)
{
    char line[LINE_MAX_BYTES + 128], ts[32];
    proto_utc_now(ts, sizeof ts);
    int n = snprintf(line, sizeof line, "%s %s[%d] %s: ", ts, log_service, (int)getpid(),
                     level_names[level]);
    size_t len = n > 0 ? (size_t)n : 0;
    for (const char *p = text; *p && len < sizeof line - 1; p++) {
        unsigned char c = (unsigned char)*p;
        line[len++] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    line[len++] = '\n';
    if (write_all(STDERR_FILENO, line, len) != 0)
        return;   /* nowhere left to say it */
    file.size += (long long)len;
    if (file.path[0] && file.max_bytes > 0 && file.size >= file.max_bytes)
        rotate_locked();
}

/* The lines log_limited held back in a second that is over, in one line. */
static void flush_held_locked(long long second)
{
    if (limit.held == 0 || second == limit.second)
        return;
    char text[160];
    snprintf(text, sizeof text, "... and %lld more like these (at most %d a second)", limit.held,
             LOG_BURST);
    limit.held = 0;
    write_line_locked(LOGLEVEL_INFO, text);
}

static void vemit(int level, const char *fmt, va_list ap)
{
    char text[LINE_MAX_BYTES];
    vsnprintf(text, sizeof text, fmt, ap);
    pthread_mutex_lock(&lock);
    flush_held_locked(proto_mono_ms() / 1000);
    write_line_locked(level, text);
    pthread_mutex_unlock(&lock);
}

#define LOG_FN(name, level)                                                                      \
    void name(const char *fmt, ...)                                                              \
    {                                                                                            \
        if (log_level < (level))                                                                 \
            return;                                                                              \
        va_list ap;                                                                              \
        va_start(ap, fmt);                                                                       \
        vemit(level, fmt, ap);                                                                   \
        va_end(ap);                                                                              \
    }

LOG_FN(log_error, LOGLEVEL_ERROR)
LOG_FN(log_warn, LOGLEVEL_WARN)
LOG_FN(log_info, LOGLEVEL_INFO)
LOG_FN(log_debug_line, LOGLEVEL_DEBUG)

void log_limited(const char *fmt, ...)
{
    if (log_level < LOGLEVEL_INFO)
        return;
    char text[LINE_MAX_BYTES];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    long long second = proto_mono_ms() / 1000;
    pthread_mutex_lock(&lock);
    flush_held_locked(second);
    if (limit.second != second) {
        limit.second = second;
        limit.lines = 0;
    }
    if (limit.lines < LOG_BURST) {
        limit.lines++;
        write_line_locked(LOGLEVEL_INFO, text);
    } else {
        limit.held++;
    }
    pthread_mutex_unlock(&lock);
}

void log_tick(void)
{
    long long second = proto_mono_ms() / 1000;
    pthread_mutex_lock(&lock);
    flush_held_locked(second);
    pthread_mutex_unlock(&lock);
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino;
}

int log_open(int level, const char *path, long long max_bytes, int keep)
{
    pthread_mutex_lock(&lock);
    log_level = level;
    file.path[0] = '\0';
    struct stat err, named, out;
    int rc = 0;
    if (fstat(STDERR_FILENO, &err) != 0) {
        rc = -1;
    } else if (path && S_ISREG(err.st_mode) && stat(path, &named) == 0 && same_file(&err, &named) &&
               strlen(path) < sizeof file.path) {
        snprintf(file.path, sizeof file.path, "%s", path);
        file.max_bytes = max_bytes;
        file.keep = keep;
        file.size = (long long)err.st_size;
        file.stdout_too = fstat(STDOUT_FILENO, &out) == 0 && same_file(&err, &out);
    }
    pthread_mutex_unlock(&lock);
    if (rc != 0)
        log_warn("cannot examine stderr (%s): the log is not rotated", strerror(errno));
    return rc;
}
