/*
 * svc_order.c - orders and the order saga (F4-F5, F9, N1, N2).
 *
 * Placing an order is a saga over synchronous calls, logged step by step in
 * the `placements` table (never inside a transaction that spans a call):
 *
 *   started --customer ok, catalog.reserve ok, payment.pay ok--> done
 *        \
 *         +-- any failure --> compensate --> failed
 *
 * `compensate` releases the reservation (catalog.release) and, when payment
 * may have been attempted, voids it (payment.void refunds a payment that went
 * through). Every call carries a request id derived from the order id, and
 * catalog and payment are idempotent per order, so a retry never reserves or
 * pays twice. The order row and its Ordered event are written in the same
 * transaction that marks the placement done: an unpaid order never exists.
 * After a crash, every placement not done or failed is compensated on
 * restart, and compensations that could not finish (a service down) are
 * retried every second.
 *
 * Calls to payment go through a circuit breaker: while it is open,
 * placements are answered payment_busy at once, before any stock is held.
 */
#include "breaker.h"
#include "client.h"
#include "log.h"
#include "service.h"

#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a retried placement waits for the first attempt to finish: more
 * than the longest placement (calls with their timeouts and retries). */
#define REPLAY_WAIT_MS 15000
#define PAY_SLOTS 64     /* more than request threads + main + background */

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS placements("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE,"
    "  caller TEXT NOT NULL, customer_id INTEGER NOT NULL, food_id INTEGER NOT NULL,"
    "  qty INTEGER NOT NULL,"
    "  state TEXT NOT NULL CHECK (state IN ('started','reserved','compensate','done','failed')),"
    "  pay_attempted INTEGER NOT NULL DEFAULT 0, released INTEGER NOT NULL DEFAULT 0,"
    "  voided INTEGER NOT NULL DEFAULT 0, reply TEXT, status TEXT,"
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS placements_open ON placements(state);"
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

static const char *SQL_P_BY_RID =
    "SELECT id, state, status, reply, caller, customer_id, food_id, qty FROM placements"
    " WHERE request_id = ?";
static const char *SQL_P_ADD =
    "INSERT INTO placements(request_id, caller, customer_id, food_id, qty, state, created_ms,"
    " updated_ms) VALUES(?1,?2,?3,?4,?5,'started',?6,?6)";
static const char *SQL_P_STATE =
    "UPDATE placements SET state = ?2, pay_attempted = MAX(pay_attempted, ?3), updated_ms = ?4"
    " WHERE id = ?1";
static const char *SQL_P_FINISH =
    "UPDATE placements SET state = ?2, status = ?3, reply = ?4, updated_ms = ?5 WHERE id = ?1";
static const char *SQL_P_KNOWN = "SELECT COUNT(*) FROM placements WHERE request_id = ?";
static const char *SQL_P_PARK =
    "UPDATE placements SET state = 'compensate', pay_attempted = MAX(pay_attempted, ?2),"
    " status = ?3, reply = ?4, updated_ms = ?5 WHERE id = ?1";
static const char *SQL_P_STEP =
    "UPDATE placements SET released = MAX(released, ?2), voided = MAX(voided, ?3), updated_ms = ?4"
    " WHERE id = ?1";
static const char *SQL_P_OPEN =
    "SELECT id, state, pay_attempted, released, voided, status, reply FROM placements"
    " WHERE state IN ('started','reserved','compensate') AND (?1 OR state = 'compensate')"
    " ORDER BY id LIMIT 100";
static const char *SQL_P_COUNT =
    "SELECT COUNT(*) FROM placements WHERE state IN ('started','reserved','compensate')";
static const char *SQL_O_ADD =
    "INSERT INTO orders(id, customer_id, customer_name, address, food_id, food_name, qty, price,"
    " amount, status, payment_status, delivery_status, created_at, updated_at)"
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,'placed','paid','pending',?10,?10)";
static const char *SQL_O_GET = "SELECT " ORDER_COLS " FROM orders WHERE id = ?";
static const char *SQL_O_LIST =
    "SELECT " ORDER_COLS " FROM orders WHERE (?1 IS NULL OR customer_id = ?1)"
    " AND (?2 IS NULL OR status = ?2) AND (?3 IS NULL OR updated_at >= ?3) ORDER BY id";
static const char *SQL_O_STATUS =
    "UPDATE orders SET status = COALESCE(?2, status), delivery_status = COALESCE(?3, delivery_status),"
    " payment_status = COALESCE(?4, payment_status), updated_at = ?5 WHERE id = ?1";

