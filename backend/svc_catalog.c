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
    "  supplied INTEGER NOT NULL DEFAULT 0,"
    "  deleted INTEGER NOT NULL DEFAULT 0, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);"
    /* One row per order that ever asked for stock. held: reserved, not yet
     * placed; sold: placed; released: given back before placement (or a
     * tombstone refusing a late reserve); returned: given back on cancel. */
    "CREATE TABLE IF NOT EXISTS reservations("
    "  order_id INTEGER PRIMARY KEY, food_id INTEGER NOT NULL, qty INTEGER NOT NULL CHECK (qty >= 0),"
    "  state TEXT NOT NULL CHECK (state IN ('held','sold','released','returned')),"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);";

static const char *SQL_ADD =
    "INSERT INTO foods(name, price, stock, supplied, created_at, updated_at) VALUES(?1,?2,?3,?3,?4,?5)";
static const char *SQL_GET =
    "SELECT id, name, price, stock, created_at, updated_at FROM foods WHERE id = ? AND deleted = 0";
static const char *SQL_LIST =
    "SELECT id, name, price, stock, created_at, updated_at FROM foods WHERE deleted = 0 ORDER BY id";
static const char *SQL_UPDATE =
    "UPDATE foods SET name = COALESCE(?1, name), price = COALESCE(?2, price),"
    " supplied = supplied + COALESCE(?3, stock) - stock,"
    " stock = COALESCE(?3, stock), updated_at = ?4 WHERE id = ?5 AND deleted = 0";
static const char *SQL_FOOD_ANY = "SELECT id, name, price, stock FROM foods WHERE id = ?";
static const char *SQL_DELETE =
    "UPDATE foods SET deleted = 1, updated_at = ? WHERE id = ? AND deleted = 0";

/* The food row (not deleted) as an object, or NULL (not_found / internal in
 * err). */
static json_t *load(service_t *svc, long long id, proto_err_t *err)
{
    return db_get(service_db(svc), err, SQL_GET, id, "id", "food");
}

/* Events for a food whose stock went from `before` (-1: a new food) to the
 * row's stock. */
static int emit_stock(service_t *svc, const json_t *row, long long before, const char *reason)
{
    long long id = jint(row, "id"), stock = jint(row, "stock");
    if (stock == before)
        return 0;
    if (before >= 0 && bus_emit(service_bus(svc), "StockChanged", "foodId", id,
                 json_pack("{s:I, s:I, s:s}", "stock", (json_int_t)stock, "delta",
                           (json_int_t)(stock - before), "reason", reason)) != 0)
        return -1;
    if (stock == 0 && bus_emit(service_bus(svc), "FoodSoldOut", "foodId", id,
                               json_pack("{s:O}", "name", json_object_get(row, "name"))) != 0)
        return -1;
    return 0;
}

/* After food id was stored: the new record as the answer, with its
 * FoodRegistered / FoodUpdated and the stock's events (a stock that was
 * `before`). 0, or the error in err. */
static int stored(service_t *svc, long long id, const char *event, long long before,
                  json_t **result, proto_err_t *err)
{
    json_t *row = load(svc, id, err);
    if (!row)
        return err->status;
    json_t *fields = json_pack("{s:O, s:O, s:O}", "name", json_object_get(row, "name"), "price",
                               json_object_get(row, "price"), "stock", json_object_get(row, "stock"));
    if (bus_emit(service_bus(svc), event, "foodId", id, proto_nonnull(fields)) != 0 ||
        emit_stock(svc, row, before, "manager") != 0) {
        json_decref(row);
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the event");
    }
    *result = row;
    return 0;
}

static int cmd_add(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                   proto_err_t *err)
{
    (void)req;
    db_t *db = service_db(svc);
    char now[32];
    proto_utc_now(now, sizeof now);
    long long id = db_run(db, SQL_ADD, "siiss", jstr(body, "name"), jint(body, "price"),
                          jint(body, "stock"), now, now) == 0 ? db_last_id(db) : 0;
    return id ? stored(svc, id, "FoodRegistered", -1, result, err)
              : proto_fail(err, ERR_INTERNAL, NULL, "cannot store the food");
}

