/*
 * service.c - the runtime every worker shares: its threads, the broker loop
 * on the main thread, start and stop. What happens to one request is
 * request.c's (the pipeline); this file decides on which thread.
 *
 * Threads:
 *   main        SERVICE.req (ROUTER), the bus (PUB, subscriptions), timers.
 *               Runs the front of the pipeline on every request; without
 *               request threads it runs the back too, a batch at a time.
 *   request     (SERVICE.threads of them) the back of the pipeline for the
 *               requests the main thread hands them (the Guide's
 *               load-balancing broker: an idle thread says so by answering).
 *   catch-up    SERVICE.sync: events.since for followers, on a read-only
 *               connection, so that followers catch up even while the main
 *               loop is busy or blocked in a call to the very follower that
 *               asks (order -> catalog.reserve while catalog -> order
 *               events.since).
 *   background  the service's slow periodic work (recovery), if any.
 */
#include "log.h"
#include "notify.h"
#include "service_int.h"
#include "zap.h"

#include <sodium.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TICK_MS 100
#define MAX_WORKERS 32
#define READY "\001"
/* Requests waiting for a free thread, at most. */
#define QUEUE_MAX 4096

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
    *result = proto_nonnull(json_pack("{s:o}", "items", rows));
    return 0;
}

db_t *service_db(service_t *svc) { return svc->db; }
bus_t *service_bus(service_t *svc) { return svc->bus; }
const config_t *service_config(service_t *svc) { return svc->cfg; }
void *service_ctx(service_t *svc) { return svc->ctx; }
const keys_t *service_keys(service_t *svc) { return svc->keys; }

/* A ROUTER facing the world, a CURVE server with the service's pair. */
static void *bind_server(service_t *svc, const char *ep)
{
    zio_curve_t cv;
    keys_server(svc->keys, &cv);
    void *s = zio_socket(svc->ctx, ZMQ_ROUTER, 1);
    if (!s || zio_curve_server(s, &cv) != 0 || zio_bind(s, ep) != 0) {
        log_error("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        zio_close(&s);
    }
    zio_curve_clear(&cv);
    return s;
}

/* ---- the other threads ---- */

static void worker_id(int index, char *out, size_t cap)
{
    snprintf(out, cap, "w%02d", index);
}

/* The frame's bytes are not NUL-terminated: reading them with atoi ran into
 * whatever followed them in the message buffer, and a stray digit there
 * named another thread (or none: the request sent there was lost). */
int service_thread_index(const proto_frame_t *f, int nthreads)
{
    const unsigned char *d = f->data;
    if (f->size != 3 || d[0] != 'w' || d[1] < '0' || d[1] > '9' || d[2] < '0' || d[2] > '9')
        return -1;
    int w = (d[1] - '0') * 10 + (d[2] - '0');
    return w < nthreads ? w : -1;
}

/* A request thread: takes requests (a pointer to a request_t whose front
 * the main thread has run) and runs the back of the pipeline. */
static void *thread_main(void *arg)
{
    service_t *w = arg;
    char id[16], ep[64];
    worker_id(w->index, id, sizeof id);
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
        request_t *r = NULL;
        int n = zmq_recv(w->sock, &r, sizeof r, ZMQ_DONTWAIT);
        if (n != (int)sizeof r || !r)
            continue;
        request_back(w, r);
        request_destroy(&r);
    }
    /* Stopping: what was handed over but not started is dropped unanswered
     * (the client retries), and freed. */
    request_t *left = NULL;
    while (zmq_recv(w->sock, &left, sizeof left, ZMQ_DONTWAIT) == (int)sizeof left)
        request_destroy(&left);
    if (w->def->thread_stop)
        w->def->thread_stop(w);
out:
    zio_close(&w->sock);
    return NULL;
}

/* The catch-up server: SERVICE.sync through the same pipeline, which lets
 * only events.since through on this socket. */
