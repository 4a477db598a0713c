/*
 * breaker.h - a circuit breaker (closed / open / half-open), for the order
 * service's calls to payment (DESIGN section 6, seed N2).
 *
 * Closed: calls go through; a run of `failures` consecutive failed or slow
 * calls opens it. Open: calls are refused at once (the caller answers
 * payment_busy with the time left) until `open_ms` has passed. Half-open: up
 * to `trials` calls go through; that many successes close it, one failure
 * opens it again. Pure logic over a clock the caller passes in, so it is
 * tested without sockets.
 */
#ifndef BREAKER_H
#define BREAKER_H

#include <jansson.h>

typedef struct breaker breaker_t;

breaker_t *breaker_new(int failures, long slow_ms, long open_ms, int trials);
void breaker_destroy(breaker_t **self_p);

/* 1 when a call may go now; 0 when open, with the wait in *retry_after_ms. */
int breaker_allow(breaker_t *b, long long now_ms, long *retry_after_ms);
/* Peek, changing nothing: 1 when a call would be refused now - open and still
 * cooling down, or half-open with all its trials under way - with the wait in
 * *retry_after_ms, so a caller can refuse work before doing any. */
int breaker_is_open(const breaker_t *b, long long now_ms, long *retry_after_ms);
/* Count a call refused after a breaker_is_open peek. */
void breaker_count_rejected(breaker_t *b);
/* Record the outcome of a call that breaker_allow let through. */
void breaker_record(breaker_t *b, long long now_ms, int ok, long elapsed_ms);

const char *breaker_state(const breaker_t *b);
/* {"state","failures","times_opened","rejected",...}. New reference. */
json_t *breaker_json(const breaker_t *b);

#endif
