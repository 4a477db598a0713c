/*
 * svc_view.c - the read models (CQRS), built only from events: the catalog
 * view (F3) and my orders (N3). Each handler is a small function of (state, event); the bus
 * applies it and records the position in the same transaction, so a replayed
 * event changes nothing.
 */
#include "log.h"
#include "service.h"

#include <stdlib.h>
#include <time.h>
#include <string.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS catalog_view("
    "  food_id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL,"
    "  stock INTEGER NOT NULL, sold_out INTEGER NOT NULL, updated_at TEXT NOT NULL);"
    /* Events of one order come from three publishers in any interleaving, so
     * each column is set by its own events and a row shows once Ordered has
     * arrived (an unpaid order never does). */
    "CREATE TABLE IF NOT EXISTS my_orders("
    "  order_id INTEGER PRIMARY KEY, customer_id INTEGER, food_id INTEGER, food_name TEXT,"
    "  qty INTEGER, amount INTEGER, order_status TEXT, payment_status TEXT,"
    "  delivery_status TEXT, delivery_id INTEGER, updated_at TEXT NOT NULL,"
    "  ordered_ms INTEGER, event_ms INTEGER);"
    "CREATE INDEX IF NOT EXISTS my_orders_customer ON my_orders(customer_id);";

static const char *SQL_UPSERT =
    "INSERT INTO catalog_view(food_id, name, price, stock, sold_out, updated_at) "
    "VALUES(?1,?2,?3,?4,?4 = 0,?5) ON CONFLICT(food_id) DO UPDATE SET name = ?2, price = ?3,"
    " stock = ?4, sold_out = (?4 = 0), updated_at = ?5";
static const char *SQL_STOCK =
    "UPDATE catalog_view SET stock = ?2, sold_out = (?2 = 0), updated_at = ?3 WHERE food_id = ?1";
static const char *SQL_DELETE = "DELETE FROM catalog_view WHERE food_id = ?";
static const char *SQL_LIST =
    "SELECT food_id AS id, name, price, stock, sold_out, updated_at FROM catalog_view "
    "WHERE ?1 IS NULL OR instr(lower(name), lower(?1)) > 0 ORDER BY food_id";

static int on_catalog(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = json_string_value(json_object_get(ev, "eventType"));
    const char *ts = json_string_value(json_object_get(ev, "timestamp"));
    json_int_t id = json_integer_value(json_object_get(ev, "foodId"));
    sqlite3_stmt *st;
    if (strcmp(type, "FoodRegistered") == 0 || strcmp(type, "FoodUpdated") == 0) {
        st = db_stmt(service_db(svc), SQL_UPSERT);
        if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
            sqlite3_bind_text(st, 2, json_string_value(json_object_get(ev, "name")), -1,
                              SQLITE_TRANSIENT) != SQLITE_OK ||
            sqlite3_bind_int64(st, 3, json_integer_value(json_object_get(ev, "price"))) != SQLITE_OK ||
            sqlite3_bind_int64(st, 4, json_integer_value(json_object_get(ev, "stock"))) != SQLITE_OK ||
            sqlite3_bind_text(st, 5, ts, -1, SQLITE_TRANSIENT) != SQLITE_OK)
            return -1;
        return db_step_done(st);
    }
    if (strcmp(type, "StockChanged") == 0) {
        st = db_stmt(service_db(svc), SQL_STOCK);
        if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
            sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(ev, "stock"))) != SQLITE_OK ||
            sqlite3_bind_text(st, 3, ts, -1, SQLITE_TRANSIENT) != SQLITE_OK)
            return -1;
        return db_step_done(st);
    }
    if (strcmp(type, "FoodDeleted") == 0) {
        st = db_stmt(service_db(svc), SQL_DELETE);
        if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
            return -1;
        return db_step_done(st);
    }
    return 0;   /* FoodSoldOut: sold_out follows the stock already */
}

/* ---- my orders ---- */

static const char *SQL_MO_ORDERED =
    "INSERT INTO my_orders(order_id, customer_id, food_id, food_name, qty, amount, order_status,"
    " updated_at, ordered_ms, event_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
    " ON CONFLICT(order_id) DO UPDATE SET customer_id = ?2, food_id = ?3, food_name = ?4, qty = ?5,"
    " amount = ?6, order_status = COALESCE(order_status, ?7), updated_at = ?8, ordered_ms = ?9,"
    " event_ms = ?10";
static const char *SQL_MO_SET =
    "INSERT INTO my_orders(order_id, order_status, payment_status, delivery_status, delivery_id,"
    " updated_at) VALUES(?1,?2,?3,?4,?5,?6)"
    " ON CONFLICT(order_id) DO UPDATE SET order_status = COALESCE(?2, order_status),"
    " payment_status = COALESCE(?3, payment_status), delivery_status = COALESCE(?4, delivery_status),"
    " delivery_id = COALESCE(?5, delivery_id), updated_at = ?6";
