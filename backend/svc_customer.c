/*
 * svc_customer.c - customers: sign up, update, withdraw, list, show (F1).
 *
 * A customer caller may only read and change their own record (subject =
 * customer id); managers and our own services may act on any.
 */
#include "log.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS customers("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL, phone TEXT NOT NULL DEFAULT '', address TEXT NOT NULL DEFAULT '',"
    "  age INTEGER CHECK (age IS NULL OR age >= 0),"
    "  status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','withdrawn')),"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    /* Which of a customer's orders are still open, from order and delivery
     * events (they may arrive in either order, so each sets its own flag). */
    "CREATE TABLE IF NOT EXISTS customer_orders("
    "  order_id INTEGER PRIMARY KEY, customer_id INTEGER,"
    "  ordered INTEGER NOT NULL DEFAULT 0, closed INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX IF NOT EXISTS customer_orders_customer ON customer_orders(customer_id);";

static const char *SQL_ADD =
    "INSERT INTO customers(name, phone, address, age, created_at, updated_at) "
    "VALUES(?,?,?,?,?,?)";
static const char *SQL_GET =
    "SELECT id, name, phone, address, age, status, created_at, updated_at "
    "FROM customers WHERE id = ?";
static const char *SQL_LIST =
    "SELECT id, name, phone, address, age, status, created_at, updated_at "
    "FROM customers ORDER BY id";
static const char *SQL_UPDATE =
    "UPDATE customers SET name = COALESCE(?, name), phone = COALESCE(?, phone),"
    " address = COALESCE(?, address), age = COALESCE(?, age), updated_at = ? WHERE id = ?";
static const char *SQL_WITHDRAW =
    "UPDATE customers SET status = 'withdrawn', updated_at = ? WHERE id = ?";

static const char *SQL_OPEN_COUNT =
    "SELECT COUNT(*) FROM customer_orders WHERE customer_id = ? AND ordered = 1 AND closed = 0";
static const char *SQL_CO_ORDERED =
    "INSERT INTO customer_orders(order_id, customer_id, ordered) VALUES(?1,?2,1)"
    " ON CONFLICT(order_id) DO UPDATE SET customer_id = ?2, ordered = 1";
static const char *SQL_CO_CLOSED =
    "INSERT INTO customer_orders(order_id, customer_id, closed) VALUES(?1,?2,1)"
    " ON CONFLICT(order_id) DO UPDATE SET closed = 1";

/* The customer row as an object, or NULL (not_found / internal in err). */
static json_t *load(service_t *svc, long long id, proto_err_t *err)
{
    return db_get(service_db(svc), err, SQL_GET, id, "id", "customer");
}

/* After a change of customer id: its event (fields stolen, "id" dropped;
 * NULL: the whole new record) and the new record as the answer. 0, or the
 * error in err. */
static int changed(service_t *svc, long long id, const char *event, json_t *fields,
                   json_t **result, proto_err_t *err)
{
    json_t *row = load(svc, id, err);
    if (!row) {
        json_decref(fields);
        return err->status;
    }
    if (!fields)
        fields = proto_nonnull(json_deep_copy(row));
    json_object_del(fields, "id");
    if (bus_emit(service_bus(svc), event, "customerId", id, fields) != 0) {
        json_decref(row);
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the event");
    }
    *result = row;
    return 0;
}

/* The caller may act on customer id, which exists and has not withdrawn:
 * 0, or the error (forbidden, not_found, conflict) in err. */
static int check_active(service_t *svc, const proto_req_t *req, long long id, const char *withdrawn_msg,
                        proto_err_t *err)
{
    if (proto_check_own(&req->caller, id, "id", "act on their own account", err))
        return err->status;
    json_t *row = load(svc, id, err);
    if (!row)
        return err->status;
    int withdrawn = strcmp(jstr(row, "status"), "withdrawn") == 0;
    json_decref(row);
    if (withdrawn)
        return proto_fail(err, ERR_CONFLICT, "id", "customer %lld %s", id, withdrawn_msg);
    return 0;
}

static int cmd_add(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                   proto_err_t *err)
{
    (void)req;
    char now[32];
    proto_utc_now(now, sizeof now);
    /* phone and address may be left out: empty, never NULL */
    if (db_run(service_db(svc), SQL_ADD, "sssIss", jstr(body, "name"), jstr(body, "phone"),
               jstr(body, "address"), json_object_get(body, "age"), now, now) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot store the customer");
    return changed(svc, db_last_id(service_db(svc)), "CustomerRegistered", NULL, result, err);
}

static int cmd_update(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    long long id = jint(body, "id");
    if (check_active(svc, req, id, "has withdrawn", err))
        return err->status;
    char now[32];
    proto_utc_now(now, sizeof now);
    if (db_run(service_db(svc), SQL_UPDATE, "SSSIsi", json_object_get(body, "name"),
               json_object_get(body, "phone"), json_object_get(body, "address"),
               json_object_get(body, "age"), now, id) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot update the customer");
    return changed(svc, id, "CustomerUpdated", proto_nonnull(json_deep_copy(body)), result, err);
}

static int cmd_withdraw(service_t *svc, const proto_req_t *req, const json_t *body,
                        json_t **result, proto_err_t *err)
{
    long long id = jint(body, "id");
    if (check_active(svc, req, id, "has already withdrawn", err))
        return err->status;
    long long open = db_value(service_db(svc), -1, SQL_OPEN_COUNT, "i", id);
    if (open < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    if (open > 0)
        return proto_fail(err, ERR_CONFLICT, "id",
                          "customer %lld has %lld open order%s (not delivered or cancelled)", id,
                          open, open == 1 ? "" : "s");
    char now[32];
    proto_utc_now(now, sizeof now);
    if (db_run(service_db(svc), SQL_WITHDRAW, "si", now, id) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot withdraw the customer");
    if (bus_emit(service_bus(svc), "CustomerWithdrawn", "customerId", id, NULL) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the event");
    *result = load(svc, id, err);
    return *result ? 0 : err->status;
}

static int cmd_show(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    long long id = jint(body, "id");
    if (proto_check_own(&req->caller, id, "id", "act on their own account", err))
        return err->status;
    *result = load(svc, id, err);
    return *result ? 0 : err->status;
}

static int cmd_list(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    (void)body;
    return service_items(db_prep(service_db(svc), SQL_LIST, ""), result, err);
}

/* Ordered opens an order; Delivered or OrderCancelled closes it. */
static int on_event(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = jstr(ev, "eventType");
    const char *sql = strcmp(type, "Ordered") == 0 ? SQL_CO_ORDERED
                      : strcmp(type, "Delivered") == 0 || strcmp(type, "OrderCancelled") == 0
                          ? SQL_CO_CLOSED
                          : NULL;
    return sql ? db_run(service_db(svc), sql, "ii", jint(ev, "orderId"), jint(ev, "customerId")) : 0;
}

static int start(service_t *svc)
{
    return bus_subscribe(service_bus(svc), "order", on_event, svc) ||
                   bus_subscribe(service_bus(svc), "delivery", on_event, svc)
               ? -1
               : 0;
}

static const svc_cmd_t commands[] = {
    {"customer.add", cmd_add},
    {"customer.update", cmd_update},
    {"customer.withdraw", cmd_withdraw},
    {"customer.list", cmd_list},
    {"customer.show", cmd_show},
    {NULL, NULL},
};

const svc_def_t svc_customer = {"customer", SCHEMA, commands, start, NULL, NULL};
