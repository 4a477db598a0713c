/*
 * proto.h - the breakfast counter wire protocol (CTR/2), shared by tui/ and backend/.
 *
 * The spec is proto/SPEC.md; this module is its only implementation. It knows
 * every command (name, owning service, fields and their types), the fixed list
 * of error codes, and how requests, replies and events are framed.
 *
 * Ownership: functions that return json_t* return a new reference the caller
 * must json_decref(); functions that take json_t* borrow it unless they say
 * "steals".
 */
#ifndef PROTO_H
#define PROTO_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define PROTO_SIGNATURE "CTR2"      /* frame 0 of every request and reply */
#define PROTO_VERSION 2
#define PROTO_MAX_BODY 65536        /* bytes; larger bodies are bad_request */
#define PROTO_MAX_MSG (1 << 20)     /* ZMQ_MAXMSGSIZE on every listening socket */
#define PROTO_MAX_ID 64             /* request id and caller length */
#define PROTO_MAX_CRED 512          /* credential frame length (a token fits) */
#define PROTO_MAX_STR 200           /* longest string field value */

/* The fixed list of reply statuses (DESIGN section 2). */
typedef enum {
    ERR_OK = 0,
    ERR_BAD_REQUEST,
    ERR_NOT_FOUND,
    ERR_CONFLICT,
    ERR_INSUFFICIENT_STOCK,
    ERR_PAYMENT_DECLINED,
    ERR_PAYMENT_BUSY,
    ERR_UNAVAILABLE,
    ERR_FORBIDDEN,
    ERR_INTERNAL,
    ERR_UNAUTHORIZED,   /* no valid credential: log in */
    ERR__COUNT
} proto_status_t;

const char *proto_status_name(proto_status_t s);
/* Returns -1 when name is not one of the fixed statuses. */
int proto_status_from_name(const char *name);

/* An error: a status, a human sentence, optionally the field it is about and a
 * retry hint (payment_busy). */
typedef struct {
    proto_status_t status;
    char message[256];
    char field[48];
    long retry_after_ms;
} proto_err_t;

