/*
 * breaker.c - circuit breaker state machine.
 */
#include "breaker.h"
#include "proto.h"

#include <stdlib.h>

typedef enum { CLOSED, OPEN, HALF_OPEN } state_t;

struct breaker {
    int max_failures;
    long slow_ms;
    long open_ms;
    int trials;
    state_t state;
    int failures;           /* consecutive, while closed */
    int trial_calls;        /* let through while half-open */
    int trial_ok;
    long long opened_at;
    long long times_opened;
    long long rejected;
};

breaker_t *breaker_new(int failures, long slow_ms, long open_ms, int trials)
{
    breaker_t *b = calloc(1, sizeof *b);
    if (!b)
        proto_oom();
    b->max_failures = failures > 0 ? failures : 1;
    b->slow_ms = slow_ms > 0 ? slow_ms : 1;
    b->open_ms = open_ms > 0 ? open_ms : 1;
    b->trials = trials > 0 ? trials : 1;
    return b;
}

void breaker_destroy(breaker_t **self_p)
{
    if (self_p) {
        free(*self_p);
        *self_p = NULL;
    }
}

static void trip(breaker_t *b, long long now)
{
    b->state = OPEN;
    b->opened_at = now;
    b->times_opened++;
    b->failures = 0;
}

int breaker_allow(breaker_t *b, long long now, long *retry_after_ms)
{
    if (b->state == OPEN && now - b->opened_at >= b->open_ms) {
        b->state = HALF_OPEN;
        b->trial_calls = 0;
        b->trial_ok = 0;
    }
    if (b->state == CLOSED)
        return 1;
    if (b->state == HALF_OPEN && b->trial_calls < b->trials) {
        b->trial_calls++;
        return 1;
    }
    b->rejected++;
    long left = b->state == OPEN ? (long)(b->open_ms - (now - b->opened_at)) : b->open_ms / 4;
    *retry_after_ms = left > 0 ? left : 1;
    return 0;
}

int breaker_is_open(const breaker_t *b, long long now, long *retry_after_ms)
{
    /* Half-open with every trial under way refuses like open: the trials
     * will tell, nobody else gets through meanwhile. */
    if (b->state == HALF_OPEN && b->trial_calls >= b->trials) {
        *retry_after_ms = b->open_ms / 4 > 0 ? b->open_ms / 4 : 1;
        return 1;
    }
    if (b->state != OPEN || now - b->opened_at >= b->open_ms)
        return 0;
    *retry_after_ms = (long)(b->open_ms - (now - b->opened_at));
    if (*retry_after_ms < 1)
        *retry_after_ms = 1;
    return 1;
}

void breaker_count_rejected(breaker_t *b)
{
    b->rejected++;
}

void breaker_record(breaker_t *b, long long now, int ok, long elapsed_ms)
{
    int good = ok && elapsed_ms < b->slow_ms;
    switch (b->state) {
    case CLOSED:
        b->failures = good ? 0 : b->failures + 1;
        if (b->failures >= b->max_failures)
            trip(b, now);
        break;
    case HALF_OPEN:
        if (!good)
            trip(b, now);
        else if (++b->trial_ok >= b->trials)
            b->state = CLOSED, b->failures = 0;
        break;
    case OPEN:
        break;   /* a late outcome of a call made before it opened */
    }
}

const char *breaker_state(const breaker_t *b)
{
    return b->state == CLOSED ? "closed" : b->state == OPEN ? "open" : "half-open";
}

json_t *breaker_json(const breaker_t *b)
{
    json_t *j = json_pack("{s:s, s:i, s:i, s:I, s:I, s:I, s:i}", "state", breaker_state(b),
                          "failures", b->failures, "threshold", b->max_failures, "slow_ms",
                          (json_int_t)b->slow_ms, "open_ms", (json_int_t)b->open_ms,
                          "times_opened", (json_int_t)b->times_opened, "trials", b->trials);
    if (!j || json_object_set_new(j, "rejected", json_integer(b->rejected)) != 0)
        proto_oom();
    return j;
}
