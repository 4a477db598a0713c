/*
 * token.c - signed session tokens: base64url(claims) "." base64url(sig).
 */
#include "token.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char CONTEXT[] = "CTR2-token";   /* signed with its '\0' */

#define B64 sodium_base64_VARIANT_URLSAFE_NO_PADDING

static int claims_ok(const token_claims_t *c)
{
    return c->version == TOKEN_VERSION && strlen(c->sid) == TOKEN_SID_HEX &&
           (c->role == ROLE_CUSTOMER || c->role == ROLE_MANAGER || c->role == ROLE_DELIVERY) &&
           proto_subject_ok(c->role, c->subject) && c->issued > 0 && c->expires > c->issued;
}

/* The signed message: CONTEXT, its '\0', then the claims' bytes. */
static size_t signed_message(unsigned char *buf, size_t cap, const void *claims, size_t len)
{
    if (sizeof CONTEXT + len > cap)
        return 0;
    memcpy(buf, CONTEXT, sizeof CONTEXT);
    memcpy(buf + sizeof CONTEXT, claims, len);
    return sizeof CONTEXT + len;
}

int token_sign(const token_claims_t *c, const unsigned char *sk, char *out, size_t cap)
{
    if (!claims_ok(c))
        return -1;
    json_t *j = json_pack("{s:i, s:s, s:s, s:s, s:I, s:I}", "v", c->version, "sid", c->sid,
                          "role", proto_role_name(c->role), "sub", c->subject, "iat",
                          (json_int_t)c->issued, "exp", (json_int_t)c->expires);
    if (!j)
        proto_oom();
    char *claims = proto_dump(j);
    json_decref(j);
    size_t len = strlen(claims);
    unsigned char msg[TOKEN_MAX];
    unsigned char sig[crypto_sign_BYTES];
    size_t mlen = signed_message(msg, sizeof msg, claims, len);
    int rc = -1;
    size_t b64_claims = sodium_base64_ENCODED_LEN(len, B64);
    size_t b64_sig = sodium_base64_ENCODED_LEN(sizeof sig, B64);
    if (mlen && b64_claims + b64_sig <= cap && b64_claims + b64_sig <= TOKEN_MAX + 1 &&
        crypto_sign_detached(sig, NULL, msg, mlen, sk) == 0) {
        sodium_bin2base64(out, b64_claims, (const unsigned char *)claims, len, B64);
        out[b64_claims - 1] = '.';
        sodium_bin2base64(out + b64_claims, b64_sig, sig, sizeof sig, B64);
        rc = 0;
    }
    free(claims);
    return rc;
}

/* Split token into its decoded claims bytes and signature. 0 or -1. */
static int split(const char *token, unsigned char *claims, size_t cap, size_t *len,
                 unsigned char sig[crypto_sign_BYTES])
{
    size_t n = strnlen(token, TOKEN_MAX + 1);
    const char *dot = memchr(token, '.', n);
    size_t siglen = 0;
    if (n > TOKEN_MAX || !dot)
        return -1;
    if (sodium_base642bin(claims, cap, token, (size_t)(dot - token), NULL, len, NULL, B64) != 0 ||
        sodium_base642bin(sig, crypto_sign_BYTES, dot + 1, n - (size_t)(dot - token) - 1, NULL,
                          &siglen, NULL, B64) != 0 ||
        siglen != crypto_sign_BYTES)
        return -1;
    return 0;
}

static int parse_claims(const unsigned char *bytes, size_t len, token_claims_t *c)
{
    memset(c, 0, sizeof *c);
    json_t *j = json_loadb((const char *)bytes, len, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return -1;
    }
    json_t *v = json_object_get(j, "v"), *iat = json_object_get(j, "iat"),
           *exp = json_object_get(j, "exp");
    int ok = json_is_integer(v) && json_is_integer(iat) && json_is_integer(exp) &&
             json_object_size(j) == 6;
    c->version = (int)json_integer_value(v);
    c->issued = json_integer_value(iat);
    c->expires = json_integer_value(exp);
    c->role = proto_role_from_name(jstr(j, "role"));
    snprintf(c->sid, sizeof c->sid, "%s", jstr(j, "sid"));
    ok = ok && strlen(jstr(j, "sub")) < sizeof c->subject && strlen(jstr(j, "sid")) < sizeof c->sid;
    snprintf(c->subject, sizeof c->subject, "%s", jstr(j, "sub"));
    json_decref(j);
    return ok && claims_ok(c) ? 0 : -1;
}

int token_verify(const char *token, const unsigned char *pk, token_claims_t *c, const char **why)
{
    unsigned char claims[TOKEN_MAX], sig[crypto_sign_BYTES], msg[TOKEN_MAX + sizeof CONTEXT];
    size_t len = 0;
    memset(c, 0, sizeof *c);
    if (split(token, claims, sizeof claims, &len, sig) != 0) {
        *why = "the token is not a token of this shop (malformed)";
        return -1;
    }
    size_t mlen = signed_message(msg, sizeof msg, claims, len);
    if (!mlen || crypto_sign_verify_detached(sig, msg, mlen, pk) != 0) {
        *why = "the token's signature is not the auth service's";
        return -1;
    }
    if (parse_claims(claims, len, c) != 0) {
        *why = "the token's claims are not understood (another version?)";
        return -1;
    }
    return 0;
}

int token_peek(const char *token, token_claims_t *c)
{
    unsigned char claims[TOKEN_MAX], sig[crypto_sign_BYTES];
    size_t len = 0;
    memset(c, 0, sizeof *c);
    if (split(token, claims, sizeof claims, &len, sig) != 0)
        return -1;
    return parse_claims(claims, len, c);
}
