/*
 * config.c - $COUNTER_HOME, the table of settings, counter.conf, COUNTER_<KEY>
 * and endpoints.
 */
#include "config.h"
#include "proto.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define MAX_VALUES 128      /* distinct keys set; the table expands to fewer */
#define PATTERN "SERVICE."

const char *const config_services[] = {"auth",  "customer", "catalog", "payment",
                                       "delivery", "order", "view",    NULL};

#define MS_MAX 600000LL     /* ten minutes: the longest sensible wait for an answer */
#define INT(n, lo, hi, d, h) {n, CONFIG_INT, lo, hi, NULL, d, h}
#define STR(n, h) {n, CONFIG_STR, 0, 0, NULL, "", h}
#define ENUM(n, v, d, h) {n, CONFIG_ENUM, 0, 0, v, d, h}
#define BOOL(n, d, h) {n, CONFIG_BOOL, 0, 0, NULL, d, h}

/* Every setting of the shop, and the only place its default is written.
 * man/counter.1, FILES, describes each one (a unit test checks that the
 * two name the same keys and that the man page states each default). */
const config_key_t config_keys[] = {
    STR("SERVICE.req", "a service's request endpoint (default ipc://.../run/SERVICE.req)"),
    STR("SERVICE.pub", "a service's event endpoint (default ipc://.../run/SERVICE.pub)"),
    STR("SERVICE.sync", "a service's catch-up endpoint (default ipc://.../run/SERVICE.sync)"),
    INT("SERVICE.threads", 0, 32, "0", "request threads of a worker; 0: its main thread answers"),
    INT("order.threads", 0, 32, "8", "request threads of the order worker"),
    INT("SERVICE.ready_timeout_ms", 0, MS_MAX, "5000",
        "a worker is ready without a publisher it follows that is silent this long"),
    ENUM("sqlite.synchronous", "NORMAL|FULL", "NORMAL",
        "FULL: an fsync per commit, to survive a power loss"),
    INT("requests.keep_ms", 1, 365LL * 86400000, "86400000",
        "how long a worker remembers the request ids it applied"),
    INT("backend.start_timeout_ms", 1, 3600000, "15000",
        "backend start: wait for a worker's health"),
    ENUM("log.level", "error|warn|info|debug", "info",
         "workers: the least important lines their logs keep"),
    INT("log.max_bytes", 0, 1LL << 40, "10485760",
        "workers: a log past this size is rotated (SERVICE.log.1); 0: never"),
    INT("log.keep", 0, 100, "3", "workers: rotated logs kept (SERVICE.log.1 to .N)"),
    BOOL("supervisor.restart", "1", "supervisor: restart a worker that exits"),
    INT("supervisor.stuck_ms", 0, MS_MAX, "3000",
        "supervisor: kill and restart a worker that has not answered health this long (0: never)"),
    INT("client.timeout_ms", 1, MS_MAX, "700", "counter: each of two tries of a request"),
    INT("order.call_timeout_ms", 1, MS_MAX, "1000",
        "order: each of two tries of a call to another service"),
    INT("breaker.timeout_ms", 1, MS_MAX, "1000", "order: each of two tries of a call to payment"),
    INT("breaker.failures", 1, 1000000, "5", "failed payment calls in a row that open the breaker"),
    INT("breaker.slow_ms", 1, MS_MAX, "300", "a payment call slower than this counts as failed"),
    INT("breaker.open_ms", 1, 3600000, "3000", "how long the breaker stays open"),
    INT("breaker.trials", 1, 1000, "2", "trial calls that close a half-open breaker"),
    INT("order.pay_concurrency", 1, 64, "4",
        "payment calls in flight before the bulkhead may refuse"),
    INT("order.pay_saturated_ms", 0, MS_MAX, "100",
        "... and the oldest has waited longer than this"),
    BOOL("faults.enabled", "0",
         "tests and benchmarks only: allow payment.admin and the fault keys below"),
    INT("payment.latency_ms", 0, 60000, "0", "injected fault: a delay before each payment"),
    INT("payment.fail_ratio", 0, 100, "0", "injected fault: percent of payments that fail"),
    BOOL("payment.decline", "0", "injected fault: decline every payment"),
    BOOL("delivery.auto", "0", "start the delivery service in auto mode"),
    INT("delivery.auto_ms", 0, 3600000, "1000", "auto mode: the delay before each step"),
    ENUM("fault", "order.after_reserve|order.after_pay", "",
        "crash tests only: the order worker kills itself there"),
    INT("auth.threads", 0, 32, "1",
        "request threads of the auth worker: password hashes computed at once"),
    INT("auth.nice", 0, 19, "10", "auth: the worker's CPU priority (nice), below the others'"),
    INT("auth.pwhash_ops", 1, 32, "2",
        "auth: argon2id passes (default libsodium's OPSLIMIT_INTERACTIVE; 1 is its minimum)"),
    INT("auth.pwhash_mem_kib", 8, 4194304, "65536",
        "auth: argon2id memory in KiB (default MEMLIMIT_INTERACTIVE; 8 is the minimum)"),
    INT("auth.password_min", 1, 128, "8", "auth: the shortest password accepted"),
    INT("auth.token_ttl_s", 1, 31LL * 86400, "28800", "auth: how long a session token is valid"),
    INT("auth.fail_delay_ms", 0, MS_MAX, "250",
        "auth: the wait after a failed login; it doubles with each failure in a row"),
    INT("auth.fail_delay_max_ms", 0, 86400000, "30000", "auth: ... up to this"),
    INT("auth.lock_after", 1, 1000000, "20", "auth: failed logins in a row that lock an account"),
    INT("auth.lock_ms", 0, 31LL * 86400000, "900000", "auth: ... for this long"),
    INT("auth.call_timeout_ms", 1, MS_MAX, "1000",
        "auth: each of two tries of a call to the customer service"),
    INT("tui.timeout_ms", 1, MS_MAX, "1000", "TUI: the one try of a request"),
    INT("tui.order_timeout_ms", 1, MS_MAX, "4000",
        "TUI: each of two tries of placing or cancelling"),
    INT("tui.probe_ms", 1, MS_MAX, "1000",
        "TUI: an unanswered health probe shows a service offline"),
    INT("tui.wait_warn_s", 1, 604800, "300", "TUI board: a delivery waiting this long is yellow"),
    INT("tui.wait_late_s", 1, 604800, "900",
        "TUI board: a delivery waiting this long is red, with a '!'"),
    {NULL, CONFIG_STR, 0, 0, NULL, NULL, NULL},
};

