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

typedef struct db db_t;

/* Open (create) the database at path. Returns NULL with a sentence in err. */
db_t *db_open(const char *path, const char *synchronous, char *err, size_t errlen);
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

/* Bind a JSON string / integer at i, or NULL when v is NULL (an optional
 * field left out). Return the sqlite3_bind_* code. */
int db_bind_text_or_null(sqlite3_stmt *st, int i, const json_t *v);
int db_bind_int_or_null(sqlite3_stmt *st, int i, const json_t *v);

/* Step a statement that returns no row: 0, or -1 (logged). */
int db_step_done(sqlite3_stmt *st);

/* The current row as an object: integers, reals, text, null. New reference. */
json_t *db_row(sqlite3_stmt *st);
/* Every remaining row of st as an array of objects. NULL on error. */
json_t *db_rows(sqlite3_stmt *st);

/* Does table have column? (for schema upgrades) */
int db_has_column(db_t *db, const char *table, const char *column);

/* Single integer from "SELECT x ..." (first column of the first row), or def. */
long long db_int(sqlite3_stmt *st, long long def);

#endif
