/*
 * token.h - the session tokens of CTR/2 (DESIGN section 9, SPEC "Tokens").
 *
 * A token is what `counter login` gets from the auth service and presents on
 * every request ("token:" in the credential frame): its claims - version,
 * session id, role, subject, issue and expiry times - as compact JSON, and
 * an Ed25519 signature (libsodium crypto_sign_detached) by the auth
 * service's key over "CTR2-token\0" followed by those bytes; on the wire
 * base64url(claims) "." base64url(signature), no padding. The claims are
 * readable by anyone (token_peek); only the signature makes them true.
 * Whether a session was ended (logout, password change, lock) is not in the
 * token: the workers learn it from SessionRevoked events (backend/authn.c).
 */
#ifndef TOKEN_H
#define TOKEN_H

#include "proto.h"

#include <stddef.h>

#define TOKEN_VERSION 1
#define TOKEN_MAX 480            /* a token's length at most (fits the credential frame) */
#define TOKEN_SID_HEX 32         /* a session id: 16 random bytes in hex */

typedef struct {
    int version;
    char sid[TOKEN_SID_HEX + 1];
    unsigned role;               /* ROLE_CUSTOMER, ROLE_MANAGER or ROLE_DELIVERY */
    char subject[PROTO_MAX_ID];  /* the customer id, or the staff member's login */
    long long issued;            /* seconds since the epoch */
    long long expires;
} token_claims_t;

/* Sign claims with sk (crypto_sign_SECRETKEYBYTES) into out (cap >=
 * TOKEN_MAX + 1). 0, or -1 when the claims are not well formed. */
int token_sign(const token_claims_t *c, const unsigned char *sk, char *out, size_t cap);

/* Check a token's signature against pk (crypto_sign_PUBLICKEYBYTES) and
 * read its claims into c. Neither expiry nor revocation is checked here.
 * 0, or -1 with why pointing at a static sentence. */
int token_verify(const char *token, const unsigned char *pk, token_claims_t *c, const char **why);

/* Read the claims without checking the signature: for showing who is
 * logged in and until when, never for deciding anything. 0 or -1. */
int token_peek(const char *token, token_claims_t *c);

#endif
