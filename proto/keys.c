/*
 * keys.c - the shop's CURVE and token keys in $COUNTER_HOME/keys (keys.h).
 */
#include "keys.h"
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_NAMES 16
#define Z85_LEN 40
#define TOKEN_PK 32
#define TOKEN_SK 64

struct keys {
    char dir[4200];
    int n;
    char name[MAX_NAMES][32];
    char pub[MAX_NAMES][Z85_LEN + 1];
    unsigned char token_pk[TOKEN_PK];
    char own_name[32];
    char own_pub[Z85_LEN + 1];
    char own_sec[Z85_LEN + 1];
};

const char *const *keys_names(void)
{
    static const char *names[MAX_NAMES + 1];
    if (!names[0]) {
        int n = 0;
        for (int i = 0; config_services[i] && n < MAX_NAMES - 1; i++)
            names[n++] = config_services[i];
        names[n] = KEYS_OPERATOR;
    }
    return names;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static int path_of(const char *dir, const char *name, const char *ext, char *out, size_t cap)
{
    int n = snprintf(out, cap, "%s/%s.%s", dir, name, ext);
    return (n < 0 || (size_t)n >= cap) ? -1 : 0;
}

/* A secret file or the folder: ours, and nothing for group or others. */
static int private_ok(const char *path, const struct stat *st, char *err, size_t errlen)
{
    if (st->st_uid != geteuid())
        return fail(err, errlen, "%s belongs to another user (uid %u)", path,
                    (unsigned)st->st_uid);
    if (st->st_mode & 077)
        return fail(err, errlen, "%s has mode %04o: group and others may use it (chmod %s %s)",
                    path, (unsigned)(st->st_mode & 07777), S_ISDIR(st->st_mode) ? "700" : "600",
                    path);
    return 0;
}

/* Read the non-comment lines of a small file: up to nlines, each of exactly
 * len characters, into lines[i] (len + 1 bytes each). 0, 1 (missing) or -1. */
static int read_lines(const char *path, int secret, char lines[][129], int nlines, size_t len,
                      char *err, size_t errlen)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return errno == ENOENT ? 1 : fail(err, errlen, "%s: %s", path, strerror(errno));
    struct stat st;
    if (secret && fstat(fileno(f), &st) != 0) {
        fail(err, errlen, "%s: %s", path, strerror(errno));
        fclose(f);
        return -1;
    }
    if (secret && private_ok(path, &st, err, errlen) != 0) {
        fclose(f);
        return -1;
    }
    char buf[256];
    int got = 0, rc = 0;
    while (got < nlines && fgets(buf, sizeof buf, f)) {
        if (buf[0] == '#')
            continue;
        buf[strcspn(buf, "\r\n")] = '\0';
        if (strlen(buf) != len) {
            rc = -1;
            break;
        }
        memcpy(lines[got++], buf, len + 1);
    }
    sodium_memzero(buf, sizeof buf);
    fclose(f);
    if (rc != 0 || got != nlines)
        return fail(err, errlen, "%s: expected %d line%s of %zu characters", path, nlines,
                    nlines == 1 ? "" : "s", len);
    return 0;
}

/* Write text to a new file (never over an existing one) with mode. */
static int write_new(const char *path, mode_t mode, const char *text, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0)
        return fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    int ok = write(fd, text, len) == (ssize_t)len && fchmod(fd, mode) == 0 && fsync(fd) == 0;
    int e = errno;
    if (close(fd) != 0)
        ok = 0;
    if (!ok) {
        (void)unlink(path);
        return fail(err, errlen, "cannot write %s: %s", path, strerror(e));
    }
    return 0;
}

/* NAME.pub from the public key. */
static int write_pub(const char *dir, const char *name, const char *pub, char *err, size_t errlen)
{
    char path[4300], text[256];
    if (path_of(dir, name, "pub", path, sizeof path) != 0)
        return fail(err, errlen, "keys path too long");
    snprintf(text, sizeof text, "# CURVE public key of %s (Z85)\n%s\n", name, pub);
    return write_new(path, 0644, text, err, errlen);
}

/* name's CURVE pair: make it when neither file is there, or the .pub from
 * the .key when only that is. */
