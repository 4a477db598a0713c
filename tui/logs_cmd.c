/*
 * logs_cmd.c - `counter backend logs [SERVICE] [--follow] [--lines N]`.
 *
 * Prints the last N lines (default 50) of $COUNTER_HOME/log/SERVICE.log
 * (with SERVICE.log.1 before it when the current file holds fewer), or, with
 * no SERVICE, of every worker's log merged by their timestamps. With
 * --follow it then prints each line as it is written, until interrupted; a
 * log rotated meanwhile (backend/log.h) is read to its end and the new
 * SERVICE.log followed from its start.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LINES_DEFAULT 50
#define LINES_MAX 1000000
#define FOLLOW_MS 200
#define MAX_FEEDS 16
#define MAX_KEEP 100        /* the most log.keep allows */
#define TS_LEN 24           /* "2026-11-25T14:40:00.123Z" */

/* One log file being shown: the file at path as opened (fd), and where we
 * are in it. */
typedef struct {
    char path[4200];
    int fd;                 /* -1: not open (missing) */
    dev_t dev;
    ino_t ino;
    char partial[4096];     /* a line whose end is not written yet */
    size_t npartial;
} feed_t;

typedef struct {
    char *text;             /* one line, with its '\n' */
    char key[TS_LEN + 1];   /* its timestamp (or the one before it) */
    size_t order;           /* ties keep the order read */
} line_t;

typedef struct {
    line_t *v;
    size_t n, cap;
} lines_t;

/* A new slot at the end of ls (its order set). */
static line_t *lines_push(lines_t *ls)
{
    if (ls->n == ls->cap) {
        ls->cap = ls->cap ? ls->cap * 2 : 256;
        ls->v = proto_nonnull(realloc(ls->v, ls->cap * sizeof ls->v[0]));
    }
    ls->v[ls->n].order = ls->n;
    return &ls->v[ls->n++];
}

static void lines_add(lines_t *ls, const char *text, size_t len, char *key)
{
    line_t *l = lines_push(ls);
    l->text = xmalloc(len + 2);
    memcpy(l->text, text, len);
    l->text[len] = '\n';
    l->text[len + 1] = '\0';
    /* A line that does not start with a timestamp (a library's message)
     * sorts with the line before it. */
    if (len >= TS_LEN && text[4] == '-' && text[10] == 'T' && text[TS_LEN - 1] == 'Z')
        snprintf(key, TS_LEN + 1, "%.*s", TS_LEN, text);
    snprintf(l->key, sizeof l->key, "%s", key);
}

static void lines_free(lines_t *ls)
{
    for (size_t i = 0; i < ls->n; i++)
        free(ls->v[i].text);
    free(ls->v);
    *ls = (lines_t){0};
}

/* The last want complete lines of fd's first size bytes, appended to ls.
 * Returns the offset just past the last complete line (where following
 * starts), or -1 when the file cannot be read. */
static off_t tail_fd(int fd, off_t size, size_t want, lines_t *ls)
{
    size_t chunk = 65536, len = 0, nl = 0;
    off_t from = size;
    char *buf = NULL;
    /* Read back from the end until want + 1 line ends are in, or the start. */
    while (size > 0) {
        from = size > (off_t)chunk ? size - (off_t)chunk : 0;
        len = (size_t)(size - from);
        buf = proto_nonnull(realloc(buf, len));
        if (pread(fd, buf, len, from) != (ssize_t)len) {
            free(buf);
            return -1;
        }
        nl = 0;
        for (size_t i = 0; i < len; i++)
            nl += buf[i] == '\n';
        if (from == 0 || nl > want)
            break;
        chunk *= 2;
    }
    size_t start = 0, end = len;
    while (end > 0 && buf[end - 1] != '\n')   /* a line still being written */
        end--;
    if (from > 0) {                          /* the first line read is cut */
        while (start < end && buf[start] != '\n')
            start++;
        start += start < end;
        nl--;
    }
    size_t skip = nl > want ? nl - want : 0;
    char key[TS_LEN + 1] = "";
    for (size_t i = start, at = start; i < end; i++) {
        if (buf[i] != '\n')
            continue;
        if (skip > 0)
            skip--;
        else
            lines_add(ls, buf + at, i - at, key);
        at = i + 1;
    }
    free(buf);
    return from + (off_t)end;
}

