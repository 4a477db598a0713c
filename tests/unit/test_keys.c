/*
 * test_keys - the shop's keys (proto/keys.c) on real files, and the chain
 * that names a CURVE peer (backend/zap.c + zio_recv's user_id) on real
 * sockets: a CURVE server with a service's pair behind the ZAP handler, and
 * clients with a service's pair, an ephemeral pair, no CURVE at all and a
 * wrong server key.
 *
 * Works in a temporary home /tmp/ctr-keys-XXXXXX (kept on failure).
 */
#include "keys.h"
#include "log.h"
#include "unit.h"
#include "zap.h"
#include "zio.h"

#include <errno.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char home[256];

static int mode_of(const char *dir, const char *file)
{
    char path[600];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, file);
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* The file's text ("" when missing). */
static void slurp(const char *dir, const char *file, char *out, size_t cap)
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    out[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(out, 1, cap - 1, f);
    out[n] = '\0';
    fclose(f);
}

/* The last line of a file (the key of a .pub). */
static void last_line(const char *dir, const char *file, char *out, size_t cap)
{
    char text[1024];
    slurp(dir, file, text, sizeof text);
    size_t len = strlen(text);
    while (len && text[len - 1] == '\n')
        text[--len] = '\0';
    const char *nl = strrchr(text, '\n');
    snprintf(out, cap, "%s", nl ? nl + 1 : text);
}

static void test_ensure(const char *dir)
{
    char err[512] = "";
    case_begin("keys_ensure makes the folder 0700, secret files 0600, public files 0644");
    CHECK_INT("keys_ensure", keys_ensure(home, err, sizeof err), 0);
    CHECK_INT("keys/ mode", mode_of(home, "keys"), 0700);
    for (const char *const *n = keys_names(); *n; n++) {
        char f[64];
        snprintf(f, sizeof f, "%s.key", *n);
        CHECK_INT(f, mode_of(dir, f), 0600);
        snprintf(f, sizeof f, "%s.pub", *n);
        CHECK_INT(f, mode_of(dir, f), 0644);
    }
    CHECK_INT("token.key", mode_of(dir, "token.key"), 0600);
    CHECK_INT("token.pub", mode_of(dir, "token.pub"), 0644);
    CHECK_INT("counter.key (the operator's)", mode_of(dir, "counter.key"), 0600);
    case_end();

    case_begin("keys_ensure a second time changes nothing");
    char before[4][1024], after[4][1024];
    const char *files[4] = {"catalog.key", "catalog.pub", "token.key", "counter.pub"};
    for (int i = 0; i < 4; i++)
        slurp(dir, files[i], before[i], sizeof before[i]);
    CHECK_INT("keys_ensure again", keys_ensure(home, err, sizeof err), 0);
    for (int i = 0; i < 4; i++) {
        slurp(dir, files[i], after[i], sizeof after[i]);
        CHECK(files[i], before[i][0] && strcmp(before[i], after[i]) == 0);
    }
    case_end();

    case_begin("keys_ensure remakes a lost .pub from its .key, never a new pair");
    char path[600], pub[200], again[200];
    const char *lost[2] = {"view.pub", "token.pub"};
    for (int i = 0; i < 2; i++) {
        last_line(dir, lost[i], pub, sizeof pub);
        snprintf(path, sizeof path, "%s/%s", dir, lost[i]);
        CHECK_INT("unlink", unlink(path), 0);
        CHECK_INT("keys_ensure", keys_ensure(home, err, sizeof err), 0);
        last_line(dir, lost[i], again, sizeof again);
        CHECK_STR(lost[i], again, pub);
    }
    case_end();

    case_begin("keys_ensure and keys_load refuse a keys folder others may read (0755)");
    CHECK_INT("chmod 755", chmod(dir, 0755), 0);
    err[0] = '\0';
    CHECK_INT("keys_ensure", keys_ensure(home, err, sizeof err), -1);
    CHECK("err names the mode", strstr(err, "0755") != NULL);
    keys_t *k = keys_load(home, err, sizeof err);
    CHECK("keys_load", k == NULL);
    keys_destroy(&k);
    CHECK_INT("chmod 700", chmod(dir, 0700), 0);
    case_end();

    case_begin("keys_ensure and keys_load_own refuse a secret key file others may read (0644)");
    snprintf(path, sizeof path, "%s/payment.key", dir);
    CHECK_INT("chmod 644", chmod(path, 0644), 0);
    err[0] = '\0';
    CHECK_INT("keys_ensure", keys_ensure(home, err, sizeof err), -1);
    CHECK("err names the file", strstr(err, "payment.key") != NULL);
    k = keys_load(home, err, sizeof err);
    CHECK("keys_load (public keys only)", k != NULL);
    CHECK_INT("keys_load_own payment", k ? keys_load_own(k, "payment", err, sizeof err) : 0, -1);
    keys_destroy(&k);
    CHECK_INT("chmod 600", chmod(path, 0600), 0);
    case_end();
}

