/*
 * supervisor.c - `counterd supervise` (see supervisor.h for the contract).
 *
 * One thread, one loop: every TICK_MS it answers the control socket, reaps
 * the workers that exited (waitpid), starts those whose backoff is over and
 * probes those whose probe is due. A probe is a CTR/2 health call (anonymous,
 * over CURVE with an ephemeral pair, as `counter status` makes it) with one
 * try of PROBE_TIMEOUT_MS.
 *
 * A worker's states: running (a process we spawned), down (it exited; it is
 * started again when its backoff is over), failed (it exited too often, or
 * exited with a status before it ever answered health: restarting a worker
 * that cannot start only fills its log), stopped (not wanted: never started,
 * or stopped through the control socket).
 */
#include "supervisor.h"
#include "client.h"
#include "config.h"
#include "keys.h"
#include "log.h"
#include "proto.h"
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

extern char **environ;

enum {
    TICK_MS = 100,
    BACKOFF_FIRST_MS = 100,     /* the first restart; doubles per exit ... */
    BACKOFF_MAX_MS = 5000,      /* ... up to this */
    BACKOFF_RESET_MS = 10000,   /* a worker that ran this long starts again at the first */
    FAIL_EXITS = 5,             /* this many exits ... */
    FAIL_WINDOW_MS = 60000,     /* ... within this: failed */
    PROBE_EVERY_MS = 1000,
    PROBE_TIMEOUT_MS = 500,
    STOP_GRACE_MS = 5000,       /* SIGTERM, then SIGKILL */
    MAX_WORKERS = 16,
};

typedef enum { W_STOPPED, W_RUNNING, W_DOWN, W_FAILED } wstate_t;
static const char *const state_names[] = {"stopped", "running", "down", "failed"};

typedef struct {
    const char *name;
    wstate_t state;
    pid_t pid;                 /* the running process, 0 when none */
    pid_t last_pid;            /* the last one that exited */
    int restarts;              /* restarts made by the supervisor itself */
    int answered;              /* the running process answered a probe */
    int killed_stuck;          /* we killed it: no answer to health */
    long long started_ms, last_ok_ms, next_probe_ms, next_start_ms;
    long long exits[FAIL_EXITS]; /* the times of the last exits, a ring */
    int nexit;
    int backoff_ms;
    int exit_code, exit_signal; /* of last_pid: -1 when not that kind of exit */
    char down_since[32];       /* UTC; "" while running */
    char last_exit[96];        /* "status 1", "signal 9", ... */
    json_t *env;               /* the COUNTER_* words of the last start (owned), or NULL */
    int restart;               /* restart it when it exits (supervisor.restart) */
    client_t *probe;
} worker_t;

typedef struct {
    config_t *cfg;
    keys_t *keys;
    void *ctx, *ctl;
    worker_t w[MAX_WORKERS];
    int n;
    long long stuck_ms;        /* no answer this long: killed (0: never) */
    long long start_ms;        /* a new process has this long to answer first */
    char bin[PATH_MAX];
} sup_t;

static volatile sig_atomic_t sup_stop;
static void on_signal(int sig)
{
    (void)sig;
    sup_stop = 1;
}

static worker_t *worker_named(sup_t *s, const char *name)
{
    for (int i = 0; name && i < s->n; i++)
        if (strcmp(s->w[i].name, name) == 0)
            return &s->w[i];
    return NULL;
}

/* ---- starting a worker ---- */

/* The environment of a worker: ours without COUNTER_*, then the words of
 * its start request (the caller's COUNTER_*), then COUNTER_HOME. NULL-ended;
 * the array is the caller's to free (its strings are borrowed). */
static char **worker_env(const sup_t *s, const worker_t *w, char *home)
{
    size_t n = 0, extra = w->env ? json_array_size(w->env) : 0, k = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + extra + 2, sizeof *env);
    for (size_t i = 0; i < n; i++)
        if (!w->env || strncmp(environ[i], "COUNTER_", 8) != 0)
            if (strncmp(environ[i], "COUNTER_HOME=", 13) != 0)
                env[k++] = environ[i];
    for (size_t i = 0; i < extra; i++) {
        const char *word = json_string_value(json_array_get(w->env, i));
        if (word && strncmp(word, "COUNTER_", 8) == 0 && strncmp(word, "COUNTER_HOME=", 13) != 0)
            env[k++] = (char *)word;
    }
    snprintf(home, 4200, "COUNTER_HOME=%s", config_home(s->cfg));
    env[k] = home;
    return env;
}

