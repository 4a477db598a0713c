/*
 * zap.c - the worker's ZAP handler (zap.h). Libzmq asks it, over inproc, about
 * every CURVE handshake on the worker's server sockets and waits for the
 * answer, so it answers at once and never blocks on anything else.
 */
#include "zap.h"
#include "log.h"
#include "zio.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_VERSION "1.0"

struct zap {
    void *sock;
    const keys_t *keys;
    pthread_t thread;
    atomic_int stop;
};

static int frame_is(const proto_frame_t *f, const char *s)
{
    return f->size == strlen(s) && memcmp(f->data, s, f->size) == 0;
}

const char *zap_decide(const keys_t *keys, const proto_frame_t *f, size_t n, char *user_id,
                       size_t cap)
{
    user_id[0] = '\0';
    /* version, request id, domain, address, identity, mechanism, key */
    if (n != 7 || !frame_is(&f[0], ZAP_VERSION) || !frame_is(&f[5], "CURVE") || f[6].size != 32)
        return "400";
    char z85[41];
    if (!zmq_z85_encode(z85, f[6].data, 32))
        return "400";
    const char *name = keys_name_of(keys, z85);
    if (name && strlen(name) < cap)
        memcpy(user_id, name, strlen(name) + 1);
    return "200";
}

static void answer(zap_t *z, const zio_msgs_t *m)
{
    char user_id[32];
    const char *status = zap_decide(z->keys, m->frame, m->total == m->n ? m->n : 0, user_id,
                                    sizeof user_id);
    const char *text = status[0] == '2' ? "OK" : "CURVE only";
    /* The request id goes back as it came (empty when the request had none). */
    proto_frame_t id = m->n >= 2 ? m->frame[1] : (proto_frame_t){"", 0};
    proto_frame_t f[6] = {
        {ZAP_VERSION, strlen(ZAP_VERSION)}, id,
        {status, strlen(status)},           {text, strlen(text)},
        {user_id, strlen(user_id)},         {"", 0},
    };
    if (zio_send(z->sock, f, 6, 0) != 0)
        log_warn("zap: reply: %s", zmq_strerror(zmq_errno()));
}

static void *zap_main(void *arg)
{
    zap_t *z = arg;
    while (!atomic_load(&z->stop)) {
        zmq_pollitem_t item = {z->sock, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, 200) <= 0)
            continue;   /* timeout, or EINTR from a signal meant for the main thread */
        zio_msgs_t m;
        if (zio_recv(z->sock, &m, ZMQ_DONTWAIT) != 0)
            continue;
        answer(z, &m);
        zio_msgs_close(&m);
    }
    zio_close(&z->sock);
    return NULL;
}

zap_t *zap_start(void *ctx, const keys_t *keys)
{
    zap_t *z = xcalloc(1, sizeof *z);
    z->keys = keys;
    z->sock = zio_socket(ctx, ZMQ_REP, 0);
    const char *why = NULL;
    if (!z->sock || zmq_bind(z->sock, ZAP_ENDPOINT) != 0)
        why = zmq_strerror(zmq_errno());
    /* The socket moves to the thread; pthread_create is the barrier. */
    else if (pthread_create(&z->thread, NULL, zap_main, z) != 0)
        why = "cannot start its thread";
    if (!why)
        return z;
    log_error("zap: %s: %s", ZAP_ENDPOINT, why);
    zio_close(&z->sock);
    free(z);
    return NULL;
}

void zap_stop(zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    zap_t *z = *self_p;
    atomic_store(&z->stop, 1);
    if (pthread_join(z->thread, NULL) != 0)
        log_warn("zap: cannot join its thread");
    free(z);
    *self_p = NULL;
}
