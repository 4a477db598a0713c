/*
 * test_config - unit tests of proto/config.c: the table of settings, reading
 * counter.conf (unknown keys, malformed and out-of-bounds values, named by file
 * and line), COUNTER_<KEY> overriding the file, defaults from the table, the
 * per-service keys, and that man/counter.1 (FILES) and the sources agree with
 * the table.
 *
 * Each case writes a counter.conf into a home of its own under $TEST_HOME (or
 * a temporary folder). Run from the repository root (tests/run.sh does), so
 * that man/ and the sources can be read.
 */
#include "config.h"
#include "unit.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char base[512];
static int nhome;

/* ---- helpers ------------------------------------------------------------ */

/* A fresh home whose counter.conf is text (none when text is NULL). */
static const char *home_with(const char *text)
{
    static char home[600];
    snprintf(home, sizeof home, "%s/home%d", base, ++nhome);
    mkdir(home, 0700);
    if (text) {
        char path[700];
        snprintf(path, sizeof path, "%s/counter.conf", home);
        FILE *f = fopen(path, "w");
        if (!f || fputs(text, f) < 0 || fclose(f) != 0)
            case_fail("cannot write %s", path);
    }
    return home;
}

/* Load a home whose counter.conf is text; err gets the error. */
static config_t *load(const char *text, char *err, size_t errlen)
{
    err[0] = '\0';
    return config_load(home_with(text), 1, err, errlen);
}

/* The file must be refused with an error that ends with want (after the
 * home's path: "counter.conf:3: unknown key ..."). */
static void refused(const char *text, const char *want)
{
    char err[1024];
    config_t *c = load(text, err, sizeof err);
    CHECK("config_load fails", c == NULL);
    const char *tail = strstr(err, "/counter.conf:");
    CHECK_STR("the error", tail ? tail + 1 : err, want);
    config_destroy(&c);
}

/* Every COUNTER_<KEY> of the table unset, so that the caller's environment
 * does not leak into the cases. */
