/*
 * svc_view.c - the read models (CQRS), built only from events: the catalog
 * view (F3) and my orders (N3). Each handler is a small function of (state, event); the bus
 * applies it and records the position in the same transaction, so a replayed
 * event changes nothing.
 */
#include "log.h"
#include "service.h"
#include "status.h"

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
    "  viewed_ms INTEGER, ordered_ms INTEGER);"
    "CREATE INDEX IF NOT EXISTS my_orders_customer ON my_orders(customer_id);";

/* ---- the catalog view ---- */

static const char *SQL_LIST =
    "SELECT food_id AS id, name, price, stock, sold_out, updated_at FROM catalog_view "
    "WHERE ?1 IS NULL OR instr(lower(name), lower(?1)) > 0 ORDER BY food_id";
static const char *SQL_UPSERT =
    "INSERT INTO catalog_view(food_id, name, price, stock, sold_out, updated_at) "
    "VALUES(?1,?2,?3,?4,?4 = 0,?5) ON CONFLICT(food_id) DO UPDATE SET name = ?2, price = ?3,"
    " stock = ?4, sold_out = (?4 = 0), updated_at = ?5";
static const char *SQL_STOCK =
    "UPDATE catalog_view SET stock = ?2, sold_out = (?2 = 0), updated_at = ?3 WHERE food_id = ?1";
static const char *SQL_DELETE = "DELETE FROM catalog_view WHERE food_id = ?";

static int on_catalog(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    db_t *db = service_db(svc);
    const char *type = jstr(ev, "eventType"), *ts = jstr(ev, "timestamp");
    long long id = jint(ev, "foodId");
    if (strcmp(type, "FoodRegistered") == 0 || strcmp(type, "FoodUpdated") == 0)
        return db_run(db, SQL_UPSERT, "iSiis", id, json_object_get(ev, "name"), jint(ev, "price"),
                      jint(ev, "stock"), ts);
    if (strcmp(type, "StockChanged") == 0)
        return db_run(db, SQL_STOCK, "iis", id, jint(ev, "stock"), ts);
    if (strcmp(type, "FoodDeleted") == 0)
        return db_run(db, SQL_DELETE, "i", id);
    return 0;   /* FoodSoldOut: sold_out follows the stock already */
}

/* ---- my orders ---- */

static const char *SQL_MO_ORDERED =
    "INSERT INTO my_orders(order_id, customer_id, food_id, food_name, qty, amount, order_status,"
    " updated_at, viewed_ms, ordered_ms) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)"
    " ON CONFLICT(order_id) DO UPDATE SET customer_id = ?2, food_id = ?3, food_name = ?4, qty = ?5,"
    " amount = ?6, order_status = COALESCE(order_status, ?7), updated_at = ?8, viewed_ms = ?9,"
    " ordered_ms = ?10";
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
    " updated_at AS lastChange, viewed_ms AS viewedMs, ordered_ms AS orderedMs"
    " FROM my_orders WHERE customer_id IS NOT NULL AND (?1 IS NULL OR customer_id = ?1)"
    " ORDER BY order_id DESC";

/* Set the order's statuses that are not NULL, and its delivery id when not 0. */
static int mo_set(service_t *svc, long long order, const char *ostatus, const char *pstatus,
                  const char *dstatus, long long delivery_id, const char *ts)
{
    return db_run(service_db(svc), SQL_MO_SET, "issszs", order, ostatus, pstatus, dstatus,
                  delivery_id, ts);
}

static int on_order(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = jstr(ev, "eventType"), *ts = jstr(ev, "timestamp");
    long long order = jint(ev, "orderId");
    if (strcmp(type, "OrderCancelled") == 0)
        return mo_set(svc, order, "cancelled", NULL, NULL, 0, ts);
    if (strcmp(type, "Ordered") != 0)
        return 0;
    return db_run(service_db(svc), SQL_MO_ORDERED, "iiiSiissii", order, jint(ev, "customerId"),
                  jint(ev, "foodId"), json_object_get(ev, "foodName"), jint(ev, "qty"),
                  jint(ev, "amount"), "placed", ts, proto_now_ms(), proto_ts_ms(ts));
}

static int on_payment(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = jstr(ev, "eventType"), *ts = jstr(ev, "timestamp");
    long long order = jint(ev, "orderId");
    if (strcmp(type, "Paid") == 0)
        return mo_set(svc, order, NULL, "paid", NULL, 0, ts);
    if (strcmp(type, "PaymentCancelled") == 0)
        return mo_set(svc, order, NULL, "refunded", NULL, 0, ts);
    return 0;
}

/* Every delivery event carries the delivery's new status; the order's
 * follows it as it does in the order service (status_order_for). */
static int on_delivery(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *status = json_string_value(json_object_get(ev, "status"));
    if (!status)
        return 0;
    return mo_set(svc, jint(ev, "orderId"), status_order_for(status), NULL, status,
                  jint(ev, "deliveryId"), jstr(ev, "timestamp"));
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
    return service_items(db_prep(service_db(svc), SQL_LIST, "S", json_object_get(body, "search")),
                         result, err);
}

/* Views from before viewed_ms kept the view's time in ordered_ms and the
 * Ordered event's in event_ms: name the columns for what they hold. */
static int upgrade(db_t *db)
{
    if (!db_has_column(db, "my_orders", "event_ms"))
        return 0;
    log_info("my_orders: ordered_ms -> viewed_ms, event_ms -> ordered_ms");
    if (db_begin(db) != 0 ||
        db_exec(db, "ALTER TABLE my_orders RENAME COLUMN ordered_ms TO viewed_ms;"
                    "ALTER TABLE my_orders RENAME COLUMN event_ms TO ordered_ms") != 0 ||
        db_commit(db) != 0) {
        db_rollback(db);
        return -1;
    }
    return 0;
}

static int start(service_t *svc)
{
    bus_t *bus = service_bus(svc);
    return upgrade(service_db(svc)) || bus_subscribe(bus, "catalog", on_catalog, svc) ||
                   bus_subscribe(bus, "order", on_order, svc) ||
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
