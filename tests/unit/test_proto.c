/*
 * test_proto - unit tests of proto/proto.c: the CTR/2 frame codec (with its
 * credential frame), the status list, the command table and its validation,
 * key=value parsing, callers (as token claims name them),
 * event envelopes, the small helpers, and a deterministic random-garbage loop
 * over the decoder and the validator.
 *
 * No sockets, no files: every case builds frames in memory and calls the codec.
 */
#include "config.h"
#include "proto.h"
#include "status.h"
#include "token.h"
#include "unit.h"

#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ---- helpers ------------------------------------------------------------ */

#define NFIELDS_MAX 10

/* Token-shaped text (base64url claims "." base64url signature): the codec
 * only reads a token, the worker checks it, so any such text decodes. */
#define TOK "eyJ2IjoxLCJyb2xlIjoibWFuYWdlciIsInN1YiI6ImxlZSJ9.c2lnbmF0dXJlLW9mLTY0LWJ5dGVzLW5vdC1jaGVja2Vk"

static proto_frame_t fr(const char *s)
{
    return (proto_frame_t){s, strlen(s)};
}

/* A request's 5 frames from C strings. */
static void req5(proto_frame_t f[5], const char *sig, const char *cmd, const char *rid,
                 const char *caller, const char *body)
{
    f[0] = fr(sig);
    f[1] = fr(cmd);
    f[2] = fr(rid);
    f[3] = fr(caller);
    f[4] = fr(body);
}

/* err starts out as something decode must overwrite. */
static void err_poison(proto_err_t *err)
{
    memset(err, 0, sizeof *err);
    err->status = ERR_INTERNAL;
    snprintf(err->field, sizeof err->field, "(untouched)");
}

/* Decode f (5 frames) into req: it must be accepted, with credential cred
 * and its text credential. The caller clears req. */
static void decode_ok(const proto_frame_t *f, proto_req_t *req, proto_cred_t cred,
                      const char *credential)
{
    proto_err_t err;
    err_poison(&err);
    int rc = proto_req_decode(f, 5, req, &err);
    if (rc != 0)
        case_fail("proto_req_decode: got %d (field %s: %s), expected 0", rc, err.field, err.message);
    CHECK_INT("cred", req->cred, cred);
    CHECK_STR("credential", req->credential, credential);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* s (len bytes) with non-printable bytes as \xNN, for case names. */
static const char *esc(const char *s, size_t len, char *out, size_t cap)
{
    size_t k = 0;
    for (size_t i = 0; i < len && k + 5 < cap; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 0x20 && ch < 0x7f)
            out[k++] = (char)ch;
        else
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", ch);
    }
    out[k] = '\0';
    return out;
}

/* A string literal as (data, size), embedded NULs included. */
#define LIT(s) s, sizeof(s) - 1

static const char *json_text_or(const json_t *j, char *buf, size_t len)
{
    if (!j)
        return "(null)";
    char *s = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    snprintf(buf, len, "%s", s ? s : "?");
    free(s);
    return buf;
}

static size_t ncommands(void)
{
    size_t n = 0;
    while (proto_cmd_at(n))
        n++;
    return n;
}

/* ---- statuses ------------------------------------------------------------ */

static void test_statuses(void)
{
    /* DESIGN section 2: the fixed list, in this order (the enum's order). */
    static const char *const want[] = {
        "ok", "bad_request", "not_found", "conflict", "insufficient_stock",
        "payment_declined", "payment_busy", "unavailable", "forbidden", "internal",
        "unauthorized",
    };
    size_t nwant = sizeof want / sizeof want[0];

    case_begin("status: the fixed list has %zu names and ERR__COUNT matches", nwant);
    CHECK_INT("ERR__COUNT", ERR__COUNT, nwant);
    CHECK_INT("ERR_UNAUTHORIZED is the last status", ERR_UNAUTHORIZED, ERR__COUNT - 1);
    CHECK_STR("proto_status_name(ERR_UNAUTHORIZED)", proto_status_name(ERR_UNAUTHORIZED),
              "unauthorized");
    case_end();

    case_begin("status: every status name maps both ways");
    for (size_t i = 0; i < nwant && i < (size_t)ERR__COUNT; i++) {
        char what[64];
        snprintf(what, sizeof what, "proto_status_name(%zu)", i);
        CHECK_STR(what, proto_status_name((proto_status_t)i), want[i]);
        snprintf(what, sizeof what, "proto_status_from_name(\"%s\")", want[i]);
        CHECK_INT(what, proto_status_from_name(want[i]), (long long)i);
    }
    case_end();

    case_begin("status: unknown names are -1, out-of-range codes print as internal");
    const char *bad[] = {"", "OK", "Ok", "okay", "bad request", "bad_request ", "not_found\n",
                         "internal_error", "payment-busy"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "proto_status_from_name(\"%s\")", bad[i]);
        CHECK_INT(what, proto_status_from_name(bad[i]), -1);
    }
    CHECK_STR("proto_status_name(ERR__COUNT)", proto_status_name(ERR__COUNT), "internal");
    CHECK_STR("proto_status_name(-1)", proto_status_name((proto_status_t)-1), "internal");
    case_end();
}

/* ---- request and reply frames: round trip -------------------------------- */

/* Decode one request with credential frame cred; the body is a fixed object. */
static void roundtrip_cred(const char *cred, proto_cred_t want_cred, const char *want_text)
{
    json_t *body = json_pack("{s:s, s:i, s:{s:[i,i]}, s:b, s:n}", "name", "\xea\xb9\x80\xeb\xb0\xa5",
                             "price", 3000, "nested", "a", 1, 2, "flag", 1, "none");
    char *text = proto_dump(body);
    char rid[PROTO_MAX_ID + 1];
    proto_random_hex(rid, 12);
    proto_frame_t f[5];
    req5(f, PROTO_SIGNATURE, "catalog.add", rid, cred, text);
    proto_req_t req;
    decode_ok(f, &req, want_cred, want_text);
    CHECK_STR("command", req.command, "catalog.add");
    CHECK_STR("request_id", req.request_id, rid);
    /* Who the caller is comes from the worker's authenticate step. */
    CHECK_STR("caller_raw (not filled by decoding)", req.caller_raw, "");
    CHECK_INT("caller.role (not filled by decoding)", req.caller.role, 0);
    CHECK_STR("caller.subject (not filled by decoding)", req.caller.subject, "");
    CHECK_STR("session (not filled by decoding)", req.session, "");
    if (!json_equal(req.body, body)) {
        char a[256], b[256];
        case_fail("body: got %s, expected %s", json_text_or(req.body, a, sizeof a),
                  json_text_or(body, b, sizeof b));
    }
    proto_req_clear(&req);
    CHECK("proto_req_clear leaves body NULL", req.body == NULL);
    free(text);
    json_decref(body);
}

static void test_req_roundtrip(void)
{
    static const struct {
        const char *frame;
        proto_cred_t cred;
        const char *credential;
    } creds[] = {
        {"-", CRED_NONE, ""},
        {"token:" TOK, CRED_TOKEN, TOK},
        {"token:x", CRED_TOKEN, "x"},
        {"token:system:catalog", CRED_TOKEN, "system:catalog"},
        {"system:catalog", CRED_SYSTEM, "catalog"},
        {"system:a.b_c-d@e", CRED_SYSTEM, "a.b_c-d@e"},
    };
    for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++) {
        case_begin("request: 5 frames round trip (credential %.40s)", creds[i].frame);
        roundtrip_cred(creds[i].frame, creds[i].cred, creds[i].credential);
        case_end();
    }

    case_begin("request: a token made by token_sign passes the codec unchanged");
    {
        unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
        token_claims_t c = {.version = TOKEN_VERSION, .role = ROLE_CUSTOMER,
                            .subject = "1000000000000"};
        proto_random_hex(c.sid, TOKEN_SID_HEX / 2);
        c.issued = 1700000000;
        c.expires = c.issued + 31LL * 86400;
        char tok[TOKEN_MAX + 1], frame[TOKEN_MAX + 16];
        CHECK_INT("crypto_sign_keypair", crypto_sign_keypair(pk, sk), 0);
        CHECK_INT("token_sign", token_sign(&c, sk, tok, sizeof tok), 0);
        snprintf(frame, sizeof frame, "token:%s", tok);
        CHECK("the credential frame fits PROTO_MAX_CRED", strlen(frame) <= PROTO_MAX_CRED);
        roundtrip_cred(frame, CRED_TOKEN, tok);
    }
    case_end();

    /* Longest accepted values at every limit. */
    case_begin("request: limits accepted (64-byte id, 63-byte command, 512-byte credential, 65536-byte body)");
    {
        char *rid = repeat('r', PROTO_MAX_ID);
        char *cmd = repeat('c', 63);
        char *tok = repeat('t', PROTO_MAX_CRED - strlen("token:"));
        char cred[PROTO_MAX_CRED + 1];
        snprintf(cred, sizeof cred, "token:%s", tok);
        /* {"k":"xxx...x"} of exactly PROTO_MAX_BODY bytes. */
        size_t pad = PROTO_MAX_BODY - strlen("{\"k\":\"\"}");
        char *fill = repeat('x', pad);
        size_t blen = PROTO_MAX_BODY + 1;
        char *body = malloc(blen);
        snprintf(body, blen, "{\"k\":\"%s\"}", fill);
        proto_frame_t f[5];
        req5(f, PROTO_SIGNATURE, cmd, rid, cred, body);
        CHECK_INT("credential frame size", f[3].size, PROTO_MAX_CRED);
        CHECK_INT("body frame size", f[4].size, PROTO_MAX_BODY);
        proto_req_t req;
        decode_ok(f, &req, CRED_TOKEN, tok);
        CHECK_STR("request_id", req.request_id, rid);
        CHECK_STR("command", req.command, cmd);
        CHECK_INT("strlen(body.k)", json_string_length(json_object_get(req.body, "k")), pad);
        proto_req_clear(&req);
        free(rid);
        free(cmd);
        free(tok);
        free(fill);
        free(body);
    }
    case_end();
}

static void test_rep_roundtrip(void)
{
    case_begin("reply: 4 frames round trip for every status");
    for (int s = 0; s < ERR__COUNT; s++) {
        const char *name = proto_status_name((proto_status_t)s);
        json_t *body = json_pack("{s:s, s:i}", "what", name, "n", s);
        char *text = proto_dump(body);
        char rid[32];
        snprintf(rid, sizeof rid, "rid-%d", s);
        proto_frame_t f[4] = {fr(PROTO_SIGNATURE), fr(rid), fr(name), fr(text)};
        proto_rep_t rep;
        int rc = proto_rep_decode(f, 4, &rep);
        char what[64];
        snprintf(what, sizeof what, "status %s: return code", name);
        CHECK_INT(what, rc, 0);
        snprintf(what, sizeof what, "status %s: status", name);
        CHECK_INT(what, rep.status, s);
        snprintf(what, sizeof what, "status %s: request_id", name);
        CHECK_STR(what, rep.request_id, rid);
        if (!json_equal(rep.body, body)) {
            char a[128], b[128];
            case_fail("status %s: body got %s, expected %s", name,
                      json_text_or(rep.body, a, sizeof a), json_text_or(body, b, sizeof b));
        }
        proto_rep_clear(&rep);
        free(text);
        json_decref(body);
    }
    case_end();

    case_begin("reply: the reply id \"-\" (request id unreadable) is accepted");
    {
        proto_frame_t f[4] = {fr(PROTO_SIGNATURE), fr("-"), fr("bad_request"),
                              fr("{\"error\":\"bad_request\",\"message\":\"no\",\"field\":\"request_id\"}")};
        proto_rep_t rep;
        CHECK_INT("proto_rep_decode", proto_rep_decode(f, 4, &rep), 0);
        CHECK_STR("request_id", rep.request_id, "-");
        CHECK_INT("status", rep.status, ERR_BAD_REQUEST);
        proto_rep_clear(&rep);
    }
    case_end();

    case_begin("reply: bodies larger than the request limit are accepted (SPEC: no reply limit)");
    {
        size_t pad = 4 * PROTO_MAX_BODY;
        char *fill = repeat('x', pad);
        size_t blen = pad + 16;
        char *body = malloc(blen);
        snprintf(body, blen, "{\"k\":\"%s\"}", fill);
        proto_frame_t f[4] = {fr(PROTO_SIGNATURE), fr("big"), fr("ok"), fr(body)};
        proto_rep_t rep;
        CHECK_INT("proto_rep_decode of a 256 KiB body", proto_rep_decode(f, 4, &rep), 0);
        CHECK_INT("strlen(body.k)", json_string_length(json_object_get(rep.body, "k")), pad);
        proto_rep_clear(&rep);
        free(fill);
        free(body);
    }
    case_end();

    case_begin("reply: error body round trip (proto_err_body -> frames -> proto_err_from_rep)");
    {
        proto_err_t e, back;
        proto_fail(&e, ERR_PAYMENT_BUSY, "qty", "payment is busy, try again in %d ms", 1500);
        e.retry_after_ms = 1500;
        json_t *body = proto_err_body(&e);
        CHECK_STR("body.error", json_string_value(json_object_get(body, "error")), "payment_busy");
        CHECK_STR("body.field", json_string_value(json_object_get(body, "field")), "qty");
        CHECK_INT("body.retry_after_ms", json_integer_value(json_object_get(body, "retry_after_ms")),
                  1500);
        char *text = proto_dump(body);
        proto_frame_t f[4] = {fr(PROTO_SIGNATURE), fr("abc"), fr("payment_busy"), fr(text)};
        proto_rep_t rep;
        CHECK_INT("proto_rep_decode", proto_rep_decode(f, 4, &rep), 0);
        err_poison(&back);
        proto_err_from_rep(&rep, &back);
        CHECK_INT("status", back.status, ERR_PAYMENT_BUSY);
        CHECK_STR("message", back.message, "payment is busy, try again in 1500 ms");
        CHECK_STR("field", back.field, "qty");
        CHECK_INT("retry_after_ms", back.retry_after_ms, 1500);
        proto_rep_clear(&rep);
        free(text);
        json_decref(body);

        /* No field, no retry hint: neither key appears. */
        proto_fail(&e, ERR_NOT_FOUND, NULL, "food 9 does not exist");
        body = proto_err_body(&e);
        CHECK("no field key when field is empty", json_object_get(body, "field") == NULL);
        CHECK("no retry_after_ms key when 0", json_object_get(body, "retry_after_ms") == NULL);
        json_decref(body);
    }
    case_end();
}

