/*
 * bus.h - a service's place on the event bus: the transactional outbox, the
 * live PUB socket with heartbeats, and (through proto/follow) idempotent
 * subscriptions whose positions live in the service's own database.
 *
 * Guarantees (DESIGN section 3):
 * - bus_emit() writes the event into bus_outbox inside the caller's
 *   transaction, with the next gap-free sequence number: the change and its
 *   event commit together or not at all.
 * - bus_flush() publishes committed events after the commit; anything PUB
 *   drops is fetched again by followers through events.since.
 * - A subscription applies each run of events and records its position in one
 *   transaction, so a replayed or duplicated event changes nothing.
 */
#ifndef BUS_H
#define BUS_H

#include "config.h"
#include "db.h"
#include "keys.h"
#include "proto.h"

typedef struct bus bus_t;

/* A subscription's handler: apply one event inside the open transaction.
 * Return 0, or -1 to roll the whole run back (it is offered again later).
 * Events the handler does not care about must return 0. */
typedef int (*bus_handler_fn)(void *arg, const char *publisher, const json_t *event);

/* Create the bus tables in db, bind the PUB socket: a CURVE server with the
 * own pair of keys, whose subscriptions are CURVE clients with it (keys NULL:
 * plain sockets, for tests only). ctx, cfg, db, keys borrowed. */
bus_t *bus_new(void *ctx, const config_t *cfg, db_t *db, const char *publisher,
               const keys_t *keys);
void bus_destroy(bus_t **self_p);

/* The outbox alone, for a request thread with its own connection: bus_emit
 * and bus_since work, bus_flush does nothing (the main thread publishes). */
bus_t *bus_outbox_new(db_t *db, const char *publisher);

/* Inside a write transaction: append an event. fields is stolen; it gets the
 * envelope (eventType, publisher, seq, eventId, timestamp) and, when agg_key is
 * not NULL, agg_key and "id" set to agg_id. Returns 0 or -1. */
int bus_emit(bus_t *bus, const char *type, const char *agg_key, long long agg_id, json_t *fields);

/* Who causes the events emitted from now on ("role:subject", copied; NULL:
 * the service itself). Events carry it as "actor": the audit of who did what. */
void bus_set_actor(bus_t *bus, const char *actor);

/* After a commit: publish every committed event not yet published. */
void bus_flush(bus_t *bus);

/* Heartbeat and catch-up timer; call at least every 500 ms. */
void bus_tick(bus_t *bus);

/* events.since: {"publisher", "last_seq", "events": [...]} (limit <= 5000). */
json_t *bus_since(bus_t *bus, long long after, long long limit);
long long bus_last_seq(bus_t *bus);

/* Subscribe to publisher's events; call before the loop starts. */
int bus_subscribe(bus_t *bus, const char *publisher, bus_handler_fn fn, void *arg);
/* The SUB socket to poll (NULL when no subscription). */
void *bus_sub_socket(bus_t *bus);
void bus_on_readable(bus_t *bus);

/* Caught up with every publisher followed (follow_ready: 1 or 0, why not
 * or which publishers were given up on in note); 1 without subscriptions. */
int bus_ready(bus_t *bus, long long timeout_ms, char *note, size_t cap);

/* {"last_seq","published_seq","subscriptions":[...]} for the health command. */
json_t *bus_health(bus_t *bus);

#endif
