/*
 * backend_ctl.c - start and stop the backend's workers without systemd.
 *
 * Workers are started with posix_spawn (no fork of a process that may hold a
 * ZeroMQ context), in their own session, with output appended to
 * $COUNTER_HOME/log/SERVICE.log. A worker holds run/SERVICE.lock for its life:
 * the lock, not a pid file, says whether it runs, so a kill -9 never leaves a
 * stale "running" behind.
 *
 * `counter backend start` first makes sure the shop's supervisor runs
 * (`counterd supervise`, backend/supervisor.h; its lock is run/supervisor.lock)
 * and asks it to start each worker, through its control socket
 * run/supervisor.ctl; it then waits, as before, until each answers health.
 * Workers the supervisor does not run (started with `counterd SERVICE`) are
 * stopped by their pid.
 */
#include "cli.h"
#include "client.h"
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

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

/* Start `counterd WHAT` (a service, or "supervise"), output appended to
 * log/LOGNAME.log; returns its pid, or -1 (said on stderr). */
static pid_t spawn(const config_t *cfg, const char *what, const char *logname_base)
{
    char bin[PATH_MAX], logname[64], logpath[4200], err[256];
    counterd_path(bin, sizeof bin);
    snprintf(logname, sizeof logname, "%s.log", logname_base);
    if (config_path(cfg, "log", logname, logpath, sizeof logpath) != 0)
        return -1;
    /* COUNTER_HOME is passed on so the worker serves this shop. */
    if (setenv("COUNTER_HOME", config_home(cfg), 1) != 0) {
        fprintf(stderr, "counter: cannot start %s: %s\n", what, strerror(errno));
        return -1;
    }
    pid_t pid = launch_counterd(bin, what, logpath, environ, err, sizeof err);
    if (pid < 0)
        fprintf(stderr, "counter: cannot start %s (%s): %s\n", what, bin, err);
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


/* ---- the supervisor (backend/supervisor.h): its control socket ---- */

/* Send req (stolen) to the shop's supervisor; its answer (the caller's), or
 * NULL when none answered within timeout_ms. */
static json_t *sup_call(cli_t *cli, json_t *req, int timeout_ms)
{
    char path[4200], ep[4300];
    json_t *rep = NULL;
    char *text = json_dumps(proto_nonnull(req), JSON_COMPACT);
    json_decref(req);
    if (!text)
        proto_oom();
    void *s = NULL;
    int linger = 0;
    if (config_path(cli->cfg, "run", "supervisor.ctl", path, sizeof path) == 0 &&
        snprintf(ep, sizeof ep, "ipc://%s", path) > 0 &&
        (s = zmq_socket(cli_ctx(cli), ZMQ_REQ)) != NULL &&
        zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) == 0 &&
        zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout_ms, sizeof timeout_ms) == 0 &&
        zmq_connect(s, ep) == 0 && zmq_send(s, text, strlen(text), 0) >= 0) {
        zmq_msg_t m;
        if (zmq_msg_init(&m) == 0) {
            if (zmq_msg_recv(&m, s, 0) >= 0)
                rep = json_loadb(zmq_msg_data(&m), zmq_msg_size(&m), 0, NULL);
            if (zmq_msg_close(&m) != 0)
                rep = NULL;
        }
    }
    if (s && zmq_close(s) != 0)
        fprintf(stderr, "counter: zmq_close: %s\n", zmq_strerror(zmq_errno()));
    free(text);
    return rep;
}

static json_t *sup_status(cli_t *cli)
{
    return sup_call(cli, json_pack("{s:s}", "cmd", "status"), 2000);
}

json_t *backend_supervision(cli_t *cli)
{
    if (!backend_running(cli->cfg, "supervisor", NULL))
        return NULL;
    json_t *st = sup_status(cli);
    json_t *svcs = json_incref(json_object_get(st, "services"));
    json_decref(st);
    return svcs;
}

/* The shop's supervisor runs (started now if it did not): 0, or -1 said on
 * stderr. */
static int ensure_supervisor(cli_t *cli)
{
    if (backend_running(cli->cfg, "supervisor", NULL))
        return 0;
    pid_t pid = spawn(cli->cfg, "supervise", "supervisor");
    if (pid < 0)
        return -1;
    long long deadline = proto_mono_ms() + config_int(cli->cfg, "backend.start_timeout_ms");
    int st = 0, exited = 0;
    while (!exited && proto_mono_ms() < deadline) {
        json_t *rep = sup_status(cli);
        int ok = jint(rep, "pid") == pid;
        json_decref(rep);
        if (ok)
            return 0;
        exited = waitpid(pid, &st, WNOHANG) == pid;
        if (!exited)
            sleep_ms(20);
    }
    char logged[1024];
    last_error(cli, "supervisor", pid, logged, sizeof logged);
    fprintf(stderr, "counter: the supervisor did not start (%s%s%s); see %s/log/supervisor.log\n",
            exited ? "it exited" : "no answer in time", logged[0] ? ": " : "", logged,
            config_home(cli->cfg));
    return -1;
}

