/*
 * rawsend - send arbitrary frames to a service socket and print the reply.
 * For tests of malformed input: nothing in it goes through the codec.
 *
 *   rawsend [-d] [-t MS] [--key NAME] [--server NAME] [--plain] SERVICE|ENDPOINT FRAME...
 *
 * SERVICE is resolved through $COUNTER_HOME's config; ENDPOINT contains "://".
 * The socket is a CURVE client of SERVICE (the server's public key from
 * $COUNTER_HOME/keys) with a fresh ephemeral pair, as a terminal is;
 * --key NAME uses NAME's pair from keys/NAME.key instead (to act as that
 * service); --server NAME takes NAME's public key as the server's (default:
 * the service whose endpoint it is; a wrong one gets no answer); --plain
 * sends without CURVE
 * (a worker never answers that).
 * FRAME is literal text, or "hex:0a0b...", "big:N" (N bytes of 'x'),
 * "empty:" (a zero-length frame), "json-big:N" (a JSON object of about N bytes).
 * -d sends from a DEALER (no empty delimiter frame) instead of a REQ.
 * -n COUNT sends the request COUNT times, one after the other's reply (a
 * flood, for the log's rate limit), and prints the last reply only.
 * Prints each reply frame on its own line. Exit 0 on a reply, 3 on timeout,
 * 2 on usage errors.
 */
#include "config.h"
#include "keys.h"
#include "zio.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Build a frame from its spec; caller frees *buf. */
static int make_frame(const char *spec, char **buf, size_t *len)
{
    if (strncmp(spec, "hex:", 4) == 0) {
        size_t n = strlen(spec + 4) / 2;
        *buf = malloc(n + 1);
        for (size_t i = 0; i < n; i++) {
            int hi = hexval(spec[4 + 2 * i]), lo = hexval(spec[5 + 2 * i]);
            if (hi < 0 || lo < 0)
                return -1;
            (*buf)[i] = (char)(hi * 16 + lo);
        }
        *len = n;
    } else if (strncmp(spec, "big:", 4) == 0) {
        size_t n = strtoul(spec + 4, NULL, 10);
        *buf = malloc(n + 1);
        memset(*buf, 'x', n);
        *len = n;
    } else if (strncmp(spec, "json-big:", 9) == 0) {
        size_t n = strtoul(spec + 9, NULL, 10);
        if (n < 16)
            n = 16;
        *buf = malloc(n + 1);
        memcpy(*buf, "{\"name\":\"", 9);
        memset(*buf + 9, 'x', n - 11);
        memcpy(*buf + n - 2, "\"}", 2);
        *len = n;
    } else if (strcmp(spec, "empty:") == 0) {
        *buf = malloc(1);
        *len = 0;
    } else {
        *buf = strdup(spec);
        *len = strlen(spec);
    }
    return *buf ? 0 : -1;
}

/* The CURVE settings: server's public key, our pair (own: NAME's, or an
 * ephemeral one). 0, or 2 (said on stderr). */
static int curve_of(const char *server, const char *own, zio_curve_t *cv)
{
    char err[512];
    config_t *cfg = config_load(NULL, 0, err, sizeof err);
    keys_t *keys = cfg ? keys_load(config_home(cfg), err, sizeof err) : NULL;
    config_destroy(&cfg);
    int rc = keys && (!own || keys_load_own(keys, own, err, sizeof err) == 0) &&
                     keys_client(keys, server, cv) == 0
                 ? 0
                 : 2;
    if (rc != 0)
        fprintf(stderr, "rawsend: %s\n", keys && !err[0] ? "no key of that server" : err);
    keys_destroy(&keys);
    return rc;
}

/* The service one of whose endpoints ep is (config), or NULL. */
static const char *service_of(const char *ep)
{
    char err[512], mine[512];
    static const char *const kinds[] = {"req", "pub", "sync"};
    config_t *cfg = config_load(NULL, 0, err, sizeof err);
    const char *found = NULL;
    for (int i = 0; cfg && config_services[i] && !found; i++)
        for (int k = 0; k < 3 && !found; k++)
            if (config_endpoint(cfg, config_services[i], kinds[k], mine, sizeof mine) == 0 &&
                strcmp(mine, ep) == 0)
                found = config_services[i];
    config_destroy(&cfg);
    return found;
}

