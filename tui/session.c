/*
 * session.c - session file, COUNTER_TOKEN and password input.
 */
#include "session.h"
#include "proto.h"
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

static int session_path(const config_t *cfg, char *out, size_t cap)
{
    return snprintf(out, cap, "%s/session", config_home(cfg)) < (int)cap ? 0 : -1;
}

/* A token as read from a file or the environment: printable, no space. */
static int token_shaped(const char *t)
{
    size_t n = strlen(t);
    if (n == 0 || n > TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (t[i] <= 0x20 || t[i] >= 0x7f)
            return 0;
    return 1;
}

void session_credential(const config_t *cfg, char *out, size_t cap)
{
    char buf[TOKEN_MAX + 8] = "", path[512];
    const char *env = getenv("COUNTER_TOKEN");
    if (env && *env) {
        snprintf(buf, sizeof buf, "%s", env);
    } else if (session_path(cfg, path, sizeof path) == 0) {
        FILE *f = fopen(path, "r");
        if (f) {
            if (!fgets(buf, sizeof buf, f))
                buf[0] = '\0';
            fclose(f);
        }
    }
    buf[strcspn(buf, "\r\n")] = '\0';
    if (token_shaped(buf))
        snprintf(out, cap, "token:%s", buf);
    else
        snprintf(out, cap, "-");
}

int session_save(const config_t *cfg, const char *token)
{
    char path[512], tmp[560];
    if (session_path(cfg, path, sizeof path) != 0 ||
        snprintf(tmp, sizeof tmp, "%s.%ld", path, (long)getpid()) >= (int)sizeof tmp)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        fprintf(stderr, "counter: cannot write %s: %s\n", tmp, strerror(errno));
        return -1;
    }
    size_t n = strlen(token);
    int ok = write(fd, token, n) == (ssize_t)n && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    ok = close(fd) == 0 && ok;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "counter: cannot keep the session in %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

void session_forget(const config_t *cfg)
{
    char path[512];
    if (session_path(cfg, path, sizeof path) == 0 && unlink(path) != 0 && errno != ENOENT)
        fprintf(stderr, "counter: cannot remove %s: %s\n", path, strerror(errno));
}

/* One line of f into out without its newline. 0, or -1 at the end. */
static int read_line(FILE *f, char *out, size_t cap)
{
    if (!fgets(out, (int)cap, f))
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

static int from_tty(const char *prompt, char *out, size_t cap)
{
    FILE *tty = fopen("/dev/tty", "r+");
    if (!tty)
        return -1;
    struct termios saved, quiet;
    int fd = fileno(tty);
    if (tcgetattr(fd, &saved) != 0) {
        fclose(tty);
        return -1;
    }
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= ECHONL;
    int rc = -1;
    if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0) {
        fputs(prompt, tty);
        fflush(tty);
        rc = read_line(tty, out, cap);
        if (tcsetattr(fd, TCSAFLUSH, &saved) != 0)
            rc = -1;
    }
    fclose(tty);
    return rc;
}

int session_password(const char *file, const char *prompt, char *out, size_t cap)
{
    static FILE *pwfile;
    static char pwname[512];
    if (file) {
        if (!pwfile || strcmp(pwname, file) != 0) {
            if (pwfile)
                fclose(pwfile);
            snprintf(pwname, sizeof pwname, "%s", file);
            pwfile = fopen(file, "r");
            if (!pwfile) {
                fprintf(stderr, "counter: cannot read %s: %s\n", file, strerror(errno));
                return -1;
            }
        }
        if (read_line(pwfile, out, cap) != 0) {
            fprintf(stderr, "counter: %s has no line for %s\n", file, prompt);
            return -1;
        }
    } else if (isatty(STDIN_FILENO)) {
        if (from_tty(prompt, out, cap) != 0) {
            fprintf(stderr, "counter: cannot read a password from the terminal\n");
            return -1;
        }
    } else if (read_line(stdin, out, cap) != 0) {
        fprintf(stderr, "counter: no password: give one line on stdin or --password-file FILE\n");
        return -1;
    }
    if (!out[0]) {
        fprintf(stderr, "counter: the password is empty\n");
        return -1;
    }
    return 0;
}
