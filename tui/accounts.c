/*
 * accounts.c - `counter setup|login|logout|signup|whoami|accounts ...`: the
 * terminal's side of the auth service (DESIGN 7 and 9). Passwords are read
 * by session.c, sent once over the (encrypted) link and wiped; a token is
 * kept in the session file, or printed only when --print-token asks for it.
 */
#include "cli.h"
#include "keys.h"
#include "output.h"
#include "session.h"
#include "token.h"

#include <sodium.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct {
    const char *password_file;
    int print_token;
    int nwords;
    char **words;          /* what is left: positional words and key=value */
} opts_t;

static int parse_opts(int argc, char **argv, opts_t *o, const char *usage)
{
    memset(o, 0, sizeof *o);
    o->words = argv;
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "--password-file") == 0 && i + 1 < argc) {
            o->password_file = argv[++i];
        } else if (strncmp(argv[i], "--password-file=", 16) == 0) {
            o->password_file = argv[i] + 16;
        } else if (strcmp(argv[i], "--print-token") == 0) {
            o->print_token = 1;
        } else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "counter: unknown option %s\nusage: %s\n", argv[i], usage);
            return -1;
        } else if (strncmp(argv[i], "password=", 9) == 0 || strncmp(argv[i], "old=", 4) == 0) {
            fprintf(stderr, "counter: a password is never given on the command line (it would "
                            "show in ps and in your shell's history): counter asks for it, or "
                            "reads --password-file FILE or one line of stdin\n");
            return -1;
        } else {
            o->words[o->nwords++] = argv[i];
        }
    }
    return 0;
}

/* The key=value words into a body for cmd, plus password members read in
 * order (names: "password", "old"). NULL on a usage error (printed). */
static json_t *body_for(const char *command, const opts_t *o, int first, const char *const *pw,
                        const char *const *prompts)
{
    const proto_cmd_t *cmd = proto_cmd_find(command);
    json_t *body = proto_nonnull(json_object());
    proto_err_t err;
    for (int i = first; i < o->nwords; i++) {
        if (proto_set_kv(cmd, body, o->words[i], &err) != 0) {
            fprintf(stderr, "counter: %s\n", err.message);
            json_decref(body);
            return NULL;
        }
    }
    for (int i = 0; pw && pw[i]; i++) {
        char secret[PROTO_MAX_STR + 2], again[PROTO_MAX_STR + 2];
        if (session_password(o->password_file, prompts[i], secret, sizeof secret) != 0) {
            json_decref(body);
            return NULL;
        }
        /* A new password typed on a terminal is typed twice. */
        int typed = !o->password_file && isatty(STDIN_FILENO);
        if (typed && strcmp(pw[i], "password") == 0 && strcmp(command, "auth.login") != 0) {
            int same = session_password(NULL, "Again: ", again, sizeof again) == 0 &&
                       strcmp(secret, again) == 0;
            sodium_memzero(again, sizeof again);
            if (!same) {
                sodium_memzero(secret, sizeof secret);
                fprintf(stderr, "counter: the two passwords differ; nothing was changed\n");
                json_decref(body);
                return NULL;
            }
        }
        json_t *s = json_string(secret);
        sodium_memzero(secret, sizeof secret);
        if (!s) {
            fprintf(stderr, "counter: the password is not valid UTF-8\n");
            json_decref(body);
            return NULL;
        }
        if (json_object_set_new(body, pw[i], s) != 0)
            proto_oom();
    }
    return body;
}

/* Wipe the password members of body before it is freed. */
static void wipe(json_t *body)
{
    const char *keys[] = {"password", "old", NULL};
    for (int i = 0; keys[i]; i++) {
        json_t *s = json_object_get(body, keys[i]);
        if (json_is_string(s))
            sodium_memzero((void *)json_string_value(s), json_string_length(s));
    }
    json_decref(body);
}

