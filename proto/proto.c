/*
 * proto.c - CTR/2 codec: statuses, validation, callers and credentials, frames, events.
 */
#include "proto.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char *status_names[ERR__COUNT] = {
    "ok", "bad_request", "not_found", "conflict", "insufficient_stock",
    "payment_declined", "payment_busy", "unavailable", "forbidden", "internal",
    "unauthorized",
};

const char *proto_status_name(proto_status_t s)
{
    return (s >= 0 && s < ERR__COUNT) ? status_names[s] : "internal";
}

int proto_status_from_name(const char *name)
{
    for (int i = 0; i < ERR__COUNT; i++)
        if (strcmp(status_names[i], name) == 0)
            return i;
    return -1;
}

/* Length of the valid UTF-8 sequence at s (1-4), or 0 when it is not one
 * (including a sequence cut short by the end of the string). */
static size_t utf8_seq(const unsigned char *s)
{
    size_t n;
    unsigned min;
    unsigned cp;
    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        n = 2, min = 0x80, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        n = 3, min = 0x800, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        n = 4, min = 0x10000, cp = s[0] & 0x07;
    else
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return n;
}

/* Make s valid UTF-8 in place: every byte that does not start a valid
 * sequence (raw input quoted by a parser, a character cut by truncation)
 * becomes '?'. An error sentence must always be sendable as JSON. */
static void utf8_sanitize(char *s)
{
    unsigned char *p = (unsigned char *)s;
    while (*p) {
        size_t n = utf8_seq(p);
        if (n == 0) {
            *p++ = '?';
        } else {
            p += n;
        }
    }
}

int proto_fail(proto_err_t *e, proto_status_t status, const char *field, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    e->retry_after_ms = 0;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    utf8_sanitize(e->field);
    utf8_sanitize(e->message);
    return (int)status;
}


/* Is `key` the field's name or one of its aliases? */
static bool field_matches(const proto_field_t *f, const char *key)
{
    if (strcmp(f->name, key) == 0)
        return true;
    if (!f->aliases)
        return false;
    size_t klen = strlen(key);
    const char *p = f->aliases;
    while (*p) {
        const char *end = strchr(p, ' ');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        if (len == klen && strncasecmp(p, key, len) == 0)
            return true;
        if (!end)
            break;
        p = end + 1;
    }
    return false;
}

static const proto_field_t *field_find(const proto_cmd_t *cmd, const char *key)
{
    for (const proto_field_t *f = cmd->fields; f->name; f++)
        if (field_matches(f, key))
            return f;
    return NULL;
}

long proto_utf8_next(const char *text, size_t len, size_t *i)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t start = (*i)++;
    unsigned char b = s[start];
    if (b < 0x80)
        return b;
    int more = b >= 0xf0 ? 3 : b >= 0xe0 ? 2 : b >= 0xc2 ? 1 : 0;
    if (more == 0 || b > 0xf4 || start + 1 + (size_t)more > len)
        return -1;
    long cp = b & (0x3f >> more);
    for (int k = 1; k <= more; k++) {
        if ((s[start + k] & 0xc0) != 0x80)
            return -1;
        cp = cp << 6 | (s[start + k] & 0x3f);
    }
    static const long least[] = {0, 0x80, 0x800, 0x10000};
    if (cp < least[more] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return -1;
    *i = start + 1 + (size_t)more;
    return cp;
}

const char *proto_char_refused(long cp)
{
    if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029)
        return "a control character";
    if ((cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200e ||
        cp == 0x200f || cp == 0x061c)
        return "a bidirectional formatting character";
    if ((cp >= 0x200b && cp <= 0x200d) || (cp >= 0x2060 && cp <= 0x2064) || cp == 0xfeff)
        return "a zero-width character";
    return NULL;
}

/* White space, or a filler that shows as nothing (Hangul fillers). */
static bool char_blank(long cp)
{
    return (cp < 0x80 && isspace((int)cp)) || cp == 0xa0 || cp == 0x1680 ||
           (cp >= 0x2000 && cp <= 0x200a) || cp == 0x202f || cp == 0x205f || cp == 0x3000 ||
           cp == 0x115f || cp == 0x1160 || cp == 0x3164 || cp == 0xffa0;
}

