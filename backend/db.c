/*
 * db.c - SQLite with a statement cache and explicit transactions.
 */
#include "db.h"
#include "proto.h"
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DB_MAX_STMTS 128

struct db {
    sqlite3 *h;
    int nstmts;
    const char *sql[DB_MAX_STMTS];
    sqlite3_stmt *stmt[DB_MAX_STMTS];
};

/* SQLite's default busy handler sleeps in steps of up to 100 ms: with
 * several threads taking turns at one write lock (held for a fraction of a
 * millisecond each), that turns short waits into long stalls. Retry often
 * instead, for up to 5 s in all. */
static int on_busy(void *arg, int count)
{
    (void)arg;
    if (count >= 25000)
        return 0;
    struct timespec ts = {0, (count < 100 ? 50 : 200) * 1000L};
    nanosleep(&ts, NULL);
    return 1;
}

db_t *db_open_readonly(const char *path, char *err, size_t errlen)
{
    db_t *db = xcalloc(1, sizeof *db);
    if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_handler(db->h, on_busy, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
        db_destroy(&db);
        return NULL;
    }
    return db;
}

db_t *db_open(const char *path, const char *synchronous, char *err, size_t errlen)
{
    db_t *db = xcalloc(1, sizeof *db);
    int rc = sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                                 SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "%s: %s", path, db->h ? sqlite3_errmsg(db->h) : "out of memory");
        db_destroy(&db);
        return NULL;
    }
    if (strcmp(synchronous, "NORMAL") != 0 && strcmp(synchronous, "FULL") != 0) {
        snprintf(err, errlen, "sqlite.synchronous must be NORMAL or FULL");
        db_destroy(&db);
        return NULL;
    }
    char pragmas[256];
    snprintf(pragmas, sizeof pragmas,
             "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA foreign_keys=ON;",
             synchronous);
    if (sqlite3_busy_handler(db->h, on_busy, NULL) != SQLITE_OK || db_exec(db, pragmas) != 0) {
        snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db->h));
        db_destroy(&db);
        return NULL;
    }
    return db;
}

void db_destroy(db_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    db_t *db = *self_p;
    for (int i = 0; i < db->nstmts; i++)
        sqlite3_finalize(db->stmt[i]);
    if (db->h && sqlite3_close(db->h) != SQLITE_OK)
        log_warn("sqlite3_close: %s", sqlite3_errmsg(db->h));
    free(db);
    *self_p = NULL;
}

sqlite3 *db_handle(db_t *db)
{
    return db->h;
}

int db_exec(db_t *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
        log_error("sql: %s (in: %.80s)", msg ? msg : sqlite3_errmsg(db->h), sql);
        sqlite3_free(msg);
        return -1;
    }
    return 0;
}

sqlite3_stmt *db_stmt(db_t *db, const char *sql)
{
    for (int i = 0; i < db->nstmts; i++) {
        if (db->sql[i] == sql) {
            sqlite3_reset(db->stmt[i]);
            sqlite3_clear_bindings(db->stmt[i]);
            return db->stmt[i];
        }
    }
    if (db->nstmts == DB_MAX_STMTS) {
        log_error("statement cache full");
        return NULL;
    }
    sqlite3_stmt *st;
    if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
        log_error("prepare: %s (in: %.80s)", sqlite3_errmsg(db->h), sql);
        return NULL;
    }
    db->sql[db->nstmts] = sql;
    db->stmt[db->nstmts++] = st;
    return st;
}

int db_begin(db_t *db)
{
    return db_exec(db, "BEGIN IMMEDIATE");
}

int db_begin_read(db_t *db)
{
    return db_exec(db, "BEGIN DEFERRED");
}

int db_commit(db_t *db)
{
    return db_exec(db, "COMMIT");
}

void db_rollback(db_t *db)
{
    if (!sqlite3_get_autocommit(db->h))
        (void)db_exec(db, "ROLLBACK");
}

/* Bind a JSON string / integer at i, or NULL when v is NULL (an optional
 * field left out). Return the sqlite3_bind_* code. */
static long long db_int(sqlite3_stmt *st, long long def);

static int db_bind_text_or_null(sqlite3_stmt *st, int i, const json_t *v)
{
    return v ? sqlite3_bind_text(st, i, json_string_value(v), -1, SQLITE_TRANSIENT)
             : sqlite3_bind_null(st, i);
}

static int db_bind_int_or_null(sqlite3_stmt *st, int i, const json_t *v)
{
    return v ? sqlite3_bind_int64(st, i, json_integer_value(v)) : sqlite3_bind_null(st, i);
}

int db_bindv(sqlite3_stmt *st, const char *fmt, va_list ap)
{
    int rc = SQLITE_OK, i = 1;
    for (const char *f = fmt; *f && rc == SQLITE_OK; f++, i++) {
        long long n;
        const char *s;
        const json_t *j;
        switch (*f) {
        case 'i':
            rc = sqlite3_bind_int64(st, i, va_arg(ap, long long));
            break;
        case 'z':
            n = va_arg(ap, long long);
            rc = n ? sqlite3_bind_int64(st, i, n) : sqlite3_bind_null(st, i);
            break;
        case 's':
            s = va_arg(ap, const char *);
            rc = s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
            break;
        case 'I':
            j = va_arg(ap, const json_t *);
            rc = db_bind_int_or_null(st, i, j);
            break;
        case 'S':
            j = va_arg(ap, const json_t *);
            rc = db_bind_text_or_null(st, i, j);
            break;
        default:
            log_error("db_bind: unknown type '%c'", *f);
            return -1;
        }
    }
    if (rc != SQLITE_OK) {
        log_error("bind %d: %s", i - 1, sqlite3_errmsg(sqlite3_db_handle(st)));
        return -1;
    }
    return 0;
}