/* Ask the supervisor to start service with our COUNTER_* variables; the
 * worker's pid, or -1 said on stderr. */
static pid_t sup_start(cli_t *cli, const char *service)
{
    json_t *env = json_array();
    for (size_t i = 0; env && environ[i]; i++)
        if (strncmp(environ[i], "COUNTER_", 8) == 0 && json_array_append_new(env, json_string(environ[i])) != 0)
            proto_oom();
    json_t *rep = sup_call(cli, json_pack("{s:s, s:s, s:o}", "cmd", "start", "service", service,
                                          "env", proto_nonnull(env)), 10000);
    pid_t pid = (pid_t)jint(rep, "pid");
    if (pid <= 0)
        fprintf(stderr, "counter: cannot start %s: %s\n", service,
                rep ? (jstr(rep, "error") ? jstr(rep, "error") : "?") : "the supervisor does not answer");
    json_decref(rep);
    return pid > 0 ? pid : -1;
}

/* Did the supervised worker pid exit? Then 1, with its exit status (or -1)
 * and signal (or -1). */
static int sup_exited(cli_t *cli, const char *service, pid_t pid, int *code, int *sig)
{
    json_t *st = sup_status(cli);
    const json_t *w = json_object_get(json_object_get(st, "services"), service);
    int gone = w && jint(w, "pid") != pid && jint(w, "last_pid") == pid;
    if (gone) {
        const json_t *c = json_object_get(w, "exit_status"), *g = json_object_get(w, "exit_signal");
        *code = c ? (int)json_integer_value(c) : -1;
        *sig = g ? (int)json_integer_value(g) : -1;
    }
    json_decref(st);
    return gone;
}

/* ---- start ---- */

/* Wait for the worker pid of service to answer health, ready; 0, or -1
 * with why it did not on stderr. */
static int wait_ready(cli_t *cli, const char *service, pid_t pid, int supervised, long long deadline)
{
    /* A worker that exited (bad config, already running) need not be
     * waited for: its parent (we, or the supervisor) says so at once. */
    int exited = 0, st = 0, code = -1, sig = -1;
    /* One answer to health is enough: ask again and a worker busy
     * catching up may not answer within the probe's timeout. */
    while (!health_ok(cli, service, pid) && proto_mono_ms() < deadline) {
        if (supervised) {
            exited = sup_exited(cli, service, pid, &code, &sig);
        } else if ((exited = waitpid(pid, &st, WNOHANG) == pid)) {
            code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
            sig = WIFSIGNALED(st) ? WTERMSIG(st) : -1;
        }
        if (exited)
            break;
        sleep_ms(50);
    }
    if (!exited && proto_mono_ms() < deadline)
        return 0;
    char why[1200], logged[1024];
    last_error(cli, service, pid, logged, sizeof logged);
    if (exited && code >= 0)
        snprintf(why, sizeof why, "it exited with status %d%s%s", code, logged[0] ? ": " : "",
                 logged);
    else if (exited && sig >= 0)
        snprintf(why, sizeof why, "it was killed by signal %d", sig);
    else
        snprintf(why, sizeof why, "no answer to health in time");
    fprintf(stderr, "counter: %s did not become ready (%s); see %s/log/%s.log\n", service, why,
            config_home(cli->cfg), service);
    return -1;
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
    /* Without a supervisor (it could not start) the workers are started
     * directly, as before there was one: they just are not restarted. */
    int supervised = ensure_supervisor(cli) == 0;
    for (int i = 0; config_services[i] && n < 16; i++) {
        const char *s = config_services[i];
        if (only && strcmp(only, s) != 0)
            continue;
        if (backend_running(cli->cfg, s, NULL)) {
            printf("%-10s already running\n", s);
            continue;
        }
        pid_t pid = supervised ? sup_start(cli, s) : spawn(cli->cfg, s, s);
        if (pid < 0) {
            rc = EXIT_UNREACHABLE;
            continue;
        }
        pids[n] = pid;
        started[n++] = s;
    }
    long long deadline = proto_mono_ms() + config_int(cli->cfg, "backend.start_timeout_ms");
    for (int i = 0; i < n; i++) {
        if (wait_ready(cli, started[i], pids[i], supervised, deadline) == 0)
            printf("%-10s started\n", started[i]);
        else
            rc = EXIT_UNREACHABLE;
    }
    fflush(stdout);
    return rc;
}

