/*
 * zio.h - small checked helpers over libzmq shared by every program:
 * multipart send/receive with a frame limit, socket creation with the options
 * every socket of ours needs (linger, message size limit).
 */
#ifndef ZIO_H
#define ZIO_H

#include "proto.h"

#include <zmq.h>

#define ZIO_MAX_FRAMES 8

/* Received frames; zio_msgs_close() releases them. */
typedef struct {
    zmq_msg_t msg[ZIO_MAX_FRAMES];
    proto_frame_t frame[ZIO_MAX_FRAMES];
    size_t n;          /* frames kept */
    size_t total;      /* frames received, may exceed n (the rest were dropped) */
    char user_id[32];  /* the ZAP User-Id of the connection it came from: the
                        * service whose key the peer proved (backend/zap.c);
                        * "" for a terminal, a plain or an inproc peer */
} zio_msgs_t;

/* CURVE settings of one socket: Z85 keys (40 characters and a NUL). A
 * server socket uses pub/sec as its own pair (server is ignored); a client
 * socket uses pub/sec as its own pair and server as the server's public key.
 * sec is secret: zio_curve_clear() wipes it. */
typedef struct {
    char server[41];
    char pub[41];
    char sec[41];
} zio_curve_t;

/* A CURVE server: ZMQ_CURVE_SERVER, its secret key, ZAP domain "counter"
 * (so the process's ZAP handler, backend/zap.c, names each client). Set
 * before bind. Returns 0 or -1 with errno. */
int zio_curve_server(void *sock, const zio_curve_t *c);
/* A CURVE client of c->server. Set before connect (each connect takes the
 * options in force then). Returns 0 or -1 with errno. */
int zio_curve_client(void *sock, const zio_curve_t *c);
void zio_curve_clear(zio_curve_t *c);

/* Receive one whole multipart message (flags: 0 or ZMQ_DONTWAIT).
 * Returns 0, or -1 with errno (EAGAIN, EINTR, ...). */
int zio_recv(void *sock, zio_msgs_t *m, int flags);
void zio_msgs_close(zio_msgs_t *m);

/* Send n frames as one message. Returns 0 or -1 with errno. */
int zio_send(void *sock, const proto_frame_t *f, size_t n, int flags);

/* Send a CTR/1 reply: the envelope frames (routing identities), then
 * CTR1, rid ("-" when empty), status and body. Returns 0 or -1 with errno. */
int zio_reply(void *sock, const proto_frame_t *env, size_t env_n, const char *rid,
              proto_status_t status, const json_t *body);

/* New socket with ZMQ_LINGER 0 and, for sockets that accept outside input
 * (listen != 0), ZMQ_MAXMSGSIZE. Returns NULL on failure (errno set). */
void *zio_socket(void *ctx, int type, int listen);
/* zmq_close that logs nothing and tolerates NULL; sets *sock_p to NULL. */
void zio_close(void **sock_p);

/* Bind, removing a stale ipc socket file first (a previous run killed with
 * -9 leaves one behind). An ipc socket another process listens on is not
 * taken over: -1 with errno EADDRINUSE (zmq_errno() says so); an abstract-
 * namespace one (ipc://@...) is never bound: -1 with EINVAL. */
int zio_bind(void *sock, const char *endpoint);

#endif
