/*
 * order_saga.c - placing an order: the order saga (DESIGN section 4; F4-F5,
 * N1a, N2, F12).
 *
 * Placing an order is a saga over synchronous calls, logged step by step in
 * the `placements` table (never inside a transaction that spans a call):
 *
 *   started --customer ok, catalog.reserve ok, payment.pay ok--> done
 *        \
 *         +-- any failure --> compensate --> failed
 *
 * order_place reads as DESIGN section 4: check_customer (2), reserve (3),
 * pay (4), commit (5). `compensate` releases the reservation
 * (catalog.release) and, when payment may have been attempted, voids it
 * (payment.void refunds a payment that went through). Every call carries a
 * request id derived from the order id, and catalog and payment are
 * idempotent per order, so a retry never reserves or pays twice. The order
 * row and its Ordered event are written in the same transaction that marks
 * the placement done: an unpaid order never exists. After a crash, every
 * placement not done or failed is compensated on restart, and compensations
 * that could not finish (a service down) are retried every second.
 *
 * Calls to payment go through a circuit breaker: while it is open,
 * placements are answered payment_busy at once, before any stock is held.
 */
#include "breaker.h"
#include "log.h"
#include "order.h"

#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a retried placement waits for the first attempt to finish: more
 * than the longest placement (calls with their timeouts and retries). */
#define REPLAY_WAIT_MS 15000
#define PAY_SLOTS 64     /* more than request threads + main + background */

/* The placement log: reading it, then its changes in the order they come. */
static const char *SQL_P_KNOWN = "SELECT COUNT(*) FROM placements WHERE request_id = ?";
static const char *SQL_P_BY_RID =
    "SELECT id, state, status, reply, caller, customer_id, food_id, qty FROM placements"
    " WHERE request_id = ?";
static const char *SQL_P_OPEN =
    "SELECT id, state, pay_attempted, released, voided, status, reply FROM placements"
    " WHERE state IN ('started','reserved','compensate') AND (?1 OR state = 'compensate')"
    " ORDER BY id LIMIT 100";
static const char *SQL_P_ADD =
    "INSERT INTO placements(request_id, caller, customer_id, food_id, qty, state, created_ms,"
    " updated_ms) VALUES(?1,?2,?3,?4,?5,'started',?6,?6)";
/* To be undone (by recovery), with the answer given when there is one. */
static const char *SQL_P_COMPENSATE =
    "UPDATE placements SET state = 'compensate', pay_attempted = MAX(pay_attempted, ?2),"
    " status = COALESCE(?3, status), reply = COALESCE(?4, reply), updated_ms = ?5 WHERE id = ?1";
static const char *SQL_P_UNDONE =
    "UPDATE placements SET released = MAX(released, ?2), voided = MAX(voided, ?3), updated_ms = ?4"
    " WHERE id = ?1";
static const char *SQL_P_FINISH =
    "UPDATE placements SET state = ?2, status = ?3, reply = ?4, updated_ms = ?5 WHERE id = ?1";
/* The order itself, stored in the transaction that finishes its placement. */
static const char *SQL_O_ADD =
    "INSERT INTO orders(id, customer_id, customer_name, address, food_id, food_name, qty, price,"
    " amount, status, payment_status, delivery_status, created_at, updated_at)"
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,'placed','paid','pending',?10,?10)";

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
} saga = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* One placement on its way: what its steps learn. */
typedef struct {
    service_t *svc;
    const proto_req_t *req;
    long long id;                  /* the placement's, and the order's */
    long long customer, food, qty;
    json_t *cust;                  /* customer.show's answer */
    json_t *res;                   /* catalog.reserve's: name, price, amount */
    int pay_attempted;
} placement_t;

/* ---- the breaker and the bulkhead ---- */

/* Payment is saturated when pay_limit calls are in flight and the oldest has
 * been waiting longer than saturated_ms (a healthy payment answers in about
 * a millisecond): every thread would soon be stuck on it, so turn placements
 * away now (payment_busy), before the breaker has seen the slow calls
 * complete. Call under saga.lock. */
static int payment_saturated(long long now)
{
    int n = 0;
    long long oldest = now;
    for (int i = 0; i < PAY_SLOTS; i++) {
        if (saga.paying_since[i]) {
            n++;
            if (saga.paying_since[i] < oldest)
                oldest = saga.paying_since[i];
        }
    }
    return n >= saga.pay_limit && now - oldest > saga.saturated_ms;
}