/* Shared by every thread: the breaker (under its lock), the fault point. */
static struct {
    breaker_t *breaker;
    pthread_mutex_t lock;
    char fault[64];
    /* Calls to payment in flight, with their start times (under lock): the
     * bulkhead. */
    long long paying_since[PAY_SLOTS];
    int pay_limit;
    long saturated_ms;
} order = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* Payment is saturated when pay_limit calls are in flight and the oldest has
 * been waiting longer than saturated_ms (a healthy payment answers in about
 * a millisecond): every thread would soon be stuck on it, so turn placements
 * away now (payment_busy), before the breaker has seen the slow calls
 * complete. Call under order.lock. */
static int payment_saturated(long long now)
{
    int n = 0;
    long long oldest = now;
    for (int i = 0; i < PAY_SLOTS; i++) {
        if (order.paying_since[i]) {
            n++;
            if (order.paying_since[i] < oldest)
                oldest = order.paying_since[i];
        }
    }
    return n >= order.pay_limit && now - oldest > order.saturated_ms;
}

/* Take a slot for a call to payment: its index, or -1 when saturated. */
static int pay_begin(long long now)
{
    int slot = -1;
    pthread_mutex_lock(&order.lock);
    if (!payment_saturated(now)) {
        for (int i = 0; i < PAY_SLOTS && slot < 0; i++)
            if (!order.paying_since[i])
                slot = i;
        if (slot >= 0)
            order.paying_since[slot] = now;
    }
    pthread_mutex_unlock(&order.lock);
    return slot;
}

static void pay_end(int slot)
{
    pthread_mutex_lock(&order.lock);
    order.paying_since[slot] = 0;
    pthread_mutex_unlock(&order.lock);
}

/* Each thread calls the other services on sockets of its own. */
static __thread struct {
    client_t *customer, *catalog, *payment, *delivery;
} calls;

static int breaker_allow_locked(long long now, long *retry)
{
    pthread_mutex_lock(&order.lock);
    int ok = breaker_allow(order.breaker, now, retry);
    pthread_mutex_unlock(&order.lock);
    return ok;
}

static int breaker_is_open_locked(long long now, long *retry)
{
    pthread_mutex_lock(&order.lock);
    int open = breaker_is_open(order.breaker, now, retry);
    pthread_mutex_unlock(&order.lock);
    return open;
}

static void breaker_record_locked(long long now, int ok, long elapsed)
{
    pthread_mutex_lock(&order.lock);
    breaker_record(order.breaker, now, ok, elapsed);
    pthread_mutex_unlock(&order.lock);
}

/* ---- small helpers ---- */

/* A fault point for crash tests: COUNTER_FAULT=order.after_reserve kills
 * this worker right there, as kill -9 would. */
static void fault_point(const char *name)
{
    if (order.fault[0] && strcmp(order.fault, name) == 0) {
        log_warn("fault point %s: killing myself", name);
        raise(SIGKILL);
    }
}

/* Call a service; returns 0 with *out (owned) on ok, otherwise the error in
 * err (unavailable when there was no answer). */
static int call(client_t *c, const char *cmd, json_t *body, const char *rid, json_t **out,
                proto_err_t *err)
{
    proto_rep_t rep;
    *out = NULL;
    int rc = client_call(c, cmd, body, rid, &rep, err);
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

static json_t *load_order(service_t *svc, long long id)
{
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_O_GET);
    json_t *rows;
    if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK || !(rows = db_rows(st)))
        return NULL;
    json_t *row = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return row ? row : json_null();
}

/* Customers see and touch only their own orders. */
static int owner_ok(const proto_req_t *req, long long customer, proto_err_t *err)
{
    if (req->caller.role == ROLE_CUSTOMER && atoll(req->caller.subject) != customer)
        return proto_fail(err, ERR_FORBIDDEN, "customer",
                          "customers may only see and change their own orders");
    return 0;
}

/* ---- the placement log ---- */

static int p_exec(service_t *svc, const char *sql, long long id, const char *a, const char *b,
                  const char *c, long long n)
{
    sqlite3_stmt *st = db_stmt(service_db(svc), sql);
    if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK)
        return -1;
    if (sql == SQL_P_STATE) {
        if (sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_int64(st, 3, n) != SQLITE_OK ||
            sqlite3_bind_int64(st, 4, proto_now_ms()) != SQLITE_OK)
            return -1;
    } else if (sql == SQL_P_FINISH) {
        if (sqlite3_bind_text(st, 2, a, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 3, b, -1, SQLITE_STATIC) != SQLITE_OK ||
            sqlite3_bind_text(st, 4, c, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
            sqlite3_bind_int64(st, 5, proto_now_ms()) != SQLITE_OK)
            return -1;
    }
    return db_step_done(st);
}

