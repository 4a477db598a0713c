/*
 * test_token.c - signed session tokens (proto/token.c) and the worker's
 * check of them (backend/authn.c): what is accepted, and each way a token
 * is refused.
 */
#include "authn.h"
#include "token.h"
#include "unit.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

static unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
static unsigned char pk2[crypto_sign_PUBLICKEYBYTES], sk2[crypto_sign_SECRETKEYBYTES];

static token_claims_t claims(unsigned role, const char *subject, long long expires_in)
{
    token_claims_t c = {.version = TOKEN_VERSION, .role = role};
    proto_random_hex(c.sid, 16);
    snprintf(c.subject, sizeof c.subject, "%s", subject);
    c.issued = proto_now_ms() / 1000 - 10;
    c.expires = proto_now_ms() / 1000 + expires_in;
    return c;
}

static void test_sign_verify(void)
{
    char tok[TOKEN_MAX + 1];
    token_claims_t c = claims(ROLE_MANAGER, "kim", 3600), got;
    const char *why = NULL;
    case_begin("token: signed claims verify and read back");
    CHECK_INT("token_sign", token_sign(&c, sk, tok, sizeof tok), 0);
    CHECK_INT("token_verify", token_verify(tok, pk, &got, &why), 0);
    CHECK_STR("subject", got.subject, "kim");
    CHECK_STR("sid", got.sid, c.sid);
    CHECK_INT("role", got.role, ROLE_MANAGER);
    CHECK_INT("expires", got.expires, c.expires);
    CHECK("no space, fits the frame", !strchr(tok, ' ') && strlen(tok) <= TOKEN_MAX);
    case_end();

    case_begin("token: every single bit flipped in the token is refused");
    size_t n = strlen(tok);
    int accepted = 0;
    for (size_t i = 0; i < n; i++) {
        for (int b = 0; b < 7; b++) {
            char t2[TOKEN_MAX + 1];
            memcpy(t2, tok, n + 1);
            t2[i] ^= (char)(1 << b);
            if (t2[i] == 0)
                continue;
            if (token_verify(t2, pk, &got, &why) == 0)
                accepted++;
        }
    }
    CHECK_INT("flipped tokens accepted", accepted, 0);
    case_end();

    case_begin("token: another shop's key is refused, naming the signature");
    CHECK_INT("verify with pk2", token_verify(tok, pk2, &got, &why), -1);
    CHECK("why names the signature", why && strstr(why, "signature"));
    case_end();

    case_begin("token: garbage is refused");
    const char *bad[] = {"", ".", "abc", "abc.def", "!!!!.????", NULL};
    for (int i = 0; bad[i]; i++)
        CHECK("garbage refused", token_verify(bad[i], pk, &got, &why) == -1);
    case_end();

    case_begin("token: claims another key signed are readable but not verified");
    char tok2[TOKEN_MAX + 1];
    CHECK_INT("sign with sk2", token_sign(&c, sk2, tok2, sizeof tok2), 0);
    CHECK_INT("peek", token_peek(tok2, &got), 0);
    CHECK_STR("peeked subject", got.subject, "kim");
    CHECK_INT("verify refuses", token_verify(tok2, pk, &got, &why), -1);
    case_end();

    case_begin("token: ill-formed claims are not signed");
    token_claims_t b = claims(ROLE_CUSTOMER, "0", 60);
    CHECK_INT("customer 0", token_sign(&b, sk, tok2, sizeof tok2), -1);
    b = claims(ROLE_SYSTEM, "order", 60);
    CHECK_INT("system role", token_sign(&b, sk, tok2, sizeof tok2), -1);
    b = claims(ROLE_MANAGER, "kim", -100);
    b.issued = b.expires + 1;
    CHECK_INT("expires before issued", token_sign(&b, sk, tok2, sizeof tok2), -1);
    case_end();
}

static int check(authn_t *a, const char *cred_token, proto_req_t *req, proto_err_t *err)
{
    memset(req, 0, sizeof *req);
    req->cred = CRED_TOKEN;
    snprintf(req->credential, sizeof req->credential, "%s", cred_token);
    return authn_check(a, req, "", err);
}

static void test_authn(void)
{
    authn_t *a = authn_new(pk);
    char tok[TOKEN_MAX + 1], old[TOKEN_MAX + 1];
    proto_req_t req;
    proto_err_t err;
    token_claims_t c = claims(ROLE_CUSTOMER, "7", 3600);
    (void)token_sign(&c, sk, tok, sizeof tok);

    case_begin("authn: a valid token gives the role and subject, twice (cached)");
    CHECK_INT("first", check(a, tok, &req, &err), 0);
    CHECK_STR("caller", req.caller_raw, "customer:7");
    CHECK_STR("session", req.session, c.sid);
    CHECK_INT("second", check(a, tok, &req, &err), 0);
    CHECK_STR("caller again", req.caller_raw, "customer:7");
    case_end();

    case_begin("authn: a revoked session is refused even from the cache");
    authn_revoke(a, c.sid, c.expires);
    CHECK_INT("after revoke", check(a, tok, &req, &err), ERR_UNAUTHORIZED);
    CHECK("says it ended", strstr(err.message, "ended") != NULL);
    case_end();

    case_begin("authn: an expired token is refused");
    token_claims_t e = claims(ROLE_MANAGER, "kim", 3600);
    e.issued -= 7200;
    e.expires -= 7200;
    (void)token_sign(&e, sk, old, sizeof old);
    CHECK_INT("expired", check(a, old, &req, &err), ERR_UNAUTHORIZED);
    CHECK("says expired", strstr(err.message, "expired") != NULL);
    case_end();

    case_begin("authn: a token of another key is refused; no role is taken from it");
    token_claims_t o = claims(ROLE_MANAGER, "mallory", 3600);
    (void)token_sign(&o, sk2, old, sizeof old);
    CHECK_INT("other key", check(a, old, &req, &err), ERR_UNAUTHORIZED);
    CHECK("caller not set", req.caller.role == 0);
    case_end();

    case_begin("authn: system:NAME only from a connection authenticated as NAME");
    memset(&req, 0, sizeof req);
    req.cred = CRED_SYSTEM;
    snprintf(req.credential, sizeof req.credential, "order");
    CHECK_INT("terminal peer", authn_check(a, &req, "", &err), ERR_UNAUTHORIZED);
    CHECK_INT("other service's key", authn_check(a, &req, "catalog", &err), ERR_UNAUTHORIZED);
    CHECK_INT("its own key", authn_check(a, &req, "order", &err), 0);
    CHECK_STR("caller", req.caller_raw, "system:order");
    case_end();

    case_begin("authn: no credential is the anonymous caller");
    memset(&req, 0, sizeof req);
    req.cred = CRED_NONE;
    CHECK_INT("anonymous", authn_check(a, &req, "", &err), 0);
    CHECK_INT("role", req.caller.role, ROLE_ANON);
    case_end();
    authn_destroy(&a);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    crypto_sign_keypair(pk, sk);
    crypto_sign_keypair(pk2, sk2);
    test_sign_verify();
    test_authn();
    return unit_exit();
}
