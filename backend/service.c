/*
 * service.c - the request loop shared by every worker.
 */
#include "service.h"
#include "log.h"
#include "zio.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define COUNTER_VERSION "0.1.0"
#define TICK_MS 100
#define MAX_WORKERS 32
#define READY "\001"

/* What every thread of the worker shares. */
typedef struct {
    long long started_ms;
    atomic_llong requests;
    atomic_int busy;          /* requests being handled by a thread now */
    int queued;               /* requests waiting for a thread (main thread only) */
    atomic_int stop;
    int nthreads;
    long long next_prune;
} shared_t;

/* One thread's view of the service: the main thread (the broker, the bus,
 * subscriptions, timers) or a request thread. Each has its own SQLite
 * connection; only the main thread publishes. */
struct service {
    const svc_def_t *def;
    config_t *cfg;
    void *ctx;
    void *sock;        /* where this thread's replies go */
    db_t *db;
    bus_t *bus;        /* main: the whole bus; request threads: the outbox only */
    shared_t *sh;
    pthread_t thread;
    int index;
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

int service_items(sqlite3_stmt *st, json_t **result, proto_err_t *err)
{
    json_t *rows = st ? db_rows(st) : NULL;
    if (!rows)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    *result = json_pack("{s:o}", "items", rows);
    if (!*result)
        proto_oom();
    return 0;
}

db_t *service_db(service_t *svc) { return svc->db; }
bus_t *service_bus(service_t *svc) { return svc->bus; }
const config_t *service_config(service_t *svc) { return svc->cfg; }
void *service_ctx(service_t *svc) { return svc->ctx; }

static const char *SCHEMA_REQ =
    "CREATE TABLE IF NOT EXISTS req_log("
    "  request_id TEXT PRIMARY KEY, command TEXT NOT NULL, caller TEXT NOT NULL,"
    "  body_hash TEXT NOT NULL, reply TEXT NOT NULL, at INTEGER NOT NULL);";
static const char *SQL_REQ_GET =
    "SELECT command, caller, body_hash, reply FROM req_log WHERE request_id = ?";
static const char *SQL_REQ_PUT =
    "INSERT INTO req_log(request_id, command, caller, body_hash, reply, at) VALUES(?,?,?,?,?,?)";

/* A digest of the request's body (keys sorted): a retry must be the same
 * request, not merely the same id. out holds 33 bytes. */
static void body_hash(const json_t *body, char *out)
{
    char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char h[16];
    if (!text)
        proto_oom();
    crypto_generichash(h, sizeof h, (const unsigned char *)text, strlen(text), NULL, 0);
    sodium_bin2hex(out, 33, h, sizeof h);
    free(text);
}
static const char *SQL_REQ_PRUNE = "DELETE FROM req_log WHERE at < ?";

/* ---- replies ---- */

static void send_reply(service_t *svc, const zio_msgs_t *env, size_t env_n, const char *rid,
                       proto_status_t status, const json_t *body)
{
    if (zio_reply(svc->sock, env->frame, env_n, rid, status, body) != 0)
        log_warn("reply %s: %s", rid && *rid ? rid : "-", zmq_strerror(zmq_errno()));
}

/* ---- built-in commands ---- */

static json_t *health(service_t *svc)
{
    json_t *h = bus_health(svc->bus);
    if (json_object_set_new(h, "service", json_string(svc->def->name)) != 0 ||
        json_object_set_new(h, "alive", json_true()) != 0 ||
        json_object_set_new(h, "ready", json_true()) != 0 ||
        json_object_set_new(h, "version", json_string(COUNTER_VERSION)) != 0 ||
        json_object_set_new(h, "pid", json_integer(getpid())) != 0 ||
        json_object_set_new(h, "uptime_ms", json_integer(proto_mono_ms() - svc->sh->started_ms)) != 0 ||
        json_object_set_new(h, "requests", json_integer(atomic_load(&svc->sh->requests))) != 0 ||
        json_object_set_new(h, "threads", json_integer(svc->sh->nthreads)) != 0 ||
        json_object_set_new(h, "in_progress", json_integer(atomic_load(&svc->sh->busy))) != 0 ||
        json_object_set_new(h, "queue_depth", json_integer(svc->sh->queued)) != 0)
        proto_oom();
    if (svc->def->health)
        svc->def->health(svc, h);
    return h;
}

/* ---- dispatch ---- */

static svc_cmd_fn find_handler(const svc_def_t *def, const char *name)
{
    for (const svc_cmd_t *c = def->commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->fn;
    return NULL;
}

/* The stored reply of an earlier request with this id, or NULL. */
static json_t *replay_lookup(service_t *svc, const proto_req_t *req, proto_err_t *err, int *bad)
{
    *bad = 0;
    sqlite3_stmt *st = db_stmt(svc->db, SQL_REQ_GET);
    if (!st || sqlite3_bind_text(st, 1, req->request_id, -1, SQLITE_STATIC) != SQLITE_OK) {
        *bad = proto_fail(err, ERR_INTERNAL, NULL, "request log unavailable");
        return NULL;
    }
    json_t *reply = NULL;
    char hash[33];
    body_hash(req->body, hash);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (strcmp((const char *)sqlite3_column_text(st, 0), req->command) != 0 ||
            strcmp((const char *)sqlite3_column_text(st, 1), req->caller_raw) != 0 ||
            strcmp((const char *)sqlite3_column_text(st, 2), hash) != 0)
            *bad = proto_fail(err, ERR_CONFLICT, "request_id",
                              "request id %s was already used for another request",
                              req->request_id);
        else
            reply = json_loads((const char *)sqlite3_column_text(st, 3), 0, NULL);
    } else if (rc != SQLITE_DONE) {
        *bad = proto_fail(err, ERR_INTERNAL, NULL, "request log: %s",
                          sqlite3_errmsg(db_handle(svc->db)));
    }
    sqlite3_reset(st);
    return reply;
}

static int replay_store(service_t *svc, const proto_req_t *req, const json_t *result)
{
    char *text = proto_dump(result), hash[33];
    body_hash(req->body, hash);
    sqlite3_stmt *st = db_stmt(svc->db, SQL_REQ_PUT);
    int rc = -1;
    if (st && sqlite3_bind_text(st, 1, req->request_id, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 2, req->command, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 3, req->caller_raw, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 4, hash, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_text(st, 5, text, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_int64(st, 6, proto_now_ms()) == SQLITE_OK)
        rc = db_step_done(st);
    free(text);
    return rc;
}

/* Handle one decoded request; returns the status and sets *out (owned). */
static proto_status_t dispatch(service_t *svc, const proto_req_t *req, json_t **out,
                               proto_err_t *err)
{
    *out = NULL;
    const proto_cmd_t *cmd = proto_cmd_find(req->command);
    if (!cmd || (strcmp(cmd->service, "*") != 0 && strcmp(cmd->service, svc->def->name) != 0))
        return proto_fail(err, ERR_BAD_REQUEST, "command", "unknown command '%s' for %s",
                          req->command, svc->def->name);
    if (!(cmd->roles & req->caller.role))
        return proto_fail(err, ERR_FORBIDDEN, NULL, "%s may not call %s",
                          proto_role_name(req->caller.role), cmd->name);
    json_t *body = proto_validate(cmd, req->body, err);
    if (!body)
        return err->status;

    proto_status_t status = ERR_OK;
    if (strcmp(cmd->name, "health") == 0) {
        *out = health(svc);
    } else if (strcmp(cmd->name, "events.since") == 0) {
        json_t *after = json_object_get(body, "after"), *limit = json_object_get(body, "limit");
        *out = bus_since(svc->bus, after ? json_integer_value(after) : 0,
                         limit ? json_integer_value(limit) : 1000);
        if (!*out)
            status = proto_fail(err, ERR_INTERNAL, NULL, "cannot read the outbox");
    } else {
        svc_cmd_fn fn = find_handler(svc->def, cmd->name);
        if (!fn) {
            status = proto_fail(err, ERR_BAD_REQUEST, "command", "unknown command '%s' for %s",
                                req->command, svc->def->name);
        } else if (!cmd->writes) {
            status = (proto_status_t)fn(svc, req, body, out, err);
        } else if (db_begin(svc->db) != 0) {
            status = proto_fail(err, ERR_INTERNAL, NULL, "cannot start a transaction");
        } else {
            int bad;
            json_t *again = replay_lookup(svc, req, err, &bad);
            if (bad) {
                status = (proto_status_t)bad;
                db_rollback(svc->db);
            } else if (again) {
                *out = again;       /* a retry: the first answer, nothing written */
                db_rollback(svc->db);
            } else {
                status = (proto_status_t)fn(svc, req, body, out, err);
                if (status == ERR_OK && !*out)
                    *out = json_object();
                if (status == ERR_OK && (replay_store(svc, req, *out) != 0 || db_commit(svc->db) != 0))
                    status = proto_fail(err, ERR_INTERNAL, NULL, "cannot commit");
                if (status != ERR_OK) {
                    db_rollback(svc->db);
                    json_decref(*out);
                    *out = NULL;
                } else {
                    bus_flush(svc->bus);
                }
            }
        }
    }
    json_decref(body);
    if (status == ERR_OK && !*out)
        *out = json_object();
    return status;
}

/* One message off the ROUTER: [identity][empty]?[5 frames]. */
static void handle_message(service_t *svc, zio_msgs_t *m)
{
    atomic_fetch_add(&svc->sh->requests, 1);
    /* The envelope: the identity, and the empty delimiter REQ peers add. */
    size_t env = 1;
    if (m->n >= 2 && m->frame[1].size == 0)
        env = 2;
    proto_req_t req;
    proto_err_t err;
    json_t *out = NULL;
    proto_status_t status;
    if (m->total != m->n) {
        memset(&req, 0, sizeof req);
        status = proto_fail(&err, ERR_BAD_REQUEST, "frames", "too many frames (%zu)", m->total);
    } else if (proto_req_decode(m->frame + env, m->n - env, &req, &err) != 0) {
        status = err.status;
    } else {
        bus_set_actor(svc->bus, req.caller_raw);
        status = dispatch(svc, &req, &out, &err);
        bus_set_actor(svc->bus, NULL);
    }
    if (status != ERR_OK) {
        json_decref(out);
        out = proto_err_body(&err);
        if (status == ERR_INTERNAL)
            log_error("%s: %s", req.command, err.message);
    }
    send_reply(svc, m, env, req.request_id, status, out);
    json_decref(out);
    proto_req_clear(&req);
}

static void prune(service_t *svc)
{
    long long now = proto_mono_ms();
    if (now < svc->sh->next_prune)
        return;
    svc->sh->next_prune = now + 60000;
    sqlite3_stmt *st = db_stmt(svc->db, SQL_REQ_PRUNE);
    long long keep_ms = config_int(svc->cfg, "requests.keep_ms");
    if (st && sqlite3_bind_int64(st, 1, proto_now_ms() - keep_ms) == SQLITE_OK)
        (void)db_step_done(st);
}

/* ---- request threads ---- */

static void *thread_main(void *arg)
{
    service_t *w = arg;
    char id[16], ep[64];
    snprintf(id, sizeof id, "w%02d", w->index);
    snprintf(ep, sizeof ep, "inproc://%s-threads", w->def->name);
    w->sock = zio_socket(w->ctx, ZMQ_DEALER, 0);
    if (!w->sock || zmq_setsockopt(w->sock, ZMQ_ROUTING_ID, id, strlen(id)) != 0 ||
        zmq_connect(w->sock, ep) != 0) {
        log_error("thread %d: %s", w->index, zmq_strerror(zmq_errno()));
        goto out;
    }
    if (w->def->thread_start && w->def->thread_start(w) != 0) {
        log_error("thread %d: start failed", w->index);
        goto out;
    }
    if (zmq_send(w->sock, READY, 1, 0) < 0)
        goto out;
    while (!atomic_load(&w->sh->stop)) {
        zmq_pollitem_t item = {w->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;
        zio_msgs_t m;
        if (zio_recv(w->sock, &m, ZMQ_DONTWAIT) != 0)
            continue;
        handle_message(w, &m);
        zio_msgs_close(&m);
    }
    if (w->def->thread_stop)
        w->def->thread_stop(w);
out:
    zio_close(&w->sock);
    return NULL;
}

/* ---- a background thread for slow periodic work ---- */

static void *background_main(void *arg)
{
    service_t *b = arg;
    if (b->def->thread_start && b->def->thread_start(b) != 0) {
        log_error("background thread: start failed");
        return NULL;
    }
    while (!atomic_load(&b->sh->stop)) {
        b->def->background(b);
        for (int i = 0; i < 10 && !atomic_load(&b->sh->stop); i++) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (b->def->thread_stop)
        b->def->thread_stop(b);
    return NULL;
}

/* ---- the main thread: a load-balancing broker (the Guide's LRU queue) ---- */

static int is_command(const zio_msgs_t *m, size_t env, const char *name)
{
    size_t len = strlen(name);
    return m->n > env + 1 && m->frame[env + 1].size == len &&
           memcmp(m->frame[env + 1].data, name, len) == 0;
}

/* Requests waiting for a free thread, in arrival order. */
#define QUEUE_MAX 4096

typedef struct {
    zio_msgs_t *msg[QUEUE_MAX];
    size_t n;
} queue_t;

/* The request id of a message, when it is a plain token (else ""). */
static void peek_token(const zio_msgs_t *m, size_t index, char *out, size_t cap)
{
    out[0] = '\0';
    if (index >= m->n || m->frame[index].size == 0 || m->frame[index].size >= cap)
        return;
    const unsigned char *d = m->frame[index].data;
    for (size_t i = 0; i < m->frame[index].size; i++)
        if (d[i] <= 0x20 || d[i] >= 0x7f)
            return;
    memcpy(out, d, m->frame[index].size);
    out[m->frame[index].size] = '\0';
}

/* Answer m at once, from the main thread, when the service says so (e.g. the
 * order service while its payment breaker is open). Returns 1 if answered. */
/* Would a thread accept this request's frames and body (decode and
 * validation, not the domain)? */
static int well_formed(const zio_msgs_t *m, size_t env)
{
    proto_req_t req;
    proto_err_t err;
    int ok = 0;
    memset(&req, 0, sizeof req);
    if (m->total == m->n && proto_req_decode(m->frame + env, m->n - env, &req, &err) == 0) {
        const proto_cmd_t *cmd = proto_cmd_find(req.command);
        json_t *body = cmd && (cmd->roles & req.caller.role) ? proto_validate(cmd, req.body, &err) : NULL;
        ok = body != NULL;
        json_decref(body);
    }
    proto_req_clear(&req);
    return ok;
}

static int try_fast_reply(service_t *svc, const zio_msgs_t *m, const char *text_if_full)
{
    size_t env = (m->n >= 2 && m->frame[1].size == 0) ? 2 : 1;
    char command[64], rid[PROTO_MAX_ID + 1];
    proto_err_t err;
    peek_token(m, env + 1, command, sizeof command);
    peek_token(m, env + 2, rid, sizeof rid);
    if (!rid[0] || !command[0])
        return 0;
    if (text_if_full) {
        proto_fail(&err, ERR_UNAVAILABLE, NULL, "%s", text_if_full);
    } else if (!svc->def->fast_reply || !svc->def->fast_reply(svc, command, rid, &err)) {
        return 0;
    } else if (!well_formed(m, env)) {
        return 0;   /* a thread answers it: bad input gets bad_request, never busy */
    }
    json_t *body = proto_err_body(&err);
    atomic_fetch_add(&svc->sh->requests, 1);
    send_reply(svc, m, env, rid, err.status, body);
    json_decref(body);
    return 1;
}

/* Hand m to thread w. Returns 0, or -1 (m answered here) when the hand-off
 * failed, and the thread is still idle. */
static int forward(service_t *svc, void *backend, service_t *threads, int w, zio_msgs_t *m)
{
    char id[16];
    snprintf(id, sizeof id, "w%02d", threads[w].index);
    proto_frame_t f[ZIO_MAX_FRAMES + 1];
    f[0] = (proto_frame_t){id, strlen(id)};
    for (size_t i = 0; i < m->n; i++)
        f[i + 1] = m->frame[i];
    atomic_fetch_add(&svc->sh->busy, 1);
    if (zio_send(backend, f, m->n + 1, ZMQ_DONTWAIT) != 0) {
        log_warn("forward request: %s", zmq_strerror(zmq_errno()));
        atomic_fetch_sub(&svc->sh->busy, 1);
        try_fast_reply(svc, m, "the service could not take the request; try again");
        return -1;
    }
    return 0;
}

static void drop(zio_msgs_t *m)
{
    zio_msgs_close(m);
    free(m);
}

static int loop(service_t *svc, void *backend, service_t *threads, int nthreads)
{
    int idle[MAX_WORKERS], nidle = 0;
    int inline_mode = nthreads == 0;
    static queue_t queue;
    while (!stop_requested) {
        zmq_pollitem_t items[3] = {{backend, 0, ZMQ_POLLIN, 0},
                                   {svc->sock, 0, ZMQ_POLLIN, 0},
                                   {NULL, 0, ZMQ_POLLIN, 0}};
        int nitems = 2;
        void *sub = bus_sub_socket(svc->bus);
        if (sub) {
            items[2].socket = sub;
            nitems = 3;
        }
        int rc = zmq_poll(items, nitems, TICK_MS);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll: %s", zmq_strerror(errno));
            return 1;
        }
        if (items[0].revents & ZMQ_POLLIN) {
            int replies = 0;
            zio_msgs_t m;
            while (zio_recv(backend, &m, ZMQ_DONTWAIT) == 0) {
                int w = -1;
                if (m.n >= 1 && m.frame[0].size == 3)
                    w = atoi((const char *)m.frame[0].data + 1) % MAX_WORKERS;
                if (w >= 0 && nidle < MAX_WORKERS)
                    idle[nidle++] = w;
                if (!(m.n == 2 && m.frame[1].size == 1 && *(const char *)m.frame[1].data == READY[0])) {
                    atomic_fetch_sub(&svc->sh->busy, 1);
                    if (zio_send(svc->sock, m.frame + 1, m.n - 1, ZMQ_DONTWAIT) != 0)
                        log_warn("forward reply: %s", zmq_strerror(zmq_errno()));
                    replies++;
                }
                zio_msgs_close(&m);
            }
            /* What the threads committed is published from here. */
            if (replies)
                bus_flush(svc->bus);
        }
        /* Without request threads the main thread answers everything itself,
         * a batch at a time, and publishes after the batch. */
        for (int k = 0; inline_mode && (items[1].revents & ZMQ_POLLIN) && k < 256; k++) {
            zio_msgs_t m;
            if (zio_recv(svc->sock, &m, ZMQ_DONTWAIT) != 0)
                break;
            handle_message(svc, &m);
            zio_msgs_close(&m);
            if (k == 255 || !(zmq_poll(&items[1], 1, 0) > 0))
                bus_flush(svc->bus);
        }
        /* With threads: take in what arrived; answer here what needs no
         * thread; queue the rest for the next free thread. */
        for (int k = 0; !inline_mode && (items[1].revents & ZMQ_POLLIN) && k < 1024; k++) {
            zio_msgs_t *m = malloc(sizeof *m);
            if (!m)
                proto_oom();
            if (zio_recv(svc->sock, m, ZMQ_DONTWAIT) != 0) {
                free(m);
                break;
            }
            size_t env = (m->n >= 2 && m->frame[1].size == 0) ? 2 : 1;
            if (m->total != m->n || m->n == ZIO_MAX_FRAMES || is_command(m, env, "health")) {
                /* health answers even when every thread is busy */
                handle_message(svc, m);
                drop(m);
            } else if (try_fast_reply(svc, m, NULL)) {
                drop(m);
            } else if (queue.n == QUEUE_MAX) {
                if (!try_fast_reply(svc, m, "the service is overloaded; try again in a moment"))
                    handle_message(svc, m);
                drop(m);
            } else {
                queue.msg[queue.n++] = m;
            }
        }
        /* What waits may be answerable now without a thread (a breaker
         * that opened meanwhile): do not keep it waiting. */
        if (queue.n > 0 && svc->def->fast_reply) {
            size_t kept = 0;
            for (size_t i = 0; i < queue.n; i++) {
                if (try_fast_reply(svc, queue.msg[i], NULL))
                    drop(queue.msg[i]);
                else
                    queue.msg[kept++] = queue.msg[i];
            }
            queue.n = kept;
        }
        size_t taken = 0;
        while (nidle > 0 && taken < queue.n) {
            zio_msgs_t *m = queue.msg[taken++];
            int w = idle[--nidle];
            if (forward(svc, backend, threads, w, m) != 0)
                idle[nidle++] = w;
            drop(m);
        }
        if (taken > 0) {
            memmove(queue.msg, queue.msg + taken, (queue.n - taken) * sizeof queue.msg[0]);
            queue.n -= taken;
        }
        svc->sh->queued = (int)queue.n;
        if (nitems == 3 && (items[2].revents & ZMQ_POLLIN))
            bus_on_readable(svc->bus);
        bus_tick(svc->bus);
        if (svc->def->tick)
            svc->def->tick(svc);
        prune(svc);
    }
    for (size_t i = 0; i < queue.n; i++)
        drop(queue.msg[i]);
    queue.n = 0;
    return 0;
}

int service_run(const svc_def_t *def, config_t *cfg)
{
    static shared_t sh;
    service_t svc = {.def = def, .cfg = cfg, .sh = &sh};
    service_t threads[MAX_WORKERS];
    int nthreads = 0, status = 1;
    void *backend = NULL;
    char path[4200], err[512], ep[512], key[64];
    sh.started_ms = proto_mono_ms();
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);

    char dbfile[64];
    snprintf(dbfile, sizeof dbfile, "%s.db", def->name);
    if (config_path(cfg, "data", dbfile, path, sizeof path) != 0) {
        log_error("data path too long");
        return 1;
    }
    const char *sync = config_str(cfg, "sqlite.synchronous");
    svc.db = db_open(path, sync, err, sizeof err);
    if (!svc.db) {
        log_error("%s", err);
        return 1;
    }
    if (db_exec(svc.db, SCHEMA_REQ) != 0 || (def->schema && db_exec(svc.db, def->schema) != 0))
        goto out;
    /* Shops from before the request log kept a body digest. */
    if (!db_has_column(svc.db, "req_log", "body_hash") &&
        db_exec(svc.db, "ALTER TABLE req_log ADD COLUMN body_hash TEXT NOT NULL DEFAULT ''") != 0)
        goto out;
    svc.ctx = zmq_ctx_new();
    if (!svc.ctx) {
        log_error("zmq_ctx_new: %s", zmq_strerror(errno));
        goto out;
    }
    svc.bus = bus_new(svc.ctx, cfg, svc.db, def->name);
    if (!svc.bus)
        goto out;
    if (config_endpoint(cfg, def->name, "req", ep, sizeof ep) != 0)
        goto out;
    svc.sock = zio_socket(svc.ctx, ZMQ_ROUTER, 1);
    if (!svc.sock || zio_bind(svc.sock, ep) != 0) {
        log_error("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        goto out;
    }
    char inproc[64];
    snprintf(inproc, sizeof inproc, "inproc://%s-threads", def->name);
    backend = zio_socket(svc.ctx, ZMQ_ROUTER, 0);
    if (!backend || zmq_bind(backend, inproc) != 0) {
        log_error("cannot bind %s: %s", inproc, zmq_strerror(zmq_errno()));
        goto out;
    }
    /* start() runs before any request thread: recovery sees a quiet service. */
    if (def->start && def->start(&svc) != 0) {
        log_error("start failed");
        goto out;
    }
    snprintf(key, sizeof key, "%s.threads", def->name);
    long want = config_int(cfg, key);
    if (want < 0 || want > MAX_WORKERS) {
        log_error("%s must be 0-%d", key, MAX_WORKERS);
        goto out;
    }
    for (; nthreads < want; nthreads++) {
        service_t *w = &threads[nthreads];
        *w = (service_t){.def = def, .cfg = cfg, .ctx = svc.ctx, .sh = &sh, .index = nthreads};
        w->db = db_open(path, sync, err, sizeof err);
        w->bus = w->db ? bus_outbox_new(w->db, def->name) : NULL;
        if (!w->bus || pthread_create(&w->thread, NULL, thread_main, w) != 0) {
            log_error("cannot start request thread %d: %s", nthreads, w->db ? "" : err);
            bus_destroy(&w->bus);
            db_destroy(&w->db);
            goto out;
        }
    }
    sh.nthreads = nthreads;
    /* Work that may wait on other services (recovery) runs here, never in
     * the main thread that brokers every request. */
    service_t background = {.def = def, .cfg = cfg, .ctx = svc.ctx, .sh = &sh, .index = -1};
    int background_running = 0;
    if (def->background) {
        background.db = db_open(path, sync, err, sizeof err);
        background.bus = background.db ? bus_outbox_new(background.db, def->name) : NULL;
        if (!background.bus ||
            pthread_create(&background.thread, NULL, background_main, &background) != 0) {
            log_error("cannot start the background thread");
            bus_destroy(&background.bus);
            db_destroy(&background.db);
            goto out;
        }
        background_running = 1;
    }
    log_info("ready on %s (%d request thread%s)", ep, nthreads, nthreads == 1 ? "" : "s");
    status = loop(&svc, backend, threads, nthreads);
    log_info("stopping");
    atomic_store(&sh.stop, 1);
    if (background_running) {
        pthread_join(background.thread, NULL);
        bus_destroy(&background.bus);
        db_destroy(&background.db);
    }
out:
    atomic_store(&sh.stop, 1);
    for (int i = 0; i < nthreads; i++) {
        pthread_join(threads[i].thread, NULL);
        bus_destroy(&threads[i].bus);
        db_destroy(&threads[i].db);
    }
    /* The main thread's own per-thread state, set up by start(). */
    if (def->thread_stop)
        def->thread_stop(&svc);
    zio_close(&backend);
    zio_close(&svc.sock);
    bus_destroy(&svc.bus);
    if (svc.ctx && zmq_ctx_term(svc.ctx) != 0)
        log_warn("zmq_ctx_term: %s", zmq_strerror(errno));
    db_destroy(&svc.db);
    return status;
}