static void clear_env(void)
{
    char name[128], key[128];
    for (const config_key_t *k = config_keys; k->name; k++) {
        if (strncmp(k->name, "SERVICE.", 8) != 0) {
            if (config_env_name(k->name, name, sizeof name) == 0)
                unsetenv(name);
            continue;
        }
        for (int s = 0; config_services[s]; s++) {
            snprintf(key, sizeof key, "%s%s", config_services[s], k->name + 7);
            if (config_env_name(key, name, sizeof name) == 0)
                unsetenv(name);
        }
    }
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 4096, len = 0;
    char *s = malloc(cap);
    size_t n;
    while (s && (n = fread(s + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (cap - len < 2) {
            char *t = realloc(s, cap *= 2);
            if (!t)
                free(s);
            s = t;
        }
    }
    fclose(f);
    if (s)
        s[len] = '\0';
    return s;
}

/* ---- counter.conf -------------------------------------------------------- */

static void test_defaults(void)
{
    char err[1024];
    case_begin("no counter.conf: every key has the table's default");
    config_t *c = load(NULL, err, sizeof err);
    if (!c) {
        case_fail("config_load: got \"%s\", expected a config", err);
        case_end();
        return;
    }
    CHECK_INT("client.timeout_ms", config_int(c, "client.timeout_ms"), 700);
    CHECK_INT("requests.keep_ms", config_int(c, "requests.keep_ms"), 86400000);
    CHECK_INT("backend.start_timeout_ms", config_int(c, "backend.start_timeout_ms"), 15000);
    CHECK_INT("breaker.open_ms", config_int(c, "breaker.open_ms"), 3000);
    CHECK_INT("tui.wait_late_s", config_int(c, "tui.wait_late_s"), 900);
    CHECK_STR("sqlite.synchronous", config_str(c, "sqlite.synchronous"), "NORMAL");
    CHECK_STR("fault", config_str(c, "fault"), "");
    CHECK_INT("delivery.auto", config_bool(c, "delivery.auto"), 0);
    CHECK_INT("order.threads (an entry of its own)", config_int(c, "order.threads"), 8);
    CHECK_INT("catalog.threads (SERVICE.threads)", config_int(c, "catalog.threads"), 0);
    /* The same for every int key, straight from the table. */
    for (const config_key_t *k = config_keys; k->name; k++)
        if (k->type == CONFIG_INT && strncmp(k->name, "SERVICE.", 8) != 0)
            CHECK_INT(k->name, config_int(c, k->name), atoll(k->def));
    case_end();
    config_destroy(&c);
}

static void test_values(void)
{
    char err[1024];
    case_begin("counter.conf: values, comments, spaces; a later line wins; empty is the default");
    config_t *c = load("# a comment\n"
                       "  client.timeout_ms=900   # trailing comment\n"
                       "\n"
                       "tui.probe_ms = 5\n"
                       "tui.probe_ms = 6\n"
                       "breaker.open_ms = 10\n"
                       "breaker.open_ms =\n"
                       "sqlite.synchronous = FULL\n"
                       "fault = order.after_pay\n"
                       "payment.decline = yes\n"
                       "delivery.auto = On\n",
                       err, sizeof err);
    if (!c) {
        case_fail("config_load: got \"%s\", expected a config", err);
    } else {
        CHECK_INT("client.timeout_ms", config_int(c, "client.timeout_ms"), 900);
        CHECK_INT("tui.probe_ms (the later line)", config_int(c, "tui.probe_ms"), 6);
        CHECK_INT("breaker.open_ms (emptied: the default)", config_int(c, "breaker.open_ms"), 3000);
        CHECK_STR("sqlite.synchronous", config_str(c, "sqlite.synchronous"), "FULL");
        CHECK_STR("fault", config_str(c, "fault"), "order.after_pay");
        CHECK_INT("payment.decline", config_bool(c, "payment.decline"), 1);
        CHECK_INT("delivery.auto", config_bool(c, "delivery.auto"), 1);
    }
    case_end();
    config_destroy(&c);
}

static void test_unknown_key(void)
{
    case_begin("unknown key: an error naming file and line");
    refused("client.timeout_ms = 700\n# fine\ncatalog.tread = 3\n",
            "counter.conf:3: unknown key 'catalog.tread' (see counter config)");
    case_end();
    case_begin("unknown key: a per-service key of a service that does not exist");
    refused("kitchen.threads = 2\n", "counter.conf:1: unknown key 'kitchen.threads' (see counter config)");
    case_end();
    case_begin("unknown key: the pattern itself is not a key");
    refused("SERVICE.threads = 2\n", "counter.conf:1: unknown key 'SERVICE.threads' (see counter config)");
    case_end();
    case_begin("a line without '=': an error naming file and line");
    refused("\n\nclient.timeout_ms 700\n", "counter.conf:3: expected key = value");
    case_end();
}

static void test_malformed_int(void)
{
    static const char *const bad[] = {"abc", "12x", "1.5", "0x10", "- 1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128], want[256];
        case_begin("malformed integer '%s': an error naming file, line and bounds", bad[i]);
        snprintf(text, sizeof text, "tui.timeout_ms = 5\nclient.timeout_ms = %s\n", bad[i]);
        snprintf(want, sizeof want,
                 "counter.conf:2: 'client.timeout_ms' must be an integer from 1 to 600000, not '%s'",
                 bad[i]);
        refused(text, want);
        case_end();
    }
}

static void test_bounds(void)
{
    char err[1024];
    case_begin("out of bounds: below the minimum");
    refused("client.timeout_ms = 0\n",
            "counter.conf:1: 'client.timeout_ms' must be an integer from 1 to 600000, not '0'");
    case_end();
    case_begin("out of bounds: above the maximum");
    refused("payment.fail_ratio = 101\n",
            "counter.conf:1: 'payment.fail_ratio' must be an integer from 0 to 100, not '101'");
    case_end();
    case_begin("out of bounds: negative");
    refused("catalog.threads = -1\n",
            "counter.conf:1: 'catalog.threads' must be an integer from 0 to 32, not '-1'");
    case_end();
    case_begin("bounds are inclusive: the minimum and the maximum load");
    config_t *c = load("payment.fail_ratio = 100\ncatalog.threads = 0\norder.threads = 32\n", err,
                       sizeof err);
    CHECK("config_load succeeds", c != NULL);
    if (c) {
        CHECK_INT("payment.fail_ratio", config_int(c, "payment.fail_ratio"), 100);
        CHECK_INT("order.threads", config_int(c, "order.threads"), 32);
    }
    case_end();
    config_destroy(&c);
}

static void test_enum_bool(void)
{
    case_begin("enum: a value not in the list names the allowed ones");
    refused("sqlite.synchronous = normal\n",
            "counter.conf:1: 'sqlite.synchronous' must be NORMAL or FULL, not 'normal'");
    case_end();
    case_begin("enum: the error names every allowed value");
    refused("fault = order.after\n",
            "counter.conf:1: 'fault' must be order.after_reserve or order.after_pay, not 'order.after'");
    case_end();
    case_begin("enum: a prefix of an allowed value is not allowed");
    refused("sqlite.synchronous = FUL\n",
            "counter.conf:1: 'sqlite.synchronous' must be NORMAL or FULL, not 'FUL'");
    case_end();
    case_begin("bool: anything but 1/0, true/false, yes/no, on/off");
    refused("delivery.auto = 2\n", "counter.conf:1: 'delivery.auto' must be 1 or 0 (true or false, "
                                   "yes or no, on or off), not '2'");
    case_end();
}

/* ---- the environment ----------------------------------------------------- */

static void test_env(void)
{
    char err[1024];
    case_begin("COUNTER_<KEY>: the variable's name");
    char name[128];
    CHECK_INT("config_env_name", config_env_name("sqlite.synchronous", name, sizeof name), 0);
    CHECK_STR("sqlite.synchronous", name, "COUNTER_SQLITE_SYNCHRONOUS");
    config_env_name("tui.wait-warn", name, sizeof name);
    CHECK_STR("'-' is '_' too", name, "COUNTER_TUI_WAIT_WARN");
    CHECK_INT("too small a buffer", config_env_name("client.timeout_ms", name, 10), -1);
    case_end();

    case_begin("COUNTER_<KEY> overrides counter.conf");
    setenv("COUNTER_CLIENT_TIMEOUT_MS", "1200", 1);
    setenv("COUNTER_SQLITE_SYNCHRONOUS", "FULL", 1);
    setenv("COUNTER_VIEW_THREADS", "4", 1);
    setenv("COUNTER_TUI_PROBE_MS", "", 1);
    config_t *c = load("client.timeout_ms = 900\nsqlite.synchronous = NORMAL\n"
                       "view.threads = 2\ntui.probe_ms = 7\n",
                       err, sizeof err);
    if (!c) {
        case_fail("config_load: got \"%s\", expected a config", err);
    } else {
        CHECK_INT("client.timeout_ms (env over file)", config_int(c, "client.timeout_ms"), 1200);
        CHECK_STR("sqlite.synchronous", config_str(c, "sqlite.synchronous"), "FULL");
        CHECK_INT("view.threads (a per-service key)", config_int(c, "view.threads"), 4);
        CHECK_INT("tui.probe_ms (empty variable: the file)", config_int(c, "tui.probe_ms"), 7);
    }
    config_destroy(&c);
    case_end();
    clear_env();

    case_begin("COUNTER_<KEY> applies without a counter.conf");
    setenv("COUNTER_ORDER_THREADS", "3", 1);
    c = load(NULL, err, sizeof err);
    CHECK_INT("order.threads", c ? config_int(c, "order.threads") : -1, 3);
    config_destroy(&c);
    clear_env();
    case_end();

    case_begin("a malformed COUNTER_<KEY> is an error naming the variable");
    setenv("COUNTER_CLIENT_TIMEOUT_MS", "soon", 1);
    c = load("client.timeout_ms = 900\n", err, sizeof err);
    CHECK("config_load fails", c == NULL);
    CHECK_STR("the error", err,
              "COUNTER_CLIENT_TIMEOUT_MS: 'client.timeout_ms' must be an integer from 1 to "
              "600000, not 'soon'");
    config_destroy(&c);
    clear_env();
    case_end();

    case_begin("an out-of-bounds per-service COUNTER_<KEY> is an error naming the variable");
    setenv("COUNTER_CATALOG_THREADS", "33", 1);
    c = load(NULL, err, sizeof err);
    CHECK("config_load fails", c == NULL);
    CHECK_STR("the error", err,
              "COUNTER_CATALOG_THREADS: 'catalog.threads' must be an integer from 0 to 32, not '33'");
    config_destroy(&c);
    clear_env();
    case_end();
}

/* ---- per-service keys ---------------------------------------------------- */

static void test_services(void)
{
    char err[1024], ep[512];
    case_begin("per-service keys: SERVICE. stands for each service");
    for (int s = 0; config_services[s]; s++) {
        static const char *const kinds[] = {"req", "pub", "sync", "threads"};
        for (size_t i = 0; i < 4; i++) {
            char key[64];
            snprintf(key, sizeof key, "%s.%s", config_services[s], kinds[i]);
            const config_key_t *k = config_key_find(key);
            CHECK(key, k != NULL);
            /* order.threads and auth.threads have entries of their own. */
            if (k && strcmp(key, "order.threads") != 0 && strcmp(key, "auth.threads") != 0)
                CHECK_STR(key, k->name + 8, kinds[i]);
        }
    }
    CHECK_STR("order.threads has an entry of its own",
              config_key_find("order.threads") ? config_key_find("order.threads")->name : NULL,
              "order.threads");
    CHECK_STR("auth.threads has an entry of its own",
              config_key_find("auth.threads") ? config_key_find("auth.threads")->name : NULL,
              "auth.threads");
    CHECK("no such service", config_key_find("kitchen.req") == NULL);
    CHECK("no such kind", config_key_find("catalog.speed") == NULL);
    CHECK("no service at all", config_key_find(".req") == NULL);
    case_end();

    case_begin("per-service keys: endpoints and threads from counter.conf");
    config_t *c = load("catalog.req = tcp://10.0.0.2:7001\nview.threads = 3\n", err, sizeof err);
    if (!c) {
        case_fail("config_load: got \"%s\", expected a config", err);
    } else {
        CHECK_INT("config_endpoint", config_endpoint(c, "catalog", "req", ep, sizeof ep), 0);
        CHECK_STR("catalog.req", ep, "tcp://10.0.0.2:7001");
        config_endpoint(c, "catalog", "pub", ep, sizeof ep);
        CHECK("catalog.pub keeps its default", strstr(ep, "/run/catalog.pub") != NULL);
        config_endpoint(c, "tpub", "pub", ep, sizeof ep);
        CHECK("a test's own service gets the default", strstr(ep, "/run/tpub.pub") != NULL);
        CHECK_INT("view.threads", config_int(c, "view.threads"), 3);
        CHECK_INT("order.threads", config_int(c, "order.threads"), 8);
    }
    config_destroy(&c);
    case_end();
}

/* ---- the table itself ---------------------------------------------------- */

static void test_table(void)
{
    char err[1024];
    case_begin("the table: names unique, one-line help, every default allowed");
    char text[8192] = "";
    size_t used = 0;
    for (const config_key_t *k = config_keys; k->name; k++) {
        for (const config_key_t *j = k + 1; j->name; j++)
            if (strcmp(k->name, j->name) == 0)
                case_fail("%s is in the table twice", k->name);
        if (!k->help || !*k->help || strchr(k->help, '\n'))
            case_fail("%s: its help is not one line", k->name);
        if (k->def && *k->def && strncmp(k->name, "SERVICE.", 8) != 0)
            used += (size_t)snprintf(text + used, sizeof text - used, "%s = %s\n", k->name, k->def);
    }
    /* Written back as a counter.conf, the defaults pass the table's checks. */
    config_t *c = load(text, err, sizeof err);
    if (!c)
        case_fail("the defaults as a counter.conf: got \"%s\", expected a config", err);
    config_destroy(&c);
    case_end();

    case_begin("config_describe: one row per key, typed default, bounds");
    json_t *d = config_describe();
    json_t *items = json_object_get(d, "items");
    size_t n = 0;
    while (config_keys[n].name)
        n++;
    CHECK_INT("rows", json_array_size(items), n);
    size_t i;
    json_t *row;
    int seen = 0;
    json_array_foreach(items, i, row) {
        if (strcmp(json_string_value(json_object_get(row, "key")), "client.timeout_ms") == 0) {
            seen = 1;
            CHECK_INT("default", json_integer_value(json_object_get(row, "default")), 700);
            CHECK_STR("allowed", json_string_value(json_object_get(row, "allowed")), "1..600000");
            CHECK_STR("type", json_string_value(json_object_get(row, "type")), "int");
        }
    }
    CHECK("client.timeout_ms is a row", seen);
    json_decref(d);
    case_end();
}

/* ---- man/counter.1 ------------------------------------------------------- */

#define MAN_MAX 128

static struct {
    char key[MAN_MAX][64];
    char *para[MAN_MAX];    /* the text of the .It that names the key */
    int n;
} man;

static int is_macro(const char *w)
{
    return isupper((unsigned char)w[0]) && strlen(w) <= 3;
}

/* The keys an .It line names: "Cm a , b" and "Ar service Ns Cm .req". */
static void man_item(char *line, char *para)
{
    char *w[32];
    int n = 0;
    for (char *t = line + 3; *t && n < 32;) {
        t += strspn(t, " \t");
        if (!*t)
            break;
        w[n++] = t;
        t += strcspn(t, " \t");
        if (*t)
            *t++ = '\0';
    }
    for (int i = 0; i < n; i++) {
        const char *key = NULL;
        char pat[64];
        if (strcmp(w[i], "Ar") == 0 && i + 4 < n && strcmp(w[i + 1], "service") == 0 &&
            strcmp(w[i + 2], "Ns") == 0 && strcmp(w[i + 3], "Cm") == 0) {
            snprintf(pat, sizeof pat, "SERVICE%s", w[i + 4]);
            key = pat;
            i += 4;
        } else if (strcmp(w[i], "Cm") == 0) {
            for (i++; i < n && !is_macro(w[i]); i++)
                if (strcmp(w[i], ",") != 0 && man.n < MAN_MAX) {
                    snprintf(man.key[man.n], sizeof man.key[0], "%s", w[i]);
                    man.para[man.n++] = para;
                }
            i--;
        }
        if (key && man.n < MAN_MAX) {
            snprintf(man.key[man.n], sizeof man.key[0], "%s", key);
            man.para[man.n++] = para;
        }
    }
}

/* The list of keys under ".It Pa $COUNTER_HOME/counter.conf" in FILES. */
static int man_read(char *text)
{
    char *p = strstr(text, "\n.Sh FILES");
    p = p ? strstr(p, "\n.It Pa $COUNTER_HOME/counter.conf") : NULL;
    p = p ? strstr(p + 1, "\n.Bl ") : NULL;
    if (!p)
        return -1;
    p = strchr(p + 1, '\n');
    int depth = 1;
    char *item = NULL;
    while (p && depth > 0) {
        char *line = p + 1;
        p = strchr(line, '\n');
        if (p)
            *p = '\0';
        if (strncmp(line, ".Bl", 3) == 0)
            depth++;
        else if (strncmp(line, ".El", 3) == 0)
            depth--;
        if (depth == 1 && strncmp(line, ".It ", 4) == 0) {
            char copy[512];
            snprintf(copy, sizeof copy, "%s", line);
            item = strdup(line + 4);
            /* The paragraph runs on: join it up to the next item. */
            char *q = p ? p + 1 : NULL;
            size_t len = strlen(item);
            while (q && strncmp(q, ".It ", 4) != 0 && strncmp(q, ".El", 3) != 0) {
                char *e = strchr(q, '\n');
                size_t l = e ? (size_t)(e - q) : strlen(q);
                char *t = realloc(item, len + l + 2);
                if (!t)
                    break;
                item = t;
                item[len++] = ' ';
                memcpy(item + len, q, l);
                item[len += l] = '\0';
                q = e ? e + 1 : NULL;
            }
            man_item(copy, item);
        }
    }
    return man.n > 0 ? 0 : -1;
}

/* Does word stand in text as a whole word? */
static int has_word(const char *text, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = text; (p = strstr(p, word)); p++) {
        int before = p == text || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
        int after = !(isalnum((unsigned char)p[n]) || p[n] == '_');
        if (before && after)
            return 1;
    }
    return 0;
}

static int man_find(const char *key)
{
    for (int i = 0; i < man.n; i++)
        if (strcmp(man.key[i], key) == 0)
            return i;
    return -1;
}

static void test_man(void)
{
    case_begin("man/counter.1 FILES lists every key of the table, and no other");
    char *text = slurp("man/counter.1");
    if (!text || man_read(text) != 0) {
        case_fail("man/counter.1: %s", text ? "no key list under FILES, counter.conf"
                                            : "cannot read it (run from the repository root)");
        free(text);
        case_end();
        return;
    }
    for (const config_key_t *k = config_keys; k->name; k++) {
        int i = man_find(k->name);
        /* order.threads is told in the paragraph of service.threads. */
        char pat[64];
        snprintf(pat, sizeof pat, "SERVICE%s", strchr(k->name, '.') ? strchr(k->name, '.') : "");
        if (i < 0 && strcmp(pat, k->name) != 0) {
            for (const config_key_t *j = config_keys; j->name; j++)
                if (strcmp(j->name, pat) == 0)
                    i = man_find(pat);
        }
        if (i < 0)
            case_fail("'%s' is in the table but not in man/counter.1, FILES", k->name);
        else if (*k->def && !has_word(man.para[i], k->def))
            case_fail("man/counter.1 does not give '%s' its default %s: \"%.200s\"", k->name,
                      k->def, man.para[i]);
    }
    for (int i = 0; i < man.n; i++) {
        int found = 0;
        for (const config_key_t *k = config_keys; k->name; k++)
            found |= strcmp(k->name, man.key[i]) == 0;
        if (!found)
            case_fail("'%s' is in man/counter.1, FILES, but not in the table", man.key[i]);
    }
    case_end();
    for (int i = 0; i < man.n; i++)
        if (i == 0 || man.para[i] != man.para[i - 1])
            free(man.para[i]);
    free(text);
}

/* ---- the sources --------------------------------------------------------- */

/* Every config_int/str/bool(c, "key") in dir's .c files names a key of the
 * table of that type. Returns the number of calls checked. */
static int scan_dir(const char *dir)
{
    static const struct {
        const char *call;
        config_type_t t, t2;
    } getters[] = {{"config_int(", CONFIG_INT, CONFIG_INT},
                   {"config_str(", CONFIG_STR, CONFIG_ENUM},
                   {"config_bool(", CONFIG_BOOL, CONFIG_BOOL}};
    DIR *d = opendir(dir);
    if (!d) {
        case_fail("cannot read %s (run from the repository root)", dir);
        return 0;
    }
    int checked = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 3 || strcmp(e->d_name + len - 2, ".c") != 0)
            continue;
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        char *text = slurp(path);
        for (size_t g = 0; text && g < 3; g++) {
            for (char *p = text; (p = strstr(p, getters[g].call)); p++) {
                char *close = strchr(p, ')'), *q1 = strchr(p, '"');
                if (!close || !q1 || q1 > close)
                    continue;    /* a definition, or a key held in a variable */
                char key[128];
                snprintf(key, sizeof key, "%.*s", (int)strcspn(q1 + 1, "\""), q1 + 1);
                const config_key_t *k = config_key_find(key);
                checked++;
                if (!k)
                    case_fail("%s: %s\"%s\"): no such key in the table", path, getters[g].call, key);
                else if (k->type != getters[g].t && k->type != getters[g].t2)
                    case_fail("%s: %s\"%s\"): the key has another type", path, getters[g].call, key);
            }
        }
        free(text);
    }
    closedir(d);
    return checked;
}

static void test_sources(void)
{
    case_begin("every config_int/config_str/config_bool call names a key of the table");
    int n = scan_dir("backend") + scan_dir("proto") + scan_dir("tui");
    if (n < 20)
        case_fail("found %d calls with a literal key, expected at least 20", n);
    case_end();
}

int main(void)
{
    const char *t = getenv("TEST_HOME");
    snprintf(base, sizeof base, "%s/test_config.XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(base)) {
        printf("FAIL - mkdtemp %s: got an error, expected a folder\n", base);
        return 1;
    }
    clear_env();
    test_defaults();
    test_values();
    test_unknown_key();
    test_malformed_int();
    test_bounds();
    test_enum_bool();
    test_env();
    test_services();
    test_table();
    test_man();
    test_sources();
    return unit_exit();
}
