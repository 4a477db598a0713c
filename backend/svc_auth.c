/*
 * svc_auth.c - accounts and sessions (DESIGN section 9): log in, log out,
 * sign up, the first manager, staff accounts, lock and unlock, password
 * changes; the signed session tokens; the accounts of withdrawn customers.
 * Hashing, the throttle and the signing key are in auth_pw.c.
 *
 * Passwords: only argon2id hashes are stored; a password is never logged,
 * published or put in an error message. Hashing is slow on purpose, so it
 * never runs inside a write transaction: the TX_SAGA handlers read, hash,
 * then write in one short transaction. The worker answers on auth.threads
 * request threads (default 1), which bounds how many hashes run at once
 * (memory: threads x auth.pwhash_mem_kib); it runs at nice auth.nice.
 *
 * An account:   active --(lock_after failed logins)--> locked for lock_ms
 *               active --auth.lock--> locked --auth.unlock--> active
 *               any ----CustomerWithdrawn--> withdrawn (for good)
 * A session is a row per token issued; ending it (logout, password change,
 * lock, withdrawal) publishes SessionRevoked, which every worker follows.
 */
#include "auth_pw.h"
#include "client.h"
#include "log.h"
#include "service.h"
#include "token.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static const char SCHEMA[] =
    "CREATE TABLE IF NOT EXISTS accounts("
    "  login TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL CHECK (role IN ('manager','delivery','customer')),"
    "  customer_id INTEGER CHECK ((role = 'customer') = (customer_id IS NOT NULL)),"
    "  hash TEXT NOT NULL,"   /* crypto_pwhash_str: argon2id */
    "  state TEXT NOT NULL DEFAULT 'active' CHECK (state IN ('active','locked','withdrawn')),"
    "  locked_until INTEGER NOT NULL DEFAULT 0,"   /* ms: locked by failed logins until then */
    "  failures INTEGER NOT NULL DEFAULT 0,"       /* failed logins in a row */
    "  next_try_at INTEGER NOT NULL DEFAULT 0,"    /* ms: no login attempt before */
    "  created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
    "  signup_rid TEXT);"   /* the request id of a customer's sign-up: its retry */
    "CREATE INDEX IF NOT EXISTS accounts_customer ON accounts(customer_id);"
    "CREATE TABLE IF NOT EXISTS sessions("
    "  sid TEXT PRIMARY KEY, login TEXT NOT NULL, role TEXT NOT NULL, subject TEXT NOT NULL,"
    "  issued INTEGER NOT NULL, expires INTEGER NOT NULL,"   /* s since the epoch */
    "  revoked_at INTEGER, reason TEXT);"
    "CREATE INDEX IF NOT EXISTS sessions_login ON sessions(login);";

static const char *SQL_A_GET =
    "SELECT login, role, customer_id, hash, state, locked_until, failures, next_try_at,"
    " signup_rid FROM accounts WHERE login = ?";
/* What anyone may see of accounts (never a hash); ?2 is now in ms. */
static const char *SQL_A_PUBLIC =
    "SELECT login, role, customer_id AS customer,"
    " CASE WHEN state = 'active' AND locked_until > ?2 THEN 'locked' ELSE state END AS state,"
    " failures, CASE WHEN locked_until > ?2 THEN"
    " strftime('%Y-%m-%dT%H:%M:%SZ', locked_until / 1000, 'unixepoch') END AS locked_until,"
    " created_at AS created FROM accounts WHERE ?1 IS NULL OR login = ?1 ORDER BY login";
static const char *SQL_A_ADD =
    "INSERT INTO accounts(login, role, customer_id, hash, created_at, updated_at, signup_rid)"
    " VALUES(?,?,?,?,?,?,?)";
static const char *SQL_A_MANAGERS =
    "SELECT COUNT(*) FROM accounts WHERE role = 'manager' AND state = 'active'";
static const char *SQL_A_OF_CUSTOMER =
    "SELECT login FROM accounts WHERE customer_id = ? AND state != 'withdrawn'";
static const char *SQL_A_FAILED =
    "UPDATE accounts SET failures = failures + 1, updated_at = ? WHERE login = ?";
static const char *SQL_A_FAILURES = "SELECT failures FROM accounts WHERE login = ?";
static const char *SQL_A_THROTTLE =
    "UPDATE accounts SET next_try_at = ?2, locked_until = MAX(locked_until, ?3) WHERE login = ?1";
/* A good login: the counters start again (unless the account was locked meanwhile). */
static const char *SQL_A_GOOD =
    "UPDATE accounts SET failures = 0, next_try_at = 0, locked_until = 0,"
    " hash = COALESCE(?3, hash), updated_at = ?4"
    " WHERE login = ?1 AND state = 'active' AND locked_until <= ?2";
