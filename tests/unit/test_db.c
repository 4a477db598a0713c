/*
 * test_db - the database helpers of backend/db.c on a real SQLite file:
 * typed binds, "first row or not_found", single values, row iteration and
 * the read-only connection of the catch-up server.
 */
#include "db.h"
#include "log.h"
#include "proto.h"
#include "unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *SCHEMA =
    "CREATE TABLE t(id INTEGER PRIMARY KEY, n INTEGER, s TEXT, m INTEGER, u TEXT, z INTEGER);";
static const char *SQL_PUT = "INSERT INTO t(n, s, m, u, z) VALUES(?,?,?,?,?)";
static const char *SQL_GET = "SELECT id, n, s, m, u, z FROM t WHERE id = ?";
static const char *SQL_N = "SELECT n FROM t WHERE id = ?";
static const char *SQL_M = "SELECT m FROM t WHERE id = ?";
static const char *SQL_ALL = "SELECT id, s FROM t ORDER BY id";
static const char *SQL_SET = "UPDATE t SET n = ? WHERE n >= ?";
static const char *SQL_BAD = "SELECT nosuchcolumn FROM t WHERE id = ?";

static void test_binds(db_t *db)
{
    case_begin("db_run binds i, s, I, S and z; db_last_id and db_changes report it");
    json_t *body = json_pack("{s:i, s:s}", "m", 7, "u", "json text");
    CHECK_INT("db_run", db_run(db, SQL_PUT, "isISz", 5LL, "plain", json_object_get(body, "m"),
                               json_object_get(body, "u"), 9LL), 0);
    CHECK_INT("db_last_id", db_last_id(db), 1);
    CHECK_INT("db_changes", db_changes(db), 1);
    proto_err_t err;
    json_t *row = db_first(db, &err, SQL_GET, "i", 1LL);
    CHECK("the row is there", row != NULL);
    CHECK_INT("n (i)", jint(row, "n"), 5);
    CHECK_STR("s (s)", jstr(row, "s"), "plain");
    CHECK_INT("m (I)", jint(row, "m"), 7);
    CHECK_STR("u (S)", jstr(row, "u"), "json text");
    CHECK_INT("z (z, nonzero)", jint(row, "z"), 9);
    json_decref(row);
    json_decref(body);
    case_end();

    case_begin("db_bind: NULL strings and JSON values and a zero z bind SQL NULL");
    CHECK_INT("db_run", db_run(db, SQL_PUT, "isISz", 6LL, (const char *)NULL, (json_t *)NULL,
                               (json_t *)NULL, 0LL), 0);
    row = db_first(db, &err, SQL_GET, "i", 2LL);
    CHECK("s is null", json_is_null(json_object_get(row, "s")));
    CHECK("m is null", json_is_null(json_object_get(row, "m")));
    CHECK("u is null", json_is_null(json_object_get(row, "u")));
    CHECK("z is null", json_is_null(json_object_get(row, "z")));
    json_decref(row);
    case_end();

    case_begin("db_bind: an unknown type letter is an error, and db_run writes nothing");
    CHECK_INT("db_run with 'x'", db_run(db, SQL_PUT, "ixsss", 1LL, 2LL, "a", "b", "c"), -1);
    CHECK_INT("rows still 2", db_value(db, -1, "SELECT COUNT(*) FROM t", ""), 2);
    case_end();

    case_begin("db_run: db_changes counts an UPDATE's rows");
    CHECK_INT("db_run update", db_run(db, SQL_SET, "ii", 10LL, 5LL), 0);
    CHECK_INT("db_changes", db_changes(db), 2);
    case_end();
}

static void test_first_and_value(db_t *db)
{
    proto_err_t err;
    case_begin("db_first: no row is not_found, a bad statement is internal");
    memset(&err, 0, sizeof err);
    CHECK("no row: NULL", db_first(db, &err, SQL_GET, "i", 99LL) == NULL);
    CHECK_INT("no row: not_found", err.status, ERR_NOT_FOUND);
    memset(&err, 0, sizeof err);
    CHECK("bad SQL: NULL", db_first(db, &err, SQL_BAD, "i", 1LL) == NULL);
    CHECK_INT("bad SQL: internal", err.status, ERR_INTERNAL);
    case_end();

    case_begin("db_value: the first column, or the default for no row, NULL or an error");
    CHECK_INT("a value", db_value(db, -1, SQL_N, "i", 1LL), 10);
    CHECK_INT("no row", db_value(db, -7, SQL_N, "i", 99LL), -7);
    CHECK_INT("NULL", db_value(db, -8, SQL_M, "i", 2LL), -8);
    CHECK_INT("bad SQL", db_value(db, -9, SQL_BAD, "i", 1LL), -9);
    case_end();

    case_begin("db_prep + db_next + db_col_*: every row, then 0, then the statement is reset");
    sqlite3_stmt *st = db_prep(db, SQL_ALL, "");
    CHECK("db_prep", st != NULL);
    int rows = 0, rc;
    long long last_id = 0;
    const char *first_s = NULL;
    char first_copy[16] = "";
    while (st && (rc = db_next(st)) == 1) {
        rows++;
        last_id = db_col_int(st, 0);
        size_t len = 99;
        first_s = db_col_text(st, 1, &len);
        if (rows == 1) {
            snprintf(first_copy, sizeof first_copy, "%s", first_s);
            CHECK_INT("length of the first s", (long long)len, 5);
        } else {
            CHECK_STR("a NULL text reads as empty", first_s, "");
            CHECK_INT("... with length 0", (long long)len, 0);
        }
    }
    CHECK_INT("rows", rows, 2);
    CHECK_INT("last id", last_id, 2);
    CHECK_STR("first s", first_copy, "plain");
    /* Reset: the next use starts from the first row again. */
    CHECK_INT("first row again", st ? db_next(st) : -1, 1);
    db_reset(st);
    case_end();
}

static void test_readonly(const char *path)
{
    char err[256];
    case_begin("db_open_readonly: reads what the writer committed, cannot write");
    db_t *ro = db_open_readonly(path, err, sizeof err);
    CHECK("opened", ro != NULL);
    if (ro) {
        CHECK_INT("reads", db_value(ro, -1, "SELECT COUNT(*) FROM t", ""), 2);
        CHECK_INT("cannot write", db_run(ro, SQL_PUT, "isISz", 1LL, "a", (json_t *)NULL,
                                         (json_t *)NULL, 0LL), -1);
    }
    db_destroy(&ro);
    CHECK("db_destroy sets the pointer to NULL", ro == NULL);
    ro = db_open_readonly("/nonexistent/dir/x.db", err, sizeof err);
    CHECK("a missing database is an error", ro == NULL);
    CHECK("... with a sentence", err[0] != '\0');
    case_end();
}

int main(void)
{
    char dir[] = "/tmp/ctr-db-XXXXXX", path[64], err[256];
    log_init("test_db");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    snprintf(path, sizeof path, "%s/t.db", dir);
    db_t *db = db_open(path, "NORMAL", err, sizeof err);
    case_begin("db_open creates the database and its schema");
    CHECK("db_open", db != NULL);
    CHECK_INT("schema", db ? db_exec(db, SCHEMA) : -1, 0);
    case_end();
    if (db) {
        test_binds(db);
        test_first_and_value(db);
        test_readonly(path);
    }
    db_destroy(&db);
    char wal[80], shm[80];
    snprintf(wal, sizeof wal, "%s-wal", path);
    snprintf(shm, sizeof shm, "%s-shm", path);
    unlink(wal);
    unlink(shm);
    unlink(path);
    rmdir(dir);
    return unit_exit();
}
