/*
 * counterd.c - one backend worker: `counterd SERVICE`; `counterd --list`
 * prints the services, one per line, in start order; `counterd supervise`
 * is the local supervisor (supervisor.c).
 *
 * Holds an exclusive lock on $COUNTER_HOME/run/SERVICE.lock for its whole life
 * (a second copy refuses to start; a killed one releases it at once) and writes
 * its pid into that lock file for `counter backend stop`.
 *
 * The list of services is config_services[] (proto/config.c), the one place
 * it is defined; `defs` below only maps a name to its definition, and every
 * start checks that the two name the same services.
 */
#include "config.h"
#include "keys.h"
#include "log.h"
#include "service.h"
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

/* Each service's definition, looked up by name (order does not matter). */
static const svc_def_t *const defs[] = {&svc_auth,     &svc_customer, &svc_catalog, &svc_payment,
                                        &svc_delivery, &svc_order,    &svc_view};
#define NDEFS (sizeof defs / sizeof defs[0])

static const svc_def_t *def_named(const char *name)
{
    for (size_t i = 0; i < NDEFS; i++)
        if (strcmp(defs[i]->name, name) == 0)
            return defs[i];
    return NULL;
}

/* 0 when config_services and defs name the same services; else says which
 * differs on stderr and returns -1 (a build whose lists drifted). */
static int defs_match_config(void)
{
    size_t n = 0;
    int rc = 0;
    for (; config_services[n]; n++)
        if (!def_named(config_services[n])) {
            fprintf(stderr, "counterd: service %s (config_services) has no definition\n",
                    config_services[n]);
            rc = -1;
        }
    for (size_t i = 0; i < NDEFS; i++)
        if (!config_service_known(defs[i]->name)) {
            fprintf(stderr, "counterd: service %s is defined but not in config_services\n",
                    defs[i]->name);
            rc = -1;
        }
    if (rc == 0 && n != NDEFS) {
        fprintf(stderr, "counterd: config_services names %zu services, %zu are defined\n", n,
                NDEFS);
        rc = -1;
    }
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: counterd SERVICE | supervise | --list\nSERVICE is one of:");
    for (int i = 0; config_services[i]; i++)
        fprintf(stderr, "%s %s", i ? "," : "", config_services[i]);
    fprintf(stderr, "\n");
    return 2;
}

/* `counterd --list`: the services in start order, one per line. */
static int list_services(void)
{
    for (int i = 0; config_services[i]; i++)
        if (printf("%s\n", config_services[i]) < 0)
            return 1;
    return fflush(stdout) == 0 ? 0 : 1;
}

/* The shop's public keys and this service's pair; NULL (said on stderr, the
 * log) when they are missing: no endpoint, tcp:// least of all, is plain. */
static keys_t *load_keys(const config_t *cfg, const char *name)
{
    char err[512];
    keys_t *keys = keys_load(config_home(cfg), err, sizeof err);
    if (keys && keys_load_own(keys, name, err, sizeof err) != 0)
        keys_destroy(&keys);
    if (!keys)
        log_error("%s", err);   /* stderr: the log file, or the terminal */
    return keys;
}

/* The level and rotation of the log (log.h): stderr is rotated only when it
 * is $COUNTER_HOME/log/SERVICE.log, as `counter backend start` opens it. */
static void open_log(const config_t *cfg, const char *service)
{
    char name[64], path[4200];
    snprintf(name, sizeof name, "%s.log", service);
    int have = config_path(cfg, "log", name, path, sizeof path) == 0;
    (void)log_open(log_level_parse(config_str(cfg, "log.level")), have ? path : NULL,
                   config_int(cfg, "log.max_bytes"), (int)config_int(cfg, "log.keep"));
}

/* The start line: version, and where the worker listens. */
static void log_start(const config_t *cfg, const char *service)
{
    char req[512] = "?", pub[512] = "?", sync[512] = "?";
    /* config_load refused a home whose endpoints do not fit. */
    (void)(config_endpoint(cfg, service, "req", req, sizeof req) != 0 ||
           config_endpoint(cfg, service, "pub", pub, sizeof pub) != 0 ||
           config_endpoint(cfg, service, "sync", sync, sizeof sync) != 0);
    log_info("start: version %s, req %s, pub %s, sync %s, log level %s", COUNTER_VERSION, req,
             pub, sync, config_str(cfg, "log.level"));
}

int main(int argc, char **argv)
{
    if (defs_match_config() != 0)
        return 1;
    if (argc != 2)
        return usage();
    if (strcmp(argv[1], "--list") == 0)
        return list_services();
    if (strcmp(argv[1], "supervise") == 0)
        return supervisor_run();
    const svc_def_t *def = config_service_known(argv[1]) ? def_named(argv[1]) : NULL;
    if (!def)
        return usage();
    log_init(def->name);
    if (sodium_init() < 0) {
        log_error("sodium_init failed");
        return 1;
    }
    char err[512], path[4200];
    config_t *cfg = config_load(NULL, 1, err, sizeof err);
    if (!cfg || config_check_faults(cfg, err, sizeof err) != 0) {
        log_error("%s", err);
        config_destroy(&cfg);
        return 1;
    }
    open_log(cfg, def->name);
    char name[64];
    snprintf(name, sizeof name, "%s.lock", def->name);
    if (config_path(cfg, "run", name, path, sizeof path) != 0) {
        config_destroy(&cfg);
        return 1;
    }
    int lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    /* A previous copy killed a moment ago may still be on its way out (its
     * lock goes with its last file descriptor): give it a few seconds. */
    int locked = -1;
    for (int tries = 0; lock >= 0 && tries < 60; tries++) {
        if ((locked = flock(lock, LOCK_EX | LOCK_NB)) == 0 || errno != EWOULDBLOCK)
            break;
        struct timespec ts = {0, 50 * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (lock < 0 || locked != 0) {
        log_error("%s is already running (%s)", def->name,
                  lock < 0 ? strerror(errno) : "lock held");
        config_destroy(&cfg);
        return 1;
    }
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    if (ftruncate(lock, 0) != 0 || write(lock, pid, (size_t)n) != n)
        log_warn("cannot write pid to %s", path);
    int status = 1;
    log_start(cfg, def->name);
    keys_t *keys = load_keys(cfg, def->name);
    if (keys)
        status = service_run(def, cfg, keys);
    keys_destroy(&keys);
    log_info("stopped (exit status %d)", status);
    if (ftruncate(lock, 0) != 0)
        log_warn("cannot clear %s", path);
    close(lock);
    config_destroy(&cfg);
    return status;
}