/* Fill e and return e->status (so handlers can `return proto_fail(...)`). */
int proto_fail(proto_err_t *e, proto_status_t status, const char *field,
               const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* ---- Commands and their fields ---------------------------------------- */

typedef enum { FT_STR, FT_INT, FT_BOOL } proto_ftype_t;

enum {
    FF_REQUIRED = 1 << 0,
    FF_NONNEG   = 1 << 1,   /* integer >= 0 */
    FF_POSITIVE = 1 << 2,   /* integer >= 1 */
    FF_NONEMPTY = 1 << 3,   /* string with at least one non-space character */
    FF_TEXT     = 1 << 4,   /* stored and shown (names, addresses): not white space only */
};
/* Every string field refuses control characters (C0, C1), bidirectional
 * formatting characters, zero-width characters and invalid UTF-8, naming the
 * character and where it is; see proto/SPEC.md "Field rules". */

/* The code point at text[*i] (UTF-8 of len bytes), advancing *i past it;
 * -1, advancing one byte, for a byte that does not start valid UTF-8
 * (overlong forms, surrogates and values past U+10FFFF included). */
long proto_utf8_next(const char *text, size_t len, size_t *i);
/* What kind of character no string field may hold ("a control character",
 * "a bidirectional formatting character", "a zero-width character"), or
 * NULL for one that may be stored and shown. */
const char *proto_char_refused(long cp);

typedef struct {
    const char *name;
    proto_ftype_t type;
    unsigned flags;
    const char *aliases;    /* space-separated other accepted names, or NULL */
} proto_field_t;

/* Roles a caller may have. A terminal's role comes from its signed token, a
 * service's from the CURVE key its connection was authenticated with; a
 * request with no credential is ROLE_ANON. */
enum {
    ROLE_CUSTOMER = 1 << 0,
    ROLE_MANAGER  = 1 << 1,
    ROLE_DELIVERY = 1 << 2,
    ROLE_SYSTEM   = 1 << 3,   /* another service of ours */
    ROLE_ANY      = 0xf,      /* anyone who proved who they are */
    ROLE_ANON     = 1 << 4,   /* no credential: health, auth.login, auth.signup */
};

/* How a command writes, which says how the pipeline deduplicates it. */
typedef enum {
    TX_READ = 0,   /* reads only: answered again on a retry */
    TX_ONE,        /* one write transaction: the change, its events and the
                    * record of its request id commit together; a retry gets
                    * the recorded answer */
    TX_SAGA,       /* writes through calls to other services (order.place,
                    * order.cancel): the handler opens its own transactions and
                    * deduplicates by its own log and by passing the request id
                    * on to the services it calls */
} proto_tx_t;

typedef struct {
    const char *name;         /* e.g. "catalog.add" */
    const char *service;      /* the service that answers it; "*" = every service */
    proto_tx_t tx;            /* TX_READ, or how it writes */
    bool any_field;           /* at least one optional field must be present (updates) */
    unsigned roles;           /* roles allowed to call it */
    const char *summary;
    proto_field_t fields[10]; /* terminated by a NULL name */
    bool fault;               /* fault injection: forbidden unless faults.enabled */
} proto_cmd_t;

/* Returns the command or NULL when unknown. */
const proto_cmd_t *proto_cmd_find(const char *name);
/* Does cmd change state (TX_ONE or TX_SAGA)? */
static inline bool proto_cmd_writes(const proto_cmd_t *cmd) { return cmd->tx != TX_READ; }
/* Iterate: returns NULL past the last command. */
const proto_cmd_t *proto_cmd_at(size_t i);

/* Validate body against cmd's schema. On success returns a new object with
 * aliases rewritten to canonical names; on failure returns NULL and fills err
 * (bad_request naming the field). */
json_t *proto_validate(const proto_cmd_t *cmd, const json_t *body, proto_err_t *err);

/* Convert one "key=value" word (as typed on the command line) into body,
 * typed by cmd's schema. Returns 0, or -1 with a sentence in err. */
int proto_set_kv(const proto_cmd_t *cmd, json_t *body, const char *kv, proto_err_t *err);

/* ---- Callers -------------------------------------------------------------- */

typedef struct {
    unsigned role;            /* one ROLE_* bit */
    char subject[PROTO_MAX_ID];
} proto_caller_t;

/* Parse "role:subject". Returns 0 or -1. A customer's subject is the
 * customer id, a decimal number from 1 to 10^12 without leading zeros; a
 * staff subject is a login (letters, digits, "-_.@"). */
int proto_caller_parse(const char *s, proto_caller_t *out);
const char *proto_role_name(unsigned role);
/* The role named name (customer, manager, delivery, system), or 0. */
unsigned proto_role_from_name(const char *name);
/* Is s a subject for role (see proto_caller_parse)? */
bool proto_subject_ok(unsigned role, const char *s);

/* "A customer sees only their own": staff and services act for anyone, a
 * customer only for their own customer id (the token's subject). 0, or forbidden in err naming
 * field ("customers may only <what>", e.g. "see their own orders"). */
int proto_check_own(const proto_caller_t *c, long long customer, const char *field,
                    const char *what, proto_err_t *err);
/* The customer a listing is for: a customer always gets their own (asking
 * for another is forbidden, as above; a subject that is no customer id is
 * forbidden, never "everyone"); anyone else gets the one
 * asked for (asked NULL: 0, everyone). 0 or the error. */
int proto_scope_customer(const proto_caller_t *c, const json_t *asked, const char *what,
                         long long *customer, proto_err_t *err);

/* ---- Frames ----------------------------------------------------------- */

/* A decoded request. Strings point into the struct; body is owned. */
/* What frame 3 of a request presents (SPEC "Credentials"). */
typedef enum {
    CRED_NONE = 0,   /* "-": nobody in particular */
    CRED_TOKEN,      /* "token:" and a token signed by the auth service */
    CRED_SYSTEM,     /* "system:" and a service's name: believed only from a
                      * connection authenticated with that service's key */
} proto_cred_t;

typedef struct {
    char command[64];
    char request_id[PROTO_MAX_ID + 1];
    proto_cred_t cred;
    char credential[PROTO_MAX_CRED + 1];  /* the token, or the service's name */
    /* Filled by the worker's authenticate step, never by decoding: who the
     * credential proved the caller to be ("role:subject"; "-" when anonymous). */
    char caller_raw[PROTO_MAX_ID + 16];
    proto_caller_t caller;
    char session[33];     /* the token's session id ("" without a token) */
    json_t *body;
} proto_req_t;

/* A decoded reply. body is owned (the result, or the error object). */
typedef struct {
    char request_id[PROTO_MAX_ID + 1];
    proto_status_t status;
    json_t *body;
} proto_rep_t;

void proto_req_clear(proto_req_t *r);
void proto_rep_clear(proto_rep_t *r);

/* Frames are handed over as arrays of (data, size). */
typedef struct {
    const void *data;
    size_t size;
} proto_frame_t;

/* Decode the 5 request frames. Returns 0, or -1 with err filled (bad_request).
 * The credential is only read (req->cred, req->credential), not believed:
 * that is the worker's authenticate step.
 * Best effort: req->request_id is filled as soon as frame 2 is readable, so
 * the error reply can echo it. */
int proto_req_decode(const proto_frame_t *f, size_t n, proto_req_t *req, proto_err_t *err);
/* Decode the 4 reply frames. Returns 0 or -1. */
int proto_rep_decode(const proto_frame_t *f, size_t n, proto_rep_t *rep);

/* Body of an error reply: {"error":code,"message":...[,"field"][,"retry_after_ms"]}. */
json_t *proto_err_body(const proto_err_t *err);
/* Fill err from an error reply. */
void proto_err_from_rep(const proto_rep_t *rep, proto_err_t *err);

/* Serialize compactly (caller frees with free()). Aborts on out of memory. */
char *proto_dump(const json_t *j);

/* ---- Memory and JSON members ------------------------------------------ */

/* The one out-of-memory path of every binary: says so on stderr and aborts.
 * A failed allocation (malloc, json_pack, json_object_set_new of a fresh
 * value) is never recovered from. */
_Noreturn void proto_oom(void);
/* p itself, or proto_oom() when p is NULL. */
void *proto_nonnull(void *p);
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
char *xstrdup(const char *s);

/* Member k of object o as an integer (0 when missing or not an integer) or
 * as a string ("" when missing or not a string; borrowed from o). */
static inline long long jint(const json_t *o, const char *k)
{
    return (long long)json_integer_value(json_object_get(o, k));
}
static inline const char *jstr(const json_t *o, const char *k)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : "";
}