static int ensure_pair(const char *dir, const char *name, char *err, size_t errlen)
{
    char key[4300], pubp[4300], lines[2][129];
    if (path_of(dir, name, "key", key, sizeof key) != 0 ||
        path_of(dir, name, "pub", pubp, sizeof pubp) != 0)
        return fail(err, errlen, "keys path too long");
    int have_pub = access(pubp, F_OK) == 0;
    int r = read_lines(key, 1, lines, 2, Z85_LEN, err, errlen);
    if (r < 0)
        return -1;
    if (r == 0) {
        sodium_memzero(lines[1], sizeof lines[1]);
        return have_pub ? 0 : write_pub(dir, name, lines[0], err, errlen);
    }
    if (have_pub)
        return 0;   /* the pair lives on another host */
    char text[512];
    if (zmq_curve_keypair(lines[0], lines[1]) != 0)
        return fail(err, errlen, "zmq_curve_keypair: %s", zmq_strerror(zmq_errno()));
    snprintf(text, sizeof text, "# CURVE key pair of %s: public, then secret (Z85)\n%s\n%s\n",
             name, lines[0], lines[1]);
    int rc = write_new(key, 0600, text, err, errlen);
    sodium_memzero(text, sizeof text);
    sodium_memzero(lines[1], sizeof lines[1]);
    return rc == 0 ? write_pub(dir, name, lines[0], err, errlen) : -1;
}

/* The token pair: made when neither file is there, token.pub derived from
 * token.key when only that is. */
static int ensure_token(const char *dir, char *err, size_t errlen)
{
    char key[4300], pubp[4300], lines[1][129], hex[2 * TOKEN_SK + 64];
    if (path_of(dir, "token", "key", key, sizeof key) != 0 ||
        path_of(dir, "token", "pub", pubp, sizeof pubp) != 0)
        return fail(err, errlen, "keys path too long");
    int have_pub = access(pubp, F_OK) == 0;
    int r = read_lines(key, 1, lines, 1, 2 * TOKEN_SK, err, errlen);
    if (r < 0 || have_pub) {   /* have_pub alone: tokens are signed on another host */
        sodium_memzero(lines, sizeof lines);
        return r < 0 ? -1 : 0;
    }
    unsigned char pk[TOKEN_PK], sk[TOKEN_SK];
    int rc = 0;
    if (r == 0) {
        if (sodium_hex2bin(sk, TOKEN_SK, lines[0], 2 * TOKEN_SK, NULL, NULL, NULL) != 0 ||
            crypto_sign_ed25519_sk_to_pk(pk, sk) != 0)
            rc = fail(err, errlen, "%s: not a signing key", key);
    } else if (crypto_sign_keypair(pk, sk) != 0) {
        rc = fail(err, errlen, "crypto_sign_keypair failed");
    } else {
        sodium_bin2hex(hex, sizeof hex, sk, sizeof sk);
        strcat(hex, "\n");
        rc = write_new(key, 0600, hex, err, errlen);
    }
    sodium_memzero(sk, sizeof sk);
    sodium_memzero(lines, sizeof lines);
    sodium_memzero(hex, sizeof hex);
    if (rc != 0)
        return -1;
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    strcat(hex, "\n");
    return write_new(pubp, 0644, hex, err, errlen);
}