static const char *SQL_A_STATE =
    "UPDATE accounts SET state = ?2, failures = CASE WHEN ?2 = 'active' THEN 0 ELSE failures END,"
    " next_try_at = CASE WHEN ?2 = 'active' THEN 0 ELSE next_try_at END,"
    " locked_until = CASE WHEN ?2 = 'active' THEN 0 ELSE locked_until END,"
    " updated_at = ?3 WHERE login = ?1";
static const char *SQL_A_PASSWD =
    "UPDATE accounts SET hash = ?2, updated_at = ?3,"
    " failures = CASE WHEN ?4 THEN 0 ELSE failures END,"
    " next_try_at = CASE WHEN ?4 THEN 0 ELSE next_try_at END WHERE login = ?1";

static const char *SQL_S_ADD =
    "INSERT INTO sessions(sid, login, role, subject, issued, expires) VALUES(?,?,?,?,?,?)";
static const char *SQL_S_GET =
    "SELECT login, expires FROM sessions WHERE sid = ? AND revoked_at IS NULL";
static const char *SQL_S_LIVE =
    "SELECT sid, expires FROM sessions WHERE login = ? AND revoked_at IS NULL AND expires > ?";
static const char *SQL_S_REVOKE =
    "UPDATE sessions SET revoked_at = ?3, reason = ?4 WHERE (?1 IS NULL OR sid = ?1)"
    " AND login = ?2 AND revoked_at IS NULL";
static const char *SQL_S_PRUNE = "DELETE FROM sessions WHERE expires < ?";

/* Read-only once start() has run (before any request thread). */
static unsigned char token_sk[crypto_sign_SECRETKEYBYTES];
static pthread_t main_thread;
static auth_throttle_t throttle;
static long long token_ttl_s, password_min;
static long long next_prune_ms;   /* main thread only */

/* Each thread calls the customer service on a socket of its own. */
static __thread client_t *customers;

/* ---- small helpers ---- */

static long long now_s(void) { return proto_now_ms() / 1000; }

/* "HH:MM:SS" (UTC) of a time in ms. */
static void clock_utc(long long ms, char *out, size_t cap)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(out, cap, "%H:%M:%S", &tm) == 0)
        snprintf(out, cap, "?");
}

/* An ISO timestamp (UTC) of a time in ms. */
static json_t *iso_utc(long long ms)
{
    char buf[32];
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        return json_null();
    return proto_nonnull(json_string(buf));
}

/* Publish an auth event (fields stolen) inside the open transaction. */
static int emit(service_t *svc, const char *type, json_t *fields)
{
    return bus_emit(service_bus(svc), type, NULL, 0, proto_nonnull(fields));
}

static int tx_begin(service_t *svc, proto_err_t *err)
{
    return db_begin(service_db(svc)) != 0
               ? proto_fail(err, ERR_INTERNAL, NULL, "cannot start a transaction")
               : 0;
}

/* End the transaction a handler opened: commit and publish when status is
 * 0, else roll back. Returns the final status. */
static int tx_end(service_t *svc, int status, proto_err_t *err)
{
    db_t *db = service_db(svc);
    if (status == 0 && db_commit(db) != 0)
        status = proto_fail(err, ERR_INTERNAL, NULL, "cannot commit");
    if (status != 0) {
        db_rollback(db);
        return status;
    }
    bus_flush(service_bus(svc));
    return 0;
}

static int check_login(const char *login, proto_err_t *err)
{
    if (auth_login_ok(login))
        return 0;
    return proto_fail(err, ERR_BAD_REQUEST, "login",
                      "a login is 1-%d letters, digits or the characters - _ . @",
                      AUTH_LOGIN_MAX);
}

static int check_password(const char *field, const char *password, proto_err_t *err)
{
    if ((long long)strlen(password) >= password_min)
        return 0;
    return proto_fail(err, ERR_BAD_REQUEST, field, "a password has at least %lld characters",
                      password_min);
}

/* The account named login (with its hash: never to be answered) in *acct,
 * or NULL when there is none. 0 or internal. */
static int account_find(service_t *svc, const char *login, json_t **acct, proto_err_t *err)
{
    *acct = db_first(service_db(svc), err, SQL_A_GET, "s", login);
    return *acct || err->status == ERR_NOT_FOUND ? 0 : err->status;
}

/* The account as anyone may see it (a new reference), or NULL with err. */
static json_t *account_public(service_t *svc, const char *login, proto_err_t *err)
{
    json_t *row = db_first(service_db(svc), err, SQL_A_PUBLIC, "si", login, proto_now_ms());
    if (!row && err->status == ERR_NOT_FOUND)
        proto_fail(err, ERR_NOT_FOUND, "login", "there is no account %s", login);
    return row;
}