/* Take a slot for a call to payment: its index, or -1 when saturated. */
static int pay_begin(long long now)
{
    int slot = -1;
    pthread_mutex_lock(&saga.lock);
    if (!payment_saturated(now)) {
        for (int i = 0; i < PAY_SLOTS && slot < 0; i++)
            if (!saga.paying_since[i])
                slot = i;
        if (slot >= 0)
            saga.paying_since[slot] = now;
    }
    pthread_mutex_unlock(&saga.lock);
    return slot;
}

static void pay_end(int slot)
{
    pthread_mutex_lock(&saga.lock);
    saga.paying_since[slot] = 0;
    pthread_mutex_unlock(&saga.lock);
}

/* One log line per change of the breaker's state. */
static void breaker_log_change(const char *from, const char *to)
{
    if (strcmp(from, to) != 0)
        log_info("payment breaker: %s -> %s", from, to);
}

static int breaker_allow_locked(long long now, long *retry)
{
    pthread_mutex_lock(&saga.lock);
    const char *from = breaker_state(saga.breaker);
    int ok = breaker_allow(saga.breaker, now, retry);
    const char *to = breaker_state(saga.breaker);
    pthread_mutex_unlock(&saga.lock);
    breaker_log_change(from, to);
    return ok;
}

static int breaker_is_open_locked(long long now, long *retry)
{
    pthread_mutex_lock(&saga.lock);
    int open = breaker_is_open(saga.breaker, now, retry);
    pthread_mutex_unlock(&saga.lock);
    return open;
}

static void breaker_record_locked(long long now, int ok, long elapsed)
{
    pthread_mutex_lock(&saga.lock);
    const char *from = breaker_state(saga.breaker);
    breaker_record(saga.breaker, now, ok, elapsed);
    const char *to = breaker_state(saga.breaker);
    pthread_mutex_unlock(&saga.lock);
    breaker_log_change(from, to);
}

static void breaker_count_rejected_locked(void)
{
    pthread_mutex_lock(&saga.lock);
    breaker_count_rejected(saga.breaker);
    pthread_mutex_unlock(&saga.lock);
}

/* The fallback (N2): payment_busy, to be tried again in retry ms. */
static int busy(proto_err_t *err, long retry)
{
    proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment is busy; try again in %ld ms", retry);
    err->retry_after_ms = retry;
    return err->status;
}

/* A fault point for crash tests: COUNTER_FAULT=order.after_reserve kills
 * this worker right there, as kill -9 would. */
static void fault_point(const char *name)
{
    if (saga.fault[0] && strcmp(saga.fault, name) == 0) {
        log_warn("fault point %s: killing myself", name);
        raise(SIGKILL);
    }
}

/* ---- the placement log: one function per change ---- */

/* Run one change of the log in a write transaction of its own: 0 or -1. */
static int plog_change(service_t *svc, const char *sql, const char *fmt, ...)
{
    db_t *db = service_db(svc);
    sqlite3_stmt *st;
    va_list ap;
    va_start(ap, fmt);
    int rc = db_begin(db) == 0 && (st = db_stmt(db, sql)) && db_bindv(st, fmt, ap) == 0 &&
                     db_step_done(st) == 0 && db_commit(db) == 0
                 ? 0
                 : -1;
    va_end(ap);
    if (rc != 0)
        db_rollback(db);
    return rc;
}

/* The answer err as the log keeps it (caller frees). */
static char *plog_reply(const proto_err_t *err)
{
    json_t *body = proto_err_body(err);
    char *text = proto_dump(body);
    json_decref(body);
    return text;
}

/* A new placement for the request, 'started', inside the caller's
 * transaction; p->id is its id from now on. 0 or -1. */
static int plog_start(placement_t *p)
{
    db_t *db = service_db(p->svc);
    if (db_run(db, SQL_P_ADD, "ssiiii", p->req->request_id, p->req->caller_raw, p->customer,
               p->food, p->qty, proto_now_ms()) != 0)
        return -1;
    p->id = db_last_id(db);
    return 0;
}

/* Left unfinished by a crash: to be undone, as if payment was attempted when
 * pay_attempted. */
