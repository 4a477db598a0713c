/*
 * test_bus - the bus (backend/bus.c) on real SQLite files and real sockets:
 * the transactional outbox, live publishing with heartbeats, and idempotent
 * subscriptions fed by a real catalog worker (build/counterd catalog, run as a
 * child process in a temporary COUNTER_HOME).
 *
 * Nothing of ours is mocked. To deliver duplicated, stale and out-of-order
 * live events on purpose, one consumer reads its live feed from a PUB socket
 * of this test (its counter.conf points catalog.pub there) while its catch-up
 * calls go to the real worker's .sync socket: the test plays a faulty
 * network, not a fake publisher.
 *
 * Layout of the temporary home, /tmp/ctr-bus-XXXXXX (kept on failure,
 * removed on success):
 *   ./          COUNTER_HOME of the worker, of the tpub outbox and of the
 *               consumers c1 and c2 (one database, data/consumer.db)
 *   ./chaos/    home of consumer c3, whose catalog.pub is the test's socket
 *   ./keys/     token.key, token.pub: the token signing pair (as counter
 *               setup makes it); the test's catalog calls present a
 *               manager's token signed with it
 * The worker's log is ./log/catalog.log.
 */
#include "bus.h"
#include "client.h"
#include "config.h"
#include "db.h"
#include "keys.h"
#include "log.h"
#include "proto.h"
#include "token.h"
#include "unit.h"
#include "zio.h"
#include "service_int.h"

/* The fields a FoodRegistered event must carry (its schema). */
#define FOOD_FIELDS() json_pack("{s:s, s:i, s:i}", "name", "x", "price", 1, "stock", 1)

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char home[128];
static config_t *cfg;
static void *ctx;
static keys_t *keys;   /* the home's keys (keys_ensure), an ephemeral pair as ours */
static pid_t worker = -1;
static int time_scale = 1;      /* timeouts x3 under ASan */
static char manager_token[TOKEN_MAX + 1];   /* the catalog calls' credential */

/* ---- small helpers ------------------------------------------------------- */

static long ms(long base)
{
    return base * time_scale;
}

static db_t *open_db(const config_t *c, const char *file)
{
    char path[PATH_MAX], err[512];
    if (config_path(c, "data", file, path, sizeof path) != 0)
        return NULL;
    db_t *db = db_open(path, "NORMAL", err, sizeof err);
    if (!db)
        fprintf(stderr, "test_bus: %s\n", err);
    return db;
}

/* One integer from a query with at most one text parameter; def if no row. */
static long long q_int(db_t *db, const char *sql, const char *param, long long def)
{
    sqlite3_stmt *st;
    long long v = def;
    if (sqlite3_prepare_v2(db_handle(db), sql, -1, &st, NULL) != SQLITE_OK)
        return -999;
    if (param)
        sqlite3_bind_text(st, 1, param, -1, SQLITE_TRANSIENT);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        v = -999;
    sqlite3_finalize(st);
    return v;
}

static long long position(db_t *db, const char *publisher)
{
    return q_int(db, "SELECT seq FROM bus_applied WHERE publisher = ?", publisher, -1);
}

static long long applied_count(db_t *db, const char *publisher)
{
    return q_int(db, "SELECT applied FROM bus_applied WHERE publisher = ?", publisher, -1);
}

static int ts_shape_ok(const char *ts)
{
    static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (!ts || strlen(ts) != 24)
        return 0;
    for (size_t i = 0; i < 24; i++)
        if (pattern[i] == 'd' ? !(ts[i] >= '0' && ts[i] <= '9') : ts[i] != pattern[i])
            return 0;
    return 1;
}

static int hex32(const char *s)
{
    if (!s || strlen(s) != 32)
        return 0;
    for (; *s; s++)
        if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
            return 0;
    return 1;
}

static long long seq_of(const json_t *ev)
{
    return json_integer_value(json_object_get(ev, "seq"));
}

static const char *str_of(const json_t *o, const char *k)
{
    return json_string_value(json_object_get(o, k));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* ---- the worker process ----------------------------------------------------- */

/* Fork the worker before any ZeroMQ context exists (DESIGN section 11). Its
 * output goes to $HOME/log/catalog.log; it dies with us (PDEATHSIG). */
static pid_t spawn_worker(const char *exe, const char *service)
{
    char log[PATH_MAX];
    snprintf(log, sizeof log, "%s/log/%s.log", home, service);
    pid_t ppid = getpid();
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        close(fd);
    }
    if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0 || getppid() != ppid)
        _exit(126);
    execl(exe, exe, service, (char *)NULL);
    _exit(127);
}

