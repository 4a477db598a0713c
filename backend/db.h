/*
 * db.h - a service's SQLite database: WAL, a busy handler (short retries for
 * up to 5 s), explicit
 * transactions (BEGIN IMMEDIATE for every write) and statements prepared once.
 *
 * synchronous defaults to NORMAL: in WAL mode a committed transaction survives
 * the process being killed (the DESIGN's "a killed worker loses nothing it had
 * acknowledged"); only a power loss can take the last commits back. Set
 * sqlite.synchronous = FULL in counter.conf to survive that too, at the cost
 * of an fsync per commit.
 */
#ifndef DB_H
#define DB_H

#include <jansson.h>
#include <sqlite3.h>
#include <stdarg.h>

#include "proto.h"

typedef struct db db_t;

/* Open (create) the database at path. Returns NULL with a sentence in err. */
db_t *db_open(const char *path, const char *synchronous, char *err, size_t errlen);
/* Open an existing database read-only: a reader thread's own connection
 * (the catch-up server). Returns NULL with a sentence in err. */
db_t *db_open_readonly(const char *path, char *err, size_t errlen);
void db_destroy(db_t **self_p);
sqlite3 *db_handle(db_t *db);

/* Run SQL without results (schema, pragmas). Returns 0 or -1 (logged). */
int db_exec(db_t *db, const char *sql);

/* The prepared statement for sql, reset and with bindings cleared. sql must be
 * a string literal (the cache is keyed by its address). NULL on error (logged).
 * The statement belongs to db. */
sqlite3_stmt *db_stmt(db_t *db, const char *sql);

/* Transactions. db_begin takes the write lock at once (BEGIN IMMEDIATE). */
int db_begin(db_t *db);
int db_begin_read(db_t *db);
int db_commit(db_t *db);
void db_rollback(db_t *db);

/* Typed binds: parameters 1, 2, ... of st from fmt, one letter each:
 *   i  long long (cast an int!)  s  const char * (copied; NULL binds NULL)
 *   I  const json_t * integer  S  const json_t * string   (NULL binds NULL:
 *                                                          an optional field)
 *   z  long long, 0 binds NULL (an optional id)
 * Returns 0, or -1 (logged) on a bind error or an unknown letter. */
int db_bind(sqlite3_stmt *st, const char *fmt, ...);
int db_bindv(sqlite3_stmt *st, const char *fmt, va_list ap);

/* db_stmt(db, sql) with fmt's parameters bound: ready to step, or NULL
 * (logged). The statement belongs to db. */
sqlite3_stmt *db_prep(db_t *db, const char *sql, const char *fmt, ...);

/* Run a statement that returns no row (INSERT, UPDATE, DELETE) with fmt's
 * parameters: 0, or -1 (logged). */
int db_run(db_t *db, const char *sql, const char *fmt, ...);

/* Rows changed by the last statement run on db. */
int db_changes(db_t *db);
/* The rowid of the last INSERT on db. */
long long db_last_id(db_t *db);

/* The first row of sql (with fmt's parameters) as an object: a new
 * reference. No row: NULL with err set to not_found (a generic sentence the
 * caller may replace with a better one); a database error: NULL with err set
 * to internal. */
json_t *db_first(db_t *db, proto_err_t *err, const char *sql, const char *fmt, ...);

/* One record asked for by its id (sql's one parameter), as db_first; no row
 * is not_found naming field: "<what> <id> does not exist". */
json_t *db_get(db_t *db, proto_err_t *err, const char *sql, long long id, const char *field,
               const char *what);

/* The first column of the first row of sql as an integer, or def when there
 * is no row or it is NULL; -1 ... def on a database error is logged and gives
 * def too. */
long long db_value(db_t *db, long long def, const char *sql, const char *fmt, ...);

/* Step st: 1 with a row, 0 at the end (st reset), -1 on an error (logged,
 * st reset). The row's columns: db_col_int, db_col_text (NUL-terminated,
 * valid until the next step; *len may be NULL). */
int db_next(sqlite3_stmt *st);
/* Done with st before its end: release its read. */
void db_reset(sqlite3_stmt *st);
long long db_col_int(sqlite3_stmt *st, int i);
const char *db_col_text(sqlite3_stmt *st, int i, size_t *len);

/* Step a statement that returns no row: 0, or -1 (logged). */
int db_step_done(sqlite3_stmt *st);

/* The current row as an object: integers, reals, text, null. New reference. */
json_t *db_row(sqlite3_stmt *st);
/* Every remaining row of st as an array of objects. NULL on error. */
json_t *db_rows(sqlite3_stmt *st);

/* Does table have column? (for schema upgrades) */
int db_has_column(db_t *db, const char *table, const char *column);

#endif
