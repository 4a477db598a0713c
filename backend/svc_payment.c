/*
 * svc_payment.c - payments (F5, F11): pay once per order, refund once.
 *
 * One row per order id: paid, refunded (after DeliveryCanceled, or an
 * abandoned placement's void) or voided (a tombstone: the order gave up before
 * paying, so a late pay for it is declined). Paying twice for the same order
 * answers the first payment again.
 *
 * For demonstrations of the circuit breaker, payment.admin makes the worker
 * slow (latency_ms), failing (fail_ratio percent of calls answer internal) or
 * declining every payment; the defaults come from payment.latency_ms,
 * payment.fail_ratio and payment.decline in the config.
 */
#include "log.h"
#include "service.h"

#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS payments("
    "  order_id INTEGER PRIMARY KEY, customer_id INTEGER NOT NULL, amount INTEGER NOT NULL,"
    "  status TEXT NOT NULL CHECK (status IN ('paid','refunded','voided')),"
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL);";

static const char *SQL_GET =
    "SELECT order_id AS orderId, customer_id AS customerId, amount, status, created_at, updated_at"
    " FROM payments WHERE order_id = ?";
static const char *SQL_ADD =
    "INSERT INTO payments(order_id, customer_id, amount, status, created_at, updated_at)"
    " VALUES(?1,?2,?3,?4,?5,?5)";
static const char *SQL_SET = "UPDATE payments SET status = ?2, updated_at = ?3 WHERE order_id = ?1";
static const char *SQL_LIST =
    "SELECT order_id AS orderId, customer_id AS customerId, amount, status, created_at, updated_at"
    " FROM payments WHERE ?1 IS NULL OR customer_id = ?1 ORDER BY order_id";

/* Set by payment.admin, read by every request thread. */
static struct {
    atomic_long latency_ms;
    atomic_long fail_ratio;     /* percent */
    atomic_int decline;
} faults;

/* The payment of order: 1 found (*row set, a new reference), 0 none, -1
 * error. */
static int load(service_t *svc, long long order, json_t **row)
{
    proto_err_t err;
    *row = db_first(service_db(svc), &err, SQL_GET, "i", order);
    return *row ? 1 : err.status == ERR_NOT_FOUND ? 0 : -1;
}

static int set_status(service_t *svc, long long order, const char *status)
{
    char now[32];
    proto_utc_now(now, sizeof now);
    return db_run(service_db(svc), SQL_SET, "iss", order, status, now);
}

static int insert(service_t *svc, long long order, long long customer, long long amount,
                  const char *status)
{
    char now[32];
    proto_utc_now(now, sizeof now);
    return db_run(service_db(svc), SQL_ADD, "iiiss", order, customer, amount, status, now);
}

/* Refund a paid order: status refunded and PaymentCancelled, exactly once. */
static int refund(service_t *svc, const json_t *row, const char *reason)
{
    long long order = jint(row, "orderId");
    if (set_status(svc, order, "refunded") != 0)
        return -1;
    return bus_emit(service_bus(svc), "PaymentCancelled", "orderId", order,
                    json_pack("{s:O, s:O, s:s}", "customerId", json_object_get(row, "customerId"),
                              "amount", json_object_get(row, "amount"), "reason", reason));
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        ;
}

