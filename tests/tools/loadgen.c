/*
 * loadgen - places orders from many concurrent clients over real sockets.
 *
 *   loadgen [-c CLIENTS] [-r RATE] [-d SECONDS] [-n MAX] [-C CUSTOMERS] [-F FOODS] [-q QTY]
 *           [-t TIMEOUT_MS] [-a ATTEMPTS]
 *
 * Each client is a thread with its own REQ socket (Lazy Pirate client,
 * ATTEMPTS tries of TIMEOUT_MS each, default one; a retry resends the same
 * request id, so order's dedupe applies it once) sending order.place, as the manager whose session token is in
 * COUNTER_TOKEN or $COUNTER_HOME/session (managers place orders for any
 * customer), for a random customer in
 * 1..CUSTOMERS and food in 1..FOODS. RATE is the total offered rate per
 * second (0: as fast as the clients go), spread evenly over the clients.
 * Stops after SECONDS or MAX placements in all. Prints one JSON object:
 * attempts, placed, rejects by status, placed/s, latency p50/p99/max (ms),
 * and the latency of payment_busy answers separately.
 */
#include "client.h"
#include "config.h"
#include "session.h"
#include "keys.h"
#include "zio.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 2000000

static struct {
    void *ctx;
    char endpoint[512];
    char credential[PROTO_MAX_CRED + 8];
    zio_curve_t curve;  /* a CURVE client of order with an ephemeral pair */
    int clients;
    double rate;
    long long stop_at;
    long max;
    int customers, foods, qty, timeout_ms, attempts;
    atomic_long issued;
    atomic_long counts[ERR__COUNT];
    atomic_long nsamples, nbusy;
    double *lat;        /* ms, every answered placement */
    double *busy;       /* ms, payment_busy answers */
} g;