static int usage(void)
{
    fprintf(stderr, "usage: rawsend [-d] [-t MS] [-n COUNT] [--key NAME] [--server NAME] [--plain] "
                    "SERVICE|ENDPOINT FRAME...\n");
    return 2;
}

int main(int argc, char **argv)
{
    int dealer = 0, timeout = 2000, opt, plain = 0, count = 1;
    const char *own = NULL, *server = NULL;
    static const struct option longs[] = {{"key", required_argument, NULL, 'k'},
                                          {"server", required_argument, NULL, 's'},
                                          {"plain", no_argument, NULL, 'p'},
                                          {NULL, 0, NULL, 0}};
    while ((opt = getopt_long(argc, argv, "dt:n:", longs, NULL)) != -1) {
        if (opt == 'd')
            dealer = 1;
        else if (opt == 't')
            timeout = atoi(optarg);
        else if (opt == 'n')
            count = atoi(optarg);
        else if (opt == 'k')
            own = optarg;
        else if (opt == 's')
            server = optarg;
        else if (opt == 'p')
            plain = 1;
        else
            return usage();
    }
    if (argc - optind < 2)
        return usage();
    char ep[512], err[256];
    const char *target = argv[optind];
    if (strstr(target, "://")) {
        snprintf(ep, sizeof ep, "%s", target);
        if (!server && !plain)
            server = service_of(ep);
    } else {
        config_t *cfg = config_load(NULL, 0, err, sizeof err);
        if (!cfg || config_endpoint(cfg, target, "req", ep, sizeof ep) != 0) {
            fprintf(stderr, "rawsend: %s\n", cfg ? "bad endpoint" : err);
            return 2;
        }
        config_destroy(&cfg);
        if (!server)
            server = target;
    }
    zio_curve_t cv = {0};
    if (!plain && !server)
        return usage();
    if (!plain && curve_of(server, own, &cv) != 0)
        return 2;
    size_t n = (size_t)(argc - optind - 1);
    proto_frame_t *f = calloc(n, sizeof *f);
    char **bufs = calloc(n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        if (make_frame(argv[optind + 1 + (int)i], &bufs[i], &f[i].size) != 0) {
            fprintf(stderr, "rawsend: bad frame spec\n");
            return 2;
        }
        f[i].data = bufs[i];
    }
    void *ctx = zmq_ctx_new();
    void *s = zio_socket(ctx, dealer ? ZMQ_DEALER : ZMQ_REQ, 0);
    if (!s || (!plain && zio_curve_client(s, &cv) != 0) || zmq_connect(s, ep) != 0) {
        fprintf(stderr, "rawsend: %s: %s\n", ep, zmq_strerror(zmq_errno()));
        return 3;
    }
    int rc = 0;
    for (int sent = 0; sent < count && rc == 0; sent++) {
        rc = 3;
        if (zio_send(s, f, n, 0) != 0)
            break;
        zmq_pollitem_t item = {s, 0, ZMQ_POLLIN, 0};
        if (zmq_poll(&item, 1, timeout) == 1) {
            zio_msgs_t m;
            if (zio_recv(s, &m, 0) == 0) {
                for (size_t i = 0; i < m.n && sent == count - 1; i++)
                    printf("%.*s\n", (int)m.frame[i].size, (const char *)m.frame[i].data);
                zio_msgs_close(&m);
                rc = 0;
            }
        } else {
            fprintf(stderr, "rawsend: no reply within %d ms\n", timeout);
        }
    }
    zio_close(&s);
    zmq_ctx_term(ctx);
    for (size_t i = 0; i < n; i++)
        free(bufs[i]);
    free(bufs);
    free(f);
    return rc;
}