/* One statement in its own write transaction. */
static int p_set_state(service_t *svc, long long id, const char *state, int pay_attempted)
{
    if (db_begin(service_db(svc)) != 0)
        return -1;
    if (p_exec(svc, SQL_P_STATE, id, state, NULL, NULL, pay_attempted) != 0 ||
        db_commit(service_db(svc)) != 0) {
        db_rollback(service_db(svc));
        return -1;
    }
    return 0;
}

static int p_step(service_t *svc, long long id, int released, int voided)
{
    sqlite3_stmt *st;
    if (db_begin(service_db(svc)) != 0)
        return -1;
    if (!(st = db_stmt(service_db(svc), SQL_P_STEP)) || sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_bind_int(st, 2, released) != SQLITE_OK || sqlite3_bind_int(st, 3, voided) != SQLITE_OK ||
        sqlite3_bind_int64(st, 4, proto_now_ms()) != SQLITE_OK || db_step_done(st) != 0 ||
        db_commit(service_db(svc)) != 0) {
        db_rollback(service_db(svc));
        return -1;
    }
    return 0;
}

/* Store the final answer of a failed placement (a retry gets it again). */
static int p_fail(service_t *svc, long long id, const proto_err_t *err)
{
    json_t *body = proto_err_body(err);
    char *text = proto_dump(body);
    json_decref(body);
    int rc = -1;
    if (db_begin(service_db(svc)) == 0) {
        if (p_exec(svc, SQL_P_FINISH, id, "failed", proto_status_name(err->status), text, 0) == 0 &&
            db_commit(service_db(svc)) == 0)
            rc = 0;
        else
            db_rollback(service_db(svc));
    }
    free(text);
    return rc;
}

/* Undo what a placement may have done: release its stock, void its payment.
 * Returns 0 when everything is undone, -1 when something must be retried. */
static int compensate(service_t *svc, long long id, int pay_attempted, int released, int voided,
                      int *payment_down)
{
    char rid[48];
    json_t *out;
    proto_err_t err;
    int rc = 0;
    if (!released) {
        snprintf(rid, sizeof rid, "o%lld.release", id);
        if (call(calls.catalog, "catalog.release", json_pack("{s:I}", "order", (json_int_t)id),
                 rid, &out, &err) == 0 && p_step(svc, id, 1, 0) == 0)
            released = 1;
        else
            rc = -1;
        json_decref(out);
    }
    /* While payment does not answer, voids wait for the next recovery pass
     * instead of each costing a timeout. */
    if (pay_attempted && !voided && *payment_down)
        rc = -1;
    else if (pay_attempted && !voided) {
        snprintf(rid, sizeof rid, "o%lld.void", id);
        if (call(calls.payment, "payment.void", json_pack("{s:I}", "order", (json_int_t)id), rid,
                 &out, &err) == 0 && p_step(svc, id, 0, 1) == 0) {
            voided = 1;
        } else {
            rc = -1;
            *payment_down = err.status == ERR_UNAVAILABLE;
        }
        json_decref(out);
    }
    return rc;
}

/* Fail placement id with err: compensate now (or leave it to recovery), and
 * remember the answer. Returns err->status for the handler. */
static int fail_placement(service_t *svc, long long id, int pay_attempted, proto_err_t *err)
{
    /* Undo now while the placement is still 'started' (the background
     * thread never touches those); only what cannot be undone now is handed
     * to it, as 'compensate', with the answer the caller was given. */
    int payment_down = err->status == ERR_UNAVAILABLE ||
                       breaker_is_open_locked(proto_mono_ms(), &(long){0});
    if (compensate(svc, id, pay_attempted, 0, 0, &payment_down) == 0) {
        (void)p_fail(svc, id, err);
        return err->status;
    }
    json_t *body = proto_err_body(err);
    char *text = proto_dump(body);
    json_decref(body);
    sqlite3_stmt *st;
    if (db_begin(service_db(svc)) != 0 || !(st = db_stmt(service_db(svc), SQL_P_PARK)) ||
        sqlite3_bind_int64(st, 1, id) != SQLITE_OK || sqlite3_bind_int(st, 2, pay_attempted) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, proto_status_name(err->status), -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, proto_now_ms()) != SQLITE_OK || db_step_done(st) != 0 ||
        db_commit(service_db(svc)) != 0) {
        db_rollback(service_db(svc));
        log_error("placement %lld: cannot hand the undo over; restart recovery will do it", id);
    } else {
        log_warn("placement %lld: compensation incomplete; will retry", id);
    }
    free(text);
    return err->status;
}