static int check_string(const proto_field_t *f, const char *s, size_t len, proto_err_t *err)
{
    if (len > PROTO_MAX_STR)
        return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s is longer than %d bytes", f->name,
                          PROTO_MAX_STR);
    if (strlen(s) != len)
        return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s contains a NUL byte", f->name);
    bool blank = true;
    size_t i = 0;
    for (unsigned at = 1; i < len; at++) {
        long cp = proto_utf8_next(s, len, &i);
        if (cp < 0)
            return proto_fail(err, ERR_BAD_REQUEST, f->name,
                              "%s is not valid UTF-8 (at character %u)", f->name, at);
        const char *what = proto_char_refused(cp);
        if (what)
            return proto_fail(err, ERR_BAD_REQUEST, f->name,
                              "%s contains %s (U+%04lX at character %u); only printable text "
                              "is accepted", f->name, what, (unsigned long)cp, at);
        if (!char_blank(cp))
            blank = false;
    }
    if (blank && (f->flags & FF_NONEMPTY))
        return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s must not be empty", f->name);
    if (blank && len > 0 && (f->flags & FF_TEXT))
        return proto_fail(err, ERR_BAD_REQUEST, f->name,
                          "%s must not be white space only (leave it empty instead)", f->name);
    return 0;
}

static int check_value(const proto_field_t *f, const json_t *v, proto_err_t *err)
{
    switch (f->type) {
    case FT_INT: {
        if (!json_is_integer(v))
            return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s must be an integer", f->name);
        json_int_t n = json_integer_value(v);
        if ((f->flags & FF_NONNEG) && n < 0)
            return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s must not be negative", f->name);
        if ((f->flags & FF_POSITIVE) && n < 1)
            return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s must be 1 or more", f->name);
        if (n > (json_int_t)1000000000000LL || n < -(json_int_t)1000000000000LL)
            return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s is out of range", f->name);
        return 0;
    }
    case FT_BOOL:
        if (!json_is_boolean(v))
            return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s must be true or false", f->name);
        return 0;
    case FT_STR:
        if (!json_is_string(v))
            return proto_fail(err, ERR_BAD_REQUEST, f->name, "%s must be a string", f->name);
        return check_string(f, json_string_value(v), json_string_length(v), err);
    }
    return proto_fail(err, ERR_INTERNAL, f->name, "unknown field type");
}

json_t *proto_validate(const proto_cmd_t *cmd, const json_t *body, proto_err_t *err)
{
    if (!json_is_object(body)) {
        proto_fail(err, ERR_BAD_REQUEST, "", "the body must be a JSON object");
        return NULL;
    }
    json_t *out = json_object();
    if (!out)
        proto_oom();
    const char *key;
    json_t *value;
    size_t optional = 0;
    json_object_foreach((json_t *)body, key, value) {
        const proto_field_t *f = field_find(cmd, key);
        if (!f) {
            proto_fail(err, ERR_BAD_REQUEST, key, "unknown field '%s' for %s", key, cmd->name);
            goto fail;
        }
        if (json_object_get(out, f->name)) {
            proto_fail(err, ERR_BAD_REQUEST, f->name, "%s is given twice", f->name);
            goto fail;
        }
        if (check_value(f, value, err) != 0)
            goto fail;
        if (json_object_set(out, f->name, value) != 0)
            proto_oom();
        if (!(f->flags & FF_REQUIRED))
            optional++;
    }
    for (const proto_field_t *f = cmd->fields; f->name; f++) {
        if ((f->flags & FF_REQUIRED) && !json_object_get(out, f->name)) {
            proto_fail(err, ERR_BAD_REQUEST, f->name, "missing field: %s", f->name);
            goto fail;
        }
    }
    if (cmd->any_field && optional == 0) {
        proto_fail(err, ERR_BAD_REQUEST, "", "nothing to change: give at least one field");
        goto fail;
    }
    return out;
fail:
    json_decref(out);
    return NULL;
}

/* Strict decimal integer: optional sign, digits only, within range. */
static int parse_int(const char *s, long long *out)
{
    if (*s == '\0')
        return -1;
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (*p == '\0')
        return -1;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -1;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = v;
    return 0;
}

/* Record a usage problem for proto_set_kv; always -1. */
#define KV_FAIL(...) do { proto_fail(err, ERR_BAD_REQUEST, __VA_ARGS__); return -1; } while (0)

