/*
 * cli.c - the command words of `counter`, mapped onto protocol commands.
 */
#include "cli.h"
#include "client.h"
#include "follow.h"
#include "history.h"
#include "output.h"
#include "zio.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Command words -> protocol commands. `takes_id`: the next word is the id. */
static const struct route {
    const char *group;
    const char *verb;       /* NULL: the group alone */
    const char *command;
    int takes_id;
    int timeout_ms;         /* per attempt, when longer than the default */
} routes[] = {
    {"customers", "add", "customer.add", 0},
    {"customers", "update", "customer.update", 1},
    {"customers", "withdraw", "customer.withdraw", 1},
    {"customers", "list", "customer.list", 0},
    {"customers", "show", "customer.show", 1},
    {"foods", "add", "catalog.add", 0},
    {"foods", "update", "catalog.update", 1},
    {"foods", "delete", "catalog.delete", 1},
    {"foods", "list", "catalog.list", 0},
    {"foods", "show", "catalog.show", 1},
    {"catalog", NULL, "view.catalog", 0},
    /* A placement makes several calls of its own: give it time. A retry
     * carries the same request id, so it never places twice. */
    {"orders", "place", "order.place", 0, 5000},
    {"orders", "list", "order.list", 0},
    {"orders", "show", "order.show", 1},
    {"orders", "cancel", "order.cancel", 1, 5000},
    {"pays", "list", "payment.list", 0},
    {"pays", "faults", "payment.admin", 0},
    {"deliveries", "list", "delivery.list", 0},
    {"deliveries", "confirm", "delivery.confirm", 1},
    {"deliveries", "ship", "delivery.ship", 1},
    {"deliveries", "complete", "delivery.complete", 1},
    {"deliveries", "cancel-confirm", "delivery.cancel_confirm", 1},
    {"deliveries", "cancel-reject", "delivery.cancel_reject", 1},
    {"deliveries", "auto", "delivery.auto", 0},
    {"myorders", NULL, "view.myorders", 0},
};

void cli_usage(FILE *out)
{
    fputs("usage: counter [--json] COMMAND [ARGS] [key=value ...]\n"
          "       counter [--role customer|manager|delivery]     the TUI\n"
          "\n"
          "  setup [login=NAME]                   a new shop: keys and the first manager\n"
          "  login LOGIN [--print-token]          log in (the session is kept in $COUNTER_HOME)\n"
          "  logout                               whoami\n"
          "  signup name=N login=L [phone=P] [address=A] [age=N]   a customer signs up\n"
          "  accounts add login=L role=R [customer=N] | list | lock L | unlock L | passwd [L]\n"
          "                                       (passwords are asked, or --password-file F)\n"
          "  customers add name=N [phone=P] [address=A] [age=N]\n"
          "  customers update ID key=value...     customers withdraw ID\n"
          "  customers list                       customers show ID\n"
          "  foods add name=N price=N stock=N\n"
          "  foods update ID key=value...         foods delete ID\n"
          "  foods list                           foods show ID\n"
          "  catalog [search=TEXT]                the catalog view (read model)\n"
          "  orders place customer=N food=N qty=N place and pay an order\n"
          "  orders list [customer=N] [status=S]  orders show ID    orders cancel ID\n"
          "  pays list [customer=N]\n"
          "  pays faults [latency_ms=N] [fail_ratio=PCT] [decline=true|false]\n"
          "  deliveries list [status=S] [order=N]\n"
          "  deliveries confirm|ship|complete|cancel-confirm|cancel-reject ID\n"
          "  deliveries auto enabled=true|false [delay_ms=N]\n"
          "  myorders [customer=N]                my orders (read model)\n"
          "  audit [--wait SECONDS]               check the shop's consistency\n"
          "  events [--follow] [--from-beginning] every event as one JSON line\n"
          "  status                               health of every worker\n"
          "  config                               the settings of counter.conf\n"
          "  backend start|stop|restart [SERVICE]\n"
          "  backend logs [SERVICE] [--follow] [--lines N]   the workers' logs\n"
          "  backend stall SERVICE [SECONDS]      a fault: stall a worker (faults.enabled)\n"
          "  keys list | keys export DIR [SERVICE...] the public keys (and SERVICE's pair)\n"
          "  keys make                            make the keys that are missing, start nothing\n"
          "  batch FILE|- [--keep-going]          one command per line\n"
          "\n"
          "Exit status: 0 ok, 1 the backend answered an error, 2 usage error,\n"
          "3 backend unreachable. See counter(1).\n",
          out);
}