static void *sync_main(void *arg)
{
    service_t *s = arg;
    while (!atomic_load(&s->sh->stop)) {
        zmq_pollitem_t item = {s->sock, 0, ZMQ_POLLIN, 0};
        /* 50 ms: a stop (a restart, when nobody serves) waits for this */
        if (zmq_poll(&item, 1, 50) <= 0)
            continue;   /* timeout, or EINTR from a signal meant for the main thread */
        request_t *r = request_recv(s->sock, ZMQ_DONTWAIT);
        if (!r)
            continue;
        request_handle(s, r);
        request_destroy(&r);
    }
    zio_close(&s->sock);
    return NULL;
}

static void *background_main(void *arg)
{
    service_t *b = arg;
    if (b->def->thread_start && b->def->thread_start(b) != 0) {
        log_error("background thread: start failed");
        return NULL;
    }
    while (!atomic_load(&b->sh->stop)) {
        b->def->background(b);
        for (int i = 0; i < 40 && !atomic_load(&b->sh->stop); i++) {
            struct timespec ts = {0, 25 * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
    if (b->def->thread_stop)
        b->def->thread_stop(b);
    return NULL;
}

/* ---- the main thread: a load-balancing broker (the Guide's LRU queue) ---- */

typedef struct {
    service_t *svc;
    void *backend;               /* inproc ROUTER to the request threads */
    int nthreads;
    int idle[MAX_WORKERS], nidle;
    request_t *queue[QUEUE_MAX]; /* waiting for a thread, in arrival order */
    size_t queued;
} broker_t;

/* Replies from the threads go out to their clients; each reply (or READY)
 * also says that its thread is idle. */
static void broker_on_replies(broker_t *b)
{
    int replies = 0;
    zio_msgs_t m;
    while (zio_recv(b->backend, &m, ZMQ_DONTWAIT) == 0) {
        int w = m.n >= 1 ? service_thread_index(&m.frame[0], b->nthreads) : -1;
        if (w < 0)
            log_error("a reply from an unknown request thread");
        else if (b->nidle < MAX_WORKERS)
            b->idle[b->nidle++] = w;
        if (!(m.n == 2 && m.frame[1].size == 1 && *(const char *)m.frame[1].data == READY[0])) {
            atomic_fetch_sub(&b->svc->sh->busy, 1);
            if (zio_send(b->svc->sock, m.frame + 1, m.n - 1, ZMQ_DONTWAIT) != 0)
                log_warn("forward reply: %s", zmq_strerror(zmq_errno()));
            replies++;
        }
        zio_msgs_close(&m);
    }
    /* What the threads committed is published from here. */
    if (replies)
        bus_flush(b->svc->bus);
}

/* Without request threads the main thread answers everything itself, a
 * batch at a time, and publishes after the batch. */
static void broker_answer_inline(broker_t *b)
{
    service_t *svc = b->svc;
    for (int k = 0; k < 256; k++) {
        request_t *r = request_recv(svc->sock, ZMQ_DONTWAIT);
        if (!r)
            break;
        request_handle(svc, r);
        request_destroy(&r);
        zmq_pollitem_t more = {svc->sock, 0, ZMQ_POLLIN, 0};
        if (k == 255 || zmq_poll(&more, 1, 0) <= 0)
            bus_flush(svc->bus);
    }
}

/* With threads: run the front of what arrived here (errors, health and
 * refusals are answered at once) and queue the rest for the next free
 * thread. */
static void broker_take_in(broker_t *b)
{
    for (int k = 0; k < 1024; k++) {
        request_t *r = request_recv(b->svc->sock, ZMQ_DONTWAIT);
        if (!r)
            break;
        if (request_front(b->svc, r)) {
            request_destroy(&r);
        } else if (b->queued == QUEUE_MAX) {
            request_refuse(b->svc, r, "the service is overloaded; try again in a moment");
            request_destroy(&r);
        } else {
            b->queue[b->queued++] = r;
        }
    }
}

/* What waits may be refused now without a thread (a breaker that opened
 * meanwhile): do not keep it waiting. */
static void broker_readmit(broker_t *b)
{
    if (!b->svc->def->fast_reply)
        return;
    size_t kept = 0;
    for (size_t i = 0; i < b->queued; i++) {
        if (request_readmit(b->svc, b->queue[i]))
            request_destroy(&b->queue[i]);
        else
            b->queue[kept++] = b->queue[i];
    }
    b->queued = kept;
}

/* Hand r to thread w: the request itself moves (a pointer; the thread
 * frees it). 0, or -1 with r answered and still ours. */
static int broker_forward(broker_t *b, int w, request_t *r)
{
    char id[16];
    worker_id(w, id, sizeof id);
    proto_frame_t f[2] = {{id, strlen(id)}, {&r, sizeof r}};
    atomic_fetch_add(&b->svc->sh->busy, 1);
    if (zio_send(b->backend, f, 2, ZMQ_DONTWAIT) != 0) {
        log_warn("forward request: %s", zmq_strerror(zmq_errno()));
        atomic_fetch_sub(&b->svc->sh->busy, 1);
        request_refuse(b->svc, r, "the service could not take the request; try again");
        return -1;
    }
    return 0;
}

static void broker_hand_out(broker_t *b)
{
    size_t taken = 0;
    while (b->nidle > 0 && taken < b->queued) {
        request_t *r = b->queue[taken++];
        int w = b->idle[--b->nidle];
        if (broker_forward(b, w, r) != 0) {
            b->idle[b->nidle++] = w;
            request_destroy(&r);
        }
    }
    if (taken > 0) {
        memmove(b->queue, b->queue + taken, (b->queued - taken) * sizeof b->queue[0]);
        b->queued -= taken;
    }
    atomic_store(&b->svc->sh->queued, (int)b->queued);
}

/* Ready once caught up (DESIGN section 6, readiness): the loop runs, so the
 * request and catch-up sockets are up; the bus says whether every
 * subscription caught up. Said once to systemd and the log. */
static void ready_check(service_t *svc, const char *req_ep)
{
    shared_t *sh = svc->sh;
    if (atomic_load(&sh->ready))
        return;
    char note[sizeof sh->ready_note], status[800];
    int ready = bus_ready(svc->bus, sh->ready_timeout_ms, note, sizeof note);
    if (strcmp(note, sh->ready_note) != 0) {
        snprintf(sh->ready_note, sizeof sh->ready_note, "%s", note);
        if (!ready)
            notify_status(note);
    }
    if (!ready)
        return;
    atomic_store(&sh->ready, 1);
    snprintf(status, sizeof status, "ready on %s%s%s", req_ep, note[0] ? "; " : "", note);
    log_info("%s (after %lld ms)", status, proto_mono_ms() - sh->started_ms);
    notify_ready(status);
}

static int loop(broker_t *b, const char *req_ep)
{
    service_t *svc = b->svc;
    while (!stop_requested) {
        ready_check(svc, req_ep);
        notify_watchdog();
        void *sub = bus_sub_socket(svc->bus);
        zmq_pollitem_t items[3] = {{b->backend, 0, ZMQ_POLLIN, 0},
                                   {svc->sock, 0, ZMQ_POLLIN, 0},
                                   {sub, 0, ZMQ_POLLIN, 0}};
        if (zmq_poll(items, sub ? 3 : 2, TICK_MS) < 0) {
            if (errno == EINTR)
                continue;
            log_error("zmq_poll: %s", zmq_strerror(errno));
            return 1;
        }
        if (items[0].revents & ZMQ_POLLIN)
            broker_on_replies(b);
        if ((items[1].revents & ZMQ_POLLIN) && b->nthreads == 0)
            broker_answer_inline(b);
        else if (items[1].revents & ZMQ_POLLIN)
            broker_take_in(b);
        if (b->queued > 0)
            broker_readmit(b);
        broker_hand_out(b);
        if (sub && (items[2].revents & ZMQ_POLLIN))
            bus_on_readable(svc->bus);
        bus_tick(svc->bus);
        if (svc->def->tick)
            svc->def->tick(svc);
        request_log_prune(svc);
        log_tick();
    }
    for (size_t i = 0; i < b->queued; i++)
        request_destroy(&b->queue[i]);
    b->queued = 0;
    return 0;
}

/* ---- start and stop ---- */

/* Everything service_run starts, so that one function stops it all. */
typedef struct {
    service_t main;
    service_t threads[MAX_WORKERS];
    int nthreads;
    service_t sync;
    int sync_running;
    service_t background;
    int background_running;
    void *backend;
    zap_t *zap;
    char path[4200];
    char req_ep[512];            /* where SERVICE.req is bound, for the log */
    const char *synchronous;
} runtime_t;

/* A thread's own connection and outbox (read-only for the catch-up server). */
static int thread_db(runtime_t *rt, service_t *t, int readonly)
{
    char err[512];
    t->db = readonly ? db_open_readonly(rt->path, err, sizeof err)
                     : db_open(rt->path, rt->synchronous, err, sizeof err);
    if (!t->db) {
        log_error("%s", err);
        return -1;
    }
    t->bus = bus_outbox_new(t->db, t->def->name);
    return 0;
}

static int open_main(runtime_t *rt, const svc_def_t *def)
{
    char err[512], ep[512];
    service_t *svc = &rt->main;
    snprintf(ep, sizeof ep, "%s.db", def->name);
    if (config_path(svc->cfg, "data", ep, rt->path, sizeof rt->path) != 0) {
        log_error("data path too long");
        return -1;
    }
    rt->synchronous = config_str(svc->cfg, "sqlite.synchronous");
    svc->db = db_open(rt->path, rt->synchronous, err, sizeof err);
    if (!svc->db) {
        log_error("%s", err);
        return -1;
    }
    if (request_log_init(svc->db) != 0 || (def->schema && db_exec(svc->db, def->schema) != 0))
        return -1;
    svc->ctx = zmq_ctx_new();
    if (!svc->ctx) {
        log_error("zmq_ctx_new: %s", zmq_strerror(errno));
        return -1;
    }
    /* The ZAP handler first: libzmq asks it about every CURVE client. */
    rt->zap = zap_start(svc->ctx, svc->keys);
    if (!rt->zap)
        return -1;
    svc->bus = bus_new(svc->ctx, svc->cfg, svc->db, def->name, svc->keys);
    if (!svc->bus || config_endpoint(svc->cfg, def->name, "req", ep, sizeof ep) != 0)
        return -1;
    svc->sock = bind_server(svc, ep);
    if (!svc->sock)
        return -1;
    snprintf(rt->req_ep, sizeof rt->req_ep, "%s", ep);
    snprintf(ep, sizeof ep, "inproc://%s-threads", def->name);
    rt->backend = zio_socket(svc->ctx, ZMQ_ROUTER, 0);
    if (!rt->backend || zmq_bind(rt->backend, ep) != 0) {
        log_error("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        return -1;
    }
    return 0;
}

static service_t thread_view(runtime_t *rt, int index, sock_kind_t kind)
{
    service_t *m = &rt->main;
    return (service_t){.def = m->def, .cfg = m->cfg, .keys = m->keys, .ctx = m->ctx,
                       .sh = m->sh, .index = index, .kind = kind};
}

static int start_sync(runtime_t *rt)
{
    char ep[512];
    service_t *s = &rt->sync;
    *s = thread_view(rt, -2, SOCK_SYNC);
    if (thread_db(rt, s, 1) != 0 || config_endpoint(s->cfg, s->def->name, "sync", ep, sizeof ep) != 0)
        return -1;
    s->sock = bind_server(s, ep);
    if (!s->sock)
        return -1;
    /* The socket moves to the thread; pthread_create is the memory barrier
     * ZeroMQ asks for when a socket changes threads. */
    if (pthread_create(&s->thread, NULL, sync_main, s) != 0) {
        log_error("cannot start the catch-up server");
        return -1;
    }
    rt->sync_running = 1;
    return 0;
}

static int start_threads(runtime_t *rt)
{
    const svc_def_t *def = rt->main.def;
    char key[64];
    snprintf(key, sizeof key, "%s.threads", def->name);
    long long want = config_int(rt->main.cfg, key);
    if (want < 0 || want > MAX_WORKERS) {
        log_error("%s must be 0-%d", key, MAX_WORKERS);
        return -1;
    }
    for (; rt->nthreads < want; rt->nthreads++) {
        service_t *w = &rt->threads[rt->nthreads];
        *w = thread_view(rt, rt->nthreads, SOCK_REQ);
        if (thread_db(rt, w, 0) != 0 || pthread_create(&w->thread, NULL, thread_main, w) != 0) {
            log_error("cannot start request thread %d", rt->nthreads);
            bus_destroy(&w->bus);
            db_destroy(&w->db);
            return -1;
        }
    }
    rt->main.sh->nthreads = rt->nthreads;
    /* Work that may wait on other services (recovery) runs on a thread of
     * its own, never in the main thread that brokers every request. */
    if (def->background) {
        rt->background = thread_view(rt, -1, SOCK_REQ);
        if (thread_db(rt, &rt->background, 0) != 0 ||
            pthread_create(&rt->background.thread, NULL, background_main, &rt->background) != 0) {
            log_error("cannot start the background thread");
            return -1;
        }
        rt->background_running = 1;
    }
    return 0;
}

static void join(service_t *t, int running)
{
    if (running)
        pthread_join(t->thread, NULL);
    bus_destroy(&t->bus);
    db_destroy(&t->db);
}

static void stop_all(runtime_t *rt)
{
    service_t *svc = &rt->main;
    atomic_store(&svc->sh->stop, 1);
    join(&rt->background, rt->background_running);
    join(&rt->sync, rt->sync_running);
    zio_close(&rt->sync.sock);       /* when its thread never started */
    for (int i = 0; i < rt->nthreads; i++)
        join(&rt->threads[i], 1);
    /* The main thread's own per-thread state, set up by start(). */
    if (svc->def->thread_stop)
        svc->def->thread_stop(svc);
    zio_close(&rt->backend);
    zio_close(&svc->sock);
    bus_destroy(&svc->bus);
    zap_stop(&rt->zap);
    if (svc->ctx && zmq_ctx_term(svc->ctx) != 0)
        log_warn("zmq_ctx_term: %s", zmq_strerror(errno));
    db_destroy(&svc->db);
    authn_destroy(&svc->sh->authn);
}

static int start_authn(runtime_t *rt)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    service_t *svc = &rt->main;
    if (keys_token_public(svc->keys, pk) != 0) {
        log_error("no token public key in %s/keys: run counter setup", config_home(svc->cfg));
        return -1;
    }
    svc->sh->authn = authn_new(pk);
    if (!svc->sh->authn ||
        authn_attach(svc->sh->authn, svc->db, svc->bus, strcmp(svc->def->name, "auth") != 0) != 0) {
        log_error("cannot load the ended sessions");
        return -1;
    }
    return 0;
}

int service_session_ended(service_t *svc, const char *sid, long long expires)
{
    return authn_store(svc->sh->authn, svc->db, sid, expires);
}

int service_run(const svc_def_t *def, config_t *cfg, const keys_t *keys)
{
    static shared_t sh;
    static runtime_t rt;
    int status = 1;
    sh.started_ms = proto_mono_ms();
    char key[64];
    snprintf(key, sizeof key, "%s.ready_timeout_ms", def->name);
    sh.ready_timeout_ms = config_int(cfg, key);
    notify_init();
    rt.main = (service_t){.def = def, .cfg = cfg, .keys = keys, .sh = &sh, .kind = SOCK_REQ};
    struct sigaction sa = {0};
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGTERM, &sa, NULL) != 0 || sigaction(SIGINT, &sa, NULL) != 0)
        return 1;
    signal(SIGPIPE, SIG_IGN);
    if (open_main(&rt, def) != 0 || start_authn(&rt) != 0 || start_sync(&rt) != 0)
        goto out;
    /* start() runs before any request thread: recovery sees a quiet service. */
    if (def->start && def->start(&rt.main) != 0) {
        log_error("start failed");
        goto out;
    }
    if (start_threads(&rt) != 0)
        goto out;
    log_info("serving on %s (%d request thread%s)", rt.req_ep, rt.nthreads,
             rt.nthreads == 1 ? "" : "s");
    static broker_t broker;
    broker = (broker_t){.svc = &rt.main, .backend = rt.backend, .nthreads = rt.nthreads};
    status = loop(&broker, rt.req_ep);
    /* Take no more requests while the rest stops: what clients send now
     * waits in their queue for the next process instead of being lost
     * here (a rolling restart, DESIGN section 6). */
    zio_close(&rt.main.sock);
    log_info("stopping");
    notify_stopping("stopping");
out:
    stop_all(&rt);
    return status;
}
