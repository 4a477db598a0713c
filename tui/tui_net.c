/*
 * tui_net.c - the backend as the TUI sees it.
 *
 * Requests go through the Lazy Pirate client (proto/client.h) with a short
 * timeout and one attempt, so that the screen never freezes for long; the
 * two saga commands (order.place, order.cancel) get a longer one, retried
 * with the same request id (the order service deduplicates them).
 *
 * Whether the backend answers is learnt without ever blocking: each service
 * gets a health probe every half second on a DEALER socket with
 * ZMQ_IMMEDIATE (a send with no live connection fails at once) that is part
 * of the main loop's zmq_poll. A probe unanswered after tui.probe_ms, a send
 * that finds no connection, or a request that times out marks the service
 * offline; its next answer marks it back. While a service is offline no
 * request is sent to it, so an unreachable backend costs no waiting.
 *
 * Live data: one subscription (proto/follow.h) to every publisher, starting
 * at each publisher's current last sequence number, so that only new events
 * arrive. An event marks the data sets it changes for fetching again. A data
 * set read from another service than the event's publisher (a read model)
 * is fetched once that service has applied the event: its health reply says
 * how far it got per publisher, and a probe is sent at once when needed.
 */
#include "tui.h"
#include "history.h"
#include "zio.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define P(s) (1u << (s))

#define PROBE_EVERY_MS 500
#define REFRESH_EVERY_MS 5000
#define NEED_WAIT_MS 3000       /* fetch anyway when a read model lags this long */
#define FETCH_GAP_MS 150        /* at most this often per data set, however busy the shop */
#define AUDIT_KEEP 400

/* The data sets. The service that answers each (its reader) is its
 * command's, from the command table (proto.c); the publishers are named here
 * and found in config_services by net_init, which fills the two arrays below.
 * The TUI follows every publisher some data set names (all services but the
 * view, which publishes nothing): their events are the manager's audit. */
static const struct ds_def {
    const char *cmd;
    const char *pubs;  /* publishers whose events change it, blank-separated */
    int mine;          /* only events about the signed-in customer */
    int ticket;        /* only events about the order on the ticket */
} defs[DS__COUNT] = {
    [DS_CATALOG] = {"view.catalog", "catalog", 0, 0},
    [DS_MYORDERS] = {"view.myorders", "order payment delivery", 1, 0},
    [DS_ME] = {"customer.show", "customer", 1, 0},
    [DS_FOODS] = {"catalog.list", "catalog", 0, 0},
    [DS_ORDERS] = {"order.list", "order payment delivery", 0, 0},
    [DS_BOARD] = {"delivery.list", "delivery", 0, 0},
    [DS_TICKET] = {"order.show", "order payment delivery", 0, 1},
};
static int ds_reader[DS__COUNT];       /* its reader's index in config_services */
static unsigned ds_pubs[DS__COUNT];    /* P(index) of its publishers */

/* Which poll item is which (filled by net_pollitems). */
static int poll_map[SVC_MAX + 1];
static int poll_count;
#define MAP_FOLLOW -1

/* The index of a service in config_services, -1 if unknown. */
static int net_svc_index(const char *name)
{
    for (int i = 0; i < SVC_MAX && config_services[i]; i++)
        if (strcmp(config_services[i], name) == 0)
            return i;
    return -1;
}

int net_ds_down(const app_t *app, int ds)
{
    return ds >= 0 && ds < DS__COUNT && app->svc[ds_reader[ds]].up == 0;
}

const char *net_ds_service(int ds)
{
    return ds >= 0 && ds < DS__COUNT ? config_services[ds_reader[ds]] : "";
}

/* ---- online / offline ------------------------------------------------------ */

static void offline_update(app_t *app)
{
    int down = 0, up = 0;
    for (int i = 0; i < app->nsvc; i++) {
        down += app->svc[i].up == 0;
        up += app->svc[i].up == 1;
    }
    int was = app->offline;
    app->offline = down > 0;
    if (was != app->offline)
        app->redraw = 1;
    if (was && !app->offline) {
        /* Back: whatever happened meanwhile is fetched again. */
        net_dirty_all(app);
        if (app->ever_online)
            tui_flash(app, UI_INFO, "the backend answers again: back online");
    }
    if (up == app->nsvc)
        app->ever_online = 1;
}