static int find_counterd(char *out, size_t len)
{
    const char *env = getenv("COUNTERD");
    if (env && *env && access(env, X_OK) == 0) {
        snprintf(out, len, "%s", env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return -1;
    self[n] = '\0';
    /* $BUILD/tests/test_bus -> $BUILD/counterd */
    char *dir = dirname(dirname(self));
    snprintf(out, len, "%s/counterd", dir);
    return access(out, X_OK);
}

/* SIGTERM, then wait; returns the exit status, or -1 (killed after timeout). */
static int stop_worker(long timeout_ms)
{
    if (worker <= 0)
        return -1;
    kill(worker, SIGTERM);
    long long end = proto_mono_ms() + timeout_ms;
    int status;
    for (;;) {
        pid_t r = waitpid(worker, &status, WNOHANG);
        if (r == worker)
            break;
        if (r < 0 || proto_mono_ms() > end) {
            kill(worker, SIGKILL);
            waitpid(worker, &status, 0);
            worker = -1;
            return -1;
        }
        usleep(20000);
    }
    worker = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The home's token signing pair as `counter setup` leaves it (keys/token.key:
 * the 64-byte secret key in hex, keys/token.pub: the public key in hex), made
 * when missing, and a manager's token signed with it into manager_token.
 * 0 or -1. */
static int sign_manager_token(void)
{
    unsigned char sk[crypto_sign_SECRETKEYBYTES];
    if (keys_token_secret(keys, sk) != 0)
        return -1;
    token_claims_t c = {.version = TOKEN_VERSION, .role = ROLE_MANAGER, .subject = "test"};
    proto_random_hex(c.sid, TOKEN_SID_HEX / 2);
    c.issued = proto_now_ms() / 1000 - 10;
    c.expires = c.issued + 3600;
    int rc = token_sign(&c, sk, manager_token, sizeof manager_token);
    sodium_memzero(sk, sizeof sk);
    return rc;
}

/* ---- requests to the worker --------------------------------------------------- */

static client_t *catalog;

/* Call the catalog; returns the reply body (new reference) when ok, else NULL
 * with a failure recorded in the current case. */
static json_t *call(const char *cmd, const char *body_text, const char *rid, proto_status_t want)
{
    json_t *body = json_loads(body_text, 0, NULL);
    proto_rep_t rep;
    proto_err_t err;
    int rc = client_call(catalog, cmd, body, rid, &rep, &err);
    json_decref(body);
    if (rc != 0) {
        case_fail("%s %s: got no answer (%s), expected a reply", cmd, body_text, err.message);
        return NULL;
    }
    json_t *out = NULL;
    if (rep.status != want) {
        char *t = proto_dump(rep.body);
        case_fail("%s %s: got %s %s, expected %s", cmd, body_text, proto_status_name(rep.status),
                  t, proto_status_name(want));
        free(t);
    } else {
        out = json_incref(rep.body);
    }
    proto_rep_clear(&rep);
    return out;
}

/* Every event the worker ever published (events.since after 0). */
static json_t *worker_events(void)
{
    json_t *r = call("events.since", "{\"after\":0,\"limit\":5000}", NULL, ERR_OK);
    json_t *ev = r ? json_incref(json_object_get(r, "events")) : NULL;
    json_decref(r);
    return ev;
}

/* ---- a consumer: a bus whose handler records every applied event --------------- */

static const char *SINK_SCHEMA =
    "CREATE TABLE IF NOT EXISTS sink("
    "  n INTEGER PRIMARY KEY AUTOINCREMENT, publisher TEXT NOT NULL, seq INTEGER NOT NULL,"
    "  type TEXT NOT NULL, event_id TEXT NOT NULL);";
static const char *SQL_SINK_PUT = "INSERT INTO sink(publisher, seq, type, event_id) VALUES(?,?,?,?)";

typedef struct {
    db_t *db;
    bus_t *bus;
    long calls;            /* handler calls, applied or rolled back */
    long fails;            /* times the handler refused on purpose */
    long long fail_at;     /* refuse this seq once (0: never) */
} sink_t;

static int sink_apply(void *arg, const char *publisher, const json_t *ev)
{
    sink_t *s = arg;
    s->calls++;
    long long seq = seq_of(ev);
    if (s->fail_at && seq == s->fail_at) {
        s->fail_at = 0;
        s->fails++;
        return -1;
    }
    sqlite3_stmt *st = db_stmt(s->db, SQL_SINK_PUT);
    if (!st || sqlite3_bind_text(st, 1, publisher, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, seq) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, str_of(ev, "eventType"), -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, str_of(ev, "eventId"), -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return -1;
    return db_step_done(st);
}

static int sink_open(sink_t *s, const config_t *c, const char *dbfile, const char *name)
{
    memset(s, 0, sizeof *s);
    s->db = open_db(c, dbfile);
    if (!s->db || db_exec(s->db, SINK_SCHEMA) != 0)
        return -1;
    s->bus = bus_new(ctx, c, s->db, name, keys);
    if (!s->bus)
        return -1;
    return bus_subscribe(s->bus, "catalog", sink_apply, s);
}

static void sink_close(sink_t *s)
{
    bus_destroy(&s->bus);
    db_destroy(&s->db);
}

static long long sink_rows(sink_t *s)
{
    return q_int(s->db, "SELECT COUNT(*) FROM sink", NULL, -1);
}

/* Drive the consumer's loop as a service would, until done(s) or timeout. */
static int pump(sink_t *s, long timeout_ms, int (*done)(sink_t *, long long), long long arg)
{
    long long end = proto_mono_ms() + timeout_ms;
    for (;;) {
        if (done && done(s, arg))
            return 1;
        if (proto_mono_ms() >= end)
            return done ? 0 : 1;
        zmq_pollitem_t it = {bus_sub_socket(s->bus), 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&it, 1, 20) > 0)
            bus_on_readable(s->bus);
        bus_tick(s->bus);
    }
}

static int at_least(sink_t *s, long long seq)
{
    return position(s->db, "catalog") >= seq;
}

static int calls_at_least(sink_t *s, long long n)
{
    return s->calls >= n;
}

static int fails_at_least(sink_t *s, long long n)
{
    return s->fails >= n;
}

/* The sink holds exactly the events of truth, once each, in order; and the
 * stored position says so. */
static void check_sink(sink_t *s, const json_t *truth, const char *label)
{
    size_t n = json_array_size(truth);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db_handle(s->db),
                           "SELECT seq, type, event_id FROM sink WHERE publisher = 'catalog' ORDER BY n",
                           -1, &st, NULL) != SQLITE_OK) {
        case_fail("%s: cannot read the sink", label);
        return;
    }
    size_t i = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        long long seq = sqlite3_column_int64(st, 0);
        const char *type = (const char *)sqlite3_column_text(st, 1);
        const char *id = (const char *)sqlite3_column_text(st, 2);
        if (i >= n) {
            case_fail("%s: row %zu: got seq %lld %s, expected no more rows (%zu events)", label,
                      i + 1, seq, type, n);
            break;
        }
        const json_t *ev = json_array_get(truth, i);
        if (seq != seq_of(ev) || strcmp(type, str_of(ev, "eventType")) != 0 ||
            strcmp(id, str_of(ev, "eventId")) != 0) {
            case_fail("%s: row %zu: got seq %lld %s %s, expected seq %lld %s %s", label, i + 1,
                      seq, type, id, seq_of(ev), str_of(ev, "eventType"), str_of(ev, "eventId"));
            break;
        }
        i++;
    }
    sqlite3_finalize(st);
    if (i < n && unit_.failed == 0)
        case_fail("%s: rows got %zu, expected %zu", label, i, n);
    char what[160];
    snprintf(what, sizeof what, "%s: bus_applied.seq", label);
    CHECK_INT(what, position(s->db, "catalog"), (long long)n);
    snprintf(what, sizeof what, "%s: bus_applied.applied", label);
    CHECK_INT(what, applied_count(s->db, "catalog"), (long long)n);
}

