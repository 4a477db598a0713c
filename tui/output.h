/*
 * output.h - how `counter` prints results: a readable table on a terminal,
 * one JSON object per line otherwise (or with --json).
 */
#ifndef OUTPUT_H
#define OUTPUT_H

#include <jansson.h>
#include <stdio.h>

/* Print a result: {"items":[...]} as rows, any other object as one record. */
void output_result(FILE *out, const json_t *result, int json);
/* Print rows (array of objects) as a table with the given columns (NULL:
 * the keys of the first row, in order). */
void output_table(FILE *out, const json_t *rows, const char *const *columns);
/* One compact JSON line. */
void output_json_line(FILE *out, const json_t *j);
/* s with what must not reach a terminal raw made visible: C0 bytes, DEL
 * and bytes that are not UTF-8 as \xNN, C1 (U+0080-U+009F), bidirectional
 * formatting and zero-width characters as \uNNNN. Tables and records are
 * printed through it. (JSON lines are not: jansson writes U+0000-U+001F as
 * \u00NN, and the services refuse the rest in every string field.) Caller
 * frees. */
char *output_escape(const char *s);
/* Display width of a UTF-8 string in terminal columns (wcwidth). */
int output_width(const char *s);

#endif