/* ---- malformed requests ---------------------------------------------------- */

/* One malformed request: must be -1, bad_request, the field, no body. */
static void expect_bad_req(const char *name, const proto_frame_t *f, size_t n, const char *field,
                           const char *echo_rid)
{
    case_begin("request rejected: %s -> bad_request field=%s", name, field);
    proto_req_t req;
    proto_err_t err;
    err_poison(&err);
    int rc = proto_req_decode(f, n, &req, &err);
    CHECK_INT("return code", rc, -1);
    CHECK_STR("err.status", proto_status_name(err.status), "bad_request");
    CHECK_STR("err.field", err.field, field);
    CHECK("err.message is a sentence", strlen(err.message) > 5);
    CHECK("req.body is NULL", req.body == NULL);
    if (echo_rid)
        CHECK_STR("req.request_id (echoed in the error reply)", req.request_id, echo_rid);
    proto_req_clear(&req);
    case_end();
}

/* One frame of a malformed request: what it is, and its bytes. */
typedef struct {
    const char *label;
    const char *data;
    size_t size;
} frame_case_t;

/* Each case as frame at of an otherwise well-formed request -> bad_request
 * naming field (the request id echoed as echo_rid). */
static void reject_each(const frame_case_t *cases, size_t n, size_t at, const char *field,
                        const char *echo_rid)
{
    for (size_t i = 0; i < n; i++) {
        proto_frame_t f[5];
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", "token:" TOK, "{\"name\":\"x\"}");
        f[at] = (proto_frame_t){cases[i].data, cases[i].size};
        char name[160], shown[64];
        snprintf(name, sizeof name, "%s \"%s\"", cases[i].label,
                 esc(cases[i].data, cases[i].size < 40 ? cases[i].size : 40, shown, sizeof shown));
        expect_bad_req(name, f, 5, field, echo_rid);
    }
}

/* f (5 frames) decodes, with credential cred and its text credential. */
static void expect_decodes(const proto_frame_t *f, proto_cred_t cred, const char *credential)
{
    proto_req_t req;
    decode_ok(f, &req, cred, credential);
    proto_req_clear(&req);
}

static void test_req_malformed(void)
{
    proto_frame_t f[8];
    const char *ok_body = "{\"name\":\"x\"}";
    /* A credential the codec accepts, so that each case fails for its frame. */
    const char *ok_cred = "token:" TOK;

    case_begin("request: the well-formed request every rejection below starts from decodes");
    req5(f, PROTO_SIGNATURE, "catalog.list", "r1", ok_cred, ok_body);
    expect_decodes(f, CRED_TOKEN, TOK);
    case_end();

    /* Frame counts. */
    static const size_t counts[] = {0, 1, 2, 3, 4, 6, 7, 8};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        char name[64];
        for (size_t k = 0; k < 8; k++)
            f[k] = fr("x");
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", ok_cred, ok_body);
        f[5] = fr("{}");
        snprintf(name, sizeof name, "%zu frames", counts[i]);
        expect_bad_req(name, counts[i] ? f : NULL, counts[i], "frames",
                       counts[i] >= 3 ? "r1" : NULL);
    }

    /* Signature (frame 0). */
    case_begin("request: the signature is CTR2 (PROTO_SIGNATURE) and a literal CTR2 decodes");
    CHECK_STR("PROTO_SIGNATURE", PROTO_SIGNATURE, "CTR2");
    req5(f, "CTR2", "catalog.list", "r1", "-", ok_body);
    expect_decodes(f, CRED_NONE, "");
    case_end();
    /* CTR1, the protocol before credentials, is refused as any other. */
    static const char *const sigs[] = {"CTR1", "ctr2", "CTR", "CTR2 ", "CTR20", "", "CTR\0",
                                       "CTR/2", "CTR1\0"};
    static const size_t siglens[] = {4, 4, 3, 5, 5, 0, 4, 5, 5};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        char name[64];
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", ok_cred, ok_body);
        f[0] = (proto_frame_t){sigs[i], siglens[i]};
        char shown[32];
        snprintf(name, sizeof name, "signature \"%s\" (%zu bytes)",
                 esc(sigs[i], siglens[i], shown, sizeof shown), siglens[i]);
        expect_bad_req(name, f, 5, "version", "r1");
    }

    /* Command (frame 1). */
    char *cmd64 = repeat('c', 64);
    static const frame_case_t cmds[] = {
        {"empty command", LIT("")},
        {"command with a space", LIT("catalog list")},
        {"command with a leading space", LIT(" catalog.list")},
        {"command with a newline", LIT("catalog.list\n")},
        {"command with a tab", LIT("catalog\t.list")},
        {"command with a NUL byte", LIT("catalog\0list")},
        {"command with a control char 0x01", LIT("catalog\x01list")},
        {"command with DEL 0x7f", LIT("catalog\x7flist")},
        {"command with UTF-8 bytes", LIT("caf\xc3\xa9")},
    };
    reject_each(cmds, sizeof cmds / sizeof cmds[0], 1, "command", "r1");
    req5(f, PROTO_SIGNATURE, cmd64, "r1", ok_cred, ok_body);
    expect_bad_req("command of 64 bytes (longer than the 63 the decoder holds)", f, 5, "command",
                   "r1");
    free(cmd64);

    /* Request id (frame 2). */
    char *rid65 = repeat('r', PROTO_MAX_ID + 1);
    static const frame_case_t rids[] = {
        {"empty request id", LIT("")},
        {"request id with a space", LIT("r 1")},
        {"request id with a newline", LIT("r1\n")},
        {"request id with a NUL byte", LIT("r\0001")},
        {"request id with a high byte", LIT("r\xff")},
    };
    reject_each(rids, sizeof rids / sizeof rids[0], 2, "request_id", "");
    req5(f, PROTO_SIGNATURE, "catalog.list", rid65, ok_cred, ok_body);
    expect_bad_req("request id of 65 bytes (> PROTO_MAX_ID)", f, 5, "request_id", "");
    free(rid65);

    /* Credential (frame 3): "-", token:TOKEN or system:NAME, nothing else.
     * A claimed role:subject (CTR/1's caller frame) is refused. */
    static const frame_case_t creds[] = {
        {"empty credential", LIT("")},
        {"CTR/1 caller manager:lee", LIT("manager:lee")},
        {"CTR/1 caller manager:1", LIT("manager:1")},
        {"CTR/1 caller customer:1", LIT("customer:1")},
        {"CTR/1 caller delivery:team-a", LIT("delivery:team-a")},
        {"CTR/1 caller customer:new", LIT("customer:new")},
        {"a bare role", LIT("manager")},
        {"anonymous spelled out", LIT("anonymous")},
        {"two dashes", LIT("--")},
        {"dash and text", LIT("-x")},
        {"dash with a trailing space", LIT("- ")},
        {"dash with a leading space", LIT(" -")},
        {"dash and a newline", LIT("-\n")},
        {"dash and a NUL byte", LIT("-\0")},
        {"token: with nothing after", LIT("token:")},
        {"token without the colon", LIT("token")},
        {"Token: capitalised", LIT("Token:" TOK)},
        {"TOKEN: in capitals", LIT("TOKEN:" TOK)},
        {"token : with a space", LIT("token :" TOK)},
        {"token: then a space", LIT("token: " TOK)},
        {"token with a space inside", LIT("token:eyJ2 IjoxfQ.c2ln")},
        {"token with a tab inside", LIT("token:eyJ2\tIjoxfQ.c2ln")},
        {"token with a trailing newline", LIT("token:" TOK "\n")},
        {"token with a NUL byte", LIT("token:eyJ2\0IjoxfQ")},
        {"token with a control char 0x01", LIT("token:eyJ2\x01IjoxfQ")},
        {"token with DEL 0x7f", LIT("token:eyJ2\x7fIjoxfQ")},
        {"token with UTF-8 bytes", LIT("token:caf\xc3\xa9")},
        {"bearer token (HTTP habit)", LIT("Bearer " TOK)},
        {"system: with nothing after", LIT("system:")},
        {"system without the colon", LIT("system")},
        {"System: capitalised", LIT("System:catalog")},
        {"system: name with a space", LIT("system:cata log")},
        {"system: name with a colon", LIT("system:cata:log")},
        {"system: name with a slash", LIT("system:cata/log")},
        {"system: name with a comma", LIT("system:a,b")},
        {"system: name with UTF-8 bytes", LIT("system:caf\xc3\xa9")},
        {"system: name with a control char", LIT("system:cata\x1blog")},
        {"system: with a trailing newline", LIT("system:catalog\n")},
        {"a control character alone", LIT("\x01")},
        {"an escape sequence", LIT("\x1b[2J")},
        {"a high byte", LIT("\xff")},
    };
    reject_each(creds, sizeof creds / sizeof creds[0], 3, "credential", "r1");
    {
        /* Over-long: a system name of 64 bytes (subjects hold 63), and a
         * credential frame of PROTO_MAX_CRED + 1 bytes, a token or "-" padded. */
        char *name64 = repeat('s', PROTO_MAX_ID);
        char sys[PROTO_MAX_ID + 16];
        snprintf(sys, sizeof sys, "system:%s", name64);
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", sys, ok_body);
        expect_bad_req("system: name of 64 bytes (> 63)", f, 5, "credential", "r1");
        sys[strlen(sys) - 1] = '\0';
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", sys, ok_body);
        case_begin("request: system: name of 63 bytes accepted");
        expect_decodes(f, CRED_SYSTEM, sys + strlen("system:"));
        case_end();
        free(name64);

        char *tok = repeat('t', PROTO_MAX_CRED + 1 - strlen("token:"));
        char cred[PROTO_MAX_CRED + 2];
        snprintf(cred, sizeof cred, "token:%s", tok);
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", cred, ok_body);
        char name[96];
        snprintf(name, sizeof name, "token credential of %zu bytes (limit %d)", f[3].size,
                 PROTO_MAX_CRED);
        expect_bad_req(name, f, 5, "credential", "r1");
        char *far = repeat('t', 4 * PROTO_MAX_CRED);
        memcpy(far, "token:", 6);
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", far, ok_body);
        snprintf(name, sizeof name, "token credential of %zu bytes", f[3].size);
        expect_bad_req(name, f, 5, "credential", "r1");
        free(far);
        free(tok);
    }

    /* Body (frame 4). */
    static const frame_case_t bodies[] = {
        {"empty body", LIT("")},
        {"body not JSON", LIT("name=x")},
        {"body truncated JSON", LIT("{\"name\":")},
        {"body with trailing garbage", LIT("{} x")},
        {"body two objects", LIT("{}{}")},
        {"body a JSON array", LIT("[1,2]")},
        {"body an empty array", LIT("[]")},
        {"body a string", LIT("\"x\"")},
        {"body a number", LIT("5")},
        {"body null", LIT("null")},
        {"body with duplicate keys", LIT("{\"name\":\"a\",\"name\":\"b\"}")},
        {"body with nested duplicate keys", LIT("{\"a\":{\"b\":1,\"b\":2}}")},
        {"body with a raw NUL byte", LIT("{\"a\":\"x\0y\"}")},
        {"body with an escaped NUL (\\u0000)", LIT("{\"a\":\"\\u0000\"}")},
        {"body with invalid UTF-8", LIT("{\"a\":\"\xff\"}")},
        {"body with a raw newline in a string", LIT("{\"a\":\"x\ny\"}")},
        {"body with a lone surrogate", LIT("{\"a\":\"\\ud800\"}")},
        {"body with an integer too big", LIT("{\"a\":99999999999999999999999}")},
    };
    reject_each(bodies, sizeof bodies / sizeof bodies[0], 4, "body", "r1");
    {
        /* A valid JSON object one byte over the limit. */
        size_t pad = PROTO_MAX_BODY + 1 - strlen("{\"k\":\"\"}");
        char *fill = repeat('x', pad);
        char *body = malloc(PROTO_MAX_BODY + 2);
        snprintf(body, PROTO_MAX_BODY + 2, "{\"k\":\"%s\"}", fill);
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", ok_cred, body);
        char name[64];
        snprintf(name, sizeof name, "body of %zu bytes (limit %d)", f[4].size, PROTO_MAX_BODY);
        expect_bad_req(name, f, 5, "body", "r1");
        free(fill);
        free(body);
    }
    {
        /* Deep nesting inside the size limit must be refused, not recursed into. */
        size_t depth = 30000;
        char *body = malloc(2 * depth + 16);
        size_t k = strlen("{\"a\":");
        memcpy(body, "{\"a\":", k);
        for (size_t i = 0; i < depth; i++)
            body[k++] = '[';
        for (size_t i = 0; i < depth; i++)
            body[k++] = ']';
        body[k++] = '}';
        body[k] = '\0';
        req5(f, PROTO_SIGNATURE, "catalog.list", "r1", ok_cred, body);
        expect_bad_req("body nested 30000 arrays deep", f, 5, "body", "r1");
        free(body);
    }
}

