/*
 * test_breaker - the circuit breaker (backend/breaker.c) as a state machine:
 * closed -> open after `failures` failed or slow calls in a row; open refuses
 * with the time left; open -> half-open once `open_ms` has passed; half-open
 * lets `trials` calls through and refuses the rest; `trials` successes close
 * it, one failure (or one slow call) opens it again; the health JSON.
 *
 * Pure logic: time is the `now` argument, nothing sleeps, no sockets.
 */
#include "breaker.h"
#include "proto.h"
#include "unit.h"

#include <stdlib.h>
#include <string.h>

/* What *retry_after_ms holds when the breaker did not write it. */
#define UNTOUCHED (-7L)

/* The parameters most cases use: 3 failures, slow from 100 ms, 1000 ms open,
 * 2 trials. */
#define FAILS 3
#define SLOW 100
#define OPEN_MS 1000
#define TRIALS 2

static breaker_t *std_breaker(void)
{
    return breaker_new(FAILS, SLOW, OPEN_MS, TRIALS);
}

/* breaker_allow, with the retry hint in *retry (UNTOUCHED if not written). */
static int allow(breaker_t *b, long long now, long *retry)
{
    *retry = UNTOUCHED;
    return breaker_allow(b, now, retry);
}

static int peek(const breaker_t *b, long long now, long *retry)
{
    *retry = UNTOUCHED;
    return breaker_is_open(b, now, retry);
}

/* A member of the health JSON, as an integer (-1 when missing). */
static long long health_int(const breaker_t *b, const char *key)
{
    json_t *j = breaker_json(b);
    long long v = json_is_integer(json_object_get(j, key)) ? jint(j, key) : -1;
    json_decref(j);
    return v;
}

/* Let one call through at `now` and record its outcome. */
static void call(breaker_t *b, long long now, int ok, long elapsed)
{
    long retry;
    if (!allow(b, now, &retry))
        case_fail("call at %lld: refused (retry %ld) while it should go through", now, retry);
    breaker_record(b, now, ok, elapsed);
}

/* A breaker opened at t=1000 by FAILS failures. */
static breaker_t *opened_at_1000(void)
{
    breaker_t *b = std_breaker();
    for (int i = 0; i < FAILS; i++)
        call(b, 1000, 0, 5);
    return b;
}

/* At `now`, the half-open breaker lets exactly TRIALS calls go through and
 * refuses the next one. */
static void take_trials(breaker_t *b, long long now)
{
    long retry;
    for (int i = 1; i <= TRIALS; i++)
        if (!allow(b, now, &retry))
            case_fail("trial %d at %lld: refused (retry %ld), expected to go through", i, now,
                      retry);
    if (allow(b, now, &retry))
        case_fail("a call after the %d trials at %lld: let through, expected refused", TRIALS,
                  now);
}

/* ---- closed ------------------------------------------------------------- */

static void test_closed(void)
{
    long retry;
    case_begin("closed: a new breaker lets calls through and leaves the retry hint alone");
    breaker_t *b = std_breaker();
    CHECK_STR("state", breaker_state(b), "closed");
    CHECK_INT("allow", allow(b, 0, &retry), 1);
    CHECK_INT("retry hint", retry, UNTOUCHED);
    CHECK_INT("peek", peek(b, 0, &retry), 0);
    CHECK_INT("retry hint of the peek", retry, UNTOUCHED);
    for (int i = 0; i < 50; i++)
        call(b, 10 + i, 1, 5);
    CHECK_STR("state after 50 good calls", breaker_state(b), "closed");
    CHECK_INT("rejected", health_int(b, "rejected"), 0);
    breaker_destroy(&b);
    CHECK("destroy sets the pointer to NULL", b == NULL);
    breaker_destroy(&b);   /* twice is harmless */
    case_end();

    case_begin("closed: %d failures in a row stay closed; one more opens it", FAILS - 1);
    b = std_breaker();
    for (int i = 0; i < FAILS - 1; i++) {
        call(b, 100 + i, 0, 5);
        CHECK_STR("state before the threshold", breaker_state(b), "closed");
        CHECK_INT("failures counted", health_int(b, "failures"), i + 1);
    }
    call(b, 200, 0, 5);
    CHECK_STR("state at the threshold", breaker_state(b), "open");
    CHECK_INT("times_opened", health_int(b, "times_opened"), 1);
    CHECK_INT("failures reset when it opens", health_int(b, "failures"), 0);
    breaker_destroy(&b);
    case_end();

    case_begin("closed: a success between failures resets the run (failures must be in a row)");
    b = std_breaker();
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < FAILS - 1; i++)
            call(b, 100 * round + i, 0, 5);
        call(b, 100 * round + 50, 1, 5);
        CHECK_INT("failures after a success", health_int(b, "failures"), 0);
    }
    CHECK_STR("state", breaker_state(b), "closed");
    CHECK_INT("times_opened", health_int(b, "times_opened"), 0);
    breaker_destroy(&b);
    case_end();

    case_begin("closed: a threshold of 1 opens on the first failure");
    b = breaker_new(1, SLOW, OPEN_MS, TRIALS);
    call(b, 5, 0, 1);
    CHECK_STR("state", breaker_state(b), "open");
    breaker_destroy(&b);
    case_end();
}

