/*
 * svc_catalog.c - the food catalog: foods with price and stock (F2, F12).
 *
 * Stock never goes negative (a CHECK constraint backs the validation). Every
 * change records its events in the same transaction: FoodRegistered,
 * FoodUpdated, StockChanged (with the delta), FoodSoldOut when stock reaches
 * 0, FoodDeleted. Deleted foods stay in the table (orders refer to them) but
 * are gone from every listing.
 */
#include "log.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS foods("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL,"
    "  price INTEGER NOT NULL CHECK (price >= 0), stock INTEGER NOT NULL CHECK (stock >= 0),"
    "  deleted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);";

static const char *SQL_ADD =
    "INSERT INTO foods(name, price, stock, created_at, updated_at) VALUES(?,?,?,?,?)";
static const char *SQL_GET =
    "SELECT id, name, price, stock, created_at, updated_at FROM foods WHERE id = ? AND deleted = 0";
static const char *SQL_LIST =
    "SELECT id, name, price, stock, created_at, updated_at FROM foods WHERE deleted = 0 ORDER BY id";
static const char *SQL_UPDATE =
    "UPDATE foods SET name = COALESCE(?, name), price = COALESCE(?, price),"
    " stock = COALESCE(?, stock), updated_at = ? WHERE id = ? AND deleted = 0";
static const char *SQL_DELETE =
    "UPDATE foods SET deleted = 1, updated_at = ? WHERE id = ? AND deleted = 0";

static json_t *load(service_t *svc, long long id, proto_err_t *err)
{
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_GET);
    json_t *rows = NULL;
    if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK || !(rows = db_rows(st))) {
        proto_fail(err, ERR_INTERNAL, NULL, "database error");
        return NULL;
    }
    json_t *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    if (!row)
        proto_fail(err, ERR_NOT_FOUND, "id", "food %lld does not exist", id);
    return row;
}

static long long ival(const json_t *o, const char *k)
{
    return json_integer_value(json_object_get(o, k));
}

/* Events for a food whose stock went from `before` to the row's stock. */
static int emit_stock(service_t *svc, const json_t *row, long long before, const char *reason)
{
    long long id = ival(row, "id"), stock = ival(row, "stock");
    if (stock == before)
        return 0;
    if (bus_emit(service_bus(svc), "StockChanged", "foodId", id,
                 json_pack("{s:I, s:I, s:s}", "stock", (json_int_t)stock, "delta",
                           (json_int_t)(stock - before), "reason", reason)) != 0)
        return -1;
    if (stock == 0 && bus_emit(service_bus(svc), "FoodSoldOut", "foodId", id,
                               json_pack("{s:s}", "name", json_string_value(json_object_get(row, "name")))) != 0)
        return -1;
    return 0;
}

static json_t *food_fields(const json_t *row)
{
    json_t *ev = json_pack("{s:O, s:O, s:O}", "name", json_object_get(row, "name"), "price",
                           json_object_get(row, "price"), "stock", json_object_get(row, "stock"));
    if (!ev)
        abort();
    return ev;
}

static int cmd_add(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                   proto_err_t *err)
{
    (void)req;
    char now[32];
    proto_utc_now(now, sizeof now);
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_ADD);
    if (!st ||
        sqlite3_bind_text(st, 1, json_string_value(json_object_get(body, "name")), -1,
                          SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, ival(body, "price")) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, ival(body, "stock")) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT) != SQLITE_OK || db_step_done(st) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot store the food");
    long long id = sqlite3_last_insert_rowid(db_handle(service_db(svc)));
    json_t *row = load(svc, id, err);
    if (!row)
        return err->status;
    if (bus_emit(service_bus(svc), "FoodRegistered", "foodId", id, food_fields(row)) != 0 ||
        (ival(row, "stock") == 0 &&
         bus_emit(service_bus(svc), "FoodSoldOut", "foodId", id,
                  json_pack("{s:O}", "name", json_object_get(row, "name"))) != 0)) {
        json_decref(row);
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the event");
    }
    *result = row;
    return 0;
}

static int cmd_update(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    (void)req;
    long long id = ival(body, "id");
    json_t *row = load(svc, id, err);
    if (!row)
        return err->status;
    long long before = ival(row, "stock");
    json_decref(row);
    char now[32];
    proto_utc_now(now, sizeof now);
    const json_t *name = json_object_get(body, "name"), *price = json_object_get(body, "price"),
                 *stock = json_object_get(body, "stock");
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_UPDATE);
    if (!st ||
        (name ? sqlite3_bind_text(st, 1, json_string_value(name), -1, SQLITE_TRANSIENT)
              : sqlite3_bind_null(st, 1)) != SQLITE_OK ||
        (price ? sqlite3_bind_int64(st, 2, json_integer_value(price)) : sqlite3_bind_null(st, 2)) != SQLITE_OK ||
        (stock ? sqlite3_bind_int64(st, 3, json_integer_value(stock)) : sqlite3_bind_null(st, 3)) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, now, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, id) != SQLITE_OK || db_step_done(st) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot update the food");
    row = load(svc, id, err);
    if (!row)
        return err->status;
    if (bus_emit(service_bus(svc), "FoodUpdated", "foodId", id, food_fields(row)) != 0 ||
        emit_stock(svc, row, before, "manager") != 0) {
        json_decref(row);
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the event");
    }
    *result = row;
    return 0;
}

static int cmd_delete(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    (void)req;
    long long id = ival(body, "id");
    json_t *row = load(svc, id, err);
    if (!row)
        return err->status;
    char now[32];
    proto_utc_now(now, sizeof now);
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_DELETE);
    if (!st || sqlite3_bind_text(st, 1, now, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, id) != SQLITE_OK || db_step_done(st) != 0 ||
        bus_emit(service_bus(svc), "FoodDeleted", "foodId", id,
                 json_pack("{s:O}", "name", json_object_get(row, "name"))) != 0) {
        json_decref(row);
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot delete the food");
    }
    *result = json_pack("{s:I, s:O, s:b}", "id", (json_int_t)id, "name",
                        json_object_get(row, "name"), "deleted", 1);
    json_decref(row);
    return 0;
}

static int cmd_list(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    (void)body;
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_LIST);
    json_t *rows = st ? db_rows(st) : NULL;
    if (!rows)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    *result = json_pack("{s:o}", "items", rows);
    return 0;
}

static int cmd_show(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    *result = load(svc, ival(body, "id"), err);
    return *result ? 0 : err->status;
}

static const svc_cmd_t commands[] = {
    {"catalog.add", cmd_add},
    {"catalog.update", cmd_update},
    {"catalog.delete", cmd_delete},
    {"catalog.list", cmd_list},
    {"catalog.show", cmd_show},
    {NULL, NULL},
};

const svc_def_t svc_catalog = {"catalog", SCHEMA, commands, NULL};