static void test_load(const char *dir)
{
    char err[512] = "", pub[200];
    case_begin("keys_load: every public key as in its file; name_of finds ours, not a stranger");
    keys_t *k = keys_load(home, err, sizeof err);
    CHECK("keys_load", k != NULL);
    if (k) {
        for (const char *const *n = keys_names(); *n; n++) {
            char f[64];
            snprintf(f, sizeof f, "%s.pub", *n);
            last_line(dir, f, pub, sizeof pub);
            CHECK_STR(f, keys_public(k, *n), pub);
            CHECK_STR("keys_name_of", keys_name_of(k, pub), *n);
        }
        char spub[41], ssec[41];
        CHECK_INT("zmq_curve_keypair", zmq_curve_keypair(spub, ssec), 0);
        CHECK("a stranger's key", keys_name_of(k, spub) == NULL);
        CHECK("no name for NULL", keys_name_of(k, NULL) == NULL);
        CHECK_STR("own name (ephemeral)", keys_own_name(k), "");
    }
    case_end();

    case_begin("keys_load_own: the service's pair; a client of another service uses it");
    if (k) {
        CHECK_INT("keys_load_own order", keys_load_own(k, "order", err, sizeof err), 0);
        zio_curve_t cv;
        CHECK_INT("keys_client catalog", keys_client(k, "catalog", &cv), 0);
        CHECK_STR("server key", cv.server, keys_public(k, "catalog"));
        CHECK_STR("own public key", cv.pub, keys_public(k, "order"));
        char derived[41];
        CHECK_INT("secret matches", zmq_curve_public(derived, cv.sec), 0);
        CHECK_STR("derived public", derived, keys_public(k, "order"));
        CHECK_INT("no such server", keys_client(k, "nobody", &cv), -1);
        zio_curve_clear(&cv);
    }
    case_end();

    case_begin("token keys: token.pub loaded, token.key read on demand, they sign and verify");
    if (k) {
        unsigned char pk[32], sk[64], sig[64];
        char hex[65];
        const unsigned char msg[] = "v1 session";
        last_line(dir, "token.pub", pub, sizeof pub);
        CHECK_INT("keys_token_public", keys_token_public(k, pk), 0);
        sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
        CHECK_STR("token.pub", hex, pub);
        CHECK_INT("keys_token_secret", keys_token_secret(k, sk), 0);
        CHECK_INT("sign", crypto_sign_detached(sig, NULL, msg, sizeof msg, sk), 0);
        CHECK_INT("verify", crypto_sign_verify_detached(sig, msg, sizeof msg, pk), 0);
        sodium_memzero(sk, sizeof sk);
    }
    keys_destroy(&k);
    case_end();

    case_begin("keys_load in a home without keys: run counter setup");
    char empty[300];
    snprintf(empty, sizeof empty, "%s/empty", home);
    CHECK_INT("mkdir", mkdir(empty, 0700), 0);
    k = keys_load(empty, err, sizeof err);
    CHECK("keys_load", k == NULL);
    char want[400];
    snprintf(want, sizeof want, "no keys in %s/keys: run counter setup", empty);
    CHECK_STR("err", err, want);
    keys_destroy(&k);
    case_end();
}