/* ---- stop ---- */

/* Stop a worker that no supervisor of ours runs: SIGTERM to the pid in its
 * lock, SIGKILL after 5 s. An exit status. */
static int stop_by_pid(cli_t *cli, const char *s)
{
    int pid = 0;
    if (!backend_running(cli->cfg, s, &pid) || pid <= 0) {
        printf("%-10s not running\n", s);
        return EXIT_OKAY;
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
    return EXIT_OKAY;
}

/* Stop the supervisor itself (its workers are stopped by then). */
static void stop_supervisor(cli_t *cli)
{
    int pid = 0;
    if (!backend_running(cli->cfg, "supervisor", &pid))
        return;
    json_decref(sup_call(cli, json_pack("{s:s}", "cmd", "shutdown"), 40000));
    long long deadline = proto_mono_ms() + 5000;
    while (backend_running(cli->cfg, "supervisor", NULL) && proto_mono_ms() < deadline)
        sleep_ms(20);
    if (backend_running(cli->cfg, "supervisor", NULL) && pid > 0) {
        (void)kill(pid, SIGKILL);
        while (backend_running(cli->cfg, "supervisor", NULL))
            sleep_ms(20);
    }
    printf("%-10s stopped\n", "supervisor");
}

static int stop(cli_t *cli, const char *only)
{
    int count = 0;
    for (int i = 0; config_services[i]; i++)
        count++;
    int supervised = backend_running(cli->cfg, "supervisor", NULL);
    for (int i = count - 1; i >= 0; i--) {
        const char *s = config_services[i];
        if (only && strcmp(only, s) != 0)
            continue;
        /* The supervisor stops the workers it runs (and no longer restarts
         * them); any other is stopped by its pid. */
        json_t *rep = supervised ? sup_call(cli, json_pack("{s:s, s:s}", "cmd", "stop", "service", s),
                                            15000)
                                 : NULL;
        const char *how = jstr(rep, "result");
        if (how && strcmp(how, "stopped") == 0 && !backend_running(cli->cfg, s, NULL))
            printf("%-10s stopped\n", s);
        else if (how && strcmp(how, "killed") == 0 && !backend_running(cli->cfg, s, NULL))
            printf("%-10s killed (did not stop within 5 s)\n", s);
        else if (stop_by_pid(cli, s) != EXIT_OKAY) {
            json_decref(rep);
            return EXIT_BACKEND;
        }
        json_decref(rep);
    }
    if (!only)
        stop_supervisor(cli);
    fflush(stdout);
    return EXIT_OKAY;
}

/* Restart service, or every worker one at a time, in start order, each
 * after the previous one is ready again (DESIGN section 6, readiness): the
 * supervisor keeps running. Stops at the first that does not come back. */
static int restart(cli_t *cli, const char *only)
{
    for (int i = 0; config_services[i]; i++) {
        if (only && strcmp(only, config_services[i]) != 0)
            continue;
        int rc = stop(cli, config_services[i]);
        if (rc == EXIT_OKAY)
            rc = start(cli, config_services[i]);
        if (rc != EXIT_OKAY)
            return rc;
    }
    return EXIT_OKAY;
}

/* ---- stall (a fault: faults.enabled) ---- */

static int stall(cli_t *cli, int argc, char **argv)
{
    char *end = NULL;
    double secs = argc == 4 ? strtod(argv[3], &end) : 10;
    if (argc < 3 || argc > 4 || !config_service_known(argv[2]) || (end && *end) || secs < 0 ||
        secs > 3600) {
        fprintf(stderr, "usage: counter backend stall SERVICE [SECONDS]\n");
        return EXIT_USAGE;
    }
    json_t *body = json_pack("{s:I}", "ms", (json_int_t)(secs * 1000)), *out = NULL;
    int rc = cli_call(cli, argv[2], "stall", proto_nonnull(body), &out, 0);
    json_decref(body);
    if (rc == EXIT_OKAY)
        printf("%-10s stalled for %g s\n", argv[2], secs);
    json_decref(out);
    fflush(stdout);
    return rc;
}

int backend_ctl(cli_t *cli, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "stall") == 0)
        return stall(cli, argc, argv);
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: counter backend start|stop|restart [SERVICE] | stall SERVICE [SECONDS]\n");
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
    if (strcmp(argv[1], "restart") == 0)
        return restart(cli, only);
    fprintf(stderr, "usage: counter backend start|stop|restart [SERVICE] | stall SERVICE [SECONDS]\n");
    return EXIT_USAGE;
}