/* Recovery: finish the undo of placements left unfinished. At start (all:
 * no request thread runs yet) every one; later only those already being
 * undone, never one a thread is working on. */
static void recover(service_t *svc, int all)
{
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_P_OPEN);
    json_t *rows = st && sqlite3_bind_int(st, 1, all) == SQLITE_OK ? db_rows(st) : NULL;
    size_t i;
    json_t *p;
    int payment_down = breaker_is_open_locked(proto_mono_ms(), &(long){0});
    json_array_foreach(rows, i, p) {
        long long id = jint(p, "id");
        const char *state = jstr(p, "state");
        /* A placement that crashed before finishing may have paid. */
        int pay = jint(p, "pay_attempted") || strcmp(state, "compensate") != 0;
        if (strcmp(state, "compensate") != 0) {
            log_warn("placement %lld was left %s: compensating", id, state);
            if (p_set_state(svc, id, "compensate", pay) != 0)
                continue;
        }
        if (compensate(svc, id, pay, (int)jint(p, "released"), (int)jint(p, "voided"),
                       &payment_down) == 0) {
            proto_err_t err;
            if (json_is_string(json_object_get(p, "status")) && strcmp(jstr(p, "status"), "") != 0) {
                json_t *r = json_loads(jstr(p, "reply"), 0, NULL);
                proto_fail(&err, (proto_status_t)proto_status_from_name(jstr(p, "status")), NULL,
                           "%s", jstr(r, "message"));
                json_decref(r);
            } else {
                proto_fail(&err, ERR_UNAVAILABLE, NULL,
                           "the order could not be completed; nothing was charged");
            }
            (void)p_fail(svc, id, &err);
            log_info("placement %lld compensated", id);
        }
    }
    json_decref(rows);
}

/* ---- order.place ---- */

/* A request id seen before: the stored answer. 1 replayed, 0 new, -1 error.
 * A retry that arrives while the first attempt is still running (another
 * thread has it) waits for that attempt's outcome instead of answering
 * before it is known. */