struct config {
    char home[4096];
    int nvalues;
    char *keys[MAX_VALUES];     /* concrete names ("order.threads"), each once */
    char *values[MAX_VALUES];   /* checked against the table, never empty */
};

int config_service_known(const char *name)
{
    for (int i = 0; config_services[i]; i++)
        if (strcmp(config_services[i], name) == 0)
            return 1;
    return 0;
}

/* ---- the table ---- */

static int is_pattern(const config_key_t *k)
{
    return strncmp(k->name, PATTERN, strlen(PATTERN)) == 0;
}

/* Does key name the pattern k for a known service? */
static int pattern_matches(const config_key_t *k, const char *key)
{
    const char *dot = strchr(key, '.');
    if (!dot || strcmp(dot, k->name + strlen(PATTERN) - 1) != 0)
        return 0;
    char service[64];
    int n = snprintf(service, sizeof service, "%.*s", (int)(dot - key), key);
    return n > 0 && (size_t)n < sizeof service && config_service_known(service);
}

const config_key_t *config_key_find(const char *key)
{
    for (const config_key_t *k = config_keys; k->name; k++)
        if (!is_pattern(k) && strcmp(k->name, key) == 0)
            return k;
    for (const config_key_t *k = config_keys; k->name; k++)
        if (is_pattern(k) && pattern_matches(k, key))
            return k;
    return NULL;
}

int config_env_name(const char *key, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "COUNTER_%s", key);
    if (n < 0 || (size_t)n >= outlen)
        return -1;
    for (char *p = out; *p; p++)
        *p = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
    return 0;
}

static int parse_int(const char *v, long long *out)
{
    const char *p = v + (*v == '-');
    if (!*p)
        return -1;
    for (; *p; p++)
        if (!isdigit((unsigned char)*p))
            return -1;
    errno = 0;
    *out = strtoll(v, NULL, 10);
    return errno ? -1 : 0;
}

/* 1 or 0 for a boolean word, -1 for anything else. */
static int parse_bool(const char *v)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return 1;
        if (strcasecmp(v, no[i]) == 0)
            return 0;
    }
    return -1;
}

static int enum_has(const char *values, const char *v)
{
    size_t n = strlen(v);
    for (const char *p = values;; p++) {
        if (strncmp(p, v, n) == 0 && (p[n] == '|' || p[n] == '\0'))
            return 1;
        if (!(p = strchr(p, '|')))
            return 0;
    }
}

