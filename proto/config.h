/*
 * config.h - one shop's settings, all under $COUNTER_HOME (default ~/.counter).
 *
 * Zero configuration on one machine: every key has a working default. The
 * optional file $COUNTER_HOME/counter.conf holds "key = value" lines ('#'
 * starts a comment) that override them, and COUNTER_<KEY> in the environment
 * overrides the file. Every key is defined once, in the table config_keys[]
 * (config.c): its type, bounds or allowed values, default and help. An unknown
 * key or a bad value is an error naming the file and line (or the variable),
 * so a typo is never silently the default. `counter config` prints the table;
 * man/counter.1, FILES, describes each key (tests/unit/test_config.c checks
 * that the two list the same keys).
 */
#ifndef CONFIG_H
#define CONFIG_H

#include <jansson.h>
#include <stddef.h>

typedef struct config config_t;

typedef enum { CONFIG_INT, CONFIG_STR, CONFIG_ENUM, CONFIG_BOOL } config_type_t;

/* One key. A name starting with "SERVICE." stands for that key of every
 * service in config_services ("SERVICE.threads": catalog.threads,
 * order.threads, ...); an entry naming one service ("order.threads") wins over
 * its pattern. */
typedef struct {
    const char *name;
    config_type_t type;
    long long min, max;     /* CONFIG_INT: the allowed range, both included */
    const char *values;     /* CONFIG_ENUM: the allowed values, '|' between */
    const char *def;        /* the default, as written in counter.conf; "": none */
    const char *help;       /* one line */
} config_key_t;

/* Every key; ends with an entry whose name is NULL. */
extern const config_key_t config_keys[];

/* The entry that defines key (a concrete name such as "order.threads"), or
 * NULL when there is none. */
const config_key_t *config_key_find(const char *key);

/* COUNTER_<KEY>: key in upper case with '.' and '-' as '_'. Returns 0, or -1
 * when out is too small. */
int config_env_name(const char *key, char *out, size_t outlen);

/* Load the config of the shop at home (NULL: $COUNTER_HOME, else ~/.counter):
 * counter.conf, then COUNTER_<KEY> of every key in the environment (which wins;
 * an empty variable counts as unset). Creates home and its run/, data/ and log/
 * folders when create is nonzero. Returns NULL with a sentence in err on
 * failure, e.g. "/home/lee/.counter/counter.conf:7: unknown key
 * 'catalog.tread' (see counter config)". */
config_t *config_load(const char *home, int create, char *err, size_t errlen);
void config_destroy(config_t **self_p);

const char *config_home(const config_t *c);

/* The value of key, from the environment, counter.conf or the table's
 * default, in that order; already checked against the table by config_load.
 * key must be in the table with that type (CONFIG_STR or CONFIG_ENUM for
 * config_str): otherwise a line goes to stderr and the result is 0 or "".
 * config_str's string belongs to c or to the table. */
long long config_int(const config_t *c, const char *key);
const char *config_str(const config_t *c, const char *key);
int config_bool(const config_t *c, const char *key);

/* The table for `counter config`: {"items": [{key, type, default, allowed,
 * help}]}, one item per entry of config_keys. New reference. */
json_t *config_describe(void);

/* Endpoint of a service's socket: kind is "req" (requests), "pub" (events) or
 * "sync" (catch-up: events.since, served by a thread of its own).
 * Default: ipc://$COUNTER_HOME/run/<service>.<kind>, never an abstract-namespace
 * socket. Returns 0 or -1 (a default path past the 107 bytes a unix socket
 * path holds: config_load refuses such a home with a sentence). */
int config_endpoint(const config_t *c, const char *service, const char *kind, char *out,
                    size_t outlen);

/* Fault injection (payment.latency_ms, payment.fail_ratio, payment.decline,
 * fault) set without faults.enabled: -1 with a sentence in err; else 0. The
 * workers refuse to start then. */
int config_check_faults(const config_t *c, char *err, size_t errlen);

/* A path under home: config_path(c, "data", "catalog.db", buf, len). */
int config_path(const config_t *c, const char *dir, const char *file, char *out, size_t outlen);

/* The backend's services, in start order; NULL-terminated. */
extern const char *const config_services[];
int config_service_known(const char *name);

#endif