/* Publish ev on sock as the catalog would (topic catalog.<eventType>). */
static void inject(void *sock, const json_t *ev)
{
    char topic[96], *text = proto_dump(ev);
    int tl = snprintf(topic, sizeof topic, "catalog.%s", str_of(ev, "eventType"));
    proto_frame_t f[2] = {{topic, (size_t)tl}, {text, strlen(text)}};
    (void)zio_send(sock, f, 2, ZMQ_DONTWAIT);
    free(text);
}

/* ---- outbox ----------------------------------------------------------------- */

static void test_outbox(void)
{
    db_t *db = open_db(cfg, "tpub.db");
    bus_t *bus = db ? bus_new(ctx, cfg, db, "tpub", NULL) : NULL;

    case_begin("outbox: three events in one transaction get seq 1, 2, 3");
    if (!bus) {
        case_fail("bus_new: got NULL, expected a bus");
        case_end();
        db_destroy(&db);
        return;
    }
    CHECK_INT("bus_last_seq of a new outbox", bus_last_seq(bus), 0);
    CHECK_INT("db_begin", db_begin(db), 0);
    CHECK_INT("bus_emit FoodRegistered",
              bus_emit(bus, "FoodRegistered", "foodId", 7,
                       json_pack("{s:s, s:i, s:i}", "name", "kimbap", "price", 3000, "stock", 5)), 0);
    CHECK_INT("bus_emit StockChanged",
              bus_emit(bus, "StockChanged", "foodId", 7,
                       json_pack("{s:i, s:i, s:s}", "stock", 4, "delta", -1, "reason", "order")), 0);
    CHECK_INT("bus_emit FoodSoldOut (no fields, no aggregate)",
              bus_emit(bus, "FoodSoldOut", NULL, 0,
                       json_pack("{s:i, s:s}", "foodId", 7, "name", "kimbap")), 0);
    CHECK_INT("db_commit", db_commit(db), 0);
    CHECK_INT("bus_last_seq", bus_last_seq(bus), 3);
    json_t *all = bus_since(bus, 0, 100);
    json_t *evs = json_object_get(all, "events");
    CHECK_INT("events in the outbox", json_array_size(evs), 3);
    for (size_t i = 0; i < json_array_size(evs); i++) {
        char what[32];
        snprintf(what, sizeof what, "event %zu seq", i);
        CHECK_INT(what, seq_of(json_array_get(evs, i)), (long long)i + 1);
    }
    case_end();

    case_begin("outbox: every event has the envelope and its fields");
    {
        static const char *const types[] = {"FoodRegistered", "StockChanged", "FoodSoldOut"};
        for (size_t i = 0; i < json_array_size(evs) && i < 3; i++) {
            json_t *ev = json_array_get(evs, i);
            char what[64];
            snprintf(what, sizeof what, "event %zu eventType", i + 1);
            CHECK_STR(what, str_of(ev, "eventType"), types[i]);
            snprintf(what, sizeof what, "event %zu publisher", i + 1);
            CHECK_STR(what, str_of(ev, "publisher"), "tpub");
            snprintf(what, sizeof what, "event %zu eventId is 32 hex chars", i + 1);
            CHECK(what, hex32(str_of(ev, "eventId")));
            snprintf(what, sizeof what, "event %zu timestamp shape (%s)", i + 1,
                     UNIT_S(str_of(ev, "timestamp")));
            CHECK(what, ts_shape_ok(str_of(ev, "timestamp")));
            snprintf(what, sizeof what, "event %zu proto_event_check", i + 1);
            CHECK_INT(what, proto_event_check(ev), 0);
        }
        json_t *e1 = json_array_get(evs, 0), *e2 = json_array_get(evs, 1), *e3 = json_array_get(evs, 2);
        CHECK_INT("event 1 id", json_integer_value(json_object_get(e1, "id")), 7);
        CHECK_INT("event 1 foodId", json_integer_value(json_object_get(e1, "foodId")), 7);
        CHECK_STR("event 1 name", str_of(e1, "name"), "kimbap");
        CHECK_INT("event 1 price", json_integer_value(json_object_get(e1, "price")), 3000);
        CHECK_INT("event 2 delta", json_integer_value(json_object_get(e2, "delta")), -1);
        CHECK("event 3 without aggregate has no id", json_object_get(e3, "id") == NULL);
        CHECK("event ids differ",
              e1 && e2 && strcmp(UNIT_S(str_of(e1, "eventId")), UNIT_S(str_of(e2, "eventId"))) != 0);
        /* The envelope leads, so events print like the seed's console consumer. */
        const char *first = json_object_iter_key(json_object_iter(e1));
        CHECK_STR("first key of an event", first, "eventType");
    }
    case_end();

    case_begin("outbox: bus_since(after=1) returns seq 2, 3 and last_seq 3");
    {
        json_t *r = bus_since(bus, 1, 0);
        json_t *e = json_object_get(r, "events");
        CHECK_STR("publisher", str_of(r, "publisher"), "tpub");
        CHECK_INT("last_seq", json_integer_value(json_object_get(r, "last_seq")), 3);
        CHECK_INT("events", json_array_size(e), 2);
        for (size_t i = 0; i < json_array_size(e); i++) {
            char what[64];
            snprintf(what, sizeof what, "events[%zu].seq", i);
            CHECK_INT(what, seq_of(json_array_get(e, i)), (long long)i + 2);
        }
        json_decref(r);
        r = bus_since(bus, 1, 1);
        CHECK_INT("limit 1: events", json_array_size(json_object_get(r, "events")), 1);
        CHECK_INT("limit 1: seq", seq_of(json_array_get(json_object_get(r, "events"), 0)), 2);
        CHECK_INT("limit 1: last_seq", json_integer_value(json_object_get(r, "last_seq")), 3);
        json_decref(r);
        r = bus_since(bus, 3, 10);
        CHECK_INT("after=last: events", json_array_size(json_object_get(r, "events")), 0);
        CHECK_INT("after=last: last_seq", json_integer_value(json_object_get(r, "last_seq")), 3);
        json_decref(r);
        r = bus_since(bus, 1000, 10);
        CHECK_INT("after beyond last: events", json_array_size(json_object_get(r, "events")), 0);
        json_decref(r);
    }
    case_end();

    case_begin("outbox: fields cannot overwrite the envelope");
    {
        CHECK_INT("db_begin", db_begin(db), 0);
        CHECK_INT("bus_emit with envelope keys in fields",
                  bus_emit(bus, "FoodUpdated", "foodId", 8,
                           json_pack("{s:i, s:s, s:s, s:s, s:i, s:i, s:s, s:i, s:i}", "seq", 99,
                                     "publisher", "evil", "eventType", "Paid", "eventId", "x",
                                     "id", 5, "foodId", 6, "name", "x", "price", 1, "stock", 1)), 0);
        CHECK_INT("db_commit", db_commit(db), 0);
        json_t *r = bus_since(bus, 3, 10);
        json_t *ev = json_array_get(json_object_get(r, "events"), 0);
        CHECK_INT("seq", seq_of(ev), 4);
        CHECK_STR("publisher", str_of(ev, "publisher"), "tpub");
        CHECK_STR("eventType", str_of(ev, "eventType"), "FoodUpdated");
        CHECK("eventId", hex32(str_of(ev, "eventId")));
        CHECK_INT("id", json_integer_value(json_object_get(ev, "id")), 8);
        CHECK_INT("foodId", json_integer_value(json_object_get(ev, "foodId")), 8);
        json_decref(r);
    }
    case_end();

    json_decref(all);

    case_begin("outbox: bus_emit refuses an event its schema does not allow, and writes nothing");
    {
        long long before = bus_last_seq(bus);
        CHECK_INT("db_begin", db_begin(db), 0);
        CHECK_INT("FoodRegistered without price and stock",
                  bus_emit(bus, "FoodRegistered", "foodId", 30, json_pack("{s:s}", "name", "x")), -1);
        /* What a failed json_pack hands over: NULL, never an envelope-only event. */
        CHECK_INT("FoodSoldOut with NULL fields (a failed json_pack)",
                  bus_emit(bus, "FoodSoldOut", "foodId", 30, NULL), -1);
        CHECK_INT("an unknown event type", bus_emit(bus, "FoodStolen", "foodId", 30, json_object()), -1);
        CHECK_INT("CustomerWithdrawn needs nothing but its aggregate",
                  bus_emit(bus, "CustomerWithdrawn", "customerId", 3, NULL), 0);
        db_rollback(db);
        CHECK_INT("bus_last_seq unchanged", bus_last_seq(bus), before);
        char missing[64];
        json_t *ev = json_pack("{s:i, s:s, s:i}", "foodId", 1, "name", "x", "price", 2);
        CHECK_INT("proto_event_schema_check without stock",
                  proto_event_schema_check("catalog", "FoodUpdated", ev, missing, sizeof missing), -1);
        CHECK_STR("the missing member is named", missing, "stock");
        json_decref(ev);
        ev = json_pack("{s:i, s:i, s:i}", "orderId", 1, "customerId", 2, "amount", 3);
        CHECK_INT("catalog publishing payment's Paid",
                  proto_event_schema_check("catalog", "Paid", ev, missing, sizeof missing), -1);
        CHECK_INT("payment publishing its Paid",
                  proto_event_schema_check("payment", "Paid", ev, missing, sizeof missing), 0);
        json_decref(ev);
    }
    case_end();

    case_begin("outbox: a rolled-back transaction leaves no event and no gap");
    {
        CHECK_INT("db_begin", db_begin(db), 0);
        CHECK_INT("bus_emit 1 (rolled back)", bus_emit(bus, "FoodDeleted", "foodId", 9, json_pack("{s:s}", "name", "x")), 0);
        CHECK_INT("bus_emit 2 (rolled back)", bus_emit(bus, "FoodDeleted", "foodId", 10, json_pack("{s:s}", "name", "x")), 0);
        db_rollback(db);
        CHECK_INT("bus_last_seq after rollback", bus_last_seq(bus), 4);
        CHECK_INT("rows in bus_outbox", q_int(db, "SELECT COUNT(*) FROM bus_outbox", NULL, -1), 4);
        CHECK_INT("db_begin", db_begin(db), 0);
        CHECK_INT("bus_emit after rollback", bus_emit(bus, "FoodDeleted", "foodId", 11, json_pack("{s:s}", "name", "x")), 0);
        CHECK_INT("db_commit", db_commit(db), 0);
        json_t *r = bus_since(bus, 0, 100);
        json_t *e = json_object_get(r, "events");
        CHECK_INT("events", json_array_size(e), 5);
        for (size_t i = 0; i < json_array_size(e); i++) {
            char what[64];
            snprintf(what, sizeof what, "events[%zu].seq (gap-free)", i);
            CHECK_INT(what, seq_of(json_array_get(e, i)), (long long)i + 1);
        }
        CHECK_INT("the event after the rollback is about food 11",
                  json_integer_value(json_object_get(json_array_get(e, 4), "foodId")), 11);
        json_decref(r);
    }
    case_end();

    case_begin("outbox: a change and its event commit or roll back together");
    {
        CHECK_INT("create table", db_exec(db, "CREATE TABLE things(id INTEGER PRIMARY KEY)"), 0);
        CHECK_INT("db_begin", db_begin(db), 0);
        CHECK_INT("insert", db_exec(db, "INSERT INTO things(id) VALUES(1)"), 0);
        CHECK_INT("bus_emit", bus_emit(bus, "FoodRegistered", "foodId", 1, FOOD_FIELDS()), 0);
        db_rollback(db);
        CHECK_INT("rolled back: things", q_int(db, "SELECT COUNT(*) FROM things", NULL, -1), 0);
        CHECK_INT("rolled back: last seq", bus_last_seq(bus), 5);
        CHECK_INT("db_begin", db_begin(db), 0);
        CHECK_INT("insert", db_exec(db, "INSERT INTO things(id) VALUES(2)"), 0);
        CHECK_INT("bus_emit", bus_emit(bus, "FoodRegistered", "foodId", 2, FOOD_FIELDS()), 0);
        CHECK_INT("db_commit", db_commit(db), 0);
        CHECK_INT("committed: things", q_int(db, "SELECT COUNT(*) FROM things", NULL, -1), 1);
        CHECK_INT("committed: last seq", bus_last_seq(bus), 6);
        /* A failing statement inside the transaction: the caller rolls back,
         * and the event goes with it. */
        CHECK_INT("db_begin", db_begin(db), 0);
        CHECK_INT("bus_emit", bus_emit(bus, "FoodRegistered", "foodId", 3, FOOD_FIELDS()), 0);
        CHECK("duplicate insert fails", db_exec(db, "INSERT INTO things(id) VALUES(2)") != 0);
        db_rollback(db);
        CHECK_INT("after a failed change: last seq", bus_last_seq(bus), 6);
    }
    case_end();

    case_begin("outbox: the sequence survives closing and reopening the database");
    {
        bus_destroy(&bus);
        db_destroy(&db);
        db = open_db(cfg, "tpub.db");
        bus = db ? bus_new(ctx, cfg, db, "tpub", NULL) : NULL;
        if (!bus) {
            case_fail("bus_new after reopen: got NULL, expected a bus");
        } else {
            CHECK_INT("bus_last_seq after reopen", bus_last_seq(bus), 6);
            CHECK_INT("db_begin", db_begin(db), 0);
            CHECK_INT("bus_emit", bus_emit(bus, "FoodDeleted", "foodId", 2, json_pack("{s:s}", "name", "x")), 0);
            CHECK_INT("db_commit", db_commit(db), 0);
            CHECK_INT("next seq", bus_last_seq(bus), 7);
            json_t *h = bus_health(bus);
            CHECK_INT("health last_seq", json_integer_value(json_object_get(h, "last_seq")), 7);
            /* Committed before this bus started and after: nothing sent yet. */
            CHECK_INT("health published_seq (events before the start count as published)",
                      json_integer_value(json_object_get(h, "published_seq")), 6);
            json_decref(h);
        }
    }
    case_end();

    case_begin("publisher: heartbeats carry the published seq; bus_flush sends committed events in order");
    if (bus) {
        char ep[512];
        config_endpoint(cfg, "tpub", "pub", ep, sizeof ep);
        void *sub = zio_socket(ctx, ZMQ_SUB, 1);
        CHECK("SUB socket", sub != NULL);
        CHECK_INT("connect", sub ? zmq_connect(sub, ep) : -1, 0);
        CHECK_INT("subscribe", sub ? zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0) : -1, 0);
        /* Wait for a heartbeat: it proves the subscription is up (slow joiner). */
        long long hb_seq = -1;
        long long end = proto_mono_ms() + ms(5000);
        while (sub && hb_seq < 0 && proto_mono_ms() < end) {
            bus_tick(bus);
            zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, 50) <= 0)
                continue;
            zio_msgs_t m;
            if (zio_recv(sub, &m, ZMQ_DONTWAIT) != 0)
                continue;
            if (m.n == 2 && m.frame[0].size == strlen("tpub.$hb") &&
                memcmp(m.frame[0].data, "tpub.$hb", m.frame[0].size) == 0) {
                json_t *hb = json_loadb(m.frame[1].data, m.frame[1].size, 0, NULL);
                hb_seq = seq_of(hb);
                CHECK_STR("heartbeat publisher", str_of(hb, "publisher"), "tpub");
                json_decref(hb);
            }
            zio_msgs_close(&m);
        }
        CHECK_INT("heartbeat seq (bus_tick flushed event 7 first)", hb_seq, 7);
        /* A rolled-back event, then two committed ones. */
        db_begin(db);
        bus_emit(bus, "FoodDeleted", "foodId", 99, json_pack("{s:s}", "name", "x"));
        db_rollback(db);
        db_begin(db);
        bus_emit(bus, "FoodRegistered", "foodId", 20,
                 json_pack("{s:s, s:i, s:i}", "name", "toast", "price", 1, "stock", 3));
        bus_emit(bus, "StockChanged", "foodId", 20,
                 json_pack("{s:i, s:i, s:s}", "stock", 3, "delta", 0, "reason", "manager"));
        CHECK_INT("db_commit", db_commit(db), 0);
        bus_flush(bus);
        static const char *const want_topic[] = {"tpub.FoodRegistered", "tpub.StockChanged"};
        int got = 0;
        end = proto_mono_ms() + ms(2000);
        while (sub && proto_mono_ms() < end) {
            zmq_pollitem_t it = {sub, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&it, 1, got >= 2 ? 300 : 50) <= 0) {
                if (got >= 2)
                    break;
                continue;
            }
            zio_msgs_t m;
            if (zio_recv(sub, &m, ZMQ_DONTWAIT) != 0)
                continue;
            char topic[64];
            snprintf(topic, sizeof topic, "%.*s", (int)m.frame[0].size, (const char *)m.frame[0].data);
            if (strcmp(topic, "tpub.$hb") != 0) {
                json_t *ev = m.n == 2 ? json_loadb(m.frame[1].data, m.frame[1].size, 0, NULL) : NULL;
                if (got < 2) {
                    char what[64];
                    snprintf(what, sizeof what, "live message %d topic", got + 1);
                    CHECK_STR(what, topic, want_topic[got]);
                    snprintf(what, sizeof what, "live message %d seq", got + 1);
                    CHECK_INT(what, seq_of(ev), 8 + got);
                } else {
                    case_fail("live message %d: got %s seq %lld, expected nothing more", got + 1,
                              topic, seq_of(ev));
                }
                json_decref(ev);
                got++;
            }
            zio_msgs_close(&m);
        }
        CHECK_INT("live events received", got, 2);
        json_t *h = bus_health(bus);
        CHECK_INT("health published_seq", json_integer_value(json_object_get(h, "published_seq")), 9);
        json_decref(h);
        zio_close(&sub);
    }
    case_end();

    bus_destroy(&bus);
    db_destroy(&db);
}