static void mark(app_t *app, int s, int up)
{
    if (s < 0 || s >= app->nsvc || app->svc[s].up == up)
        return;
    app->svc[s].up = up;
    app->redraw = 1;
    offline_update(app);
}

/* ---- requests ---------------------------------------------------------------- */

/* cred: the credential frame; NULL for the screen's (app->caller), whose
 * unauthorized answer means the session ended (login_lost). */
static int call_svc(app_t *app, int s, const char *cmd, json_t *body, json_t **out,
                    proto_err_t *err, int is_long, const char *cred)
{
    if (out)
        *out = NULL;
    svc_link_t *l = &app->svc[s];
    if (l->up == 0 || !l->client) {
        json_decref(body);
        proto_fail(err, ERR_UNAVAILABLE, NULL, "offline: the %s service does not answer",
                   config_services[s]);
        return -1;
    }
    client_set_caller(l->client, cred ? cred : app->caller);
    if (is_long)
        client_set_timeout(l->client, app->long_timeout_ms, 2);
    else
        client_set_timeout(l->client, app->timeout_ms, 1);
    proto_rep_t rep;
    int rc = client_call(l->client, cmd, body, NULL, &rep, err);
    json_decref(body);
    if (rc != 0) {
        if (err->status == ERR_UNAVAILABLE && is_long) {
            /* A saga may take its time; the probes say whether it is up. */
            proto_fail(err, ERR_UNAVAILABLE, NULL,
                       "no answer from the %s service in time; look at the list before trying again",
                       config_services[s]);
        } else if (err->status == ERR_UNAVAILABLE) {
            mark(app, s, 0);
            proto_fail(err, ERR_UNAVAILABLE, NULL, "offline: the %s service does not answer",
                       config_services[s]);
        }
        return -1;
    }
    mark(app, s, 1);
    if (rep.status != ERR_OK) {
        proto_err_from_rep(&rep, err);
        proto_rep_clear(&rep);
        if (err->status == ERR_UNAUTHORIZED && !cred)
            login_lost(app);
        return -1;
    }
    if (out)
        *out = json_incref(rep.body);
    proto_rep_clear(&rep);
    return 0;
}

int net_call(app_t *app, const char *cmd, json_t *body, json_t **out, proto_err_t *err)
{
    return net_call_as(app, cmd, body, out, err, NULL);
}

int net_call_as(app_t *app, const char *cmd, json_t *body, json_t **out, proto_err_t *err,
                const char *cred)
{
    const proto_cmd_t *c = proto_cmd_find(cmd);
    if (out)
        *out = NULL;
    if (!body)
        body = json_object();
    if (!c || !body) {
        json_decref(body);
        proto_fail(err, ERR_INTERNAL, NULL, "unknown command %s", cmd);
        return -1;
    }
    int s = net_svc_index(c->service);
    if (s < 0) {
        json_decref(body);
        proto_fail(err, ERR_INTERNAL, NULL, "%s has no single service", cmd);
        return -1;
    }
    /* The same validation the service applies: a bad form costs no trip. */
    json_t *valid = proto_validate(c, body, err);
    json_decref(body);
    if (!valid)
        return -1;
    int is_long = strcmp(cmd, "order.place") == 0 || strcmp(cmd, "order.cancel") == 0;
    return call_svc(app, s, cmd, valid, out, err, is_long, cred);
}

/* ---- health probes ------------------------------------------------------------- */

/* Service s's request endpoint (512 bytes) and CURVE client settings. */
static int link_to(app_t *app, int s, char *ep, zio_curve_t *cv)
{
    return config_endpoint(app->cfg, config_services[s], "req", ep, 512) == 0 &&
                   cli_curve(app->cli, config_services[s], cv) == 0
               ? 0
               : -1;
}