/* ---- slow calls ---------------------------------------------------------- */

static void test_slow(void)
{
    case_begin("slow: an ok call taking slow_ms or more counts as a failure");
    breaker_t *b = std_breaker();
    call(b, 10, 1, SLOW);
    CHECK_INT("failures after a call of exactly slow_ms", health_int(b, "failures"), 1);
    call(b, 20, 1, SLOW * 50);
    CHECK_INT("failures after a very slow call", health_int(b, "failures"), 2);
    CHECK_STR("state before the threshold", breaker_state(b), "closed");
    call(b, 30, 1, SLOW + 1);
    CHECK_STR("state after slow calls only", breaker_state(b), "open");
    breaker_destroy(&b);
    case_end();

    case_begin("slow: an ok call just under slow_ms is a success and resets the run");
    b = std_breaker();
    call(b, 10, 0, 1);
    call(b, 11, 0, 1);
    call(b, 12, 1, SLOW - 1);
    CHECK_INT("failures", health_int(b, "failures"), 0);
    CHECK_STR("state", breaker_state(b), "closed");
    breaker_destroy(&b);
    case_end();

    case_begin("slow: a failed call is a failure however fast it was");
    b = std_breaker();
    call(b, 10, 0, 0);
    CHECK_INT("failures", health_int(b, "failures"), 1);
    breaker_destroy(&b);
    case_end();
}

/* ---- open ---------------------------------------------------------------- */

static void test_open(void)
{
    long retry;
    case_begin("open: refuses with the time left of the cool-down, and counts the refusals");
    breaker_t *b = opened_at_1000();
    CHECK_INT("allow right after opening", allow(b, 1000, &retry), 0);
    CHECK_INT("retry hint right after opening", retry, OPEN_MS);
    CHECK_INT("allow 300 ms later", allow(b, 1300, &retry), 0);
    CHECK_INT("retry hint 300 ms later", retry, OPEN_MS - 300);
    CHECK_INT("allow 1 ms before the end", allow(b, 1000 + OPEN_MS - 1, &retry), 0);
    CHECK_INT("retry hint 1 ms before the end", retry, 1);
    CHECK_STR("state", breaker_state(b), "open");
    CHECK_INT("rejected", health_int(b, "rejected"), 3);
    breaker_destroy(&b);
    case_end();

    case_begin("open: the peek refuses with the same hint and changes nothing");
    b = opened_at_1000();
    CHECK_INT("peek", peek(b, 1400, &retry), 1);
    CHECK_INT("retry hint of the peek", retry, OPEN_MS - 400);
    CHECK_INT("rejected after peeks", health_int(b, "rejected"), 0);
    breaker_count_rejected(b);
    breaker_count_rejected(b);
    CHECK_INT("rejected after breaker_count_rejected x2", health_int(b, "rejected"), 2);
    CHECK_INT("peek when the cool-down is over", peek(b, 1000 + OPEN_MS, &retry), 0);
    CHECK_INT("retry hint of that peek", retry, UNTOUCHED);
    CHECK_STR("state after that peek (a peek moves nothing)", breaker_state(b), "open");
    breaker_destroy(&b);
    case_end();

    case_begin("open: a late outcome of a call made before it opened changes nothing");
    b = opened_at_1000();
    breaker_record(b, 1500, 1, 1);
    breaker_record(b, 1600, 0, 1);
    CHECK_STR("state", breaker_state(b), "open");
    CHECK_INT("allow still refused", allow(b, 1700, &retry), 0);
    CHECK_INT("retry hint counts from the opening, not from the late outcomes", retry,
              OPEN_MS - 700);
    CHECK_INT("times_opened", health_int(b, "times_opened"), 1);
    breaker_destroy(&b);
    case_end();
}