/* counterd NAME in its own session, output appended to its log (launch.h). */
static pid_t spawn_worker(sup_t *s, worker_t *w)
{
    char logname[64], logpath[4200], home[4200], err[256];
    snprintf(logname, sizeof logname, "%s.log", w->name);
    if (config_path(s->cfg, "log", logname, logpath, sizeof logpath) != 0)
        return -1;
    char **env = worker_env(s, w, home);
    pid_t pid = launch_counterd(s->bin, w->name, logpath, env, err, sizeof err);
    free(env);
    if (pid < 0)
        log_error("cannot start %s (%s): %s", w->name, s->bin, err);
    return pid;
}

static int start_worker(sup_t *s, worker_t *w)
{
    pid_t pid = spawn_worker(s, w);
    if (pid < 0) {
        w->state = W_FAILED;
        snprintf(w->last_exit, sizeof w->last_exit, "could not be started");
        return -1;
    }
    long long now = proto_mono_ms();
    w->state = W_RUNNING;
    w->pid = pid;
    w->answered = w->killed_stuck = 0;
    w->started_ms = w->last_ok_ms = now;
    w->next_probe_ms = now + 200;
    w->down_since[0] = '\0';
    log_info("%s started (pid %d)", w->name, (int)pid);
    return 0;
}

/* ---- a worker exited ---- */

static int exits_within(const worker_t *w, long long now)
{
    int n = 0;
    for (int i = 0; i < FAIL_EXITS && i < w->nexit; i++)
        if (now - w->exits[i] <= FAIL_WINDOW_MS)
            n++;
    return n;
}

static void worker_exited(worker_t *w, int st)
{
    long long now = proto_mono_ms();
    w->last_pid = w->pid;
    w->pid = 0;
    client_destroy(&w->probe);
    w->exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    w->exit_signal = WIFSIGNALED(st) ? WTERMSIG(st) : -1;
    if (w->exit_signal >= 0)
        snprintf(w->last_exit, sizeof w->last_exit, "signal %d%s", w->exit_signal,
                 w->killed_stuck ? " (no answer to health: killed)" : "");
    else
        snprintf(w->last_exit, sizeof w->last_exit, "status %d", w->exit_code);
    proto_utc_now(w->down_since, sizeof w->down_since);
    if (w->state == W_STOPPED) {
        log_info("%s (pid %d) stopped: %s", w->name, (int)w->last_pid, w->last_exit);
        return;
    }
    w->exits[w->nexit++ % FAIL_EXITS] = now;
    if (now - w->started_ms >= BACKOFF_RESET_MS)
        w->backoff_ms = BACKOFF_FIRST_MS;
    if (w->exit_code > 0 && !w->answered) {
        w->state = W_FAILED;
        log_error("%s (pid %d) exited with %s before it answered health: failed, not restarted",
                  w->name, (int)w->last_pid, w->last_exit);
    } else if (!w->restart) {
        w->state = W_DOWN;
        w->next_start_ms = LLONG_MAX;
        log_warn("%s (pid %d) exited (%s): not restarted (supervisor.restart is off)", w->name,
                 (int)w->last_pid, w->last_exit);
    } else if (exits_within(w, now) >= FAIL_EXITS) {
        w->state = W_FAILED;
        log_error("%s (pid %d) exited (%s), %d times within %d s: failed, not restarted", w->name,
                  (int)w->last_pid, w->last_exit, FAIL_EXITS, FAIL_WINDOW_MS / 1000);
    } else {
        w->state = W_DOWN;
        w->next_start_ms = now + w->backoff_ms;
        log_warn("%s (pid %d) exited (%s): restart in %d ms", w->name, (int)w->last_pid,
                 w->last_exit, w->backoff_ms);
        w->backoff_ms = w->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : w->backoff_ms * 2;
    }
}

static void reap(sup_t *s)
{
    int st;
    pid_t pid;
    while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
        for (int i = 0; i < s->n; i++)
            if (s->w[i].pid == pid)
                worker_exited(&s->w[i], st);
}

/* ---- liveness ---- */