static int probe_open(app_t *app, int s)
{
    svc_link_t *l = &app->svc[s];
    char ep[512];
    zio_curve_t cv;
    if (link_to(app, s, ep, &cv) != 0)
        return -1;
    l->probe = zio_socket(app->ctx, ZMQ_DEALER, 1);
    l->probe_opened = proto_mono_ms();
    int one = 1;
    int rc = l->probe && zmq_setsockopt(l->probe, ZMQ_IMMEDIATE, &one, sizeof one) == 0 &&
                     zio_curve_client(l->probe, &cv) == 0 && zmq_connect(l->probe, ep) == 0
                 ? 0
                 : -1;
    zio_curve_clear(&cv);
    if (rc != 0)
        zio_close(&l->probe);
    return rc;
}

static void probe_close(svc_link_t *l)
{
    zio_close(&l->probe);
    l->probe_wait = 0;
}

/* Send a health probe. Probes do not wait for each other: a service that
 * went away makes the next send fail at once (no live connection), which
 * is how a stop is noticed within a probe period. */
static void probe_send(app_t *app, int s, long long now)
{
    svc_link_t *l = &app->svc[s];
    l->next_probe = now + PROBE_EVERY_MS;
    if (!l->probe && probe_open(app, s) != 0) {
        mark(app, s, 0);
        return;
    }
    char rid[20];
    proto_random_hex(rid, 8);
    proto_frame_t f[6] = {
        {"", 0},
        {PROTO_SIGNATURE, strlen(PROTO_SIGNATURE)},
        {"health", 6},
        {rid, strlen(rid)},
        {"-", 1},   /* health needs no token: an ended session must not look offline */
        {"{}", 2},
    };
    if (zio_send(l->probe, f, 6, ZMQ_DONTWAIT) != 0) {
        /* No live connection (ZMQ_IMMEDIATE): nobody is there - unless the
         * socket is so new that its connection is still being made. */
        if (now - l->probe_opened < 300) {
            l->next_probe = now + 50;
            return;
        }
        mark(app, s, 0);
        return;
    }
    l->probe_sent = now;
    if (!l->probe_wait)
        l->probe_wait = now;
}

static void probe_read(app_t *app, int s)
{
    svc_link_t *l = &app->svc[s];
    for (int i = 0; i < 64 && l->probe; i++) {
        zio_msgs_t m;
        if (zio_recv(l->probe, &m, ZMQ_DONTWAIT) != 0)
            return;
        proto_rep_t rep;
        int ok = m.total == m.n && m.n == 5 && m.frame[0].size == 0 &&
                 proto_rep_decode(m.frame + 1, 4, &rep) == 0;
        zio_msgs_close(&m);
        if (!ok)
            continue;
        /* Any answer on this socket is a health reply of ours: alive. */
        l->probe_wait = 0;
        if (rep.status == ERR_OK) {
            size_t k;
            json_t *sub;
            json_array_foreach(json_object_get(rep.body, "subscriptions"), k, sub) {
                int p = net_svc_index(jstr(sub, "publisher"));
                if (p >= 0)
                    l->applied[p] = jint(sub, "applied");
            }
        }
        mark(app, s, 1);
        proto_rep_clear(&rep);
    }
}

static void probes_tick(app_t *app, long long now)
{
    for (int s = 0; s < app->nsvc; s++) {
        svc_link_t *l = &app->svc[s];
        if (l->probe_wait && now - l->probe_wait > app->probe_ms) {
            /* Unanswered: drop the socket and what it queued. */
            mark(app, s, 0);
            probe_close(l);
        }
        if (now >= l->next_probe)
            probe_send(app, s, now);
    }
}

/* ---- events ----------------------------------------------------------------- */

/* Does list hold the event with ev's id among its last `last` ones? */
static int audit_has(const json_t *list, const json_t *ev, size_t last)
{
    const char *id = jstr(ev, "eventId");
    size_t n = json_array_size(list);
    for (size_t i = n > last ? n - last : 0; i < n; i++)
        if (strcmp(jstr(json_array_get(list, i), "eventId"), id) == 0)
            return 1;
    return 0;
}

