/*
 * auth_pw.c - argon2id hashes, the login throttle and login names of the
 * auth worker.
 */
#include "auth_pw.h"
#include "log.h"
#include "proto.h"

#include <stdio.h>
#include <string.h>

/* Set once by auth_pw_configure before the request threads start; only
 * read afterwards. */
static unsigned long long pw_ops;
static size_t pw_mem;
static char dummy_hash[AUTH_HASH_MAX];

/* ---- the throttle ---- */

auth_throttle_t auth_throttle_from(const config_t *cfg)
{
    return (auth_throttle_t){config_int(cfg, "auth.fail_delay_ms"),
                             config_int(cfg, "auth.fail_delay_max_ms"),
                             config_int(cfg, "auth.lock_after"), config_int(cfg, "auth.lock_ms")};
}

long long auth_fail_delay(const auth_throttle_t *t, long long failures)
{
    if (failures < 1 || t->delay_ms <= 0)
        return 0;
    long long d = t->delay_ms;
    /* doubling stops at the cap, so it never overflows */
    for (long long i = 1; i < failures && d < t->delay_max_ms; i++)
        d *= 2;
    return d < t->delay_max_ms ? d : t->delay_max_ms;
}

void auth_after_failure(const auth_throttle_t *t, long long failures, long long now_ms,
                        long long *next_try_ms, long long *locked_until_ms)
{
    *next_try_ms = now_ms + auth_fail_delay(t, failures);
    *locked_until_ms = failures >= t->lock_after ? now_ms + t->lock_ms : 0;
}

int auth_login_ok(const char *login)
{
    return strlen(login) <= AUTH_LOGIN_MAX && proto_subject_ok(ROLE_MANAGER, login);
}

/* ---- hashes ---- */

int auth_pw_configure(const config_t *cfg)
{
    pw_ops = (unsigned long long)config_int(cfg, "auth.pwhash_ops");
    pw_mem = (size_t)config_int(cfg, "auth.pwhash_mem_kib") * 1024;
    if (pw_ops < crypto_pwhash_OPSLIMIT_MIN || pw_mem < crypto_pwhash_MEMLIMIT_MIN) {
        log_error("auth.pwhash_ops/auth.pwhash_mem_kib below libsodium's minimum");
        return -1;
    }
    /* A random password nobody knows: an unknown login pays a real check. */
    char nobody[33];
    proto_random_hex(nobody, 16);
    int rc = auth_pw_hash(nobody, dummy_hash);
    sodium_memzero(nobody, sizeof nobody);
    if (rc != 0)
        log_error("cannot hash with auth.pwhash_ops=%llu auth.pwhash_mem_kib=%zu (out of memory?)",
                  pw_ops, pw_mem / 1024);
    return rc;
}

int auth_pw_hash(const char *password, char out[AUTH_HASH_MAX])
{
    return crypto_pwhash_str(out, password, strlen(password), pw_ops, pw_mem) == 0 ? 0 : -1;
}

int auth_pw_verify(const char *hash, const char *password)
{
    int ok = crypto_pwhash_str_verify(hash ? hash : dummy_hash, password, strlen(password)) == 0;
    return hash && ok;
}

int auth_pw_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, pw_ops, pw_mem) != 0;
}