/* ---- half-open ------------------------------------------------------------ */

static void test_half_open(void)
{
    long retry;
    long long t = 1000 + OPEN_MS;   /* the end of the cool-down */
    case_begin("half-open: after the cool-down, exactly `trials` calls go through");
    breaker_t *b = opened_at_1000();
    CHECK_INT("first trial", allow(b, t, &retry), 1);
    CHECK_STR("state after the cool-down", breaker_state(b), "half-open");
    CHECK_INT("peek with a trial left", peek(b, t, &retry), 0);
    CHECK_INT("second trial", allow(b, t + 1, &retry), 1);
    CHECK_INT("a third call", allow(b, t + 2, &retry), 0);
    CHECK_INT("its retry hint (open_ms / 4)", retry, OPEN_MS / 4);
    CHECK_INT("peek with every trial under way", peek(b, t + 3, &retry), 1);
    CHECK_INT("retry hint of the peek", retry, OPEN_MS / 4);
    CHECK_INT("still refused much later while the trials run", allow(b, t + 10 * OPEN_MS, &retry),
              0);
    CHECK_STR("state", breaker_state(b), "half-open");
    CHECK_INT("rejected", health_int(b, "rejected"), 2);
    breaker_destroy(&b);
    case_end();

    case_begin("half-open -> closed after `trials` successes");
    b = opened_at_1000();
    take_trials(b, t);
    breaker_record(b, t + 5, 1, 5);
    CHECK_STR("state after one success of two", breaker_state(b), "half-open");
    CHECK_INT("no third call after one success", allow(b, t + 6, &retry), 0);
    breaker_record(b, t + 7, 1, 5);
    CHECK_STR("state after both successes", breaker_state(b), "closed");
    CHECK_INT("calls go through again", allow(b, t + 8, &retry), 1);
    CHECK_INT("failures", health_int(b, "failures"), 0);
    /* Closed again with a fresh count: FAILS - 1 failures do not reopen it. */
    for (int i = 0; i < FAILS - 1; i++)
        call(b, t + 10 + i, 0, 5);
    CHECK_STR("state after threshold - 1 failures", breaker_state(b), "closed");
    call(b, t + 20, 0, 5);
    CHECK_STR("state after the threshold again", breaker_state(b), "open");
    CHECK_INT("times_opened", health_int(b, "times_opened"), 2);
    breaker_destroy(&b);
    case_end();

    case_begin("half-open -> open again on one failure, with a new cool-down");
    b = opened_at_1000();
    take_trials(b, t);
    breaker_record(b, t + 10, 1, 5);
    breaker_record(b, t + 20, 0, 5);
    CHECK_STR("state after a success then a failure", breaker_state(b), "open");
    CHECK_INT("times_opened", health_int(b, "times_opened"), 2);
    CHECK_INT("allow", allow(b, t + 120, &retry), 0);
    CHECK_INT("retry hint from the new opening", retry, OPEN_MS - 100);
    /* The next cool-down ends open_ms after the failure, and gives fresh trials. */
    CHECK_INT("peek 1 ms before the new end", peek(b, t + 20 + OPEN_MS - 1, &retry), 1);
    take_trials(b, t + 20 + OPEN_MS);
    /* Its trials count afresh: the success of the first half-open is forgotten. */
    breaker_record(b, t + 30 + OPEN_MS, 1, 5);
    CHECK_STR("second half-open after one success of two", breaker_state(b), "half-open");
    breaker_record(b, t + 40 + OPEN_MS, 1, 5);
    CHECK_STR("second half-open after two successes", breaker_state(b), "closed");
    breaker_destroy(&b);
    case_end();

    case_begin("half-open -> open again on one slow success");
    b = opened_at_1000();
    CHECK_INT("trial", allow(b, t, &retry), 1);
    breaker_record(b, t + SLOW, 1, SLOW);
    CHECK_STR("state", breaker_state(b), "open");
    CHECK_INT("retry hint", (allow(b, t + SLOW, &retry), retry), OPEN_MS);
    breaker_destroy(&b);
    case_end();
}