/* ---- malformed replies ---------------------------------------------------- */

static void expect_bad_rep(const char *name, const proto_frame_t *f, size_t n)
{
    case_begin("reply rejected: %s", name);
    proto_rep_t rep;
    int rc = proto_rep_decode(f, n, &rep);
    CHECK_INT("return code", rc, -1);
    CHECK("rep.body is NULL", rep.body == NULL);
    proto_rep_clear(&rep);
    case_end();
}

static void test_rep_malformed(void)
{
    proto_frame_t f[6] = {fr(PROTO_SIGNATURE), fr("r1"), fr("ok"), fr("{}"), fr("{}"), fr("{}")};
    expect_bad_rep("0 frames", NULL, 0);
    expect_bad_rep("3 frames", f, 3);
    expect_bad_rep("5 frames", f, 5);
    static const char *const statuses[] = {"okay", "OK", "", "error", "bad request", "ok\n"};
    for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
        proto_frame_t g[4] = {fr(PROTO_SIGNATURE), fr("r1"), fr(statuses[i]), fr("{}")};
        char name[64];
        char shown[32];
        snprintf(name, sizeof name, "unknown status \"%s\"",
                 esc(statuses[i], strlen(statuses[i]), shown, sizeof shown));
        expect_bad_rep(name, g, 4);
    }
    static const char *const bodies[] = {"", "not json", "{", "[1]", "\"x\"", "{\"a\":1,\"a\":2}"};
    static const char *const labels[] = {"empty body", "body not JSON", "body truncated",
                                         "body an array", "body a string", "body duplicate keys"};
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        proto_frame_t g[4] = {fr(PROTO_SIGNATURE), fr("r1"), fr("ok"), fr(bodies[i])};
        expect_bad_rep(labels[i], g, 4);
    }
    {
        proto_frame_t g[4] = {fr("CTR1"), fr("r1"), fr("ok"), fr("{}")};
        expect_bad_rep("wrong signature (CTR1)", g, 4);
        proto_frame_t h[4] = {fr(PROTO_SIGNATURE), fr(""), fr("ok"), fr("{}")};
        expect_bad_rep("empty request id", h, 4);
        char *rid = repeat('r', PROTO_MAX_ID + 1);
        proto_frame_t k[4] = {fr(PROTO_SIGNATURE), fr(rid), fr("ok"), fr("{}")};
        expect_bad_rep("request id of 65 bytes", k, 4);
        free(rid);
    }
}

/* ---- the command table and proto_validate --------------------------------- */

static json_t *valid_value(const proto_field_t *f)
{
    switch (f->type) {
    case FT_INT:
        return json_integer(1);
    case FT_STR:
        return json_string("x");
    case FT_BOOL:
        return json_true();
    }
    return json_null();
}

static const proto_field_t *first_optional(const proto_cmd_t *c)
{
    for (const proto_field_t *f = c->fields; f->name; f++)
        if (!(f->flags & FF_REQUIRED))
            return f;
    return NULL;
}

/* Required fields with valid values, plus one optional field for updates
 * (any_field commands need at least one). New reference. */
static json_t *base_body(const proto_cmd_t *c)
{
    json_t *b = json_object();
    for (const proto_field_t *f = c->fields; f->name; f++)
        if (f->flags & FF_REQUIRED)
            json_object_set_new(b, f->name, valid_value(f));
    if (c->any_field) {
        const proto_field_t *o = first_optional(c);
        if (o)
            json_object_set_new(b, o->name, valid_value(o));
    }
    return b;
}

/* Validate body; record a failure unless it is accepted unchanged (no aliases
 * in body, so the canonical copy must equal it). */
static void expect_accept(const proto_cmd_t *c, json_t *body, const char *what)
{
    proto_err_t err;
    err_poison(&err);
    json_t *before = json_deep_copy(body);
    json_t *out = proto_validate(c, body, &err);
    char a[300], b[300];
    if (!out) {
        case_fail("%s: %s rejected %s (field %s: %s), expected accepted", what, c->name,
                  json_text_or(body, a, sizeof a), err.field, err.message);
    } else if (!json_equal(out, body)) {
        case_fail("%s: validated copy %s, expected %s", what, json_text_or(out, a, sizeof a),
                  json_text_or(body, b, sizeof b));
    } else if (out == body) {
        case_fail("%s: got the caller's object back, expected a new object", what);
    }
    if (!json_equal(before, body))
        case_fail("%s: proto_validate modified the caller's body", what);
    json_decref(out);
    json_decref(before);
}

/* Validate body; record a failure unless it is rejected as bad_request naming field. */
static void expect_reject(const proto_cmd_t *c, json_t *body, const char *field, const char *what)
{
    proto_err_t err;
    err_poison(&err);
    json_t *out = proto_validate(c, body, &err);
    char a[300];
    if (out) {
        case_fail("%s: %s accepted %s, expected bad_request field=%s", what, c->name,
                  json_text_or(body, a, sizeof a), field);
        json_decref(out);
        return;
    }
    if (err.status != ERR_BAD_REQUEST)
        case_fail("%s: status got %s, expected bad_request", what, proto_status_name(err.status));
    else if (strcmp(err.field, field) != 0)
        case_fail("%s: err.field got \"%s\", expected \"%s\" (%s)", what, err.field, field,
                  err.message);
    else if (strlen(err.message) < 5)
        case_fail("%s: err.message got \"%s\", expected a sentence", what, err.message);
}

/* body = base + field=value (stolen), then expect reject naming the field. */
static void reject_with(const proto_cmd_t *c, const proto_field_t *f, json_t *value,
                        const char *what)
{
    json_t *b = base_body(c);
    json_object_set_new(b, f->name, value);
    char w[160];
    snprintf(w, sizeof w, "%s=%s", f->name, what);
    expect_reject(c, b, f->name, w);
    json_decref(b);
}

static void accept_with(const proto_cmd_t *c, const proto_field_t *f, json_t *value,
                        const char *what)
{
    json_t *b = base_body(c);
    json_object_set_new(b, f->name, value);
    char w[160];
    snprintf(w, sizeof w, "%s=%s", f->name, what);
    expect_accept(c, b, w);
    json_decref(b);
}

static int has_field(const proto_cmd_t *c, proto_ftype_t type, unsigned flags)
{
    for (const proto_field_t *f = c->fields; f->name; f++)
        if (f->type == type && (f->flags & flags) == flags)
            return 1;
    return 0;
}

static void test_table(void)
{
    size_t n = ncommands();
    case_begin("command table: %zu commands, names unique, proto_cmd_find finds each", n);
    CHECK("at least one command", n > 0);
    for (size_t i = 0; i < n; i++) {
        const proto_cmd_t *c = proto_cmd_at(i);
        char what[128];
        snprintf(what, sizeof what, "proto_cmd_find(\"%s\") == proto_cmd_at(%zu)", c->name, i);
        CHECK(what, proto_cmd_find(c->name) == c);
        snprintf(what, sizeof what, "%s: has a known service (got \"%s\")", c->name, UNIT_S(c->service));
        CHECK(what, c->service && (strcmp(c->service, "*") == 0 || config_service_known(c->service)));
        snprintf(what, sizeof what, "%s: allows some role", c->name);
        CHECK(what, (c->roles & ROLE_ANY) != 0);
        snprintf(what, sizeof what, "%s: has a summary", c->name);
        CHECK(what, c->summary && *c->summary);
        /* The name must survive the decoder's command frame. */
        snprintf(what, sizeof what, "%s: name is a printable token < 64 bytes", c->name);
        int tok = strlen(c->name) > 0 && strlen(c->name) < 64;
        for (const char *p = c->name; *p; p++)
            if (*p <= 0x20 || *p >= 0x7f)
                tok = 0;
        CHECK(what, tok);
        size_t nf = 0;
        for (const proto_field_t *f = c->fields; f->name; f++, nf++) {
            snprintf(what, sizeof what, "%s.%s: name fits proto_err_t.field", c->name, f->name);
            CHECK(what, strlen(f->name) < sizeof ((proto_err_t *)0)->field);
            for (const proto_field_t *g = c->fields; g != f; g++) {
                snprintf(what, sizeof what, "%s: field %s is unique", c->name, f->name);
                CHECK(what, strcmp(f->name, g->name) != 0);
            }
            snprintf(what, sizeof what, "%s.%s: integer flags only on integers", c->name, f->name);
            CHECK(what, f->type == FT_INT || !(f->flags & (FF_NONNEG | FF_POSITIVE)));
            snprintf(what, sizeof what, "%s.%s: NONEMPTY only on strings", c->name, f->name);
            CHECK(what, f->type == FT_STR || !(f->flags & FF_NONEMPTY));
        }
        snprintf(what, sizeof what, "%s: field list terminated within the array", c->name);
        CHECK(what, nf < NFIELDS_MAX);
        if (c->any_field) {
            snprintf(what, sizeof what, "%s: any_field command has an optional field", c->name);
            CHECK(what, first_optional(c) != NULL);
        }
        for (size_t j = 0; j < i; j++) {
            snprintf(what, sizeof what, "command %s is unique", c->name);
            CHECK(what, strcmp(proto_cmd_at(j)->name, c->name) != 0);
        }
    }
    CHECK("proto_cmd_at(past the end) is NULL", proto_cmd_at(n) == NULL);
    CHECK("proto_cmd_at(SIZE_MAX) is NULL", proto_cmd_at((size_t)-1) == NULL);
    CHECK("proto_cmd_find(\"nope\") is NULL", proto_cmd_find("nope") == NULL);
    CHECK("proto_cmd_find(\"\") is NULL", proto_cmd_find("") == NULL);
    CHECK("proto_cmd_find(\"CATALOG.ADD\") is NULL", proto_cmd_find("CATALOG.ADD") == NULL);
    case_end();
}

