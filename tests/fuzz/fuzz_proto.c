/*
 * fuzz_proto - libFuzzer target for the CTR/2 decoder: proto_req_decode
 * (with its credential frame), proto_validate, proto_rep_decode, and the
 * small parsers that see outside input (proto_set_kv, proto_caller_parse,
 * proto_subject_ok, proto_role_from_name, proto_status_from_name,
 * proto_event_check). Built and run by `make fuzz` (clang, ASan + UBSan).
 *
 * Input format: frames separated by the byte 0x1e (ASCII record separator),
 * at most 9 frames (the rest of the input is ignored). Each frame is copied
 * into its own exactly-sized heap block, so reading one byte past a frame -
 * the codec never gets NUL-terminated frames from ZeroMQ - is an ASan error.
 *
 * Seeds are in tests/fuzz/seeds (the corpus grows in $BUILD/fuzz/corpus).
 * tests/fuzz/crashers holds inputs that crashed the target, kept to check a
 * fix: $BUILD/fuzz/fuzz_proto given those files as arguments must run them
 * all without a crash.
 *
 * Every refusal is turned into the error body a service would send
 * (proto_err_body), as the services do. Beyond "does not crash", the target
 * aborts when a documented contract breaks: decoders return 0 or -1; every
 * refusal is bad_request naming one of the frames; a refused request holds
 * no body; an accepted request's credential is "-" (nothing kept), a token or
 * a service name (kept), and decoding leaves the caller to the worker's
 * authenticate step; a validated body is an object that validates again to
 * the same object.
 */
#include "proto.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SEP 0x1e
#define MAX_FRAMES 9

static void fail(const char *what)
{
    fprintf(stderr, "fuzz_proto: contract broken: %s\n", what);
    abort();
}

static void *dup_exact(const uint8_t *p, size_t n)
{
    /* malloc(0) may return NULL; a 0-byte frame still needs a valid pointer
     * that ASan flags on any read. */
    void *b = malloc(n ? n : 1);
    if (!b)
        abort();
    if (n)
        memcpy(b, p, n);
    return b;
}

static size_t ncommands(void)
{
    static size_t n;
    if (!n)
        while (proto_cmd_at(n))
            n++;
    return n;
}

