/*
 * svc_order.c - orders (F4-F5, F9, N1, N2): listing, showing, cancelling,
 * following the delivery and payment events, the audit; the service's
 * lifecycle and its calls to the other services. Placing an order, the
 * saga, is in order_saga.c (order.h says what the two files share).
 *
 * An order's status follows its delivery's through status_order_for
 * (proto/status.c), the mapping my orders follows too.
 */
#include "client.h"
#include "log.h"
#include "order.h"
#include "status.h"

#include <stdio.h>
#include <string.h>

static const char SCHEMA[] =
    ORDER_PLACEMENTS_SCHEMA
    "CREATE TABLE IF NOT EXISTS orders("
    "  id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, customer_name TEXT NOT NULL,"
    "  address TEXT NOT NULL, food_id INTEGER NOT NULL, food_name TEXT NOT NULL,"
    "  qty INTEGER NOT NULL CHECK (qty > 0), price INTEGER NOT NULL, amount INTEGER NOT NULL,"
    "  status TEXT NOT NULL, payment_status TEXT NOT NULL, delivery_status TEXT NOT NULL,"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    "CREATE INDEX IF NOT EXISTS orders_customer ON orders(customer_id);";

#define ORDER_COLS                                                                               \
    "id, customer_id AS customerId, customer_name AS customerName, address, food_id AS foodId," \
    " food_name AS foodName, qty, price, amount, status, payment_status AS paymentStatus,"       \
    " delivery_status AS deliveryStatus, created_at, updated_at"

static const char *SQL_O_GET = "SELECT " ORDER_COLS " FROM orders WHERE id = ?";
static const char *SQL_O_LIST =
    "SELECT " ORDER_COLS " FROM orders WHERE (?1 IS NULL OR customer_id = ?1)"
    " AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR updated_at >= ?3) ORDER BY id";
static const char *SQL_O_STATUS =
    "UPDATE orders SET status = COALESCE(?2, status), delivery_status = COALESCE(?3, delivery_status),"
    " payment_status = COALESCE(?4, payment_status), updated_at = ?5 WHERE id = ?1";
static const char *SQL_P_COUNT =
    "SELECT COUNT(*) FROM placements WHERE state IN ('started','reserved','compensate')";

/* Each thread calls the other services on sockets of its own. */
static __thread client_t *calls[ORDER__PEERS];

int order_call(order_peer_t to, const char *cmd, json_t *body, const char *rid, json_t **out,
               proto_err_t *err)
{
    proto_rep_t rep;
    *out = NULL;
    int rc = client_call(calls[to], cmd, body, rid, &rep, err);
    json_decref(body);
    if (rc != 0)
        return -1;
    if (rep.status != ERR_OK) {
        proto_err_from_rep(&rep, err);
        proto_rep_clear(&rep);
        return -1;
    }
    *out = json_incref(rep.body);
    proto_rep_clear(&rep);
    return 0;
}

json_t *order_load(service_t *svc, long long id, proto_err_t *err)
{
    return db_get(service_db(svc), err, SQL_O_GET, id, "id", "order");
}

/* ---- reading and cancelling ---- */

static int cmd_list(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    long long customer;
    if (proto_scope_customer(&req->caller, json_object_get(body, "customer"), ORDER_OWN, &customer,
                             err))
        return err->status;
    return service_items(db_prep(service_db(svc), SQL_O_LIST, "zSS", customer,
                                 json_object_get(body, "status"), json_object_get(body, "since")),
                         result, err);
}

/* The order asked for, when the caller may see it: a new reference, or NULL
 * with the error in err. */