int proto_set_kv(const proto_cmd_t *cmd, json_t *body, const char *kv, proto_err_t *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        KV_FAIL("", "expected key=value, got '%s'", kv);
    char key[64];
    size_t klen = (size_t)(eq - kv);
    if (klen >= sizeof key)
        KV_FAIL("", "field name too long");
    memcpy(key, kv, klen);
    key[klen] = '\0';
    const char *val = eq + 1;
    const proto_field_t *f = field_find(cmd, key);
    if (!f)
        KV_FAIL(key, "unknown field '%s' for %s", key, cmd->name);
    if (json_object_get(body, f->name))
        KV_FAIL(f->name, "%s is given twice", f->name);
    json_t *j = NULL;
    if (f->type == FT_INT) {
        long long n;
        if (parse_int(val, &n) != 0)
            KV_FAIL(f->name, "%s must be an integer, got '%s'", f->name, val);
        j = json_integer(n);
    } else if (f->type == FT_BOOL) {
        if (strcmp(val, "true") == 0 || strcmp(val, "yes") == 0 || strcmp(val, "1") == 0)
            j = json_true();
        else if (strcmp(val, "false") == 0 || strcmp(val, "no") == 0 || strcmp(val, "0") == 0)
            j = json_false();
        else
            KV_FAIL(f->name, "%s must be true or false", f->name);
    } else {
        j = json_string(val);
        if (!j)
            KV_FAIL(f->name, "%s is not valid UTF-8", f->name);
    }
    if (!j || json_object_set_new(body, f->name, j) != 0)
        proto_oom();
    return 0;
}

/* ---- Callers ---- */

static const struct {
    unsigned role;
    const char *name;
} roles[] = {
    {ROLE_CUSTOMER, "customer"},
    {ROLE_MANAGER, "manager"},
    {ROLE_DELIVERY, "delivery"},
    {ROLE_SYSTEM, "system"},
};

const char *proto_role_name(unsigned role)
{
    if (role == ROLE_ANON)
        return "anonymous";
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (roles[i].role == role)
            return roles[i].name;
    return "?";
}

/* A customer caller's customer id: its subject read strictly (1 to 10^12 in
 * decimal, no sign, no leading zero, nothing after), else 0, which owns no
 * customer ("new" included). */
static long long caller_customer_id(const char *subject)
{
    if (subject[0] < '1' || subject[0] > '9')
        return 0;
    long long id = 0;
    for (const char *p = subject; *p; p++) {
        if (*p < '0' || *p > '9' || p - subject >= 13)
            return 0;
        id = id * 10 + (*p - '0');
    }
    return id <= 1000000000000LL ? id : 0;
}

int proto_check_own(const proto_caller_t *c, long long customer, const char *field,
                    const char *what, proto_err_t *err)
{
    if (c->role != ROLE_CUSTOMER)
        return 0;
    long long mine = caller_customer_id(c->subject);
    if (mine < 1 || mine != customer)
        return proto_fail(err, ERR_FORBIDDEN, field, "customers may only %s", what);
    return 0;
}

int proto_scope_customer(const proto_caller_t *c, const json_t *asked, const char *what,
                         long long *customer, proto_err_t *err)
{
    *customer = asked ? json_integer_value(asked) : 0;
    if (c->role != ROLE_CUSTOMER)
        return 0;
    long long mine = caller_customer_id(c->subject);
    if (mine < 1 || (asked && mine != *customer)) {
        *customer = -1;   /* never "everyone" */
        return proto_fail(err, ERR_FORBIDDEN, "customer", "customers may only %s", what);
    }
    *customer = mine;
    return 0;
}

static const char malformed[] =
    "the caller must be role:subject (role customer, manager, delivery or system)";

unsigned proto_role_from_name(const char *name)
{
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(roles[i].name, name) == 0)
            return roles[i].role;
    return 0;
}

bool proto_subject_ok(unsigned role, const char *s)
{
    size_t len = strlen(s);
    if (len == 0 || len >= PROTO_MAX_ID)
        return false;
    if (role == ROLE_CUSTOMER)
        return caller_customer_id(s) >= 1;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("-_.@", s[i]))
            return false;
    return true;
}