/* ---- readiness without an answer -------------------------------------------- */

static int ignore_event(void *arg, const char *publisher, const json_t *ev)
{
    (void)arg;
    (void)publisher;
    (void)ev;
    return 0;
}

/* A publisher that never answers (no "order" worker runs in this test) keeps
 * the follower unready for the timeout, then counts as caught up, and the
 * note says which. */
static void test_ready_silent(void)
{
    case_begin("readiness: a silent publisher counts as caught up after ready_timeout_ms, with a note");
    db_t *d = open_db(cfg, "tsilent.db");
    bus_t *b = d ? bus_new(ctx, cfg, d, "tsilent", keys) : NULL;
    int sub = b && bus_subscribe(b, "order", ignore_event, NULL) == 0;
    CHECK("a bus that follows order", sub);
    if (sub) {
        char note[256];
        CHECK_INT("ready at once", bus_ready(b, 1000, note, sizeof note), 0);
        CHECK_STR("note while waiting", note, "waiting for order (up to 1000 ms)");
        struct timespec ts = {1, 100 * 1000000L};
        nanosleep(&ts, NULL);
        bus_tick(b);
        CHECK_INT("ready after the timeout", bus_ready(b, 1000, note, sizeof note), 1);
        CHECK_STR("note after the timeout", note,
                  "no answer from order within 1000 ms: counted as caught up");
        json_t *h = bus_health(b);
        json_t *s0 = json_array_get(json_object_get(h, "subscriptions"), 0);
        CHECK("health: the subscription says ready", json_is_true(json_object_get(s0, "ready")));
        json_decref(h);
    }
    case_end();
    bus_destroy(&b);
    db_destroy(&d);
}