/* "A, B or C" from "A|B|C". */
static void enum_words(const char *values, char *out, size_t outlen)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = values; *p && used < outlen;) {
        size_t n = strcspn(p, "|");
        const char *sep = used == 0 ? "" : strchr(p, '|') ? ", " : " or ";
        int w = snprintf(out + used, outlen - used, "%s%.*s", sep, (int)n, p);
        used += w > 0 ? (size_t)w : 0;
        p += n + (p[n] == '|');
    }
}

/* 0 when value (not empty) is allowed for k; otherwise -1 and the reason
 * ("'client.timeout_ms' must be ...") in why. */
static int check_value(const config_key_t *k, const char *key, const char *value, char *why,
                       size_t len)
{
    long long n;
    char words[256];
    switch (k->type) {
    case CONFIG_INT:
        if (parse_int(value, &n) == 0 && n >= k->min && n <= k->max)
            return 0;
        snprintf(why, len, "'%s' must be an integer from %lld to %lld, not '%s'", key, k->min,
                 k->max, value);
        return -1;
    case CONFIG_ENUM:
        if (enum_has(k->values, value))
            return 0;
        enum_words(k->values, words, sizeof words);
        snprintf(why, len, "'%s' must be %s, not '%s'", key, words, value);
        return -1;
    case CONFIG_BOOL:
        if (parse_bool(value) >= 0)
            return 0;
        snprintf(why, len, "'%s' must be 1 or 0 (true or false, yes or no, on or off), not '%s'",
                 key, value);
        return -1;
    case CONFIG_STR:
        if (is_pattern(k) && strncmp(value, "ipc://@", 7) == 0) {
            snprintf(why, len, "'%s' may not be an abstract-namespace socket ('%s'): any local "
                     "user could bind or read it; name a path", key, value);
            return -1;
        }
        break;
    }
    return 0;
}

/* ---- values ---- */

static int find_value(const config_t *c, const char *key)
{
    for (int i = 0; i < c->nvalues; i++)
        if (strcmp(c->keys[i], key) == 0)
            return i;
    return -1;
}

/* Set key (checked) to value; an empty value brings back the default. */
static int set_value(config_t *c, const char *key, const char *value)
{
    int i = find_value(c, key);
    if (i >= 0) {
        free(c->values[i]);
        if (*value) {
            c->values[i] = xstrdup(value);
            return 0;
        }
        free(c->keys[i]);
        c->nvalues--;
        c->keys[i] = c->keys[c->nvalues];
        c->values[i] = c->values[c->nvalues];
        return 0;
    }
    if (!*value)
        return 0;
    if (c->nvalues >= MAX_VALUES)
        return -1;
    c->keys[c->nvalues] = xstrdup(key);
    c->values[c->nvalues++] = xstrdup(value);
    return 0;
}

static const char *lookup(const config_t *c, const char *key)
{
    int i = find_value(c, key);
    return i >= 0 ? c->values[i] : NULL;
}

/* ---- loading ---- */

static int mkdir_p(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return -1;
    for (char *p = buf + 1; *p; p++) {
        if (*p == '/') {
            *p = '\0';
            if (mkdir(buf, 0700) != 0 && errno != EEXIST)
                return -1;
            *p = '/';
        }
    }
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return -1;
    return 0;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* One line of counter.conf (comment already cut): 0, or -1 with the reason
 * (without the file:line) in why. */
static int load_line(config_t *c, char *s, char *why, size_t len)
{
    char *eq = strchr(s, '=');
    if (!eq) {
        snprintf(why, len, "expected key = value");
        return -1;
    }
    *eq = '\0';
    const char *key = trim(s), *value = trim(eq + 1);
    const config_key_t *k = config_key_find(key);
    if (!k) {
        snprintf(why, len, "unknown key '%s' (see counter config)", key);
        return -1;
    }
    if (*value && check_value(k, key, value, why, len) != 0)
        return -1;
    if (set_value(c, key, value) != 0) {
        snprintf(why, len, "too many keys");
        return -1;
    }
    return 0;
}

static int load_file(config_t *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
    char *line = NULL, why[512];
    size_t cap = 0;
    int lineno = 0, rc = 0;
    while (rc == 0 && getline(&line, &cap, f) >= 0) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s && load_line(c, s, why, sizeof why) != 0) {
            snprintf(err, errlen, "%s:%d: %s", path, lineno, why);
            rc = -1;
        }
    }
    if (rc == 0 && ferror(f)) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        rc = -1;
    }
    free(line);
    fclose(f);
    return rc;
}