static const char *SQL_MO_LIST =
    "SELECT order_id AS orderId, customer_id AS customerId, food_id AS foodId, food_name AS food,"
    " qty, amount, order_status AS orderStatus, COALESCE(payment_status, 'paid') AS paymentStatus,"
    " COALESCE(delivery_status, 'pending') AS deliveryStatus, delivery_id AS deliveryId,"
    " updated_at AS lastChange, ordered_ms AS viewedMs, event_ms AS orderedMs"
    " FROM my_orders WHERE customer_id IS NOT NULL AND (?1 IS NULL OR customer_id = ?1)"
    " ORDER BY order_id DESC";

static int mo_set(service_t *svc, long long order, const char *ostatus, const char *pstatus,
                  const char *dstatus, long long delivery_id, const char *ts)
{
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_MO_SET);
    if (!st || sqlite3_bind_int64(st, 1, order) != SQLITE_OK ||
        (ostatus ? sqlite3_bind_text(st, 2, ostatus, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, 2)) != SQLITE_OK ||
        (pstatus ? sqlite3_bind_text(st, 3, pstatus, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, 3)) != SQLITE_OK ||
        (dstatus ? sqlite3_bind_text(st, 4, dstatus, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, 4)) != SQLITE_OK ||
        (delivery_id ? sqlite3_bind_int64(st, 5, delivery_id) : sqlite3_bind_null(st, 5)) != SQLITE_OK ||
        sqlite3_bind_text(st, 6, ts, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return -1;
    return db_step_done(st);
}

static int on_order(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = json_string_value(json_object_get(ev, "eventType"));
    const char *ts = json_string_value(json_object_get(ev, "timestamp"));
    json_int_t order = json_integer_value(json_object_get(ev, "orderId"));
    if (strcmp(type, "OrderCancelled") == 0)
        return mo_set(svc, order, "cancelled", NULL, NULL, 0, ts);
    if (strcmp(type, "Ordered") != 0)
        return 0;
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_MO_ORDERED);
    if (!st || sqlite3_bind_int64(st, 1, order) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(ev, "customerId"))) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, json_integer_value(json_object_get(ev, "foodId"))) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, json_string_value(json_object_get(ev, "foodName")), -1,
                          SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, json_integer_value(json_object_get(ev, "qty"))) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, json_integer_value(json_object_get(ev, "amount"))) != SQLITE_OK ||
        sqlite3_bind_text(st, 7, "placed", -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 8, ts, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 9, proto_now_ms()) != SQLITE_OK ||
        sqlite3_bind_int64(st, 10, proto_ts_ms(ts)) != SQLITE_OK)
        return -1;
    return db_step_done(st);
}

static int on_payment(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = json_string_value(json_object_get(ev, "eventType"));
    const char *ts = json_string_value(json_object_get(ev, "timestamp"));
    json_int_t order = json_integer_value(json_object_get(ev, "orderId"));
    if (strcmp(type, "Paid") == 0)
        return mo_set(svc, order, NULL, "paid", NULL, 0, ts);
    if (strcmp(type, "PaymentCancelled") == 0)
        return mo_set(svc, order, NULL, "refunded", NULL, 0, ts);
    return 0;
}

/* Every delivery event carries the delivery's new status. */
static int on_delivery(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *status = json_string_value(json_object_get(ev, "status"));
    if (!status)
        return 0;
    const char *ts = json_string_value(json_object_get(ev, "timestamp"));
    json_int_t order = json_integer_value(json_object_get(ev, "orderId"));
    json_int_t delivery = json_integer_value(json_object_get(ev, "deliveryId"));
    const char *ostatus = strcmp(status, "received") == 0 ? "placed" : status;
    /* The order's own OrderCancelled is the word on cancellation. */
    if (strcmp(status, "cancelled") == 0)
        ostatus = NULL;
    return mo_set(svc, order, ostatus, NULL, status, delivery, ts);
}

static int cmd_myorders(service_t *svc, const proto_req_t *req, const json_t *body,
                        json_t **result, proto_err_t *err)
{
    long long customer;
    if (proto_scope_customer(&req->caller, json_object_get(body, "customer"),
                             "see their own orders", &customer, err))
        return err->status;
    return service_items(db_prep(service_db(svc), SQL_MO_LIST, "z", customer), result, err);
}

static int cmd_catalog(service_t *svc, const proto_req_t *req, const json_t *body,
                       json_t **result, proto_err_t *err)
{
    (void)req;
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_LIST);
    const json_t *search = json_object_get(body, "search");
    if (!st || db_bind_text_or_null(st, 1, search) != SQLITE_OK)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    return service_items(st, result, err);
}

static int start(service_t *svc)
{
    bus_t *bus = service_bus(svc);
    return bus_subscribe(bus, "catalog", on_catalog, svc) || bus_subscribe(bus, "order", on_order, svc) ||
                   bus_subscribe(bus, "payment", on_payment, svc) ||
                   bus_subscribe(bus, "delivery", on_delivery, svc)
               ? -1
               : 0;
}

static const svc_cmd_t commands[] = {
    {"view.catalog", cmd_catalog},
    {"view.myorders", cmd_myorders},
    {NULL, NULL},
};

const svc_def_t svc_view = {"view", SCHEMA, commands, start, NULL, NULL};
