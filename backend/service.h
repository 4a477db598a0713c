/*
 * service.h - the runtime every backend worker shares: its database, its bus,
 * the request loop on a ROUTER socket (service.c), the one request pipeline
 * with request-id deduplication and the built-in health and events.since
 * commands (request.c), signals and shutdown. A service adds only its
 * domain: a schema, command handlers and event handlers (svc_*.c).
 *
 * Threads: the main thread owns the sockets facing the world, the bus (PUB,
 * subscriptions, their handlers) and the timers; it hands each request to an
 * idle request thread (the Guide's load-balancing broker), each with its own
 * SQLite connection, and publishes what they committed when they answer. A
 * handler must therefore keep per-thread state in thread_start (sockets) and
 * guard anything shared.
 *
 * A TX_ONE command's handler runs inside one BEGIN IMMEDIATE transaction
 * together with the events it emits and the record of its request id; the
 * reply is sent only after COMMIT. So an acknowledged change survives a kill,
 * and a retried request (same id) gets the first answer again, changing
 * nothing.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include "bus.h"
#include "config.h"
#include "db.h"
#include "keys.h"
#include "proto.h"

/* The version a worker reports (health, its start line). */
#define COUNTER_VERSION "0.1.0"

typedef struct service service_t;

/* A command handler. body is validated against the command's schema. On
 * success set *result (a new reference, NULL means {}) and return 0; on
 * failure return proto_fail(err, ...). Writes happen only through db/bus of
 * the service; never call another service from inside a write handler. */
typedef int (*svc_cmd_fn)(service_t *svc, const proto_req_t *req, const json_t *body,
                          json_t **result, proto_err_t *err);

typedef struct {
    const char *name;
    svc_cmd_fn fn;
} svc_cmd_t;

typedef struct {
    const char *name;                  /* "catalog" */
    const char *schema;                /* CREATE TABLE IF NOT EXISTS ... */
    const svc_cmd_t *commands;         /* terminated by a NULL name */
    int (*start)(service_t *svc);      /* subscriptions etc.; may be NULL */
    void (*tick)(service_t *svc);      /* called every loop pass (<= 100 ms); may be NULL */
    void (*health)(service_t *svc, json_t *h); /* adds fields to the health reply; may be NULL */
    int (*thread_start)(service_t *svc);  /* per request thread (its own sockets); may be NULL.
                                        * start() sets up the main thread's own. */
    void (*thread_stop)(service_t *svc);
    /* The pipeline's admit stage (request.c), for a request that is well
     * formed and authorized, before it goes to a thread (and again while it
     * waits for one): return nonzero with err set to turn it away at once.
     * Runs where the request arrived (the main thread, or the catch-up
     * thread); must be cheap and thread-safe; may be NULL. */
    int (*fast_reply)(service_t *svc, const char *command, const char *request_id,
                      proto_err_t *err);
    /* Called about once a second on a thread of its own (with thread_start's
     * state and its own connection), for work that waits on other services.
     * May be NULL. */
    void (*background)(service_t *svc);
} svc_def_t;

/* Run a bound SELECT and answer {"items": [rows]}: 0, or internal in err. */
int service_items(sqlite3_stmt *st, json_t **result, proto_err_t *err);

/* The auth service, inside the transaction that ends a session: this
 * worker refuses the session's token from now on (the others learn it from
 * the SessionRevoked event). 0 or -1. */
int service_session_ended(service_t *svc, const char *sid, long long expires);

db_t *service_db(service_t *svc);
bus_t *service_bus(service_t *svc);
const config_t *service_config(service_t *svc);
void *service_ctx(service_t *svc);
/* The shop's public keys and this service's own pair (for calls to other
 * services: keys_client). */
const keys_t *service_keys(service_t *svc);

/* Run def until SIGTERM/SIGINT. keys (borrowed) holds def's own pair: every
 * socket facing the world is a CURVE server with it, behind a ZAP handler
 * (zap.h). Returns the process exit status. */
int service_run(const svc_def_t *def, config_t *cfg, const keys_t *keys);

/* Services of this binary (svc_*.c). */
extern const svc_def_t svc_auth;
extern const svc_def_t svc_customer;
extern const svc_def_t svc_catalog;
extern const svc_def_t svc_view;
extern const svc_def_t svc_payment;
extern const svc_def_t svc_delivery;
extern const svc_def_t svc_order;

#endif
