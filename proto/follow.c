/*
 * follow.c - sequenced subscription with catch-up (Clone pattern).
 */
#include "follow.h"
#include "client.h"
#include "keys.h"
#include "zio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FOLLOW_MAX 8
#define CATCHUP_BATCH 1000
#define RETRY_MS 1000

/* A feed's readiness, latched once reached. */
enum { FEED_CATCHING_UP, FEED_CAUGHT_UP, FEED_NO_ANSWER };

typedef struct {
    char publisher[32];
    json_t *pending;       /* live events read in this pass, contiguous after applied */
    long long applied;     /* last sequence applied */
    long long latest;      /* highest sequence the publisher announced */
    long long retry_at;    /* monotonic ms before which catch-up is not retried */
    int behind;            /* the publisher is behind our position (restored?) */
    long long added_ms;    /* monotonic ms when following began */
    long long target;      /* the publisher's last sequence when first heard; -1: not yet */
    int ready;             /* FEED_* above: caught up with target, or gave up waiting */
    client_t *client;
} feed_t;

struct follow {
    void *ctx;
    const config_t *cfg;
    const keys_t *keys;
    void *sub;
    char caller[PROTO_MAX_CRED + 8];   /* the credential frame */
    follow_apply_fn fn;
    void *arg;
    int nfeeds;
    int catching_up;       /* inside catch_up: fn gets an events.since run */
    feed_t feeds[FOLLOW_MAX];
};

follow_t *follow_new(void *ctx, const config_t *cfg, const keys_t *keys, const char *caller,
                     follow_apply_fn fn, void *arg)
{
    follow_t *f = calloc(1, sizeof *f);
    if (!f)
        proto_oom();
    f->ctx = ctx;
    f->cfg = cfg;
    f->keys = keys;
    f->fn = fn;
    f->arg = arg;
    snprintf(f->caller, sizeof f->caller, "%s", caller);
    f->sub = zio_socket(ctx, ZMQ_SUB, 1);
    /* A link to another host can go silent without a word (a cable pulled):
     * ZMTP heartbeats drop a connection that stopped answering and ZeroMQ
     * connects again, each try bounded, so events flow (and a gap is seen
     * and caught up) about a second after the link is back, never only
     * when TCP's backed-off retransmission gets through. */
    int hwm = 100000, hb_ivl = 1000, hb_timeout = 3000, connect_ms = 1000;
    if (!f->sub || zmq_setsockopt(f->sub, ZMQ_SUBSCRIBE, "", 0) != 0 ||
        zmq_setsockopt(f->sub, ZMQ_RCVHWM, &hwm, sizeof hwm) != 0 ||
        zmq_setsockopt(f->sub, ZMQ_HEARTBEAT_IVL, &hb_ivl, sizeof hb_ivl) != 0 ||
        zmq_setsockopt(f->sub, ZMQ_HEARTBEAT_TIMEOUT, &hb_timeout, sizeof hb_timeout) != 0 ||
        zmq_setsockopt(f->sub, ZMQ_CONNECT_TIMEOUT, &connect_ms, sizeof connect_ms) != 0) {
        zio_close(&f->sub);
        free(f);
        return NULL;
    }
    return f;
}

void follow_destroy(follow_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    follow_t *f = *self_p;
    for (int i = 0; i < f->nfeeds; i++) {
        client_destroy(&f->feeds[i].client);
        json_decref(f->feeds[i].pending);
    }
    zio_close(&f->sub);
    free(f);
    *self_p = NULL;
}

int follow_add(follow_t *f, const char *publisher, long long position)
{
    if (f->nfeeds == FOLLOW_MAX)
        return -1;
    char pub_ep[512], req_ep[512];
    /* Catch-up goes to the publisher's sync socket, served by a thread of
     * its own, never to its request loop. */
    if (config_endpoint(f->cfg, publisher, "pub", pub_ep, sizeof pub_ep) != 0 ||
        config_endpoint(f->cfg, publisher, "sync", req_ep, sizeof req_ep) != 0)
        return -1;
    feed_t *fd = &f->feeds[f->nfeeds];
    memset(fd, 0, sizeof *fd);
    snprintf(fd->publisher, sizeof fd->publisher, "%s", publisher);
    fd->applied = position;
    fd->latest = position;
    fd->added_ms = proto_mono_ms();
    fd->target = -1;
    /* Both links are CURVE clients of the publisher (the SUB socket takes
     * the server key in force at each connect). */
    zio_curve_t cv = {0};
    if (f->keys && keys_client(f->keys, publisher, &cv) != 0)
        return -1;
    fd->client = client_new(f->ctx, req_ep, f->keys ? &cv : NULL);
    int rc = fd->client && (!f->keys || zio_curve_client(f->sub, &cv) == 0) &&
                     zmq_connect(f->sub, pub_ep) == 0
                 ? 0
                 : -1;
    zio_curve_clear(&cv);
    if (rc != 0) {
        client_destroy(&fd->client);
        return -1;
    }
    client_set_caller(fd->client, f->caller);
    client_set_timeout(fd->client, 2000, 1);
    f->nfeeds++;
    return 0;
}