static void test_validate_command(const proto_cmd_t *c)
{
    char w[200];

    case_begin("validate %s: accepts its required fields with valid values", c->name);
    json_t *b = base_body(c);
    expect_accept(c, b, "base body");
    json_decref(b);
    case_end();

    if (c->fields[0].name) {
        case_begin("validate %s: accepts every field at once", c->name);
        b = json_object();
        for (const proto_field_t *f = c->fields; f->name; f++)
            json_object_set_new(b, f->name, valid_value(f));
        expect_accept(c, b, "all fields");
        json_decref(b);
        case_end();
    }

    int nreq = 0;
    for (const proto_field_t *f = c->fields; f->name; f++)
        nreq += !!(f->flags & FF_REQUIRED);
    if (nreq) {
        case_begin("validate %s: rejects a missing required field, naming it", c->name);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (!(f->flags & FF_REQUIRED))
                continue;
            b = base_body(c);
            json_object_del(b, f->name);
            snprintf(w, sizeof w, "without %s", f->name);
            expect_reject(c, b, f->name, w);
            json_decref(b);
        }
        case_end();
    }

    case_begin("validate %s: rejects an unknown field, naming it", c->name);
    b = base_body(c);
    json_object_set_new(b, "zz_unknown", json_integer(1));
    expect_reject(c, b, "zz_unknown", "zz_unknown=1");
    json_decref(b);
    /* Field names are exact: a capitalised name is not the field. */
    if (c->fields[0].name) {
        char upper[64];
        snprintf(upper, sizeof upper, "%s", c->fields[0].name);
        upper[0] = (char)toupper((unsigned char)upper[0]);
        b = base_body(c);
        json_object_set_new(b, upper, valid_value(&c->fields[0]));
        snprintf(w, sizeof w, "%s (capitalised)", upper);
        expect_reject(c, b, upper, w);
        json_decref(b);
    }
    case_end();

    case_begin("validate %s: rejects a body that is not an object", c->name);
    {
        json_t *arr = json_array();
        proto_err_t err;
        err_poison(&err);
        json_t *out = proto_validate(c, arr, &err);
        CHECK("array body rejected", out == NULL);
        CHECK_STR("err.status", proto_status_name(err.status), "bad_request");
        json_decref(out);
        json_decref(arr);
        err_poison(&err);
        out = proto_validate(c, NULL, &err);
        CHECK("NULL body rejected", out == NULL);
        CHECK_STR("err.status", proto_status_name(err.status), "bad_request");
        json_decref(out);
    }
    case_end();

    if (has_field(c, FT_INT, 0)) {
        case_begin("validate %s: rejects an integer field given as another type", c->name);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_INT)
                continue;
            reject_with(c, f, json_string("1"), "\"1\"");
            reject_with(c, f, json_string(""), "\"\"");
            reject_with(c, f, json_real(1.0), "1.0");
            reject_with(c, f, json_real(1.5), "1.5");
            reject_with(c, f, json_true(), "true");
            reject_with(c, f, json_null(), "null");
            reject_with(c, f, json_pack("[i]", 1), "[1]");
            reject_with(c, f, json_pack("{s:i}", "v", 1), "{\"v\":1}");
        }
        case_end();

        case_begin("validate %s: integers beyond +-10^12 rejected, 10^12 accepted", c->name);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_INT)
                continue;
            accept_with(c, f, json_integer(1000000000000LL), "10^12");
            reject_with(c, f, json_integer(1000000000001LL), "10^12+1");
            reject_with(c, f, json_integer(INT64_MAX), "INT64_MAX");
            reject_with(c, f, json_integer(INT64_MIN), "INT64_MIN");
        }
        case_end();
    }

    if (has_field(c, FT_INT, FF_NONNEG)) {
        case_begin("validate %s: FF_NONNEG rejects -1, accepts 0", c->name);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_INT || !(f->flags & FF_NONNEG))
                continue;
            reject_with(c, f, json_integer(-1), "-1");
            accept_with(c, f, json_integer(0), "0");
        }
        case_end();
    }

    if (has_field(c, FT_INT, FF_POSITIVE)) {
        case_begin("validate %s: FF_POSITIVE rejects 0 and -1, accepts 1", c->name);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_INT || !(f->flags & FF_POSITIVE))
                continue;
            reject_with(c, f, json_integer(0), "0");
            reject_with(c, f, json_integer(-1), "-1");
            accept_with(c, f, json_integer(1), "1");
        }
        case_end();
    }

    if (has_field(c, FT_STR, FF_NONEMPTY)) {
        case_begin("validate %s: FF_NONEMPTY rejects empty and blank strings", c->name);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_STR || !(f->flags & FF_NONEMPTY))
                continue;
            reject_with(c, f, json_string(""), "\"\"");
            reject_with(c, f, json_string(" "), "\" \"");
            reject_with(c, f, json_string("   "), "\"   \"");
            accept_with(c, f, json_string(" a "), "\" a \"");
        }
        case_end();
    }

    if (has_field(c, FT_STR, 0)) {
        case_begin("validate %s: strings: control chars, NUL and > 200 bytes rejected", c->name);
        char *s200 = repeat('x', PROTO_MAX_STR), *s201 = repeat('x', PROTO_MAX_STR + 1);
        /* 67 three-byte Korean syllables: 201 bytes, 67 characters. */
        char kor[3 * 67 + 1];
        for (int i = 0; i < 67; i++)
            memcpy(kor + 3 * i, "\xea\xb9\x80", 3);
        kor[3 * 67] = '\0';
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_STR)
                continue;
            reject_with(c, f, json_string("a\x01" "b"), "\"a\\u0001b\"");
            reject_with(c, f, json_string("a\nb"), "\"a\\nb\"");
            reject_with(c, f, json_string("a\tb"), "\"a\\tb\"");
            reject_with(c, f, json_string("a\x1b[2J"), "\"\\u001b[2J\"");
            reject_with(c, f, json_string("a\x7f"), "\"a\\u007f\"");
            reject_with(c, f, json_stringn("a\0b", 3), "\"a\\u0000b\"");
            reject_with(c, f, json_string(s201), "201 bytes");
            reject_with(c, f, json_string(kor), "67 Korean syllables (201 bytes)");
            reject_with(c, f, json_integer(5), "5");
            reject_with(c, f, json_true(), "true");
            reject_with(c, f, json_null(), "null");
            accept_with(c, f, json_string(s200), "200 bytes");
            accept_with(c, f, json_string("\xea\xb9\x80\xeb\xb0\xa5 & \"toast\""), "UTF-8");
            if (!(f->flags & FF_NONEMPTY))
                accept_with(c, f, json_string(""), "\"\"");
        }
        free(s200);
        free(s201);
        case_end();
    }

    if (has_field(c, FT_BOOL, 0)) {
        case_begin("validate %s: booleans reject strings and numbers", c->name);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_BOOL)
                continue;
            reject_with(c, f, json_string("true"), "\"true\"");
            reject_with(c, f, json_integer(1), "1");
            accept_with(c, f, json_false(), "false");
        }
        case_end();
    }

    if (c->any_field) {
        case_begin("validate %s: an update with only the required fields is rejected", c->name);
        b = json_object();
        for (const proto_field_t *f = c->fields; f->name; f++)
            if (f->flags & FF_REQUIRED)
                json_object_set_new(b, f->name, valid_value(f));
        proto_err_t err;
        err_poison(&err);
        json_t *out = proto_validate(c, b, &err);
        char a[200];
        if (out)
            case_fail("%s accepted %s, expected bad_request", c->name, json_text_or(b, a, sizeof a));
        CHECK_STR("err.status", proto_status_name(err.status), "bad_request");
        CHECK("err.message says why", strlen(err.message) > 5);
        json_decref(out);
        json_decref(b);
        case_end();
    }
}

static void test_validate_aliases(void)
{
    size_t naliases = 0;
    case_begin("validate: aliases are rewritten to canonical names");
    for (size_t i = 0; proto_cmd_at(i); i++) {
        const proto_cmd_t *c = proto_cmd_at(i);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (!f->aliases)
                continue;
            const char *p = f->aliases;
            while (*p) {
                while (*p == ' ')
                    p++;
                size_t len = strcspn(p, " ");
                if (len == 0)
                    break;
                char a[64];
                snprintf(a, sizeof a, "%.*s", (int)len, p);
                p += len;
                naliases++;
                char w[200];
                /* The alias alone: accepted, with the canonical name in the copy. */
                json_t *b = base_body(c);
                json_object_del(b, f->name);
                json_object_set_new(b, a, valid_value(f));
                proto_err_t err;
                err_poison(&err);
                json_t *out = proto_validate(c, b, &err);
                snprintf(w, sizeof w, "%s: %s as alias %s", c->name, f->name, a);
                if (!out) {
                    case_fail("%s: rejected (field %s: %s), expected accepted", w, err.field,
                              err.message);
                } else {
                    CHECK(w, json_object_get(out, f->name) != NULL);
                    CHECK(w, json_object_get(out, a) == NULL);
                }
                json_decref(out);
                /* Aliases match case-insensitively (SPEC, Field rules). */
                char upper[64];
                for (size_t k = 0; k <= strlen(a); k++)
                    upper[k] = (char)toupper((unsigned char)a[k]);
                json_t *ub = base_body(c);
                json_object_del(ub, f->name);
                json_object_set_new(ub, upper, valid_value(f));
                err_poison(&err);
                out = proto_validate(c, ub, &err);
                snprintf(w, sizeof w, "%s: %s as alias %s", c->name, f->name, upper);
                if (!out)
                    case_fail("%s: rejected (field %s: %s), expected accepted", w, err.field,
                              err.message);
                else
                    CHECK(w, json_object_get(out, f->name) != NULL);
                json_decref(out);
                json_decref(ub);
                /* Both the alias and the name: given twice. */
                json_object_set_new(b, f->name, valid_value(f));
                snprintf(w, sizeof w, "%s: %s and its alias %s together", c->name, f->name, a);
                expect_reject(c, b, f->name, w);
                json_decref(b);
                /* An alias is a whole word, not a prefix. */
                char longer[80];
                snprintf(longer, sizeof longer, "%szz", a);
                b = base_body(c);
                json_object_set_new(b, longer, valid_value(f));
                snprintf(w, sizeof w, "%s: %s (alias %s plus a suffix)", c->name, longer, a);
                expect_reject(c, b, longer, w);
                json_decref(b);
                /* key=value words accept the alias too. */
                json_t *kvb = json_object();
                char kv[128];
                snprintf(kv, sizeof kv, "%s=%s", a, f->type == FT_STR ? "x" : "1");
                snprintf(w, sizeof w, "proto_set_kv(%s)", kv);
                err_poison(&err);
                CHECK_INT(w, proto_set_kv(c, kvb, kv, &err), 0);
                CHECK(w, json_object_get(kvb, f->name) != NULL);
                json_decref(kvb);
            }
        }
    }
    if (naliases == 0) {
        /* Nothing to prove yet; say so instead of passing silently. */
        snprintf(unit_.name, sizeof unit_.name,
                 "validate: aliases are rewritten to canonical names # SKIP no field of the "
                 "command table has aliases");
    }
    case_end();
}

static void test_validate(void)
{
    test_table();
    for (size_t i = 0; proto_cmd_at(i); i++)
        test_validate_command(proto_cmd_at(i));
    test_validate_aliases();

    /* The same field twice can only come from an alias or from code that
     * builds bodies by hand; the decoder already refuses duplicate keys. */
    const proto_cmd_t *add = proto_cmd_find("catalog.add");
    case_begin("validate catalog.add: stock given as -1 through key=value is rejected later");
    if (!add) {
        case_fail("proto_cmd_find(\"catalog.add\"): got NULL, expected the command");
    } else {
        json_t *b = json_object();
        proto_err_t err;
        err_poison(&err);
        CHECK_INT("proto_set_kv(name=pizza)", proto_set_kv(add, b, "name=pizza", &err), 0);
        CHECK_INT("proto_set_kv(price=1000)", proto_set_kv(add, b, "price=1000", &err), 0);
        CHECK_INT("proto_set_kv(stock=-1)", proto_set_kv(add, b, "stock=-1", &err), 0);
        expect_reject(add, b, "stock", "stock=-1");
        json_decref(b);
    }
    case_end();
}

/* ---- proto_set_kv ------------------------------------------------------------- */

static void kv_ok(const proto_cmd_t *c, const char *kv, const char *key, json_t *want)
{
    case_begin("set_kv %s: \"%s\" -> %s", c ? c->name : "?", kv, key);
    if (!c) {
        case_fail("command: got NULL, expected a command from the table");
        json_decref(want);
        case_end();
        return;
    }
    json_t *b = json_object();
    proto_err_t err;
    err_poison(&err);
    int rc = proto_set_kv(c, b, kv, &err);
    if (rc != 0)
        case_fail("return code: got %d (%s), expected 0", rc, err.message);
    json_t *got = json_object_get(b, key);
    char g[128], w[128];
    if (!json_equal(got, want))
        case_fail("%s: got %s, expected %s", key, json_text_or(got, g, sizeof g),
                  json_text_or(want, w, sizeof w));
    CHECK_INT("keys in body", json_object_size(b), 1);
    json_decref(b);
    json_decref(want);
    case_end();
}

static void kv_bad(const proto_cmd_t *c, json_t *b, const char *kv, const char *field,
                   const char *label)
{
    case_begin("set_kv %s: %s \"%s\" rejected", c ? c->name : "?", label, kv);
    if (!c) {
        case_fail("command: got NULL, expected a command from the table");
        case_end();
        return;
    }
    json_t *own = NULL;
    if (!b)
        b = own = json_object();
    json_t *before = json_deep_copy(b);
    proto_err_t err;
    err_poison(&err);
    int rc = proto_set_kv(c, b, kv, &err);
    CHECK_INT("return code", rc, -1);
    CHECK_STR("err.status", proto_status_name(err.status), "bad_request");
    if (field)
        CHECK_STR("err.field", err.field, field);
    CHECK("err.message is a sentence", strlen(err.message) > 5);
    CHECK("body unchanged", json_equal(before, b));
    json_decref(before);
    json_decref(own);
    case_end();
}