static void sleep_until(long long t_us)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    long long n = (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
    if (t_us > n) {
        struct timespec ts = {(t_us - n) / 1000000, ((t_us - n) % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
}

static long long mono_us(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

static void *client_main(void *arg)
{
    long idx = (long)arg;
    client_t *c = client_new(g.ctx, g.endpoint, &g.curve);
    if (!c)
        return NULL;
    client_set_timeout(c, g.timeout_ms, g.attempts);
    client_set_caller(c, g.credential);
    double interval_us = g.rate > 0 ? 1e6 * g.clients / g.rate : 0;
    long long next = mono_us() + (long long)(interval_us * idx / g.clients);
    while (proto_mono_ms() < g.stop_at) {
        if (g.max > 0 && atomic_fetch_add(&g.issued, 1) >= g.max)
            break;
        if (interval_us > 0) {
            sleep_until(next);
            next += (long long)interval_us;
        }
        json_t *body = json_pack("{s:i, s:i, s:i}", "customer",
                                 1 + (int)randombytes_uniform((uint32_t)g.customers), "food",
                                 1 + (int)randombytes_uniform((uint32_t)g.foods), "qty", g.qty);
        proto_rep_t rep;
        proto_err_t err;
        long long t0 = mono_us();
        int rc = client_call(c, "order.place", body, NULL, &rep, &err);
        double ms = (double)(mono_us() - t0) / 1000.0;
        json_decref(body);
        proto_status_t st = rc == 0 ? rep.status : err.status;
        if (rc == 0)
            proto_rep_clear(&rep);
        atomic_fetch_add(&g.counts[st], 1);
        long i = atomic_fetch_add(&g.nsamples, 1);
        if (i < MAX_SAMPLES)
            g.lat[i] = ms;
        if (st == ERR_PAYMENT_BUSY) {
            long b = atomic_fetch_add(&g.nbusy, 1);
            if (b < MAX_SAMPLES)
                g.busy[b] = ms;
        }
    }
    client_destroy(&c);
    return NULL;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double pct(double *v, long n, double p)
{
    if (n <= 0)
        return 0;
    long i = (long)(p * (double)(n - 1));
    return v[i];
}

int main(int argc, char **argv)
{
    int opt;
    double seconds = 10;
    g.clients = 16;
    g.customers = 1;
    g.foods = 1;
    g.qty = 1;
    g.timeout_ms = 5000;
    g.attempts = 1;
    while ((opt = getopt(argc, argv, "c:r:d:n:C:F:q:t:a:")) != -1) {
        switch (opt) {
        case 'c': g.clients = atoi(optarg); break;
        case 'r': g.rate = atof(optarg); break;
        case 'd': seconds = atof(optarg); break;
        case 'n': g.max = atol(optarg); break;
        case 'C': g.customers = atoi(optarg); break;
        case 'F': g.foods = atoi(optarg); break;
        case 'q': g.qty = atoi(optarg); break;
        case 't': g.timeout_ms = atoi(optarg); break;
        case 'a': g.attempts = atoi(optarg); break;
        default:
            fprintf(stderr, "usage: loadgen [-c CLIENTS] [-r RATE] [-d SECONDS] [-n MAX] "
                            "[-C CUSTOMERS] [-F FOODS] [-q QTY] [-t TIMEOUT_MS] [-a ATTEMPTS]\n");
            return 2;
        }
    }
    if (g.clients < 1 || g.clients > 1000 || g.customers < 1 || g.foods < 1 || g.qty < 1 ||
        g.attempts < 1 || g.attempts > 100 || seconds <= 0 || seconds > 3600) {
        fprintf(stderr, "loadgen: bad arguments\n");
        return 2;
    }
    if (sodium_init() < 0)
        return 1;
    char err[256];
    config_t *cfg = config_load(NULL, 0, err, sizeof err);
    if (!cfg || config_endpoint(cfg, "order", "req", g.endpoint, sizeof g.endpoint) != 0) {
        fprintf(stderr, "loadgen: %s\n", cfg ? "bad endpoint" : err);
        return 2;
    }
    keys_t *keys = keys_load(config_home(cfg), err, sizeof err);
    session_credential(cfg, g.credential, sizeof g.credential);
    config_destroy(&cfg);
    if (!keys || keys_client(keys, "order", &g.curve) != 0) {
        fprintf(stderr, "loadgen: %s\n", keys ? "no key of order" : err);
        return 2;
    }
    keys_destroy(&keys);
    g.lat = calloc(MAX_SAMPLES, sizeof *g.lat);
    g.busy = calloc(MAX_SAMPLES, sizeof *g.busy);
    g.ctx = zmq_ctx_new();
    if (!g.lat || !g.busy || !g.ctx)
        return 1;
    pthread_t *th = calloc((size_t)g.clients, sizeof *th);
    long long t0 = proto_mono_ms();
    g.stop_at = t0 + (long long)(seconds * 1000);
    for (long i = 0; i < g.clients; i++)
        if (pthread_create(&th[i], NULL, client_main, (void *)i) != 0)
            return 1;
    for (int i = 0; i < g.clients; i++)
        pthread_join(th[i], NULL);
    double elapsed = (double)(proto_mono_ms() - t0) / 1000.0;
    long n = atomic_load(&g.nsamples), nb = atomic_load(&g.nbusy);
    if (n > MAX_SAMPLES)
        n = MAX_SAMPLES;
    if (nb > MAX_SAMPLES)
        nb = MAX_SAMPLES;
    qsort(g.lat, (size_t)n, sizeof *g.lat, cmp);
    qsort(g.busy, (size_t)nb, sizeof *g.busy, cmp);
    json_t *rejects = json_object();
    for (int s = 1; s < ERR__COUNT; s++)
        if (atomic_load(&g.counts[s]))
            json_object_set_new(rejects, proto_status_name((proto_status_t)s),
                                json_integer(atomic_load(&g.counts[s])));
    long placed = atomic_load(&g.counts[ERR_OK]);
    json_t *out = json_pack(
        "{s:i, s:f, s:f, s:I, s:I, s:o, s:f, s:f, s:f, s:f, s:I, s:f, s:f}", "clients", g.clients,
        "offered_rate", g.rate, "seconds", elapsed, "attempts", (json_int_t)n, "placed",
        (json_int_t)placed, "rejects", rejects, "placed_per_s", (double)placed / elapsed,
        "latency_p50_ms", pct(g.lat, n, 0.50), "latency_p99_ms", pct(g.lat, n, 0.99),
        "latency_max_ms", n ? g.lat[n - 1] : 0.0, "busy", (json_int_t)nb, "busy_p50_ms",
        pct(g.busy, nb, 0.50), "busy_p99_ms", pct(g.busy, nb, 0.99));
    char *s = json_dumps(out, JSON_COMPACT | JSON_REAL_PRECISION(6));
    puts(s);
    free(s);
    json_decref(out);
    free(th);
    free(g.lat);
    free(g.busy);
    zmq_ctx_term(g.ctx);
    return 0;
}
