/*
 * bus.c - outbox, publisher and idempotent subscriptions.
 */
#include "bus.h"
#include "follow.h"
#include "log.h"
#include "zio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_MS 500
#define MAX_SUBS 8

typedef struct {
    char publisher[32];
    bus_handler_fn fn;
    void *arg;
} sub_t;

struct bus {
    char actor[PROTO_MAX_ID + 1];
    void *ctx;
    const config_t *cfg;
    db_t *db;
    char publisher[32];
    void *pub;
    long long published;      /* last sequence sent on PUB */
    long long next_hb;
    follow_t *follow;
    int nsubs;
    sub_t subs[MAX_SUBS];
    /* The catch-up server: a thread with its own read-only connection and
     * ROUTER socket, so that followers catch up even while this service's
     * loop is busy (or blocked in a call to the very follower that asks:
     * with catch-up on the main loop, order -> catalog.reserve and catalog ->
     * order events.since would wait on each other). */
    pthread_t sync_thread;
    int sync_running;
    atomic_int sync_stop;
    void *sync_sock;
    char db_path[4096];
};

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS bus_outbox("
    "  seq INTEGER PRIMARY KEY, event_id TEXT NOT NULL UNIQUE, type TEXT NOT NULL,"
    "  json TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS bus_applied("
    "  publisher TEXT PRIMARY KEY, seq INTEGER NOT NULL, applied INTEGER NOT NULL);";

static const char *SQL_LAST = "SELECT COALESCE(MAX(seq), 0) FROM bus_outbox";
static const char *SQL_INSERT = "INSERT INTO bus_outbox(seq, event_id, type, json) VALUES(?,?,?,?)";
static const char *SQL_SINCE = "SELECT seq, type, json FROM bus_outbox WHERE seq > ? ORDER BY seq LIMIT ?";
static const char *SQL_POS = "SELECT seq FROM bus_applied WHERE publisher = ?";
static const char *SQL_POS_INIT = "INSERT OR IGNORE INTO bus_applied(publisher, seq, applied) VALUES(?, 0, 0)";
static const char *SQL_POS_SET =
    "UPDATE bus_applied SET seq = ?, applied = applied + ? WHERE publisher = ? AND seq = ?";

static void *sync_main(void *arg);

bus_t *bus_new(void *ctx, const config_t *cfg, db_t *db, const char *publisher)
{
    bus_t *bus = calloc(1, sizeof *bus);
    if (!bus)
        proto_oom();
    bus->ctx = ctx;
    bus->cfg = cfg;
    bus->db = db;
    snprintf(bus->publisher, sizeof bus->publisher, "%s", publisher);
    if (db_exec(db, SCHEMA) != 0)
        goto fail;
    char ep[512];
    if (config_endpoint(cfg, publisher, "pub", ep, sizeof ep) != 0)
        goto fail;
    int hwm = 100000;
    bus->pub = zio_socket(ctx, ZMQ_PUB, 0);
    if (!bus->pub || zmq_setsockopt(bus->pub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        zio_bind(bus->pub, ep) != 0) {
        log_error("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* Events committed before this start are not sent live again: followers
     * see the heartbeat's sequence and fetch them. */
    bus->published = bus_last_seq(bus);
    if (bus->published < 0)
        goto fail;
    const char *file = sqlite3_db_filename(db_handle(db), "main");
    if (!file || snprintf(bus->db_path, sizeof bus->db_path, "%s", file) >= (int)sizeof bus->db_path ||
        config_endpoint(cfg, publisher, "sync", ep, sizeof ep) != 0)
        goto fail;
    bus->sync_sock = zio_socket(ctx, ZMQ_ROUTER, 1);
    if (!bus->sync_sock || zio_bind(bus->sync_sock, ep) != 0) {
        log_error("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        goto fail;
    }
    /* The socket moves to the thread; pthread_create is the memory barrier
     * ZeroMQ asks for when a socket changes threads. */
    if (pthread_create(&bus->sync_thread, NULL, sync_main, bus) != 0) {
        log_error("cannot start the catch-up server");
        goto fail;
    }
    bus->sync_running = 1;
    return bus;
fail:
    bus_destroy(&bus);
    return NULL;
}

bus_t *bus_outbox_new(db_t *db, const char *publisher)
{
    bus_t *bus = calloc(1, sizeof *bus);
    if (!bus)
        proto_oom();
    bus->db = db;
    snprintf(bus->publisher, sizeof bus->publisher, "%s", publisher);
    return bus;
}

void bus_destroy(bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bus_t *bus = *self_p;
    if (bus->sync_running) {
        atomic_store(&bus->sync_stop, 1);
        pthread_join(bus->sync_thread, NULL);
    } else {
        zio_close(&bus->sync_sock);
    }
    follow_destroy(&bus->follow);
    zio_close(&bus->pub);
    free(bus);
    *self_p = NULL;
}

long long bus_last_seq(bus_t *bus)
{
    sqlite3_stmt *st = db_stmt(bus->db, SQL_LAST);
    return st ? db_int(st, -1) : -1;
}

int bus_emit(bus_t *bus, const char *type, const char *agg_key, long long agg_id, json_t *fields)
{
    if (!fields)
        fields = json_object();
    long long seq = bus_last_seq(bus);
    if (seq < 0) {
        json_decref(fields);
        return -1;
    }
    seq++;
    char id[33], ts[32];
    proto_random_hex(id, 16);
    proto_utc_now(ts, sizeof ts);
    /* Envelope first, so that events print as the seed's console consumer
     * printed them: {"eventType":...,"id":...,...}. */
    json_t *ev = json_pack("{s:s, s:s, s:I, s:s, s:s}", "eventType", type, "publisher",
                           bus->publisher, "seq", (json_int_t)seq, "eventId", id, "timestamp", ts);
    if (!ev)
        proto_oom();
    if (agg_key) {
        if (json_object_set_new(ev, "id", json_integer(agg_id)) != 0 ||
            json_object_set_new(ev, agg_key, json_integer(agg_id)) != 0)
            proto_oom();
    }
    if (json_object_update_missing(ev, fields) != 0)
        proto_oom();
    char self[48];
    snprintf(self, sizeof self, "system:%s", bus->publisher);
    if (json_object_set_new(ev, "actor", json_string(bus->actor[0] ? bus->actor : self)) != 0)
        proto_oom();
    json_decref(fields);
    char *text = proto_dump(ev);
    json_decref(ev);
    sqlite3_stmt *st = db_stmt(bus->db, SQL_INSERT);
    int rc = -1;
    if (st && sqlite3_bind_int64(st, 1, seq) == SQLITE_OK &&
        sqlite3_bind_text(st, 2, id, -1, SQLITE_TRANSIENT) == SQLITE_OK &&
        sqlite3_bind_text(st, 3, type, -1, SQLITE_STATIC) == SQLITE_OK &&
        sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT) == SQLITE_OK)
        rc = db_step_done(st);
    free(text);
    return rc;
}

static void publish(bus_t *bus, const char *type, const char *json, size_t len)
{
    char topic[96];
    int tl = snprintf(topic, sizeof topic, "%s.%s", bus->publisher, type);
    proto_frame_t f[2] = {{topic, (size_t)tl}, {json, len}};
    /* PUB never blocks; a drop is repaired by the followers' catch-up. */
    if (zio_send(bus->pub, f, 2, ZMQ_DONTWAIT) != 0)
        log_warn("publish %s: %s", type, zmq_strerror(zmq_errno()));
}

void bus_set_actor(bus_t *bus, const char *actor)
{
    snprintf(bus->actor, sizeof bus->actor, "%s", actor ? actor : "");
}

void bus_flush(bus_t *bus)
{
    if (!bus->pub)
        return;
    for (;;) {
        sqlite3_stmt *st = db_stmt(bus->db, SQL_SINCE);
        if (!st || sqlite3_bind_int64(st, 1, bus->published) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, 1000) != SQLITE_OK)
            return;
        int n = 0, rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            publish(bus, (const char *)sqlite3_column_text(st, 1),
                    (const char *)sqlite3_column_text(st, 2), (size_t)sqlite3_column_bytes(st, 2));
            bus->published = sqlite3_column_int64(st, 0);
            n++;
        }
        if (rc != SQLITE_DONE)
            log_error("outbox read: %s", sqlite3_errmsg(db_handle(bus->db)));
        sqlite3_reset(st);
        if (n < 1000 || rc != SQLITE_DONE)
            return;
    }
}

void bus_tick(bus_t *bus)
{
    if (!bus->pub)
        return;
    long long now = proto_mono_ms();
    if (now >= bus->next_hb) {
        bus->next_hb = now + HEARTBEAT_MS;
        bus_flush(bus);
        char hb[128];
        int n = snprintf(hb, sizeof hb, "{\"publisher\":\"%s\",\"seq\":%lld}", bus->publisher,
                         bus->published);
        publish(bus, PROTO_HB_TYPE, hb, (size_t)n);
    }
    if (bus->follow)
        follow_tick(bus->follow, 0);
}

/* Events after `after` from the outbox of connection h (a read transaction
 * of its own). NULL on error. */
static json_t *since_on(sqlite3 *h, sqlite3_stmt *q, sqlite3_stmt *last_q, const char *publisher,
                        long long after, long long limit)
{
    if (limit <= 0 || limit > 5000)
        limit = 5000;
    if (sqlite3_exec(h, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return NULL;
    json_t *events = json_array();
    if (!events)
        proto_oom();
    int rc = SQLITE_ERROR;
    if (sqlite3_bind_int64(q, 1, after) == SQLITE_OK && sqlite3_bind_int64(q, 2, limit) == SQLITE_OK) {
        while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
            json_t *ev = json_loadb((const char *)sqlite3_column_text(q, 2),
                                    (size_t)sqlite3_column_bytes(q, 2), 0, NULL);
            if (!ev || json_array_append_new(events, ev) != 0) {
                rc = SQLITE_ERROR;
                break;
            }
        }
    }
    sqlite3_reset(q);
    long long last = -1;
    if (sqlite3_step(last_q) == SQLITE_ROW)
        last = sqlite3_column_int64(last_q, 0);
    sqlite3_reset(last_q);
    (void)sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_DONE || last < 0) {
        json_decref(events);
        return NULL;
    }
    json_t *out = json_pack("{s:s, s:I, s:o}", "publisher", publisher, "last_seq", (json_int_t)last,
                            "events", events);
    if (!out)
        proto_oom();
    return out;
}

static void *sync_main(void *arg)
{
    bus_t *bus = arg;
    sqlite3 *h = NULL;
    sqlite3_stmt *q = NULL, *last_q = NULL;
    if (sqlite3_open_v2(bus->db_path, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(h, 5000) != SQLITE_OK ||
        sqlite3_prepare_v2(h, SQL_SINCE, -1, &q, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(h, SQL_LAST, -1, &last_q, NULL) != SQLITE_OK) {
        log_error("catch-up server: %s", h ? sqlite3_errmsg(h) : "out of memory");
        goto out;
    }
    const proto_cmd_t *cmd = proto_cmd_find("events.since");
    while (!atomic_load(&bus->sync_stop)) {
        zmq_pollitem_t item = {bus->sync_sock, 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 200);
        if (n <= 0)
            continue;   /* timeout, or EINTR from a signal meant for the main thread */
        zio_msgs_t m;
        if (zio_recv(bus->sync_sock, &m, ZMQ_DONTWAIT) != 0)
            continue;
        size_t env = (m.n >= 2 && m.frame[1].size == 0) ? 2 : 1;
        proto_req_t req;
        proto_err_t err;
        json_t *out = NULL, *body = NULL;
        proto_status_t status = ERR_OK;
        if (m.total != m.n || proto_req_decode(m.frame + env, m.n - env, &req, &err) != 0) {
            if (m.total != m.n)
                memset(&req, 0, sizeof req), proto_fail(&err, ERR_BAD_REQUEST, "frames", "too many frames");
            status = err.status;
        } else if (strcmp(req.command, "events.since") != 0) {
            status = proto_fail(&err, ERR_BAD_REQUEST, "command",
                                "the catch-up socket serves events.since only");
        } else if (!(body = proto_validate(cmd, req.body, &err))) {
            status = err.status;
        } else {
            json_t *after = json_object_get(body, "after"), *limit = json_object_get(body, "limit");
            out = since_on(h, q, last_q, bus->publisher, after ? json_integer_value(after) : 0,
                           limit ? json_integer_value(limit) : 1000);
            if (!out)
                status = proto_fail(&err, ERR_INTERNAL, NULL, "cannot read the outbox");
        }
        if (status != ERR_OK)
            out = proto_err_body(&err);
        if (zio_reply(bus->sync_sock, m.frame, env, req.request_id, status, out) != 0)
            log_warn("catch-up reply: %s", zmq_strerror(zmq_errno()));
        json_decref(out);
        json_decref(body);
        proto_req_clear(&req);
        zio_msgs_close(&m);
    }
out:
    sqlite3_finalize(q);
    sqlite3_finalize(last_q);
    if (h)
        sqlite3_close(h);
    zio_close(&bus->sync_sock);
    return NULL;
}

json_t *bus_since(bus_t *bus, long long after, long long limit)
{
    if (limit <= 0 || limit > 5000)
        limit = 5000;
    if (db_begin_read(bus->db) != 0)
        return NULL;
    json_t *events = json_array();
    if (!events)
        proto_oom();
    sqlite3_stmt *st = db_stmt(bus->db, SQL_SINCE);
    int rc = SQLITE_ERROR;
    if (st && sqlite3_bind_int64(st, 1, after) == SQLITE_OK &&
        sqlite3_bind_int64(st, 2, limit) == SQLITE_OK) {
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            json_t *ev = json_loadb((const char *)sqlite3_column_text(st, 2),
                                    (size_t)sqlite3_column_bytes(st, 2), 0, NULL);
            if (!ev || json_array_append_new(events, ev) != 0) {
                rc = SQLITE_ERROR;
                break;
            }
        }
        sqlite3_reset(st);
    }
    long long last = bus_last_seq(bus);
    db_rollback(bus->db);
    if (rc != SQLITE_DONE || last < 0) {
        json_decref(events);
        return NULL;
    }
    json_t *out = json_pack("{s:s, s:I, s:o}", "publisher", bus->publisher, "last_seq",
                            (json_int_t)last, "events", events);
    if (!out)
        proto_oom();
    return out;
}

static sub_t *sub_find(bus_t *bus, const char *publisher)
{
    for (int i = 0; i < bus->nsubs; i++)
        if (strcmp(bus->subs[i].publisher, publisher) == 0)
            return &bus->subs[i];
    return NULL;
}

/* follow_apply_fn: one transaction for the whole run and the new position. */
static int apply_run(void *arg, const char *publisher, const json_t *events)
{
    bus_t *bus = arg;
    sub_t *s = sub_find(bus, publisher);
    size_t n = json_array_size(events);
    if (!s || n == 0)
        return -1;
    long long first = json_integer_value(json_object_get(json_array_get(events, 0), "seq"));
    if (db_begin(bus->db) != 0)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s->fn(s->arg, publisher, json_array_get(events, i)) != 0) {
            log_error("handler failed on %s event %lld; will retry", publisher,
                      first + (long long)i);
            goto fail;
        }
    }
    /* The position moves only from where we think it is: if another path
     * applied these already, the update matches no row and we roll back. */
    sqlite3_stmt *st = db_stmt(bus->db, SQL_POS_SET);
    if (!st || sqlite3_bind_int64(st, 1, first + (long long)n - 1) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, (long long)n) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, publisher, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, first - 1) != SQLITE_OK || db_step_done(st) != 0)
        goto fail;
    if (sqlite3_changes(db_handle(bus->db)) != 1) {
        log_error("position of %s is not %lld; run refused", publisher, first - 1);
        goto fail;
    }
    if (db_commit(bus->db) != 0)
        goto fail;
    bus_flush(bus);
    return 0;