static void test_set_kv(void)
{
    const proto_cmd_t *cust = proto_cmd_find("customer.add");
    const proto_cmd_t *cat = proto_cmd_find("catalog.add");
    const proto_cmd_t *upd = proto_cmd_find("catalog.update");

    kv_ok(cust, "age=29", "age", json_integer(29));
    kv_ok(cust, "age=0", "age", json_integer(0));
    kv_ok(cust, "age=+7", "age", json_integer(7));
    kv_ok(cust, "phone=010", "phone", json_string("010"));
    kv_ok(cust, "phone=", "phone", json_string(""));
    kv_ok(cust, "name=lee", "name", json_string("lee"));
    kv_ok(cust, "name=a=b", "name", json_string("a=b"));
    kv_ok(cust, "address=seoul jung-gu", "address", json_string("seoul jung-gu"));
    kv_ok(cust, "name=\xea\xb9\x80\xeb\xb0\xa5", "name", json_string("\xea\xb9\x80\xeb\xb0\xa5"));
    kv_ok(cat, "stock=-1", "stock", json_integer(-1));
    kv_ok(cat, "price=999999999999", "price", json_integer(999999999999LL));
    kv_ok(upd, "id=12", "id", json_integer(12));

    kv_bad(cust, NULL, "age=abc", "age", "integer field with letters");
    kv_bad(cust, NULL, "age=", "age", "integer field empty");
    kv_bad(cust, NULL, "age=-", "age", "integer field only a sign");
    kv_bad(cust, NULL, "age=2 9", "age", "integer field with a space");
    kv_bad(cust, NULL, "age= 29", "age", "integer field with a leading space");
    kv_bad(cust, NULL, "age=29x", "age", "integer field with a suffix");
    kv_bad(cust, NULL, "age=0x1d", "age", "integer field in hex");
    kv_bad(cust, NULL, "age=1.5", "age", "integer field a decimal");
    kv_bad(cust, NULL, "age=99999999999999999999", "age", "integer field overflowing");
    kv_bad(cust, NULL, "noequals", NULL, "word without '='");
    kv_bad(cust, NULL, "", NULL, "empty word");
    kv_bad(cust, NULL, "=x", NULL, "empty key");
    kv_bad(cust, NULL, "=", NULL, "only '='");
    kv_bad(cust, NULL, "color=red", "color", "unknown key");
    kv_bad(cust, NULL, "Name=lee", "Name", "key in the wrong case");
    kv_bad(cust, NULL, "name=\xff\xfe", "name", "invalid UTF-8 value");
    {
        char kv[200];
        char *k = repeat('k', 100);
        snprintf(kv, sizeof kv, "%s=1", k);
        kv_bad(cust, NULL, kv, NULL, "100-byte key");
        free(k);
    }
    json_t *b = json_object();
    json_object_set_new(b, "age", json_integer(29));
    kv_bad(cust, b, "age=30", "age", "duplicate key");
    json_object_set_new(b, "name", json_string("lee"));
    kv_bad(cust, b, "name=kim", "name", "duplicate string key");
    json_decref(b);
}

/* ---- callers, events, helpers --------------------------------------------- */

static void test_caller_parse(void)
{
    static const struct {
        const char *s;
        unsigned role;
        const char *subject;
    } good[] = {
        {"customer:1", ROLE_CUSTOMER, "1"},
        {"manager:lee", ROLE_MANAGER, "lee"},
        {"delivery:team-a", ROLE_DELIVERY, "team-a"},
        {"system:catalog", ROLE_SYSTEM, "catalog"},
        {"delivery:a.b_c-d@e", ROLE_DELIVERY, "a.b_c-d@e"},
    };
    case_begin("caller_parse: role:subject accepted for every role");
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        proto_caller_t c;
        memset(&c, 0xab, sizeof c);
        char what[96];
        snprintf(what, sizeof what, "proto_caller_parse(\"%s\")", good[i].s);
        CHECK_INT(what, proto_caller_parse(good[i].s, &c), 0);
        CHECK_INT(what, c.role, good[i].role);
        CHECK_STR(what, c.subject, good[i].subject);
    }
    {
        char s[PROTO_MAX_ID + 16];
        char *sub = repeat('s', PROTO_MAX_ID - 1);
        snprintf(s, sizeof s, "system:%s", sub);
        proto_caller_t c;
        CHECK_INT("subject of 63 bytes", proto_caller_parse(s, &c), 0);
        CHECK_INT("subject of 63 bytes: length", strlen(c.subject), PROTO_MAX_ID - 1);
        free(sub);
    }
    case_end();

    static const char *const bad[] = {
        "",          ":",         "customer",   "customer:",   "customer: ",   ":1",
        "admin:1",   "Customer:1", "customer :1", "customer:a b", "customer:a:b", "customer:a/b",
        "customer:\xc3\xa9", "customerx:1", "custome:1", "customer:1\n", "customer:a,b",
        "customer:new", "anonymous:x", "-", "token:abc", "system:",
    };
    case_begin("caller_parse: malformed callers rejected");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        proto_caller_t c;
        char what[96];
        snprintf(what, sizeof what, "proto_caller_parse(\"%s\")", bad[i]);
        CHECK_INT(what, proto_caller_parse(bad[i], &c), -1);
    }
    {
        char s[PROTO_MAX_ID + 16];
        char *sub = repeat('s', PROTO_MAX_ID);
        snprintf(s, sizeof s, "system:%s", sub);
        proto_caller_t c;
        CHECK_INT("subject of 64 bytes (subject buffer holds 63)", proto_caller_parse(s, &c), -1);
        free(sub);
    }
    case_end();

    case_begin("role names: each role bit has its name, others are \"?\"");
    CHECK_STR("customer", proto_role_name(ROLE_CUSTOMER), "customer");
    CHECK_STR("manager", proto_role_name(ROLE_MANAGER), "manager");
    CHECK_STR("delivery", proto_role_name(ROLE_DELIVERY), "delivery");
    CHECK_STR("system", proto_role_name(ROLE_SYSTEM), "system");
    CHECK_STR("0", proto_role_name(0), "?");
    CHECK_STR("ROLE_ANY", proto_role_name(ROLE_ANY), "?");
    CHECK_STR("ROLE_ANON", proto_role_name(ROLE_ANON), "anonymous");
    CHECK("ROLE_ANON is outside ROLE_ANY (no credential proves no one)", !(ROLE_ANON & ROLE_ANY));
    case_end();

    case_begin("proto_role_from_name: the four role names and nothing else");
    static const struct {
        const char *name;
        unsigned role;
    } names[] = {
        {"customer", ROLE_CUSTOMER}, {"manager", ROLE_MANAGER}, {"delivery", ROLE_DELIVERY},
        {"system", ROLE_SYSTEM},     {"", 0},                  {"Customer", 0},
        {"MANAGER", 0},              {"manager ", 0},          {" manager", 0},
        {"manage", 0},               {"managers", 0},          {"anonymous", 0},
        {"admin", 0},                {"root", 0},              {"?", 0},
        {"-", 0},                    {"token", 0},             {"customer:1", 0},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "proto_role_from_name(\"%s\")", names[i].name);
        CHECK_INT(what, proto_role_from_name(names[i].name), names[i].role);
        if (names[i].role) {
            snprintf(what, sizeof what, "proto_role_name(proto_role_from_name(\"%s\"))",
                     names[i].name);
            CHECK_STR(what, proto_role_name(proto_role_from_name(names[i].name)), names[i].name);
        }
    }
    case_end();
}

static void test_subject_ok(void)
{
    static const struct {
        unsigned role;
        const char *s;
        bool ok;
    } cases[] = {
        /* A customer's subject: the customer id, 1 to 10^12, no leading zero. */
        {ROLE_CUSTOMER, "1", true},          {ROLE_CUSTOMER, "42", true},
        {ROLE_CUSTOMER, "1000000000000", true},
        {ROLE_CUSTOMER, "0", false},         {ROLE_CUSTOMER, "", false},
        {ROLE_CUSTOMER, "new", false},       {ROLE_CUSTOMER, "x", false},
        {ROLE_CUSTOMER, "-1", false},        {ROLE_CUSTOMER, "+1", false},
        {ROLE_CUSTOMER, "01", false},        {ROLE_CUSTOMER, "1x", false},
        {ROLE_CUSTOMER, "1.5", false},       {ROLE_CUSTOMER, " 1", false},
        {ROLE_CUSTOMER, "1000000000001", false},
        {ROLE_CUSTOMER, "99999999999999999999", false},
        {ROLE_CUSTOMER, "lee", false},
        /* Staff and services: a login, letters, digits and "-_.@". */
        {ROLE_MANAGER, "lee", true},         {ROLE_MANAGER, "0", true},
        {ROLE_MANAGER, "a.b_c-d@e", true},   {ROLE_DELIVERY, "team-a", true},
        {ROLE_SYSTEM, "catalog", true},      {ROLE_SYSTEM, "order", true},
        {ROLE_MANAGER, "", false},           {ROLE_MANAGER, "a b", false},
        {ROLE_MANAGER, "a:b", false},        {ROLE_MANAGER, "a/b", false},
        {ROLE_MANAGER, "a,b", false},        {ROLE_MANAGER, "lee\n", false},
        {ROLE_DELIVERY, "caf\xc3\xa9", false}, {ROLE_DELIVERY, "a\tb", false},
        {ROLE_SYSTEM, "cata log", false},    {ROLE_SYSTEM, "\x1b[2J", false},
    };
    case_begin("proto_subject_ok: customer ids for customers, logins for staff and services");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96], shown[48];
        snprintf(what, sizeof what, "proto_subject_ok(%s, \"%s\")", proto_role_name(cases[i].role),
                 esc(cases[i].s, strlen(cases[i].s), shown, sizeof shown));
        CHECK_INT(what, proto_subject_ok(cases[i].role, cases[i].s), cases[i].ok);
    }
    case_end();

    case_begin("proto_subject_ok: a subject holds at most %d bytes", PROTO_MAX_ID - 1);
    {
        char *s63 = repeat('s', PROTO_MAX_ID - 1);
        char *s64 = repeat('s', PROTO_MAX_ID);
        static const unsigned staff[] = {ROLE_MANAGER, ROLE_DELIVERY, ROLE_SYSTEM};
        for (size_t i = 0; i < sizeof staff / sizeof staff[0]; i++) {
            char what[64];
            snprintf(what, sizeof what, "%s, 63 bytes", proto_role_name(staff[i]));
            CHECK_INT(what, proto_subject_ok(staff[i], s63), true);
            snprintf(what, sizeof what, "%s, 64 bytes", proto_role_name(staff[i]));
            CHECK_INT(what, proto_subject_ok(staff[i], s64), false);
        }
        free(s63);
        free(s64);
    }
    case_end();

    case_begin("proto_subject_ok agrees with proto_caller_parse for every case above");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char s[PROTO_MAX_ID + 32];
        snprintf(s, sizeof s, "%s:%s", proto_role_name(cases[i].role), cases[i].s);
        proto_caller_t c;
        char what[96], shown[64];
        snprintf(what, sizeof what, "proto_caller_parse(\"%s\")",
                 esc(s, strlen(s), shown, sizeof shown));
        CHECK_INT(what, proto_caller_parse(s, &c) == 0, cases[i].ok);
    }
    case_end();
}

static json_t *valid_event(void)
{
    return json_pack("{s:s, s:s, s:i, s:s, s:s, s:i, s:i}", "eventType", "FoodRegistered",
                     "publisher", "catalog", "seq", 1, "eventId",
                     "0123456789abcdef0123456789abcdef", "timestamp", "2026-11-25T14:40:00.123Z",
                     "id", 7, "foodId", 7);
}

static void event_bad(const char *label, json_t *ev)
{
    char what[128];
    snprintf(what, sizeof what, "%s", label);
    CHECK_INT(what, proto_event_check(ev), -1);
    json_decref(ev);
}

static void test_events(void)
{
    static const char *const types[] = {
        "CustomerRegistered", "CustomerUpdated", "CustomerWithdrawn", "FoodRegistered",
        "FoodUpdated", "FoodDeleted", "StockChanged", "FoodSoldOut", "Ordered", "Paid",
        "DeliveryReceived", "DeliveryConfirmed", "Shipped", "Delivered", "CancelRequested",
        "CancelRejected", "DeliveryCanceled", "PaymentCancelled", "OrderCancelled",
    };
    case_begin("events: the %zu event types of DESIGN section 3 are known, others are not",
               sizeof types / sizeof types[0]);
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        CHECK(types[i], proto_event_known(types[i]));
    static const char *const unknown[] = {"", "FoodEaten", "foodregistered", "Ordered ",
                                          PROTO_HB_TYPE, "DeliveryCancelled"};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "\"%s\" unknown", unknown[i]);
        CHECK(what, !proto_event_known(unknown[i]));
    }
    case_end();

    case_begin("event_check: a full envelope is accepted, for every event type");
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        json_t *ev = valid_event();
        json_object_set_new(ev, "eventType", json_string(types[i]));
        CHECK_INT(types[i], proto_event_check(ev), 0);
        json_decref(ev);
    }
    {
        json_t *ev = valid_event();
        json_object_set_new(ev, "seq", json_integer(1000000));
        CHECK_INT("seq 1000000", proto_event_check(ev), 0);
        json_decref(ev);
    }
    case_end();

    case_begin("event_check: broken envelopes rejected");
    json_t *ev;
    ev = valid_event(); json_object_del(ev, "eventType"); event_bad("missing eventType", ev);
    ev = valid_event(); json_object_set_new(ev, "eventType", json_string("FoodEaten"));
    event_bad("unknown eventType", ev);
    ev = valid_event(); json_object_set_new(ev, "eventType", json_string(PROTO_HB_TYPE));
    event_bad("heartbeat type", ev);
    ev = valid_event(); json_object_set_new(ev, "eventType", json_integer(1));
    event_bad("eventType an integer", ev);
    ev = valid_event(); json_object_set_new(ev, "seq", json_integer(0)); event_bad("seq 0", ev);
    ev = valid_event(); json_object_set_new(ev, "seq", json_integer(-1)); event_bad("seq -1", ev);
    ev = valid_event(); json_object_set_new(ev, "seq", json_string("1")); event_bad("seq \"1\"", ev);
    ev = valid_event(); json_object_set_new(ev, "seq", json_real(1.0)); event_bad("seq 1.0", ev);
    ev = valid_event(); json_object_del(ev, "seq"); event_bad("missing seq", ev);
    ev = valid_event(); json_object_del(ev, "publisher"); event_bad("missing publisher", ev);
    ev = valid_event(); json_object_set_new(ev, "publisher", json_null());
    event_bad("publisher null", ev);
    ev = valid_event(); json_object_del(ev, "eventId"); event_bad("missing eventId", ev);
    ev = valid_event(); json_object_set_new(ev, "eventId", json_integer(5));
    event_bad("eventId an integer", ev);
    ev = valid_event(); json_object_del(ev, "timestamp"); event_bad("missing timestamp", ev);
    event_bad("an array", json_array());
    event_bad("a string", json_string("FoodRegistered"));
    CHECK_INT("NULL", proto_event_check(NULL), -1);
    case_end();
}