/* The account named login, which must exist: 0, or not_found. */
static int account_need(service_t *svc, const char *login, json_t **acct, proto_err_t *err)
{
    if (account_find(svc, login, acct, err))
        return err->status;
    return *acct ? 0 : proto_fail(err, ERR_NOT_FOUND, "login", "there is no account %s", login);
}

/* ---- sessions ---- */

/* Inside a write transaction: a new session of login (LoggedIn), its
 * claims in c. 0 or -1. */
static int session_open(service_t *svc, const char *login, const char *role, long long customer,
                        token_claims_t *c)
{
    memset(c, 0, sizeof *c);
    c->version = TOKEN_VERSION;
    proto_random_hex(c->sid, TOKEN_SID_HEX / 2);
    c->role = proto_role_from_name(role);
    if (c->role == ROLE_CUSTOMER)
        snprintf(c->subject, sizeof c->subject, "%lld", customer);
    else
        snprintf(c->subject, sizeof c->subject, "%s", login);
    c->issued = now_s();
    c->expires = c->issued + token_ttl_s;
    if (db_run(service_db(svc), SQL_S_ADD, "ssssii", c->sid, login, role, c->subject, c->issued,
               c->expires) != 0)
        return -1;
    return emit(svc, "LoggedIn",
                json_pack("{s:s, s:s, s:s}", "login", login, "role", role, "sessionId", c->sid));
}

/* After the commit: the answer of a login, {token, role, subject, login,
 * expires}. 0 or internal. */
