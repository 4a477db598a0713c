/*
 * authn.c - the authenticate step: tokens checked once and cached, sessions
 * ended by SessionRevoked events, system callers proved by their CURVE key.
 */
#include "authn.h"
#include "log.h"
#include "token.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SLOTS 1024     /* checked tokens kept, by the hash of the token */

typedef struct {
    unsigned char hash[16];
    int used;
    token_claims_t claims;
} slot_t;

typedef struct {
    char sid[TOKEN_SID_HEX + 1];
    long long expires;
} revoked_t;

struct authn {
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    pthread_mutex_t lock;
    slot_t cache[CACHE_SLOTS];
    revoked_t *revoked;
    size_t nrevoked, caprevoked;
    db_t *db;            /* the main thread's: where revocations are kept */
};

static const char *SCHEMA =
    "CREATE TABLE IF NOT EXISTS authn_revoked("
    "  sid TEXT PRIMARY KEY, expires INTEGER NOT NULL);";
static const char *SQL_PUT = "INSERT OR IGNORE INTO authn_revoked(sid, expires) VALUES(?, ?)";
static const char *SQL_LOAD = "SELECT sid, expires FROM authn_revoked WHERE expires > ?";
static const char *SQL_PRUNE = "DELETE FROM authn_revoked WHERE expires <= ?";

static const char LOG_IN[] = "run: counter login";

authn_t *authn_new(const unsigned char *pk)
{
    authn_t *a = xcalloc(1, sizeof *a);
    memcpy(a->pk, pk, sizeof a->pk);
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return NULL;
    }
    return a;
}

void authn_destroy(authn_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    authn_t *a = *self_p;
    pthread_mutex_destroy(&a->lock);
    free(a->revoked);
    free(a);
    *self_p = NULL;
}

static long long now_s(void) { return proto_now_ms() / 1000; }

/* Under the lock. */
static int is_revoked(const authn_t *a, const char *sid)
{
    for (size_t i = 0; i < a->nrevoked; i++)
        if (strcmp(a->revoked[i].sid, sid) == 0)
            return 1;
    return 0;
}

void authn_revoke(authn_t *a, const char *sid, long long expires)
{
    if (strlen(sid) != TOKEN_SID_HEX)
        return;
    pthread_mutex_lock(&a->lock);
    if (!is_revoked(a, sid)) {
        if (a->nrevoked == a->caprevoked) {
            a->caprevoked = a->caprevoked ? 2 * a->caprevoked : 64;
            a->revoked = proto_nonnull(realloc(a->revoked, a->caprevoked * sizeof *a->revoked));
        }
        revoked_t *r = &a->revoked[a->nrevoked++];
        memcpy(r->sid, sid, sizeof r->sid);
        r->expires = expires;
    }
    /* A cached check of that session's token must not outlive it. */
    for (size_t i = 0; i < CACHE_SLOTS; i++)
        if (a->cache[i].used && strcmp(a->cache[i].claims.sid, sid) == 0)
            a->cache[i].used = 0;
    pthread_mutex_unlock(&a->lock);
}

/* The token's claims, checked (signature) once and then from the cache;
 * not yet checked for expiry. 0, or -1 with why. */
static int token_claims(authn_t *a, const char *token, token_claims_t *c, const char **why)
{
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)token, strlen(token), NULL, 0);
    size_t slot = ((size_t)h[0] | (size_t)h[1] << 8) % CACHE_SLOTS;
    pthread_mutex_lock(&a->lock);
    slot_t *s = &a->cache[slot];
    int hit = s->used && sodium_memcmp(s->hash, h, sizeof h) == 0;
    if (hit)
        *c = s->claims;
    pthread_mutex_unlock(&a->lock);
    if (hit)
        return 0;
    if (token_verify(token, a->pk, c, why) != 0)
        return -1;
    pthread_mutex_lock(&a->lock);
    int revoked = is_revoked(a, c->sid);
    if (!revoked) {
        memcpy(s->hash, h, sizeof h);
        s->claims = *c;
        s->used = 1;
    }
    pthread_mutex_unlock(&a->lock);
    return 0;
}