int keys_ensure(const char *home, char *err, size_t errlen)
{
    char dir[4200];
    if (sodium_init() < 0)
        return fail(err, errlen, "sodium_init failed");
    int n = snprintf(dir, sizeof dir, "%s/keys", home);
    if (n < 0 || (size_t)n >= sizeof dir)
        return fail(err, errlen, "keys path too long");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fail(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    struct stat st;
    if (stat(dir, &st) != 0)
        return fail(err, errlen, "%s: %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fail(err, errlen, "%s is not a folder", dir);
    if (private_ok(dir, &st, err, errlen) != 0)
        return -1;
    for (const char *const *name = keys_names(); *name; name++)
        if (ensure_pair(dir, *name, err, errlen) != 0)
            return -1;
    return ensure_token(dir, err, errlen);
}

static int load_token_pub(keys_t *k, char *err, size_t errlen)
{
    char path[4300], lines[1][129];
    if (path_of(k->dir, "token", "pub", path, sizeof path) != 0)
        return fail(err, errlen, "keys path too long");
    int r = read_lines(path, 0, lines, 1, 2 * TOKEN_PK, err, errlen);
    if (r == 1)
        return fail(err, errlen, "no keys in %s: run counter setup (token.pub is missing)", k->dir);
    if (r != 0)
        return -1;
    if (sodium_hex2bin(k->token_pk, TOKEN_PK, lines[0], 2 * TOKEN_PK, NULL, NULL, NULL) != 0)
        return fail(err, errlen, "%s: not a hex key", path);
    return 0;
}

keys_t *keys_load(const char *home, char *err, size_t errlen)
{
    err[0] = '\0';
    if (sodium_init() < 0) {
        fail(err, errlen, "sodium_init failed");
        return NULL;
    }
    keys_t *k = xcalloc(1, sizeof *k);
    int len = snprintf(k->dir, sizeof k->dir, "%s/keys", home);
    struct stat st;
    if (len < 0 || (size_t)len >= sizeof k->dir) {
        fail(err, errlen, "keys path too long");
        goto bad;
    }
    if (stat(k->dir, &st) != 0) {
        fail(err, errlen, "no keys in %s: run counter setup", k->dir);
        goto bad;
    }
    if (private_ok(k->dir, &st, err, errlen) != 0)
        goto bad;
    for (const char *const *name = keys_names(); *name; name++) {
        char path[4300], lines[1][129];
        if (path_of(k->dir, *name, "pub", path, sizeof path) != 0) {
            fail(err, errlen, "keys path too long");
            goto bad;
        }
        int r = read_lines(path, 0, lines, 1, Z85_LEN, err, errlen);
        if (r == 1)
            fail(err, errlen, "no keys in %s: run counter setup (%s.pub is missing)", k->dir, *name);
        if (r != 0)
            goto bad;
        snprintf(k->name[k->n], sizeof k->name[k->n], "%s", *name);
        memcpy(k->pub[k->n++], lines[0], Z85_LEN + 1);
    }
    if (load_token_pub(k, err, errlen) != 0)
        goto bad;
    if (zmq_curve_keypair(k->own_pub, k->own_sec) != 0) {
        fail(err, errlen, "zmq_curve_keypair: %s", zmq_strerror(zmq_errno()));
        goto bad;
    }
    return k;
bad:
    keys_destroy(&k);
    return NULL;
}

int keys_load_own(keys_t *k, const char *name, char *err, size_t errlen)
{
    err[0] = '\0';
    const char *pub = keys_public(k, name);
    char path[4300], lines[2][129], check[Z85_LEN + 1];
    if (!pub || path_of(k->dir, name, "key", path, sizeof path) != 0)
        return fail(err, errlen, "%s has no keys", name);
    int r = read_lines(path, 1, lines, 2, Z85_LEN, err, errlen);
    if (r == 1)
        return fail(err, errlen, "no keys in %s: run counter setup (%s.key is missing)", k->dir,
                    name);
    if (r != 0)
        return -1;
    int ok = zmq_curve_public(check, lines[1]) == 0 && strcmp(check, lines[0]) == 0 &&
             strcmp(check, pub) == 0;
    if (ok) {
        memcpy(k->own_pub, lines[0], sizeof k->own_pub);
        memcpy(k->own_sec, lines[1], sizeof k->own_sec);
        snprintf(k->own_name, sizeof k->own_name, "%s", name);
    }
    sodium_memzero(lines, sizeof lines);
    return ok ? 0 : fail(err, errlen, "%s does not hold the pair of %s.pub", path, name);
}

void keys_destroy(keys_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    sodium_memzero(*self_p, sizeof **self_p);
    free(*self_p);
    *self_p = NULL;
}

const char *keys_dir(const keys_t *k)
{
    return k->dir;
}

const char *keys_public(const keys_t *k, const char *name)
{
    for (int i = 0; i < k->n; i++)
        if (strcmp(k->name[i], name) == 0)
            return k->pub[i];
    return NULL;
}

const char *keys_name_of(const keys_t *k, const char *client_pub_z85)
{
    if (!client_pub_z85)
        return NULL;
    for (int i = 0; i < k->n; i++)
        if (strcmp(k->pub[i], client_pub_z85) == 0)
            return k->name[i];
    return NULL;
}

const char *keys_own_name(const keys_t *k)
{
    return k->own_name;
}

int keys_client(const keys_t *k, const char *server, zio_curve_t *out)
{
    const char *spub = keys_public(k, server);
    if (!spub)
        return -1;
    memcpy(out->server, spub, sizeof out->server);
    memcpy(out->pub, k->own_pub, sizeof out->pub);
    memcpy(out->sec, k->own_sec, sizeof out->sec);
    return 0;
}

void keys_server(const keys_t *k, zio_curve_t *out)
{
    memcpy(out->server, k->own_pub, sizeof out->server);
    memcpy(out->pub, k->own_pub, sizeof out->pub);
    memcpy(out->sec, k->own_sec, sizeof out->sec);
}

int keys_token_public(const keys_t *k, unsigned char pk[32])
{
    memcpy(pk, k->token_pk, TOKEN_PK);
    return 0;
}

int keys_token_secret(const keys_t *k, unsigned char sk[64])
{
    char path[4300], lines[1][129], err[512] = "";
    if (path_of(k->dir, "token", "key", path, sizeof path) != 0)
        return -1;
    int r = read_lines(path, 1, lines, 1, 2 * TOKEN_SK, err, sizeof err);
    int rc = -1;
    unsigned char derived[TOKEN_PK];
    if (r == 0 && sodium_hex2bin(sk, TOKEN_SK, lines[0], 2 * TOKEN_SK, NULL, NULL, NULL) == 0 &&
        crypto_sign_ed25519_sk_to_pk(derived, sk) == 0 &&
        sodium_memcmp(derived, k->token_pk, TOKEN_PK) == 0)
        rc = 0;
    sodium_memzero(lines, sizeof lines);
    if (rc != 0)
        sodium_memzero(sk, TOKEN_SK);
    return rc;
}

/* Copy name.ext from the keys folder to dir (a secret: checked, 0600). */
static int export_file(const keys_t *k, const char *dir, const char *name, const char *ext,
                       char *err, size_t errlen)
{
    char from[4300], to[4300], text[512];
    int secret = strcmp(ext, "key") == 0;
    if (path_of(k->dir, name, ext, from, sizeof from) != 0 ||
        path_of(dir, name, ext, to, sizeof to) != 0)
        return fail(err, errlen, "path too long");
    int fd = open(from, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        return fail(err, errlen, "%s: %s", from, strerror(e));
    }
    ssize_t n = -1;
    if (!secret || private_ok(from, &st, err, errlen) == 0)
        n = read(fd, text, sizeof text - 1);
    close(fd);
    if (n < 0 || n == (ssize_t)sizeof text - 1) {
        sodium_memzero(text, sizeof text);
        return err[0] ? -1 : fail(err, errlen, "%s: cannot read it", from);
    }
    text[n] = '\0';
    int rc = write_new(to, secret ? 0600 : 0644, text, err, errlen);
    sodium_memzero(text, sizeof text);
    return rc;
}

/* Is dir/name.ext there (or its path too long)? Says so in err. */
static int taken(const char *dir, const char *name, const char *ext, char *err, size_t errlen)
{
    char path[4300];
    if (path_of(dir, name, ext, path, sizeof path) != 0)
        return fail(err, errlen, "path too long"), 1;
    if (access(path, F_OK) != 0)
        return 0;
    fail(err, errlen, "%s exists: nothing was written", path);
    return 1;
}

int keys_export(const keys_t *k, const char *dir, const char *const *secrets, size_t nsecrets,
                char *err, size_t errlen)
{
    err[0] = '\0';
    for (size_t i = 0; i < nsecrets; i++)
        if (strcmp(secrets[i], "token") != 0 && !keys_public(k, secrets[i]))
            return fail(err, errlen, "%s has no keys (one of the services, counter or token)",
                        secrets[i]);
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fail(err, errlen, "cannot create %s: %s", dir, strerror(errno));
    /* Nothing is overwritten: look before writing anything. */
    const char *const *names = keys_names();
    int clash = taken(dir, "token", "pub", err, errlen);
    for (int i = 0; names[i] && !clash; i++)
        clash = taken(dir, names[i], "pub", err, errlen);
    for (size_t i = 0; i < nsecrets && !clash; i++)
        clash = taken(dir, secrets[i], "key", err, errlen);
    if (clash)
        return -1;
    for (int i = 0; names[i]; i++)
        if (export_file(k, dir, names[i], "pub", err, errlen) != 0)
            return -1;
    if (export_file(k, dir, "token", "pub", err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < nsecrets; i++)
        if (export_file(k, dir, secrets[i], "key", err, errlen) != 0)
            return -1;
    return 0;
}