/* ---- subscriptions fed by the real catalog worker ------------------------------ */

static int worker_ready(void)
{
    long long end = proto_mono_ms() + ms(20000);
    client_set_timeout(catalog, 300, 1);
    while (proto_mono_ms() < end) {
        proto_rep_t rep;
        proto_err_t err;
        if (client_call(catalog, "health", NULL, NULL, &rep, &err) == 0) {
            int ok = rep.status == ERR_OK;
            proto_rep_clear(&rep);
            if (ok) {
                client_set_timeout(catalog, ms(3000), 2);
                return 1;
            }
        }
        int status;
        if (waitpid(worker, &status, WNOHANG) == worker) {
            worker = -1;
            return 0;
        }
    }
    return 0;
}

/* Foods whose changes make every kind of catalog event. */
static void make_catalog_events(void)
{
    json_t *r;
    r = call("catalog.add", "{\"name\":\"kimbap\",\"price\":3000,\"stock\":5}", NULL, ERR_OK);
    json_decref(r);
    r = call("catalog.add", "{\"name\":\"ramen\",\"price\":4000,\"stock\":0}", NULL, ERR_OK);
    json_decref(r);
    r = call("catalog.update", "{\"id\":1,\"price\":3500,\"stock\":2}", NULL, ERR_OK);
    json_decref(r);
    r = call("catalog.delete", "{\"id\":2}", NULL, ERR_OK);
    json_decref(r);
    r = call("catalog.add", "{\"name\":\"\xed\x86\xa0\xec\x8a\xa4\xed\x8a\xb8\",\"price\":2000,\"stock\":10}",
             NULL, ERR_OK);
    json_decref(r);
    r = call("catalog.update", "{\"id\":3,\"stock\":0}", NULL, ERR_OK);
    json_decref(r);
}