static void test_export(const char *dir)
{
    char err[512] = "", out[400];
    keys_t *k = keys_load(home, err, sizeof err);
    case_begin("keys_export: every public key and no secret unless a service is named");
    snprintf(out, sizeof out, "%s/export1", home);
    CHECK_INT("export", k ? keys_export(k, out, NULL, 0, err, sizeof err) : -1, 0);
    CHECK_INT("folder mode", mode_of(home, "export1"), 0700);
    CHECK_INT("order.pub", mode_of(out, "order.pub"), 0644);
    CHECK_INT("token.pub", mode_of(out, "token.pub"), 0644);
    CHECK_INT("no order.key", mode_of(out, "order.key"), -1);
    CHECK_INT("no token.key", mode_of(out, "token.key"), -1);
    case_end();

    case_begin("keys_export SERVICE: that pair too (0600); never over an existing file");
    const char *one[] = {"payment"};
    snprintf(out, sizeof out, "%s/export2", home);
    CHECK_INT("export payment", k ? keys_export(k, out, one, 1, err, sizeof err) : -1, 0);
    CHECK_INT("payment.key", mode_of(out, "payment.key"), 0600);
    CHECK_INT("no order.key", mode_of(out, "order.key"), -1);
    char a[1024], b[1024];
    slurp(dir, "payment.key", a, sizeof a);
    slurp(out, "payment.key", b, sizeof b);
    CHECK("the same pair", a[0] && strcmp(a, b) == 0);
    CHECK_INT("export again", k ? keys_export(k, out, one, 1, err, sizeof err) : 0, -1);
    CHECK("err says it exists", strstr(err, "exists") != NULL);
    const char *bad[] = {"nobody"};
    CHECK_INT("export an unknown name", k ? keys_export(k, out, bad, 1, err, sizeof err) : 0, -1);
    case_end();
    keys_destroy(&k);
}

/* The User-Id of the first message from client within ms, or "(none)". */
static void received_from(void *server, void *client, char *out, size_t cap)
{
    snprintf(out, cap, "(none)");
    if (zmq_send(client, "hi", 2, 0) != 2)
        return;
    zmq_pollitem_t it = {server, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&it, 1, 1500) != 1)
        return;
    zio_msgs_t m;
    if (zio_recv(server, &m, 0) != 0)
        return;
    snprintf(out, cap, "%s", m.user_id);
    zio_msgs_close(&m);
}

/* A DEALER client: own pair of keys k (NULL: plain), server key server_pub. */
static void *client_of(void *ctx, const char *ep, const keys_t *k, const char *server)
{
    void *s = zio_socket(ctx, ZMQ_DEALER, 0);
    zio_curve_t cv;
    if (!s || (k && (keys_client(k, server, &cv) != 0 || zio_curve_client(s, &cv) != 0)) ||
        zmq_connect(s, ep) != 0)
        zio_close(&s);
    return s;
}

/* A client with pair k (NULL: plain) of server srv sends one message: its
 * User-Id at the server must be want ("(none)": nothing arrives). */
static void check_peer(void *ctx, void *server, const char *ep, const keys_t *k, const char *srv,
                       const char *what, const char *want)
{
    char got[64];
    void *c = server ? client_of(ctx, ep, k, srv) : NULL;
    if (c)
        received_from(server, c, got, sizeof got);
    CHECK_STR(what, c ? got : NULL, want);
    zio_close(&c);
}

