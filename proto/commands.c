/*
 * commands.c - the command table: every command of CTR/2, its service, how
 * it writes, who may call it and its fields. The one place a command is
 * defined; proto/SPEC.md "Commands" must list the same.
 */
#include "proto.h"

#include <string.h>

/* ---- The command table: the one place every command is defined. ---- */

#define ROLES_STAFF (ROLE_MANAGER | ROLE_SYSTEM)
#define ROLE_TERMINAL (ROLE_CUSTOMER | ROLE_MANAGER | ROLE_DELIVERY)
#define F_ID {"id", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL}
#define F_LOGIN {"login", FT_STR, FF_REQUIRED | FF_NONEMPTY, NULL}
#define F_PASSWORD(name) {name, FT_STR, FF_REQUIRED | FF_NONEMPTY, NULL}

static const proto_cmd_t commands[] = {
    {"health", "*", TX_READ, false, ROLE_ANY | ROLE_ANON, "liveness, readiness and bus positions",
     {{0}}},
    {"events.since", "*", TX_READ, false, ROLE_ANY, "the publisher's events after a sequence number",
     {{"after", FT_INT, FF_NONNEG, NULL}, {"limit", FT_INT, FF_POSITIVE, NULL}, {0}}},
    /* The liveness fault (the seed's makeZombie): the worker answers, then
     * its main loop sleeps ms while its process stays alive. */
    {"stall", "*", TX_READ, false, ROLE_MANAGER, "stall the worker's main loop for ms (a fault)",
     {{"ms", FT_INT, FF_REQUIRED | FF_NONNEG, NULL}, {0}},
     .fault = true},

    {"customer.add", "customer", TX_ONE, false, ROLES_STAFF, "register a customer (at the counter)",
     {{"name", FT_STR, FF_REQUIRED | FF_NONEMPTY | FF_TEXT, NULL},
      {"phone", FT_STR, FF_TEXT, NULL},
      {"address", FT_STR, FF_TEXT, NULL},
      {"age", FT_INT, FF_NONNEG, NULL},
      {0}}},
    {"customer.update", "customer", TX_ONE, true, ROLE_ANY, "change a customer's details",
     {F_ID,
      {"name", FT_STR, FF_NONEMPTY | FF_TEXT, NULL},
      {"phone", FT_STR, FF_TEXT, NULL},
      {"address", FT_STR, FF_TEXT, NULL},
      {"age", FT_INT, FF_NONNEG, NULL},
      {0}}},
    {"customer.withdraw", "customer", TX_ONE, false, ROLE_ANY, "withdraw a customer", {F_ID, {0}}},
    {"customer.list", "customer", TX_READ, false, ROLES_STAFF | ROLE_DELIVERY, "all customers", {{0}}},
    {"customer.show", "customer", TX_READ, false, ROLE_ANY, "one customer", {F_ID, {0}}},

    {"catalog.add", "catalog", TX_ONE, false, ROLES_STAFF, "register a food",
     {{"name", FT_STR, FF_REQUIRED | FF_NONEMPTY | FF_TEXT, NULL},
      {"price", FT_INT, FF_REQUIRED | FF_NONNEG, NULL},
      {"stock", FT_INT, FF_REQUIRED | FF_NONNEG, NULL},
      {0}}},
    {"catalog.update", "catalog", TX_ONE, true, ROLES_STAFF, "change a food's name, price or stock",
     {F_ID,
      {"name", FT_STR, FF_NONEMPTY | FF_TEXT, NULL},
      {"price", FT_INT, FF_NONNEG, NULL},
      {"stock", FT_INT, FF_NONNEG, NULL},
      {0}}},
    {"catalog.delete", "catalog", TX_ONE, false, ROLES_STAFF, "delete a food", {F_ID, {0}}},
    {"catalog.list", "catalog", TX_READ, false, ROLE_ANY, "the catalog (foods and stock)", {{0}}},
    {"catalog.show", "catalog", TX_READ, false, ROLE_ANY, "one food", {F_ID, {0}}},

    {"catalog.reserve", "catalog", TX_ONE, false, ROLE_SYSTEM, "hold stock for an order",
     {{"order", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL},
      {"food", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL},
      {"qty", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL},
      {0}}},
    {"catalog.release", "catalog", TX_ONE, false, ROLE_SYSTEM, "give back an unplaced order's stock",
     {{"order", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL}, {0}}},
    {"catalog.audit", "catalog", TX_READ, false, ROLES_STAFF, "stock and reservations per food", {{0}}},

    {"order.place", "order", TX_SAGA, false, ROLE_ANY, "place and pay an order",
     {{"customer", FT_INT, FF_REQUIRED | FF_POSITIVE, "customerid customerId customer_id"},
      {"food", FT_INT, FF_REQUIRED | FF_POSITIVE,
       "foodcaltalogid foodcatalogid foodCatalogId foodid foodId food_id"},
      {"qty", FT_INT, FF_REQUIRED | FF_POSITIVE, "quantity"},
      {0}}},
    {"order.list", "order", TX_READ, false, ROLE_ANY, "orders (a customer sees their own)",
     {{"customer", FT_INT, FF_POSITIVE, "customerid"},
      {"status", FT_STR, 0, NULL},
      {"since", FT_STR, FF_NONEMPTY, NULL},   /* changed at or after this UTC timestamp */
      {0}}},
    {"order.show", "order", TX_READ, false, ROLE_ANY, "one order", {F_ID, {0}}},
    {"order.cancel", "order", TX_SAGA, false, ROLE_ANY, "ask to cancel an order", {F_ID, {0}}},
    {"order.audit", "order", TX_READ, false, ROLES_STAFF, "orders and unfinished placements", {{0}}},

    {"payment.pay", "payment", TX_ONE, false, ROLE_SYSTEM, "pay for an order (idempotent per order)",
     {{"order", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL},
      {"customer", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL},
      {"amount", FT_INT, FF_REQUIRED | FF_NONNEG, NULL},
      {0}}},
    {"payment.void", "payment", TX_ONE, false, ROLE_SYSTEM, "refund or void an unplaced order's payment",
     {{"order", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL}, {0}}},
    {"payment.list", "payment", TX_READ, false, ROLES_STAFF, "payments",
     {{"customer", FT_INT, FF_POSITIVE, NULL}, {0}}},
    {"payment.admin", "payment", TX_READ, true, ROLES_STAFF, "make payment slow, failing or declining",
     {{"latency_ms", FT_INT, FF_NONNEG, "latency"},
      {"fail_ratio", FT_INT, FF_NONNEG, "fail"},
      {"decline", FT_BOOL, 0, NULL},
      {0}},
     .fault = true},

    {"delivery.list", "delivery", TX_READ, false, ROLE_MANAGER | ROLE_DELIVERY | ROLE_SYSTEM,
     "deliveries",
     {{"status", FT_STR, 0, NULL},
      {"order", FT_INT, FF_POSITIVE, NULL},
      {"since", FT_STR, FF_NONEMPTY, NULL},   /* the open ones, and those changed since */
      {0}}},
    {"delivery.confirm", "delivery", TX_ONE, false, ROLE_DELIVERY | ROLE_SYSTEM, "confirm a delivery", {F_ID, {0}}},
    {"delivery.ship", "delivery", TX_ONE, false, ROLE_DELIVERY | ROLE_SYSTEM, "ship a delivery", {F_ID, {0}}},
    {"delivery.complete", "delivery", TX_ONE, false, ROLE_DELIVERY | ROLE_SYSTEM, "complete a delivery", {F_ID, {0}}},
    {"delivery.cancel_confirm", "delivery", TX_ONE, false, ROLE_DELIVERY | ROLE_SYSTEM,
     "confirm a cancellation request", {F_ID, {0}}},
    {"delivery.cancel_reject", "delivery", TX_ONE, false, ROLE_DELIVERY | ROLE_SYSTEM,
     "reject a cancellation request", {F_ID, {0}}},
    {"delivery.cancel_request", "delivery", TX_ONE, false, ROLE_SYSTEM,
     "ask to cancel an order's delivery (refused once delivered)",
     {{"order", FT_INT, FF_REQUIRED | FF_POSITIVE, NULL},
      {"by", FT_STR, FF_NONEMPTY, NULL},   /* who asked (role:subject), for the audit */
      {0}}},
    {"delivery.auto", "delivery", TX_READ, false, ROLE_MANAGER | ROLE_DELIVERY,
     "play the delivery team automatically",
     {{"enabled", FT_BOOL, FF_REQUIRED, NULL}, {"delay_ms", FT_INT, FF_NONNEG, NULL}, {0}}},

    /* auth: accounts and sessions (DESIGN section 9). A password is a
     * string like any other on the wire (the link is encrypted); the auth
     * service stores only its argon2id hash and never logs or publishes it. */
    {"auth.login", "auth", TX_SAGA, false, ROLE_ANY | ROLE_ANON, "log in: a session token",
     {F_LOGIN, F_PASSWORD("password"), {0}}},
    {"auth.logout", "auth", TX_ONE, false, ROLE_TERMINAL, "end the caller's session", {{0}}},
    {"auth.signup", "auth", TX_SAGA, false, ROLE_ANY | ROLE_ANON,
     "a customer signs up: customer record, account and session",
     {{"name", FT_STR, FF_REQUIRED | FF_NONEMPTY | FF_TEXT, NULL},
      {"phone", FT_STR, FF_TEXT, NULL},
      {"address", FT_STR, FF_TEXT, NULL},
      {"age", FT_INT, FF_NONNEG, NULL},
      F_LOGIN, F_PASSWORD("password"), {0}}},
    {"auth.setup", "auth", TX_SAGA, false, ROLE_SYSTEM, "the first manager of a new shop",
     {F_LOGIN, F_PASSWORD("password"), {0}}},
    {"auth.add", "auth", TX_SAGA, false, ROLE_MANAGER,
     "an account: staff, or a login for a customer registered at the counter",
     {F_LOGIN,
      {"role", FT_STR, FF_REQUIRED | FF_NONEMPTY, NULL},
      {"customer", FT_INT, FF_POSITIVE, "customerid"},
      F_PASSWORD("password"), {0}}},
    {"auth.list", "auth", TX_READ, false, ROLE_MANAGER, "every account (never a password)", {{0}}},
    {"auth.lock", "auth", TX_ONE, false, ROLE_MANAGER, "lock an account and end its sessions",
     {F_LOGIN, {0}}},
    {"auth.unlock", "auth", TX_ONE, false, ROLE_MANAGER, "unlock an account", {F_LOGIN, {0}}},
    {"auth.passwd", "auth", TX_SAGA, false, ROLE_TERMINAL,
     "change a password (your own with the old one; a manager: anyone's)",
     {{"login", FT_STR, FF_NONEMPTY, NULL},
      {"old", FT_STR, FF_NONEMPTY, NULL},
      F_PASSWORD("password"), {0}}},

    {"view.catalog", "view", TX_READ, false, ROLE_ANY, "the catalog view (read model)",
     {{"search", FT_STR, 0, NULL}, {0}}},
    {"view.myorders", "view", TX_READ, false, ROLE_ANY, "my orders (read model)",
     {{"customer", FT_INT, FF_POSITIVE, "customerid"}, {0}}},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

const proto_cmd_t *proto_cmd_find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

const proto_cmd_t *proto_cmd_at(size_t i)
{
    return i < NCOMMANDS ? &commands[i] : NULL;
}