/* NULL when s is a caller (filled in out), else what is wrong with it. */
static const char *caller_parse(const char *s, proto_caller_t *out)
{
    const char *colon = strchr(s, ':');
    if (!colon || (size_t)(colon - s) >= 16)
        return malformed;
    char name[16];
    snprintf(name, sizeof name, "%.*s", (int)(colon - s), s);
    unsigned role = proto_role_from_name(name);
    if (!role)
        return malformed;
    if (!proto_subject_ok(role, colon + 1))
        return role == ROLE_CUSTOMER ? "a customer caller's subject must be the customer's id, "
                                       "a whole number from 1"
                                     : malformed;
    out->role = role;
    snprintf(out->subject, sizeof out->subject, "%s", colon + 1);
    return NULL;
}

int proto_caller_parse(const char *s, proto_caller_t *out)
{
    return caller_parse(s, out) ? -1 : 0;
}

/* Copy a frame into a C string if it is printable ASCII and short enough. */
static int frame_token(const proto_frame_t *f, char *out, size_t cap)
{
    if (f->size == 0 || f->size >= cap)
        return -1;
    const unsigned char *d = f->data;
    for (size_t i = 0; i < f->size; i++)
        if (d[i] <= 0x20 || d[i] >= 0x7f)
            return -1;
    memcpy(out, f->data, f->size);
    out[f->size] = '\0';
    return 0;
}

/* Frame 3: "-", "token:TOKEN" or "system:SERVICE". Read, not believed. */
static int credential_parse(const proto_frame_t *f, proto_req_t *req, proto_err_t *err)
{
    char text[PROTO_MAX_CRED + 1];
    if (frame_token(f, text, sizeof text) != 0)
        return proto_fail(err, ERR_BAD_REQUEST, "credential",
                          "the credential frame must be '-', token:TOKEN or system:SERVICE "
                          "(1-%d printable characters)", PROTO_MAX_CRED);
    if (strcmp(text, "-") == 0) {
        req->cred = CRED_NONE;
        return 0;
    }
    if (strncmp(text, "token:", 6) == 0 && text[6]) {
        req->cred = CRED_TOKEN;
        memcpy(req->credential, text + 6, strlen(text + 6) + 1);
        return 0;
    }
    if (strncmp(text, "system:", 7) == 0 && proto_subject_ok(ROLE_SYSTEM, text + 7)) {
        req->cred = CRED_SYSTEM;
        memcpy(req->credential, text + 7, strlen(text + 7) + 1);
        return 0;
    }
    return proto_fail(err, ERR_BAD_REQUEST, "credential",
                      "the credential frame must be '-', token:TOKEN or system:SERVICE; a "
                      "claimed role:subject is not accepted (log in: counter login)");
}

/* ---- Frames ---- */

