/*
 * svc_delivery.c - deliveries (F6-F8, F10, N1b): the delivery team's board.
 *
 * A delivery comes into existence only from an Ordered event, that is after
 * payment, once per order (order_id is unique). Its state machine is drawn in
 * proto/delivery.c, above the table of the team's moves (delivery_moves) that
 * this file applies and the TUI's board names; cancel_request is handled here.
 *
 * A delivered order cannot be cancelled (conflict). The auto mode plays the
 * team: it moves each delivery one step after delay_ms (off by default;
 * delivery.auto / delivery.auto_ms in the config).
 */
#include "delivery.h"
#include "log.h"
#include "service.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS deliveries("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, order_id INTEGER NOT NULL UNIQUE,"
    "  customer_id INTEGER NOT NULL, customer_name TEXT NOT NULL, address TEXT NOT NULL,"
    "  food_id INTEGER NOT NULL, food_name TEXT NOT NULL, qty INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('received','confirmed','shipped','delivered',"
    "    'cancel_requested','cancelled')),"
    "  before_cancel TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  changed_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS deliveries_status ON deliveries(status, changed_ms);";

#define COLS "id, order_id AS orderId, customer_id AS customerId, customer_name AS customerName," \
             " address, food_id AS foodId, food_name AS foodName, qty, status, created_at, updated_at"

static const char *SQL_ADD =
    "INSERT OR IGNORE INTO deliveries(order_id, customer_id, customer_name, address, food_id,"
    " food_name, qty, status, created_at, updated_at, changed_ms)"
    " VALUES(?1,?2,?3,?4,?5,?6,?7,'received',?8,?8,?9)";
static const char *SQL_GET = "SELECT " COLS ", before_cancel FROM deliveries WHERE id = ?";
static const char *SQL_BY_ORDER = "SELECT " COLS ", before_cancel FROM deliveries WHERE order_id = ?";
static const char *SQL_LIST =
    "SELECT " COLS " FROM deliveries WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR order_id = ?2)"
    " AND (?3 IS NULL OR status NOT IN ('delivered','cancelled') OR updated_at >= ?3) ORDER BY id";
static const char *SQL_SET =
    "UPDATE deliveries SET status = ?2, before_cancel = ?3, updated_at = ?4, changed_ms = ?5"
    " WHERE id = ?1";
static const char *SQL_DUE =
    "SELECT id, status FROM deliveries WHERE status IN ('received','confirmed','shipped',"
    "'cancel_requested') AND changed_ms <= ? ORDER BY changed_ms LIMIT 1000";

/* Set by delivery.auto on a request thread, read by the main thread's timer. */
static struct {
    atomic_int enabled;
    atomic_long delay_ms;
    long long next_ms;
} autoplay;

static json_t *load(service_t *svc, const char *sql, long long key, proto_err_t *err)
{
    json_t *row = db_first(service_db(svc), err, sql, "i", key);
    if (!row && err->status == ERR_NOT_FOUND)
        proto_fail(err, ERR_NOT_FOUND, sql == SQL_GET ? "id" : "order",
                   sql == SQL_GET ? "delivery %lld does not exist"
                                  : "no delivery for order %lld yet", key);
    return row;
}

/* Move a delivery to `to` with its event. */
static int transition(service_t *svc, const json_t *row, const char *to, const char *before,
                      const char *event)
{
    char now[32];
    proto_utc_now(now, sizeof now);
    if (db_run(service_db(svc), SQL_SET, "isssi", jint(row, "id"), to, before, now,
               proto_now_ms()) != 0)
        return -1;
    return bus_emit(service_bus(svc), event, "orderId", jint(row, "orderId"),
                    json_pack("{s:I, s:I, s:s}", "deliveryId", (json_int_t)jint(row, "id"),
                              "customerId", (json_int_t)jint(row, "customerId"), "status", to));
}

/* One of the team's moves (proto/delivery.h): from -> to, with its event. */
static int apply_move(service_t *svc, const delivery_move_t *m, long long id, json_t **result,
                      proto_err_t *err)
{
    json_t *row = load(svc, SQL_GET, id, err);
    if (!row)
        return err->status;
    const char *status = jstr(row, "status");
    int rc = 0;
    if (strcmp(status, m->from) != 0) {
        rc = proto_fail(err, ERR_CONFLICT, "id", "delivery %lld is %s; %s needs %s", id, status,
                        m->command + strlen("delivery."), m->from);
    } else {
        /* A rejected cancellation goes back to where the delivery was. */
        const char *to = m->to ? m->to : jstr(row, "before_cancel");
        if (!*to)
            to = "received";
        if (transition(svc, row, to, NULL, m->event) != 0)
            rc = proto_fail(err, ERR_INTERNAL, NULL, "cannot update the delivery");
    }
    json_decref(row);
    if (rc == 0) {
        *result = load(svc, SQL_GET, id, err);
        json_object_del(*result, "before_cancel");
    }
    return rc;
}

static int cmd_move(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    const delivery_move_t *m = delivery_move_find(req->command);
    if (m)
        return apply_move(svc, m, jint(body, "id"), result, err);
    return proto_fail(err, ERR_BAD_REQUEST, "command", "unknown move");
}

