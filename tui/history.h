/*
 * history.h - the shop's past events, loaded from their publishers with
 * events.since and merged by time: what `counter events` prints before it
 * follows (cli.c) and what the manager's audit starts from (tui_net.c). The
 * two differ only in how they call a service, which they pass in.
 */
#ifndef HISTORY_H
#define HISTORY_H

#include <jansson.h>

/* One publisher to load from. */
typedef struct {
    const char *publisher;   /* its name (config_services) */
    long long after;         /* the events after this sequence number ... */
    long long upto;          /* ... up to this one (LLONG_MAX: all there are) */
    long long last;          /* set: the last sequence number read (after, when none) */
    int failed;              /* set: it did not answer (what was read before stays) */
} history_src_t;

/* Call events.since on publisher with body (stolen). Returns 0 with the
 * reply's body in *res (a new reference: the loader frees it), or -1 when
 * the publisher did not answer. */
typedef int (*history_call_fn)(void *arg, const char *publisher, json_t *body, json_t **res);

/* Read each source's events in pages of page events. Returns a new array of
 * them merged by time (timestamp, then publisher, then sequence number; each
 * publisher's stay in order), or, when keep is 0, an empty one (only the
 * sources' last positions are wanted). */
json_t *history_load(history_src_t *src, int n, int page, int keep, history_call_fn call, void *arg);

#endif
