/*
 * table.h - the one table widget of the TUI: the customer's catalog and my
 * orders, the delivery board, the manager's foods and the audit are drawn
 * through it.
 *
 * A screen describes its columns once, in a small static table (heading,
 * width or a share of the room left, alignment), and draws each row with
 * tb_cell. The widget lays the columns out for the window's width, leaving
 * out the optional ones when the flexible ones would get too narrow, draws
 * the headings, scrolls the rows, and says what stands in for rows that are
 * not there: loading, offline, a refusal, or an empty list.
 *
 * The lines of a table in its window: 0 the title (and a count at the
 * right), 1 the headings, 2 .. height-2 the rows, height-1 a footer.
 */
#ifndef TABLE_H
#define TABLE_H

#include "widgets.h"

typedef struct app app_t;

#define TB_MAX_COLS 8
/* The number of columns of a static column table. */
#define TB_NCOLS(cols) ((int)(sizeof(cols) / sizeof((cols)[0])))
/* The width of a flexible column: a share (weight) of what the others leave. */
#define TB_FLEX(weight) (-(weight))
/* "loading…": what a table says before its first answer. */
#define TB_LOADING "loading\xe2\x80\xa6"

/* Alignment of a column's heading and cells. */
enum {
    TB_LEFT = 0,          /* left, the rest of the width untouched */
    TB_FILL = W_PAD,      /* left, the rest blank in the cell's attribute */
    TB_RIGHT = W_RIGHT,   /* right */
};

typedef struct {
    const char *title;    /* the heading; NULL: none */
    int width;            /* in cells, or TB_FLEX(weight) */
    int align;            /* TB_LEFT, TB_FILL or TB_RIGHT */
    int optional;         /* left out when room is short (see table_t.flex_want) */
} tb_col_t;

typedef struct {
    /* Given by the screen. */
    const tb_col_t *cols;
    int ncols;
    int left;             /* the first column's x (the right margin is one cell) */
    int flex_want;        /* the optional columns go while the flexible ones would get less */
    int flex_min;         /* the flexible ones get at least this (the right is cut at the edge) */
    /* Set by tb_begin. */
    WINDOW *w;
    int wd, h;            /* the window's size */
    int x[TB_MAX_COLS];
    int width[TB_MAX_COLS];   /* 0: left out */
    int y0, rows;         /* the first row's line, how many lines the rows have */
} table_t;

/* Lay t out for w (two cells between columns) and draw its headings on line 1. */
void tb_begin(table_t *t, WINDOW *w);
/* Line 0: title at the left in the heading style, and count (NULL: none) at
 * the right, greyed, when it takes less than half the width. */
void tb_title(const table_t *t, const char *title, const char *count);
/* The last line, greyed. */
void tb_footer(const table_t *t, const char *text);

/* Text in column c on line y, in the column's alignment (nothing when the
 * column is left out). */
void tb_cell(const table_t *t, int y, int c, const char *text, attr_t a);
void tb_cellf(const table_t *t, int y, int c, attr_t a, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Blank line y from edge to edge in attribute a (a row's background). */
void tb_fill(const table_t *t, int y, attr_t a);

/* Draw rows top.. of n that fit, each with row(t, y, i, arg). */
typedef void (*tb_row_fn)(const table_t *t, int y, int i, void *arg);
void tb_rows(const table_t *t, int top, int n, tb_row_fn row, void *arg);
/* The same for a list with a cursor: first scroll *top so that row cur
 * shows. Returns the rows a page has (for PgUp/PgDn). */
int tb_list(const table_t *t, int cur, int *top, int n, tb_row_fn row, void *arg);

/* What stands for missing rows, on line y of w from x 2 to 2 before the
 * right edge. When the data is not there (ready 0): error in the error
 * colour when it is not "", else offline when it is not NULL (the service
 * does not answer), else "loading…". When it is there and n is 0: empty
 * (NULL: nothing). Returns ready. */
int tb_say(WINDOW *w, int y, int ready, const char *error, const char *offline, int n,
           const char *empty);
/* The same for data set ds (DS_*, tui.h): ready once it has data, its error,
 * and offline (NULL: "offline: the SERVICE service does not answer") while
 * the service that answers it does not. A table says it on its first row:
 * tb_say_data(app, t.w, t.y0, ...). */
int tb_say_data(app_t *app, WINDOW *w, int y, int ds, const char *offline, int n,
                const char *empty);

#endif
