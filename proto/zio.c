/*
 * zio.c - checked libzmq helpers.
 */
#include "zio.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define ZAP_DOMAIN "counter"

int zio_curve_server(void *sock, const zio_curve_t *c)
{
    int one = 1;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->sec, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, ZAP_DOMAIN, strlen(ZAP_DOMAIN)) != 0)
        return -1;
    return 0;
}

int zio_curve_client(void *sock, const zio_curve_t *c)
{
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, c->server, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, c->pub, 40) != 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, c->sec, 40) != 0)
        return -1;
    return 0;
}

void zio_curve_clear(zio_curve_t *c)
{
    sodium_memzero(c, sizeof *c);
}

/* The ZAP User-Id of msg's connection into out ("" when there is none). */
static void user_id_of(zmq_msg_t *msg, char *out, size_t cap)
{
    const char *u = zmq_msg_gets(msg, "User-Id");
    if (u && strlen(u) < cap)
        memcpy(out, u, strlen(u) + 1);
}

int zio_recv(void *sock, zio_msgs_t *m, int flags)
{
    m->n = 0;
    m->total = 0;
    m->user_id[0] = '\0';
    for (;;) {
        zmq_msg_t scratch;
        zmq_msg_t *msg = m->n < ZIO_MAX_FRAMES ? &m->msg[m->n] : &scratch;
        if (zmq_msg_init(msg) != 0)
            goto fail;
        if (zmq_msg_recv(msg, sock, m->total == 0 ? flags : 0) < 0) {
            int e = errno;
            zmq_msg_close(msg);
            errno = e;
            goto fail;
        }
        int more = zmq_msg_more(msg);
        /* A ROUTER's identity frame is made locally: the first frame that
         * came over the wire says who sent it. */
        if (!m->user_id[0])
            user_id_of(msg, m->user_id, sizeof m->user_id);
        if (msg == &scratch) {
            zmq_msg_close(&scratch);
        } else {
            m->frame[m->n].data = zmq_msg_data(msg);
            m->frame[m->n].size = zmq_msg_size(msg);
            m->n++;
        }
        m->total++;
        if (!more)
            return 0;
    }
fail: {
    int e = errno;
    zio_msgs_close(m);
    errno = e;
    return -1;
}
}

void zio_msgs_close(zio_msgs_t *m)
{
    for (size_t i = 0; i < m->n; i++)
        zmq_msg_close(&m->msg[i]);
    m->n = 0;
}

int zio_send(void *sock, const proto_frame_t *f, size_t n, int flags)
{
    for (size_t i = 0; i < n; i++) {
        int fl = flags | (i + 1 < n ? ZMQ_SNDMORE : 0);
        if (zmq_send(sock, f[i].data, f[i].size, fl) < 0)
            return -1;
    }
    return 0;
}

int zio_reply(void *sock, const proto_frame_t *env, size_t env_n, const char *rid,
              proto_status_t status, const json_t *body)
{
    if (env_n + 4 > ZIO_MAX_FRAMES) {
        errno = EINVAL;
        return -1;
    }
    char *text = proto_dump(body);
    const char *st = proto_status_name(status);
    const char *id = (rid && *rid) ? rid : "-";
    proto_frame_t f[ZIO_MAX_FRAMES];
    size_t n = 0;
    for (size_t i = 0; i < env_n; i++)
        f[n++] = env[i];
    f[n++] = (proto_frame_t){PROTO_SIGNATURE, strlen(PROTO_SIGNATURE)};
    f[n++] = (proto_frame_t){id, strlen(id)};
    f[n++] = (proto_frame_t){st, strlen(st)};
    f[n++] = (proto_frame_t){text, strlen(text)};
    int rc = zio_send(sock, f, n, ZMQ_DONTWAIT);
    int e = errno;
    free(text);
    errno = e;
    return rc;
}

void *zio_socket(void *ctx, int type, int listen)
{
    void *s = zmq_socket(ctx, type);
    if (!s)
        return NULL;
    int zero = 0;
    if (zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero) != 0)
        goto fail;
    if (listen) {
        int64_t max = PROTO_MAX_MSG;
        if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &max, sizeof max) != 0)
            goto fail;
    }
    return s;
fail: {
    int e = errno;
    zmq_close(s);
    errno = e;
    return NULL;
}
}

void zio_close(void **sock_p)
{
    if (sock_p && *sock_p) {
        int zero = 0;
        (void)zmq_setsockopt(*sock_p, ZMQ_LINGER, &zero, sizeof zero);
        (void)zmq_close(*sock_p);
        *sock_p = NULL;
    }
}

/* Does a process listen on the unix socket at path? */
static int ipc_listening(const char *path)
{
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof a.sun_path)
        return 0;
    memcpy(a.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int rc = connect(fd, (struct sockaddr *)&a, sizeof a);
    close(fd);
    return rc == 0;
}

int zio_bind(void *sock, const char *endpoint)
{
    if (strncmp(endpoint, "ipc://", 6) == 0) {
        if (endpoint[6] == '@' || ipc_listening(endpoint + 6)) {
            errno = endpoint[6] == '@' ? EINVAL : EADDRINUSE;
            return -1;
        }
        (void)unlink(endpoint + 6);
    }
    return zmq_bind(sock, endpoint);
}
