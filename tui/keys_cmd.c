/*
 * keys_cmd.c - `counter keys make|list|export` and the CLI's keys: the shop's
 * public keys (loaded on first use) with an ephemeral CURVE pair for this
 * terminal, so that every call is a CURVE client of its service.
 */
#include "cli.h"
#include "keys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const keys_t *cli_keys(cli_t *cli)
{
    static int said;   /* once per process, not once per service called */
    if (!cli->keys) {
        char err[512];
        cli->keys = keys_load(config_home(cli->cfg), err, sizeof err);
        if (!cli->keys && !said++)
            fprintf(stderr, "counter: %s\n", err);
    }
    return cli->keys;
}

int cli_curve(cli_t *cli, const char *service, zio_curve_t *out)
{
    const keys_t *k = cli_keys(cli);
    if (!k)
        return -1;
    if (keys_client(k, service, out) != 0) {
        fprintf(stderr, "counter: no public key of %s in %s\n", service, keys_dir(k));
        return -1;
    }
    return 0;
}

static int print_key(cli_t *cli, const char *name, const char *kind, const char *pub)
{
    if (!cli->json)
        return printf("%-10s %-8s %s\n", name, kind, pub) < 0 ? -1 : 0;
    json_t *o = json_pack("{s:s, s:s, s:s}", "name", name, "type", kind, "public", pub);
    char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    if (!text)
        proto_oom();
    int rc = printf("%s\n", text) < 0 ? -1 : 0;
    free(text);
    return rc;
}

/* `counter keys list`: every public key, never a secret. */
static int keys_list(cli_t *cli, const keys_t *k)
{
    int rc = 0;
    for (const char *const *name = keys_names(); *name; name++)
        rc |= print_key(cli, *name, "curve", keys_public(k, *name));
    unsigned char pk[32];
    char hex[65];
    if (keys_token_public(k, pk) != 0)
        return EXIT_BACKEND;
    sodium_bin2hex(hex, sizeof hex, pk, sizeof pk);
    rc |= print_key(cli, "token", "ed25519", hex);
    return rc == 0 && fflush(stdout) == 0 ? EXIT_OKAY : EXIT_BACKEND;
}

int cmd_keys(cli_t *cli, int argc, char **argv)
{
    int list = argc == 2 && strcmp(argv[1], "list") == 0;
    int make = argc == 2 && strcmp(argv[1], "make") == 0;
    int export = argc >= 3 && strcmp(argv[1], "export") == 0;
    if (!list && !make && !export) {
        fprintf(stderr, "usage: counter keys make | counter keys list | "
                        "counter keys export DIR [SERVICE...]\n");
        return EXIT_USAGE;
    }
    char err[512];
    /* A shop whose workers run on other hosts gets its keys here, without
     * starting anything (existing keys are kept, as backend start does). */
    if (make && keys_ensure(config_home(cli->cfg), err, sizeof err) != 0) {
        fprintf(stderr, "counter: %s\n", err);
        return EXIT_BACKEND;
    }
    const keys_t *k = cli_keys(cli);
    if (!k)
        return EXIT_BACKEND;
    if (list || make)
        return keys_list(cli, k);
    if (keys_export(k, argv[2], (const char *const *)argv + 3, (size_t)(argc - 3), err,
                    sizeof err) != 0) {
        fprintf(stderr, "counter: %s\n", err);
        return EXIT_BACKEND;
    }
    return EXIT_OKAY;
}
