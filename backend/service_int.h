/*
 * service_int.h - what the two halves of the worker runtime share: the
 * runtime (service.c: threads, the broker loop, start and stop) and the
 * request pipeline (request.c). Not for the services (svc_*.c): they see
 * service.h only.
 */
#ifndef SERVICE_INT_H
#define SERVICE_INT_H

#include "authn.h"
#include "service.h"
#include "zio.h"

#include <pthread.h>
#include <stdatomic.h>

/* What every thread of the worker shares. */
typedef struct {
    long long started_ms;
    atomic_llong requests;
    atomic_int busy;          /* requests being handled by a thread now */
    atomic_int queued;        /* requests waiting for a thread (set by the main thread) */
    atomic_int stop;
    /* Readiness (service.c, the main loop): 1 once the sockets are up and
     * the worker caught up with every publisher it follows; latched. The
     * note says why not yet, or which publishers it gave up waiting for.
     * Both written and read on the main thread only (health runs there). */
    atomic_int ready;
    char ready_note[256];
    long long ready_timeout_ms;
    int nthreads;
    long long next_prune;
    authn_t *authn;           /* checks every request's credential */
} shared_t;

/* Which sockets a thread serves, so which commands it may answer. */
typedef enum {
    SOCK_REQ,      /* SERVICE.req: every command of the service */
    SOCK_SYNC,     /* SERVICE.sync: events.since only (the catch-up server) */
} sock_kind_t;

/* One thread's view of the service: the main thread (the broker, the bus,
 * subscriptions, timers), a request thread, the catch-up thread or the
 * background thread. Each has its own SQLite connection; only the main
 * thread publishes. */
struct service {
    const svc_def_t *def;
    config_t *cfg;
    const keys_t *keys; /* the shop's public keys and this service's pair */
    void *ctx;
    void *sock;        /* where this thread's replies go */
    db_t *db;
    bus_t *bus;        /* main: the whole bus; other threads: the outbox only */
    shared_t *sh;
    sock_kind_t kind;
    pthread_t thread;
    int index;
};

/* The index of the request thread whose routing id is frame f ("w00" to
 * "w31"), or -1 when f is not the id of one of nthreads threads. */
int service_thread_index(const proto_frame_t *f, int nthreads);

/* ---- the request pipeline (request.c) ---- */

/* One request on its way through the pipeline. The frames are received
 * straight into it (zio_msgs_t keeps pointers into itself: never copy one).
 * Made by request_new, freed by request_destroy. */
typedef struct {
    zio_msgs_t m;              /* [identity...][empty]?[CTR/2 frames] */
    size_t env;                /* envelope frames before the CTR/2 ones */
    proto_req_t req;           /* decoded */
    const proto_cmd_t *cmd;    /* authorized */
    json_t *body;              /* validated, aliases resolved (owned) */
} request_t;

/* Receive one message from sock into a new request (flags: 0 or
 * ZMQ_DONTWAIT). NULL when nothing was received (errno from libzmq). */
request_t *request_recv(void *sock, int flags);
void request_destroy(request_t **self_p);

/* The front of the pipeline: decode, authenticate, authorize (the command
 * is this service's and this socket's, the caller's role may call it, the
 * body is valid), admit (the service may turn a request away at once: the
 * order service while its payment breaker is open). Returns 1 when r was
 * answered here (an error, or a command answered at once such as health),
 * 0 when it goes on to request_back, on this thread or another. */
int request_front(service_t *svc, request_t *r);

/* Admission alone, for a request that waits for a thread: 1 when it was
 * turned away (and answered) now. */
int request_readmit(service_t *svc, request_t *r);

/* The back of the pipeline: dedupe, dispatch, reply. */
void request_back(service_t *svc, request_t *r);

/* Front and back on this thread. */
void request_handle(service_t *svc, request_t *r);

/* Answer r with an error without running it (unavailable: the service could
 * not take it). */
void request_refuse(service_t *svc, request_t *r, const char *why);

/* The request log (req_log): its schema and pruning, on the main thread. */
int request_log_init(db_t *db);
void request_log_prune(service_t *svc);

#endif