/* COUNTER_<KEY> of key (defined by k), when set and not empty, wins over the file. */
static int load_env_key(config_t *c, const config_key_t *k, const char *key, char *err,
                        size_t errlen)
{
    char name[128], why[512];
    if (config_env_name(key, name, sizeof name) != 0)
        return 0;
    const char *v = getenv(name);
    if (!v || !*v)
        return 0;
    if (check_value(k, key, v, why, sizeof why) != 0) {
        snprintf(err, errlen, "%s: %s", name, why);
        return -1;
    }
    if (set_value(c, key, v) != 0) {
        snprintf(err, errlen, "%s: too many keys", name);
        return -1;
    }
    return 0;
}

static int load_env(config_t *c, char *err, size_t errlen)
{
    for (const config_key_t *k = config_keys; k->name; k++) {
        if (!is_pattern(k)) {
            if (load_env_key(c, k, k->name, err, errlen) != 0)
                return -1;
            continue;
        }
        for (int s = 0; config_services[s]; s++) {
            char key[128];
            snprintf(key, sizeof key, "%s%s", config_services[s], k->name + strlen(PATTERN) - 1);
            /* order.threads has an entry of its own: read it there. */
            if (config_key_find(key) == k && load_env_key(c, k, key, err, errlen) != 0)
                return -1;
        }
    }
    return 0;
}

/* c->home from home, $COUNTER_HOME or ~/.counter. */
static int set_home(config_t *c, const char *home, char *err, size_t errlen)
{
    if (!home || !*home)
        home = getenv("COUNTER_HOME");
    int n;
    if (home && *home) {
        n = snprintf(c->home, sizeof c->home, "%s", home);
    } else {
        const char *h = getenv("HOME");
        if (!h || !*h) {
            snprintf(err, errlen, "neither COUNTER_HOME nor HOME is set");
            return -1;
        }
        n = snprintf(c->home, sizeof c->home, "%s/.counter", h);
    }
    if (n < 0 || (size_t)n >= sizeof c->home) {
        snprintf(err, errlen, "COUNTER_HOME is too long");
        return -1;
    }
    return 0;
}

