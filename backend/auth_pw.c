/*
 * auth_pw.c - argon2id hashes, the login throttle, login names and the
 * token signing key of the auth worker.
 */
#include "auth_pw.h"
#include "log.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* ---- the token signing key ---- */

/* Write len bytes of bin as one line of hex to a new file at path. 0 or -1. */
static int write_hex(const char *path, const unsigned char *bin, size_t len, mode_t mode)
{
    char hex[2 * crypto_sign_SECRETKEYBYTES + 2];
    sodium_bin2hex(hex, sizeof hex - 1, bin, len);
    size_t n = strlen(hex);
    hex[n++] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    int rc = fd >= 0 && fchmod(fd, mode) == 0 && write(fd, hex, n) == (ssize_t)n &&
                     fsync(fd) == 0
                 ? 0
                 : -1;
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    sodium_memzero(hex, sizeof hex);
    return rc;
}

/* A new shop: make the token key pair. 0 or -1 with err. */
static int make_token_pair(const char *dir, const char *key, const char *pub, char *err,
                           size_t errlen)
{
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
    int rc = -1;
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || crypto_sign_keypair(pk, sk) != 0)
        snprintf(err, errlen, "cannot make %s: %s", dir, strerror(errno));
    else if (write_hex(key, sk, sizeof sk, 0600) != 0 || write_hex(pub, pk, sizeof pk, 0644) != 0)
        snprintf(err, errlen, "cannot write the token key pair in %s: %s", dir, strerror(errno));
    else
        rc = 0;
    sodium_memzero(sk, sizeof sk);
    if (rc == 0)
        log_info("made the token signing key pair in %s", dir);
    return rc;
}

int auth_load_token_secret(const char *home, unsigned char sk[crypto_sign_SECRETKEYBYTES],
                           char *err, size_t errlen)
{
    char dir[4200], key[4300], pub[4300], line[512];
    snprintf(dir, sizeof dir, "%s/keys", home);
    snprintf(key, sizeof key, "%s/token.key", dir);
    snprintf(pub, sizeof pub, "%s/token.pub", dir);
    if (access(key, F_OK) != 0 && access(pub, F_OK) != 0 &&
        make_token_pair(dir, key, pub, err, errlen) != 0)
        return -1;
    FILE *f = fopen(key, "re");
    if (!f) {
        snprintf(err, errlen, "cannot read %s: %s", key, strerror(errno));
        return -1;
    }
    size_t len = 0;
    int rc = -1;
    while (rc != 0 && fgets(line, sizeof line, f))
        if (line[0] != '#' &&
            sodium_hex2bin(sk, crypto_sign_SECRETKEYBYTES, line, strlen(line), "\r\n", &len,
                           NULL) == 0 &&
            len == crypto_sign_SECRETKEYBYTES)
            rc = 0;
    sodium_memzero(line, sizeof line);
    fclose(f);
    if (rc != 0)
        snprintf(err, errlen, "%s does not hold a token signing key (128 hex digits)", key);
    return rc;
}