static int plog_compensating(service_t *svc, long long id, int pay_attempted)
{
    return plog_change(svc, SQL_P_COMPENSATE, "iissi", id, (long long)pay_attempted, NULL, NULL,
                       proto_now_ms());
}

/* Part of the undo is done: the stock released, the payment voided. */
static int plog_undone(service_t *svc, long long id, int released, int voided)
{
    return plog_change(svc, SQL_P_UNDONE, "iiii", id, (long long)released, (long long)voided,
                       proto_now_ms());
}

/* Not fully undone now: handed over to the background thread, with the
 * answer the caller was given. */
static int plog_handed_over(service_t *svc, long long id, int pay_attempted, const proto_err_t *err)
{
    char *text = plog_reply(err);
    int rc = plog_change(svc, SQL_P_COMPENSATE, "iissi", id, (long long)pay_attempted,
                         proto_status_name(err->status), text, proto_now_ms());
    free(text);
    return rc;
}

/* Failed and undone, with its final answer (a retry gets it again). */
static int plog_failed(service_t *svc, long long id, const proto_err_t *err)
{
    char *text = plog_reply(err);
    int rc = plog_change(svc, SQL_P_FINISH, "isssi", id, "failed", proto_status_name(err->status),
                         text, proto_now_ms());
    free(text);
    return rc;
}

/* Done: inside the transaction that stores the order. */
static int plog_done(service_t *svc, long long id)
{
    return db_run(service_db(svc), SQL_P_FINISH, "isssi", id, "done", "ok", "{}", proto_now_ms());
}

/* ---- compensation and recovery ---- */

/* Undo what a placement may have done: release its stock, void its payment.
 * Returns 0 when everything is undone, -1 when something must be retried. */