static json_t *load_own(service_t *svc, const proto_req_t *req, long long id, proto_err_t *err)
{
    json_t *o = order_load(svc, id, err);
    if (o && proto_check_own(&req->caller, jint(o, "customerId"), "customer", ORDER_OWN, err)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int cmd_show(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    *result = load_own(svc, req, jint(body, "id"), err);
    return *result ? 0 : err->status;
}

/* Inside a write transaction: the order's status, delivery status, payment
 * status (NULL: unchanged). 0 or -1. */
static int set_status(service_t *svc, long long id, const char *status, const char *delivery,
                      const char *payment)
{
    char now[32];
    proto_utc_now(now, sizeof now);
    return db_run(service_db(svc), SQL_O_STATUS, "issss", id, status, delivery, payment, now);
}

/* N1b: the delivery team's side decides, synchronously. 0, or the error. */
static int ask_delivery_to_cancel(const proto_req_t *req, long long id, proto_err_t *err)
{
    json_t *out = NULL;
    if (order_call(ORDER_DELIVERY, "delivery.cancel_request",
                   json_pack("{s:I, s:s}", "order", (json_int_t)id, "by", req->caller_raw),
                   req->request_id, &out, err) == 0) {
        json_decref(out);
        return 0;
    }
    if (err->status == ERR_NOT_FOUND)
        proto_fail(err, ERR_UNAVAILABLE, NULL,
                   "the delivery team has not received order %lld yet; try again in a moment", id);
    else if (err->status == ERR_UNAVAILABLE)
        proto_fail(err, ERR_UNAVAILABLE, NULL, "delivery is unavailable; the order goes on");
    return err->status;
}

static int cmd_cancel(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                      proto_err_t *err)
{
    long long id = jint(body, "id");
    json_t *o = load_own(svc, req, id, err);
    if (!o)
        return err->status;
    const char *status = jstr(o, "status");
    int rc = 0;
    if (strcmp(status, "delivered") == 0)
        rc = proto_fail(err, ERR_CONFLICT, "id", "delivered orders cannot be cancelled");
    else if (strcmp(status, "cancelled") == 0 || strcmp(status, "cancel_requested") == 0)
        rc = proto_fail(err, ERR_CONFLICT, "id", "order %lld is already %s", id, status);
    json_decref(o);
    if (rc || ask_delivery_to_cancel(req, id, err))
        return err->status;
    db_t *db = service_db(svc);
    if (db_begin(db) != 0 || set_status(svc, id, "cancel_requested", "cancel_requested", NULL) != 0 ||
        db_commit(db) != 0) {
        db_rollback(db);
        /* Delivery has the request; its CancelRequested event brings us along. */
        log_warn("order %lld: cannot record cancel_requested now", id);
    }
    *result = order_load(svc, id, err);
    return *result ? 0 : proto_fail(err, ERR_INTERNAL, NULL, "database error");
}

/* Every order, and how many placements are unfinished, seen at one moment. */
static int cmd_audit(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                     proto_err_t *err)
{
    (void)req;
    (void)body;
    db_t *db = service_db(svc);
    if (db_begin_read(db) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    sqlite3_stmt *st = db_prep(db, SQL_O_LIST, "");
    json_t *rows = st ? db_rows(st) : NULL;
    long long open = db_value(db, -1, SQL_P_COUNT, "");
    db_rollback(db);
    if (!rows || open < 0) {
        json_decref(rows);
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    }
    *result = json_pack("{s:o, s:I}", "items", rows, "unfinished_placements", (json_int_t)open);
    return 0;
}

/* ---- events from delivery and payment ---- */

/* The delivery events an order follows; each carries the delivery's status. */
static const char *const delivery_events[] = {
    "DeliveryReceived", "DeliveryConfirmed", "Shipped",          "Delivered",
    "CancelRequested",  "CancelRejected",    "DeliveryCanceled",
};

static int on_delivery(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = jstr(ev, "eventType");
    size_t i, n = sizeof delivery_events / sizeof delivery_events[0];
    for (i = 0; i < n && strcmp(delivery_events[i], type) != 0; i++)
        ;
    if (i == n)
        return 0;
    long long id = jint(ev, "orderId");
    proto_err_t err;
    json_t *o = order_load(svc, id, &err);
    if (!o && err.status == ERR_NOT_FOUND)
        log_warn("%s for unknown order %lld", type, id);
    if (!o)
        return err.status == ERR_NOT_FOUND ? 0 : -1;
    int was_cancelled = strcmp(jstr(o, "status"), "cancelled") == 0;
    json_decref(o);
    if (was_cancelled)
        return 0;
    const char *dstatus = jstr(ev, "status");
    if (set_status(svc, id, status_order_for(dstatus), dstatus, NULL) != 0)
        return -1;
    if (strcmp(type, "DeliveryCanceled") == 0)
        return bus_emit(service_bus(svc), "OrderCancelled", "orderId", id,
                        json_pack("{s:I, s:s}", "customerId", (json_int_t)jint(ev, "customerId"),
                                  "status", "cancelled"));
    return 0;
}

static int on_payment(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    if (strcmp(jstr(ev, "eventType"), "PaymentCancelled") != 0)
        return 0;
    /* Only orders that exist; a voided placement's refund has no order. */
    return set_status(svc, jint(ev, "orderId"), NULL, NULL, "refunded");
}

/* ---- lifecycle ---- */

/* On the background thread: undo what could not be undone at once. */
static void background(service_t *svc)
{
    order_recover(svc, 0);
}

static void health(service_t *svc, json_t *h)
{
    (void)svc;
    order_saga_health(h);
}

static client_t *connect_to(service_t *svc, const char *service, int timeout_ms, int attempts)
{
    char ep[512];
    if (config_endpoint(service_config(svc), service, "req", ep, sizeof ep) != 0)
        return NULL;
    zio_curve_t cv;
    if (keys_client(service_keys(svc), service, &cv) != 0)
        return NULL;
    client_t *c = client_new(service_ctx(svc), ep, &cv);
    zio_curve_clear(&cv);
    if (c) {
        client_set_caller(c, "system:order");
        client_set_timeout(c, timeout_ms, attempts);
    }
    return c;
}

static void thread_stop(service_t *svc)
{
    (void)svc;
    for (int i = 0; i < ORDER__PEERS; i++)
        client_destroy(&calls[i]);
}

static int thread_start(service_t *svc)
{
    const config_t *cfg = service_config(svc);
    int t = (int)config_int(cfg, "order.call_timeout_ms");
    calls[ORDER_CUSTOMER] = connect_to(svc, "customer", t, 2);
    calls[ORDER_CATALOG] = connect_to(svc, "catalog", t, 2);
    calls[ORDER_DELIVERY] = connect_to(svc, "delivery", t, 2);
    calls[ORDER_PAYMENT] =
        connect_to(svc, "payment", (int)config_int(cfg, "breaker.timeout_ms"), 2);
    for (int i = 0; i < ORDER__PEERS; i++) {
        if (!calls[i]) {
            thread_stop(svc);
            return -1;
        }
    }
    return 0;
}

static int start(service_t *svc)
{
    order_saga_configure(service_config(svc));
    /* The main thread's own calls: recovery and timers. */
    if (thread_start(svc) != 0)
        return -1;
    if (bus_subscribe(service_bus(svc), "delivery", on_delivery, svc) != 0 ||
        bus_subscribe(service_bus(svc), "payment", on_payment, svc) != 0)
        return -1;
    order_recover(svc, 1);
    return 0;
}

static const svc_cmd_t commands[] = {
    {"order.place", order_place},
    {"order.list", cmd_list},
    {"order.show", cmd_show},
    {"order.cancel", cmd_cancel},
    {"order.audit", cmd_audit},
    {NULL, NULL},
};

const svc_def_t svc_order = {"order", SCHEMA, commands, start, NULL, health, thread_start,
                             thread_stop, order_fast_reply, background};