static void audit_add(app_t *app, const json_t *ev)
{
    if (!app->audit && !(app->audit = json_array()))
        proto_oom();
    /* Catch-up after a gap may bring an event we already hold. */
    if (audit_has(app->audit, ev, 50))
        return;
    if (json_array_append(app->audit, (json_t *)ev) != 0)
        proto_oom();
    while (json_array_size(app->audit) > AUDIT_KEEP)
        json_array_remove(app->audit, 0);
}

/* What the people at the counter should hear about at once. */
static void event_news(app_t *app, const json_t *ev)
{
    const char *type = jstr(ev, "eventType");
    long long order = jint(ev, "orderId");
    if (app->role == ROLE_CUSTOMER && app->customer && jint(ev, "customerId") == app->customer) {
        if (strcmp(type, "DeliveryCanceled") == 0)
            tui_flash(app, UI_OK, "order #%lld: the delivery team confirmed your cancellation; "
                                  "the payment is refunded", order);
        else if (strcmp(type, "CancelRejected") == 0)
            tui_flash(app, UI_WARN, "order #%lld: the delivery team rejected your cancellation; "
                                    "the order goes on", order);
        else if (strcmp(type, "Delivered") == 0)
            tui_flash(app, UI_OK, "order #%lld delivered. Enjoy your breakfast!", order);
    } else if (app->role == ROLE_DELIVERY) {
        if (strcmp(type, "DeliveryReceived") == 0)
            tui_flash(app, UI_INFO, "new order #%lld on the board", order);
        else if (strcmp(type, "CancelRequested") == 0)
            tui_flash(app, UI_FLAG, "order #%lld: the customer asks to cancel (y accept, n reject)",
                      order);
    } else if (app->role == ROLE_MANAGER && strcmp(type, "FoodSoldOut") == 0) {
        tui_flash(app, UI_WARN, "%s is sold out", jstr(ev, "name"));
    }
}

static int on_events(void *arg, const char *publisher, const json_t *events)
{
    app_t *app = arg;
    int p = net_svc_index(publisher);
    if (p < 0 || !(app->pubs & P(p)))
        return 0;
    long long now = proto_mono_ms();
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        long long seq = jint(ev, "seq");
        for (int d = 0; d < DS__COUNT; d++) {
            const struct ds_def *def = &defs[d];
            dataset_t *ds = &app->ds[d];
            if (!(ds_pubs[d] & P(p)))
                continue;
            if (def->mine && (!app->customer || jint(ev, "customerId") != app->customer))
                continue;
            if (def->ticket && (!app->ticket || jint(ev, "orderId") != app->ticket))
                continue;
            if (!ds->dirty)
                ds->dirty_since = now;
            ds->dirty = 1;
            if (ds_reader[d] != p && seq > ds->need[p])
                ds->need[p] = seq;
        }
        if (app->role == ROLE_MANAGER)
            audit_add(app, ev);
        event_news(app, ev);
    }
    app->redraw = 1;
    return 0;
}

/* How far the subscription has applied publisher p's events. */
static long long applied_of(app_t *app, int p)
{
    long long pos = app->start_seq[p];
    json_t *all = app->follow ? follow_positions(app->follow) : NULL;
    size_t k;
    json_t *f;
    json_array_foreach(all, k, f)
        if (strcmp(jstr(f, "publisher"), config_services[p]) == 0)
            pos = jint(f, "applied");
    json_decref(all);
    return pos;
}

/* events.since for the history loader, through the request path. */
static int history_call(void *arg, const char *publisher, json_t *body, json_t **res)
{
    proto_err_t err;
    int s = net_svc_index(publisher);
    if (s < 0) {
        json_decref(body);
        return -1;
    }
    return call_svc(arg, s, "events.since", body, res, &err, 0, NULL);
}

/* The recent past for the audit: the last events of each publisher up to
 * what the subscription has applied (live ones join after), merged by time.
 * Loaded whenever a manager screen opens, so a switch of role loses nothing. */
