/*
 * audit.c - `counter audit`: the shop's consistency checks (DESIGN section 10),
 * read from every service once the bus has settled:
 *
 *   - stock + held + sold = supplied, per food (catalog's own books), and no
 *     reservation is still held once no placement is in flight;
 *   - every paid order has exactly one delivery, every delivery an order;
 *   - every cancelled order has exactly one refund; no payment stands
 *     without an order (an abandoned placement's payment is refunded);
 *   - sold stock per food equals the quantity of its live orders;
 *   - no event applied twice or skipped: each subscription's count of applied
 *     events equals its position;
 *   - the read models agree with the services (catalog view, my orders).
 */
#include "cli.h"
#include "output.h"
#include "proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    int violations;
    json_t *report;   /* array of sentences */
} audit_t;

static void problem(audit_t *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(audit_t *a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    a->violations++;
    if (a->violations <= 50)
        json_array_append_new(a->report, json_string(buf));
}

/* Wait until every subscription has applied everything its publisher has
 * committed: each subscriber's stored position against the publisher's own
 * last_seq (not the subscriber's idea of it, which is only as fresh as the
 * last heartbeat). Returns 0 when settled, -1 on timeout or a service down. */
static int settle(cli_t *cli, long wait_ms)
{
    long long deadline = proto_mono_ms() + wait_ms;
    for (;;) {
        json_t *health = json_object();
        int down = 0;
        for (int i = 0; config_services[i]; i++) {
            json_t *h;
            if (cli_call(cli, config_services[i], "health", NULL, &h, 1) != EXIT_OKAY) {
                down++;
                continue;
            }
            json_object_set_new(health, config_services[i], h);
        }
        long long behind = 0;
        const char *name;
        json_t *h;
        json_object_foreach(health, name, h) {
            size_t k;
            json_t *s;
            json_array_foreach(json_object_get(h, "subscriptions"), k, s) {
                json_t *pub = json_object_get(health, jstr(s, "publisher"));
                long long last = pub ? jint(pub, "last_seq") : 0;
                if (last > jint(s, "stored_seq"))
                    behind += last - jint(s, "stored_seq");
            }
        }
        json_decref(health);
        if (!down && behind == 0)
            return 0;
        if (proto_mono_ms() >= deadline)
            return -1;
        struct timespec ts = {0, 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

/* items of a list command, or NULL (printed). */
static json_t *items(cli_t *cli, const char *service, const char *cmd)
{
    json_t *res;
    if (cli_call(cli, service, cmd, NULL, &res, 0) != EXIT_OKAY)
        return NULL;
    json_t *it = json_incref(json_object_get(res, "items"));
    json_decref(res);
    return it;
}

/* arr grouped by the integer field key: {"<value>": [items...]}. Lookups in
 * it are constant time, so the audit stays linear in the shop's size. */
static json_t *index_by(const json_t *arr, const char *key)
{
    json_t *idx = json_object();
    size_t i;
    json_t *x;
    if (!idx)
        proto_oom();
    json_array_foreach(arr, i, x) {
        char k[32];
        snprintf(k, sizeof k, "%lld", jint(x, key));
        json_t *list = json_object_get(idx, k);
        if (!list) {
            list = json_array();
            if (!list || json_object_set_new(idx, k, list) != 0)
                proto_oom();
        }
        if (json_array_append(list, x) != 0)
            proto_oom();
    }
    return idx;
}

/* The items of idx with value v: their count in *count, the last one returned. */
static json_t *find_by(const json_t *idx, long long v, int *count)
{
    char k[32];
    snprintf(k, sizeof k, "%lld", v);
    json_t *list = json_object_get(idx, k);
    *count = (int)json_array_size(list);
    return *count ? json_array_get(list, (size_t)*count - 1) : NULL;
}

static void check_events(cli_t *cli, audit_t *a)
{
    for (int i = 0; config_services[i]; i++) {
        json_t *h;
        if (cli_call(cli, config_services[i], "health", NULL, &h, 1) != EXIT_OKAY) {
            problem(a, "%s is unreachable", config_services[i]);
            continue;
        }
        size_t k;
        json_t *s;
        json_array_foreach(json_object_get(h, "subscriptions"), k, s) {
            if (jint(s, "applied_count") != jint(s, "stored_seq"))
                problem(a, "%s applied %lld events of %s but is at position %lld",
                        config_services[i], jint(s, "applied_count"), jstr(s, "publisher"),
                        jint(s, "stored_seq"));
        }
        json_decref(h);
    }
}

/* What the audit reads: each service's own books and lists. */
typedef struct {
    json_t *cat;      /* catalog.audit: per food, stock + held + sold = supplied */
    json_t *oaud;     /* order.audit: every order, and the unfinished placements */
    json_t *orders;   /* oaud's items (borrowed) */
    json_t *pays, *dels, *view, *mine, *foods;   /* the lists' items */
} books_t;

static void books_free(books_t *b)
{
    json_decref(b->cat);
    json_decref(b->oaud);
    json_decref(b->pays);
    json_decref(b->dels);
    json_decref(b->view);
    json_decref(b->mine);
    json_decref(b->foods);
}

/* Read every book; -1 (printed) when a service does not answer. */
static int books_read(cli_t *cli, books_t *b)
{
    memset(b, 0, sizeof *b);
    if (cli_call(cli, "catalog", "catalog.audit", NULL, &b->cat, 0) != EXIT_OKAY ||
        cli_call(cli, "order", "order.audit", NULL, &b->oaud, 0) != EXIT_OKAY ||
        !(b->pays = items(cli, "payment", "payment.list")) ||
        !(b->dels = items(cli, "delivery", "delivery.list")) ||
        !(b->view = items(cli, "view", "view.catalog")) ||
        !(b->mine = items(cli, "view", "view.myorders")) ||
        !(b->foods = items(cli, "catalog", "catalog.list")))
        return -1;
    b->orders = json_object_get(b->oaud, "items");
    return 0;
}

/* The catalog's books balance, its sold stock per food equals the quantity
 * of the food's live (not cancelled) orders, and no reservation is held
 * without a placement in flight. */
static void check_catalog(audit_t *a, const books_t *b)
{
    json_t *live_by_food = proto_nonnull(json_object());
    size_t i;
    json_t *x;
    char k[32];
    json_array_foreach(b->orders, i, x) {
        if (strcmp(jstr(x, "status"), "cancelled") == 0)
            continue;
        snprintf(k, sizeof k, "%lld", jint(x, "foodId"));
        json_object_set_new(live_by_food, k, json_integer(jint(live_by_food, k) + jint(x, "qty")));
    }
    long long held = 0;
    json_array_foreach(json_object_get(b->cat, "items"), i, x) {
        if (!json_is_true(json_object_get(x, "ok")))
            problem(a, "food %lld: stock %lld + held %lld + sold %lld != supplied %lld", jint(x, "id"),
                    jint(x, "stock"), jint(x, "held"), jint(x, "sold"), jint(x, "supplied"));
        held += jint(x, "held");
        snprintf(k, sizeof k, "%lld", jint(x, "id"));
        long long live = jint(live_by_food, k);
        if (live != jint(x, "sold"))
            problem(a, "food %lld: %lld sold in the catalog, %lld in live orders", jint(x, "id"),
                    jint(x, "sold"), live);
    }
    json_decref(live_by_food);
    long long unfinished = jint(b->oaud, "unfinished_placements");
    if (unfinished > 0)
        problem(a, "%lld placements are unfinished", unfinished);
    if (held > 0 && unfinished == 0)
        problem(a, "%lld units are held by reservations no placement owns", held);
}

/* Every order has one delivery, one payment in the state its own calls for,
 * and one row in my orders that agrees. Returns how many are cancelled. */
static long long check_orders(audit_t *a, const books_t *b)
{
    json_t *dels_by_order = index_by(b->dels, "orderId"), *pays_by_order = index_by(b->pays, "orderId"),
           *mine_by_order = index_by(b->mine, "orderId");
    long long cancelled = 0;
    size_t i;
    json_t *x;
    int n;
    json_array_foreach(b->orders, i, x) {
        long long id = jint(x, "id");
        find_by(dels_by_order, id, &n);
        if (n != 1)
            problem(a, "order %lld (paid) has %d deliveries", id, n);
        json_t *p = find_by(pays_by_order, id, &n);
        if (n != 1 || !p)
            problem(a, "order %lld has %d payments", id, n);
        else if (strcmp(jstr(x, "status"), "cancelled") == 0) {
            cancelled++;
            if (strcmp(jstr(p, "status"), "refunded") != 0)
                problem(a, "cancelled order %lld: payment is %s, not refunded", id, jstr(p, "status"));
        } else if (strcmp(jstr(p, "status"), "paid") != 0) {
            problem(a, "order %lld is %s but its payment is %s", id, jstr(x, "status"), jstr(p, "status"));
        }
        json_t *m = find_by(mine_by_order, id, &n);
        if (n != 1 || !m)
            problem(a, "order %lld is not in my orders", id);
        else if (strcmp(jstr(m, "orderStatus"), jstr(x, "status")) != 0)
            problem(a, "order %lld: my orders says %s, the order service %s", id, jstr(m, "orderStatus"),
                    jstr(x, "status"));
    }
    json_decref(dels_by_order);
    json_decref(pays_by_order);
    json_decref(mine_by_order);
    return cancelled;
}

/* No delivery without its order, no charged payment without one. */
static void check_orphans(audit_t *a, const books_t *b)
{
    json_t *orders_by_id = index_by(b->orders, "id");
    size_t i;
    json_t *x;
    int n;
    json_array_foreach(b->dels, i, x) {
        find_by(orders_by_id, jint(x, "orderId"), &n);
        if (n != 1)
            problem(a, "delivery %lld is for order %lld, which does not exist", jint(x, "id"),
                    jint(x, "orderId"));
    }
    json_array_foreach(b->pays, i, x) {
        find_by(orders_by_id, jint(x, "orderId"), &n);
        if (n == 0 && strcmp(jstr(x, "status"), "paid") == 0)
            problem(a, "payment for order %lld was charged but the order does not exist", jint(x, "orderId"));
    }
    json_decref(orders_by_id);
}

/* The read models have a row for each record, and the catalog view agrees
 * with the catalog. */
static void check_views(audit_t *a, const books_t *b)
{
    if (json_array_size(b->mine) != json_array_size(b->orders))
        problem(a, "my orders has %zu rows, the order service %zu orders", json_array_size(b->mine),
                json_array_size(b->orders));
    if (json_array_size(b->view) != json_array_size(b->foods))
        problem(a, "the catalog view has %zu foods, the catalog %zu", json_array_size(b->view),
                json_array_size(b->foods));
    json_t *view_by_id = index_by(b->view, "id");
    size_t i;
    json_t *x;
    int n;
    json_array_foreach(b->foods, i, x) {
        json_t *v = find_by(view_by_id, jint(x, "id"), &n);
        if (!v || jint(v, "stock") != jint(x, "stock") || jint(v, "price") != jint(x, "price") ||
            strcmp(jstr(v, "name"), jstr(x, "name")) != 0)
            problem(a, "the catalog view differs from the catalog on food %lld", jint(x, "id"));
    }
    json_decref(view_by_id);
}

/* The verdict: one JSON line, or a line and the problems as a list. */
static void report(cli_t *cli, const audit_t *a, const books_t *b, long long cancelled)
{
    json_t *verdict = json_pack("{s:s, s:i, s:I, s:I, s:I, s:I, s:O}", "audit",
                                a->violations ? "FAILED" : "OK", "violations", a->violations,
                                "orders", (json_int_t)json_array_size(b->orders), "cancelled",
                                (json_int_t)cancelled, "deliveries", (json_int_t)json_array_size(b->dels),
                                "payments", (json_int_t)json_array_size(b->pays), "problems", a->report);
    if (cli->json) {
        output_json_line(stdout, verdict);
    } else {
        printf("audit: %s: %zu orders (%lld cancelled), %zu deliveries, %zu payments, %d violations\n",
               a->violations ? "FAILED" : "OK", json_array_size(b->orders), cancelled,
               json_array_size(b->dels), json_array_size(b->pays), a->violations);
        size_t i;
        json_t *x;
        json_array_foreach(a->report, i, x)
            printf("  - %s\n", json_string_value(x));
    }
    fflush(stdout);
    json_decref(verdict);
}

int cmd_audit(cli_t *cli, int argc, char **argv)
{
    long wait_ms = 10000;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc &&
            (wait_ms = strtol(argv[i + 1], &end, 10) * 1000, *end == '\0') && wait_ms >= 0 &&
            argv[i + 1][0] != '\0') {
            i++;
        } else {
            fprintf(stderr, "usage: counter audit [--wait SECONDS]\n");
            return EXIT_USAGE;
        }
    }
    if (settle(cli, wait_ms) != 0) {
        fprintf(stderr, "counter: audit: the backend did not settle within %ld s "
                        "(a service is down or lagging)\n", wait_ms / 1000);
        return EXIT_UNREACHABLE;
    }
    books_t b;
    if (books_read(cli, &b) != 0) {
        books_free(&b);
        return EXIT_UNREACHABLE;
    }
    audit_t a = {0, proto_nonnull(json_array())};
    check_catalog(&a, &b);
    long long cancelled = check_orders(&a, &b);
    check_orphans(&a, &b);
    check_views(&a, &b);
    check_events(cli, &a);
    report(cli, &a, &b, cancelled);
    int status = a.violations ? EXIT_BACKEND : EXIT_OKAY;
    json_decref(a.report);
    books_free(&b);
    return status;
}