static int is_lower_hex(const char *s)
{
    for (; *s; s++)
        if (!isdigit((unsigned char)*s) && !(*s >= 'a' && *s <= 'f'))
            return 0;
    return 1;
}

static void test_helpers(void)
{
    case_begin("random_hex: 2n lowercase hex chars, NUL-terminated, no overrun");
    static const size_t sizes[] = {1, 4, 12, 16, 32};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        char buf[2 * 32 + 8];
        memset(buf, '#', sizeof buf);
        proto_random_hex(buf, n);
        char what[160];
        snprintf(what, sizeof what, "strlen for %zu bytes", n);
        CHECK_INT(what, strlen(buf), 2 * n);
        snprintf(what, sizeof what, "hex chars for %zu bytes (got %s)", n, buf);
        CHECK(what, is_lower_hex(buf));
        snprintf(what, sizeof what, "byte after the NUL untouched for %zu bytes", n);
        CHECK(what, buf[2 * n + 1] == '#');
    }
    case_end();

    case_begin("random_hex: two calls differ (16 bytes, 100 pairs)");
    for (int i = 0; i < 100; i++) {
        char a[33], b[33];
        proto_random_hex(a, 16);
        proto_random_hex(b, 16);
        if (strcmp(a, b) == 0) {
            case_fail("call %d: got \"%s\" twice, expected two different ids", i, a);
            break;
        }
    }
    case_end();

    case_begin("utc_now: YYYY-MM-DDTHH:MM:SS.mmmZ, UTC, close to time()");
    {
        char ts[32];
        memset(ts, '#', sizeof ts);
        time_t before = time(NULL);
        proto_utc_now(ts, sizeof ts);
        time_t after = time(NULL);
        CHECK_INT("strlen", strlen(ts), 24);
        static const char pattern[] = "dddd-dd-ddTdd:dd:dd.dddZ";
        int shape = strlen(ts) == 24;
        for (size_t i = 0; shape && i < 24; i++)
            shape = pattern[i] == 'd' ? isdigit((unsigned char)ts[i]) != 0 : ts[i] == pattern[i];
        if (!shape)
            case_fail("shape: got \"%s\", expected \"%s\"", ts, pattern);
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(ts, "%Y-%m-%dT%H:%M:%S", &tm);
        CHECK("strptime parses it", end != NULL && *end == '.');
        time_t t = timegm(&tm);
        if (t < before - 1 || t > after + 1)
            case_fail("as UTC: got %lld, expected between %lld and %lld", (long long)t,
                      (long long)before, (long long)after);
        /* A short buffer is truncated, never overrun. */
        char small[12];
        memset(small, '#', sizeof small);
        proto_utc_now(small, 10);
        CHECK_INT("strlen with a 10-byte buffer", strlen(small), 9);
        CHECK("byte 10 untouched", small[10] == '#');
    }
    case_end();

    case_begin("now_ms and mono_ms: wall clock in ms, monotonic never goes back");
    {
        long long now = proto_now_ms(), t = (long long)time(NULL) * 1000;
        if (now < t - 2000 || now > t + 2000)
            case_fail("proto_now_ms: got %lld, expected about %lld", now, t);
        long long prev = proto_mono_ms();
        for (int i = 0; i < 1000; i++) {
            long long m = proto_mono_ms();
            if (m < prev) {
                case_fail("proto_mono_ms: got %lld after %lld, expected >=", m, prev);
                break;
            }
            prev = m;
        }
    }
    case_end();

    case_begin("proto_dump: compact JSON, keys in insertion order");
    {
        json_t *j = json_pack("{s:s, s:i, s:[i,i]}", "eventType", "Paid", "id", 3, "a", 1, 2);
        char *s = proto_dump(j);
        CHECK_STR("text", s, "{\"eventType\":\"Paid\",\"id\":3,\"a\":[1,2]}");
        free(s);
        json_decref(j);
    }
    case_end();
}

/* ---- error bodies built from outside input ------------------------------------ */

/* Run fn in a child process: a service that aborts on bad input is a
 * failed case here, not a dead test binary. Returns the child's exit
 * status, or 128 + signal. */
static int in_child(int (*fn)(const void *), const void *arg)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0)
        _exit(fn(arg));
    int status;
    if (waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* Validate {key: 1} for catalog.list and build the error reply body the
 * service would send; 0 when that body is a JSON object naming the problem. */
static int err_body_for_key(const void *arg)
{
    const char *key = arg;
    const proto_cmd_t *c = proto_cmd_find("catalog.list");
    if (!c)
        return 2;
    json_t *b = json_object();
    if (json_object_set_new(b, key, json_integer(1)) != 0)
        return 3;
    proto_err_t err;
    json_t *out = proto_validate(c, b, &err);
    if (out)
        return 4;
    json_t *eb = proto_err_body(&err);         /* what the service replies */
    char *text = json_dumps(eb, JSON_COMPACT);
    int ok = text && json_is_string(json_object_get(eb, "message"));
    free(text);
    json_decref(eb);
    json_decref(b);
    return ok ? 0 : 5;
}

/* Decode a request whose body frame is arg and build the error reply body. */
static int err_body_for_frame(const void *arg)
{
    const char *body = arg;
    proto_frame_t f[5];
    req5(f, PROTO_SIGNATURE, "catalog.list", "r1", "-", body);
    proto_req_t req;
    proto_err_t err;
    if (proto_req_decode(f, 5, &req, &err) == 0)
        return 4;
    json_t *eb = proto_err_body(&err);         /* what the service replies */
    int ok = json_is_string(json_object_get(eb, "message"));
    json_decref(eb);
    proto_req_clear(&req);
    return ok ? 0 : 5;
}

static void test_err_body_utf8(void)
{
    static const struct {
        const char *label;
        const char *body;
    } frames[] = {
        {"an invalid escape before a 2-byte character (5c c3 a9)", "{\"a\":\"\\\xc3\xa9\"}"},
        {"an invalid escape before a 3-byte character (5c ea b9 80)", "{\"a\":\"\\\xea\xb9\x80\"}"},
        {"a bare 3-byte character as a value", "{\"a\":\xea\xb9\x80}"},
        {"a bare 2-byte character as a key", "{\xc3\xa9:1}"},
    };
    for (size_t i = 0; i < sizeof frames / sizeof frames[0]; i++) {
        char shown[96];
        case_begin("error body: body frame with %s is a valid reply, no abort",
                   esc(frames[i].label, strlen(frames[i].label), shown, sizeof shown));
        int rc = in_child(err_body_for_frame, frames[i].body);
        if (rc != 0)
            case_fail("child exit: got %s%d, expected 0 (proto_err_body of the decode error)",
                      rc > 128 ? "signal " : "", rc > 128 ? rc - 128 : rc);
        case_end();
    }

    static const struct {
        const char *label;
        size_t ascii;    /* ASCII 'k's first */
        size_t hangul;   /* then this many 3-byte syllables */
    } keys[] = {
        {"16 Korean syllables (48 bytes: field[48] cuts the 16th)", 0, 16},
        {"20 Korean syllables", 0, 20},
        {"46 ASCII bytes and 1 Korean syllable", 46, 1},
        {"230 ASCII bytes and 10 Korean syllables (message[256] cuts one)", 230, 10},
    };
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        case_begin("error body: unknown field named by %s is a valid reply, no abort",
                   keys[i].label);
        char key[400];
        size_t k = 0;
        for (size_t j = 0; j < keys[i].ascii; j++)
            key[k++] = 'k';
        for (size_t j = 0; j < keys[i].hangul; j++) {
            memcpy(key + k, "\xea\xb9\x80", 3);
            k += 3;
        }
        key[k] = '\0';
        int rc = in_child(err_body_for_key, key);
        if (rc != 0)
            case_fail("child exit: got %s%d, expected 0 (proto_err_body of the validation error)",
                      rc > 128 ? "signal " : "", rc > 128 ? rc - 128 : rc);
        case_end();
    }
}

/* ---- the random-garbage loop ---------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t rnd(void)
{
    /* xorshift64*: deterministic, so a failure reproduces. */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dULL;
}