static void audit_load(app_t *app)
{
    history_src_t src[SVC_MAX];
    int n = 0;
    for (int p = 0; p < app->nsvc; p++) {
        if (!(app->pubs & P(p)))
            continue;
        long long upto = applied_of(app, p);
        src[n++] = (history_src_t){config_services[p], upto > 80 ? upto - 80 : 0, upto, 0, 0};
    }
    json_t *sorted = history_load(src, n, 80, 1, history_call, app);
    /* Events that arrived live since the subscription started come after
     * (a subscription started again finds older ones in the history). */
    size_t k, loaded = json_array_size(sorted);
    json_t *ev;
    json_array_foreach(app->audit, k, ev)
        if (!audit_has(sorted, ev, loaded))
            json_array_append(sorted, ev);
    json_decref(app->audit);
    app->audit = sorted;
    while (json_array_size(app->audit) > AUDIT_KEEP)
        json_array_remove(app->audit, 0);
}

/* Subscribe once every publisher answers: positions = their last seq now. */
static void follow_ensure(app_t *app, long long now)
{
    /* Before a login nothing is followed (events.since needs a token). */
    if (app->follow || now < app->follow_retry || strncmp(app->caller, "token:", 6) != 0)
        return;
    app->follow_retry = now + 1000;
    for (int p = 0; p < app->nsvc; p++)
        if ((app->pubs & P(p)) && app->svc[p].up != 1)
            return;
    long long last[SVC_MAX];
    for (int p = 0; p < app->nsvc; p++) {
        if (!(app->pubs & P(p)))
            continue;
        json_t *res;
        proto_err_t err;
        /* after = the largest allowed: no events, only last_seq. */
        if (call_svc(app, p, "events.since",
                     json_pack("{s:I, s:i}", "after", (json_int_t)1000000000000LL, "limit", 1), &res,
                     &err, 0, NULL) != 0)
            return;
        last[p] = jint(res, "last_seq");
        json_decref(res);
    }
    const keys_t *keys = cli_keys(app->cli);
    app->follow = keys ? follow_new(app->ctx, app->cfg, keys, app->caller, on_events, app) : NULL;
    if (!app->follow)
        return;
    for (int p = 0; p < app->nsvc; p++) {
        if (!(app->pubs & P(p)))
            continue;
        if (follow_add(app->follow, config_services[p], last[p]) != 0) {
            follow_destroy(&app->follow);
            return;
        }
        app->start_seq[p] = last[p];
    }
    /* Whatever changed before the subscription is fetched again. */
    net_dirty_all(app);
    if (app->role == ROLE_MANAGER)
        audit_load(app);
}

void net_refollow(app_t *app)
{
    follow_destroy(&app->follow);
    app->follow_retry = 0;
}

/* ---- data sets ------------------------------------------------------------------- */

void net_want(app_t *app, unsigned mask)
{
    for (int d = 0; d < DS__COUNT; d++)
        if ((mask & (1u << d)) && !(app->wanted & (1u << d)))
            net_dirty(app, d);
    app->wanted = mask;
    if (mask & (1u << DS_ORDERS) && app->role == ROLE_MANAGER && app->follow && !app->audit)
        audit_load(app);
}

void net_dirty(app_t *app, int d)
{
    if (d < 0 || d >= DS__COUNT)
        return;
    if (!app->ds[d].dirty)
        app->ds[d].dirty_since = proto_mono_ms();
    app->ds[d].dirty = 1;
}

void net_reset(app_t *app, int d)
{
    if (d < 0 || d >= DS__COUNT)
        return;
    json_decref(app->ds[d].data);
    app->ds[d].data = NULL;
    app->ds[d].loaded = 0;
    app->ds[d].error[0] = '\0';
    memset(app->ds[d].need, 0, sizeof app->ds[d].need);
    net_dirty(app, d);
}

void net_dirty_all(app_t *app)
{
    for (int d = 0; d < DS__COUNT; d++)
        net_dirty(app, d);
}

