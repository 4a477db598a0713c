/*
 * client.c - Lazy Pirate request/reply client.
 */
#include "client.h"
#include "zio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

struct client {
    void *ctx;
    void *sock;
    char endpoint[512];
    char caller[PROTO_MAX_CRED + 8];   /* the credential frame */
    int timeout_ms;
    int attempts;
    int curve_on;
    zio_curve_t curve;
};

/* For ipc:// endpoints with a path: wait up to ms for the socket file. A
 * missing file means nobody listens: no need to wait a whole timeout. */
static int ipc_present(const client_t *c, long ms)
{
    if (strncmp(c->endpoint, "ipc://", 6) != 0 || c->endpoint[6] == '@')
        return 1;
    long long deadline = proto_mono_ms() + ms;
    struct stat st;
    while (stat(c->endpoint + 6, &st) != 0) {
        if (proto_mono_ms() >= deadline)
            return 0;
        struct timespec ts = {0, 20 * 1000000L};
        nanosleep(&ts, NULL);
    }
    return 1;
}

static int reconnect(client_t *c)
{
    zio_close(&c->sock);
    c->sock = zio_socket(c->ctx, ZMQ_REQ, 0);
    if (!c->sock)
        return -1;
    /* A peer that restarts (a rolling restart) is back within tens of ms:
     * reconnect after 10 ms, not libzmq's 100, so that what we queued
     * meanwhile reaches it before it looks slow. */
    int ivl = 10;
    if (zmq_setsockopt(c->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof ivl) != 0 ||
        (c->curve_on && zio_curve_client(c->sock, &c->curve) != 0) ||
        zmq_connect(c->sock, c->endpoint) != 0) {
        zio_close(&c->sock);
        return -1;
    }
    return 0;
}

client_t *client_new(void *ctx, const char *endpoint, const zio_curve_t *curve)
{
    client_t *c = calloc(1, sizeof *c);
    if (!c)
        proto_oom();
    c->ctx = ctx;
    if (curve) {
        c->curve = *curve;
        c->curve_on = 1;
    }
    snprintf(c->endpoint, sizeof c->endpoint, "%s", endpoint);
    snprintf(c->caller, sizeof c->caller, "-");
    c->timeout_ms = 1000;
    c->attempts = 2;
    if (reconnect(c) != 0) {
        client_destroy(&c);
        return NULL;
    }
    return c;
}

void client_destroy(client_t **self_p)
{
    client_t *c = self_p ? *self_p : NULL;
    if (!c)
        return;
    zio_close(&c->sock);
    zio_curve_clear(&c->curve);
    free(c);
    *self_p = NULL;
}

void client_set_timeout(client_t *c, int timeout_ms, int attempts)
{
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    c->attempts = attempts > 0 ? attempts : 1;
}

void client_set_caller(client_t *c, const char *caller)
{
    snprintf(c->caller, sizeof c->caller, "%s", caller);
}

int client_call(client_t *c, const char *cmd, const json_t *body, const char *request_id,
                proto_rep_t *rep, proto_err_t *err)
{
    char rid[PROTO_MAX_ID + 1];
    if (request_id)
        snprintf(rid, sizeof rid, "%s", request_id);
    else
        proto_random_hex(rid, 12);
    json_t *empty = NULL;
    if (!body)
        body = empty = json_object();
    char *text = proto_dump(body);
    json_decref(empty);
    proto_frame_t f[5] = {
        {PROTO_SIGNATURE, strlen(PROTO_SIGNATURE)},
        {cmd, strlen(cmd)},
        {rid, strlen(rid)},
        {c->caller, strlen(c->caller)},
        {text, strlen(text)},
    };
    int rc = -1;
    memset(rep, 0, sizeof *rep);
    for (int attempt = 0; attempt < c->attempts; attempt++) {
        if (!c->sock && reconnect(c) != 0)
            break;
        if (!ipc_present(c, c->timeout_ms < 500 ? c->timeout_ms : 500))
            continue;
        if (zio_send(c->sock, f, 5, ZMQ_DONTWAIT) != 0) {
            /* No peer took it (REQ with nothing connected): treat as a timeout. */
            if (errno != EAGAIN)
                break;
        }
        long long deadline = proto_mono_ms() + c->timeout_ms;
        for (;;) {
            long long left = deadline - proto_mono_ms();
            if (left <= 0)
                break;
            zmq_pollitem_t item = {c->sock, 0, ZMQ_POLLIN, 0};
            int n = zmq_poll(&item, 1, (long)left);
            if (n < 0) {
                if (errno == EINTR)
                    continue;
                goto out;
            }
            if (n == 0)
                break;
            zio_msgs_t m;
            if (zio_recv(c->sock, &m, ZMQ_DONTWAIT) != 0) {
                if (errno == EAGAIN || errno == EINTR)
                    continue;
                goto out;
            }
            int ok = (m.total == m.n) ? proto_rep_decode(m.frame, m.n, rep) : -1;
            zio_msgs_close(&m);
            if (ok == 0 && strcmp(rep->request_id, rid) == 0) {
                rc = 0;
                goto out;
            }
            proto_rep_clear(rep);
            proto_fail(err, ERR_INTERNAL, NULL, "malformed reply from %s", c->endpoint);
            /* A REQ socket gets exactly one reply per request; a bad one
             * means the peer is broken, so give up on this attempt. */
            (void)reconnect(c);
            free(text);
            return -1;
        }
        /* Timed out: this REQ socket is now stuck; start a fresh one. */
        if (reconnect(c) != 0)
            break;
    }
out:
    free(text);
    if (rc != 0)
        proto_fail(err, ERR_UNAVAILABLE, NULL, "no answer from %s (%s)", cmd, c->endpoint);
    return rc;
}
