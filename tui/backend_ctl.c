/*
 * backend_ctl.c - start and stop the backend's workers without systemd.
 *
 * Workers are started with posix_spawn (no fork of a process that may hold a
 * ZeroMQ context), in their own session, with output appended to
 * $COUNTER_HOME/log/SERVICE.log. A worker holds run/SERVICE.lock for its life:
 * the lock, not a pid file, says whether it runs, so a kill -9 never leaves a
 * stale "running" behind.
 */
#include "cli.h"
#include "client.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int backend_running(const config_t *cfg, const char *service, int *pid)
{
    char name[64], path[4200];
    snprintf(name, sizeof name, "%s.lock", service);
    if (config_path(cfg, "run", name, path, sizeof path) != 0)
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    int running = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
        running = errno == EWOULDBLOCK;
        char buf[32] = {0};
        ssize_t n = read(fd, buf, sizeof buf - 1);
        if (pid)
            *pid = n > 0 ? atoi(buf) : 0;
    } else {
        (void)flock(fd, LOCK_UN);
    }
    close(fd);
    return running;
}

/* The counterd binary: $COUNTERD, else beside this executable, else $PATH. */
static void counterd_path(char *out, size_t n)
{
    const char *env = getenv("COUNTERD");
    if (env && *env) {
        snprintf(out, n, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
    if (len > 0) {
        self[len] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            *slash = '\0';
            int len2 = snprintf(out, n, "%s/counterd", self);
            if (len2 > 0 && (size_t)len2 < n && access(out, X_OK) == 0)
                return;
        }
    }
    snprintf(out, n, "counterd");
}

/* Start counterd SERVICE; returns its pid, or -1. */
static pid_t spawn(const config_t *cfg, const char *service)
{
    char bin[PATH_MAX], logname[64], logpath[4200];
    counterd_path(bin, sizeof bin);
    snprintf(logname, sizeof logname, "%s.log", service);
    if (config_path(cfg, "log", logname, logpath, sizeof logpath) != 0)
        return -1;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    if (posix_spawn_file_actions_init(&fa) != 0)
        return -1;
    if (posix_spawnattr_init(&attr) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        return -1;
    }
    sigset_t none;
    sigemptyset(&none);
    pid_t pid = -1;
    if (posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0) == 0 &&
        posix_spawn_file_actions_addopen(&fa, 1, logpath, O_WRONLY | O_CREAT | O_APPEND, 0600) == 0 &&
        posix_spawn_file_actions_adddup2(&fa, 1, 2) == 0 &&
        posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK) == 0 &&
        posix_spawnattr_setsigmask(&attr, &none) == 0) {
        char *argv[] = {"counterd", (char *)service, NULL};
        /* COUNTER_HOME is passed on so the worker serves this shop. */
        int e = setenv("COUNTER_HOME", config_home(cfg), 1) == 0
                    ? posix_spawnp(&pid, bin, &fa, &attr, argv, environ)
                    : errno;
        if (e != 0) {
            pid = -1;
            fprintf(stderr, "counter: cannot start %s (%s): %s\n", service, bin, strerror(e));
        }
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
    return pid;
}

/* Did the worker we spawned (pid) answer health, ready? Another process
 * answering on its endpoint does not count. */
static int health_ok(cli_t *cli, const char *service, pid_t pid)
{
    char ep[512];
    if (config_endpoint(cli->cfg, service, "req", ep, sizeof ep) != 0)
        return 0;
    zio_curve_t cv;
    if (cli_curve(cli, service, &cv) != 0)
        return 0;
    client_t *c = client_new(cli_ctx(cli), ep, &cv);
    zio_curve_clear(&cv);
    if (!c)
        return 0;
    client_set_timeout(c, 300, 1);
    client_set_caller(c, "-");
    proto_rep_t rep;
    proto_err_t err;
    int ok = client_call(c, "health", NULL, NULL, &rep, &err) == 0 && rep.status == ERR_OK &&
             json_is_true(json_object_get(rep.body, "ready")) && jint(rep.body, "pid") == pid;
    if (ok || rep.body)
        proto_rep_clear(&rep);
    client_destroy(&c);
    return ok;
}

/* The last error line that process pid wrote to service's log, after its
 * "error: " (a worker that exits logs why); "" when none. */
