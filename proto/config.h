/*
 * config.h - one shop's settings, all under $COUNTER_HOME (default ~/.counter).
 *
 * Zero configuration on one machine: every key has a working default. The
 * optional file $COUNTER_HOME/counter.conf holds "key = value" lines ('#'
 * starts a comment) that override them; see man/counter.1 for the keys.
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <stddef.h>

typedef struct config config_t;

/* Load the config of the shop at home (NULL: $COUNTER_HOME, else ~/.counter).
 * Creates home and its run/, data/ and log/ folders when create is nonzero.
 * Returns NULL with a sentence in err on failure. */
config_t *config_load(const char *home, int create, char *err, size_t errlen);
void config_destroy(config_t **self_p);

const char *config_home(const config_t *c);
/* The value of key, or def when unset. The string belongs to c. */
const char *config_get(const config_t *c, const char *key, const char *def);
long config_get_long(const config_t *c, const char *key, long def);

/* Endpoint of a service's socket: kind is "req" (requests), "pub" (events) or
 * "sync" (catch-up: events.since, served by a thread of its own).
 * Default: ipc://$COUNTER_HOME/run/<service>.<kind>; when that path would pass
 * the ~107 byte limit of a unix socket path, an abstract-namespace socket named
 * after a hash of the home folder. Returns 0 or -1. */
int config_endpoint(const config_t *c, const char *service, const char *kind, char *out,
                    size_t outlen);

/* A path under home: config_path(c, "data", "catalog.db", buf, len). */
int config_path(const config_t *c, const char *dir, const char *file, char *out, size_t outlen);

/* The backend's services, in start order; NULL-terminated. */
extern const char *const config_services[];
int config_service_known(const char *name);

#endif
