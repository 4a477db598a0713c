/*
 * follow.h - the subscriber's side of the event bus, shared by the services
 * (which apply events to their databases) and `counter events --follow`.
 *
 * PUB/SUB alone loses messages (slow joiners, high-water marks, a subscriber
 * that was down), so live events are only a fast path: each publisher's events
 * carry a gap-free sequence number, the publisher sends a heartbeat with its
 * latest number twice a second, and whenever a follower sees a gap or a
 * heartbeat ahead of its position it asks the publisher for everything after
 * its position (events.since) - the Clone pattern of the ZeroMQ Guide.
 *
 * The follower never applies an event out of order or twice: the apply
 * callback gets contiguous runs that start right after the current position.
 */
#ifndef FOLLOW_H
#define FOLLOW_H

#include "config.h"
#include "keys.h"
#include "proto.h"

typedef struct follow follow_t;

/* Apply events (an array, contiguous, the first has seq position+1) of one
 * publisher. Return 0 when all were applied (the position moves past them),
 * -1 when none was (the position stays; the run is offered again later). */
typedef int (*follow_apply_fn)(void *arg, const char *publisher, const json_t *events);

/* ctx, cfg and keys are borrowed. Every link is a CURVE client of the
 * publisher with the process's own pair of keys (keys NULL: plain sockets,
 * for tests only). caller is the identity used for catch-up calls. */
follow_t *follow_new(void *ctx, const config_t *cfg, const keys_t *keys, const char *caller,
                     follow_apply_fn fn, void *arg);
void follow_destroy(follow_t **self_p);

/* Follow publisher from position (the last sequence already applied). */
int follow_add(follow_t *f, const char *publisher, long long position);

/* The SUB socket, to poll for ZMQ_POLLIN. */
void *follow_socket(follow_t *f);

/* Read every waiting message and apply what follows in order. */
int follow_on_readable(follow_t *f);

/* Catch up every publisher known to be ahead (or all, when force), at most
 * once a second per unreachable publisher. Call from the loop's timer. */
void follow_tick(follow_t *f, int force);

/* 1 while follow_tick or follow_on_readable is catching up (events.since),
 * so that an apply callback can tell a catch-up from live events. */
int follow_catching_up(const follow_t *f);

/* Positions: [{"publisher","applied","latest","lag"}]. New reference. */
json_t *follow_positions(const follow_t *f);
long long follow_total_lag(const follow_t *f);

/* Readiness: 1 once every publisher followed is caught up - this follower
 * applied everything the publisher had when first heard from (its first
 * heartbeat or catch-up answer) - or was silent for timeout_ms after
 * following began (then it counts as caught up, and note says so); 0
 * before. Each publisher's verdict is latched: a later lag does not undo
 * it. note (cap bytes) gets why not, or which publishers were given up on;
 * "" when none. */
int follow_ready(follow_t *f, long long timeout_ms, char *note, size_t cap);

#endif