static int session_reply(const token_claims_t *c, const char *login, json_t **result,
                         proto_err_t *err)
{
    char token[TOKEN_MAX + 1];
    if (token_sign(c, token_sk, token, sizeof token) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot sign the token");
    *result = proto_nonnull(json_pack("{s:s, s:s, s:s, s:s, s:I}", "token", token, "role",
                                      proto_role_name(c->role), "subject", c->subject, "login",
                                      login, "expires", (json_int_t)c->expires));
    sodium_memzero(token, sizeof token);
    return 0;
}

/* Inside a write transaction: end login's live sessions (sid NULL: every
 * one), each with a SessionRevoked. The number ended, or -1. */
static int sessions_end(service_t *svc, const char *login, const char *sid, const char *reason)
{
    db_t *db = service_db(svc);
    long long now = now_s();
    sqlite3_stmt *st = db_prep(db, SQL_S_LIVE, "si", login, now);
    json_t *rows = st ? db_rows(st) : NULL;
    if (!rows)
        return -1;
    size_t i, ended = 0;
    json_t *row;
    json_array_foreach(rows, i, row) {
        if (sid && strcmp(jstr(row, "sid"), sid) != 0)
            continue;
        /* This worker refuses the token at once; the others follow the event. */
        if (emit(svc, "SessionRevoked",
                 json_pack("{s:s, s:s, s:I, s:s}", "sessionId", jstr(row, "sid"), "login", login,
                           "expires", (json_int_t)jint(row, "expires"), "reason", reason)) != 0 ||
            service_session_ended(svc, jstr(row, "sid"), jint(row, "expires")) != 0)
            break;
        ended++;
    }
    int all = i == json_array_size(rows);
    json_decref(rows);
    if (!all || db_run(db, SQL_S_REVOKE, "ssis", sid, login, now, reason) != 0)
        return -1;
    return (int)ended;
}

/* ---- the throttle ---- */

/* Is a login of acct refused now, before any hashing (withdrawn, locked,
 * or too soon after a failure)? 0, or unauthorized with retry_after_ms. */
static int refused_now(const json_t *acct, long long now, proto_err_t *err)
{
    const char *login = jstr(acct, "login"), *state = jstr(acct, "state");
    long long until = jint(acct, "locked_until"), next = jint(acct, "next_try_at");
    char hms[16];
    if (strcmp(state, "withdrawn") == 0)
        return proto_fail(err, ERR_UNAUTHORIZED, "login",
                          "account %s is closed: the customer has withdrawn", login);
    if (strcmp(state, "locked") == 0)
        return proto_fail(err, ERR_UNAUTHORIZED, "login",
                          "account %s is locked by a manager (ask a manager to unlock it)", login);
    if (until > now) {
        clock_utc(until, hms, sizeof hms);
        proto_fail(err, ERR_UNAUTHORIZED, "login",
                   "account %s is locked until %s UTC after %lld failed logins", login, hms,
                   jint(acct, "failures"));
        err->retry_after_ms = (long)(until - now);
        return err->status;
    }
    if (next > now) {
        proto_fail(err, ERR_UNAUTHORIZED, "login",
                   "too many failed logins for %s: try again in %lld s", login,
                   (next - now + 999) / 1000);
        err->retry_after_ms = (long)(next - now);
        return err->status;
    }
    return 0;
}

/* A wrong password for login (which exists): count it, slow the next try,
 * lock after auth.lock_after in a row; committed at once. The wait before
 * the next try in *wait_ms. 0 or internal. */
static int login_failed(service_t *svc, const char *login, long long now, long long *wait_ms,
                        proto_err_t *err)
{
    char ts[32];
    proto_utc_now(ts, sizeof ts);
    db_t *db = service_db(svc);
    if (tx_begin(svc, err))
        return err->status;
    long long n = -1, next = 0, until = 0;
    int rc = db_run(db, SQL_A_FAILED, "ss", ts, login) != 0 ||
             (n = db_value(db, -1, SQL_A_FAILURES, "s", login)) < 1;
    if (!rc) {
        auth_after_failure(&throttle, n, now, &next, &until);
        rc = db_run(db, SQL_A_THROTTLE, "sii", login, next, until) != 0 ||
             emit(svc, "LoginFailed", json_pack("{s:s, s:I}", "login", login, "failures",
                                                (json_int_t)n)) != 0;
    }
    if (!rc && until)
        rc = emit(svc, "AccountLocked",
                  json_pack("{s:s, s:o, s:s}", "login", login, "until", iso_utc(until), "reason",
                            "failed logins")) != 0;
    if (!rc && until)
        log_warn("account %s locked after %lld failed logins", login, n);
    else if (!rc)
        log_limited("login %s failed (%lld in a row)", login, n);
    *wait_ms = (until ? until : next) - now;
    return tx_end(svc, rc ? proto_fail(err, ERR_INTERNAL, NULL, "cannot count the failure") : 0,
                  err);
}

/* Check password against acct (NULL: an unknown login, checked against the
 * dummy hash at the same cost). 0 when it matches; else a failure is
 * counted and the error is status (naming field) with the sentence msg. */
static int password_check(service_t *svc, const json_t *acct, const char *password,
                          proto_status_t status, const char *field, const char *msg,
                          proto_err_t *err)
{
    long long now = proto_now_ms(), wait = throttle.delay_ms;
    if (acct && refused_now(acct, now, err))
        return err->status;
    if (auth_pw_verify(acct ? jstr(acct, "hash") : NULL, password))
        return 0;
    if (acct && login_failed(svc, jstr(acct, "login"), now, &wait, err))
        return err->status;
    proto_fail(err, status, field, "%s", msg);
    err->retry_after_ms = (long)wait;
    return err->status;
}

/* ---- calls to the customer service ---- */

/* Call the customer service as system:auth: 0 with the answer in *out
 * (new reference), or the error in err. body is stolen. */
static int customer_call(const char *cmd, json_t *body, const char *rid, json_t **out,
                         proto_err_t *err)
{
    proto_rep_t rep;
    *out = NULL;
    int rc = client_call(customers, cmd, body, rid, &rep, err);
    json_decref(body);
    if (rc != 0)
        return proto_fail(err, ERR_UNAVAILABLE, NULL, "the customer service does not answer");
    if (rep.status != ERR_OK) {
        proto_err_from_rep(&rep, err);
        proto_rep_clear(&rep);
        return err->status;
    }
    *out = json_incref(rep.body);
    proto_rep_clear(&rep);
    return 0;
}

/* ---- logging in and out ---- */

static int cmd_login(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                     proto_err_t *err)
{
    (void)req;
    const char *login = jstr(body, "login"), *password = jstr(body, "password");
    json_t *acct = NULL;
    if (check_login(login, err) || account_find(svc, login, &acct, err))
        return err->status;
    /* An unknown login costs the same and reads the same as a wrong password. */
    if (password_check(svc, acct, password, ERR_UNAUTHORIZED, NULL, "wrong login or password",
                       err)) {
        json_decref(acct);
        return err->status;
    }
    char fresh[AUTH_HASH_MAX], ts[32];
    const char *rehash = NULL;
    if (auth_pw_needs_rehash(jstr(acct, "hash"))) {
        if (auth_pw_hash(password, fresh) == 0)
            rehash = fresh;
        else
            log_warn("account %s: cannot rehash the password (kept the old hash)", login);
    }
    proto_utc_now(ts, sizeof ts);
    token_claims_t c;
    int status = tx_begin(svc, err);
    if (status == 0) {
        if (db_run(service_db(svc), SQL_A_GOOD, "siss", login, proto_now_ms(), rehash, ts) != 0)
            status = proto_fail(err, ERR_INTERNAL, NULL, "cannot record the login");
        else if (db_changes(service_db(svc)) == 0)   /* locked meanwhile */
            status = proto_fail(err, ERR_UNAUTHORIZED, "login", "account %s is locked", login);
        else if (session_open(svc, login, jstr(acct, "role"), jint(acct, "customer_id"), &c) != 0)
            status = proto_fail(err, ERR_INTERNAL, NULL, "cannot open the session");
        status = tx_end(svc, status, err);
    }
    sodium_memzero(fresh, sizeof fresh);
    json_decref(acct);
    return status ? status : session_reply(&c, login, result, err);
}

/* The caller's own session ends (TX_ONE: inside the pipeline's transaction). */
static int cmd_logout(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    (void)body;
    json_t *s = db_first(service_db(svc), err, SQL_S_GET, "s", req->session);
    if (!s && err->status != ERR_NOT_FOUND)
        return err->status;
    int ended = s ? sessions_end(svc, jstr(s, "login"), req->session, "logout") : 0;
    json_decref(s);
    if (ended < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot end the session");
    *result = json_pack("{s:s, s:b}", "sessionId", req->session, "ended", ended > 0);
    return 0;
}

/* Every account, as a manager may see it. */
static int cmd_list(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    (void)req;
    (void)body;
    return service_items(db_prep(service_db(svc), SQL_A_PUBLIC, "si", NULL, proto_now_ms()), result,
                         err);
}

/* ---- new accounts ---- */

/* Inside a write transaction: a new account and its AccountCreated.
 * customer 0: staff. 0, conflict when the login is taken, or internal. */
static int account_add(service_t *svc, const char *login, const char *role, long long customer,
                       const char *hash, const char *rid, proto_err_t *err)
{
    char ts[32];
    json_t *acct = NULL;
    if (account_find(svc, login, &acct, err))
        return err->status;
    json_decref(acct);
    if (acct)
        return proto_fail(err, ERR_CONFLICT, "login", "the login %s is taken", login);
    proto_utc_now(ts, sizeof ts);
    json_t *cid = customer ? json_integer(customer) : json_null();
    if (db_run(service_db(svc), SQL_A_ADD, "sszssss", login, role, customer, hash, ts, ts, rid) != 0 ||
        emit(svc, "AccountCreated", json_pack("{s:s, s:s, s:o}", "login", login, "role", role,
                                              "customerId", proto_nonnull(cid))) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot store the account");
    return 0;
}

/* Before hashing: the login is well formed and free, the password long
 * enough. 0 or the error. */
static int new_account_ok(service_t *svc, const char *login, const char *password,
                          proto_err_t *err)
{
    json_t *acct = NULL;
    if (check_login(login, err) || check_password("password", password, err) ||
        account_find(svc, login, &acct, err))
        return err->status;
    json_decref(acct);
    return acct ? proto_fail(err, ERR_CONFLICT, "login", "the login %s is taken", login) : 0;
}

/* Hash, then one transaction: the account and (c not NULL) a session.
 * rid: the sign-up's derived request id (NULL for others). */
static int create(service_t *svc, const char *login, const char *role, long long customer,
                  const char *rid, const char *password, token_claims_t *c, proto_err_t *err)
{
    char hash[AUTH_HASH_MAX];
    if (auth_pw_hash(password, hash) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot hash the password (out of memory?)");
    int status = tx_begin(svc, err);
    if (status == 0) {
        status = account_add(svc, login, role, customer, hash, rid, err);
        if (status == 0 && c && session_open(svc, login, role, customer, c) != 0)
            status = proto_fail(err, ERR_INTERNAL, NULL, "cannot open the session");
        status = tx_end(svc, status, err);
    }
    sodium_memzero(hash, sizeof hash);
    return status;
}

/* A request id for a call on behalf of req: the same for a retry of req,
 * so the callee applies it once. out holds 40 bytes. */
static void derived_rid(const proto_req_t *req, const char *what, char *out)
{
    unsigned char h[16];
    char hex[33];
    crypto_generichash(h, sizeof h, (const unsigned char *)req->request_id,
                       strlen(req->request_id), (const unsigned char *)what, strlen(what));
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    snprintf(out, 40, "auth-%s", hex);
}

/* A retry of a sign-up that made acct (same request id, same password):
 * a new session. 0, or conflict when acct is not that. */
static int signup_again(service_t *svc, const json_t *acct, const char *rid, const char *password,
                        token_claims_t *c, proto_err_t *err)
{
    const char *login = jstr(acct, "login");
    if (strcmp(jstr(acct, "signup_rid"), rid) != 0 || !auth_pw_verify(jstr(acct, "hash"), password))
        return proto_fail(err, ERR_CONFLICT, "login", "the login %s is taken", login);
    int status = tx_begin(svc, err);
    if (status == 0 && session_open(svc, login, "customer", jint(acct, "customer_id"), c) != 0)
        status = proto_fail(err, ERR_INTERNAL, NULL, "cannot open the session");
    return status ? status : tx_end(svc, 0, err);
}

static int cmd_signup(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    const char *login = jstr(body, "login"), *password = jstr(body, "password");
    char rid[40];
    token_claims_t c;
    json_t *acct = NULL;
    derived_rid(req, "signup", rid);
    if (check_login(login, err) || account_find(svc, login, &acct, err))
        return err->status;
    if (acct) {
        int status = signup_again(svc, acct, rid, password, &c, err);
        json_decref(acct);
        return status ? status : session_reply(&c, login, result, err);
    }
    if (new_account_ok(svc, login, password, err))
        return err->status;
    /* The customer's details only: never the password. */
    json_t *details = proto_nonnull(json_deep_copy(body)), *customer = NULL;
    json_object_del(details, "login");
    json_object_del(details, "password");
    if (customer_call("customer.add", details, rid, &customer, err))
        return err->status;
    long long id = jint(customer, "id");
    json_decref(customer);
    if (create(svc, login, "customer", id, rid, password, &c, err)) {
        if (err->status == ERR_CONFLICT)
            log_warn("customer %lld registered, but the login %s was taken meanwhile", id, login);
        return err->status;
    }
    return session_reply(&c, login, result, err);
}

/* The first manager of a new shop (counter setup). */
static int cmd_setup(service_t *svc, const proto_req_t *req, const json_t *body,
                     json_t **result, proto_err_t *err)
{
    (void)req;
    const char *login = jstr(body, "login"), *password = jstr(body, "password");
    long long managers = db_value(service_db(svc), -1, SQL_A_MANAGERS, "");
    if (managers < 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "database error");
    if (managers > 0)
        return proto_fail(err, ERR_CONFLICT, NULL,
                          "the shop has a manager already: log in (counter login)");
    if (new_account_ok(svc, login, password, err))
        return err->status;
    token_claims_t c;
    if (create(svc, login, "manager", 0, NULL, password, &c, err))
        return err->status;
    return session_reply(&c, login, result, err);
}

/* auth.add for a customer registered at the counter: customer exists, has
 * not withdrawn and has no account yet. 0 or the error. */
static int customer_ok(service_t *svc, long long id, proto_err_t *err)
{
    json_t *row = NULL;
    char rid[40];
    proto_random_hex(rid, 16);
    if (customer_call("customer.show", json_pack("{s:I}", "id", (json_int_t)id), rid, &row, err)) {
        if (err->status == ERR_NOT_FOUND)
            proto_fail(err, ERR_NOT_FOUND, "customer", "customer %lld does not exist", id);
        return err->status;
    }
    int withdrawn = strcmp(jstr(row, "status"), "withdrawn") == 0;
    json_decref(row);
    if (withdrawn)
        return proto_fail(err, ERR_CONFLICT, "customer", "customer %lld has withdrawn", id);
    json_t *other = db_first(service_db(svc), err, SQL_A_OF_CUSTOMER, "i", id);
    if (!other)
        return err->status == ERR_NOT_FOUND ? 0 : err->status;
    proto_fail(err, ERR_CONFLICT, "customer", "customer %lld has an account already (%s)", id,
               jstr(other, "login"));
    json_decref(other);
    return err->status;
}

static int cmd_add(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                   proto_err_t *err)
{
    (void)req;
    const char *login = jstr(body, "login"), *role = jstr(body, "role");
    long long customer = jint(body, "customer");
    unsigned r = proto_role_from_name(role);
    if (r != ROLE_MANAGER && r != ROLE_DELIVERY && r != ROLE_CUSTOMER)
        return proto_fail(err, ERR_BAD_REQUEST, "role", "role must be manager, delivery or customer");
    if (r == ROLE_CUSTOMER && !customer)
        return proto_fail(err, ERR_BAD_REQUEST, "customer",
                          "a customer's account needs customer=ID (the customer's id)");
    if (r != ROLE_CUSTOMER && customer)
        return proto_fail(err, ERR_BAD_REQUEST, "customer", "a %s account has no customer", role);
    if (new_account_ok(svc, login, jstr(body, "password"), err) ||
        (customer && customer_ok(svc, customer, err)) ||
        create(svc, login, role, customer, NULL, jstr(body, "password"), NULL, err))
        return err->status;
    *result = account_public(svc, login, err);
    return *result ? 0 : err->status;
}

/* ---- locks and passwords ---- */

/* TX_ONE: a manager locks an account; its sessions end. */
static int cmd_lock(service_t *svc, const proto_req_t *req, const json_t *body, json_t **result,
                    proto_err_t *err)
{
    const char *login = jstr(body, "login");
    json_t *acct = NULL;
    if (account_need(svc, login, &acct, err))
        return err->status;
    const char *state = jstr(acct, "state");
    int manager = strcmp(jstr(acct, "role"), "manager") == 0, rc = 0;
    if (strcmp(state, "active") != 0)
        rc = proto_fail(err, ERR_CONFLICT, "login", "account %s is %s already", login, state);
    else if (manager && db_value(service_db(svc), -1, SQL_A_MANAGERS, "") <= 1)
        rc = proto_fail(err, ERR_CONFLICT, "login",
                        "%s is the last active manager: add another manager first", login);
    json_decref(acct);
    if (rc)
        return rc;
    char ts[32], reason[PROTO_MAX_ID + 32];
    proto_utc_now(ts, sizeof ts);
    snprintf(reason, sizeof reason, "locked by %s", req->caller_raw);
    if (db_run(service_db(svc), SQL_A_STATE, "sss", login, "locked", ts) != 0 ||
        sessions_end(svc, login, NULL, "locked") < 0 ||
        emit(svc, "AccountLocked", json_pack("{s:s, s:n, s:s}", "login", login, "until", "reason",
                                             reason)) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot lock the account");
    log_info("account %s %s", login, reason);
    *result = account_public(svc, login, err);
    return *result ? 0 : err->status;
}

/* TX_ONE: a manager unlocks an account locked by a manager or by failed
 * logins; the failure count starts again. */
static int cmd_unlock(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    const char *login = jstr(body, "login");
    json_t *acct = NULL;
    if (account_need(svc, login, &acct, err))
        return err->status;
    const char *state = jstr(acct, "state");
    int rc = 0;
    if (strcmp(state, "withdrawn") == 0)
        rc = proto_fail(err, ERR_CONFLICT, "login",
                        "account %s is closed: the customer has withdrawn", login);
    else if (strcmp(state, "active") == 0 && jint(acct, "failures") == 0)
        rc = proto_fail(err, ERR_CONFLICT, "login", "account %s is not locked", login);
    json_decref(acct);
    if (rc)
        return rc;
    char ts[32];
    proto_utc_now(ts, sizeof ts);
    if (db_run(service_db(svc), SQL_A_STATE, "sss", login, "active", ts) != 0 ||
        emit(svc, "AccountUnlocked", json_pack("{s:s}", "login", login)) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot unlock the account");
    log_info("account %s unlocked by %s", login, req->caller_raw);
    *result = account_public(svc, login, err);
    return *result ? 0 : err->status;
}

/* Whose password auth.passwd changes: the caller's own (login left out or
 * the caller's: `old` must be right) or, for a manager, anyone's. The
 * account in *acct. 0 or the error. */
static int passwd_target(service_t *svc, const proto_req_t *req, const json_t *body,
                         json_t **acct, int *own, proto_err_t *err)
{
    json_t *s = db_first(service_db(svc), err, SQL_S_GET, "s", req->session);
    if (!s && err->status != ERR_NOT_FOUND)
        return err->status;
    if (!s)
        return proto_fail(err, ERR_UNAUTHORIZED, NULL,
                          "your session has ended: log in again (counter login)");
    char login[PROTO_MAX_STR + 1];
    snprintf(login, sizeof login, "%s",
             json_object_get(body, "login") ? jstr(body, "login") : jstr(s, "login"));
    *own = strcmp(login, jstr(s, "login")) == 0;
    json_decref(s);
    if (!*own && req->caller.role != ROLE_MANAGER)
        return proto_fail(err, ERR_FORBIDDEN, "login",
                          "only a manager may change another account's password");
    if (*own && !json_object_get(body, "old"))
        return proto_fail(err, ERR_BAD_REQUEST, "old",
                          "give your current password as old to change it");
    if (account_need(svc, login, acct, err))
        return err->status;
    if (strcmp(jstr(*acct, "state"), "withdrawn") == 0) {
        json_decref(*acct);
        *acct = NULL;
        return proto_fail(err, ERR_CONFLICT, "login",
                          "account %s is closed: the customer has withdrawn", login);
    }
    return 0;
}

/* Every session of the account ends, the caller's own too: log in again. */
static int cmd_passwd(service_t *svc, const proto_req_t *req, const json_t *body,
                      json_t **result, proto_err_t *err)
{
    const char *password = jstr(body, "password");
    json_t *acct = NULL;
    int own = 0, ended = -1;
    if (check_password("password", password, err) ||
        passwd_target(svc, req, body, &acct, &own, err) ||
        (own && password_check(svc, acct, jstr(body, "old"), ERR_FORBIDDEN, "old",
                               "the old password is wrong", err))) {
        json_decref(acct);
        return err->status;
    }
    char hash[AUTH_HASH_MAX], ts[32], login[AUTH_LOGIN_MAX + 1];
    snprintf(login, sizeof login, "%s", jstr(acct, "login"));
    json_decref(acct);
    if (auth_pw_hash(password, hash) != 0)
        return proto_fail(err, ERR_INTERNAL, NULL, "cannot hash the password (out of memory?)");
    proto_utc_now(ts, sizeof ts);
    int status = tx_begin(svc, err);
    if (status == 0) {
        if (db_run(service_db(svc), SQL_A_PASSWD, "sssi", login, hash, ts, (long long)own) != 0 ||
            (ended = sessions_end(svc, login, NULL, "password")) < 0 ||
            emit(svc, "PasswordChanged", json_pack("{s:s}", "login", login)) != 0)
            status = proto_fail(err, ERR_INTERNAL, NULL, "cannot change the password");
        status = tx_end(svc, status, err);
    }
    sodium_memzero(hash, sizeof hash);
    if (status)
        return status;
    *result = json_pack("{s:s, s:i}", "login", login, "sessions_ended", ended);
    return 0;
}

/* ---- events, upkeep and lifecycle ---- */

/* A withdrawn customer's accounts close for good and their sessions end. */
static int on_customer(void *arg, const char *publisher, const json_t *ev)
{
    service_t *svc = arg;
    (void)publisher;
    if (strcmp(jstr(ev, "eventType"), "CustomerWithdrawn") != 0)
        return 0;
    db_t *db = service_db(svc);
    sqlite3_stmt *st = db_prep(db, SQL_A_OF_CUSTOMER, "i", jint(ev, "customerId"));
    json_t *rows = st ? db_rows(st) : NULL, *row;
    if (!rows)
        return -1;
    char ts[32];
    proto_utc_now(ts, sizeof ts);
    size_t i;
    int rc = 0;
    json_array_foreach(rows, i, row) {
        const char *login = jstr(row, "login");
        if (rc == 0 && (db_run(db, SQL_A_STATE, "sss", login, "withdrawn", ts) != 0 ||
                        sessions_end(svc, login, NULL, "withdrawn") < 0 ||
                        emit(svc, "AccountLocked", json_pack("{s:s, s:n, s:s}", "login", login,
                                                             "until", "reason", "withdrawn")) != 0))
            rc = -1;
    }
    json_decref(rows);
    return rc;
}

/* Expired sessions go, at most once a minute. */
static void tick(service_t *svc)
{
    long long now = proto_mono_ms();
    if (now < next_prune_ms)
        return;
    next_prune_ms = now + 60000;
    (void)db_run(service_db(svc), SQL_S_PRUNE, "i", now_s());
}

static int thread_start(service_t *svc)
{
    const config_t *cfg = service_config(svc);
    char ep[512];
    zio_curve_t cv;
    if (config_endpoint(cfg, "customer", "req", ep, sizeof ep) != 0 ||
        keys_client(service_keys(svc), "customer", &cv) != 0)
        return -1;
    customers = client_new(service_ctx(svc), ep, &cv);
    zio_curve_clear(&cv);
    if (!customers)
        return -1;
    client_set_caller(customers, "system:auth");
    client_set_timeout(customers, (int)config_int(cfg, "auth.call_timeout_ms"), 2);
    return 0;
}

static void thread_stop(service_t *svc)
{
    (void)svc;
    client_destroy(&customers);
    /* The main thread stops last: the key is not needed any more. */
    if (pthread_equal(pthread_self(), main_thread))
        sodium_memzero(token_sk, sizeof token_sk);
}

/* Lower the CPU priority of the worker (and of the request threads it
 * starts next), so that a login flood does not slow the other services. */
static void be_nice(const config_t *cfg)
{
    int want = (int)config_int(cfg, "auth.nice");
    errno = 0;
    int now = getpriority(PRIO_PROCESS, 0);
    if (errno == 0 && now >= want)
        return;
    if (setpriority(PRIO_PROCESS, 0, want) != 0)
        log_warn("cannot lower the priority to nice %d: %s", want, strerror(errno));
}

static int start(service_t *svc)
{
    const config_t *cfg = service_config(svc);
    main_thread = pthread_self();
    throttle = auth_throttle_from(cfg);
    token_ttl_s = config_int(cfg, "auth.token_ttl_s");
    password_min = config_int(cfg, "auth.password_min");
    be_nice(cfg);
    if (keys_token_secret(service_keys(svc), token_sk) != 0) {
        log_error("cannot read the token signing key in %s/keys (run counter setup)",
                  config_home(cfg));
        return -1;
    }
    if (auth_pw_configure(cfg) != 0 || thread_start(svc) != 0)
        return -1;
    return bus_subscribe(service_bus(svc), "customer", on_customer, svc);
}

static const svc_cmd_t commands[] = {
    {"auth.login", cmd_login},   {"auth.logout", cmd_logout}, {"auth.signup", cmd_signup},
    {"auth.setup", cmd_setup},   {"auth.add", cmd_add},       {"auth.list", cmd_list},
    {"auth.lock", cmd_lock},     {"auth.unlock", cmd_unlock}, {"auth.passwd", cmd_passwd},
    {NULL, NULL},
};

const svc_def_t svc_auth = {"auth", SCHEMA,       commands,     start, tick,
                            NULL,   thread_start, thread_stop, NULL,  NULL};