static int cmd_update(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    (void)req;
    long long id = jint(body, "id");
    json_t *row = load(svc, id, err);
    if (!row)
        return err->status;
    long long before = jint(row, "stock");
    json_decref(row);
    char now[32];
    proto_utc_now(now, sizeof now);
    if (db_run(service_db(svc), SQL_UPDATE, "SIIsi", json_object_get(body, "name"),
               json_object_get(body, "price"), json_object_get(body, "stock"), now, id) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot update the food");
    return stored(svc, id, "FoodUpdated", before, result, err);
}

/* Food id, deleted or not, as an object: NULL with not_found (naming
 * field) or internal in err. */
static json_t *food_any(service_t *svc, long long id, const char *field, proto_err_t *err)
{
    return db_get(service_db(svc), err, SQL_FOOD_ANY, id, field, "food");
}

static int cmd_delete(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    (void)req;
    db_t *db = service_db(svc);
    long long id = jint(body, "id");
    char now[32];
    proto_utc_now(now, sizeof now);
    if (db_run(db, SQL_DELETE, "si", now, id) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot delete the food");
    if (db_changes(db) == 0)   /* none, or deleted already */
        return proto_fail(err, ERR_NOT_FOUND, "id", "food %lld does not exist", id);
    json_t *row = food_any(svc, id, "id", err);
    if (!row)
        return err->status;
    if (bus_emit(service_bus(svc), "FoodDeleted", "foodId", id,
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
    return service_items(db_prep(service_db(svc), SQL_LIST, ""), result, err);
}

static int cmd_show(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    *result = load(svc, jint(body, "id"), err);
    return *result ? 0 : err->status;
}

/* ---- reservations (the order saga's stock step) ---- */

static const char *SQL_RES_GET =
    "SELECT order_id, food_id, qty, state FROM reservations WHERE order_id = ?";
static const char *SQL_RES_ADD =
    "INSERT INTO reservations(order_id, food_id, qty, state, created_at, updated_at) "
    "VALUES(?1,?2,?3,?4,?5,?5)";
static const char *SQL_RES_STATE =
    "UPDATE reservations SET state = ?2, updated_at = ?3 WHERE order_id = ?1";
static const char *SQL_TAKE =
    "UPDATE foods SET stock = stock - ?2, updated_at = ?3 WHERE id = ?1 AND deleted = 0 AND stock >= ?2";
static const char *SQL_GIVE = "UPDATE foods SET stock = stock + ?2, updated_at = ?3 WHERE id = ?1";
static const char *SQL_AUDIT =
    "SELECT f.id, f.name, f.stock, f.supplied,"
    " COALESCE(SUM(CASE WHEN r.state = 'held' THEN r.qty END), 0) AS held,"
    " COALESCE(SUM(CASE WHEN r.state = 'sold' THEN r.qty END), 0) AS sold,"
    " COALESCE(SUM(CASE WHEN r.state = 'returned' THEN r.qty END), 0) AS returned"
    " FROM foods f LEFT JOIN reservations r ON r.food_id = f.id GROUP BY f.id ORDER BY f.id";

/* The reservation of an order: 1 found (row set), 0 none, -1 error. */
static int res_get(service_t *svc, long long order, json_t **row)
{
    proto_err_t err;
    *row = db_first(service_db(svc), &err, SQL_RES_GET, "i", order);
    return *row ? 1 : err.status == ERR_NOT_FOUND ? 0 : -1;
}

static int res_add(service_t *svc, long long order, long long food, long long qty,
                   const char *state)
{
    char now[32];
    proto_utc_now(now, sizeof now);
    return db_run(service_db(svc), SQL_RES_ADD, "iiiss", order, food, qty, state, now);
}

static int res_set(service_t *svc, long long order, const char *state)
{
    char now[32];
    proto_utc_now(now, sizeof now);
    return db_run(service_db(svc), SQL_RES_STATE, "iss", order, state, now);
}

/* Move qty of food into (delta < 0) or out of (delta > 0) the stock, with
 * its events. Returns 1 done, 0 not enough stock (nothing changed), -1 error. */
static int move_stock(service_t *svc, long long food, long long delta, const char *reason,
                      long long order)
{
    db_t *db = service_db(svc);
    char now[32];
    proto_utc_now(now, sizeof now);
    if (db_run(db, delta < 0 ? SQL_TAKE : SQL_GIVE, "iis", food, delta < 0 ? -delta : delta, now) != 0)
        return -1;
    if (db_changes(db) != 1)
        return 0;
    proto_err_t err;
    json_t *row = db_first(db, &err, SQL_FOOD_ANY, "i", food);
    if (!row)
        return -1;
    long long stock = jint(row, "stock");
    int rc = bus_emit(service_bus(svc), "StockChanged", "foodId", food,
                      json_pack("{s:I, s:I, s:s, s:I}", "stock", (json_int_t)stock, "delta",
                                (json_int_t)delta, "reason", reason, "orderId", (json_int_t)order));
    if (rc == 0 && stock == 0)
        rc = bus_emit(service_bus(svc), "FoodSoldOut", "foodId", food,
                      json_pack("{s:O}", "name", json_object_get(row, "name")));
    json_decref(row);
    return rc == 0 ? 1 : -1;
}

/* A new reservation of qty of food (its row) for order: the stock taken,
 * the reservation held. 0, or the error in err. */
static int hold(service_t *svc, long long order, const json_t *food, long long qty,
                proto_err_t *err)
{
    long long food_id = jint(food, "id");
    int moved = move_stock(svc, food_id, -qty, "order", order);
    if (moved < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot reserve");
    if (moved == 0)
        return proto_fail(err, ERR_INSUFFICIENT_STOCK, "qty", "only %lld of %s left, %lld asked",
                          jint(food, "stock"), jstr(food, "name"), qty);
    if (res_add(svc, order, food_id, qty, "held") != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the reservation");
    return 0;
}

static int cmd_reserve(service_t *svc, const proto_req_t *req, const json_t *body,
                       json_t **result, proto_err_t *err)
{
    (void)req;
    long long order = jint(body, "order"), food_id = jint(body, "food"), qty = jint(body, "qty");
    json_t *res = NULL;
    int found = res_get(svc, order, &res);
    if (found < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    int same = found && jint(res, "food_id") == food_id && jint(res, "qty") == qty &&
               (strcmp(jstr(res, "state"), "held") == 0 || strcmp(jstr(res, "state"), "sold") == 0);
    json_decref(res);
    if (found && !same)
        return proto_fail(err, ERR_CONFLICT, "order",
                          "order %lld already has a different or closed reservation", order);
    /* The same reservation again (a retry) is answered as the first time,
     * even after the food was deleted: the reservation still stands. */
    json_t *food = found ? food_any(svc, food_id, "food", err) : load(svc, food_id, err);
    if (!food)
        return err->status;
    int rc = found ? 0 : hold(svc, order, food, qty, err);
    if (rc == 0) {
        long long price = jint(food, "price");
        *result = json_pack("{s:I, s:I, s:I, s:O, s:I, s:I}", "order", (json_int_t)order, "food",
                            (json_int_t)food_id, "qty", (json_int_t)qty, "name",
                            json_object_get(food, "name"), "price", (json_int_t)price, "amount",
                            (json_int_t)(price * qty));
    }
    json_decref(food);
    return rc;
}

static int cmd_release(service_t *svc, const proto_req_t *req, const json_t *body,
                       json_t **result, proto_err_t *err)
{
    (void)req;
    long long order = jint(body, "order");
    json_t *res = NULL;
    int found = res_get(svc, order, &res);
    if (found < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    int rc = 0;
    if (!found) {
        /* Nothing held: leave a tombstone so a late reserve is refused. */
        if (res_add(svc, order, 0, 0, "released") != 0)
            rc = proto_fail(err, ERR_INTERNAL, NULL, "database error");
    } else if (strcmp(jstr(res, "state"), "held") == 0) {
        if (move_stock(svc, jint(res, "food_id"), jint(res, "qty"), "release", order) != 1 ||
            res_set(svc, order, "released") != 0)
            rc = proto_fail(err, ERR_INTERNAL, NULL, "cannot release");
    } else if (strcmp(jstr(res, "state"), "released") != 0) {
        rc = proto_fail(err, ERR_CONFLICT, "order", "order %lld was placed; cancel it instead", order);
    }
    json_decref(res);
    if (rc == 0)
        *result = json_pack("{s:I, s:s}", "order", (json_int_t)order, "state", "released");
    return rc;
}

/* Every food's stock against what was supplied: stock + held + sold must
 * equal supplied (one SELECT: one consistent snapshot). */
static int cmd_audit(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                     proto_err_t *err)
{
    (void)req;
    (void)body;
    sqlite3_stmt *st = db_prep(service_db(svc), SQL_AUDIT, "");
    json_t *rows = st ? db_rows(st) : NULL, *r;
    if (!rows)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    size_t i;
    long long bad = 0;
    json_array_foreach(rows, i, r) {
        int ok = jint(r, "stock") + jint(r, "held") + jint(r, "sold") == jint(r, "supplied");
        bad += !ok;
        json_object_set_new(r, "ok", json_boolean(ok));
    }
    *result = json_pack("{s:o, s:I}", "items", rows, "violations", (json_int_t)bad);
    return 0;
}

/* Order events: a placed order's stock is sold; a cancelled one's comes back. */
static int on_order(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = jstr(ev, "eventType");
    long long order = jint(ev, "orderId");
    int placed = strcmp(type, "Ordered") == 0, cancelled = strcmp(type, "OrderCancelled") == 0;
    if (!placed && !cancelled)
        return 0;
    json_t *res = NULL;
    int found = res_get(svc, order, &res);
    if (found < 0)
        return -1;
    if (!found) {
        log_warn("%s for order %lld without a reservation", type, order);
        return 0;
    }
    const char *state = jstr(res, "state");
    int rc = 0;
    if (placed && strcmp(state, "held") == 0) {
        rc = res_set(svc, order, "sold");
    } else if (cancelled && strcmp(state, "sold") == 0) {
        rc = move_stock(svc, jint(res, "food_id"), jint(res, "qty"), "cancel", order) == 1 &&
                     res_set(svc, order, "returned") == 0 ? 0 : -1;
    }
    json_decref(res);
    return rc;
}

static int start(service_t *svc)
{
    return bus_subscribe(service_bus(svc), "order", on_order, svc);
}

static const svc_cmd_t commands[] = {
    {"catalog.add", cmd_add},
    {"catalog.update", cmd_update},
    {"catalog.delete", cmd_delete},
    {"catalog.list", cmd_list},
    {"catalog.show", cmd_show},
    {"catalog.reserve", cmd_reserve},
    {"catalog.release", cmd_release},
    {"catalog.audit", cmd_audit},
    {NULL, NULL},
};

const svc_def_t svc_catalog = {"catalog", SCHEMA, commands, start, NULL, NULL};
