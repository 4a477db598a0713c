/*
 * bus.c - outbox, publisher and idempotent subscriptions.
 */
#include "bus.h"
#include "keys.h"
#include "follow.h"
#include "log.h"
#include "zio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEARTBEAT_MS 500
#define MAX_SUBS 8
/* A catch-up run longer than this is said in the log (smaller ones are routine). */
#define CATCHUP_LOGGED 100

typedef struct {
    char publisher[32];
    bus_handler_fn fn;
    void *arg;
} sub_t;

struct bus {
    char actor[PROTO_MAX_ID + 1];
    void *ctx;
    const config_t *cfg;
    const keys_t *keys;
    db_t *db;
    char publisher[32];
    void *pub;
    long long published;      /* last sequence sent on PUB */
    long long next_hb;
    follow_t *follow;
    int nsubs;
    sub_t subs[MAX_SUBS];
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

/* The PUB socket, a CURVE server when there are keys. */
static void *bind_pub(void *ctx, const keys_t *keys, const char *ep)
{
    int hwm = 100000;
    zio_curve_t cv = {0};
    if (keys)
        keys_server(keys, &cv);
    void *pub = zio_socket(ctx, ZMQ_PUB, 0);
    if (!pub || zmq_setsockopt(pub, ZMQ_SNDHWM, &hwm, sizeof hwm) != 0 ||
        (keys && zio_curve_server(pub, &cv) != 0) || zio_bind(pub, ep) != 0) {
        log_error("cannot bind %s: %s", ep, zmq_strerror(zmq_errno()));
        zio_close(&pub);
    }
    zio_curve_clear(&cv);
    return pub;
}

bus_t *bus_new(void *ctx, const config_t *cfg, db_t *db, const char *publisher,
               const keys_t *keys)
{
    bus_t *bus = xcalloc(1, sizeof *bus);
    bus->ctx = ctx;
    bus->cfg = cfg;
    bus->keys = keys;
    bus->db = db;
    snprintf(bus->publisher, sizeof bus->publisher, "%s", publisher);
    if (db_exec(db, SCHEMA) != 0)
        goto fail;
    char ep[512];
    if (config_endpoint(cfg, publisher, "pub", ep, sizeof ep) != 0)
        goto fail;
    bus->pub = bind_pub(ctx, keys, ep);
    if (!bus->pub)
        goto fail;
    /* Events committed before this start are not sent live again: followers
     * see the heartbeat's sequence and fetch them. */
    bus->published = bus_last_seq(bus);
    if (bus->published < 0)
        goto fail;
    return bus;
fail:
    bus_destroy(&bus);
    return NULL;
}

bus_t *bus_outbox_new(db_t *db, const char *publisher)
{
    bus_t *bus = xcalloc(1, sizeof *bus);
    bus->db = db;
    snprintf(bus->publisher, sizeof bus->publisher, "%s", publisher);
    return bus;
}

void bus_destroy(bus_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    bus_t *bus = *self_p;
    follow_destroy(&bus->follow);
    zio_close(&bus->pub);
    free(bus);
    *self_p = NULL;
}

long long bus_last_seq(bus_t *bus)
{
    return db_value(bus->db, -1, SQL_LAST, "");
}

/* The event: the envelope first, so that events print as the seed's
 * console consumer printed them ({"eventType":...,"id":...,...}), then
 * fields (stolen), then the actor. */
static json_t *envelope(bus_t *bus, const char *type, long long seq, const char *id,
                        const char *agg_key, long long agg_id, json_t *fields)
{
    char ts[32], self[48];
    proto_utc_now(ts, sizeof ts);
    json_t *ev = proto_nonnull(json_pack("{s:s, s:s, s:I, s:s, s:s}", "eventType", type,
                                         "publisher", bus->publisher, "seq", (json_int_t)seq,
                                         "eventId", id, "timestamp", ts));
    if (agg_key && (json_object_set_new(ev, "id", json_integer(agg_id)) != 0 ||
                    json_object_set_new(ev, agg_key, json_integer(agg_id)) != 0))
        proto_oom();
    if (json_object_update_missing(ev, fields) != 0)
        proto_oom();
    json_decref(fields);
    snprintf(self, sizeof self, "system:%s", bus->publisher);
    if (json_object_set_new(ev, "actor", json_string(bus->actor[0] ? bus->actor : self)) != 0)
        proto_oom();
    return ev;
}

int bus_emit(bus_t *bus, const char *type, const char *agg_key, long long agg_id, json_t *fields)
{
    /* NULL: no fields of its own (CustomerWithdrawn), or a failed json_pack:
     * the schema check below tells the two apart, so a failed json_pack is
     * an error, never an envelope-only event. */
    if (!fields)
        fields = proto_nonnull(json_object());
    long long seq = bus_last_seq(bus);
    if (seq < 0) {
        json_decref(fields);
        return -1;
    }
    char id[33], missing[96];
    proto_random_hex(id, 16);
    json_t *ev = envelope(bus, type, seq + 1, id, agg_key, agg_id, fields);
    if (proto_event_schema_check(bus->publisher, type, ev, missing, sizeof missing) != 0) {
        log_error("event %s refused: it lacks %s", type, missing);
        json_decref(ev);
        return -1;
    }
    char *text = proto_dump(ev);
    json_decref(ev);
    int rc = db_run(bus->db, SQL_INSERT, "isss", seq + 1, id, type, text);
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
        sqlite3_stmt *st = db_prep(bus->db, SQL_SINCE, "ii", bus->published, 1000LL);
        if (!st)
            return;
        int n = 0, rc;
        while ((rc = db_next(st)) == 1) {
            size_t len;
            const char *json = db_col_text(st, 2, &len);
            publish(bus, db_col_text(st, 1, NULL), json, len);
            bus->published = db_col_int(st, 0);
            n++;
        }
        if (n < 1000 || rc != 0)
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

json_t *bus_since(bus_t *bus, long long after, long long limit)
{
    if (limit <= 0 || limit > 5000)
        limit = 5000;
    if (db_begin_read(bus->db) != 0)
        return NULL;
    json_t *events = proto_nonnull(json_array());
    sqlite3_stmt *st = db_prep(bus->db, SQL_SINCE, "ii", after, limit);
    int rc = st ? 1 : -1;
    while (st && (rc = db_next(st)) == 1) {
        size_t len;
        const char *text = db_col_text(st, 2, &len);
        json_t *ev = json_loadb(text, len, 0, NULL);
        if (!ev || json_array_append_new(events, ev) != 0) {
            log_error("outbox: event %lld is unreadable", db_col_int(st, 0));
            db_reset(st);
            rc = -1;
            break;
        }
    }
    long long last = rc == 0 ? bus_last_seq(bus) : -1;
    db_rollback(bus->db);
    if (last < 0) {
        json_decref(events);
        return NULL;
    }
    return proto_nonnull(json_pack("{s:s, s:I, s:o}", "publisher", bus->publisher, "last_seq",
                                   (json_int_t)last, "events", events));
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
    if (db_run(bus->db, SQL_POS_SET, "iisi", first + (long long)n - 1, (long long)n, publisher,
               first - 1) != 0)
        goto fail;
    if (db_changes(bus->db) != 1) {
        log_error("position of %s is not %lld; run refused", publisher, first - 1);
        goto fail;
    }
    if (db_commit(bus->db) != 0)
        goto fail;
    if (n > CATCHUP_LOGGED && bus->follow && follow_catching_up(bus->follow))
        log_info("caught up %zu events of %s (seq %lld-%lld)", n, publisher, first,
                 first + (long long)n - 1);
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
        /* Catch-up calls name the service whose key this process holds. */
        char caller[64];
        const char *own = bus->keys ? keys_own_name(bus->keys) : "";
        snprintf(caller, sizeof caller, "system:%s", own && *own ? own : bus->publisher);
        bus->follow = follow_new(bus->ctx, bus->cfg, bus->keys, caller, apply_run, bus);
        if (!bus->follow)
            return -1;
    }
    if (db_run(bus->db, SQL_POS_INIT, "s", publisher) != 0)
        return -1;
    long long pos = db_value(bus->db, -1, SQL_POS, "s", publisher);
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

int bus_ready(bus_t *bus, long long timeout_ms, char *note, size_t cap)
{
    if (cap)
        note[0] = '\0';
    return bus->follow ? follow_ready(bus->follow, timeout_ms, note, cap) : 1;
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
        proto_err_t err;
        json_t *row = db_first(bus->db, &err, SQL_POS_ALL, "s", jstr(s, "publisher"));
        if (row && (json_object_set(s, "stored_seq", json_object_get(row, "seq")) != 0 ||
                    json_object_set(s, "applied_count", json_object_get(row, "applied")) != 0))
            proto_oom();
        json_decref(row);
    }
    json_t *h = json_pack("{s:I, s:I, s:o}", "last_seq", (json_int_t)bus_last_seq(bus),
                          "published_seq", (json_int_t)bus->published, "subscriptions", subs);
    if (!h)
        proto_oom();
    return h;
}