void *cli_ctx(cli_t *cli)
{
    if (!cli->ctx) {
        cli->ctx = zmq_ctx_new();
        if (!cli->ctx) {
            fprintf(stderr, "counter: zmq_ctx_new: %s\n", zmq_strerror(errno));
            exit(EXIT_UNREACHABLE);
        }
    }
    return cli->ctx;
}

void cli_close(cli_t *cli)
{
    if (cli->ctx && zmq_ctx_term(cli->ctx) != 0)
        fprintf(stderr, "counter: zmq_ctx_term: %s\n", zmq_strerror(errno));
    cli->ctx = NULL;
    keys_destroy(&cli->keys);
}

static void say_unreachable(const char *service)
{
    fprintf(stderr, "counter: the %s service is unreachable (is the backend running? "
                    "try: counter backend start)\n", service);
}

/* Call cmd on its service. Returns an exit status; on success *out is the
 * result (owned by the caller). Errors are printed. */
int cli_call_as(cli_t *cli, const char *service, const char *cmd, const json_t *body,
                json_t **out, int quiet, const char *credential)
{
    char ep[512];
    *out = NULL;
    if (config_endpoint(cli->cfg, service, "req", ep, sizeof ep) != 0) {
        fprintf(stderr, "counter: bad endpoint for %s\n", service);
        return EXIT_USAGE;
    }
    /* Without keys (a shop never started) no worker can answer either. */
    zio_curve_t cv;
    if (cli_curve(cli, service, &cv) != 0) {
        if (!quiet)
            say_unreachable(service);
        return EXIT_UNREACHABLE;
    }
    client_t *c = client_new(cli_ctx(cli), ep, &cv);
    zio_curve_clear(&cv);
    if (!c) {
        fprintf(stderr, "counter: cannot connect to %s: %s\n", ep, zmq_strerror(zmq_errno()));
        return EXIT_UNREACHABLE;
    }
    client_set_timeout(c, cli->timeout_ms, 2);
    client_set_caller(c, credential);
    proto_rep_t rep;
    proto_err_t err;
    int rc = client_call(c, cmd, body, NULL, &rep, &err);
    client_destroy(&c);
    if (rc != 0) {
        if (!quiet)
            say_unreachable(service);
        return err.status == ERR_UNAVAILABLE ? EXIT_UNREACHABLE : EXIT_BACKEND;
    }
    if (rep.status != ERR_OK) {
        proto_err_from_rep(&rep, &err);
        if (!quiet)
            fprintf(stderr, "counter: %s: %s\n", proto_status_name(err.status), err.message);
        proto_rep_clear(&rep);
        return EXIT_BACKEND;
    }
    *out = json_incref(rep.body);
    proto_rep_clear(&rep);
    return EXIT_OKAY;
}

int cli_call(cli_t *cli, const char *service, const char *cmd, const json_t *body, json_t **out,
             int quiet)
{
    return cli_call_as(cli, service, cmd, body, out, quiet, cli->credential);
}

static int run_route(cli_t *cli, const struct route *r, int argc, char **argv)
{
    const proto_cmd_t *cmd = proto_cmd_find(r->command);
    json_t *body = json_object();
    proto_err_t err;
    int i = 0;
    if (!cmd || !body)
        proto_oom();
    if (r->takes_id) {
        char kv[80];
        if (argc < 1 || strchr(argv[0], '=')) {
            fprintf(stderr, "counter: %s %s needs an id\n", r->group, r->verb);
            json_decref(body);
            return EXIT_USAGE;
        }
        snprintf(kv, sizeof kv, "id=%s", argv[0]);
        if (proto_set_kv(cmd, body, kv, &err) != 0) {
            fprintf(stderr, "counter: %s\n", err.message);
            json_decref(body);
            return EXIT_USAGE;
        }
        i = 1;
    }
    for (; i < argc; i++) {
        if (proto_set_kv(cmd, body, argv[i], &err) != 0) {
            fprintf(stderr, "counter: %s\n", err.message);
            json_decref(body);
            return EXIT_USAGE;
        }
    }
    /* The same validation the service applies, so a typo costs no round trip. */
    json_t *valid = proto_validate(cmd, body, &err);
    json_decref(body);
    if (!valid) {
        fprintf(stderr, "counter: %s\n", err.message);
        return EXIT_USAGE;
    }
    json_t *result;
    int saved = cli->timeout_ms;
    if (r->timeout_ms > cli->timeout_ms)
        cli->timeout_ms = r->timeout_ms;
    int rc = cli_call(cli, cmd->service, cmd->name, valid, &result, 0);
    cli->timeout_ms = saved;
    json_decref(valid);
    if (rc == EXIT_OKAY) {
        output_result(stdout, result, cli->json);
        json_decref(result);
    }
    fflush(stdout);
    return rc;
}