static int cmd_cancel_request(service_t *svc, const proto_req_t *req, const json_t *body,
                              json_t **result, proto_err_t *err)
{
    long long order = jint(body, "order");
    /* The order service asks on a customer's behalf: the event names them. */
    const char *by = json_string_value(json_object_get(body, "by"));
    proto_caller_t who;
    if (by && req->caller.role == ROLE_SYSTEM) {
        if (proto_caller_parse(by, &who) != 0)
            return proto_fail(err, ERR_BAD_REQUEST, "by", "by must be role:subject");
        bus_set_actor(service_bus(svc), by);
    }
    json_t *row = load(svc, SQL_BY_ORDER, order, err);
    if (!row)
        return err->status;
    const char *status = jstr(row, "status");
    int rc = 0;
    if (strcmp(status, "delivered") == 0)
        rc = proto_fail(err, ERR_CONFLICT, "order", "delivered orders cannot be cancelled");
    else if (strcmp(status, "cancelled") == 0 || strcmp(status, "cancel_requested") == 0)
        rc = proto_fail(err, ERR_CONFLICT, "order", "order %lld is already %s", order, status);
    else if (transition(svc, row, "cancel_requested", status, "CancelRequested") != 0)
        rc = proto_fail(err, ERR_INTERNAL, NULL, "cannot update the delivery");
    long long id = jint(row, "id");
    json_decref(row);
    if (rc == 0) {
        *result = load(svc, SQL_GET, id, err);
        json_object_del(*result, "before_cancel");
    }
    return rc;
}

static int cmd_list(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    return service_items(db_prep(service_db(svc), SQL_LIST, "SIS", json_object_get(body, "status"),
                                 json_object_get(body, "order"), json_object_get(body, "since")),
                         result, err);
}

static int cmd_auto(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)svc;
    (void)err;
    const json_t *d = json_object_get(body, "delay_ms");
    if (d)
        atomic_store(&autoplay.delay_ms, (long)json_integer_value(d));
    atomic_store(&autoplay.enabled, json_is_true(json_object_get(body, "enabled")));
    long delay = atomic_load(&autoplay.delay_ms);
    int on = atomic_load(&autoplay.enabled);
    log_info("auto mode %s (%ld ms) by %s", on ? "on" : "off", delay, req->caller_raw);
    *result = json_pack("{s:b, s:I}", "enabled", on, "delay_ms", (json_int_t)delay);
    return 0;
}

/* Ordered: the paid order's details reach the team (once per order). */
static int on_order(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    if (strcmp(jstr(ev, "eventType"), "Ordered") != 0)
        return 0;
    db_t *db = service_db(svc);
    char now[32];
    proto_utc_now(now, sizeof now);
    if (db_run(db, SQL_ADD, "iissisisi", jint(ev, "orderId"), jint(ev, "customerId"),
               jstr(ev, "customerName"), jstr(ev, "address"), jint(ev, "foodId"),
               jstr(ev, "foodName"), jint(ev, "qty"), now, proto_now_ms()) != 0)
        return -1;
    if (db_changes(db) != 1)
        return 0;   /* already received */
    long long id = db_last_id(db);
    return bus_emit(service_bus(svc), "DeliveryReceived", "orderId", jint(ev, "orderId"),
                    json_pack("{s:I, s:I, s:I, s:I, s:s, s:s}", "deliveryId", (json_int_t)id,
                              "customerId", (json_int_t)jint(ev, "customerId"), "foodId",
                              (json_int_t)jint(ev, "foodId"), "qty", (json_int_t)jint(ev, "qty"),
                              "address", jstr(ev, "address"), "status", "received"));
}

/* Auto mode: move every delivery that has waited delay_ms one step. */
static void tick(service_t *svc)
{
    long long now = proto_mono_ms();
    long delay = atomic_load(&autoplay.delay_ms);
    if (!atomic_load(&autoplay.enabled) || now < autoplay.next_ms)
        return;
    autoplay.next_ms = now + (delay < 50 ? delay : 50);
    sqlite3_stmt *st = db_prep(service_db(svc), SQL_DUE, "i", proto_now_ms() - (long long)delay);
    json_t *due = st ? db_rows(st) : NULL;
    if (!due)
        return;
    if (json_array_size(due) > 0 && db_begin(service_db(svc)) == 0) {
        size_t i;
        json_t *d;
        int ok = 1;
        json_array_foreach(due, i, d) {
            const char *status = jstr(d, "status");
            for (const delivery_move_t *m = delivery_moves; m->command && ok; m++) {
                if (strcmp(m->from, status) == 0 && m->to) {
                    json_t *res = NULL;
                    proto_err_t err;
                    if (apply_move(svc, m, jint(d, "id"), &res, &err) != 0)
                        ok = 0;
                    json_decref(res);
                    break;
                }
            }
        }
        if (ok && db_commit(service_db(svc)) == 0)
            bus_flush(service_bus(svc));
        else
            db_rollback(service_db(svc));
    }
    json_decref(due);
}

static void health(service_t *svc, json_t *h)
{
    (void)svc;
    json_object_set_new(h, "auto", json_pack("{s:b, s:I}", "enabled", atomic_load(&autoplay.enabled),
                                             "delay_ms", (json_int_t)atomic_load(&autoplay.delay_ms)));
}

static int start(service_t *svc)
{
    const config_t *cfg = service_config(svc);
    atomic_store(&autoplay.enabled, config_bool(cfg, "delivery.auto"));
    atomic_store(&autoplay.delay_ms, config_int(cfg, "delivery.auto_ms"));
    return bus_subscribe(service_bus(svc), "order", on_order, svc);
}

static const svc_cmd_t commands[] = {
    {"delivery.list", cmd_list},
    {"delivery.confirm", cmd_move},
    {"delivery.ship", cmd_move},
    {"delivery.complete", cmd_move},
    {"delivery.cancel_confirm", cmd_move},
    {"delivery.cancel_reject", cmd_move},
    {"delivery.cancel_request", cmd_cancel_request},
    {"delivery.auto", cmd_auto},
    {NULL, NULL},
};

const svc_def_t svc_delivery = {"delivery", SCHEMA, commands, start, tick, health};