void proto_req_clear(proto_req_t *r)
{
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

void proto_rep_clear(proto_rep_t *r)
{
    json_decref(r->body);
    memset(r, 0, sizeof *r);
}

static json_t *parse_body(const proto_frame_t *f, proto_err_t *err)
{
    if (f->size > PROTO_MAX_BODY) {
        proto_fail(err, ERR_BAD_REQUEST, "body", "message too large: %zu bytes (limit %d)",
                   f->size, PROTO_MAX_BODY);
        return NULL;
    }
    json_error_t jerr;
    json_t *j = json_loadb(f->data, f->size, JSON_REJECT_DUPLICATES, &jerr);
    if (!j) {
        proto_fail(err, ERR_BAD_REQUEST, "body", "the body is not valid JSON: %s", jerr.text);
        return NULL;
    }
    if (!json_is_object(j)) {
        json_decref(j);
        proto_fail(err, ERR_BAD_REQUEST, "body", "the body must be a JSON object");
        return NULL;
    }
    return j;
}

int proto_req_decode(const proto_frame_t *f, size_t n, proto_req_t *req, proto_err_t *err)
{
    memset(req, 0, sizeof *req);
    if (n >= 3)
        (void)frame_token(&f[2], req->request_id, sizeof req->request_id);
    if (n != 5) {
        proto_fail(err, ERR_BAD_REQUEST, "frames", "a request has 5 frames, got %zu", n);
        return -1;
    }
    if (f[0].size != strlen(PROTO_SIGNATURE) || memcmp(f[0].data, PROTO_SIGNATURE, f[0].size)) {
        proto_fail(err, ERR_BAD_REQUEST, "version", "unsupported protocol: frame 0 must be %s",
                   PROTO_SIGNATURE);
        return -1;
    }
    if (frame_token(&f[1], req->command, sizeof req->command) != 0) {
        proto_fail(err, ERR_BAD_REQUEST, "command", "the command frame is empty or not a name");
        return -1;
    }
    if (req->request_id[0] == '\0') {
        proto_fail(err, ERR_BAD_REQUEST, "request_id",
                   "the request id must be 1-%d printable characters", PROTO_MAX_ID);
        return -1;
    }
    if (credential_parse(&f[3], req, err) != 0)
        return -1;
    req->body = parse_body(&f[4], err);
    return req->body ? 0 : -1;
}

int proto_rep_decode(const proto_frame_t *f, size_t n, proto_rep_t *rep)
{
    memset(rep, 0, sizeof *rep);
    if (n != 4)
        return -1;
    if (f[0].size != strlen(PROTO_SIGNATURE) || memcmp(f[0].data, PROTO_SIGNATURE, f[0].size))
        return -1;
    if (frame_token(&f[1], rep->request_id, sizeof rep->request_id) != 0)
        return -1;
    char status[32];
    if (frame_token(&f[2], status, sizeof status) != 0)
        return -1;
    int s = proto_status_from_name(status);
    if (s < 0)
        return -1;
    rep->status = (proto_status_t)s;
    /* Replies come from our own services over sockets we opened; lists can
     * be large, so only requests are held to PROTO_MAX_BODY. */
    json_error_t jerr;
    rep->body = json_loadb(f[3].data, f[3].size, JSON_REJECT_DUPLICATES, &jerr);
    if (rep->body && !json_is_object(rep->body)) {
        json_decref(rep->body);
        rep->body = NULL;
    }
    return rep->body ? 0 : -1;
}

json_t *proto_err_body(const proto_err_t *err)
{
    /* proto_fail keeps message and field valid UTF-8; a caller that filled
     * err by hand gets "?" rather than a crash. */
    json_t *msg = json_string(err->message);
    json_t *j = json_pack("{s:s, s:o}", "error", proto_status_name(err->status), "message",
                          msg ? msg : json_string("?"));
    if (!j)
        proto_oom();
    json_t *field = err->field[0] ? json_string(err->field) : NULL;
    if (err->field[0] && json_object_set_new(j, "field", field ? field : json_string("?")) != 0)
        proto_oom();
    if (err->retry_after_ms > 0 &&
        json_object_set_new(j, "retry_after_ms", json_integer(err->retry_after_ms)) != 0)
        proto_oom();
    return j;
}

void proto_err_from_rep(const proto_rep_t *rep, proto_err_t *err)
{
    const char *msg = json_string_value(json_object_get(rep->body, "message"));
    const char *field = json_string_value(json_object_get(rep->body, "field"));
    proto_fail(err, rep->status, field, "%s", msg ? msg : proto_status_name(rep->status));
    err->retry_after_ms = (long)json_integer_value(json_object_get(rep->body, "retry_after_ms"));
}

char *proto_dump(const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s)
        proto_oom();
    return s;
}

/* ---- Memory ---- */

void proto_oom(void)
{
    static const char msg[] = "counter: out of memory\n";
    /* write(2), not stdio: stdio may need the memory we lack. */
    if (write(2, msg, sizeof msg - 1) < 0) {
        /* nothing more to do */
    }
    abort();
}

void *proto_nonnull(void *p)
{
    if (!p)
        proto_oom();
    return p;
}

void *xmalloc(size_t n) { return proto_nonnull(malloc(n ? n : 1)); }
void *xcalloc(size_t n, size_t size) { return proto_nonnull(calloc(n ? n : 1, size ? size : 1)); }
char *xstrdup(const char *s) { return proto_nonnull(strdup(s)); }

/* ---- Events ---- */

/* The event schemas (SPEC "Event types"): each type, its publisher and the
 * members it must carry besides the envelope (an aggregate id first). */
