/*
 * order.h - what the two files of the order service share (prefix order_).
 *
 *   svc_order.c   the orders: listing, showing, cancelling, following the
 *                 delivery and payment events, the audit; the service's
 *                 lifecycle and its calls to the other services.
 *   order_saga.c  placing an order (DESIGN section 4): the saga, its
 *                 placement log, compensation, recovery, the replay of a
 *                 retried placement; the payment breaker and bulkhead.
 */
#ifndef ORDER_H
#define ORDER_H

#include "service.h"

/* The saga's placement log (order_saga.c owns it): one row per order.place
 * request id, the steps taken and the answer given. Part of the service's
 * schema. */
#define ORDER_PLACEMENTS_SCHEMA                                                                  \
    "CREATE TABLE IF NOT EXISTS placements("                                                     \
    "  id INTEGER PRIMARY KEY AUTOINCREMENT, request_id TEXT NOT NULL UNIQUE,"                   \
    "  caller TEXT NOT NULL, customer_id INTEGER NOT NULL, food_id INTEGER NOT NULL,"           \
    "  qty INTEGER NOT NULL,"                                                                    \
    "  state TEXT NOT NULL CHECK (state IN ('started','reserved','compensate','done','failed')),"\
    "  pay_attempted INTEGER NOT NULL DEFAULT 0, released INTEGER NOT NULL DEFAULT 0,"          \
    "  voided INTEGER NOT NULL DEFAULT 0, reply TEXT, status TEXT,"                              \
    "  created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL);"                               \
    "CREATE INDEX IF NOT EXISTS placements_open ON placements(state);"

/* "A customer sees only their own" for orders: proto_check_own's what. */
#define ORDER_OWN "see and change their own orders"

/* ---- svc_order.c ---- */

/* The services the order service calls. */
typedef enum { ORDER_CUSTOMER, ORDER_CATALOG, ORDER_PAYMENT, ORDER_DELIVERY, ORDER__PEERS } order_peer_t;

/* Call a service on this thread's own socket (set up by the service's
 * thread_start). body is stolen. 0 with *out (a new reference) when the
 * answer is ok; otherwise -1 with the error in err (unavailable when there was
 * no answer) and *out NULL. */
int order_call(order_peer_t to, const char *cmd, json_t *body, const char *rid, json_t **out,
               proto_err_t *err);

/* Order id as an object (a new reference), or NULL with not_found (field
 * "id") or internal in err. */
json_t *order_load(service_t *svc, long long id, proto_err_t *err);

/* ---- order_saga.c ---- */

/* The order.place handler (svc_cmd_fn). */
int order_place(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                proto_err_t *err);

/* Read the saga's settings (breaker.*, order.pay_*, fault); from start(). */
void order_saga_configure(const config_t *cfg);

/* Finish the undo of placements left unfinished: at start (all: no request
 * thread runs yet) every one; later (the background thread) only those
 * already being undone, never one a thread is working on. */
void order_recover(service_t *svc, int all);

/* The service's fast_reply: order.place answered payment_busy at once while
 * the breaker is open or payment is saturated (svc_def_t.fast_reply). */
int order_fast_reply(service_t *svc, const char *command, const char *request_id,
                     proto_err_t *err);

/* Adds "breaker" to a health answer. */
void order_saga_health(json_t *h);

#endif