static int check_token(authn_t *a, proto_req_t *req, proto_err_t *err)
{
    token_claims_t c;
    const char *why = NULL;
    if (token_claims(a, req->credential, &c, &why) != 0)
        return proto_fail(err, ERR_UNAUTHORIZED, "credential", "%s: %s", why, LOG_IN);
    if (c.expires <= now_s())
        return proto_fail(err, ERR_UNAUTHORIZED, "credential",
                          "your session has expired: %s", LOG_IN);
    pthread_mutex_lock(&a->lock);
    int revoked = is_revoked(a, c.sid);
    pthread_mutex_unlock(&a->lock);
    if (revoked)
        return proto_fail(err, ERR_UNAUTHORIZED, "credential",
                          "your session was ended (logout, password change or lock): %s", LOG_IN);
    req->caller.role = c.role;
    snprintf(req->caller.subject, sizeof req->caller.subject, "%s", c.subject);
    snprintf(req->session, sizeof req->session, "%s", c.sid);
    snprintf(req->caller_raw, sizeof req->caller_raw, "%s:%s", proto_role_name(c.role),
             c.subject);
    return 0;
}

int authn_check(authn_t *a, proto_req_t *req, const char *peer, proto_err_t *err)
{
    switch (req->cred) {
    case CRED_TOKEN:
        return check_token(a, req, err);
    case CRED_SYSTEM:
        /* Only a connection that proved it holds NAME's service key. */
        if (!peer || strcmp(peer, req->credential) != 0)
            return proto_fail(err, ERR_UNAUTHORIZED, "credential",
                              "system:%s is accepted only from a connection authenticated "
                              "with that service's key", req->credential);
        if (strlen(req->credential) >= sizeof req->caller.subject)
            return proto_fail(err, ERR_UNAUTHORIZED, "credential", "no such service");
        req->caller.role = ROLE_SYSTEM;
        memcpy(req->caller.subject, req->credential, strlen(req->credential) + 1);
        snprintf(req->caller_raw, sizeof req->caller_raw, "system:%s", req->caller.subject);
        return 0;
    case CRED_NONE:
    default:
        req->caller.role = ROLE_ANON;
        snprintf(req->caller.subject, sizeof req->caller.subject, "-");
        snprintf(req->caller_raw, sizeof req->caller_raw, "-");
        return 0;
    }
}

/* ---- revocations kept in the worker's database ---- */

int authn_store(authn_t *a, db_t *db, const char *sid, long long expires)
{
    if (db_run(db, SQL_PUT, "si", sid, expires) != 0)
        return -1;
    authn_revoke(a, sid, expires);
    return 0;
}

static int on_auth(void *arg, const char *publisher, const json_t *ev)
{
    (void)publisher;
    authn_t *a = arg;
    if (strcmp(jstr(ev, "eventType"), "SessionRevoked") != 0)
        return 0;
    return authn_store(a, a->db, jstr(ev, "sessionId"), jint(ev, "expires"));
}

int authn_attach(authn_t *a, db_t *db, bus_t *bus, int follow_auth)
{
    a->db = db;
    if (db_exec(db, SCHEMA) != 0)
        return -1;
    sqlite3_stmt *st = db_prep(db, SQL_LOAD, "i", now_s());
    if (!st)
        return -1;
    int rc;
    while ((rc = db_next(st)) == 1)
        authn_revoke(a, db_col_text(st, 0, NULL), db_col_int(st, 1));
    if (rc < 0)
        return -1;
    if (!follow_auth)
        return 0;
    return bus_subscribe(bus, "auth", on_auth, a);
}

void authn_prune(authn_t *a, db_t *db)
{
    long long now = now_s();
    (void)db_run(db, SQL_PRUNE, "i", now);
    pthread_mutex_lock(&a->lock);
    size_t k = 0;
    for (size_t i = 0; i < a->nrevoked; i++)
        if (a->revoked[i].expires > now)
            a->revoked[k++] = a->revoked[i];
    a->nrevoked = k;
    pthread_mutex_unlock(&a->lock);
}