static int probe_once(sup_t *s, worker_t *w)
{
    if (!w->probe) {
        char ep[512];
        zio_curve_t cv;
        if (config_endpoint(s->cfg, w->name, "req", ep, sizeof ep) != 0 ||
            keys_client(s->keys, w->name, &cv) != 0)
            return -1;
        w->probe = client_new(s->ctx, ep, &cv);
        zio_curve_clear(&cv);
        if (!w->probe)
            return -1;
        client_set_timeout(w->probe, PROBE_TIMEOUT_MS, 1);
        client_set_caller(w->probe, "-");
    }
    proto_rep_t rep;
    proto_err_t err;
    if (client_call(w->probe, "health", NULL, NULL, &rep, &err) != 0)
        return -1;
    int ok = rep.status == ERR_OK && jint(rep.body, "pid") == w->pid;
    proto_rep_clear(&rep);
    return ok ? 0 : -1;
}

/* Probe w when due; kill it when it has not answered for too long (a new
 * process has start_ms for its first answer: it may be catching up). */
static void probe(sup_t *s, worker_t *w)
{
    long long now = proto_mono_ms();
    if (w->state != W_RUNNING || now < w->next_probe_ms || w->killed_stuck)
        return;
    long long limit = w->answered ? s->stuck_ms : s->start_ms;
    if (s->stuck_ms > 0 && now - w->last_ok_ms >= limit) {
        log_error("%s (pid %d) has not answered health for %lld ms: killing it", w->name,
                  (int)w->pid, now - w->last_ok_ms);
        w->killed_stuck = 1;
        if (kill(w->pid, SIGKILL) != 0)
            log_error("cannot kill %s (pid %d): %s", w->name, (int)w->pid, strerror(errno));
        return;
    }
    w->next_probe_ms = now + PROBE_EVERY_MS;
    if (probe_once(s, w) == 0) {
        if (!w->answered)
            log_info("%s (pid %d) answers health", w->name, (int)w->pid);
        w->answered = 1;
        w->last_ok_ms = proto_mono_ms();
    }
}

static void tick(sup_t *s)
{
    reap(s);
    long long now = proto_mono_ms();
    for (int i = 0; i < s->n; i++) {
        worker_t *w = &s->w[i];
        if (w->state == W_DOWN && now >= w->next_start_ms) {
            w->restarts++;
            (void)start_worker(s, w);
        }
    }
    for (int i = 0; i < s->n && !sup_stop; i++)
        probe(s, &s->w[i]);
}

/* ---- stopping ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Stop w for good (until a start): SIGTERM, SIGKILL after STOP_GRACE_MS.
 * Returns "stopped", "killed" or "not running". */
static const char *stop_worker(worker_t *w)
{
    int was = w->state;
    w->state = W_STOPPED;
    if (w->pid <= 0)
        return was == W_RUNNING ? "stopped" : "not running";
    const char *how = "stopped";
    if (kill(w->pid, SIGTERM) != 0 && errno != ESRCH)
        log_error("cannot stop %s (pid %d): %s", w->name, (int)w->pid, strerror(errno));
    long long deadline = proto_mono_ms() + STOP_GRACE_MS;
    int st = 0;
    pid_t got = 0;
    while ((got = waitpid(w->pid, &st, WNOHANG)) == 0 && proto_mono_ms() < deadline)
        sleep_ms(20);
    if (got == 0) {
        how = "killed";
        if (kill(w->pid, SIGKILL) != 0 && errno != ESRCH)
            log_error("cannot kill %s (pid %d): %s", w->name, (int)w->pid, strerror(errno));
        while ((got = waitpid(w->pid, &st, 0)) < 0 && errno == EINTR)
            ;
    }
    if (got == w->pid)
        worker_exited(w, st);
    else
        w->pid = 0;
    return how;
}

static void stop_all(sup_t *s)
{
    for (int i = s->n - 1; i >= 0; i--)
        if (s->w[i].pid > 0)
            (void)stop_worker(&s->w[i]);
}

/* ---- the control socket ---- */

static json_t *worker_json(const sup_t *s, const worker_t *w)
{
    char logname[64], logpath[4200];
    snprintf(logname, sizeof logname, "%s.log", w->name);
    if (config_path(s->cfg, "log", logname, logpath, sizeof logpath) != 0)
        logpath[0] = '\0';
    json_t *o = json_pack("{s:s, s:i, s:i, s:i, s:b, s:s}", "state", state_names[w->state], "pid",
                          (int)w->pid, "restarts", w->restarts, "last_pid", (int)w->last_pid,
                          "answered", w->answered, "log", logpath);
    if (!o)
        proto_oom();
    if (w->last_pid > 0 &&
        (json_object_set_new(o, "last_exit", json_string(w->last_exit)) != 0 ||
         (w->exit_code >= 0 && json_object_set_new(o, "exit_status", json_integer(w->exit_code)) != 0) ||
         (w->exit_signal >= 0 && json_object_set_new(o, "exit_signal", json_integer(w->exit_signal)) != 0)))
        proto_oom();
    if (w->pid <= 0 && w->down_since[0] &&
        json_object_set_new(o, "down_since", json_string(w->down_since)) != 0)
        proto_oom();
    return o;
}

