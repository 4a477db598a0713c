/*
 * client.h - the caller's side of a request: the ZeroMQ Guide's Lazy Pirate.
 *
 * A REQ socket that timed out is stuck in its state machine, so after each
 * timeout the socket is closed and a fresh one sends the same request again,
 * with the same request id: services deduplicate writes by request id, so a
 * retry never applies a change twice.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include "proto.h"
#include "zio.h"

typedef struct client client_t;

/* ctx is borrowed and must outlive the client. curve (copied): the CURVE
 * client settings (keys_client() makes them: the server's public key and this
 * process's pair), used on every connect; NULL: a plain socket, which a
 * worker never answers (tests only). */
client_t *client_new(void *ctx, const char *endpoint, const zio_curve_t *curve);
void client_destroy(client_t **self_p);

/* Each attempt waits timeout_ms for the reply; attempts >= 1. */
void client_set_timeout(client_t *c, int timeout_ms, int attempts);
/* The credential frame sent with each request (SPEC "Credentials"): "-"
 * (the default: nobody), "token:TOKEN" or "system:SERVICE". */
void client_set_caller(client_t *c, const char *caller);

/* Call cmd with body (borrowed; NULL = {}). request_id NULL = a fresh random id.
 * Returns 0 with rep filled when the service answered (rep->status may be an
 * error: see proto_err_from_rep); -1 with err filled (unavailable) when no
 * answer came within all attempts (or the answer was malformed: internal).
 * The caller clears rep. */
int client_call(client_t *c, const char *cmd, const json_t *body, const char *request_id,
                proto_rep_t *rep, proto_err_t *err);

#endif