/* ---- status ---- */

/* The supervisor's view of one service (w: its entry in
 * backend_supervision, or NULL) added to its status row: "supervisor" (the
 * whole entry), "state" and "restarts"; for a worker that is down also
 * "down_since", "last_exit" and "log" (the log path even without a
 * supervisor). */
static void status_supervision(cli_t *cli, json_t *row, const json_t *w, int down)
{
    const char *svc = jstr(row, "service");
    if (w) {
        if (json_object_set_new(row, "supervisor", json_deep_copy(w)) != 0 ||
            json_object_set_new(row, "state", json_string(jstr(w, "state"))) != 0 ||
            json_object_set_new(row, "restarts", json_integer(jint(w, "restarts"))) != 0)
            proto_oom();
    }
    if (!down)
        return;
    char name[64], path[4200];
    snprintf(name, sizeof name, "%s.log", svc);
    if (config_path(cli->cfg, "log", name, path, sizeof path) == 0 &&
        json_object_set_new(row, "log", json_string(path)) != 0)
        proto_oom();
    if (w && json_object_get(w, "down_since") &&
        json_object_set_new(row, "down_since", json_string(jstr(w, "down_since"))) != 0)
        proto_oom();
    if (w && json_object_get(w, "last_exit") &&
        json_object_set_new(row, "last_exit", json_string(jstr(w, "last_exit"))) != 0)
        proto_oom();
}

/* Below the table: one line per worker that is down, with what the
 * supervisor knows of it. */
static void status_down_lines(const json_t *rows)
{
    size_t i;
    const json_t *r;
    json_array_foreach(rows, i, r) {
        if (json_is_true(json_object_get(r, "alive")))
            continue;
        printf("%s: down", jstr(r, "service"));
        if (json_object_get(r, "state"))
            printf(" (%s)", jstr(r, "state"));
        if (json_object_get(r, "down_since"))
            printf(" since %s", jstr(r, "down_since"));
        if (json_object_get(r, "last_exit"))
            printf(", last exit: %s", jstr(r, "last_exit"));
        if (json_object_get(r, "restarts"))
            printf(", %lld restarts", jint(r, "restarts"));
        printf("; log: %s\n", jstr(r, "log"));
    }
}

static int cmd_status(cli_t *cli)
{
    json_t *rows = json_array();
    json_t *sup = backend_supervision(cli);
    int down = 0;
    for (int i = 0; config_services[i]; i++) {
        json_t *h;
        int saved = cli->timeout_ms;
        cli->timeout_ms = 500;
        int rc = cli_call(cli, config_services[i], "health", NULL, &h, 1);
        cli->timeout_ms = saved;
        json_t *row;
        if (rc == EXIT_OKAY) {
            long long lag = 0;
            size_t k;
            json_t *s;
            json_array_foreach(json_object_get(h, "subscriptions"), k, s)
                lag += json_integer_value(json_object_get(s, "lag"));
            row = json_deep_copy(h);
            json_object_set_new(row, "lag", json_integer(lag));
            /* The order worker's circuit breaker (DESIGN section 6). */
            const char *breaker = json_string_value(json_object_get(json_object_get(h, "breaker"), "state"));
            if (breaker && !cli->json)   /* the table shows the state; JSON keeps it all */
                json_object_set_new(row, "breaker", json_string(breaker));
            json_decref(h);
        } else {
            down++;
            row = json_pack("{s:s, s:b, s:b}", "service", config_services[i], "alive", 0,
                            "ready", 0);
        }
        status_supervision(cli, proto_nonnull(row), json_object_get(sup, config_services[i]),
                           rc != EXIT_OKAY);
        json_array_append_new(rows, row);
    }
    json_decref(sup);
    if (cli->json) {
        size_t i;
        json_t *v;
        json_array_foreach(rows, i, v)
            output_json_line(stdout, v);
    } else {
        static const char *cols[] = {"service", "alive", "ready", "pid", "version", "uptime_ms",
                                     "requests", "queue_depth", "last_seq", "lag", "breaker",
                                     "state", "restarts", NULL};
        output_table(stdout, rows, cols);
        status_down_lines(rows);
    }
    fflush(stdout);
    json_decref(rows);
    return down ? EXIT_UNREACHABLE : EXIT_OKAY;
}

