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
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_GET);
    if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK) {
        proto_fail(err, ERR_INTERNAL, NULL, "database error");
        return NULL;
    }
    json_t *rows = db_rows(st);
    if (!rows) {
        proto_fail(err, ERR_INTERNAL, NULL, "database error");
        return NULL;
    }
    json_t *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (!row)
        proto_fail(err, ERR_NOT_FOUND, "id", "customer %lld does not exist", id);
    return row;
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
    int withdrawn = strcmp(json_string_value(json_object_get(row, "status")), "withdrawn") == 0;
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
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_ADD);
    const json_t *phone = json_object_get(body, "phone"), *addr = json_object_get(body, "address");
    if (!st ||
        sqlite3_bind_text(st, 1, json_string_value(json_object_get(body, "name")), -1,
                          SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, phone ? json_string_value(phone) : "", -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, addr ? json_string_value(addr) : "", -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        db_bind_int_or_null(st, 4, json_object_get(body, "age")) != SQLITE_OK ||
        sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(st, 6, now, -1, SQLITE_TRANSIENT) != SQLITE_OK || db_step_done(st) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot store the customer");
    long long id = sqlite3_last_insert_rowid(db_handle(service_db(svc)));
    json_t *row = load(svc, id, err);
    if (!row)
        return err->status;
    json_t *ev = json_deep_copy(row);
    json_object_del(ev, "id");
    if (bus_emit(service_bus(svc), "CustomerRegistered", "customerId", id, ev) != 0) {
        json_decref(row);
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the event");
    }
    *result = row;
    return 0;
}

static int cmd_update(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    long long id = json_integer_value(json_object_get(body, "id"));
    if (check_active(svc, req, id, "has withdrawn", err))
        return err->status;
    json_t *row;
    char now[32];
    proto_utc_now(now, sizeof now);
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_UPDATE);
    if (!st || db_bind_text_or_null(st, 1, json_object_get(body, "name")) != SQLITE_OK ||
        db_bind_text_or_null(st, 2, json_object_get(body, "phone")) != SQLITE_OK ||
        db_bind_text_or_null(st, 3, json_object_get(body, "address")) != SQLITE_OK ||
        db_bind_int_or_null(st, 4, json_object_get(body, "age")) != SQLITE_OK ||
        sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, id) != SQLITE_OK || db_step_done(st) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot update the customer");
    row = load(svc, id, err);
    if (!row)
        return err->status;
    json_t *ev = json_deep_copy(body);
    json_object_del(ev, "id");
    if (bus_emit(service_bus(svc), "CustomerUpdated", "customerId", id, ev) != 0) {
        json_decref(row);
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the event");
    }
    *result = row;
    return 0;
}

static int cmd_withdraw(service_t *svc, const proto_req_t *req, const json_t *body,
                        json_t **result, proto_err_t *err)
{
    long long id = json_integer_value(json_object_get(body, "id"));
    if (check_active(svc, req, id, "has already withdrawn", err))
        return err->status;
    sqlite3_stmt *cnt = db_stmt(service_db(svc), SQL_OPEN_COUNT);
    long long open = -1;
    if (cnt && sqlite3_bind_int64(cnt, 1, id) == SQLITE_OK)
        open = db_int(cnt, -1);
    if (open < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    if (open > 0)
        return proto_fail(err, ERR_CONFLICT, "id",
                          "customer %lld has %lld open order%s (not delivered or cancelled)", id,
                          open, open == 1 ? "" : "s");
    char now[32];
    proto_utc_now(now, sizeof now);
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_WITHDRAW);
    if (!st || sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, id) != SQLITE_OK || db_step_done(st) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot withdraw the customer");
    if (bus_emit(service_bus(svc), "CustomerWithdrawn", "customerId", id, NULL) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the event");
    *result = load(svc, id, err);
    return *result ? 0 : err->status;
}

static int cmd_list(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    (void)body;
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_LIST);
    return service_items(st, result, err);
}

static int cmd_show(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    long long id = json_integer_value(json_object_get(body, "id"));
    if (proto_check_own(&req->caller, id, "id", "act on their own account", err))
        return err->status;
    *result = load(svc, id, err);
    return *result ? 0 : err->status;
}

/* Ordered opens an order; Delivered or OrderCancelled closes it. */
static int on_event(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = json_string_value(json_object_get(ev, "eventType"));
    const char *sql = strcmp(type, "Ordered") == 0 ? SQL_CO_ORDERED
                      : strcmp(type, "Delivered") == 0 || strcmp(type, "OrderCancelled") == 0
                          ? SQL_CO_CLOSED
                          : NULL;
    if (!sql)
        return 0;
    sqlite3_stmt *st = db_stmt(service_db(svc), sql);
    if (!st ||
        sqlite3_bind_int64(st, 1, json_integer_value(json_object_get(ev, "orderId"))) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, json_integer_value(json_object_get(ev, "customerId"))) != SQLITE_OK)
        return -1;
    return db_step_done(st);
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