void *follow_socket(follow_t *f)
{
    return f->sub;
}

static feed_t *feed_find(follow_t *f, const char *publisher, size_t len)
{
    for (int i = 0; i < f->nfeeds; i++)
        if (strlen(f->feeds[i].publisher) == len && memcmp(f->feeds[i].publisher, publisher, len) == 0)
            return &f->feeds[i];
    return NULL;
}

/* The catch-up itself: events.since after our position, batch by batch. */
static int catch_up_batches(follow_t *f, feed_t *fd)
{
    for (;;) {
        json_t *body = json_pack("{s:I, s:i}", "after", (json_int_t)fd->applied, "limit",
                                 CATCHUP_BATCH);
        if (!body)
            proto_oom();
        proto_rep_t rep;
        proto_err_t err;
        int rc = client_call(fd->client, "events.since", body, NULL, &rep, &err);
        json_decref(body);
        if (rc != 0 || rep.status != ERR_OK) {
            if (rc == 0)
                proto_rep_clear(&rep);
            fd->retry_at = proto_mono_ms() + RETRY_MS;
            return -1;
        }
        json_t *events = json_object_get(rep.body, "events");
        json_t *last = json_object_get(rep.body, "last_seq");
        /* The publisher's own word on its last sequence beats any number
         * seen on the wire (a forged or stale heartbeat must not be chased
         * forever). Below our position means its database went back in
         * time: say so; events are never applied twice. */
        if (json_is_integer(last)) {
            fd->latest = json_integer_value(last);
            /* Shown in follow_positions ("behind"), never printed: a
             * follower may live inside a full-screen program. */
            fd->behind = fd->latest < fd->applied;
            if (fd->target < 0)
                fd->target = fd->latest;
        }
        size_t n = json_array_size(events);
        /* Trust nothing: the run must start right after our position and be
         * contiguous, or it is not applied. */
        size_t ok = 0;
        for (size_t i = 0; i < n; i++) {
            json_t *ev = json_array_get(events, i);
            if (proto_event_check(ev) != 0 ||
                json_integer_value(json_object_get(ev, "seq")) != fd->applied + 1 + (long long)i)
                break;
            ok++;
        }
        int applied = 0;
        if (ok > 0) {
            json_t *run = ok == n ? json_incref(events) : json_array();
            for (size_t i = 0; ok != n && i < ok; i++)
                json_array_append(run, json_array_get(events, i));
            if (f->fn(f->arg, fd->publisher, run) == 0) {
                fd->applied += (long long)ok;
                applied = 1;
            }
            json_decref(run);
        }
        proto_rep_clear(&rep);
        if ((ok > 0 && !applied) || (ok == 0 && fd->latest > fd->applied)) {
            /* Refused by the handler, or nothing usable came back: wait
             * before asking again. */
            fd->retry_at = proto_mono_ms() + RETRY_MS;
            return -1;
        }
        if (ok < (size_t)CATCHUP_BATCH || ok != n)
            return 0;
    }
}

/* Ask the publisher for everything after our position, in batches. */
static int catch_up(follow_t *f, feed_t *fd)
{
    f->catching_up = 1;
    int rc = catch_up_batches(f, fd);
    f->catching_up = 0;
    return rc;
}

int follow_catching_up(const follow_t *f)
{
    return f->catching_up;
}

/* Apply the live events gathered for a feed in one run (one transaction for
 * a service), or catch up when they did not follow on. */
static void flush_pending(follow_t *f, feed_t *fd)
{
    if (!fd->pending)
        return;
    if (json_array_size(fd->pending) > 0 && f->fn(f->arg, fd->publisher, fd->pending) == 0)
        fd->applied += (long long)json_array_size(fd->pending);
    json_decref(fd->pending);
    fd->pending = NULL;
    if (fd->latest > fd->applied && proto_mono_ms() >= fd->retry_at)
        (void)catch_up(f, fd);
}

static void on_message(follow_t *f, const zio_msgs_t *m)
{
    if (m->n != 2 || m->total != 2)
        return;
    const char *topic = m->frame[0].data;
    size_t tlen = m->frame[0].size;
    const char *dot = memchr(topic, '.', tlen);
    if (!dot)
        return;
    feed_t *fd = feed_find(f, topic, (size_t)(dot - topic));
    if (!fd)
        return;
    json_t *ev = json_loadb(m->frame[1].data, m->frame[1].size, 0, NULL);
    if (!ev)
        return;
    size_t rest = tlen - (size_t)(dot - topic) - 1;
    json_t *seqj = json_object_get(ev, "seq");
    long long seq = json_is_integer(seqj) ? json_integer_value(seqj) : 0;
    if (seq > fd->latest)
        fd->latest = seq;
    int heartbeat = rest == strlen(PROTO_HB_TYPE) && memcmp(dot + 1, PROTO_HB_TYPE, rest) == 0;
    /* A heartbeat carries everything the publisher had committed then: the
     * first one heard is what this follower must reach to be ready. */
    if (heartbeat && fd->target < 0 && json_is_integer(seqj))
        fd->target = seq;
    long long next = fd->applied + 1 + (long long)json_array_size(fd->pending);
    if (!heartbeat && seq == next && proto_event_check(ev) == 0) {
        if (!fd->pending && !(fd->pending = json_array()))
            proto_oom();
        if (json_array_append(fd->pending, ev) != 0)
            proto_oom();
    }
    /* Anything else ahead of us (a gap, a heartbeat) is repaired by the
     * catch-up in flush_pending. */
    json_decref(ev);
}