static void test_zap(void)
{
    char err[512] = "", ep[400];
    snprintf(ep, sizeof ep, "ipc://%s/zap-test.sock", home);
    void *ctx = zmq_ctx_new();
    keys_t *cat = keys_load(home, err, sizeof err), *order = keys_load(home, err, sizeof err),
           *term = keys_load(home, err, sizeof err);
    int ok = ctx && cat && order && term && keys_load_own(cat, "catalog", err, sizeof err) == 0 &&
             keys_load_own(order, "order", err, sizeof err) == 0;
    zap_t *zap = ok ? zap_start(ctx, cat) : NULL;
    void *server = zap ? zio_socket(ctx, ZMQ_ROUTER, 1) : NULL;
    zio_curve_t cv;
    if (server) {
        keys_server(cat, &cv);
        if (zio_curve_server(server, &cv) != 0 || zio_bind(server, ep) != 0)
            zio_close(&server);
    }
    case_begin("zap: a client with order's pair is User-Id \"order\"");
    CHECK("setup (keys, ZAP handler, CURVE server)", server != NULL);
    check_peer(ctx, server, ep, order, "catalog", "user_id", "order");
    case_end();

    case_begin("zap: a terminal's ephemeral pair is accepted with User-Id \"\"");
    check_peer(ctx, server, ep, term, "catalog", "user_id", "");
    case_end();

    case_begin("zap: a plain client and a client with the wrong server key get nowhere");
    check_peer(ctx, server, ep, NULL, NULL, "plain", "(none)");
    check_peer(ctx, server, ep, order, "payment", "wrong server key", "(none)");
    case_end();

    case_begin("zap_decide: CURVE only (another mechanism or a short request: 400)");
    unsigned char key[32];
    CHECK("decode order's key", cat && zmq_z85_decode(key, keys_public(cat, "order")) != NULL);
    proto_frame_t f[7] = {{"1.0", 3}, {"1", 1}, {"counter", 7}, {"", 0}, {"", 0}, {"CURVE", 5},
                          {key, 32}};
    char uid[32];
    CHECK_STR("CURVE, order's key", cat ? zap_decide(cat, f, 7, uid, sizeof uid) : NULL, "200");
    CHECK_STR("its User-Id", uid, "order");
    f[5] = (proto_frame_t){"NULL", 4};
    CHECK_STR("NULL mechanism", cat ? zap_decide(cat, f, 6, uid, sizeof uid) : NULL, "400");
    f[5] = (proto_frame_t){"PLAIN", 5};
    CHECK_STR("PLAIN mechanism", cat ? zap_decide(cat, f, 7, uid, sizeof uid) : NULL, "400");
    CHECK_STR("no User-Id", uid, "");
    case_end();

    zio_close(&server);
    zap_stop(&zap);
    zio_curve_clear(&cv);
    keys_destroy(&cat);
    keys_destroy(&order);
    keys_destroy(&term);
    if (ctx && zmq_ctx_term(ctx) != 0)
        printf("# zmq_ctx_term: %s\n", zmq_strerror(errno));
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(p);
}

int main(void)
{
    log_init("test_keys");
    if (sodium_init() < 0) {
        printf("FAIL - sodium_init: got -1, expected 0\n");
        return 1;
    }
    char tmpl[] = "/tmp/ctr-keys-XXXXXX";
    if (!mkdtemp(tmpl)) {
        printf("FAIL - mkdtemp: got %s, expected a directory\n", strerror(errno));
        return 1;
    }
    snprintf(home, sizeof home, "%s", tmpl);
    char dir[300];
    snprintf(dir, sizeof dir, "%s/keys", home);
    test_ensure(dir);
    test_load(dir);
    test_export(dir);
    test_zap();
    int rc = unit_exit();
    if (rc != 0)
        printf("# kept %s for inspection\n", home);
    else if (nftw(home, rm_one, 16, FTW_DEPTH | FTW_PHYS) != 0)
        printf("# could not remove %s\n", home);
    return rc;
}