json_t *net_items(app_t *app, int d)
{
    if (d < 0 || d >= DS__COUNT || !app->ds[d].data)
        return NULL;
    json_t *items = json_object_get(app->ds[d].data, "items");
    return json_is_array(items) ? items : NULL;
}

/* The request body of a data set; NULL when it cannot be asked now. */
static json_t *ds_body(app_t *app, int d)
{
    switch (d) {
    case DS_MYORDERS:
        return app->customer ? json_pack("{s:I}", "customer", (json_int_t)app->customer) : NULL;
    case DS_ME:
        return app->customer ? json_pack("{s:I}", "id", (json_int_t)app->customer) : NULL;
    case DS_TICKET:
        return app->ticket ? json_pack("{s:I}", "id", (json_int_t)app->ticket) : NULL;
    case DS_ORDERS:
    case DS_BOARD: {
        /* Today's (local midnight on) and, for the board, every open one:
         * not the whole history of the shop on every refresh. */
        time_t now = time(NULL);
        struct tm tm;
        localtime_r(&now, &tm);
        tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
        tm.tm_isdst = -1;
        time_t midnight = mktime(&tm);
        struct tm utc;
        char since[32];
        gmtime_r(&midnight, &utc);
        strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%S.000Z", &utc);
        return json_pack("{s:s}", "since", since);
    }
    default:
        return json_object();
    }
}

/* Fetch what is wanted, dirty and ready. Returns 1 while some data set waits
 * for a read model to catch up (the loop then polls faster). */
static int fetch(app_t *app, long long now)
{
    int waiting = 0;
    for (int d = 0; d < DS__COUNT && !app->login; d++) {
        dataset_t *ds = &app->ds[d];
        const struct ds_def *def = &defs[d];
        if (!(app->wanted & (1u << d)) || !ds->dirty)
            continue;
        svc_link_t *r = &app->svc[ds_reader[d]];
        if (r->up == 0)
            continue;
        int behind = 0;
        for (int p = 0; p < app->nsvc; p++)
            if (ds->need[p] > r->applied[p])
                behind = 1;
        if (behind && now - ds->dirty_since < NEED_WAIT_MS) {
            /* Ask the reader how far it got, now rather than in 500 ms. */
            if (now - r->probe_sent >= 30)
                probe_send(app, ds_reader[d], now);
            waiting = 1;
            continue;
        }
        if (now - ds->fetched_at < FETCH_GAP_MS) {
            waiting = 1;
            continue;
        }
        json_t *body = ds_body(app, d);
        if (!body) {
            ds->dirty = 0;
            json_decref(ds->data);
            ds->data = NULL;
            continue;
        }
        json_t *out;
        proto_err_t err;
        ds->fetched_at = now;
        if (net_call(app, def->cmd, body, &out, &err) == 0) {
            json_decref(ds->data);
            ds->data = out;
            ds->error[0] = '\0';
        } else if (err.status == ERR_UNAVAILABLE && app->svc[ds_reader[d]].up == 0) {
            continue;   /* stays dirty: fetched when the service is back */
        } else if (err.status == ERR_UNAUTHORIZED) {
            continue;   /* the session ended: kept as shown, fetched after the login */
        } else {
            snprintf(ds->error, sizeof ds->error, "%s: %s", proto_status_name(err.status),
                     err.message);
        }
        ds->dirty = 0;
        ds->loaded = 1;
        memset(ds->need, 0, sizeof ds->need);
        app->redraw = 1;
    }
    return waiting;
}

/* ---- the loop's part ----------------------------------------------------------------- */

int net_pollitems(app_t *app, zmq_pollitem_t *items, int max)
{
    int n = 0;
    if (app->follow && n < max) {
        items[n] = (zmq_pollitem_t){follow_socket(app->follow), 0, ZMQ_POLLIN, 0};
        poll_map[n++] = MAP_FOLLOW;
    }
    for (int s = 0; s < app->nsvc && n < max; s++) {
        if (!app->svc[s].probe)
            continue;
        items[n] = (zmq_pollitem_t){app->svc[s].probe, 0, ZMQ_POLLIN, 0};
        poll_map[n++] = s;
    }
    poll_count = n;
    return n;
}