static json_t *status_json(const sup_t *s)
{
    json_t *svcs = json_object();
    for (int i = 0; svcs && i < s->n; i++)
        if (json_object_set_new(svcs, s->w[i].name, worker_json(s, &s->w[i])) != 0)
            proto_oom();
    json_t *o = svcs ? json_pack("{s:i, s:o}", "pid", (int)getpid(), "services", svcs) : NULL;
    return proto_nonnull(o);
}

/* supervisor.restart for a worker started with env: its
 * COUNTER_SUPERVISOR_RESTART word when there is one, else ours. */
static int restart_wanted(const sup_t *s, const json_t *env)
{
    static const char key[] = "COUNTER_SUPERVISOR_RESTART=";
    size_t i;
    const json_t *v;
    json_array_foreach(env, i, v) {
        const char *word = json_string_value(v);
        if (word && strncmp(word, key, sizeof key - 1) == 0) {
            const char *val = word + sizeof key - 1;
            return !(strcmp(val, "0") == 0 || strcmp(val, "false") == 0 ||
                     strcmp(val, "no") == 0 || strcmp(val, "off") == 0);
        }
    }
    return config_bool(s->cfg, "supervisor.restart");
}

static json_t *ctl_start(sup_t *s, worker_t *w, json_t *env)
{
    if (w->pid > 0)
        return json_pack("{s:b, s:i}", "already", 1, "pid", (int)w->pid);
    json_decref(w->env);
    w->env = json_is_array(env) ? json_incref(env) : NULL;
    w->restart = restart_wanted(s, w->env);
    w->nexit = 0;
    w->backoff_ms = BACKOFF_FIRST_MS;
    if (start_worker(s, w) != 0)
        return json_pack("{s:s}", "error", "cannot start it: see the supervisor's log");
    return json_pack("{s:i}", "pid", (int)w->pid);
}

static json_t *ctl_dispatch(sup_t *s, const json_t *req)
{
    const char *cmd = jstr(req, "cmd");
    worker_t *w = worker_named(s, jstr(req, "service"));
    reap(s);   /* a worker killed a moment ago is not "already running" */
    if (strcmp(cmd, "status") == 0)
        return status_json(s);
    if (strcmp(cmd, "shutdown") == 0) {
        stop_all(s);
        sup_stop = 1;
        return json_pack("{s:b}", "ok", 1);
    }
    if (!w)
        return json_pack("{s:s}", "error", "unknown command or service");
    if (strcmp(cmd, "start") == 0)
        return ctl_start(s, w, json_object_get(req, "env"));
    if (strcmp(cmd, "stop") == 0)
        return json_pack("{s:s}", "result", stop_worker(w));
    return json_pack("{s:s}", "error", "unknown command");
}

/* Answer one request waiting on the control socket. -1: the socket failed. */
static int ctl_serve(sup_t *s)
{
    zmq_msg_t msg;
    if (zmq_msg_init(&msg) != 0)
        return -1;
    if (zmq_msg_recv(&msg, s->ctl, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&msg);
        return errno == EAGAIN || errno == EINTR ? 0 : -1;
    }
    json_error_t jerr;
    json_t *req = json_loadb(zmq_msg_data(&msg), zmq_msg_size(&msg), 0, &jerr);
    if (zmq_msg_close(&msg) != 0)
        log_warn("zmq_msg_close: %s", zmq_strerror(zmq_errno()));
    json_t *rep = json_is_object(req) && jstr(req, "cmd")
                      ? ctl_dispatch(s, req)
                      : json_pack("{s:s}", "error", "not a JSON request");
    json_decref(req);
    char *text = json_dumps(proto_nonnull(rep), JSON_COMPACT);
    json_decref(rep);
    if (!text)
        proto_oom();
    int rc = zmq_send(s->ctl, text, strlen(text), 0) < 0 ? -1 : 0;
    if (rc != 0)
        log_error("cannot answer on the control socket: %s", zmq_strerror(zmq_errno()));
    free(text);
    return rc;
}