/* ---- events ---- */

static volatile sig_atomic_t events_stop;
static void on_stop(int sig)
{
    (void)sig;
    events_stop = 1;
}

static int print_run(void *arg, const char *publisher, const json_t *events)
{
    (void)arg;
    (void)publisher;
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
        output_json_line(stdout, ev);
    fflush(stdout);
    return ferror(stdout) ? -1 : 0;
}

/* events.since for the history loader, as the CLI's caller, quietly. */
static int history_call(void *arg, const char *publisher, json_t *body, json_t **res)
{
    int r = cli_call(arg, publisher, "events.since", body, res, 1);
    json_decref(body);
    return r == EXIT_OKAY ? 0 : -1;
}

/* Every past event of every publisher, merged by time (each publisher's in
 * sequence order). Sets positions[i] to the last sequence read. */
static int history(cli_t *cli, long long *positions, int print)
{
    history_src_t src[16];
    int n = 0;
    for (; config_services[n] && n < 16; n++)
        src[n] = (history_src_t){config_services[n], 0, LLONG_MAX, 0, 0};
    json_t *all = history_load(src, n, 5000, print, history_call, cli);
    int rc = EXIT_OKAY;
    for (int i = 0; i < n; i++) {
        positions[i] = src[i].last;
        if (src[i].failed) {
            fprintf(stderr, "counter: events of %s are missing: it is unreachable\n", src[i].publisher);
            rc = EXIT_UNREACHABLE;
        }
    }
    size_t k;
    json_t *ev;
    json_array_foreach(all, k, ev)
        output_json_line(stdout, ev);
    fflush(stdout);
    json_decref(all);
    return rc;
}

static int cmd_events(cli_t *cli, int argc, char **argv)
{
    int follow = 0, from_beginning = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--follow") == 0 || strcmp(argv[i], "-f") == 0)
            follow = 1;
        else if (strcmp(argv[i], "--from-beginning") == 0)
            from_beginning = 1;
        else {
            fprintf(stderr, "usage: counter events [--follow] [--from-beginning]\n");
            return EXIT_USAGE;
        }
    }
    long long positions[16] = {0};
    int rc = history(cli, positions, !follow || from_beginning);
    if (!follow)
        return rc;
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    const keys_t *keys = cli_keys(cli);
    follow_t *f = keys ? follow_new(cli_ctx(cli), cli->cfg, keys, cli->credential, print_run, NULL)
                       : NULL;
    if (!f)
        return EXIT_UNREACHABLE;
    for (int i = 0; config_services[i]; i++)
        if (follow_add(f, config_services[i], positions[i]) != 0) {
            follow_destroy(&f);
            return EXIT_UNREACHABLE;
        }
    while (!events_stop && !ferror(stdout)) {
        zmq_pollitem_t item = {follow_socket(f), 0, ZMQ_POLLIN, 0};
        int n = zmq_poll(&item, 1, 200);
        if (n < 0 && errno != EINTR)
            break;
        if (n > 0)
            (void)follow_on_readable(f);
        follow_tick(f, 0);
    }
    follow_destroy(&f);
    return EXIT_OKAY;
}

/* ---- batch ---- */

/* Split a line into words: blanks separate, '...' and "..." quote, \ escapes.
 * Returns the word count, -1 on an unterminated quote. Words point into buf. */
static int split(const char *line, char *buf, size_t cap, char **words, int max)
{
    int n = 0;
    size_t o = 0;
    const char *p = line;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (*p == '\0' || *p == '#')
            return n;
        if (n == max || o >= cap)
            return -1;
        words[n++] = buf + o;
        char quote = 0;
        while (*p && (quote || !(*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))) {
            if (o + 2 >= cap)
                return -1;
            if (quote) {
                if (*p == quote)
                    quote = 0;
                else if (*p == '\\' && quote == '"' && p[1])
                    buf[o++] = *++p;
                else
                    buf[o++] = *p;
            } else if (*p == '\'' || *p == '"') {
                quote = *p;
            } else if (*p == '\\' && p[1]) {
                buf[o++] = *++p;
            } else {
                buf[o++] = *p;
            }
            p++;
        }
        if (quote)
            return -1;
        buf[o++] = '\0';
    }
}

