/*
 * zap.h - the worker's ZAP handler (ZeroMQ RFC 27): a thread bound to
 * inproc://zeromq.zap.01 in the worker's context that libzmq asks about each
 * CURVE client of the worker's server sockets (zio_curve_server).
 *
 * CURVE only: a client whose public key is one of the shop's (keys_name_of)
 * is accepted with User-Id = that name (a service, or "counter"); any other
 * key is accepted with User-Id "" (a terminal: its token says who it is).
 * Any other mechanism is refused (400). The User-Id reaches each message
 * (zio_msgs_t.user_id).
 */
#ifndef ZAP_H
#define ZAP_H

#include "keys.h"

typedef struct zap zap_t;

/* Bind the handler in ctx and start its thread; before any server socket of
 * ctx binds. ctx and keys are borrowed and must outlive the handler. NULL on
 * failure (logged). */
zap_t *zap_start(void *ctx, const keys_t *keys);
/* Stop the thread and close its socket; before zmq_ctx_term. Tolerates NULL. */
void zap_stop(zap_t **self_p);

/* One ZAP request (frames f[0..n)) -> the reply's status code ("200",
 * "400") and User-Id (out, cap bytes). For tests. */
const char *zap_decide(const keys_t *keys, const proto_frame_t *f, size_t n, char *user_id,
                       size_t cap);

#endif