/* ---- parameters and health ------------------------------------------------- */

static void test_params(void)
{
    long retry;
    case_begin("parameters: zero or negative values become 1");
    breaker_t *b = breaker_new(0, -5, 0, -1);
    CHECK_INT("threshold", health_int(b, "threshold"), 1);
    CHECK_INT("slow_ms", health_int(b, "slow_ms"), 1);
    CHECK_INT("open_ms", health_int(b, "open_ms"), 1);
    CHECK_INT("trials", health_int(b, "trials"), 1);
    call(b, 99, 1, 0);
    CHECK_STR("threshold 1: a success keeps it closed", breaker_state(b), "closed");
    call(b, 100, 0, 0);
    CHECK_STR("threshold 1: opens on one failure", breaker_state(b), "open");
    CHECK_INT("open_ms 1: refused at once", allow(b, 100, &retry), 0);
    CHECK_INT("retry hint", retry, 1);
    CHECK_INT("open_ms 1: a trial 1 ms later", allow(b, 101, &retry), 1);
    CHECK_INT("trials 1: the second is refused", allow(b, 101, &retry), 0);
    CHECK_INT("retry hint never below 1 (open_ms / 4 == 0)", retry, 1);
    CHECK_INT("peek hint never below 1", (peek(b, 101, &retry), retry), 1);
    breaker_record(b, 102, 1, 0);
    CHECK_STR("slow_ms 1: a 0 ms call is a success; 1 trial closes it", breaker_state(b),
              "closed");
    call(b, 103, 1, 1);
    CHECK_STR("slow_ms 1: a 1 ms call is slow", breaker_state(b), "open");
    breaker_destroy(&b);
    case_end();
}

static char *dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    return proto_nonnull(s);
}

static void check_json(const char *what, const breaker_t *b, const char *want)
{
    json_t *j = breaker_json(b);
    char *got = dump(j);
    CHECK_STR(what, got, want);
    free(got);
    json_decref(j);
}

static void test_json(void)
{
    long retry;
    case_begin("health JSON: every member, through closed, open and half-open");
    breaker_t *b = breaker_new(2, 250, 4000, 3);
    check_json("new", b,
               "{\"failures\":0,\"open_ms\":4000,\"rejected\":0,\"slow_ms\":250,"
               "\"state\":\"closed\",\"threshold\":2,\"times_opened\":0,\"trials\":3}");
    call(b, 10, 0, 1);
    check_json("one failure", b,
               "{\"failures\":1,\"open_ms\":4000,\"rejected\":0,\"slow_ms\":250,"
               "\"state\":\"closed\",\"threshold\":2,\"times_opened\":0,\"trials\":3}");
    call(b, 20, 1, 300);
    CHECK_INT("refused while open", allow(b, 30, &retry), 0);
    breaker_count_rejected(b);
    check_json("open", b,
               "{\"failures\":0,\"open_ms\":4000,\"rejected\":2,\"slow_ms\":250,"
               "\"state\":\"open\",\"threshold\":2,\"times_opened\":1,\"trials\":3}");
    CHECK_INT("a trial", allow(b, 4020, &retry), 1);
    check_json("half-open", b,
               "{\"failures\":0,\"open_ms\":4000,\"rejected\":2,\"slow_ms\":250,"
               "\"state\":\"half-open\",\"threshold\":2,\"times_opened\":1,\"trials\":3}");
    breaker_destroy(&b);
    case_end();
}

int main(void)
{
    test_closed();
    test_slow();
    test_open();
    test_half_open();
    test_params();
    test_json();
    return unit_exit();
}