static int replay(service_t *svc, const proto_req_t *req, json_t **result, proto_err_t *err,
                  int *status)
{
    long long deadline = proto_mono_ms() + REPLAY_WAIT_MS;
    for (;;) {
        sqlite3_stmt *st = db_stmt(service_db(svc), SQL_P_BY_RID);
        json_t *rows;
        if (!st || sqlite3_bind_text(st, 1, req->request_id, -1, SQLITE_STATIC) != SQLITE_OK ||
            !(rows = db_rows(st)))
            return -1;
        json_t *p = json_array_get(rows, 0);
        if (!p) {
            json_decref(rows);
            return 0;
        }
        const char *state = jstr(p, "state");
        const json_t *b = req->body;
        if (strcmp(jstr(p, "caller"), req->caller_raw) != 0 ||
            jint(p, "customer_id") != jint(b, "customer") || jint(p, "food_id") != jint(b, "food") ||
            jint(p, "qty") != jint(b, "qty")) {
            *status = proto_fail(err, ERR_CONFLICT, "request_id",
                                 "request id %s was already used for another order",
                                 req->request_id);
        } else if (strcmp(state, "done") == 0) {
            *result = load_order(svc, jint(p, "id"));
            *status = *result ? ERR_OK : proto_fail(err, ERR_INTERNAL, NULL, "database error");
        } else if (strcmp(state, "failed") == 0) {
            json_t *r = json_loads(jstr(p, "reply"), 0, NULL);
            *status = proto_fail(err, (proto_status_t)proto_status_from_name(jstr(p, "status")),
                                 json_string_value(json_object_get(r, "field")), "%s",
                                 jstr(r, "message"));
            err->retry_after_ms = (long)jint(r, "retry_after_ms");
            json_decref(r);
        } else if (proto_mono_ms() < deadline) {
            json_decref(rows);
            struct timespec ts = {0, 20 * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        } else {
            *status = proto_fail(err, ERR_UNAVAILABLE, NULL,
                                 "this order is still being processed; ask again in a moment");
        }
        json_decref(rows);
        return 1;
    }
}

static int cmd_place(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                     proto_err_t *err)
{
    long long customer = jint(body, "customer"), food = jint(body, "food"), qty = jint(body, "qty");
    if (owner_ok(req, customer, err))
        return err->status;
    int status;
    int seen = replay(svc, req, result, err, &status);
    if (seen < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    if (seen)
        return status;

    /* N2: while the breaker is open, turn the customer away before holding
     * anything. */
    long retry = 0;
    if (breaker_is_open_locked(proto_mono_ms(), &retry)) {
        pthread_mutex_lock(&order.lock);
        breaker_count_rejected(order.breaker);
        pthread_mutex_unlock(&order.lock);
        proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment is busy; try again in %ld ms", retry);
        err->retry_after_ms = retry;
        return err->status;
    }

    sqlite3_stmt *st;
    if (db_begin(service_db(svc)) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database busy");
    if (!(st = db_stmt(service_db(svc), SQL_P_ADD)) ||
        sqlite3_bind_text(st, 1, req->request_id, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_text(st, 2, req->caller_raw, -1, SQLITE_STATIC) != SQLITE_OK ||
        sqlite3_bind_int64(st, 3, customer) != SQLITE_OK || sqlite3_bind_int64(st, 4, food) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, qty) != SQLITE_OK ||
        sqlite3_bind_int64(st, 6, proto_now_ms()) != SQLITE_OK || db_step_done(st) != 0 ||
        db_commit(service_db(svc)) != 0) {
        db_rollback(service_db(svc));
        /* The same request id, started by another thread a moment ago? */
        if ((seen = replay(svc, req, result, err, &status)) == 1)
            return status;
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot start the order");
    }
    long long id = sqlite3_last_insert_rowid(db_handle(service_db(svc)));
    char rid[48];
    json_t *cust = NULL, *res = NULL, *paid = NULL;
    int pay_attempted = 0;

    /* 2. the customer exists and has not withdrawn */
    if (call(calls.customer, "customer.show", json_pack("{s:I}", "id", (json_int_t)customer), NULL,
             &cust, err) != 0) {
        if (err->status == ERR_NOT_FOUND)
            snprintf(err->field, sizeof err->field, "customer");
        goto failed;
    }
    if (strcmp(jstr(cust, "status"), "active") != 0) {
        proto_fail(err, ERR_NOT_FOUND, "customer", "customer %lld has withdrawn", customer);
        goto failed;
    }
    /* 3. hold the stock */
    snprintf(rid, sizeof rid, "o%lld.reserve", id);
    if (call(calls.catalog, "catalog.reserve",
             json_pack("{s:I, s:I, s:I}", "order", (json_int_t)id, "food", (json_int_t)food, "qty",
                       (json_int_t)qty), rid, &res, err) != 0) {
        if (err->status == ERR_NOT_FOUND)
            snprintf(err->field, sizeof err->field, "food");
        goto failed;
    }
    /* No commit here: a placement left 'started' is undone as if payment
     * might have been tried (a void of an unpaid order only leaves a
     * tombstone), which saves a commit on every order. */
    fault_point("order.after_reserve");

    /* 4. pay, through the breaker, and through the bulkhead: once pay_limit
     * calls are in flight and the oldest is slow, placements are turned away
     * instead of joining them, so a slow payment never ties up every thread. */
    int slot = pay_begin(proto_mono_ms());
    if (slot < 0) {
        proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment is busy; try again in a moment");
        err->retry_after_ms = 500;
        goto failed;
    }
    if (!breaker_allow_locked(proto_mono_ms(), &retry)) {
        pay_end(slot);
        proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment is busy; try again in %ld ms", retry);
        err->retry_after_ms = retry;
        goto failed;
    }
    long long amount = jint(res, "amount");
    snprintf(rid, sizeof rid, "o%lld.pay", id);
    pay_attempted = 1;
    long long t0 = proto_mono_ms();
    int prc = call(calls.payment, "payment.pay",
                   json_pack("{s:I, s:I, s:I}", "order", (json_int_t)id, "customer",
                             (json_int_t)customer, "amount", (json_int_t)amount), rid, &paid, err);
    pay_end(slot);
    int healthy = prc == 0 || err->status == ERR_PAYMENT_DECLINED;
    breaker_record_locked(proto_mono_ms(), healthy, (long)(proto_mono_ms() - t0));
    if (prc != 0) {
        if (err->status == ERR_PAYMENT_DECLINED) {
            /* a decline is the payment's answer: passed on as it is */
        } else if (breaker_is_open_locked(proto_mono_ms(), &retry)) {
            proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment is busy; try again in %ld ms", retry);
            err->retry_after_ms = retry;
        } else if (err->status == ERR_UNAVAILABLE) {
            proto_fail(err, ERR_UNAVAILABLE, NULL, "payment is unavailable; nothing was charged");
        } else if (!healthy) {
            proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment failed; please pay again in a moment");
            err->retry_after_ms = 1000;
        }
        goto failed;
    }
    fault_point("order.after_pay");

    /* 5. the order exists from here on, with its Ordered event */
    char now[32];
    proto_utc_now(now, sizeof now);
    long long price = jint(res, "price");
    if (db_begin(service_db(svc)) != 0)
        goto internal;
    st = db_stmt(service_db(svc), SQL_O_ADD);
    if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        sqlite3_bind_int64(st, 2, customer) != SQLITE_OK ||
        sqlite3_bind_text(st, 3, jstr(cust, "name"), -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_text(st, 4, jstr(cust, "address"), -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 5, food) != SQLITE_OK ||
        sqlite3_bind_text(st, 6, jstr(res, "name"), -1, SQLITE_TRANSIENT) != SQLITE_OK ||
        sqlite3_bind_int64(st, 7, qty) != SQLITE_OK || sqlite3_bind_int64(st, 8, price) != SQLITE_OK ||
        sqlite3_bind_int64(st, 9, amount) != SQLITE_OK ||
        sqlite3_bind_text(st, 10, now, -1, SQLITE_TRANSIENT) != SQLITE_OK || db_step_done(st) != 0 ||
        p_exec(svc, SQL_P_FINISH, id, "done", "ok", "{}", 0) != 0 ||
        bus_emit(service_bus(svc), "Ordered", "orderId", id,
                 json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "customerId",
                           (json_int_t)customer, "customerid", (json_int_t)customer, "foodId",
                           (json_int_t)food, "foodcaltalogid", (json_int_t)food, "foodName",
                           jstr(res, "name"), "customerName", jstr(cust, "name"), "address",
                           jstr(cust, "address"), "qty", (json_int_t)qty, "price",
                           (json_int_t)price, "amount", (json_int_t)amount, "status",
                           "placed")) != 0 ||
        db_commit(service_db(svc)) != 0) {
        db_rollback(service_db(svc));
        goto internal;
    }
    bus_flush(service_bus(svc));
    json_decref(cust);
    json_decref(res);
    json_decref(paid);
    *result = load_order(svc, id);
    return *result ? 0 : proto_fail(err, ERR_INTERNAL, NULL, "database error");

internal:
    proto_fail(err, ERR_INTERNAL, NULL, "cannot store the order; nothing was charged");
failed:
    json_decref(cust);
    json_decref(res);
    json_decref(paid);
    return fail_placement(svc, id, pay_attempted, err);
}

/* ---- reading and cancelling ---- */

static int cmd_list(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    const json_t *c = json_object_get(body, "customer"), *s = json_object_get(body, "status"),
                 *since = json_object_get(body, "since");
    long long customer = c ? json_integer_value(c) : 0;
    if (req->caller.role == ROLE_CUSTOMER) {
        if (c && owner_ok(req, customer, err))
            return err->status;
        customer = atoll(req->caller.subject);
    }
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_O_LIST);
    if (!st || (customer ? sqlite3_bind_int64(st, 1, customer) : sqlite3_bind_null(st, 1)) != SQLITE_OK ||
        db_bind_text_or_null(st, 2, s) != SQLITE_OK ||
        db_bind_text_or_null(st, 3, since) != SQLITE_OK)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    return service_items(st, result, err);
}

static int cmd_show(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    long long id = jint(body, "id");
    json_t *o = load_order(svc, id);
    if (!o)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    if (json_is_null(o))
        return proto_fail(err, ERR_NOT_FOUND, "id", "order %lld does not exist", id);
    if (owner_ok(req, jint(o, "customerId"), err)) {
        json_decref(o);
        return err->status;
    }
    *result = o;
    return 0;
}

static int set_status(service_t *svc, long long id, const char *status, const char *delivery,
                      const char *payment)
{
    char now[32];
    proto_utc_now(now, sizeof now);
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_O_STATUS);
    if (!st || sqlite3_bind_int64(st, 1, id) != SQLITE_OK ||
        (status ? sqlite3_bind_text(st, 2, status, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 2)) != SQLITE_OK ||
        (delivery ? sqlite3_bind_text(st, 3, delivery, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 3)) != SQLITE_OK ||
        (payment ? sqlite3_bind_text(st, 4, payment, -1, SQLITE_STATIC) : sqlite3_bind_null(st, 4)) != SQLITE_OK ||
        sqlite3_bind_text(st, 5, now, -1, SQLITE_TRANSIENT) != SQLITE_OK)
        return -1;
    return db_step_done(st);
}

