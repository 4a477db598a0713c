/*
 * svc_view.c - the read models (CQRS), built only from events: the catalog
 * view (F3). Each handler is a small function of (state, event); the bus
 * applies it and records the position in the same transaction, so a replayed
 * event changes nothing.
 */
#include "log.h"
#include "service.h"

#include <stdlib.h>
#include <string.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS catalog_view("
    "  food_id INTEGER PRIMARY KEY, name TEXT NOT NULL, price INTEGER NOT NULL,"
    "  stock INTEGER NOT NULL, sold_out INTEGER NOT NULL, updated_at TEXT NOT NULL);";

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

static int cmd_catalog(service_t *svc, const proto_req_t *req, const json_t *body,
                       json_t **result, proto_err_t *err)
{
    (void)req;
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_LIST);
    const json_t *search = json_object_get(body, "search");
    if (!st || (search ? sqlite3_bind_text(st, 1, json_string_value(search), -1, SQLITE_TRANSIENT)
                       : sqlite3_bind_null(st, 1)) != SQLITE_OK)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    json_t *rows = db_rows(st);
    if (!rows)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    *result = json_pack("{s:o}", "items", rows);
    return 0;
}

static int start(service_t *svc)
{
    return bus_subscribe(service_bus(svc), "catalog", on_catalog, svc);
}

static const svc_cmd_t commands[] = {
    {"view.catalog", cmd_catalog},
    {NULL, NULL},
};

const svc_def_t svc_view = {"view", SCHEMA, commands, start};