static int compensate(service_t *svc, long long id, int pay_attempted, int released, int voided,
                      int *payment_down)
{
    char rid[48];
    json_t *out;
    proto_err_t err = {0};
    int rc = 0;
    if (!released) {
        snprintf(rid, sizeof rid, "o%lld.release", id);
        if (order_call(ORDER_CATALOG, "catalog.release", json_pack("{s:I}", "order", (json_int_t)id),
                       rid, &out, &err) != 0 || plog_undone(svc, id, 1, 0) != 0)
            rc = -1;
        json_decref(out);
    }
    /* While payment does not answer, voids wait for the next recovery pass
     * instead of each costing a timeout. */
    if (pay_attempted && !voided && *payment_down) {
        rc = -1;
    } else if (pay_attempted && !voided) {
        snprintf(rid, sizeof rid, "o%lld.void", id);
        if (order_call(ORDER_PAYMENT, "payment.void", json_pack("{s:I}", "order", (json_int_t)id),
                       rid, &out, &err) != 0 || plog_undone(svc, id, 0, 1) != 0) {
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
    if (compensate(svc, id, pay_attempted, 0, 0, &payment_down) == 0)
        (void)plog_failed(svc, id, err);
    else if (plog_handed_over(svc, id, pay_attempted, err) != 0)
        log_error("placement %lld: cannot hand the undo over; restart recovery will do it", id);
    else
        log_warn("placement %lld: compensation incomplete; will retry", id);
    return err->status;
}

/* Recovery of one unfinished placement (a row of SQL_P_OPEN). */
static void recover_one(service_t *svc, const json_t *p, int *payment_down)
{
    long long id = jint(p, "id");
    const char *state = jstr(p, "state");
    /* A placement that crashed before finishing may have paid. */
    int pay = jint(p, "pay_attempted") || strcmp(state, "compensate") != 0;
    if (strcmp(state, "compensate") != 0) {
        log_warn("placement %lld was left %s: compensating", id, state);
        if (plog_compensating(svc, id, pay) != 0)
            return;
    }
    if (compensate(svc, id, pay, (int)jint(p, "released"), (int)jint(p, "voided"), payment_down) != 0)
        return;
    proto_err_t err;
    if (json_is_string(json_object_get(p, "status")) && strcmp(jstr(p, "status"), "") != 0) {
        json_t *r = json_loads(jstr(p, "reply"), 0, NULL);
        proto_fail(&err, (proto_status_t)proto_status_from_name(jstr(p, "status")), NULL, "%s",
                   jstr(r, "message"));
        json_decref(r);
    } else {
        proto_fail(&err, ERR_UNAVAILABLE, NULL, "the order could not be completed; nothing was charged");
    }
    (void)plog_failed(svc, id, &err);
    log_info("placement %lld compensated", id);
}

void order_recover(service_t *svc, int all)
{
    sqlite3_stmt *st = db_prep(service_db(svc), SQL_P_OPEN, "i", (long long)all);
    json_t *rows = st ? db_rows(st) : NULL;
    size_t i;
    json_t *p;
    int payment_down = breaker_is_open_locked(proto_mono_ms(), &(long){0});
    json_array_foreach(rows, i, p)
        recover_one(svc, p, &payment_down);
    json_decref(rows);
}

/* ---- replay: a request id seen before ---- */

/* The answer for the placement row p of this request id, when it is final:
 * 1 with *status (and *result or err), or 0 while it is still under way. */
static int replay_answer(service_t *svc, const proto_req_t *req, const json_t *p, json_t **result,
                         proto_err_t *err, int *status)
{
    const char *state = jstr(p, "state");
    const json_t *b = req->body;
    if (strcmp(jstr(p, "caller"), req->caller_raw) != 0 ||
        jint(p, "customer_id") != jint(b, "customer") || jint(p, "food_id") != jint(b, "food") ||
        jint(p, "qty") != jint(b, "qty")) {
        *status = proto_fail(err, ERR_CONFLICT, "request_id",
                             "request id %s was already used for another order", req->request_id);
    } else if (strcmp(state, "done") == 0) {
        *result = order_load(svc, jint(p, "id"), err);
        *status = *result ? ERR_OK : proto_fail(err, ERR_INTERNAL, NULL, "database error");
    } else if (strcmp(state, "failed") == 0) {
        json_t *r = json_loads(jstr(p, "reply"), 0, NULL);
        *status = proto_fail(err, (proto_status_t)proto_status_from_name(jstr(p, "status")),
                             json_string_value(json_object_get(r, "field")), "%s",
                             jstr(r, "message"));
        err->retry_after_ms = (long)jint(r, "retry_after_ms");
        json_decref(r);
    } else {
        return 0;
    }
    return 1;
}

/* A request id seen before: the stored answer. 1 replayed, 0 new, -1 error.
 * A retry that arrives while the first attempt is still running (another
 * thread has it) waits for that attempt's outcome instead of answering
 * before it is known. */
static int replay(service_t *svc, const proto_req_t *req, json_t **result, proto_err_t *err,
                  int *status)
{
    long long deadline = proto_mono_ms() + REPLAY_WAIT_MS;
    for (;;) {
        proto_err_t e;
        json_t *p = db_first(service_db(svc), &e, SQL_P_BY_RID, "s", req->request_id);
        if (!p)
            return e.status == ERR_NOT_FOUND ? 0 : -1;
        int final = replay_answer(svc, req, p, result, err, status);
        json_decref(p);
        if (final)
            return 1;
        if (proto_mono_ms() >= deadline) {
            *status = proto_fail(err, ERR_UNAVAILABLE, NULL,
                                 "this order is still being processed; ask again in a moment");
            return 1;
        }
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* ---- order.place, step by step (DESIGN section 4) ---- */

/* 1b. N2: while the breaker is open, turn the customer away before holding
 * anything: payment_busy in err, or 0. */
static int turn_away(proto_err_t *err)
{
    long retry = 0;
    if (!breaker_is_open_locked(proto_mono_ms(), &retry))
        return 0;
    breaker_count_rejected_locked();
    return busy(err, retry);
}

/* 1c. Log the placement 'started'. 0, or 1 when it is answered already:
 * *status (a database error, or the answer of another thread that started
 * this request id a moment ago). */
static int begin_placement(placement_t *p, json_t **result, proto_err_t *err, int *status)
{
    db_t *db = service_db(p->svc);
    if (db_begin(db) != 0) {
        *status = proto_fail(err, ERR_INTERNAL, NULL, "database busy");
        return 1;
    }
    if (plog_start(p) == 0 && db_commit(db) == 0)
        return 0;
    db_rollback(db);
    /* The same request id, started by another thread a moment ago? */
    if (replay(p->svc, p->req, result, err, status) != 1)
        *status = proto_fail(err, ERR_INTERNAL, NULL, "cannot start the order");
    return 1;
}

/* Call a service for a step; its not_found names field. 0 or -1 (err). */
static int ask(order_peer_t to, const char *cmd, json_t *body, const char *rid, json_t **out,
               const char *field, proto_err_t *err)
{
    if (order_call(to, cmd, body, rid, out, err) == 0)
        return 0;
    if (err->status == ERR_NOT_FOUND)
        snprintf(err->field, sizeof err->field, "%s", field);
    return -1;
}

/* 2. customer: the customer exists and has not withdrawn. */
static int check_customer(placement_t *p, proto_err_t *err)
{
    if (ask(ORDER_CUSTOMER, "customer.show", json_pack("{s:I}", "id", (json_int_t)p->customer),
            NULL, &p->cust, "customer", err) != 0)
        return -1;
    if (strcmp(jstr(p->cust, "status"), "active") != 0)
        return proto_fail(err, ERR_NOT_FOUND, "customer", "customer %lld has withdrawn", p->customer);
    return 0;
}

/* 3. catalog: hold qty of the food for this order (catalog never oversells). */
static int reserve(placement_t *p, proto_err_t *err)
{
    char rid[48];
    snprintf(rid, sizeof rid, "o%lld.reserve", p->id);
    if (ask(ORDER_CATALOG, "catalog.reserve",
            json_pack("{s:I, s:I, s:I}", "order", (json_int_t)p->id, "food", (json_int_t)p->food,
                      "qty", (json_int_t)p->qty),
            rid, &p->res, "food", err) != 0)
        return -1;
    /* No commit here: a placement left 'started' is undone as if payment
     * might have been tried (a void of an unpaid order only leaves a
     * tombstone), which saves a commit on every order. */
    fault_point("order.after_reserve");
    return 0;
}

/* What the caller hears when payment did not pay (err: its answer). */
static int pay_refused(proto_err_t *err)
{
    long retry = 0;
    if (err->status == ERR_PAYMENT_DECLINED) {
        /* a decline is the payment's answer: passed on as it is */
    } else if (breaker_is_open_locked(proto_mono_ms(), &retry)) {
        busy(err, retry);
    } else if (err->status == ERR_UNAVAILABLE) {
        proto_fail(err, ERR_UNAVAILABLE, NULL, "payment is unavailable; nothing was charged");
    } else {
        proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment failed; please pay again in a moment");
        err->retry_after_ms = 1000;
    }
    return -1;
}

/* 4. payment: pay price x qty, through the breaker, and through the
 * bulkhead: once pay_limit calls are in flight and the oldest is slow,
 * placements are turned away instead of joining them, so a slow payment
 * never ties up every thread. */
static int pay(placement_t *p, proto_err_t *err)
{
    long retry = 0;
    int slot = pay_begin(proto_mono_ms());
    if (slot < 0) {
        proto_fail(err, ERR_PAYMENT_BUSY, NULL, "payment is busy; try again in a moment");
        err->retry_after_ms = 500;
        return -1;
    }
    if (!breaker_allow_locked(proto_mono_ms(), &retry)) {
        pay_end(slot);
        return busy(err, retry);
    }
    char rid[48];
    snprintf(rid, sizeof rid, "o%lld.pay", p->id);
    p->pay_attempted = 1;
    long long t0 = proto_mono_ms();
    json_t *paid = NULL;
    int rc = order_call(ORDER_PAYMENT, "payment.pay",
                        json_pack("{s:I, s:I, s:I}", "order", (json_int_t)p->id, "customer",
                                  (json_int_t)p->customer, "amount",
                                  (json_int_t)jint(p->res, "amount")),
                        rid, &paid, err);
    json_decref(paid);
    pay_end(slot);
    int healthy = rc == 0 || err->status == ERR_PAYMENT_DECLINED;
    breaker_record_locked(proto_mono_ms(), healthy, (long)(proto_mono_ms() - t0));
    if (rc != 0)
        return pay_refused(err);
    fault_point("order.after_pay");
    return 0;
}

/* 5. The order exists from here on, with its Ordered event, in the
 * transaction that marks the placement done. */
static int commit(placement_t *p, proto_err_t *err)
{
    db_t *db = service_db(p->svc);
    char now[32];
    proto_utc_now(now, sizeof now);
    long long id = p->id, price = jint(p->res, "price"), amount = jint(p->res, "amount");
    const char *cname = jstr(p->cust, "name"), *address = jstr(p->cust, "address"),
               *fname = jstr(p->res, "name");
    if (db_begin(db) != 0 ||
        db_run(db, SQL_O_ADD, "iissisiiis", id, p->customer, cname, address, p->food, fname,
               p->qty, price, amount, now) != 0 ||
        plog_done(p->svc, id) != 0 ||
        bus_emit(service_bus(p->svc), "Ordered", "orderId", id,
                 json_pack("{s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:I, s:I, s:s}", "customerId",
                           (json_int_t)p->customer, "customerid", (json_int_t)p->customer,
                           "foodId", (json_int_t)p->food, "foodcaltalogid", (json_int_t)p->food,
                           "foodName", fname, "customerName", cname, "address", address, "qty",
                           (json_int_t)p->qty, "price", (json_int_t)price, "amount",
                           (json_int_t)amount, "status", "placed")) != 0 ||
        db_commit(db) != 0) {
        db_rollback(db);
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot store the order; nothing was charged");
    }
    bus_flush(service_bus(p->svc));
    return 0;
}

int order_place(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                proto_err_t *err)
{
    placement_t p = {.svc = svc, .req = req, .customer = jint(body, "customer"),
                     .food = jint(body, "food"), .qty = jint(body, "qty")};
    /* 1. The body is valid (its schema); a customer orders only for themselves. */
    if (proto_check_own(&req->caller, p.customer, "customer", ORDER_OWN, err))
        return err->status;
    /* A request id seen before gets that placement's answer. */
    int status;
    int seen = replay(svc, req, result, err, &status);
    if (seen)
        return seen < 0 ? proto_fail(err, ERR_INTERNAL, NULL, "database error") : status;
    if (turn_away(err))
        return err->status;
    if (begin_placement(&p, result, err, &status))
        return status;
    /* 2.-5.: each step runs only when the one before succeeded. */
    int failed = check_customer(&p, err) != 0 || reserve(&p, err) != 0 || pay(&p, err) != 0 ||
                 commit(&p, err) != 0;
    json_decref(p.cust);
    json_decref(p.res);
    /* In every failure what was done is undone: an unpaid order does not
     * exist and holds no stock. */
    if (failed)
        return fail_placement(svc, p.id, p.pay_attempted, err);
    *result = order_load(svc, p.id, err);
    return *result ? 0 : proto_fail(err, ERR_INTERNAL, NULL, "database error");
}

/* ---- the service's hooks ---- */

int order_fast_reply(service_t *svc, const char *command, const char *request_id,
                     proto_err_t *err)
{
    long retry = 0;
    long long now = proto_mono_ms();
    if (strcmp(command, "order.place") != 0)
        return 0;
    pthread_mutex_lock(&saga.lock);
    int refuse = breaker_is_open(saga.breaker, now, &retry);
    if (!refuse && payment_saturated(now)) {
        refuse = 1;
        retry = 500;
    }
    pthread_mutex_unlock(&saga.lock);
    /* A retry of a placement we know gets its own answer from a thread (and
     * so does any request when the log cannot be read). */
    if (!refuse || db_value(service_db(svc), -1, SQL_P_KNOWN, "s", request_id) != 0)
        return 0;
    breaker_count_rejected_locked();
    busy(err, retry);
    return 1;
}

void order_saga_health(json_t *h)
{
    pthread_mutex_lock(&saga.lock);
    json_object_set_new(h, "breaker", breaker_json(saga.breaker));
    pthread_mutex_unlock(&saga.lock);
}

void order_saga_configure(const config_t *cfg)
{
    saga.breaker = breaker_new((int)config_int(cfg, "breaker.failures"),
                               config_int(cfg, "breaker.slow_ms"),
                               config_int(cfg, "breaker.open_ms"),
                               (int)config_int(cfg, "breaker.trials"));
    snprintf(saga.fault, sizeof saga.fault, "%s", config_str(cfg, "fault"));
    saga.pay_limit = (int)config_int(cfg, "order.pay_concurrency");
    if (saga.pay_limit < 1)
        saga.pay_limit = 1;
    saga.saturated_ms = config_int(cfg, "order.pay_saturated_ms");
}