static int cmd_cancel(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                      proto_err_t *err)
{
    long long id = jint(body, "id");
    json_t *o = load_order(svc, id), *out = NULL;
    if (!o)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    if (json_is_null(o))
        return proto_fail(err, ERR_NOT_FOUND, "id", "order %lld does not exist", id);
    const char *status = jstr(o, "status");
    int rc = 0;
    if (owner_ok(req, jint(o, "customerId"), err))
        rc = err->status;
    else if (strcmp(status, "delivered") == 0)
        rc = proto_fail(err, ERR_CONFLICT, "id", "delivered orders cannot be cancelled");
    else if (strcmp(status, "cancelled") == 0 || strcmp(status, "cancel_requested") == 0)
        rc = proto_fail(err, ERR_CONFLICT, "id", "order %lld is already %s", id, status);
    json_decref(o);
    if (rc)
        return rc;
    /* N1b: the delivery team's side decides, synchronously. */
    if (call(calls.delivery, "delivery.cancel_request",
             json_pack("{s:I, s:s}", "order", (json_int_t)id, "by", req->caller_raw),
             req->request_id, &out, err) != 0) {
        if (err->status == ERR_NOT_FOUND)
            proto_fail(err, ERR_UNAVAILABLE, NULL,
                       "the delivery team has not received order %lld yet; try again in a moment", id);
        else if (err->status == ERR_UNAVAILABLE)
            proto_fail(err, ERR_UNAVAILABLE, NULL, "delivery is unavailable; the order goes on");
        return err->status;
    }
    json_decref(out);
    if (db_begin(service_db(svc)) != 0 ||
        set_status(svc, id, "cancel_requested", "cancel_requested", NULL) != 0 ||
        db_commit(service_db(svc)) != 0) {
        db_rollback(service_db(svc));
        /* Delivery has the request; its CancelRequested event brings us along. */
        log_warn("order %lld: cannot record cancel_requested now", id);
    }
    *result = load_order(svc, id);
    return *result ? 0 : proto_fail(err, ERR_INTERNAL, NULL, "database error");
}

