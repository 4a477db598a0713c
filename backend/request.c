/*
 * request.c - the one request pipeline of every worker:
 *
 *     decode -> authenticate -> authorize -> admit | dedupe -> dispatch -> reply
 *     \______________ request_front ______________/ \____ request_back ____/
 *
 * Every socket and thread runs its requests through here: the main thread
 * (SERVICE.req; it runs the front and, without request threads, the back
 * too), the request threads (the back of what the main thread handed them),
 * and the catch-up thread (SERVICE.sync, events.since only). health and
 * events.since are built-in commands of every service, answered here.
 */
#include "log.h"
#include "service_int.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *SCHEMA_REQ =
    "CREATE TABLE IF NOT EXISTS req_log("
    "  request_id TEXT PRIMARY KEY, command TEXT NOT NULL, caller TEXT NOT NULL,"
    "  body_hash TEXT NOT NULL, reply TEXT NOT NULL, at INTEGER NOT NULL);";
static const char *SQL_REQ_GET =
    "SELECT command, caller, body_hash, reply FROM req_log WHERE request_id = ?";
static const char *SQL_REQ_PUT =
    "INSERT INTO req_log(request_id, command, caller, body_hash, reply, at) VALUES(?,?,?,?,?,?)";
static const char *SQL_REQ_PRUNE = "DELETE FROM req_log WHERE at < ?";

/* ---- the request itself ---- */

request_t *request_recv(void *sock, int flags)
{
    request_t *r = xcalloc(1, sizeof *r);
    if (zio_recv(sock, &r->m, flags) != 0) {
        free(r);
        return NULL;
    }
    /* The envelope: the identity, and the empty delimiter REQ peers add. */
    r->env = (r->m.n >= 2 && r->m.frame[1].size == 0) ? 2 : 1;
    return r;
}

void request_destroy(request_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    request_t *r = *self_p;
    json_decref(r->body);
    proto_req_clear(&r->req);
    zio_msgs_close(&r->m);
    free(r);
    *self_p = NULL;
}

/* ---- reply ---- */

static void reply(service_t *svc, request_t *r, proto_status_t status, const json_t *body)
{
    if (zio_reply(svc->sock, r->m.frame, r->env, r->req.request_id, status, body) != 0)
        log_warn("reply %s: %s", r->req.request_id[0] ? r->req.request_id : "-",
                 zmq_strerror(zmq_errno()));
}

/* The log line of a refused request: its id, command, caller (role:subject,
 * never the credential) and reason. Anyone can send bad requests, so these
 * lines are rate limited; a JSON parser's complaint quotes the body (it may
 * hold a password): only its first clause is kept. */
static void log_refused(const request_t *r, const proto_err_t *err)
{
    const char *id = r->req.request_id[0] ? r->req.request_id : "-";
    const char *cmd = r->req.command[0] ? r->req.command : "-";
    const char *who = r->req.caller_raw[0] ? r->req.caller_raw : "-";
    int len = strcmp(err->field, "body") == 0 ? (int)strcspn(err->message, ":")
                                              : (int)strlen(err->message);
    switch (err->status) {
    case ERR_INTERNAL:
        log_error("%s %s by %s: %s", id, cmd, who, err->message);
        break;
    case ERR_BAD_REQUEST:
    case ERR_UNAUTHORIZED:
    case ERR_FORBIDDEN:
        log_limited("refused %s %s by %s: %s: %.*s", id, cmd, who,
                    proto_status_name(err->status), len, err->message);
        break;
    default:
        log_debug("%s %s by %s: %s: %.*s", id, cmd, who, proto_status_name(err->status), len,
                  err->message);
    }
}

static void reply_error(service_t *svc, request_t *r, const proto_err_t *err)
{
    log_refused(r, err);
    json_t *body = proto_err_body(err);
    reply(svc, r, err->status, body);
    json_decref(body);
}

void request_refuse(service_t *svc, request_t *r, const char *why)
{
    proto_err_t err;
    proto_fail(&err, ERR_UNAVAILABLE, NULL, "%s", why);
    reply_error(svc, r, &err);
}

/* ---- built-in commands ---- */