static void last_error(const cli_t *cli, const char *service, pid_t pid, char *out, size_t len)
{
    char name[64], path[4200], mark[64], *line = NULL;
    size_t cap = 0;
    out[0] = '\0';
    snprintf(name, sizeof name, "%s.log", service);
    snprintf(mark, sizeof mark, "[%d] error: ", (int)pid);
    FILE *f = config_path(cli->cfg, "log", name, path, sizeof path) == 0 ? fopen(path, "r") : NULL;
    if (!f)
        return;
    while (getline(&line, &cap, f) >= 0) {
        const char *at = strstr(line, mark);
        if (at)
            snprintf(out, len, "%.*s", (int)strcspn(at + strlen(mark), "\n"), at + strlen(mark));
    }
    free(line);
    fclose(f);
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static int start(cli_t *cli, const char *only)
{
    const char *started[16];
    pid_t pids[16];
    int n = 0, rc = EXIT_OKAY;
    /* A shop started without `counter setup` gets its keys here; existing
     * ones are kept (and refused when others may read them). */
    char err[512];
    if (keys_ensure(config_home(cli->cfg), err, sizeof err) != 0) {
        fprintf(stderr, "counter: %s\n", err);
        return EXIT_UNREACHABLE;
    }
    for (int i = 0; config_services[i]; i++) {
        const char *s = config_services[i];
        if (only && strcmp(only, s) != 0)
            continue;
        if (backend_running(cli->cfg, s, NULL)) {
            printf("%-10s already running\n", s);
            continue;
        }
        pid_t pid = spawn(cli->cfg, s);
        if (pid < 0) {
            rc = EXIT_UNREACHABLE;
            continue;
        }
        pids[n] = pid;
        started[n++] = s;
    }
    long long deadline = proto_mono_ms() + config_int(cli->cfg, "backend.start_timeout_ms");
    for (int i = 0; i < n; i++) {
        /* A worker that exited (bad config, already running) need not be
         * waited for: we spawned it, so waitpid says so at once. */
        int exited = 0, st = 0, ready = 0;
        /* One answer to health is enough: ask again and a worker busy
         * catching up may not answer within the probe's timeout. */
        while (!exited && !(ready = health_ok(cli, started[i], pids[i])) && proto_mono_ms() < deadline) {
            exited = waitpid(pids[i], &st, WNOHANG) == pids[i];
            if (!exited)
                sleep_ms(50);
        }
        if (ready) {
            printf("%-10s started\n", started[i]);
        } else {
            char why[1200], logged[1024];
            last_error(cli, started[i], pids[i], logged, sizeof logged);
            if (exited && WIFEXITED(st))
                snprintf(why, sizeof why, "it exited with status %d%s%s", WEXITSTATUS(st),
                         logged[0] ? ": " : "", logged);
            else if (exited && WIFSIGNALED(st))
                snprintf(why, sizeof why, "it was killed by signal %d", WTERMSIG(st));
            else
                snprintf(why, sizeof why, "no answer to health in time");
            fprintf(stderr, "counter: %s did not become ready (%s); see %s/log/%s.log\n",
                    started[i], why, config_home(cli->cfg), started[i]);
            rc = EXIT_UNREACHABLE;
        }
    }
    fflush(stdout);
    return rc;
}

static int stop(cli_t *cli, const char *only)
{
    int count = 0;
    for (int i = 0; config_services[i]; i++)
        count++;
    for (int i = count - 1; i >= 0; i--) {
        const char *s = config_services[i];
        int pid = 0;
        if (only && strcmp(only, s) != 0)
            continue;
        if (!backend_running(cli->cfg, s, &pid) || pid <= 0) {
            printf("%-10s not running\n", s);
            continue;
        }
        if (kill(pid, SIGTERM) != 0 && errno != ESRCH) {
            fprintf(stderr, "counter: cannot stop %s (pid %d): %s\n", s, pid, strerror(errno));
            return EXIT_BACKEND;
        }
        long long deadline = proto_mono_ms() + 5000;
        while (backend_running(cli->cfg, s, NULL) && proto_mono_ms() < deadline)
            sleep_ms(20);
        if (backend_running(cli->cfg, s, NULL)) {
            (void)kill(pid, SIGKILL);
            while (backend_running(cli->cfg, s, NULL))
                sleep_ms(20);
            printf("%-10s killed (did not stop within 5 s)\n", s);
        } else {
            printf("%-10s stopped\n", s);
        }
    }
    fflush(stdout);
    return EXIT_OKAY;
}

int backend_ctl(cli_t *cli, int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: counter backend start|stop|restart [SERVICE]\n");
        return EXIT_USAGE;
    }
    const char *only = argc == 3 ? argv[2] : NULL;
    if (only && !config_service_known(only)) {
        fprintf(stderr, "counter: unknown service '%s'\n", only);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "start") == 0)
        return start(cli, only);
    if (strcmp(argv[1], "stop") == 0)
        return stop(cli, only);
    if (strcmp(argv[1], "restart") == 0) {
        int rc = stop(cli, only);
        return rc ? rc : start(cli, only);
    }
    fprintf(stderr, "usage: counter backend start|stop|restart [SERVICE]\n");
    return EXIT_USAGE;
}