static const struct {
    const char *type;
    const char *publisher;
    const char *fields;       /* space-separated */
} event_types[] = {
    {"CustomerRegistered", "customer",
     "customerId name phone address age status created_at updated_at"},
    {"CustomerUpdated", "customer", "customerId"},
    {"CustomerWithdrawn", "customer", "customerId"},
    {"FoodRegistered", "catalog", "foodId name price stock"},
    {"FoodUpdated", "catalog", "foodId name price stock"},
    {"FoodDeleted", "catalog", "foodId name"},
    {"StockChanged", "catalog", "foodId stock delta reason"},
    {"FoodSoldOut", "catalog", "foodId name"},
    {"Ordered", "order",
     "orderId customerId customerid foodId foodcaltalogid foodName customerName address qty "
     "price amount status"},
    {"OrderCancelled", "order", "orderId customerId status"},
    {"Paid", "payment", "orderId customerId amount"},
    {"PaymentCancelled", "payment", "orderId customerId amount reason"},
    {"DeliveryReceived", "delivery", "orderId deliveryId customerId foodId qty address status"},
    {"DeliveryConfirmed", "delivery", "orderId deliveryId customerId status"},
    {"Shipped", "delivery", "orderId deliveryId customerId status"},
    {"Delivered", "delivery", "orderId deliveryId customerId status"},
    {"CancelRequested", "delivery", "orderId deliveryId customerId status"},
    {"CancelRejected", "delivery", "orderId deliveryId customerId status"},
    {"DeliveryCanceled", "delivery", "orderId deliveryId customerId status"},
    {"AccountCreated", "auth", "login role customerId"},
    {"LoggedIn", "auth", "login role sessionId"},
    {"LoginFailed", "auth", "login failures"},
    {"AccountLocked", "auth", "login until reason"},
    {"AccountUnlocked", "auth", "login"},
    {"SessionRevoked", "auth", "sessionId login expires reason"},
    {"PasswordChanged", "auth", "login"},
};

static int event_index(const char *type)
{
    for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++)
        if (strcmp(event_types[i].type, type) == 0)
            return (int)i;
    return -1;
}

bool proto_event_known(const char *type)
{
    return event_index(type) >= 0;
}

static bool publishes_events(const char *publisher)
{
    for (size_t i = 0; i < sizeof event_types / sizeof event_types[0]; i++)
        if (strcmp(event_types[i].publisher, publisher) == 0)
            return true;
    return false;
}

int proto_event_schema_check(const char *publisher, const char *type, const json_t *ev,
                             char *missing, size_t cap)
{
    int i = event_index(type);
    snprintf(missing, cap, "%s", "");
    if (i < 0) {
        snprintf(missing, cap, "a known eventType (%s is not one)", type);
        return -1;
    }
    /* A service publishes only its own event types. (An outbox under a name
     * that publishes none of them - a test's - is not held to it.) */
    if (strcmp(event_types[i].publisher, publisher) != 0 && publishes_events(publisher)) {
        snprintf(missing, cap, "a %s event (%s is %s's)", publisher, type, event_types[i].publisher);
        return -1;
    }
    for (const char *f = event_types[i].fields; *f;) {
        size_t n = strcspn(f, " ");
        char name[48];
        snprintf(name, sizeof name, "%.*s", (int)n, f);
        if (!json_object_get(ev, name)) {
            snprintf(missing, cap, "%s", name);
            return -1;
        }
        f += n;
        f += strspn(f, " ");
    }
    return 0;
}

int proto_event_check(const json_t *ev)
{
    if (!json_is_object(ev))
        return -1;
    const char *type = json_string_value(json_object_get(ev, "eventType"));
    const char *pub = json_string_value(json_object_get(ev, "publisher"));
    json_t *seq = json_object_get(ev, "seq");
    if (!type || !proto_event_known(type) || !pub || !json_is_integer(seq) ||
        json_integer_value(seq) < 1 || !json_is_string(json_object_get(ev, "eventId")) ||
        !json_is_string(json_object_get(ev, "timestamp")))
        return -1;
    return 0;
}

void proto_random_hex(char *out, size_t nbytes)
{
    unsigned char buf[32];
    if (nbytes > sizeof buf)
        nbytes = sizeof buf;
    randombytes_buf(buf, nbytes);
    sodium_bin2hex(out, nbytes * 2 + 1, buf, nbytes);
}

void proto_utc_now(char *out, size_t n)
{
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char base[24];
    strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, n, "%s.%03ldZ", base, ts.tv_nsec / 1000000);
}

long long proto_ts_ms(const char *ts)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = ts ? strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest)
        return 0;
    long ms = 0;
    if (*rest == '.')
        ms = strtol(rest + 1, NULL, 10);
    return (long long)timegm(&tm) * 1000 + ms;
}

long long proto_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long proto_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