static int cmd_pay(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                   proto_err_t *err)
{
    (void)req;
    long latency = atomic_load(&faults.latency_ms), fail = atomic_load(&faults.fail_ratio);
    if (latency > 0)
        sleep_ms(latency);
    if (fail > 0 && (long)randombytes_uniform(100) < fail)
        return proto_fail(err, ERR_INTERNAL, NULL, "payment failed (fault injected)");
    long long order = jint(body, "order"), customer = jint(body, "customer"),
              amount = jint(body, "amount");
    json_t *row = NULL;
    int found = load(svc, order, &row);
    if (found < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    if (found) {
        if (strcmp(jstr(row, "status"), "paid") != 0 || jint(row, "amount") != amount) {
            json_decref(row);
            return proto_fail(err, ERR_PAYMENT_DECLINED, "order",
                              "order %lld was abandoned or paid differently", order);
        }
        *result = row;   /* paid already: the same answer, nothing charged twice */
        return 0;
    }
    if (atomic_load(&faults.decline))
        return proto_fail(err, ERR_PAYMENT_DECLINED, NULL, "the payment was declined");
    if (insert(svc, order, customer, amount, "paid") != 0 ||
        bus_emit(service_bus(svc), "Paid", "orderId", order,
                 json_pack("{s:I, s:I}", "customerId", (json_int_t)customer, "amount",
                           (json_int_t)amount)) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot record the payment");
    return load(svc, order, result) == 1 ? 0 : proto_fail(err, ERR_INTERNAL, NULL, "database error");
}

static int cmd_void(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    long long order = jint(body, "order");
    json_t *row = NULL;
    int found = load(svc, order, &row);
    if (found < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    int rc = 0;
    if (!found) {
        if (insert(svc, order, 0, 0, "voided") != 0)
            rc = proto_fail(err, ERR_INTERNAL, NULL, "database error");
    } else if (strcmp(jstr(row, "status"), "paid") == 0) {
        if (refund(svc, row, "order not placed") != 0)
            rc = proto_fail(err, ERR_INTERNAL, NULL, "cannot refund");
    }
    json_decref(row);
    if (rc == 0)
        (void)load(svc, order, result);
    return rc;
}

static int cmd_list(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    return service_items(db_prep(service_db(svc), SQL_LIST, "I", json_object_get(body, "customer")),
                         result, err);
}

static int cmd_admin(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                     proto_err_t *err)
{
    (void)svc;
    const json_t *v;
    if ((v = json_object_get(body, "fail_ratio")) && json_integer_value(v) > 100)
        return proto_fail(err, ERR_BAD_REQUEST, "fail_ratio", "fail_ratio is a percentage (0-100)");
    if ((v = json_object_get(body, "latency_ms")) && json_integer_value(v) > 60000)
        return proto_fail(err, ERR_BAD_REQUEST, "latency_ms", "latency_ms must be at most 60000");
    if ((v = json_object_get(body, "latency_ms")))
        faults.latency_ms = (long)json_integer_value(v);
    if ((v = json_object_get(body, "fail_ratio")))
        faults.fail_ratio = (long)json_integer_value(v);
    if ((v = json_object_get(body, "decline")))
        faults.decline = json_is_true(v);
    long lat = atomic_load(&faults.latency_ms), fail = atomic_load(&faults.fail_ratio);
    int dec = atomic_load(&faults.decline);
    log_info("faults set by %s: latency %ld ms, fail %ld%%, decline %d", req->caller_raw, lat, fail,
             dec);
    *result = json_pack("{s:I, s:I, s:b}", "latency_ms", (json_int_t)lat, "fail_ratio",
                        (json_int_t)fail, "decline", dec);
    return 0;
}

/* DeliveryCanceled: refund the order's payment, once. */
static int on_delivery(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    if (strcmp(jstr(ev, "eventType"), "DeliveryCanceled") != 0)
        return 0;
    long long order = jint(ev, "orderId");
    json_t *row = NULL;
    int found = load(svc, order, &row), rc = 0;
    if (found < 0)
        return -1;
    if (!found)
        log_warn("DeliveryCanceled for order %lld, which has no payment", order);
    else if (strcmp(jstr(row, "status"), "paid") == 0)
        rc = refund(svc, row, "delivery cancelled");
    json_decref(row);
    return rc;
}

static int start(service_t *svc)
{
    const config_t *cfg = service_config(svc);
    faults.latency_ms = config_int(cfg, "payment.latency_ms");
    faults.fail_ratio = config_int(cfg, "payment.fail_ratio");
    faults.decline = config_bool(cfg, "payment.decline");
    return bus_subscribe(service_bus(svc), "delivery", on_delivery, svc);
}

static const svc_cmd_t commands[] = {
    {"payment.pay", cmd_pay},
    {"payment.void", cmd_void},
    {"payment.list", cmd_list},
    {"payment.admin", cmd_admin},
    {NULL, NULL},
};

const svc_def_t svc_payment = {"payment", SCHEMA, commands, start, NULL, NULL};