/* ---- the process ---- */

/* Take run/supervisor.lock (one supervisor per shop) and write our pid in
 * it. The descriptor, or -1 (said in the log). */
static int take_lock(const sup_t *s)
{
    char path[4200], pid[32];
    if (config_path(s->cfg, "run", "supervisor.lock", path, sizeof path) != 0)
        return -1;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) != 0) {
        log_error("a supervisor already runs for this shop (%s: %s)", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(fd, 0) != 0 || write(fd, pid, (size_t)n) != n)
        log_warn("cannot write pid to %s", path);
    return fd;
}

static int open_ctl(sup_t *s)
{
    char path[4200], ep[4300];
    if (config_path(s->cfg, "run", "supervisor.ctl", path, sizeof path) != 0)
        return -1;
    snprintf(ep, sizeof ep, "ipc://%s", path);
    int linger = 0;
    s->ctx = zmq_ctx_new();
    s->ctl = s->ctx ? zmq_socket(s->ctx, ZMQ_REP) : NULL;
    if (!s->ctl || zmq_setsockopt(s->ctl, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        zmq_bind(s->ctl, ep) != 0) {
        log_error("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static int sup_init(sup_t *s)
{
    char err[512];
    const char *bin = getenv("COUNTERD");
    ssize_t len = bin && *bin ? -1 : readlink("/proc/self/exe", s->bin, sizeof s->bin - 1);
    if (len > 0)
        s->bin[len] = '\0';
    else
        snprintf(s->bin, sizeof s->bin, "%s", bin && *bin ? bin : "counterd");
    s->cfg = config_load(NULL, 1, err, sizeof err);
    if (!s->cfg || !(s->keys = keys_load(config_home(s->cfg), err, sizeof err))) {
        log_error("%s", err);
        return -1;
    }
    s->stuck_ms = config_int(s->cfg, "supervisor.stuck_ms");
    s->start_ms = config_int(s->cfg, "backend.start_timeout_ms");
    for (int i = 0; config_services[i] && s->n < MAX_WORKERS; i++) {
        worker_t *w = &s->w[s->n++];
        w->name = config_services[i];
        w->backoff_ms = BACKOFF_FIRST_MS;
        w->exit_code = w->exit_signal = -1;
    }
    return 0;
}

static void sup_fini(sup_t *s)
{
    for (int i = 0; i < s->n; i++) {
        client_destroy(&s->w[i].probe);
        json_decref(s->w[i].env);
    }
    if (s->ctl && zmq_close(s->ctl) != 0)
        log_warn("zmq_close: %s", zmq_strerror(zmq_errno()));
    if (s->ctx && zmq_ctx_term(s->ctx) != 0)
        log_warn("zmq_ctx_term: %s", zmq_strerror(zmq_errno()));
    keys_destroy(&s->keys);
    config_destroy(&s->cfg);
}

int supervisor_run(void)
{
    static sup_t s;
    log_init("supervisor");
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sodium_init() < 0 || sigaction(SIGTERM, &sa, NULL) != 0 ||
        sigaction(SIGINT, &sa, NULL) != 0 || signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
        log_error("cannot set up: %s", strerror(errno));
        return 1;
    }
    int lock = -1, rc = 1;
    if (sup_init(&s) == 0 && (lock = take_lock(&s)) >= 0 && open_ctl(&s) == 0) {
        rc = 0;
        log_info("supervisor started (pid %d)", (int)getpid());
        while (!sup_stop) {
            zmq_pollitem_t item = {s.ctl, 0, ZMQ_POLLIN, 0};
            int n = zmq_poll(&item, 1, TICK_MS);
            if (n < 0 && zmq_errno() != EINTR) {
                log_error("zmq_poll: %s", zmq_strerror(zmq_errno()));
                rc = 1;
                break;
            }
            if (n > 0 && ctl_serve(&s) != 0) {
                rc = 1;
                break;
            }
            if (!sup_stop)
                tick(&s);
        }
        stop_all(&s);
        log_info("supervisor stopped");
    }
    sup_fini(&s);
    if (lock >= 0) {
        if (ftruncate(lock, 0) != 0)
            log_warn("cannot clear supervisor.lock");
        close(lock);
    }
    return rc;
}
