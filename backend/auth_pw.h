/*
 * auth_pw.h - the auth worker's secrets and arithmetic (svc_auth.c is its
 * commands): argon2id password hashes, the throttle of failed logins and the
 * shape of a login name.
 *
 * Passwords are borrowed C strings; nothing here copies, logs or keeps one.
 * A hash is a crypto_pwhash_str string (argon2id, its limits inside).
 */
#ifndef AUTH_PW_H
#define AUTH_PW_H

#include "config.h"

#include <sodium.h>
#include <stddef.h>

#define AUTH_LOGIN_MAX 32       /* a login: 1-32 of letters, digits, "-_.@" */
#define AUTH_HASH_MAX crypto_pwhash_STRBYTES

/* The throttle of failed logins of one account (auth.fail_delay_ms, ...). */
typedef struct {
    long long delay_ms;        /* after the first failure */
    long long delay_max_ms;    /* the delay doubles up to this */
    long long lock_after;      /* failures in a row that lock the account */
    long long lock_ms;         /* for this long */
} auth_throttle_t;

/* The throttle as configured. */
auth_throttle_t auth_throttle_from(const config_t *cfg);

/* The wait before the next try after `failures` (>= 1) failed logins in a
 * row: min(delay_ms * 2^(failures-1), delay_max_ms); 0 for failures < 1. */
long long auth_fail_delay(const auth_throttle_t *t, long long failures);

/* After the failures-th failed login in a row at now_ms: when the next try
 * may come (*next_try_ms) and until when the account is locked (*locked_until_ms,
 * 0 when failures < lock_after). Pure. */
void auth_after_failure(const auth_throttle_t *t, long long failures, long long now_ms,
                        long long *next_try_ms, long long *locked_until_ms);

/* Is login a login (1-32 letters, digits, "-_.@")? */
int auth_login_ok(const char *login);

/* The argon2id limits from auth.pwhash_ops and auth.pwhash_mem_kib, and the
 * dummy hash an unknown login is checked against (same cost as a real one).
 * Call once, before any request thread starts. 0 or -1 (logged). */
int auth_pw_configure(const config_t *cfg);

/* Hash password into out (AUTH_HASH_MAX bytes) at the configured limits.
 * Slow (that is the point): never inside a write transaction. 0 or -1. */
int auth_pw_hash(const char *password, char out[AUTH_HASH_MAX]);

/* Does password match hash? hash NULL: the dummy hash (always 0, at the
 * cost of a real check). 1 or 0. Slow, as auth_pw_hash. */
int auth_pw_verify(const char *hash, const char *password);

/* Was hash made with other limits than the configured ones? */
int auth_pw_needs_rehash(const char *hash);

#endif
