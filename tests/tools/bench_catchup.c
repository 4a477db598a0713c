/*
 * bench_catchup - watch a subscriber catch up, for `make bench`.
 *
 *   bench_catchup [-i INTERVAL_MS] [-T TIMEOUT_S] SERVICE TARGET
 *
 * Asks SERVICE for its health every INTERVAL_MS (default 5) until the sum of
 * its subscriptions' applied positions is at least TARGET and its lag is 0,
 * or TIMEOUT_S (default 300) has passed. Start it right after starting the
 * service: until the service answers, the calls simply time out and are sent
 * again. Prints one JSON object with wall-clock times (ms since the epoch,
 * comparable with `date +%s%3N`):
 *
 *   first_answer_ms  the first health answer
 *   target_ms        the first answer with applied >= TARGET
 *   lag0_ms          the first answer with applied >= TARGET and lag 0
 *   applied, lag     of the last answer;  polls  health calls made
 *
 * Exit 0 when the target was reached with lag 0, 1 on timeout, 2 on usage.
 */
#include "client.h"
#include "config.h"
#include "keys.h"
#include "zio.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int opt;
    long interval_ms = 5, timeout_s = 300;
    while ((opt = getopt(argc, argv, "i:T:")) != -1) {
        switch (opt) {
        case 'i': interval_ms = atol(optarg); break;
        case 'T': timeout_s = atol(optarg); break;
        default: goto usage;
        }
    }
    if (argc - optind != 2 || interval_ms < 1 || timeout_s < 1)
        goto usage;
    const char *service = argv[optind];
    long long target = atoll(argv[optind + 1]);
    if (sodium_init() < 0)
        return 1;
    char err[256], ep[512];
    config_t *cfg = config_load(NULL, 0, err, sizeof err);
    if (!cfg || config_endpoint(cfg, service, "req", ep, sizeof ep) != 0) {
        fprintf(stderr, "bench_catchup: %s\n", cfg ? "bad endpoint" : err);
        return 2;
    }
    keys_t *keys = keys_load(config_home(cfg), err, sizeof err);
    config_destroy(&cfg);
    zio_curve_t cv;
    if (!keys || keys_client(keys, service, &cv) != 0) {
        fprintf(stderr, "bench_catchup: %s\n", keys ? "no key of that service" : err);
        return 2;
    }
    keys_destroy(&keys);
    void *ctx = zmq_ctx_new();
    client_t *c = ctx ? client_new(ctx, ep, &cv) : NULL;
    if (!c)
        return 1;
    /* Health is answered by the worker's main thread, which also applies the
     * catch-up: an answer can wait for a batch to commit. */
    client_set_timeout(c, 1000, 1);
    client_set_caller(c, "-");   /* health needs no session */
    long long deadline = proto_mono_ms() + timeout_s * 1000;
    long long first = 0, at_target = 0, lag0 = 0, applied = -1, lag = -1, polls = 0;
    while (proto_mono_ms() < deadline) {
        proto_rep_t rep;
        proto_err_t e;
        polls++;
        if (client_call(c, "health", NULL, NULL, &rep, &e) == 0) {
            long long now = proto_now_ms();
            if (rep.status == ERR_OK) {
                applied = 0;
                lag = 0;
                size_t i;
                json_t *s;
                json_array_foreach(json_object_get(rep.body, "subscriptions"), i, s) {
                    applied += json_integer_value(json_object_get(s, "applied"));
                    lag += json_integer_value(json_object_get(s, "lag"));
                }
                if (!first)
                    first = now;
                if (!at_target && applied >= target)
                    at_target = now;
                if (applied >= target && lag == 0)
                    lag0 = now;
            }
            proto_rep_clear(&rep);
            if (lag0)
                break;
        }
        struct timespec ts = {interval_ms / 1000, (interval_ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    printf("{\"service\":\"%s\",\"target\":%lld,\"first_answer_ms\":%lld,\"target_ms\":%lld,"
           "\"lag0_ms\":%lld,\"applied\":%lld,\"lag\":%lld,\"polls\":%lld}\n",
           service, target, first, at_target, lag0, applied, lag, polls);
    client_destroy(&c);
    zmq_ctx_term(ctx);
    return lag0 ? 0 : 1;
usage:
    fprintf(stderr, "usage: bench_catchup [-i INTERVAL_MS] [-T TIMEOUT_S] SERVICE TARGET\n");
    return 2;
}