void net_readable(app_t *app, zmq_pollitem_t *items, int n)
{
    for (int i = 0; i < n && i < poll_count; i++) {
        if (!(items[i].revents & ZMQ_POLLIN))
            continue;
        if (poll_map[i] == MAP_FOLLOW) {
            if (app->follow)
                (void)follow_on_readable(app->follow);
        } else {
            probe_read(app, poll_map[i]);
        }
    }
}

int net_tick(app_t *app)
{
    long long now = proto_mono_ms();
    probes_tick(app, now);
    /* Nothing is asked while the login dialog waits for a password. */
    if (app->login)
        return 250;
    follow_ensure(app, now);
    /* Catch-up calls block while a publisher is away: only when all answer. */
    if (app->follow && !app->offline)
        follow_tick(app->follow, 0);
    if (now >= app->refresh_at) {
        app->refresh_at = now + REFRESH_EVERY_MS;
        for (int d = 0; d < DS__COUNT; d++)
            if (app->wanted & (1u << d))
                net_dirty(app, d);
    }
    int waiting = fetch(app, now);
    return waiting ? 20 : 250;
}

/* Count config_services and find the data sets' readers and publishers
 * in it: -1 when one is missing or there are more services than SVC_MAX. */
static int resolve_defs(app_t *app)
{
    int n = 0;
    while (config_services[n])
        if (++n > SVC_MAX)
            return -1;
    app->nsvc = n;
    app->pubs = 0;
    for (int d = 0; d < DS__COUNT; d++) {
        const proto_cmd_t *c = proto_cmd_find(defs[d].cmd);
        ds_reader[d] = c ? net_svc_index(c->service) : -1;
        if (ds_reader[d] < 0)
            return -1;
        ds_pubs[d] = 0;
        const char *p = defs[d].pubs;
        while (*p) {
            size_t len = strcspn(p, " ");
            char name[32];
            snprintf(name, sizeof name, "%.*s", (int)len, p);
            int s = net_svc_index(name);
            if (s < 0)
                return -1;
            ds_pubs[d] |= P(s);
            p += len + strspn(p + len, " ");
        }
        app->pubs |= ds_pubs[d];
    }
    return 0;
}

int net_init(app_t *app)
{
    if (resolve_defs(app) != 0)
        return -1;
    app->ctx = cli_ctx(app->cli);
    app->timeout_ms = (int)config_int(app->cfg, "tui.timeout_ms");
    app->long_timeout_ms = (int)config_int(app->cfg, "tui.order_timeout_ms");
    app->probe_ms = (int)config_int(app->cfg, "tui.probe_ms");
    for (int s = 0; s < app->nsvc; s++) {
        char ep[512];
        zio_curve_t cv;
        if (link_to(app, s, ep, &cv) != 0)
            return -1;
        app->svc[s].client = client_new(app->ctx, ep, &cv);
        zio_curve_clear(&cv);
        if (!app->svc[s].client)
            return -1;
        app->svc[s].up = -1;
    }
    return 0;
}

void net_close(app_t *app)
{
    follow_destroy(&app->follow);
    for (int s = 0; s < app->nsvc; s++) {
        client_destroy(&app->svc[s].client);
        probe_close(&app->svc[s]);
    }
    for (int d = 0; d < DS__COUNT; d++) {
        json_decref(app->ds[d].data);
        app->ds[d].data = NULL;
    }
    json_decref(app->audit);
    app->audit = NULL;
}

/* ---- events in words ----------------------------------------------------------------- */

