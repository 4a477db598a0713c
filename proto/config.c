/*
 * config.c - $COUNTER_HOME, counter.conf and endpoints.
 */
#include "config.h"
#include "proto.h"

#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_KEYS 128

const char *const config_services[] = {"customer", "catalog", "payment", "delivery", "order",
                                       "view",     NULL};

struct config {
    char home[4096];
    int nkeys;
    char *keys[MAX_KEYS];
    char *values[MAX_KEYS];
};

int config_service_known(const char *name)
{
    for (int i = 0; config_services[i]; i++)
        if (strcmp(config_services[i], name) == 0)
            return 1;
    return 0;
}

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

static int load_file(config_t *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? 0 : (snprintf(err, errlen, "%s: %s", path, strerror(errno)), -1);
    char line[1024];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = '\0';
        char *s = trim(line);
        if (*s == '\0')
            continue;
        char *eq = strchr(s, '=');
        if (!eq || c->nkeys >= MAX_KEYS) {
            snprintf(err, errlen, "%s:%d: expected key = value", path, lineno);
            fclose(f);
            return -1;
        }
        *eq = '\0';
        c->keys[c->nkeys] = strdup(trim(s));
        c->values[c->nkeys] = strdup(trim(eq + 1));
        if (!c->keys[c->nkeys] || !c->values[c->nkeys])
            proto_oom();
        c->nkeys++;
    }
    fclose(f);
    return 0;
}

config_t *config_load(const char *home, int create, char *err, size_t errlen)
{
    config_t *c = calloc(1, sizeof *c);
    if (!c)
        proto_oom();
    if (!home || !*home)
        home = getenv("COUNTER_HOME");
    if (home && *home) {
        if (snprintf(c->home, sizeof c->home, "%s", home) >= (int)sizeof c->home)
            goto toolong;
    } else {
        const char *h = getenv("HOME");
        if (!h || !*h) {
            snprintf(err, errlen, "neither COUNTER_HOME nor HOME is set");
            free(c);
            return NULL;
        }
        if (snprintf(c->home, sizeof c->home, "%s/.counter", h) >= (int)sizeof c->home)
            goto toolong;
    }
    if (create) {
        const char *sub[] = {"", "/run", "/data", "/log"};
        for (size_t i = 0; i < sizeof sub / sizeof sub[0]; i++) {
            char p[4200];
            snprintf(p, sizeof p, "%s%s", c->home, sub[i]);
            if (mkdir_p(p) != 0) {
                snprintf(err, errlen, "cannot create %s: %s", p, strerror(errno));
                free(c);
                return NULL;
            }
        }
    }
    /* Keep home absolute so that paths and socket names do not depend on the cwd. */
    char real[4096];
    if (realpath(c->home, real))
        snprintf(c->home, sizeof c->home, "%s", real);
    char path[4200];
    snprintf(path, sizeof path, "%s/counter.conf", c->home);
    if (load_file(c, path, err, errlen) != 0) {
        config_destroy(&c);
        return NULL;
    }
    return c;
toolong:
    snprintf(err, errlen, "COUNTER_HOME is too long");
    free(c);
    return NULL;
}

void config_destroy(config_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    config_t *c = *self_p;
    for (int i = 0; i < c->nkeys; i++) {
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

const char *config_get(const config_t *c, const char *key, const char *def)
{
    /* Later lines win, as in most config files. */
    for (int i = c->nkeys - 1; i >= 0; i--)
        if (strcmp(c->keys[i], key) == 0)
            return c->values[i];
    const char *env = NULL;
    char envname[128];
    /* COUNTER_<KEY> with dots as underscores overrides nothing in the file but
     * lets tests and benchmarks set a key without writing one. */
    if (snprintf(envname, sizeof envname, "COUNTER_%s", key) < (int)sizeof envname) {
        for (char *p = envname; *p; p++)
            *p = (*p == '.' || *p == '-') ? '_' : (char)toupper((unsigned char)*p);
        env = getenv(envname);
    }
    return env ? env : def;
}

long config_get_long(const config_t *c, const char *key, long def)
{
    const char *v = config_get(c, key, NULL);
    if (!v || !*v)
        return def;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    return (errno || *end) ? def : n;
}

int config_path(const config_t *c, const char *dir, const char *file, char *out, size_t outlen)
{
    int n = snprintf(out, outlen, "%s/%s/%s", c->home, dir, file);
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}

int config_endpoint(const config_t *c, const char *service, const char *kind, char *out,
                    size_t outlen)
{
    char key[64];
    snprintf(key, sizeof key, "%s.%s", service, kind);
    const char *v = config_get(c, key, NULL);
    int n;
    if (v && *v) {
        n = snprintf(out, outlen, "%s", v);
    } else {
        /* sun_path holds 108 bytes including the NUL. */
        n = snprintf(out, outlen, "ipc://%s/run/%s.%s", c->home, service, kind);
        if (n >= 0 && (size_t)n - strlen("ipc://") > 100) {
            unsigned char h[8];
            char hex[17];
            crypto_generichash(h, sizeof h, (const unsigned char *)c->home, strlen(c->home),
                               NULL, 0);
            sodium_bin2hex(hex, sizeof hex, h, sizeof h);
            n = snprintf(out, outlen, "ipc://@counter-%s-%s.%s", hex, service, kind);
        }
    }
    return (n < 0 || (size_t)n >= outlen) ? -1 : 0;
}
