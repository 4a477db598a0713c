/*
 * authn.h - who is asking: the pipeline's authenticate step (DESIGN 9).
 *
 * A request proves who it is in one of two ways. A terminal presents a
 * token signed by the auth service (proto/token.h): authn checks the
 * signature against the shop's token public key - once per token, then a
 * cache keyed by the token's hash - refuses an expired token and one whose
 * session was ended (a SessionRevoked event of the auth service, which every
 * worker follows and keeps in its own database). A service presents
 * "system:NAME", believed only when the connection it came on was
 * authenticated (ZAP, backend/zap.c) with that service's CURVE key. Nothing
 * else a request says about its sender is believed.
 *
 * Thread-safe: the main thread and the catch-up thread share one authn_t.
 */
#ifndef AUTHN_H
#define AUTHN_H

#include "bus.h"
#include "db.h"
#include "proto.h"

typedef struct authn authn_t;

/* pk: the auth service's token public key (crypto_sign_PUBLICKEYBYTES),
 * copied. */
authn_t *authn_new(const unsigned char *pk);
void authn_destroy(authn_t **self_p);

/* Fill req->caller, caller_raw and session from req's credential. peer is
 * the name the connection was authenticated as (ZAP User-Id; "" for a
 * terminal). 0, or unauthorized in err with a sentence that says what to do. */
int authn_check(authn_t *a, proto_req_t *req, const char *peer, proto_err_t *err);

/* A session ended: its token is refused from now on. */
void authn_revoke(authn_t *a, const char *sid, long long expires);

/* Inside db's open transaction: keep the revocation (so it outlives a
 * restart) and apply it. 0 or -1. */
int authn_store(authn_t *a, db_t *db, const char *sid, long long expires);

/* The revocations a worker keeps: the table, the ones not yet expired loaded
 * into a (at start), and the subscription to the auth service's
 * SessionRevoked events (the auth service itself calls authn_revoke after
 * its own commits instead). 0 or -1. */
int authn_attach(authn_t *a, db_t *db, bus_t *bus, int follow_auth);
/* Forget revocations of sessions that have expired anyway (their tokens are
 * refused as expired). */
void authn_prune(authn_t *a, db_t *db);

#endif