void net_describe(const json_t *ev, char *out, size_t n)
{
    const char *t = jstr(ev, "eventType");
    long long id = jint(ev, "id");
    char m[32];
    if (strcmp(t, "CustomerRegistered") == 0)
        snprintf(out, n, "customer #%lld %s signed up", id, jstr(ev, "name"));
    else if (strcmp(t, "CustomerUpdated") == 0) {
        char what[160] = "";
        static const char *const keys[] = {"name", "phone", "address", "age"};
        for (size_t i = 0; i < 4; i++) {
            json_t *v = json_object_get(ev, keys[i]);
            if (!v)
                continue;
            char one[96];
            if (json_is_integer(v))
                snprintf(one, sizeof one, "%s%s %lld", *what ? ", " : "", keys[i],
                         (long long)json_integer_value(v));
            else
                snprintf(one, sizeof one, "%s%s %s", *what ? ", " : "", keys[i],
                         json_is_string(v) ? json_string_value(v) : "-");
            size_t used = strlen(what);
            snprintf(what + used, sizeof what - used, "%s", one);
        }
        snprintf(out, n, "customer #%lld changed %s", id, what);
    } else if (strcmp(t, "CustomerWithdrawn") == 0)
        snprintf(out, n, "customer #%lld withdrew", id);
    else if (strcmp(t, "FoodRegistered") == 0) {
        w_money(m, sizeof m, jint(ev, "price"));
        snprintf(out, n, "food #%lld %s added: price %s, stock %lld", id, jstr(ev, "name"), m,
                 jint(ev, "stock"));
    } else if (strcmp(t, "FoodUpdated") == 0) {
        w_money(m, sizeof m, jint(ev, "price"));
        snprintf(out, n, "food #%lld %s: price %s, stock %lld", id, jstr(ev, "name"), m,
                 jint(ev, "stock"));
    } else if (strcmp(t, "FoodDeleted") == 0)
        snprintf(out, n, "food #%lld %s deleted", id, jstr(ev, "name"));
    else if (strcmp(t, "StockChanged") == 0) {
        const char *why = jstr(ev, "reason");
        if (jint(ev, "orderId"))
            snprintf(out, n, "food #%lld stock %lld (%+lld, %s of order #%lld)", id, jint(ev, "stock"),
                     jint(ev, "delta"), why, jint(ev, "orderId"));
        else
            snprintf(out, n, "food #%lld stock %lld (%+lld, %s)", id, jint(ev, "stock"),
                     jint(ev, "delta"), why);
    } else if (strcmp(t, "FoodSoldOut") == 0)
        snprintf(out, n, "food #%lld %s sold out", id, jstr(ev, "name"));
    else if (strcmp(t, "Ordered") == 0) {
        w_money(m, sizeof m, jint(ev, "amount"));
        snprintf(out, n, "order #%lld: %lld x %s for %s (%s)", id, jint(ev, "qty"),
                 jstr(ev, "foodName"), jstr(ev, "customerName"), m);
    } else if (strcmp(t, "OrderCancelled") == 0)
        snprintf(out, n, "order #%lld cancelled", id);
    else if (strcmp(t, "Paid") == 0) {
        w_money(m, sizeof m, jint(ev, "amount"));
        snprintf(out, n, "order #%lld paid %s", id, m);
    } else if (strcmp(t, "PaymentCancelled") == 0) {
        w_money(m, sizeof m, jint(ev, "amount"));
        snprintf(out, n, "order #%lld refunded %s (%s)", id, m, jstr(ev, "reason"));
    } else if (strcmp(t, "DeliveryReceived") == 0)
        snprintf(out, n, "order #%lld on the delivery board", id);
    else if (strcmp(t, "DeliveryConfirmed") == 0)
        snprintf(out, n, "order #%lld confirmed", id);
    else if (strcmp(t, "Shipped") == 0)
        snprintf(out, n, "order #%lld shipped", id);
    else if (strcmp(t, "Delivered") == 0)
        snprintf(out, n, "order #%lld delivered", id);
    else if (strcmp(t, "CancelRequested") == 0)
        snprintf(out, n, "order #%lld: cancellation requested", id);
    else if (strcmp(t, "CancelRejected") == 0)
        snprintf(out, n, "order #%lld: cancellation rejected, back to %s", id, jstr(ev, "status"));
    else if (strcmp(t, "DeliveryCanceled") == 0)
        snprintf(out, n, "order #%lld: cancellation accepted", id);
    else
        snprintf(out, n, "%s #%lld", t, id);
}