static int builtin_health(service_t *svc, request_t *r, json_t **out, proto_err_t *err)
{
    (void)r;
    (void)err;
    shared_t *sh = svc->sh;
    json_t *h = bus_health(svc->bus);
    if (json_object_set_new(h, "service", json_string(svc->def->name)) != 0 ||
        json_object_set_new(h, "alive", json_true()) != 0 ||
        json_object_set_new(h, "ready", json_boolean(atomic_load(&sh->ready))) != 0 ||
        (sh->ready_note[0] &&
         json_object_set_new(h, "ready_note", json_string(sh->ready_note)) != 0) ||
        json_object_set_new(h, "version", json_string(COUNTER_VERSION)) != 0 ||
        json_object_set_new(h, "pid", json_integer(getpid())) != 0 ||
        json_object_set_new(h, "uptime_ms", json_integer(proto_mono_ms() - sh->started_ms)) != 0 ||
        json_object_set_new(h, "requests", json_integer(atomic_load(&sh->requests))) != 0 ||
        json_object_set_new(h, "threads", json_integer(sh->nthreads)) != 0 ||
        json_object_set_new(h, "in_progress", json_integer(atomic_load(&sh->busy))) != 0 ||
        json_object_set_new(h, "queue_depth", json_integer(atomic_load(&sh->queued))) != 0)
        proto_oom();
    if (svc->def->health)
        svc->def->health(svc, h);
    *out = h;
    return 0;
}

static int builtin_since(service_t *svc, request_t *r, json_t **out, proto_err_t *err)
{
    const json_t *after = json_object_get(r->body, "after"), *limit = json_object_get(r->body, "limit");
    *out = bus_since(svc->bus, after ? json_integer_value(after) : 0,
                     limit ? json_integer_value(limit) : 1000);
    return *out ? 0 : proto_fail(err, ERR_INTERNAL, NULL, "cannot read the outbox");
}

/* stall (a fault, faults.enabled only): answered at once; its after-reply
 * part then sleeps on the main thread, which answers nothing meanwhile. */
static int builtin_stall(service_t *svc, request_t *r, json_t **out, proto_err_t *err)
{
    (void)err;
    log_warn("stall: the main loop sleeps %lld ms (a fault asked by %s)", jint(r->body, "ms"),
             r->req.caller_raw);
    *out = proto_nonnull(json_pack("{s:s, s:I}", "service", svc->def->name, "stalled_ms",
                                   (json_int_t)jint(r->body, "ms")));
    return 0;
}