int db_bind(sqlite3_stmt *st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = db_bindv(st, fmt, ap);
    va_end(ap);
    return rc;
}

static sqlite3_stmt *prepv(db_t *db, const char *sql, const char *fmt, va_list ap)
{
    sqlite3_stmt *st = db_stmt(db, sql);
    if (!st || db_bindv(st, fmt, ap) != 0)
        return NULL;
    return st;
}

sqlite3_stmt *db_prep(db_t *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = prepv(db, sql, fmt, ap);
    va_end(ap);
    return st;
}

int db_run(db_t *db, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = prepv(db, sql, fmt, ap);
    va_end(ap);
    return st ? db_step_done(st) : -1;
}

int db_changes(db_t *db)
{
    return sqlite3_changes(db->h);
}

long long db_last_id(db_t *db)
{
    return sqlite3_last_insert_rowid(db->h);
}

json_t *db_first(db_t *db, proto_err_t *err, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = prepv(db, sql, fmt, ap);
    va_end(ap);
    if (!st) {
        proto_fail(err, ERR_INTERNAL, NULL, "database error");
        return NULL;
    }
    json_t *row = NULL;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        row = db_row(st);
    } else if (rc == SQLITE_DONE) {
        proto_fail(err, ERR_NOT_FOUND, NULL, "not found");
    } else {
        log_error("step: %s", sqlite3_errmsg(db->h));
        proto_fail(err, ERR_INTERNAL, NULL, "database error");
    }
    sqlite3_reset(st);
    return row;
}

json_t *db_get(db_t *db, proto_err_t *err, const char *sql, long long id, const char *field,
               const char *what)
{
    json_t *row = db_first(db, err, sql, "i", id);
    if (!row && err->status == ERR_NOT_FOUND)
        proto_fail(err, ERR_NOT_FOUND, field, "%s %lld does not exist", what, id);
    return row;
}

long long db_value(db_t *db, long long def, const char *sql, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    sqlite3_stmt *st = prepv(db, sql, fmt, ap);
    va_end(ap);
    return st ? db_int(st, def) : def;
}

int db_next(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        log_error("step: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

void db_reset(sqlite3_stmt *st)
{
    if (st)
        sqlite3_reset(st);
}

long long db_col_int(sqlite3_stmt *st, int i)
{
    return sqlite3_column_int64(st, i);
}

const char *db_col_text(sqlite3_stmt *st, int i, size_t *len)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    if (len)
        *len = t ? (size_t)sqlite3_column_bytes(st, i) : 0;
    return t ? (const char *)t : "";
}

int db_step_done(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        log_error("step: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
        sqlite3_reset(st);
        return -1;
    }
    sqlite3_reset(st);
    return 0;
}

json_t *db_row(sqlite3_stmt *st)
{
    json_t *o = json_object();
    if (!o)
        proto_oom();
    int n = sqlite3_column_count(st);
    for (int i = 0; i < n; i++) {
        json_t *v;
        switch (sqlite3_column_type(st, i)) {
        case SQLITE_INTEGER:
            v = json_integer(sqlite3_column_int64(st, i));
            break;
        case SQLITE_FLOAT:
            v = json_real(sqlite3_column_double(st, i));
            break;
        case SQLITE_NULL:
            v = json_null();
            break;
        default:
            v = json_stringn((const char *)sqlite3_column_text(st, i),
                             (size_t)sqlite3_column_bytes(st, i));
            if (!v)
                v = json_string("?");
            break;
        }
        if (!v || json_object_set_new(o, sqlite3_column_name(st, i), v) != 0)
            proto_oom();
    }
    return o;
}

json_t *db_rows(sqlite3_stmt *st)
{
    json_t *a = json_array();
    if (!a)
        proto_oom();
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (json_array_append_new(a, db_row(st)) != 0)
            proto_oom();
    if (rc != SQLITE_DONE) {
        log_error("step: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
        json_decref(a);
        a = NULL;
    }
    sqlite3_reset(st);
    return a;
}

/* Single integer from "SELECT x ..." (first column of the first row), or def. */
static long long db_int(sqlite3_stmt *st, long long def)
{
    long long v = def;
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(st, 0);
    else if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        log_error("step: %s", sqlite3_errmsg(sqlite3_db_handle(st)));
    sqlite3_reset(st);
    return v;
}

int db_has_column(db_t *db, const char *table, const char *column)
{
    char sql[128];
    sqlite3_stmt *st;
    snprintf(sql, sizeof sql, "PRAGMA table_info(%s)", table);
    if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    int found = 0;
    while (!found && sqlite3_step(st) == SQLITE_ROW)
        found = strcmp((const char *)sqlite3_column_text(st, 1), column) == 0;
    sqlite3_finalize(st);
    return found;
}