static int cmd_audit(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                     proto_err_t *err)
{
    (void)req;
    (void)body;
    if (db_begin_read(service_db(svc)) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_O_LIST);
    json_t *rows = st ? db_rows(st) : NULL;
    sqlite3_stmt *cnt = db_stmt(service_db(svc), SQL_P_COUNT);
    long long open = cnt ? db_int(cnt, -1) : -1;
    db_rollback(service_db(svc));
    if (!rows || open < 0) {
        json_decref(rows);
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    }
    *result = json_pack("{s:o, s:I}", "items", rows, "unfinished_placements", (json_int_t)open);
    return 0;
}

/* ---- events from delivery and payment ---- */

static const struct {
    const char *event;
    const char *order_status;     /* NULL: from the event's "status" */
} delivery_events[] = {
    {"DeliveryReceived", NULL}, {"DeliveryConfirmed", NULL}, {"Shipped", NULL},
    {"Delivered", NULL},        {"CancelRequested", NULL},   {"CancelRejected", NULL},
    {"DeliveryCanceled", NULL},
};

/* The order's status that follows a delivery status. */
static const char *order_status_for(const char *delivery)
{
    return strcmp(delivery, "received") == 0 ? "placed" : delivery;
}

static int on_delivery(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    const char *type = jstr(ev, "eventType");
    size_t i, n = sizeof delivery_events / sizeof delivery_events[0];
    for (i = 0; i < n && strcmp(delivery_events[i].event, type) != 0; i++)
        ;
    if (i == n)
        return 0;
    long long id = jint(ev, "orderId");
    json_t *o = load_order(svc, id);
    if (!o)
        return -1;
    if (json_is_null(o)) {
        log_warn("%s for unknown order %lld", type, id);
        return 0;
    }
    int was_cancelled = strcmp(jstr(o, "status"), "cancelled") == 0;
    json_decref(o);
    if (was_cancelled)
        return 0;
    const char *dstatus = jstr(ev, "status");
    if (set_status(svc, id, order_status_for(dstatus), dstatus, NULL) != 0)
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
    recover(svc, 0);
}

