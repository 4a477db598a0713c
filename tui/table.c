/*
 * table.c - the table widget (see table.h).
 */
#include "tui.h"

#include <stdarg.h>
#include <stdio.h>

#define GAP 2   /* blank cells between two columns */

/* Cells the flexible columns get, with or without the optional columns;
 * *weights: the sum of their weights. */
static int flex_room(const table_t *t, int with_optional, int *weights)
{
    int used = t->left + 1, shown = 0;
    *weights = 0;
    for (int c = 0; c < t->ncols; c++) {
        if (t->cols[c].optional && !with_optional)
            continue;
        shown++;
        if (t->cols[c].width < 0)
            *weights += -t->cols[c].width;
        else
            used += t->cols[c].width;
    }
    return t->wd - used - GAP * (shown > 0 ? shown - 1 : 0);
}

static int has_optional(const table_t *t)
{
    for (int c = 0; c < t->ncols; c++)
        if (t->cols[c].optional)
            return 1;
    return 0;
}

void tb_begin(table_t *t, WINDOW *w)
{
    t->w = w;
    getmaxyx(w, t->h, t->wd);
    t->y0 = 2;
    t->rows = t->h - 3;
    if (t->ncols > TB_MAX_COLS)
        t->ncols = TB_MAX_COLS;
    int weights, all = 1;
    int flex = flex_room(t, 1, &weights);
    if (flex < t->flex_want && has_optional(t)) {
        all = 0;
        flex = flex_room(t, 0, &weights);
    }
    if (flex < t->flex_min)
        flex = t->flex_min;
    /* Each flexible column its share; the last one what is left. */
    int x = t->left, seen = 0, given = 0;
    for (int c = 0; c < t->ncols; c++) {
        const tb_col_t *col = &t->cols[c];
        t->x[c] = x;
        if (col->optional && !all) {
            t->width[c] = 0;
            continue;
        }
        int width = col->width;
        if (width < 0) {
            seen += -width;
            width = seen == weights ? flex - given : flex * -col->width / weights;
            given += width;
        }
        t->width[c] = width;
        x += width + GAP;
        if (col->title)
            w_put(w, 1, t->x[c], width, col->title, ui(UI_HEAD), col->align);
    }
}

void tb_title(const table_t *t, const char *title, const char *count)
{
    w_put(t->w, 0, 1, t->wd - 2, title, ui(UI_HEAD), 0);
    if (!count)
        return;
    int cw = w_width(count);
    if (cw < t->wd / 2)
        w_put(t->w, 0, t->wd - cw - 1, cw, count, ui(UI_GREY), 0);
}

void tb_footer(const table_t *t, const char *text)
{
    w_put(t->w, t->h - 1, 1, t->wd - 2, text, ui(UI_GREY), 0);
}

void tb_cell(const table_t *t, int y, int c, const char *text, attr_t a)
{
    if (c < 0 || c >= t->ncols || t->width[c] <= 0)
        return;
    w_put(t->w, y, t->x[c], t->width[c], text, a, t->cols[c].align);
}

void tb_cellf(const table_t *t, int y, int c, attr_t a, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    tb_cell(t, y, c, buf, a);
}

void tb_fill(const table_t *t, int y, attr_t a)
{
    w_fill(t->w, y, 0, t->wd, a);
}

void tb_rows(const table_t *t, int top, int n, tb_row_fn row, void *arg)
{
    for (int i = top, y = t->y0; i < n && y < t->y0 + t->rows; i++, y++)
        row(t, y, i, arg);
}

int tb_list(const table_t *t, int cur, int *top, int n, tb_row_fn row, void *arg)
{
    tui_list_fit(cur, top, t->rows, n);
    tb_rows(t, *top, n, row, arg);
    return t->rows;
}

int tb_say(WINDOW *w, int y, int ready, const char *error, const char *offline, int n,
           const char *empty)
{
    int h, wd;
    getmaxyx(w, h, wd);
    (void)h;
    if (!ready) {
        if (error && *error)
            w_put(w, y, 2, wd - 4, error, ui(UI_ERR), 0);
        else
            w_put(w, y, 2, wd - 4, offline ? offline : TB_LOADING, ui(UI_GREY), 0);
    } else if (n == 0 && empty) {
        w_put(w, y, 2, wd - 4, empty, ui(UI_GREY), 0);
    }
    return ready;
}

int tb_say_data(app_t *app, WINDOW *w, int y, int ds, const char *offline, int n,
                const char *empty)
{
    char said[160];
    if (!net_ds_down(app, ds)) {
        offline = NULL;
    } else if (!offline) {
        snprintf(said, sizeof said, "offline: the %s service does not answer", net_ds_service(ds));
        offline = said;
    }
    return tb_say(w, y, app->ds[ds].data != NULL, app->ds[ds].error, offline, n, empty);
}
