/*
 * counterd.c - one backend worker: `counterd SERVICE`.
 *
 * Holds an exclusive lock on $COUNTER_HOME/run/SERVICE.lock for its whole life
 * (a second copy refuses to start; a killed one releases it at once) and writes
 * its pid into that lock file for `counter backend stop`.
 */
#include "log.h"
#include "service.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const svc_def_t *const services[] = {&svc_customer, &svc_catalog, &svc_payment,
                                            &svc_delivery, &svc_order,   &svc_view,
                                            NULL};

static int usage(void)
{
    fprintf(stderr, "usage: counterd SERVICE   (customer, catalog, payment, delivery, order, view)\n");
    return 2;
}

int main(int argc, char **argv)
{
    if (argc != 2)
        return usage();
    const svc_def_t *def = NULL;
    for (int i = 0; services[i]; i++)
        if (strcmp(services[i]->name, argv[1]) == 0)
            def = services[i];
    if (!def)
        return usage();
    log_init(def->name);
    if (sodium_init() < 0) {
        log_error("sodium_init failed");
        return 1;
    }
    char err[512], path[4200];
    config_t *cfg = config_load(NULL, 1, err, sizeof err);
    if (!cfg) {
        log_error("%s", err);
        return 1;
    }
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
    int status = service_run(def, cfg);
    if (ftruncate(lock, 0) != 0)
        log_warn("cannot clear %s", path);
    close(lock);
    config_destroy(&cfg);
    return status;
}