/* ---- Events ------------------------------------------------------------ */

/* Topic frame of a live event is "<publisher>.<eventType>"; of a heartbeat
 * "<publisher>.$hb". The second frame is the event JSON. */
#define PROTO_HB_TYPE "$hb"

/* Known event types (DESIGN section 3). Returns true when known. */
bool proto_event_known(const char *type);

/* Does ev carry every member its type's schema names (SPEC "Event types"),
 * and is type an event of publisher (when publisher is one of the services
 * that publish)? 0, or -1 with what is missing in missing (the member's
 * name, or why the type is wrong). */
int proto_event_schema_check(const char *publisher, const char *type, const json_t *ev,
                             char *missing, size_t cap);

/* Check the event envelope: eventType, publisher, seq >= 1, eventId, timestamp.
 * Returns 0 or -1. */
int proto_event_check(const json_t *ev);

/* Random hex id (libsodium), out must hold 2*nbytes+1. */
void proto_random_hex(char *out, size_t nbytes);
/* UTC timestamp with milliseconds: 2026-11-25T14:40:00.123Z (out >= 32). */
void proto_utc_now(char *out, size_t n);
/* Milliseconds since the epoch of such a timestamp; 0 when unreadable. */
long long proto_ts_ms(const char *ts);
/* Milliseconds since the epoch / a monotonic clock. */
long long proto_now_ms(void);
long long proto_mono_ms(void);

#endif