static void test_subscriptions(const char *counterd)
{
    char ep[512], sync_ep[512];
    config_endpoint(cfg, "catalog", "req", ep, sizeof ep);
    config_endpoint(cfg, "catalog", "sync", sync_ep, sizeof sync_ep);
    zio_curve_t cv;
    catalog = keys_client(keys, "catalog", &cv) == 0 ? client_new(ctx, ep, &cv) : NULL;
    char cred[TOKEN_MAX + 16];
    snprintf(cred, sizeof cred, "token:%s", manager_token);
    if (catalog)
        client_set_caller(catalog, cred);

    case_begin("worker: counterd catalog answers health");
    int up = catalog && worker > 0 && worker_ready();
    if (!up)
        case_fail("health from %s catalog: got no answer, expected ok (log: %s/log/catalog.log)",
                  counterd, home);
    case_end();
    if (!up) {
        client_destroy(&catalog);
        return;
    }

    case_begin("worker: catalog changes are recorded as gap-free events with full envelopes");
    make_catalog_events();
    json_t *truth = worker_events();
    CHECK("at least 10 events", json_array_size(truth) >= 10);
    for (size_t i = 0; i < json_array_size(truth); i++) {
        json_t *ev = json_array_get(truth, i);
        char what[64];
        snprintf(what, sizeof what, "event %zu seq", i + 1);
        CHECK_INT(what, seq_of(ev), (long long)i + 1);
        snprintf(what, sizeof what, "event %zu publisher", i + 1);
        CHECK_STR(what, str_of(ev, "publisher"), "catalog");
        snprintf(what, sizeof what, "event %zu proto_event_check", i + 1);
        CHECK_INT(what, proto_event_check(ev), 0);
        snprintf(what, sizeof what, "event %zu foodId = id", i + 1);
        CHECK(what, json_integer_value(json_object_get(ev, "foodId")) ==
                        json_integer_value(json_object_get(ev, "id")) &&
                    json_integer_value(json_object_get(ev, "id")) > 0);
    }
    case_end();

    case_begin("worker: a retried request id is applied once; reused for another command -> conflict");
    {
        json_t *a = call("catalog.add", "{\"name\":\"bagel\",\"price\":1500,\"stock\":4}", "dup-1", ERR_OK);
        json_t *b = call("catalog.add", "{\"name\":\"bagel\",\"price\":1500,\"stock\":4}", "dup-1", ERR_OK);
        json_t *c = call("catalog.delete", "{\"id\":1}", "dup-1", ERR_CONFLICT);
        json_t *after = worker_events();
        CHECK("same answer twice", a && b && json_equal(a, b));
        CHECK_INT("new events (one FoodRegistered)",
                  (long long)json_array_size(after) - (long long)json_array_size(truth), 1);
        CHECK_STR("the new event", str_of(json_array_get(after, json_array_size(truth)), "eventType"),
                  "FoodRegistered");
        json_decref(a);
        json_decref(b);
        json_decref(c);
        json_decref(truth);
        truth = after;
    }
    case_end();


    /* c1 and c2 share one database; both start at position 0. */
    sink_t c1, c2;
    int ok1 = sink_open(&c1, cfg, "consumer.db", "tcons1") == 0;
    int ok2 = sink_open(&c2, cfg, "consumer.db", "tcons2") == 0;
    long long e = (long long)json_array_size(truth);

    case_begin("subscription: catch-up applies every worker event exactly once, in order (%lld events)", e);
    if (!ok1 || !ok2 || e < 10) {
        case_fail("setup: consumers %d %d, events %lld: expected 1 1 and >= 10", ok1, ok2, e);
    } else {
        CHECK("caught up in time", pump(&c1, ms(10000), at_least, e));
        pump(&c1, 300, NULL, 0);   /* anything late would show now */
        check_sink(&c1, truth, "c1");
        CHECK_INT("handler calls (no run was retried)", c1.calls, e);
    }
    case_end();

    case_begin("readiness: a consumer that caught up with the worker is ready, with no note");
    if (ok1) {
        char note[256];
        CHECK_INT("bus_ready", bus_ready(c1.bus, 600000, note, sizeof note), 1);
        CHECK_STR("note", note, "");
    }
    case_end();

    case_begin("subscription: a new event after the catch-up (live, or repaired by catch-up) is applied once");
    if (ok1) {
        json_t *r = call("catalog.add", "{\"name\":\"toast\",\"price\":2500,\"stock\":3}", NULL, ERR_OK);
        json_decref(r);
        json_decref(truth);
        truth = worker_events();
        e = (long long)json_array_size(truth);
        CHECK("applied in time", pump(&c1, ms(5000), at_least, e));
        pump(&c1, 300, NULL, 0);
        check_sink(&c1, truth, "c1");
    }
    case_end();

    case_begin("subscription: re-delivering applied events (second bus at position 0, same db) changes nothing");
    if (ok1 && ok2) {
        /* c2 still believes it is at 0: the worker's heartbeat makes it fetch
         * and apply 1..e again; the stored position must refuse the run. */
        long long rows = sink_rows(&c1);
        CHECK("the handler ran again (re-delivery happened)", pump(&c2, ms(5000), calls_at_least, 1));
        pump(&c2, 1500, NULL, 0);  /* and once more after the retry delay */
        CHECK("handler calls on c2 > 0", c2.calls > 0);
        CHECK_INT("rows after re-delivery", sink_rows(&c1), rows);
        check_sink(&c1, truth, "after re-delivery");
    }
    case_end();
    sink_close(&c2);
    sink_close(&c1);

    /* ---- c3: live feed from the test's PUB, catch-up from the worker ---- */
    char home2[256], conf[512], inject_ep[512], err[512];
    snprintf(home2, sizeof home2, "%s/chaos", home);
    snprintf(inject_ep, sizeof inject_ep, "ipc://%s/run/inject.pub", home2);
    mkdir(home2, 0700);
    snprintf(conf, sizeof conf, "%s/counter.conf", home2);
    FILE *fc = fopen(conf, "w");
    if (fc) {
        fprintf(fc, "# the live feed comes from the test, catch-up from the worker\n");
        fprintf(fc, "catalog.pub = %s\ncatalog.req = %s\ncatalog.sync = %s\n", inject_ep, ep,
                sync_ep);
        fclose(fc);
    }
    config_t *cfg2 = config_load(home2, 1, err, sizeof err);
    /* c3 takes the test's PUB for catalog's: a CURVE server with its pair. */
    void *inj = zio_socket(ctx, ZMQ_PUB, 0);
    int hwm = 100000;
    keys_t *as_catalog = keys_load(home, err, sizeof err);
    zio_curve_t cat = {0};
    if (as_catalog && keys_load_own(as_catalog, "catalog", err, sizeof err) == 0)
        keys_server(as_catalog, &cat);
    keys_destroy(&as_catalog);
    int okp = inj && cat.sec[0] && zmq_setsockopt(inj, ZMQ_SNDHWM, &hwm, sizeof hwm) == 0 &&
              zio_curve_server(inj, &cat) == 0 && zio_bind(inj, inject_ep) == 0;
    sink_t c3 = {0};
    int ok3 = cfg2 && okp && sink_open(&c3, cfg2, "c3.db", "tcons3") == 0;

    case_begin("live duplicates: the first event applied once though sent again and again");
    if (!ok3) {
        case_fail("setup: config %p, inject PUB %d, consumer %d: expected all set", (void *)cfg2, okp, ok3);
    } else {
        json_t *one = json_array_get(truth, 0);
        long long end = proto_mono_ms() + ms(5000);
        /* Resend until it lands (the slow joiner drops the first ones). */
        while (!at_least(&c3, 1) && proto_mono_ms() < end) {
            inject(inj, one);
            pump(&c3, 50, NULL, 0);
        }
        CHECK("event 1 applied", at_least(&c3, 1));
        for (int i = 0; i < 3; i++)
            inject(inj, one);
        pump(&c3, 300, NULL, 0);
        json_t *want = json_array();
        json_array_append(want, one);
        check_sink(&c3, want, "c3 after 4+ copies of event 1");
        json_decref(want);
    }
    case_end();

    case_begin("live duplicates: 2, 2, 1, 2 applies event 2 once");
    if (ok3) {
        json_t *one = json_array_get(truth, 0), *two = json_array_get(truth, 1);
        inject(inj, two);
        inject(inj, two);
        inject(inj, one);
        inject(inj, two);
        CHECK("event 2 applied", pump(&c3, ms(3000), at_least, 2));
        pump(&c3, 300, NULL, 0);
        json_t *want = json_array();
        json_array_append(want, one);
        json_array_append(want, two);
        check_sink(&c3, want, "c3");
        json_decref(want);
    }
    case_end();

    case_begin("gap: a live event past a gap makes the consumer fetch the rest from the worker, in order");
    if (ok3) {
        inject(inj, json_array_get(truth, 3));   /* seq 4; 3 never comes live */
        CHECK("caught up in time", pump(&c3, ms(5000), at_least, e));
        pump(&c3, 300, NULL, 0);
        check_sink(&c3, truth, "c3");
    }
    case_end();

    case_begin("live duplicates: every old event sent again (and reversed) changes nothing");
    if (ok3) {
        for (size_t i = 0; i < json_array_size(truth); i++)
            inject(inj, json_array_get(truth, i));
        for (size_t i = json_array_size(truth); i > 0; i--)
            inject(inj, json_array_get(truth, i - 1));
        long calls = c3.calls;
        pump(&c3, 500, NULL, 0);
        check_sink(&c3, truth, "c3");
        CHECK_INT("handler calls", c3.calls, calls);
    }
    case_end();

    case_begin("failing handler: the whole run and its position roll back; the run is offered again and applied once");
    if (ok3) {
        /* Two new events (registered with stock 0: FoodRegistered, FoodSoldOut);
         * the handler refuses the second once, after applying the first. */
        json_t *r = call("catalog.add", "{\"name\":\"soup\",\"price\":5000,\"stock\":0}", NULL, ERR_OK);
        json_decref(r);
        json_t *truth2 = worker_events();
        long long e2 = (long long)json_array_size(truth2);
        CHECK_INT("new events", e2 - e, 2);
        c3.fail_at = e2;
        char hb[128];
        int hl = snprintf(hb, sizeof hb, "{\"publisher\":\"catalog\",\"seq\":%lld}", e2);
        proto_frame_t f[2] = {{"catalog.$hb", strlen("catalog.$hb")}, {hb, (size_t)hl}};
        zio_send(inj, f, 2, ZMQ_DONTWAIT);
        CHECK("the handler refused once", pump(&c3, ms(5000), fails_at_least, 1));
        /* Right after the refusal (the retry waits a second): nothing moved. */
        check_sink(&c3, truth, "c3 right after the refused run");
        CHECK("applied after the retry", pump(&c3, ms(5000), at_least, e2));
        pump(&c3, 300, NULL, 0);
        check_sink(&c3, truth2, "c3 after the retry");
        CHECK_INT("refusals", c3.fails, 1);
        json_decref(truth2);
    }
    case_end();

    sink_close(&c3);
    zio_close(&inj);
    config_destroy(&cfg2);
    json_decref(truth);
    client_destroy(&catalog);
}