static size_t rndn(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

/* One generated message: owned buffers. */
typedef struct {
    char *buf[9];
    size_t len[9];
    size_t n;
} gen_t;

static void gen_free(gen_t *g)
{
    for (size_t i = 0; i < 9; i++)
        free(g->buf[i]);
    memset(g, 0, sizeof *g);
}

static void gen_set(gen_t *g, size_t i, const void *data, size_t len)
{
    free(g->buf[i]);
    g->buf[i] = malloc(len + 1);
    if (!g->buf[i])
        abort();
    if (len)
        memcpy(g->buf[i], data, len);
    g->buf[i][len] = '\0';
    g->len[i] = len;
}

static void gen_random_bytes(gen_t *g, size_t i, size_t len)
{
    char *tmp = malloc(len + 1);
    if (!tmp)
        abort();
    /* Mostly printable so the token checks see plausible input. */
    int printable = rndn(2) == 0;
    for (size_t k = 0; k < len; k++)
        tmp[k] = printable ? (char)(0x20 + rndn(0x60)) : (char)rndn(256);
    gen_set(g, i, tmp, len);
    free(tmp);
}

static json_t *random_value(int depth)
{
    switch (rndn(depth > 2 ? 9 : 11)) {
    case 0: return json_integer((json_int_t)rnd());
    case 1: return json_integer((json_int_t)rndn(5) - 2);
    case 2: return json_integer((json_int_t)rndn(2000000000000ULL) - 1000000000000LL);
    case 3: return json_real((double)rndn(1000) / 7.0);
    case 4: return json_true();
    case 5: return json_null();
    case 6: {
        char s[300];
        size_t n = rndn(rndn(4) == 0 ? sizeof s - 1 : 12);
        for (size_t k = 0; k < n; k++)
            s[k] = (char)(rndn(8) == 0 ? rndn(0x20) + 1 : 0x20 + rndn(0x5f));
        s[n] = '\0';
        return json_string(s);
    }
    case 7: return json_string(rndn(2) ? "" : "   ");
    case 8: return json_string("\xea\xb9\x80\xeb\xb0\xa5");
    case 9: {
        json_t *a = json_array();
        for (size_t k = rndn(3); k > 0; k--)
            json_array_append_new(a, random_value(depth + 1));
        return a;
    }
    default: {
        json_t *o = json_object();
        for (size_t k = rndn(3); k > 0; k--) {
            char key[8];
            snprintf(key, sizeof key, "k%zu", rndn(5));
            json_object_set_new(o, key, random_value(depth + 1));
        }
        return o;
    }
    }
}

/* A body for cmd: valid values, sometimes mistyped, unknown or missing. */
static json_t *random_body(const proto_cmd_t *c)
{
    json_t *b = json_object();
    int wild = rndn(3) == 0;
    for (const proto_field_t *f = c->fields; f->name; f++) {
        int include = (f->flags & FF_REQUIRED) ? rndn(12) != 0 : rndn(2) == 0;
        if (!include)
            continue;
        json_t *v;
        if (wild && rndn(2))
            v = random_value(0);
        else if (f->type == FT_INT)
            v = json_integer((json_int_t)rndn(1000) + 1);
        else if (f->type == FT_STR)
            v = json_string(rndn(2) ? "kimbap" : "\xea\xb9\x80\xeb\xb0\xa5 toast");
        else
            v = json_boolean(rndn(2));
        json_object_set_new(b, f->name, v);
    }
    if (rndn(10) == 0)
        json_object_set_new(b, "unknown", random_value(0));
    if (rndn(20) == 0) {
        /* An unknown member name of multi-byte characters: the error names it. */
        char key[100];
        size_t k = 0, lead = rndn(4);
        for (size_t i = 0; i < lead; i++)
            key[k++] = 'k';
        for (size_t n = 1 + rndn(25); n > 0 && k + 3 < sizeof key; n--) {
            memcpy(key + k, "\xea\xb9\x80", 3);
            k += 3;
        }
        key[k] = '\0';
        json_object_set_new(b, key, json_integer(1));
    }
    return b;
}

/* Credential frames: the first four are accepted by the codec. */
static const char *const gen_callers[] = {
    "-", "token:" TOK, "system:catalog", "token:x.y", "manager:lee", "customer:1", "chef:1",
    "token:", "system:", "system:a b", "--", "customer:new",
};

static void gen_valid(gen_t *g)
{
    size_t nc = ncommands();
    const proto_cmd_t *c = proto_cmd_at(rndn(nc));
    char rid[40];
    proto_random_hex(rid, 1 + rndn(16));
    json_t *body = random_body(c);
    char *text = proto_dump(body);
    json_decref(body);
    const char *caller = gen_callers[rndn(4)];
    g->n = 5;
    gen_set(g, 0, PROTO_SIGNATURE, 4);
    gen_set(g, 1, c->name, strlen(c->name));
    gen_set(g, 2, rid, strlen(rid));
    gen_set(g, 3, caller, strlen(caller));
    gen_set(g, 4, text, strlen(text));
    free(text);
}

/* A well-formed reply (the decoder must accept most of these before mutation). */
static void gen_reply(gen_t *g)
{
    char rid[40];
    proto_random_hex(rid, 1 + rndn(16));
    const char *st = rndn(8) ? proto_status_name((proto_status_t)rndn(ERR__COUNT)) : "okay";
    json_t *body = random_value(2);
    if (!json_is_object(body) && rndn(4)) {
        json_decref(body);
        body = json_pack("{s:s, s:s}", "error", st, "message", "no");
    }
    char *text = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(body);
    g->n = 4;
    gen_set(g, 0, PROTO_SIGNATURE, 4);
    gen_set(g, 1, rid, strlen(rid));
    gen_set(g, 2, st, strlen(st));
    gen_set(g, 3, text, strlen(text));
    free(text);
}

/* A key=value word for cmd: a field, an alias or junk, with a plausible value. */
static void gen_kv(const proto_cmd_t *c, char *out, size_t cap)
{
    static const char *const values[] = {"1", "0", "-1", "+3", "abc", "", "010", "1e3", " 2",
                                         "true", "no", "yes", "99999999999999999999", "a=b",
                                         "\xea\xb9\x80", "\x01", "\xff"};
    const char *key = "junk";
    size_t nf = 0;
    while (c->fields[nf].name)
        nf++;
    char alias[64] = "";
    if (nf && rndn(5)) {
        const proto_field_t *f = &c->fields[rndn(nf)];
        key = f->name;
        if (f->aliases && rndn(2)) {
            size_t len = strcspn(f->aliases, " ");
            snprintf(alias, sizeof alias, "%.*s", (int)len, f->aliases);
            key = alias;
        }
    }
    const char *v = values[rndn(sizeof values / sizeof values[0])];
    switch (rndn(6)) {
    case 0: snprintf(out, cap, "%s", key); break;
    case 1: snprintf(out, cap, "=%s", v); break;
    default: snprintf(out, cap, "%s=%s", key, v); break;
    }
}

static void gen_mutate(gen_t *g)
{
    for (size_t m = 1 + rndn(3); m > 0; m--) {
        switch (rndn(9)) {
        case 0: case 1: case 2: { /* flip, set or insert a byte */
            size_t i = rndn(g->n ? g->n : 1);
            if (!g->n)
                break;
            size_t len = g->len[i];
            char *tmp = malloc(len + 2);
            memcpy(tmp, g->buf[i], len);
            size_t at = rndn(len + 1);
            int op = (int)rndn(3);
            if (op == 0 && len) {
                tmp[at % len] ^= (char)(1u << rndn(8));
            } else if (op == 1 && len) {
                tmp[at % len] = (char)rndn(256);
            } else {
                memmove(tmp + at + 1, tmp + at, len - at);
                tmp[at] = (char)rndn(256);
                len++;
            }
            gen_set(g, i, tmp, len);
            free(tmp);
            break;
        }
        case 3: /* truncate a frame */
            if (g->n) {
                size_t i = rndn(g->n);
                g->len[i] = rndn(g->len[i] + 1);
            }
            break;
        case 4: /* drop a frame */
            if (g->n) {
                size_t i = rndn(g->n);
                free(g->buf[i]);
                memmove(&g->buf[i], &g->buf[i + 1], (8 - i) * sizeof g->buf[0]);
                memmove(&g->len[i], &g->len[i + 1], (8 - i) * sizeof g->len[0]);
                g->buf[8] = NULL;
                g->len[8] = 0;
                g->n--;
            }
            break;
        case 5: /* append a frame */
            if (g->n < 8) {
                gen_random_bytes(g, g->n, rndn(10));
                g->n++;
            }
            break;
        case 6: /* swap two frames */
            if (g->n >= 2) {
                size_t a = rndn(g->n), b = rndn(g->n);
                char *tb = g->buf[a];
                size_t tl = g->len[a];
                g->buf[a] = g->buf[b];
                g->len[a] = g->len[b];
                g->buf[b] = tb;
                g->len[b] = tl;
            }
            break;
        case 7: /* another caller */
            if (g->n >= 4) {
                const char *c = gen_callers[rndn(sizeof gen_callers / sizeof gen_callers[0])];
                gen_set(g, 3, c, strlen(c));
            }
            break;
        default: /* replace a frame with garbage */
            if (g->n) {
                size_t i = rndn(g->n);
                gen_random_bytes(g, i, rndn(70));
            }
            break;
        }
    }
}

static void gen_one(gen_t *g)
{
    memset(g, 0, sizeof *g);
    switch (rndn(10)) {
    case 0: case 1: case 2: { /* pure garbage */
        g->n = rndn(9);
        for (size_t i = 0; i < g->n; i++)
            gen_random_bytes(g, i, rndn(8) == 0 ? rndn(400) : rndn(24));
        break;
    }
    case 3: case 4: case 5: case 6: /* a mutated valid request */
        gen_valid(g);
        gen_mutate(g);
        break;
    case 7: /* a valid request (bodies may still be invalid for the schema) */
        gen_valid(g);
        break;
    case 8: /* a reply, sometimes mutated */
        gen_reply(g);
        if (rndn(2))
            gen_mutate(g);
        break;
    default: /* a valid request with an oversized or near-limit body */
        gen_valid(g);
        if (rndn(20) == 0) {
            size_t len = PROTO_MAX_BODY - 2 + rndn(5);
            char *big = malloc(len + 1);
            memset(big, ' ', len);
            big[0] = '{';
            big[len - 1] = '}';
            gen_set(g, 4, big, len);
            free(big);
        } else {
            gen_mutate(g);
        }
        break;
    }
}

/* proto_err_body puts these strings into JSON: they must be valid UTF-8. */
static int utf8_ok(const char *s)
{
    json_t *j = json_string(s);
    json_decref(j);
    return j != NULL;
}

static int decode_field_known(const char *field)
{
    static const char *const fields[] = {"frames", "version", "command", "request_id", "credential",
                                         "body"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(field, fields[i]) == 0)
            return 1;
    return 0;
}

static void test_random_garbage(void)
{
    enum { ROUNDS = 20000 };
    size_t decoded = 0, validated = 0, rejected = 0, replies = 0, kv_ok = 0, bad_utf8 = 0;
    int first_bad_round = -1;
    char first_bad_field[200] = "";
    size_t nc = ncommands();
    case_begin("random garbage: %d frame sets through req_decode, validate, rep_decode, set_kv", ROUNDS);
    for (int round = 0; round < ROUNDS; round++) {
        gen_t g;
        gen_one(&g);
        proto_frame_t f[9];
        for (size_t i = 0; i < g.n; i++)
            f[i] = (proto_frame_t){g.buf[i], g.len[i]};

        proto_req_t req;
        proto_err_t err;
        err_poison(&err);
        int rc = proto_req_decode(g.n ? f : NULL, g.n, &req, &err);
        if (rc == 0) {
            decoded++;
            int cred_ok = req.cred == CRED_NONE ? req.credential[0] == '\0'
                          : (req.cred == CRED_TOKEN || req.cred == CRED_SYSTEM) &&
                                req.credential[0] != '\0';
            if (!json_is_object(req.body) || !req.command[0] || !req.request_id[0] || !cred_ok)
                case_fail("round %d: decode returned 0 with an incomplete request", round);
            if (req.caller_raw[0] || req.caller.role || req.caller.subject[0] || req.session[0])
                case_fail("round %d: decode filled the caller, expected it left to authenticate",
                          round);
            const proto_cmd_t *c = proto_cmd_find(req.command);
            if (!c)
                c = proto_cmd_at(rndn(nc));
            err_poison(&err);
            json_t *out = proto_validate(c, req.body, &err);
            if (out) {
                validated++;
                if (!json_is_object(out))
                    case_fail("round %d: validate returned a non-object", round);
            } else if (err.status != ERR_BAD_REQUEST) {
                case_fail("round %d: validate status got %s, expected bad_request", round,
                          proto_status_name(err.status));
            } else if (!utf8_ok(err.field) || !utf8_ok(err.message)) {
                if (bad_utf8++ == 0) {
                    first_bad_round = round;
                    esc(err.field, strlen(err.field), first_bad_field, sizeof first_bad_field);
                }
            }
            json_decref(out);
        } else if (rc == -1) {
            rejected++;
            if (err.status != ERR_BAD_REQUEST)
                case_fail("round %d: decode status got %s, expected bad_request", round,
                          proto_status_name(err.status));
            else if (!decode_field_known(err.field))
                case_fail("round %d: decode err.field got \"%s\", expected a frame name", round,
                          err.field);
            if (err.status == ERR_BAD_REQUEST && !utf8_ok(err.message) && bad_utf8++ == 0) {
                first_bad_round = round;
                snprintf(first_bad_field, sizeof first_bad_field, "%s (decode message)", err.field);
            }
            if (req.body)
                case_fail("round %d: rejected request kept a body", round);
        } else {
            case_fail("round %d: proto_req_decode returned %d, expected 0 or -1", round, rc);
        }
        proto_req_clear(&req);

        /* The same frames as a reply, and as a reply without the command frame. */
        for (int pass = 0; pass < 2; pass++) {
            proto_rep_t rep;
            const proto_frame_t *rf = f;
            size_t rn = g.n;
            if (pass == 1) {
                if (g.n < 2)
                    break;
                f[1] = f[0];
                rf = f + 1;
                rn = g.n - 1;
            }
            int rr = proto_rep_decode(rn ? rf : NULL, rn, &rep);
            if (rr == 0) {
                replies++;
                if (!json_is_object(rep.body) || rep.status >= ERR__COUNT)
                    case_fail("round %d: rep_decode returned 0 with a bad reply", round);
            } else if (rr != -1) {
                case_fail("round %d: proto_rep_decode returned %d, expected 0 or -1", round, rr);
            } else if (rep.body) {
                case_fail("round %d: rejected reply kept a body", round);
            }
            proto_rep_clear(&rep);
        }

        /* Each frame as a key=value word, and a few generated words. */
        for (size_t i = 0; i < g.n + 3; i++) {
            const proto_cmd_t *c = proto_cmd_at(rndn(nc));
            char word[128];
            const char *w = g.buf[i < g.n ? i : 0];
            if (i >= g.n) {
                gen_kv(c, word, sizeof word);
                w = word;
            }
            json_t *b = json_object();
            if (rndn(4) == 0)
                json_object_set_new(b, c->fields[0].name ? c->fields[0].name : "x",
                                    json_integer(1));
            err_poison(&err);
            int kr = proto_set_kv(c, b, w, &err);
            if (kr == 0)
                kv_ok++;
            else if (kr != -1 || err.status != ERR_BAD_REQUEST)
                case_fail("round %d: set_kv returned %d status %s, expected -1 bad_request",
                          round, kr, proto_status_name(err.status));
            json_decref(b);
            proto_caller_t who;
            (void)proto_caller_parse(w, &who);
        }
        gen_free(&g);
    }
    /* The loop must reach past the decoder, or it proves little. */
    if (decoded < ROUNDS / 10)
        case_fail("requests decoded: got %zu, expected at least %d", decoded, ROUNDS / 10);
    if (validated < ROUNDS / 40)
        case_fail("requests validated: got %zu, expected at least %d", validated, ROUNDS / 40);
    if (replies < ROUNDS / 40)
        case_fail("replies decoded: got %zu, expected at least %d", replies, ROUNDS / 40);
    if (kv_ok < ROUNDS / 20)
        case_fail("key=value words accepted: got %zu, expected at least %d", kv_ok, ROUNDS / 20);
    if (rejected < ROUNDS / 4)
        case_fail("requests rejected: got %zu, expected at least %d", rejected, ROUNDS / 4);
    snprintf(unit_.name + strlen(unit_.name), sizeof unit_.name - strlen(unit_.name),
             " (%zu decoded, %zu validated, %zu rejected, %zu replies, %zu kv)", decoded,
             validated, rejected, replies, kv_ok);
    case_end();

    /* What a service does with each refusal: proto_err_body, which needs
     * valid UTF-8 in the field and the message. */
    case_begin("random garbage: every refusal's field and message are valid UTF-8 (proto_err_body can send them)");
    if (bad_utf8)
        case_fail("refusals with invalid UTF-8: got %zu, expected 0 (first: round %d, field \"%s\")",
                  bad_utf8, first_bad_round, first_bad_field);
    case_end();
}

/* ---- the delivery -> order status mapping (proto/status.c) ---------------------- */

/* The order service and the my-orders view both map a delivery's status to
 * the order's with status_order_for; these are the answers DESIGN section 5
 * and SPEC "order" give. A cancelled delivery is a cancelled order (the view
 * once said "no change" there, and disagreed with orders show). */
static void test_status_mapping(void)
{
    static const char *const want[][2] = {
        {"received", "placed"},   {"confirmed", "confirmed"},
        {"shipped", "shipped"},   {"delivered", "delivered"},
        {"cancel_requested", "cancel_requested"},
        {"cancelled", "cancelled"},
    };
    case_begin("status_order_for: each delivery state gives the order's status (cancelled: cancelled)");
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "status_order_for(\"%s\")", want[i][0]);
        CHECK_STR(what, status_order_for(want[i][0]), want[i][1]);
    }
    case_end();

    case_begin("status_order_for: a word that is no delivery state leaves the order as it is (NULL)");
    static const char *const not_states[] = {"pending", "placed", "", "Cancelled", "cancelled "};
    for (size_t i = 0; i < sizeof not_states / sizeof not_states[0]; i++)
        if (status_order_for(not_states[i]) != NULL)
            case_fail("status_order_for(\"%s\"): got \"%s\", expected NULL", not_states[i],
                      status_order_for(not_states[i]));
    if (status_order_for(NULL) != NULL)
        case_fail("status_order_for(NULL): got \"%s\", expected NULL", status_order_for(NULL));
    case_end();
}