/* Append src's lines to dst (which takes them over). */
static void lines_move(lines_t *dst, lines_t *src)
{
    for (size_t i = 0; i < src->n; i++) {
        line_t *l = lines_push(dst);
        size_t order = l->order;
        *l = src->v[i];
        l->order = order;
    }
    free(src->v);
    *src = (lines_t){0};
}

static int by_time(const void *a, const void *b)
{
    const line_t *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : (x->order > y->order) - (x->order < y->order);
}

/* Open f->path as it is now: 0, or -1 (missing or unreadable: fd -1). */
static int feed_open(feed_t *f)
{
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (f->fd >= 0 && fstat(f->fd, &st) == 0) {
        f->dev = st.st_dev;
        f->ino = st.st_ino;
        f->npartial = 0;
        return 0;
    }
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    return -1;
}

/* The last want lines of one service's log into ls (from SERVICE.log.1 too
 * when SERVICE.log holds fewer); f is left where following starts. */
static void tail_service(feed_t *f, size_t want, lines_t *ls)
{
    lines_t cur = {0}, old = {0};
    struct stat st;
    if (f->fd < 0 || fstat(f->fd, &st) != 0)
        return;
    off_t pos = tail_fd(f->fd, st.st_size, want, &cur);
    if (pos < 0 || lseek(f->fd, pos, SEEK_SET) < 0)
        pos = lseek(f->fd, 0, SEEK_END);
    if (cur.n < want) {
        char path[4300];
        snprintf(path, sizeof path, "%s.1", f->path);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0 && fstat(fd, &st) == 0)
            (void)tail_fd(fd, st.st_size, want - cur.n, &old);
        if (fd >= 0)
            close(fd);
    }
    lines_move(ls, &old);
    lines_move(ls, &cur);
}

/* Print what was written to f since the last call: 0, or -1 when stdout
 * fails. Complete lines only; a line longer than the buffer goes in parts. */
static int feed_read(feed_t *f)
{
    char buf[65536];
    ssize_t got;
    while (f->fd >= 0 && (got = read(f->fd, buf, sizeof buf)) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            return 0;   /* tried again on the next pass */
        for (ssize_t i = 0; i < got; i++) {
            f->partial[f->npartial++] = buf[i];
            if (buf[i] != '\n' && f->npartial < sizeof f->partial)
                continue;
            if (fwrite(f->partial, 1, f->npartial, stdout) != f->npartial)
                return -1;
            f->npartial = 0;
        }
    }
    return 0;
}

/* Print all of path; 0, or -1 when stdout fails. */
static int print_file(const char *path)
{
    static feed_t g;   /* big: not on the stack */
    g.fd = -1;
    int n = snprintf(g.path, sizeof g.path, "%s", path);
    if (n < 0 || (size_t)n >= sizeof g.path || feed_open(&g) != 0)
        return 0;   /* rotated away meanwhile */
    int rc = feed_read(&g);
    if (rc == 0 && g.npartial > 0 && fwrite(g.partial, 1, g.npartial, stdout) != g.npartial)
        rc = -1;
    close(g.fd);
    return rc;
}

/* f's file was rotated, maybe more than once since the last pass: print the
 * files rotated after it (SERVICE.log.N ... .1, where N is just newer than
 * ours, or all of them when ours is gone). Their names shift while we read
 * only if the log rotates again meanwhile. */
static int print_rotated_since(const feed_t *f)
{
    char path[sizeof f->path + 16];
    struct stat st;
    int last = 0, ours = 0;
    for (int i = 1; i <= MAX_KEEP && !ours; i++) {
        snprintf(path, sizeof path, "%s.%d", f->path, i);
        if (stat(path, &st) != 0)
            break;
        last = i;
        if (st.st_dev == f->dev && st.st_ino == f->ino)
            ours = i;
    }
    for (int i = ours ? ours - 1 : last; i >= 1; i--) {
        snprintf(path, sizeof path, "%s.%d", f->path, i);
        if (print_file(path) != 0)
            return -1;
    }
    return 0;
}

