/*
 * counter.c - the front end's entry point: global options, then a command
 * (cli.c) or, with no command, the TUI.
 */
#include "cli.h"
#include "proto.h"
#include "session.h"
#include "tui.h"

#include <locale.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    setlocale(LC_ALL, "");
    if (sodium_init() < 0) {
        fprintf(stderr, "counter: sodium_init failed\n");
        return EXIT_UNREACHABLE;
    }
    cli_t cli = {0};
    cli.json = !isatty(STDOUT_FILENO);
    const char *role = NULL;
    int i = 1;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            cli.json = 1;
        } else if (strcmp(argv[i], "--table") == 0) {
            cli.json = 0;
        } else if (strcmp(argv[i], "--as") == 0 || strncmp(argv[i], "--as=", 5) == 0) {
            fprintf(stderr, "counter: --as is gone: who you are comes from your session "
                            "(counter login LOGIN, or COUNTER_TOKEN)\n");
            return EXIT_USAGE;
        } else if (strcmp(argv[i], "--role") == 0 && i + 1 < argc) {
            role = argv[++i];
        } else if (strcmp(argv[i], "--help") == 0) {
            cli_usage(stdout);
            return EXIT_OKAY;
        } else {
            break;
        }
    }
    if (i < argc && !role && strcmp(argv[i], "config") == 0)
        return cli_config(&cli, argc - i);
    char err[512];
    cli.cfg = config_load(NULL, 1, err, sizeof err);
    if (!cli.cfg) {
        fprintf(stderr, "counter: %s\n", err);
        return EXIT_USAGE;
    }
    cli.timeout_ms = (int)config_int(cli.cfg, "client.timeout_ms");
    session_credential(cli.cfg, cli.credential, sizeof cli.credential);
    if (role && i < argc) {
        fprintf(stderr, "counter: --role opens the TUI; it takes no command\n");
        config_destroy(&cli.cfg);
        return EXIT_USAGE;
    }
    /* No command, or --role: the TUI. */
    int rc = (i >= argc || role) ? tui_main(&cli, role) : cli_run(&cli, argc - i, argv + i);
    cli_close(&cli);
    config_destroy(&cli.cfg);
    return rc;
}