/* ---- input: what names and addresses may hold, who a customer caller is ------------ */

/* body {field: value} for cmd (with its other required fields) through
 * proto_validate: NULL when accepted, else the message (static). */
static const char *validate_message(const proto_cmd_t *c, const proto_field_t *f, const char *value)
{
    static proto_err_t err;
    json_t *b = base_body(c);
    json_object_set_new(b, f->name, json_string(value));
    err_poison(&err);
    json_t *out = proto_validate(c, b, &err);
    json_decref(b);
    if (out) {
        json_decref(out);
        return NULL;
    }
    if (err.status != ERR_BAD_REQUEST || strcmp(err.field, f->name) != 0)
        snprintf(err.message, sizeof err.message, "(status %s, field %s)",
                 proto_status_name(err.status), err.field);
    return err.message;
}

static void test_input_chars(void)
{
    static const struct {
        const char *value, *want;   /* want: in the message ("%s" is the field) */
    } bad[] = {
        {"pi\x01zza", "%s contains a control character (U+0001 at character 3)"},
        {"\x1b[2Jx", "%s contains a control character (U+001B at character 1)"},
        {"ab\x7f", "%s contains a control character (U+007F at character 3)"},
        {"kim\xc2\x9b" "31m", "%s contains a control character (U+009B at character 4)"},
        {"\xc2\x80", "%s contains a control character (U+0080 at character 1)"},
        {"\xea\xb9\x80\xc2\x9f", "%s contains a control character (U+009F at character 2)"},
        {"a\xe2\x80\xa8" "b", "%s contains a control character (U+2028 at character 2)"},
        {"abc\xe2\x80\xae" "gpj.exe", "%s contains a bidirectional formatting character (U+202E at character 4)"},
        {"\xe2\x80\xaa" "x", "%s contains a bidirectional formatting character (U+202A at character 1)"},
        {"x\xe2\x81\xa6" "y", "%s contains a bidirectional formatting character (U+2066 at character 2)"},
        {"x\xe2\x81\xa9", "%s contains a bidirectional formatting character (U+2069 at character 2)"},
        {"x\xe2\x80\x8e", "%s contains a bidirectional formatting character (U+200E at character 2)"},
        {"x\xe2\x80\x8f", "%s contains a bidirectional formatting character (U+200F at character 2)"},
        {"x\xd8\x9c", "%s contains a bidirectional formatting character (U+061C at character 2)"},
        {"le\xe2\x80\x8b" "e", "%s contains a zero-width character (U+200B at character 3)"},
        {"le\xe2\x80\x8d" "e", "%s contains a zero-width character (U+200D at character 3)"},
        {"le\xe2\x81\xa0" "e", "%s contains a zero-width character (U+2060 at character 3)"},
        {"\xef\xbb\xbf" "lee", "%s contains a zero-width character (U+FEFF at character 1)"},
        {"\xea\xb9\x80\xe2\x80\x8c", "%s contains a zero-width character (U+200C at character 2)"},
    };
    case_begin("input: every string field refuses C0, C1, bidirectional and zero-width characters, naming the code point and where");
    size_t checked = 0;
    for (size_t i = 0; proto_cmd_at(i); i++) {
        const proto_cmd_t *c = proto_cmd_at(i);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_STR)
                continue;
            for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
                char want[160];
                snprintf(want, sizeof want, bad[k].want, f->name);
                const char *got = validate_message(c, f, bad[k].value);
                if (!got || !strstr(got, want))
                    case_fail("%s %s, case %zu: got \"%s\", expected bad_request with \"%s\"",
                              c->name, f->name, k, got ? got : "(accepted)", want);
                checked++;
            }
        }
    }
    if (checked < 10 * (sizeof bad / sizeof bad[0]))
        case_fail("string fields checked: got %zu, expected at least 10 fields' worth", checked);
    case_end();

    static const char *const good[] = {
        "\xea\xb9\x80\xec\xb9\x98\xec\xb0\x8c\xea\xb0\x9c",   /* 김치찌개 */
        "\xec\x84\x9c\xec\x9a\xb8\xec\x8b\x9c \xea\xb0\x95\xeb\x82\xa8\xea\xb5\xac 1-2, 101\xed\x98\xb8",
        "O'Brien & Sons (toast) \"fresh\" #1 / 50% @ 3:00; ok? yes!",
        "caf\xc3\xa9 \xc2\xb7 \xe2\x80\x94 \xe2\x82\xa9" "1,000 \xc2\xa0 x",   /* é · — ₩ nbsp */
        "010-1234-5678", "+82 (10) 1234 5678", " a ",
    };
    case_begin("input: Korean text and ordinary punctuation stay accepted in names and addresses");
    for (size_t i = 0; proto_cmd_at(i); i++) {
        const proto_cmd_t *c = proto_cmd_at(i);
        for (const proto_field_t *f = c->fields; f->name; f++) {
            if (f->type != FT_STR || !(f->flags & FF_TEXT))
                continue;
            for (size_t k = 0; k < sizeof good / sizeof good[0]; k++) {
                const char *got = validate_message(c, f, good[k]);
                if (got)
                    case_fail("%s %s=\"%s\": got \"%s\", expected accepted", c->name, f->name,
                              good[k], got);
            }
        }
    }
    case_end();
}

static void test_input_blank(void)
{
    static const char *const fields[][2] = {
        {"customer.add", "name"},    {"customer.add", "phone"},    {"customer.add", "address"},
        {"customer.update", "name"}, {"customer.update", "phone"}, {"customer.update", "address"},
        {"catalog.add", "name"},     {"catalog.update", "name"},
    };
    static const char *const blank[] = {
        " ", "   ", "\xc2\xa0", "\xe3\x80\x80",   /* no-break space, ideographic space */
        "\xe3\x85\xa4", " \xe3\x80\x80 \xe3\x85\xa4",   /* Hangul filler, mixed */
    };
    case_begin("input: names, phones and addresses are FF_TEXT and refuse white space only (Unicode and Hangul fillers too)");
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        const proto_cmd_t *c = proto_cmd_find(fields[i][0]);
        const proto_field_t *f = NULL;
        for (const proto_field_t *g = c ? c->fields : NULL; g && g->name; g++)
            if (strcmp(g->name, fields[i][1]) == 0)
                f = g;
        if (!f || f->type != FT_STR || !(f->flags & FF_TEXT)) {
            case_fail("%s %s: not an FF_TEXT string field", fields[i][0], fields[i][1]);
            continue;
        }
        for (size_t k = 0; k < sizeof blank / sizeof blank[0]; k++) {
            const char *got = validate_message(c, f, blank[k]);
            char want[64];
            snprintf(want, sizeof want, "%s must not be", f->name);
            if (!got || !strstr(got, want))
                case_fail("%s %s=\"%s\": got \"%s\", expected \"%s ...\"", c->name, f->name,
                          blank[k], got ? got : "(accepted)", want);
        }
        if (!(f->flags & FF_NONEMPTY) && validate_message(c, f, ""))
            case_fail("%s %s=\"\": refused, expected accepted (empty clears it)", c->name, f->name);
    }
    case_end();

    static const char *const invalid[] = {"\xc0\xaf", "a\xed\xa0\x80", "\xf4\x90\x80\x80", "\xe2\x80"};
    case_begin("input: bytes that are not UTF-8 are refused (overlong, surrogate, past U+10FFFF, cut)");
    const proto_cmd_t *c = proto_cmd_find("catalog.add");
    const proto_field_t *f = c->fields;
    for (size_t k = 0; k < sizeof invalid / sizeof invalid[0]; k++) {
        json_t *b = base_body(c);
        json_object_set_new(b, f->name, json_stringn_nocheck(invalid[k], strlen(invalid[k])));
        expect_reject(c, b, f->name, "invalid UTF-8");
        json_decref(b);
    }
    case_end();
}

static void test_input_callers(void)
{
    static const char *const bad[] = {
        "customer:x", "customer:0", "customer:-1", "customer:1x", "customer:00", "customer:01",
        "customer:1.5", "customer:lee", "customer:1000000000001", "customer:99999999999999999999",
        "customer:New", "customer:new1", "customer:new",
    };
    case_begin("input: a customer caller whose subject is not a customer id is refused (customer:new too)");
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        proto_caller_t c;
        char what[96];
        snprintf(what, sizeof what, "proto_caller_parse(\"%s\")", bad[i]);
        CHECK_INT(what, proto_caller_parse(bad[i], &c), -1);
    }
    static const char *const good[] = {"customer:1", "customer:42", "customer:1000000000000",
                                       "manager:0", "delivery:x"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        proto_caller_t c;
        char what[96];
        snprintf(what, sizeof what, "proto_caller_parse(\"%s\")", good[i]);
        CHECK_INT(what, proto_caller_parse(good[i], &c), 0);
    }
    case_end();

    case_begin("input: customer:new and a subject that is no id own nothing and never list everyone");
    /* Built by hand, as a caller that skipped the parser would be. */
    static const char *const subjects[] = {"new", "0", "x", "-1", "1x", ""};
    for (size_t i = 0; i < sizeof subjects / sizeof subjects[0]; i++) {
        proto_caller_t c = {.role = ROLE_CUSTOMER};
        snprintf(c.subject, sizeof c.subject, "%s", subjects[i]);
        proto_err_t err;
        long long customer = 0;
        char what[96];
        snprintf(what, sizeof what, "customer:%s: proto_scope_customer(no customer)", subjects[i]);
        CHECK_INT(what, proto_scope_customer(&c, NULL, "see their own orders", &customer, &err),
                  ERR_FORBIDDEN);
        CHECK(what, customer != 0);
        snprintf(what, sizeof what, "customer:%s: proto_check_own(0)", subjects[i]);
        CHECK_INT(what, proto_check_own(&c, 0, "customer", "see their own orders", &err),
                  ERR_FORBIDDEN);
        snprintf(what, sizeof what, "customer:%s: proto_check_own(1)", subjects[i]);
        CHECK_INT(what, proto_check_own(&c, 1, "customer", "see their own orders", &err),
                  ERR_FORBIDDEN);
    }
    proto_caller_t seven = {.role = ROLE_CUSTOMER, .subject = "7"};
    proto_err_t err;
    long long customer = 0;
    CHECK_INT("customer:7 scope", proto_scope_customer(&seven, NULL, "x", &customer, &err), 0);
    CHECK_INT("customer:7 scope: customer", customer, 7);
    CHECK_INT("customer:7 owns 7", proto_check_own(&seven, 7, "id", "x", &err), 0);
    CHECK_INT("customer:7 does not own 8", proto_check_own(&seven, 8, "id", "x", &err),
              ERR_FORBIDDEN);
    proto_caller_t mgr = {.role = ROLE_MANAGER, .subject = "lee"};
    CHECK_INT("manager:lee scope", proto_scope_customer(&mgr, NULL, "x", &customer, &err), 0);
    CHECK_INT("manager:lee scope: everyone", customer, 0);
    case_end();
}

int main(void)
{
    if (sodium_init() < 0) {
        printf("FAIL - sodium_init: got -1, expected 0\n");
        return 1;
    }
    test_statuses();
    test_req_roundtrip();
    test_rep_roundtrip();
    test_req_malformed();
    test_rep_malformed();
    test_validate();
    test_set_kv();
    test_caller_parse();
    test_subject_ok();
    test_events();
    test_helpers();
    test_err_body_utf8();
    test_random_garbage();
    test_status_mapping();
    test_input_chars();
    test_input_blank();
    test_input_callers();
    return unit_exit();
}
