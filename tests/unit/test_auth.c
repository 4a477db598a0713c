/*
 * test_auth - the auth worker's pure parts (backend/auth_pw.c): the throttle
 * of failed logins (the delay doubles from auth.fail_delay_ms up to
 * auth.fail_delay_max_ms; auth.lock_after failures in a row lock the account
 * for auth.lock_ms), the shape of a login, argon2id hashes (verify, the dummy
 * hash, needs-rehash at other limits) and the config defaults being
 * libsodium's interactive limits.
 *
 * Time is an argument; nothing sleeps, no sockets. Hashes use libsodium's
 * minimum limits so the test is quick.
 */
#include "auth_pw.h"
#include "config.h"
#include "proto.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const auth_throttle_t T = {250, 30000, 20, 900000};

static void test_delay(void)
{
    case_begin("throttle: the delay doubles from fail_delay_ms up to fail_delay_max_ms");
    CHECK_INT("no failure", auth_fail_delay(&T, 0), 0);
    CHECK_INT("1 failure", auth_fail_delay(&T, 1), 250);
    CHECK_INT("2 failures", auth_fail_delay(&T, 2), 500);
    CHECK_INT("3 failures", auth_fail_delay(&T, 3), 1000);
    CHECK_INT("7 failures", auth_fail_delay(&T, 7), 16000);
    CHECK_INT("8 failures: the cap", auth_fail_delay(&T, 8), 30000);
    CHECK_INT("a huge count stays at the cap", auth_fail_delay(&T, 1000000000LL), 30000);
    auth_throttle_t odd = {300, 1000, 4, 2500};
    CHECK_INT("300 ms, 2 failures", auth_fail_delay(&odd, 2), 600);
    CHECK_INT("300 ms, 3 failures: capped at 1000", auth_fail_delay(&odd, 3), 1000);
    auth_throttle_t none = {0, 1000, 4, 2500};
    CHECK_INT("fail_delay_ms 0: no delay", auth_fail_delay(&none, 5), 0);
    case_end();
}

static void test_lock(void)
{
    long long next, until;
    case_begin("throttle: lock_after failures in a row lock the account for lock_ms");
    auth_after_failure(&T, 1, 1000, &next, &until);
    CHECK_INT("1st failure: next try", next, 1250);
    CHECK_INT("1st failure: not locked", until, 0);
    auth_after_failure(&T, 19, 1000, &next, &until);
    CHECK_INT("19th failure: not locked", until, 0);
    CHECK_INT("19th failure: next try at the cap", next, 31000);
    auth_after_failure(&T, 20, 1000, &next, &until);
    CHECK_INT("20th failure: locked for lock_ms", until, 901000);
    auth_after_failure(&T, 21, 5000, &next, &until);
    CHECK_INT("21st failure (after the lock ran out): locked again", until, 905000);
    case_end();
}

static void test_login(void)
{
    case_begin("logins: 1-32 letters, digits, - _ . @");
    CHECK("kim", auth_login_ok("kim"));
    CHECK("a.b-c_d@e9", auth_login_ok("a.b-c_d@e9"));
    CHECK("32 characters", auth_login_ok("abcdefghijklmnopqrstuvwxyz012345"));
    CHECK("33 characters", !auth_login_ok("abcdefghijklmnopqrstuvwxyz0123456"));
    CHECK("empty", !auth_login_ok(""));
    CHECK("a space", !auth_login_ok("k im"));
    CHECK("a colon", !auth_login_ok("manager:x"));
    CHECK("non-ASCII", !auth_login_ok("k\xc3\xafm"));
    case_end();
}

static void test_defaults(void)
{
    case_begin("config: the argon2id defaults are libsodium's interactive limits");
    const config_key_t *ops = config_key_find("auth.pwhash_ops");
    const config_key_t *mem = config_key_find("auth.pwhash_mem_kib");
    CHECK("auth.pwhash_ops is a key", ops != NULL);
    CHECK("auth.pwhash_mem_kib is a key", mem != NULL);
    if (ops && mem) {
        CHECK_INT("ops default", atoll(ops->def), crypto_pwhash_OPSLIMIT_INTERACTIVE);
        CHECK_INT("mem default (KiB)", atoll(mem->def), crypto_pwhash_MEMLIMIT_INTERACTIVE / 1024);
        CHECK("ops allows libsodium's minimum", ops->min <= (long long)crypto_pwhash_OPSLIMIT_MIN);
        CHECK("mem allows libsodium's minimum",
              mem->min * 1024 <= (long long)crypto_pwhash_MEMLIMIT_MIN);
    }
    case_end();
}

static config_t *load_with(const char *home, const char *ops)
{
    char err[512];
    setenv("COUNTER_AUTH_PWHASH_OPS", ops, 1);
    setenv("COUNTER_AUTH_PWHASH_MEM_KIB", "8", 1);
    config_t *c = config_load(home, 1, err, sizeof err);
    if (!c)
        case_fail("config_load: %s", err);
    return c;
}

static void test_hash(const char *home)
{
    char h[AUTH_HASH_MAX];
    case_begin("argon2id: hash, verify, the dummy hash, needs-rehash at other limits");
    config_t *c = load_with(home, "1");
    CHECK_INT("configure", c ? auth_pw_configure(c) : -1, 0);
    CHECK_INT("hash", auth_pw_hash("correct horse", h), 0);
    CHECK("an argon2id hash", strncmp(h, "$argon2id$", 10) == 0);
    CHECK("the password is not in the hash", !strstr(h, "correct horse"));
    CHECK("the right password", auth_pw_verify(h, "correct horse"));
    CHECK("a wrong password", !auth_pw_verify(h, "correct horsE"));
    CHECK("the dummy hash matches nothing", !auth_pw_verify(NULL, "correct horse"));
    CHECK("made at these limits: no rehash", !auth_pw_needs_rehash(h));
    config_destroy(&c);
    c = load_with(home, "2");
    CHECK_INT("configure at ops 2", c ? auth_pw_configure(c) : -1, 0);
    CHECK("made at ops 1: rehash", auth_pw_needs_rehash(h));
    config_destroy(&c);
    case_end();
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    char home[512];
    const char *t = getenv("TEST_HOME");
    snprintf(home, sizeof home, "%s/test_auth.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(home)) {
        printf("FAIL - mkdtemp %s\n", home);
        return 1;
    }
    test_delay();
    test_lock();
    test_login();
    test_defaults();
    test_hash(home);
    return unit_exit();
}