static void health(service_t *svc, json_t *h)
{
    (void)svc;
    pthread_mutex_lock(&order.lock);
    json_object_set_new(h, "breaker", breaker_json(order.breaker));
    pthread_mutex_unlock(&order.lock);
}

static client_t *connect_to(service_t *svc, const char *service, int timeout_ms, int attempts)
{
    char ep[512];
    if (config_endpoint(service_config(svc), service, "req", ep, sizeof ep) != 0)
        return NULL;
    client_t *c = client_new(service_ctx(svc), ep);
    if (c) {
        client_set_caller(c, "system:order");
        client_set_timeout(c, timeout_ms, attempts);
    }
    return c;
}

/* In the main thread: while the breaker is open, placements are answered
 * payment_busy without waiting for a request thread (N2: callers get the
 * fallback at once, even when every thread is tied up in a slow call). */
static int fast_reply(service_t *svc, const char *command, const char *request_id, proto_err_t *err)
{
    long retry = 0;
    long long now = proto_mono_ms();
    if (strcmp(command, "order.place") != 0)
        return 0;
    pthread_mutex_lock(&order.lock);
    int refuse = breaker_is_open(order.breaker, now, &retry);
    if (!refuse && payment_saturated(now)) {
        refuse = 1;
        retry = 500;
    }
    pthread_mutex_unlock(&order.lock);
    if (!refuse)
        return 0;
    /* A retry of a placement we know gets its own answer from a thread. */
    sqlite3_stmt *st = db_stmt(service_db(svc), SQL_P_KNOWN);
    if (!st || sqlite3_bind_text(st, 1, request_id, -1, SQLITE_STATIC) != SQLITE_OK ||
        db_int(st, 0) != 0)
        return 0;
    pthread_mutex_lock(&order.lock);
    breaker_count_rejected(order.breaker);
    pthread_mutex_unlock(&order.lock);
    proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment is busy; try again in %ld ms", retry);
    err->retry_after_ms = retry;
    return 1;
}

static void thread_stop(service_t *svc)
{
    (void)svc;
    client_destroy(&calls.customer);
    client_destroy(&calls.catalog);
    client_destroy(&calls.delivery);
    client_destroy(&calls.payment);
}

static int thread_start(service_t *svc)
{
    const config_t *cfg = service_config(svc);
    int t = (int)config_int(cfg, "order.call_timeout_ms");
    calls.customer = connect_to(svc, "customer", t, 2);
    calls.catalog = connect_to(svc, "catalog", t, 2);
    calls.delivery = connect_to(svc, "delivery", t, 2);
    calls.payment = connect_to(svc, "payment", (int)config_int(cfg, "breaker.timeout_ms"), 1);
    if (!calls.customer || !calls.catalog || !calls.delivery || !calls.payment) {
        thread_stop(svc);
        return -1;
    }
    return 0;
}

static int start(service_t *svc)
{
    const config_t *cfg = service_config(svc);
    order.breaker = breaker_new((int)config_int(cfg, "breaker.failures"),
                                config_int(cfg, "breaker.slow_ms"),
                                config_int(cfg, "breaker.open_ms"),
                                (int)config_int(cfg, "breaker.trials"));
    snprintf(order.fault, sizeof order.fault, "%s", config_str(cfg, "fault"));
    order.pay_limit = (int)config_int(cfg, "order.pay_concurrency");
    if (order.pay_limit < 1)
        order.pay_limit = 1;
    order.saturated_ms = config_int(cfg, "order.pay_saturated_ms");
    /* The main thread's own calls: recovery and timers. */
    if (thread_start(svc) != 0)
        return -1;
    if (bus_subscribe(service_bus(svc), "delivery", on_delivery, svc) != 0 ||
        bus_subscribe(service_bus(svc), "payment", on_payment, svc) != 0)
        return -1;
    recover(svc, 1);
    return 0;
}

static const svc_cmd_t commands[] = {
    {"order.place", cmd_place},
    {"order.list", cmd_list},
    {"order.show", cmd_show},
    {"order.cancel", cmd_cancel},
    {"order.audit", cmd_audit},
    {NULL, NULL},
};

const svc_def_t svc_order = {"order", SCHEMA, commands, start, NULL, health, thread_start,
                             thread_stop, fast_reply, background, 8};