static void print_session(cli_t *cli, const json_t *res)
{
    token_claims_t c;
    if (token_peek(jstr(res, "token"), &c) != 0)
        memset(&c, 0, sizeof c);
    json_t *row = json_pack("{s:s, s:s, s:s, s:I}", "login", jstr(res, "login"), "role",
                            jstr(res, "role"), "subject", jstr(res, "subject"), "expires",
                            (json_int_t)c.expires);
    if (!row)
        proto_oom();
    if (cli->json) {
        output_json_line(stdout, row);
    } else {
        char when[40] = "?";
        time_t t = (time_t)c.expires;
        struct tm tm;
        if (gmtime_r(&t, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", &tm);
        printf("logged in as %s (%s%s%s) until %s\n", jstr(res, "login"), jstr(res, "role"),
               strcmp(jstr(res, "role"), "customer") == 0 ? " " : "",
               strcmp(jstr(res, "role"), "customer") == 0 ? jstr(res, "subject") : "", when);
    }
    json_decref(row);
    fflush(stdout);
}

/* A reply carrying a new session: keep it (or print the token). */
static int took_session(cli_t *cli, const opts_t *o, json_t *res)
{
    const char *token = jstr(res, "token");
    int rc = EXIT_OKAY;
    if (!token[0]) {
        fprintf(stderr, "counter: the auth service answered without a token\n");
        rc = EXIT_BACKEND;
    } else if (o->print_token) {
        printf("%s\n", token);
        fflush(stdout);
    } else if (session_save(cli->cfg, token) != 0) {
        rc = EXIT_BACKEND;
    } else {
        print_session(cli, res);
    }
    json_decref(res);
    return rc;
}

static int call_auth(cli_t *cli, const char *command, json_t *body, json_t **res,
                     const char *cred)
{
    int rc = cli_call_as(cli, "auth", command, body, res, 0, cred);
    wipe(body);
    return rc;
}

static int cmd_login(cli_t *cli, int argc, char **argv)
{
    static const char usage[] = "counter login LOGIN [--print-token] [--password-file FILE]";
    opts_t o;
    if (parse_opts(argc, argv, &o, usage) != 0 || o.nwords != 1 || strchr(o.words[0], '=')) {
        fprintf(stderr, "usage: %s\n", usage);
        return EXIT_USAGE;
    }
    const char *pw[] = {"password", NULL}, *prompts[] = {"Password: ", NULL};
    json_t *body = body_for("auth.login", &o, 1, pw, prompts), *res;
    if (!body)
        return EXIT_USAGE;
    if (json_object_set_new(body, "login", json_string(o.words[0])) != 0) {
        wipe(body);
        fprintf(stderr, "counter: the login is not valid UTF-8\n");
        return EXIT_USAGE;
    }
    int rc = call_auth(cli, "auth.login", body, &res, "-");
    return rc == EXIT_OKAY ? took_session(cli, &o, res) : rc;
}

static int cmd_logout(cli_t *cli, int argc)
{
    if (argc != 1) {
        fprintf(stderr, "usage: counter logout\n");
        return EXIT_USAGE;
    }
    json_t *res = NULL;
    int rc = strcmp(cli->credential, "-") == 0
                 ? EXIT_OKAY
                 : cli_call_as(cli, "auth", "auth.logout", NULL, &res, 1, cli->credential);
    json_decref(res);
    /* The session file is another session when COUNTER_TOKEN was used. */
    const char *env = getenv("COUNTER_TOKEN");
    if (!env || !*env)
        session_forget(cli->cfg);
    if (rc == EXIT_UNREACHABLE) {
        fprintf(stderr, "counter: the session file is gone, but the auth service could not be "
                        "told: the session ends when it expires\n");
        return rc;
    }
    if (!cli->json)
        printf("logged out\n");
    return EXIT_OKAY;
}

static int cmd_signup(cli_t *cli, int argc, char **argv)
{
    static const char usage[] = "counter signup name=N login=L [phone=P] [address=A] [age=N] "
                                "[--print-token] [--password-file FILE]";
    opts_t o;
    if (parse_opts(argc - 1, argv + 1, &o, usage) != 0)
        return EXIT_USAGE;
    const char *pw[] = {"password", NULL}, *prompts[] = {"Choose a password: ", NULL};
    json_t *body = body_for("auth.signup", &o, 0, pw, prompts), *res;
    if (!body)
        return EXIT_USAGE;
    proto_err_t err;
    json_t *valid = proto_validate(proto_cmd_find("auth.signup"), body, &err);
    if (!valid) {
        wipe(body);
        fprintf(stderr, "counter: %s\nusage: %s\n", err.message, usage);
        return EXIT_USAGE;
    }
    wipe(body);
    int rc = call_auth(cli, "auth.signup", valid, &res, "-");
    return rc == EXIT_OKAY ? took_session(cli, &o, res) : rc;
}

/* The auth service runs, but not as a worker of this host's backend: on
 * another host (counter.conf names its tcp endpoint) or under systemd. Its
 * health answered at its endpoint says so; setup then starts nothing here.
 * Only asked when the shop has keys (without them nobody can answer). */
static int auth_elsewhere(cli_t *cli)
{
    char dir[4200];
    struct stat st;
    if (config_path(cli->cfg, "keys", "auth.pub", dir, sizeof dir) != 0 ||
        stat(dir, &st) != 0)
        return 0;
    json_t *h;
    int saved = cli->timeout_ms;
    cli->timeout_ms = 300;
    int rc = cli_call(cli, "auth", "health", NULL, &h, 1);
    cli->timeout_ms = saved;
    if (rc != EXIT_OKAY)
        return 0;
    json_decref(h);
    return 1;
}

static int cmd_setup(cli_t *cli, int argc, char **argv)
{
    static const char usage[] = "counter setup [login=NAME] [--password-file FILE]";
    opts_t o;
    if (parse_opts(argc - 1, argv + 1, &o, usage) != 0)
        return EXIT_USAGE;
    int pid;
    if (!backend_running(cli->cfg, "auth", &pid) && !auth_elsewhere(cli)) {
        char *start[] = {"backend", "start", NULL};
        int rc = backend_ctl(cli, 2, start);
        if (rc != EXIT_OKAY)
            return rc;
    }
    /* auth.setup is the system's: this terminal proves it is the shop's
     * operator with the operator's key pair (keys/counter.key), which only
     * the shop's own Unix user can read. */
    char err[512];
    if (!cli_keys(cli) || keys_load_own(cli->keys, KEYS_OPERATOR, err, sizeof err) != 0) {
        fprintf(stderr, "counter: setup needs the operator's key: %s\n", cli->keys ? err : "");
        return EXIT_USAGE;
    }
    const char *pw[] = {"password", NULL}, *prompts[] = {"The first manager's password: ", NULL};
    json_t *body = body_for("auth.setup", &o, 0, pw, prompts), *res;
    if (!body)
        return EXIT_USAGE;
    if (!json_object_get(body, "login") && json_object_set_new(body, "login", json_string("admin")))
        proto_oom();
    const char *login = jstr(body, "login");
    char who[80];
    snprintf(who, sizeof who, "%s", login);
    int rc = call_auth(cli, "auth.setup", body, &res, "system:" KEYS_OPERATOR);
    if (rc != EXIT_OKAY)
        return rc;
    rc = took_session(cli, &o, res);
    if (rc == EXIT_OKAY && !cli->json)
        printf("The shop is set up. Staff accounts: counter accounts add login=NAME "
               "role=manager|delivery (as %s).\n", who);
    return rc;
}

static int cmd_whoami(cli_t *cli)
{
    token_claims_t c;
    if (strncmp(cli->credential, "token:", 6) != 0 || token_peek(cli->credential + 6, &c) != 0) {
        fprintf(stderr, "counter: not logged in (counter login LOGIN)\n");
        return EXIT_BACKEND;
    }
    json_t *row = json_pack("{s:s, s:s, s:I, s:s}", "role", proto_role_name(c.role), "subject",
                            c.subject, "expires", (json_int_t)c.expires, "session", c.sid);
    if (!row)
        proto_oom();
    output_result(stdout, row, cli->json);
    json_decref(row);
    return c.expires * 1000 > proto_now_ms() ? EXIT_OKAY : EXIT_BACKEND;
}

/* accounts add|list|lock|unlock|passwd */
static int cmd_accounts(cli_t *cli, int argc, char **argv)
{
    static const char usage[] =
        "counter accounts add login=L role=manager|delivery|customer [customer=N] | list | "
        "lock LOGIN | unlock LOGIN | passwd [LOGIN]   [--password-file FILE]";
    opts_t o;
    if (argc < 2 || parse_opts(argc - 2, argv + 2, &o, usage) != 0) {
        fprintf(stderr, "usage: %s\n", usage);
        return EXIT_USAGE;
    }
    const char *verb = argv[1], *command = NULL;
    const char *pw[3] = {NULL}, *prompts[3] = {NULL};
    int takes_login = 0;
    if (strcmp(verb, "add") == 0) {
        command = "auth.add", pw[0] = "password", prompts[0] = "The new account's password: ";
    } else if (strcmp(verb, "list") == 0 && o.nwords == 0) {
        command = "auth.list";
    } else if ((strcmp(verb, "lock") == 0 || strcmp(verb, "unlock") == 0) && o.nwords == 1) {
        command = verb[0] == 'l' ? "auth.lock" : "auth.unlock", takes_login = 1;
    } else if (strcmp(verb, "passwd") == 0 && o.nwords <= 1) {
        token_claims_t c;
        int own = o.nwords == 0 || (strncmp(cli->credential, "token:", 6) == 0 &&
                                    token_peek(cli->credential + 6, &c) == 0 &&
                                    strcmp(c.subject, o.words[0]) == 0);
        command = "auth.passwd", takes_login = o.nwords == 1;
        int k = 0;
        if (own)
            pw[k] = "old", prompts[k++] = "Current password: ";
        pw[k] = "password", prompts[k] = "New password: ";
    }
    if (!command) {
        fprintf(stderr, "usage: %s\n", usage);
        return EXIT_USAGE;
    }
    json_t *body = body_for(command, &o, takes_login, pw, prompts), *res;
    if (!body)
        return EXIT_USAGE;
    if (takes_login && json_object_set_new(body, "login", json_string(o.words[0])) != 0)
        proto_oom();
    int rc = call_auth(cli, command, body, &res, cli->credential);
    if (rc == EXIT_OKAY) {
        output_result(stdout, res, cli->json);
        json_decref(res);
        if (strcmp(command, "auth.passwd") == 0 && !takes_login && !cli->json)
            printf("password changed: every session of yours has ended; log in again\n");
    }
    return rc;
}

int cmd_account(cli_t *cli, int argc, char **argv)
{
    const char *w = argv[0];
    if (strcmp(w, "login") == 0)
        return cmd_login(cli, argc - 1, argv + 1);
    if (strcmp(w, "logout") == 0)
        return cmd_logout(cli, argc);
    if (strcmp(w, "signup") == 0)
        return cmd_signup(cli, argc, argv);
    if (strcmp(w, "setup") == 0)
        return cmd_setup(cli, argc, argv);
    if (strcmp(w, "whoami") == 0)
        return argc == 1 ? cmd_whoami(cli) : EXIT_USAGE;
    return cmd_accounts(cli, argc, argv);
}