int follow_on_readable(follow_t *f)
{
    int rc = 0;
    for (int i = 0; i < 10000; i++) {
        zio_msgs_t m;
        if (zio_recv(f->sub, &m, ZMQ_DONTWAIT) != 0) {
            rc = (errno == EAGAIN || errno == EINTR) ? 0 : -1;
            break;
        }
        on_message(f, &m);
        zio_msgs_close(&m);
    }
    for (int i = 0; i < f->nfeeds; i++)
        flush_pending(f, &f->feeds[i]);
    return rc;
}

void follow_tick(follow_t *f, int force)
{
    long long now = proto_mono_ms();
    for (int i = 0; i < f->nfeeds; i++) {
        feed_t *fd = &f->feeds[i];
        if ((force || fd->latest > fd->applied) && now >= fd->retry_at)
            (void)catch_up(f, fd);
    }
}

json_t *follow_positions(const follow_t *f)
{
    json_t *a = json_array();
    if (!a)
        proto_oom();
    for (int i = 0; i < f->nfeeds; i++) {
        const feed_t *fd = &f->feeds[i];
        long long lag = fd->latest > fd->applied ? fd->latest - fd->applied : 0;
        json_t *o = json_pack("{s:s, s:I, s:I, s:I, s:b}", "publisher", fd->publisher, "applied",
                              (json_int_t)fd->applied, "latest", (json_int_t)fd->latest, "lag",
                              (json_int_t)lag, "behind", fd->behind);
        if (o && json_object_set_new(o, "ready", json_boolean(fd->ready != FEED_CATCHING_UP)) != 0)
            proto_oom();
        if (!o || json_array_append_new(a, o) != 0)
            proto_oom();
    }
    return a;
}

long long follow_total_lag(const follow_t *f)
{
    long long lag = 0;
    for (int i = 0; i < f->nfeeds; i++)
        if (f->feeds[i].latest > f->feeds[i].applied)
            lag += f->feeds[i].latest - f->feeds[i].applied;
    return lag;
}

/* One feed's readiness now (latched): caught up once it applied what the
 * publisher had when first heard; given up when nothing was heard from the
 * publisher within timeout_ms of following it. */
static int feed_ready(feed_t *fd, long long now, long long timeout_ms)
{
    if (fd->ready == FEED_CATCHING_UP) {
        if (fd->target >= 0 && fd->applied >= fd->target)
            fd->ready = FEED_CAUGHT_UP;
        else if (fd->target < 0 && now - fd->added_ms >= timeout_ms)
            fd->ready = FEED_NO_ANSWER;
    }
    return fd->ready;
}

/* Append "name" to a comma-separated list in out. */
static void list_add(char *out, size_t cap, const char *name)
{
    size_t len = strlen(out);
    if (len < cap)
        snprintf(out + len, cap - len, "%s%s", len ? ", " : "", name);
}

int follow_ready(follow_t *f, long long timeout_ms, char *note, size_t cap)
{
    char waiting[256] = "", behind[256] = "", gave_up[256] = "";
    long long now = proto_mono_ms();
    for (int i = 0; i < f->nfeeds; i++) {
        feed_t *fd = &f->feeds[i];
        int r = feed_ready(fd, now, timeout_ms);
        if (r == FEED_NO_ANSWER) {
            list_add(gave_up, sizeof gave_up, fd->publisher);
        } else if (r == FEED_CATCHING_UP && fd->target < 0) {
            list_add(waiting, sizeof waiting, fd->publisher);
        } else if (r == FEED_CATCHING_UP) {
            char one[96];
            snprintf(one, sizeof one, "%s %lld of %lld", fd->publisher, fd->applied, fd->target);
            list_add(behind, sizeof behind, one);
        }
    }
    int ready = !waiting[0] && !behind[0];
    size_t len = 0;
    note[0] = '\0';
    if (behind[0] && len < cap)
        len += (size_t)snprintf(note + len, cap - len, "catching up with %s", behind);
    if (waiting[0] && len < cap)
        len += (size_t)snprintf(note + len, cap - len, "%swaiting for %s (up to %lld ms)",
                                len ? "; " : "", waiting, timeout_ms);
    if (gave_up[0] && len < cap)
        snprintf(note + len, cap - len, "%sno answer from %s within %lld ms: counted as caught up",
                 len ? "; " : "", gave_up, timeout_ms);
    return ready;
}