static int cmd_batch(cli_t *cli, int argc, char **argv)
{
    const char *file = NULL;
    int keep_going = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--keep-going") == 0 || strcmp(argv[i], "-k") == 0)
            keep_going = 1;
        else if (!file)
            file = argv[i];
        else
            file = NULL, i = argc;
    }
    if (!file || cli->in_batch) {
        fprintf(stderr, cli->in_batch ? "counter: batch cannot nest\n"
                                       : "usage: counter batch FILE|- [--keep-going]\n");
        return EXIT_USAGE;
    }
    FILE *in = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
    if (!in) {
        fprintf(stderr, "counter: %s: %s\n", file, strerror(errno));
        return EXIT_USAGE;
    }
    cli->in_batch = 1;
    char *line = NULL;
    size_t cap = 0;
    int lineno = 0, status = EXIT_OKAY;
    while (getline(&line, &cap, in) >= 0) {
        lineno++;
        size_t len = strlen(line);
        char *buf = malloc(len + 2);
        char *words[64];
        if (!buf)
            proto_oom();
        int n = split(line, buf, len + 2, words, 64);
        int rc;
        if (n < 0) {
            fprintf(stderr, "counter: %s:%d: unterminated quote or too many words\n", file, lineno);
            rc = EXIT_USAGE;
        } else if (n == 0) {
            free(buf);
            continue;
        } else {
            int skip = strcmp(words[0], "counter") == 0;
            rc = n - skip > 0 ? cli_run(cli, n - skip, words + skip) : EXIT_OKAY;
            if (rc != EXIT_OKAY)
                fprintf(stderr, "counter: %s:%d: failed (exit %d)\n", file, lineno, rc);
        }
        free(buf);
        if (rc != EXIT_OKAY) {
            status = rc;
            if (!keep_going)
                break;
        }
    }
    free(line);
    if (in != stdin)
        fclose(in);
    cli->in_batch = 0;
    return status;
}

int cli_config(cli_t *cli, int argc)
{
    if (argc != 1) {
        cli_usage(stderr);
        return EXIT_USAGE;
    }
    json_t *table = config_describe();
    output_result(stdout, table, cli->json);
    json_decref(table);
    return EXIT_OKAY;
}

/* ---- dispatch ---- */

int cli_run(cli_t *cli, int argc, char **argv)
{
    if (argc < 1) {
        cli_usage(stderr);
        return EXIT_USAGE;
    }
    const char *w = argv[0];
    if (strcmp(w, "help") == 0 || strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0) {
        cli_usage(stdout);
        return EXIT_OKAY;
    }
    if (strcmp(w, "status") == 0)
        return argc == 1 ? cmd_status(cli) : (cli_usage(stderr), EXIT_USAGE);
    if (strcmp(w, "events") == 0)
        return cmd_events(cli, argc, argv);
    if (strcmp(w, "keys") == 0)
        return cmd_keys(cli, argc, argv);
    if (strcmp(w, "backend") == 0 && argc >= 2 && strcmp(argv[1], "logs") == 0)
        return cmd_logs(cli, argc - 1, argv + 1);
    if (strcmp(w, "backend") == 0)
        return backend_ctl(cli, argc, argv);
    if (strcmp(w, "batch") == 0)
        return cmd_batch(cli, argc, argv);
    if (strcmp(w, "audit") == 0)
        return cmd_audit(cli, argc, argv);
    if (strcmp(w, "config") == 0)
        return cli_config(cli, argc);
    if (strcmp(w, "setup") == 0 || strcmp(w, "login") == 0 || strcmp(w, "logout") == 0 ||
        strcmp(w, "signup") == 0 || strcmp(w, "whoami") == 0 || strcmp(w, "accounts") == 0)
        return cmd_account(cli, argc, argv);
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        const struct route *r = &routes[i];
        if (strcmp(r->group, w) != 0)
            continue;
        if (!r->verb)
            return run_route(cli, r, argc - 1, argv + 1);
        if (argc >= 2 && strcmp(r->verb, argv[1]) == 0)
            return run_route(cli, r, argc - 2, argv + 2);
    }
    fprintf(stderr, "counter: unknown command '%s%s%s' (see counter help)\n", w,
            argc >= 2 ? " " : "", argc >= 2 ? argv[1] : "");
    return EXIT_USAGE;
}