/* The broker reads a request thread's id from a frame that is not
 * NUL-terminated: the bytes after it must not count (they did: atoi). */
static void test_thread_index(void)
{
    case_begin("service_thread_index: \"w03\" is thread 3 whatever follows it in memory");
    char buf[8] = "w0377";   /* the frame is the first 3 bytes */
    proto_frame_t f = {buf, 3};
    CHECK_INT("w03 followed by digits", service_thread_index(&f, 8), 3);
    memcpy(buf, "w07", 3);
    CHECK_INT("w07 of 8 threads", service_thread_index(&f, 8), 7);
    CHECK_INT("w07 of 4 threads is no thread", service_thread_index(&f, 4), -1);
    memcpy(buf, "x01", 3);
    CHECK_INT("not a thread id", service_thread_index(&f, 8), -1);
    proto_frame_t longer = {"w012", 4};
    CHECK_INT("four bytes", service_thread_index(&longer, 32), -1);
    proto_frame_t empty = {"", 0};
    CHECK_INT("empty", service_thread_index(&empty, 8), -1);
    case_end();
}

int main(void)
{
    log_init("test_bus");
    test_thread_index();
    if (sodium_init() < 0) {
        printf("FAIL - sodium_init: got -1, expected 0\n");
        return 1;
    }
#if defined(__SANITIZE_ADDRESS__)
    time_scale = 3;
#endif
    char tmpl[] = "/tmp/ctr-bus-XXXXXX";
    if (!mkdtemp(tmpl)) {
        printf("FAIL - mkdtemp: got %s, expected a directory\n", strerror(errno));
        return 1;
    }
    snprintf(home, sizeof home, "%s", tmpl);
    setenv("COUNTER_HOME", home, 1);
    char err[512];
    cfg = config_load(NULL, 1, err, sizeof err);
    if (!cfg) {
        printf("FAIL - config_load: got \"%s\", expected a config\n", err);
        return 1;
    }

    /* The test's own subscribers follow the catalog worker as a service
     * would: with a service's key pair (the view's). */
    if (keys_ensure(home, err, sizeof err) != 0 || !(keys = keys_load(home, err, sizeof err)) ||
        keys_load_own(keys, "view", err, sizeof err) != 0) {
        printf("FAIL - keys: got \"%s\", expected the home's keys\n", err);
        return 1;
    }
    if (sign_manager_token() != 0) {
        printf("FAIL - token keys in %s/keys: got none, expected a manager token\n", home);
        return 1;
    }
    char counterd[PATH_MAX];
    int have_worker = find_counterd(counterd, sizeof counterd) == 0;
    if (have_worker)
        worker = spawn_worker(counterd, "catalog");

    ctx = zmq_ctx_new();
    if (!ctx) {
        printf("FAIL - zmq_ctx_new: got NULL, expected a context\n");
        stop_worker(1000);
        return 1;
    }

    test_outbox();
    test_ready_silent();
    if (!have_worker) {
        case_begin("worker: counterd found next to the test binary");
        case_fail("counterd: got nothing at %s, expected an executable (run make)", counterd);
        case_end();
    } else {
        test_subscriptions(counterd);
    }

    case_begin("worker: counterd catalog stops cleanly on SIGTERM (exit 0)");
    if (worker > 0)
        CHECK_INT("exit status", stop_worker(ms(5000)), 0);
    else
        case_fail("worker: got no running worker, expected one");
    case_end();

    config_destroy(&cfg);
    keys_destroy(&keys);
    if (zmq_ctx_term(ctx) != 0)
        fprintf(stderr, "test_bus: zmq_ctx_term: %s\n", zmq_strerror(errno));
    int rc = unit_exit();
    if (rc == 0)
        nftw(home, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    else
        printf("# kept %s for inspection\n", home);
    return rc;
}