static int make_dirs(const config_t *c, char *err, size_t errlen)
{
    const char *sub[] = {"", "/run", "/data", "/log"};
    for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s%s", c->home, sub[i]);
        if (mkdir_p(p) != 0) {
            snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int check_endpoints(const config_t *c, char *err, size_t errlen);

config_t *config_load(const char *home, int create, char *err, size_t errlen)
{
    config_t *c = xcalloc(1, sizeof *c);
    if (set_home(c, home, err, errlen) != 0 || (create && make_dirs(c, err, errlen) != 0)) {
        free(c);
        return NULL;
    }
    /* Keep home absolute so that paths and socket names do not depend on the cwd. */
    char real[4096];
    if (realpath(c->home, real))
        snprintf(c->home, sizeof c->home, "%s", real);
    char path[4200];
    snprintf(path, sizeof path, "%s/counter.conf", c->home);
    if (load_file(c, path, err, errlen) != 0 || load_env(c, err, errlen) != 0 ||
        check_endpoints(c, err, errlen) != 0) {
        config_destroy(&c);
        return NULL;
    }
    return c;
}

void config_destroy(config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_t *c = *self_p;
    for (int i = 0; i < c->nvalues; i++) {
        free(c->keys[i]);
        free(c->values[i]);
    }
    free(c);
    *self_p = NULL;
}

const char *config_home(const config_t *c)
{
    return c->home;
}

/* ---- typed getters ---- */

/* The value of key, which must be in the table with type t (or t2). */
static const char *get(const config_t *c, const char *key, config_type_t t, config_type_t t2)
{
    const config_key_t *k = config_key_find(key);
    if (!k || (k->type != t && k->type != t2)) {
        fprintf(stderr, "config: '%s' is %s (proto/config.c)\n", key,
                k ? "read with a getter of another type" : "not in the table");
        return NULL;
    }
    const char *v = lookup(c, key);
    return v ? v : k->def;
}

long long config_int(const config_t *c, const char *key)
{
    const char *v = get(c, key, CONFIG_INT, CONFIG_INT);
    long long n = 0;
    return v && parse_int(v, &n) == 0 ? n : 0;
}

const char *config_str(const config_t *c, const char *key)
{
    const char *v = get(c, key, CONFIG_STR, CONFIG_ENUM);
    return v ? v : "";
}

int config_bool(const config_t *c, const char *key)
{
    const char *v = get(c, key, CONFIG_BOOL, CONFIG_BOOL);
    return v && parse_bool(v) == 1;
}

static json_t *describe_key(const config_key_t *k)
{
    static const char *const types[] = {"int", "string", "enum", "bool"};
    char allowed[256] = "";
    json_t *def;
    long long n = 0;
    switch (k->type) {
    case CONFIG_INT:
        snprintf(allowed, sizeof allowed, "%lld..%lld", k->min, k->max);
        def = json_integer(parse_int(k->def, &n) == 0 ? n : 0);
        break;
    case CONFIG_BOOL:
        snprintf(allowed, sizeof allowed, "yes|no");
        def = json_boolean(parse_bool(k->def) == 1);
        break;
    case CONFIG_ENUM:
        snprintf(allowed, sizeof allowed, "%s", k->values);
        def = json_string(k->def);
        break;
    default:
        def = json_string(k->def);
        break;
    }
    return proto_nonnull(json_pack("{s:s, s:s, s:o, s:s, s:s}", "key", k->name, "type",
                                   types[k->type], "default", proto_nonnull(def), "allowed",
                                   allowed, "help", k->help));
}

json_t *config_describe(void)
{
    json_t *items = proto_nonnull(json_array());
    for (const config_key_t *k = config_keys; k->name; k++)
        if (json_array_append_new(items, describe_key(k)) != 0)
            proto_oom();
    return proto_nonnull(json_pack("{s:o}", "items", items));
}

/* ---- paths and endpoints ---- */

int config_path(const config_t *c, const char *dir, const char *file, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s/%s", c->home, dir, file);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

/* The longest path a unix socket takes: sun_path holds it and its NUL. */
#define IPC_PATH_MAX (sizeof(((struct sockaddr_un *)0)->sun_path) - 1)

/* The default endpoint (ipc://HOME/run/SERVICE.KIND); -1 with the sentence in
 * why (when why is not NULL) if its path is too long for a unix socket. Never
 * an abstract-namespace socket: any local user could bind or read those. */
static int default_endpoint(const config_t *c, const char *service, const char *kind, char *out,
                            size_t outlen, char *why, size_t whylen)
{
    int n = snprintf(out, outlen, "ipc://%s/run/%s.%s", c->home, service, kind);
    if (n < 0 || (size_t)n >= outlen)
        return -1;
    size_t len = (size_t)n - strlen("ipc://");
    if (len <= IPC_PATH_MAX)
        return 0;
    if (why)
        snprintf(why, whylen,
                 "the socket path %s is %zu bytes long; a unix socket path holds at most %zu: "
                 "use a shorter COUNTER_HOME (or set %s.%s and the other endpoints in "
                 "counter.conf)",
                 out + strlen("ipc://"), len, (size_t)IPC_PATH_MAX, service, kind);
    return -1;
}

int config_endpoint(const config_t *c, const char *service, const char *kind, char *out,
                    size_t outlen)
{
    char key[64];
    snprintf(key, sizeof key, "%s.%s", service, kind);
    /* Not config_str: tests name services of their own, which have no entry. */
    const char *v = lookup(c, key);
    if (!v)
        return default_endpoint(c, service, kind, out, outlen, NULL, 0);
    int n = snprintf(out, outlen, "%s", v);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

/* Every service's default endpoints fit a unix socket path. */
static int check_endpoints(const config_t *c, char *err, size_t errlen)
{
    static const char *const kinds[] = {"req", "pub", "sync"};
    for (int s = 0; config_services[s]; s++)
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            char key[64], ep[4300];
            snprintf(key, sizeof key, "%s.%s", config_services[s], kinds[k]);
            if (!lookup(c, key) && default_endpoint(c, config_services[s], kinds[k], ep,
                                                    sizeof ep, err, errlen) != 0)
                return -1;
        }
    return 0;
}

int config_check_faults(const config_t *c, char *err, size_t errlen)
{
    if (config_bool(c, "faults.enabled"))
        return 0;
    const char *key = config_int(c, "payment.latency_ms") > 0   ? "payment.latency_ms"
                      : config_int(c, "payment.fail_ratio") > 0 ? "payment.fail_ratio"
                      : config_bool(c, "payment.decline")       ? "payment.decline"
                      : *config_str(c, "fault")                 ? "fault"
                                                                : NULL;
    if (!key)
        return 0;
    snprintf(err, errlen,
             "%s = %s injects a fault, and fault injection is for tests: set faults.enabled = "
             "true as well (or COUNTER_FAULTS_ENABLED=1)",
             key, lookup(c, key));
    return -1;
}