static void stall_after(request_t *r)
{
    long long ms = jint(r->body, "ms");
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

typedef int (*builtin_fn)(service_t *svc, request_t *r, json_t **out, proto_err_t *err);

static const struct {
    const char *name;
    builtin_fn fn;
    int at_once;        /* answered in the front, even while every thread is busy */
    int on_sync;        /* served on the catch-up socket too */
    void (*after)(request_t *r);   /* run after the reply (at_once only) */
} builtins[] = {
    {"health", builtin_health, 1, 0, NULL},
    {"events.since", builtin_since, 0, 1, NULL},
    {"stall", builtin_stall, 1, 0, stall_after},
};

static int builtin_index(const char *name)
{
    for (size_t i = 0; i < sizeof builtins / sizeof builtins[0]; i++)
        if (strcmp(builtins[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* ---- the front ---- */

static int decode(request_t *r, proto_err_t *err)
{
    if (r->m.total != r->m.n)
        return proto_fail(err, ERR_BAD_REQUEST, "frames", "too many frames (%zu)", r->m.total);
    if (proto_req_decode(r->m.frame + r->env, r->m.n - r->env, &r->req, err) != 0)
        return err->status;
    return 0;
}

/* Who is asking: a checked token, a service proved by its CURVE key, or
 * nobody (authn.c). Never what the request claims. */
static int authenticate(service_t *svc, request_t *r, proto_err_t *err)
{
    /* r->m.user_id: the service whose key the connection was authenticated
     * with (ZAP, zap.c), "" for a terminal. */
    if (authn_check(svc->sh->authn, &r->req, r->m.user_id, err) != 0)
        return err->status;
    return 0;
}

/* The command is one this service (and this socket) answers, the caller's
 * role may call it, it injects no fault unless the shop was started with
 * faults.enabled, and the body is valid. */
static int authorize(service_t *svc, request_t *r, proto_err_t *err)
{
    const proto_cmd_t *cmd = proto_cmd_find(r->req.command);
    if (!cmd || (strcmp(cmd->service, "*") != 0 && strcmp(cmd->service, svc->def->name) != 0))
        return proto_fail(err, ERR_BAD_REQUEST, "command", "unknown command '%s' for %s",
                          r->req.command, svc->def->name);
    int b = builtin_index(cmd->name);
    if (svc->kind == SOCK_SYNC && (b < 0 || !builtins[b].on_sync))
        return proto_fail(err, ERR_BAD_REQUEST, "command",
                          "the catch-up socket serves events.since only");
    if (!(cmd->roles & r->req.caller.role) && r->req.caller.role == ROLE_ANON)
        return proto_fail(err, ERR_UNAUTHORIZED, "credential",
                          "%s needs you to log in first: run counter login", cmd->name);
    if (!(cmd->roles & r->req.caller.role))
        return proto_fail(err, ERR_FORBIDDEN, NULL, "%s may not call %s (logged in as %s)",
                          proto_role_name(r->req.caller.role), cmd->name, r->req.caller_raw);
    if (cmd->fault && !config_bool(svc->cfg, "faults.enabled"))
        return proto_fail(err, ERR_FORBIDDEN, NULL,
                          "%s injects faults: the shop was started without faults.enabled",
                          cmd->name);
    r->body = proto_validate(cmd, r->req.body, err);
    if (!r->body)
        return err->status;
    r->cmd = cmd;
    return 0;
}

/* Load shedding: the service may turn a well-formed request away at once. */
static int admit(service_t *svc, request_t *r, proto_err_t *err)
{
    if (svc->def->fast_reply && svc->def->fast_reply(svc, r->req.command, r->req.request_id, err))
        return err->status;
    return 0;
}

static int run_builtin_at_once(service_t *svc, request_t *r, proto_err_t *err, int *answered)
{
    int b = builtin_index(r->cmd->name);
    *answered = b >= 0 && builtins[b].at_once;
    if (!*answered)
        return 0;
    json_t *out = NULL;
    if (builtins[b].fn(svc, r, &out, err) != 0)
        return err->status;
    reply(svc, r, ERR_OK, out);
    json_decref(out);
    if (builtins[b].after)
        builtins[b].after(r);
    return 0;
}

int request_front(service_t *svc, request_t *r)
{
    proto_err_t err;
    int answered = 0;
    atomic_fetch_add(&svc->sh->requests, 1);
    if (decode(r, &err) || authenticate(svc, r, &err) || authorize(svc, r, &err) ||
        run_builtin_at_once(svc, r, &err, &answered) || (!answered && admit(svc, r, &err))) {
        reply_error(svc, r, &err);
        return 1;
    }
    return answered;
}

int request_readmit(service_t *svc, request_t *r)
{
    proto_err_t err;
    if (!admit(svc, r, &err))
        return 0;
    reply_error(svc, r, &err);
    return 1;
}

/* ---- dedupe: the request log ---- */

/* A digest of the request's body (keys sorted): a retry must be the same
 * request, not merely the same id. out holds 33 bytes. */
static void body_hash(const json_t *body, char *out)
{
    char *text = proto_nonnull(json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS));
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)text, strlen(text), NULL, 0);
    sodium_bin2hex(out, 33, h, sizeof h);
    free(text);
}

/* Inside the write transaction: the answer to an earlier request with this
 * id (*again, new reference), or nothing; conflict when the id was used for
 * another request. 0 or the error. */
static int dedupe(service_t *svc, request_t *r, const char *hash, json_t **again,
                  proto_err_t *err)
{
    *again = NULL;
    json_t *row = db_first(svc->db, err, SQL_REQ_GET, "s", r->req.request_id);
    if (!row)
        return err->status == ERR_NOT_FOUND ? 0 : err->status;
    int same = strcmp(jstr(row, "command"), r->req.command) == 0 &&
               strcmp(jstr(row, "caller"), r->req.caller_raw) == 0 &&
               strcmp(jstr(row, "body_hash"), hash) == 0;
    if (same)
        *again = json_loads(jstr(row, "reply"), 0, NULL);
    json_decref(row);
    if (!same)
        return proto_fail(err, ERR_CONFLICT, "request_id",
                          "request id %s was already used for another request", r->req.request_id);
    return *again ? 0 : proto_fail(err, ERR_INTERNAL, NULL, "request log: unreadable reply");
}

static int dedupe_record(service_t *svc, request_t *r, const char *hash, const json_t *result)
{
    char *text = proto_dump(result);
    int rc = db_run(svc->db, SQL_REQ_PUT, "sssssi", r->req.request_id, r->req.command,
                    r->req.caller_raw, hash, text, proto_now_ms());
    free(text);
    return rc;
}

/* ---- dispatch ---- */

static svc_cmd_fn find_handler(const svc_def_t *def, const char *name)
{
    for (const svc_cmd_t *c = def->commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c->fn;
    return NULL;
}

/* A TX_ONE command: the change, its events and its request id commit
 * together; a retry gets the first answer and writes nothing. */
static int dispatch_one_tx(service_t *svc, request_t *r, svc_cmd_fn fn, json_t **out,
                           proto_err_t *err)
{
    if (db_begin(svc->db) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot start a transaction");
    char hash[33];
    body_hash(r->req.body, hash);
    int status = dedupe(svc, r, hash, out, err);
    if (status == 0 && !*out) {
        status = fn(svc, &r->req, r->body, out, err);
        if (status == 0 && !*out)
            *out = json_object();
        if (status == 0 && (dedupe_record(svc, r, hash, *out) != 0 || db_commit(svc->db) != 0))
            status = proto_fail(err, ERR_INTERNAL, NULL, "cannot commit");
        if (status == 0) {
            bus_flush(svc->bus);
            return 0;
        }
        json_decref(*out);
        *out = NULL;
    }
    db_rollback(svc->db);   /* a retry's answer, or a failure: nothing written */
    return status;
}

static int dispatch(service_t *svc, request_t *r, json_t **out, proto_err_t *err)
{
    int b = builtin_index(r->cmd->name);
    if (b >= 0)
        return builtins[b].fn(svc, r, out, err);
    svc_cmd_fn fn = find_handler(svc->def, r->cmd->name);
    if (!fn)
        return proto_fail(err, ERR_BAD_REQUEST, "command", "unknown command '%s' for %s",
                          r->req.command, svc->def->name);
    if (r->cmd->tx == TX_ONE)
        return dispatch_one_tx(svc, r, fn, out, err);
    /* TX_READ, and TX_SAGA, whose handler makes its own transactions. */
    return fn(svc, &r->req, r->body, out, err);
}

void request_back(service_t *svc, request_t *r)
{
    proto_err_t err;
    json_t *out = NULL;
    bus_set_actor(svc->bus, r->req.caller_raw);
    int status = dispatch(svc, r, &out, &err);
    bus_set_actor(svc->bus, NULL);
    if (status != 0) {
        json_decref(out);
        reply_error(svc, r, &err);
        return;
    }
    if (!out)
        out = json_object();
    log_debug("%s %s by %s: ok", r->req.request_id, r->req.command, r->req.caller_raw);
    reply(svc, r, ERR_OK, out);
    json_decref(out);
}

void request_handle(service_t *svc, request_t *r)
{
    if (!request_front(svc, r))
        request_back(svc, r);
}

/* ---- the request log's upkeep ---- */

int request_log_init(db_t *db)
{
    if (db_exec(db, SCHEMA_REQ) != 0)
        return -1;
    /* Shops from before the request log kept a body digest. */
    if (!db_has_column(db, "req_log", "body_hash") &&
        db_exec(db, "ALTER TABLE req_log ADD COLUMN body_hash TEXT NOT NULL DEFAULT ''") != 0)
        return -1;
    return 0;
}

void request_log_prune(service_t *svc)
{
    long long now = proto_mono_ms();
    if (now < svc->sh->next_prune)
        return;
    svc->sh->next_prune = now + 60000;
    long long keep_ms = config_int(svc->cfg, "requests.keep_ms");
    (void)db_run(svc->db, SQL_REQ_PRUNE, "i", proto_now_ms() - keep_ms);
    authn_prune(svc->sh->authn, svc->db);
}