fail:
    db_rollback(bus->db);
    return -1;
}

int bus_subscribe(bus_t *bus, const char *publisher, bus_handler_fn fn, void *arg)
{
    if (bus->nsubs == MAX_SUBS)
        return -1;
    if (!bus->follow) {
        char caller[64];
        snprintf(caller, sizeof caller, "system:%s", bus->publisher);
        bus->follow = follow_new(bus->ctx, bus->cfg, caller, apply_run, bus);
        if (!bus->follow)
            return -1;
    }
    sqlite3_stmt *st = db_stmt(bus->db, SQL_POS_INIT);
    if (!st || sqlite3_bind_text(st, 1, publisher, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        db_step_done(st) != 0)
        return -1;
    st = db_stmt(bus->db, SQL_POS);
    if (!st || sqlite3_bind_text(st, 1, publisher, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return -1;
    long long pos = db_int(st, -1);
    if (pos < 0)
        return -1;
    sub_t *s = &bus->subs[bus->nsubs++];
    snprintf(s->publisher, sizeof s->publisher, "%s", publisher);
    s->fn = fn;
    s->arg = arg;
    return follow_add(bus->follow, publisher, pos);
}

void *bus_sub_socket(bus_t *bus)
{
    return bus->follow ? follow_socket(bus->follow) : NULL;
}

void bus_on_readable(bus_t *bus)
{
    if (bus->follow && follow_on_readable(bus->follow) != 0)
        log_warn("subscription: %s", zmq_strerror(zmq_errno()));
}

static const char *SQL_POS_ALL = "SELECT seq, applied FROM bus_applied WHERE publisher = ?";

json_t *bus_health(bus_t *bus)
{
    json_t *subs = bus->follow ? follow_positions(bus->follow) : json_array();
    /* What the database says: the position and how many events were ever
     * applied. They are equal unless an event was applied twice or skipped. */
    size_t i;
    json_t *s;
    json_array_foreach(subs, i, s) {
        sqlite3_stmt *st = db_stmt(bus->db, SQL_POS_ALL);
        if (!st || sqlite3_bind_text(st, 1, json_string_value(json_object_get(s, "publisher")), -1,
                                     SQLITE_TRANSIENT) != SQLITE_OK)
            continue;
        if (sqlite3_step(st) == SQLITE_ROW) {
            json_object_set_new(s, "stored_seq", json_integer(sqlite3_column_int64(st, 0)));
            json_object_set_new(s, "applied_count", json_integer(sqlite3_column_int64(st, 1)));
        }
        sqlite3_reset(st);
    }
    json_t *h = json_pack("{s:I, s:I, s:o}", "last_seq", (json_int_t)bus_last_seq(bus),
                          "published_seq", (json_int_t)bus->published, "subscriptions", subs);
    if (!h)
        proto_oom();
    return h;
}