static int decode_field_known(const char *field)
{
    static const char *const fields[] = {"frames", "version", "command", "request_id",
                                         "credential", "body"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        if (strcmp(field, fields[i]) == 0)
            return 1;
    return 0;
}

static void check_validate(const proto_cmd_t *cmd, const json_t *body)
{
    proto_err_t err;
    memset(&err, 0, sizeof err);
    json_t *out = proto_validate(cmd, body, &err);
    if (!out) {
        if (err.status != ERR_BAD_REQUEST)
            fail("proto_validate refused with a status other than bad_request");
        json_decref(proto_err_body(&err));      /* the reply the service sends */
        return;
    }
    if (!json_is_object(out))
        fail("proto_validate returned a non-object");
    /* Canonical bodies are a fixed point. */
    proto_err_t err2;
    json_t *again = proto_validate(cmd, out, &err2);
    if (!again || !json_equal(again, out))
        fail("a validated body does not validate to itself");
    json_decref(again);
    json_decref(out);
}

static void check_rep(const proto_frame_t *f, size_t n)
{
    proto_rep_t rep;
    int rc = proto_rep_decode(f, n, &rep);
    if (rc != 0 && rc != -1)
        fail("proto_rep_decode returned neither 0 nor -1");
    if (rc == 0) {
        if (!json_is_object(rep.body) || rep.status < 0 || rep.status >= ERR__COUNT ||
            !rep.request_id[0])
            fail("proto_rep_decode accepted an incomplete reply");
        proto_err_t err;
        proto_err_from_rep(&rep, &err);
        json_t *b = proto_err_body(&err);
        json_decref(b);
    } else if (rep.body) {
        fail("a refused reply kept a body");
    }
    proto_rep_clear(&rep);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_frame_t f[MAX_FRAMES];
    void *own[MAX_FRAMES];
    size_t n = 0;
    if (size > 0) {
        size_t start = 0;
        for (size_t i = 0; i <= size && n < MAX_FRAMES; i++) {
            if (i == size || data[i] == SEP) {
                own[n] = dup_exact(data + start, i - start);
                f[n] = (proto_frame_t){own[n], i - start};
                n++;
                start = i + 1;
            }
        }
    }

    /* Requests. */
    proto_req_t req;
    proto_err_t err;
    memset(&err, 0, sizeof err);
    int rc = proto_req_decode(n ? f : NULL, n, &req, &err);
    if (rc == 0) {
        if (!json_is_object(req.body) || !req.command[0] || !req.request_id[0])
            fail("proto_req_decode accepted an incomplete request");
        if (req.cred == CRED_NONE ? req.credential[0] != '\0'
                                  : (req.cred != CRED_TOKEN && req.cred != CRED_SYSTEM) ||
                                        !req.credential[0])
            fail("proto_req_decode accepted a credential that is not -, a token or a service");
        if (req.cred == CRED_SYSTEM && !proto_subject_ok(ROLE_SYSTEM, req.credential))
            fail("proto_req_decode accepted system: with a name that is no subject");
        if (req.caller_raw[0] || req.caller.role || req.caller.subject[0] || req.session[0])
            fail("proto_req_decode filled the caller (the worker's authenticate step does)");
        const proto_cmd_t *cmd = proto_cmd_find(req.command);
        if (cmd) {
            check_validate(cmd, req.body);
        } else {
            /* Unknown command: still push the body through some schema. */
            size_t h = 0;
            for (const char *p = req.command; *p; p++)
                h = h * 31 + (unsigned char)*p;
            check_validate(proto_cmd_at(h % ncommands()), req.body);
        }
        (void)proto_event_check(req.body);
    } else if (rc == -1) {
        if (err.status != ERR_BAD_REQUEST)
            fail("proto_req_decode refused with a status other than bad_request");
        if (!decode_field_known(err.field))
            fail("proto_req_decode refused without naming a frame");
        if (req.body)
            fail("a refused request kept a body");
        json_decref(proto_err_body(&err));      /* the reply the service sends */
    } else {
        fail("proto_req_decode returned neither 0 nor -1");
    }
    proto_req_clear(&req);

    /* Replies: the frames as they are, and without the first one. */
    check_rep(n ? f : NULL, n);
    if (n > 1)
        check_rep(f + 1, n - 1);

    /* Each frame as a C string: key=value words, callers, names, events. */
    for (size_t i = 0; i < n; i++) {
        char *s = malloc(f[i].size + 1);
        if (!s)
            abort();
        memcpy(s, f[i].data, f[i].size);
        s[f[i].size] = '\0';
        const proto_cmd_t *cmd = proto_cmd_at((i * 7 + f[i].size) % ncommands());
        json_t *body = json_object();
        proto_err_t kerr;
        int kr = proto_set_kv(cmd, body, s, &kerr);
        if (kr != 0 && (kr != -1 || kerr.status != ERR_BAD_REQUEST))
            fail("proto_set_kv refused with something other than -1 bad_request");
        /* A second word for the same key is refused as given twice. */
        if (kr == 0 && proto_set_kv(cmd, body, s, &kerr) != -1)
            fail("proto_set_kv accepted the same key twice");
        json_decref(body);
        proto_caller_t who;
        if (proto_caller_parse(s, &who) == 0 &&
            (proto_role_from_name(proto_role_name(who.role)) != who.role ||
             !proto_subject_ok(who.role, who.subject)))
            fail("proto_caller_parse accepted a caller its role and subject checks refuse");
        (void)proto_role_from_name(s);
        (void)proto_subject_ok(ROLE_CUSTOMER, s);
        (void)proto_subject_ok(ROLE_MANAGER, s);
        int st = proto_status_from_name(s);
        if (st >= 0 && strcmp(proto_status_name((proto_status_t)st), s) != 0)
            fail("proto_status_from_name and proto_status_name disagree");
        (void)proto_cmd_find(s);
        (void)proto_event_known(s);
        json_t *ev = json_loadb(f[i].data, f[i].size, 0, NULL);
        (void)proto_event_check(ev);
        json_decref(ev);
        free(s);
    }

    for (size_t i = 0; i < n; i++)
        free(own[i]);
    return 0;
}
