/*
 * cli.h - `counter COMMAND ...`: the command line and its batch mode.
 *
 * Exit statuses (DESIGN section 7): 0 ok, 1 the backend answered an error,
 * 2 usage error, 3 backend unreachable.
 */
#ifndef CLI_H
#define CLI_H

#include "config.h"
#include "keys.h"

#include <jansson.h>

#include <stdio.h>

enum { EXIT_OKAY = 0, EXIT_BACKEND = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

typedef struct {
    config_t *cfg;
    void *ctx;            /* created on first use (after any backend start) */
    keys_t *keys;         /* loaded on first use (cli_keys), with an ephemeral pair */
    int json;             /* JSON lines instead of tables */
    int in_batch;
    int timeout_ms;       /* per attempt */
    char credential[600]; /* the credential frame: "token:..." or "-" (session.h) */
} cli_t;

/* Run one command (argv[0] is the command word). Returns an exit status. */
int cli_run(cli_t *cli, int argc, char **argv);
void cli_usage(FILE *out);
void cli_close(cli_t *cli);
void *cli_ctx(cli_t *cli);

/* Call cmd on service as the CLI's caller. Returns an exit status; on success
 * *out is the result (caller owns it). Errors are printed unless quiet. */
int cli_call(cli_t *cli, const char *service, const char *cmd, const json_t *body, json_t **out,
             int quiet);
/* The same with another credential frame ("-": none). */
int cli_call_as(cli_t *cli, const char *service, const char *cmd, const json_t *body,
                json_t **out, int quiet, const char *credential);

/* accounts.c: setup, login, logout, signup, whoami, accounts ... (argv[0] is
 * the word). */
int cmd_account(cli_t *cli, int argc, char **argv);

/* `counter config`: every setting, its default, bounds and help, from the
 * table in proto/config.c. Needs no config (so it helps mend a bad one). */
int cli_config(cli_t *cli, int argc);

/* audit.c: `counter audit [--wait SECONDS]`. */
int cmd_audit(cli_t *cli, int argc, char **argv);

/* keys_cmd.c: `counter keys export|list`; the shop's keys loaded on first
 * use (NULL, said on stderr, when they are missing) and the CURVE settings
 * for a call to service (0, or -1 said on stderr). */
int cmd_keys(cli_t *cli, int argc, char **argv);
const keys_t *cli_keys(cli_t *cli);
int cli_curve(cli_t *cli, const char *service, zio_curve_t *out);

/* logs_cmd.c: `counter backend logs [SERVICE] [--follow] [--lines N]` (argv[0]
 * is "logs"). */
int cmd_logs(cli_t *cli, int argc, char **argv);

/* backend_ctl.c: `counter backend start|stop|restart [SERVICE], stall SERVICE [S]`. */
int backend_ctl(cli_t *cli, int argc, char **argv);
/* The supervisor's view of every service ({"SERVICE": {"state", "pid",
 * "restarts", "last_exit", "down_since", "log", ...}}: caller owns it), or
 * NULL when no supervisor runs. */
json_t *backend_supervision(cli_t *cli);
/* Is the service's worker running? Sets *pid when it is. */
int backend_running(const config_t *cfg, const char *service, int *pid);

#endif