/* One pass of --follow over f: new lines, then a rotation or truncation. */
static int feed_follow(feed_t *f)
{
    if (feed_read(f) != 0)
        return -1;
    struct stat named, ours;
    if (stat(f->path, &named) != 0)
        return 0;   /* between the rename and the new file: next pass */
    if (f->fd >= 0 && named.st_dev == f->dev && named.st_ino == f->ino) {
        if (fstat(f->fd, &ours) == 0 && lseek(f->fd, 0, SEEK_CUR) > ours.st_size)
            return lseek(f->fd, 0, SEEK_SET) < 0 ? 0 : feed_read(f);   /* truncated */
        return 0;
    }
    /* Rotated (or made at last): the old file's last lines, then the new. */
    if (f->fd >= 0) {
        if (feed_read(f) != 0)
            return -1;
        if (f->npartial > 0 && fwrite(f->partial, 1, f->npartial, stdout) != f->npartial)
            return -1;
        close(f->fd);
        f->fd = -1;
        if (print_rotated_since(f) != 0)
            return -1;
    }
    return feed_open(f) == 0 ? feed_read(f) : 0;
}

static int follow(feed_t *feeds, int n)
{
    for (;;) {
        for (int i = 0; i < n; i++)
            if (feed_follow(&feeds[i]) != 0)
                return EXIT_BACKEND;
        if (fflush(stdout) != 0)
            return EXIT_BACKEND;
        struct timespec ts = {0, FOLLOW_MS * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
    }
}

static int logs_usage(void)
{
    fprintf(stderr, "usage: counter backend logs [SERVICE] [--follow] [--lines N]\n");
    return EXIT_USAGE;
}

/* argv: "logs" [SERVICE] [--follow|-f] [--lines|-n N], in any order. */
static int parse(int argc, char **argv, const char **only, int *follow_on, size_t *want)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        char *end;
        if (strcmp(a, "--follow") == 0 || strcmp(a, "-f") == 0) {
            *follow_on = 1;
        } else if (strcmp(a, "--lines") == 0 || strcmp(a, "-n") == 0) {
            long long n = i + 1 < argc ? strtoll(argv[i + 1], &end, 10) : -1;
            if (i + 1 >= argc || *end || !*argv[i + 1] || n < 0 || n > LINES_MAX) {
                fprintf(stderr, "counter: --lines needs a number from 0 to %d\n", LINES_MAX);
                return -1;
            }
            *want = (size_t)n;
            i++;
        } else if (!*only && config_service_known(a)) {
            *only = a;
        } else {
            fprintf(stderr, "counter: %s '%s'\n", a[0] == '-' ? "unknown option" : "unknown service", a);
            return -1;
        }
    }
    return 0;
}

int cmd_logs(cli_t *cli, int argc, char **argv)
{
    const char *only = NULL;
    int follow_on = 0, n = 0;
    size_t want = LINES_DEFAULT;
    if (parse(argc, argv, &only, &follow_on, &want) != 0)
        return logs_usage();
    static feed_t feeds[MAX_FEEDS];
    lines_t all = {0};
    for (int i = 0; config_services[i] && n < MAX_FEEDS; i++) {
        const char *s = config_services[i];
        char name[64];
        snprintf(name, sizeof name, "%s.log", s);
        if (only && strcmp(only, s) != 0)
            continue;
        feed_t *f = &feeds[n++];
        if (config_path(cli->cfg, "log", name, f->path, sizeof f->path) != 0)
            return EXIT_USAGE;
        if (feed_open(f) != 0 && only && !follow_on)
            fprintf(stderr, "counter: no log of %s: %s: %s\n", s, f->path, strerror(errno));
        tail_service(f, want, &all);
    }
    if (all.n > 1)   /* (none with --lines 0: qsort must not get NULL) */
        qsort(all.v, all.n, sizeof all.v[0], by_time);
    int rc = EXIT_OKAY;
    for (size_t i = all.n > want ? all.n - want : 0; i < all.n && rc == EXIT_OKAY; i++)
        if (fputs(all.v[i].text, stdout) == EOF)
            rc = EXIT_BACKEND;
    lines_free(&all);
    if (fflush(stdout) != 0)
        rc = EXIT_BACKEND;
    return rc == EXIT_OKAY && follow_on ? follow(feeds, n) : rc;
}
