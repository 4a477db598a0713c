/*
 * screen_delivery.c - the delivery team's screen: the board of deliveries
 * by state (cancellation requests first, then received, confirmed,
 * shipped), oldest first in each, coloured by how long the customer has
 * waited; single keys move the selected delivery on.
 *
 * The board is also the manager's Deliveries tab (screen_manager.c), read
 * only: the moves are delivery-team actions in the action table, so the
 * manager sees them greyed, and the delivery service would refuse them
 * anyway (delivery.* moves allow the delivery role only).
 */
#include "delivery.h"
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct {
    board_t board;     /* first: board_of() relies on it */
} dlv_t;

static const struct {
    const char *status;
    const char *heading;
} sections[] = {
    {"cancel_requested", "CANCELLATION REQUESTS"},
    {"received", "RECEIVED"},
    {"confirmed", "CONFIRMED"},
    {"shipped", "SHIPPED"},
};
#define NSECTIONS 4

static board_t *board_of(app_t *app)
{
    /* Both screens that show the board keep it first in their state. */
    return app->st;
}

static int by_age(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(jstr(x, "created_at"), jstr(y, "created_at"));
    if (c)
        return c;
    return jint(x, "id") < jint(y, "id") ? -1 : jint(x, "id") > jint(y, "id");
}

/* The deliveries on the board in display order (borrowed), with the section
 * of each; returns how many. */
static int board_list(app_t *app, json_t **out, int *section, int max)
{
    json_t *items = net_items(app, DS_BOARD);
    int n = 0;
    for (int s = 0; s < NSECTIONS; s++) {
        int first = n;
        size_t i;
        json_t *d;
        json_array_foreach(items, i, d) {
            if (n < max && strcmp(jstr(d, "status"), sections[s].status) == 0) {
                out[n] = d;
                section[n] = s;
                n++;
            }
        }
        qsort(out + first, (size_t)(n - first), sizeof *out, by_age);
    }
    return n;
}

static int find_selected(board_t *b, json_t **list, int n)
{
    if (n == 0) {
        b->cur = 0;
        return -1;
    }
    for (int i = 0; i < n; i++)
        if (jint(list[i], "id") == b->sel) {
            b->cur = i;
            return i;
        }
    /* Nothing selected yet, or the selected delivery left the board
     * (delivered, cancelled): the cursor stays at its place, and the
     * delivery there becomes the selected one, so that from now on the
     * cursor follows it through the board's sections (as after a key). */
    if (b->cur >= n)
        b->cur = n - 1;
    if (b->cur < 0)
        b->cur = 0;
    b->sel = jint(list[b->cur], "id");
    return b->cur;
}

/* The selected delivery (borrowed), or NULL. */
static json_t *board_selected(app_t *app, board_t *b)
{
    static json_t *list[TUI_ROWS_MAX];
    static int sec[TUI_ROWS_MAX];
    int n = board_list(app, list, sec, TUI_ROWS_MAX);
    int i = find_selected(b, list, n);
    return i < 0 ? NULL : list[i];
}

tui_res_t board_key(app_t *app, int key)
{
    board_t *b = board_of(app);
    static json_t *list[TUI_ROWS_MAX];
    static int sec[TUI_ROWS_MAX];
    int n = board_list(app, list, sec, TUI_ROWS_MAX);
    (void)find_selected(b, list, n);
    if (!tui_list_key(&b->cur, n, 5, key))
        return TUI_UNHANDLED;
    b->sel = n > 0 ? jint(list[b->cur], "id") : 0;
    return TUI_REDRAW;
}

static int same_day(long long ms, const struct tm *today)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    return ms > 0 && localtime_r(&t, &tm) && tm.tm_year == today->tm_year && tm.tm_yday == today->tm_yday;
}

/* A line of the board: a section's heading, a delivery, or "(none)". */
typedef struct {
    enum { LN_HEADING, LN_DELIVERY, LN_NONE } kind;
    int s;   /* its section */
    int i;   /* the delivery's index in the list, -1 for the others */
} line_t;

/* The board's lines: every section with its deliveries, "(none)" for an
 * empty one, the cancellation requests only when there are some. Returns
 * how many; *sel_line is the selected delivery's line (0 when none). */
static int board_lines(const int *sec, int n, int seli, const int *counts, line_t *lines, int *sel_line)
{
    int nl = 0;
    *sel_line = 0;
    for (int s = 0; s < NSECTIONS; s++) {
        if (s == 0 && counts[0] == 0)
            continue;
        lines[nl++] = (line_t){LN_HEADING, s, -1};
        int any = 0;
        for (int i = 0; i < n; i++) {
            if (sec[i] != s)
                continue;
            if (i == seli)
                *sel_line = nl;
            lines[nl++] = (line_t){LN_DELIVERY, s, i};
            any = 1;
        }
        if (!any)
            lines[nl++] = (line_t){LN_NONE, s, -1};
    }
    return nl;
}

enum { BD_ORDER, BD_FOOD, BD_CUSTOMER, BD_ADDRESS, BD_WAITING };
/* The flag of a cancellation request stands left of the table, at x 1. */
static const tb_col_t board_cols[] = {
    [BD_ORDER] = {"Order", 6, TB_LEFT},
    [BD_FOOD] = {"Food", TB_FLEX(3), TB_FILL},
    [BD_CUSTOMER] = {"Customer", 10, TB_FILL},
    [BD_ADDRESS] = {"Address", TB_FLEX(2), TB_FILL},
    [BD_WAITING] = {"Waiting", 8, TB_RIGHT},
};

/* What the board's lines need. */
typedef struct {
    app_t *app;
    json_t **list;
    const line_t *lines;
    const int *counts;
    int seli;
    long long now;
} board_rows_t;

static void delivery_row(const table_t *t, int y, const board_rows_t *r, const line_t *ln)
{
    json_t *d = r->list[ln->i];
    int is_sel = ln->i == r->seli;
    int cancel = ln->s == 0;
    long long age = (r->now - proto_ts_ms(jstr(d, "created_at"))) / 1000;
    ui_t wk = age >= r->app->wait_late_s ? UI_LATE : age >= r->app->wait_warn_s ? UI_WARN : UI_OK;
    attr_t a = is_sel ? ui(UI_SEL) : A_NORMAL;
    char food[256], waited[24];
    snprintf(food, sizeof food, "%s x%lld", jstr(d, "foodName"), jint(d, "qty"));
    w_age(waited, sizeof waited, age);
    if (wk == UI_LATE) {
        size_t len = strlen(waited);
        snprintf(waited + len, sizeof waited - len, "!");
    }
    tb_fill(t, y, a);
    w_put(t->w, y, 1, 1, cancel ? "!" : "", is_sel ? a : ui(UI_FLAG), 0);
    tb_cellf(t, y, BD_ORDER, a, "#%lld", jint(d, "orderId"));
    tb_cell(t, y, BD_FOOD, food, cancel && !is_sel ? ui(UI_FLAG) : a | A_BOLD);
    tb_cell(t, y, BD_CUSTOMER, jstr(d, "customerName"), a);
    tb_cell(t, y, BD_ADDRESS, jstr(d, "address"), a);
    /* The waiting colour shows on the selected row too. */
    tb_cell(t, y, BD_WAITING, waited, is_sel ? ui(wk) | A_REVERSE : ui(wk));
}

static void board_row(const table_t *t, int y, int l, void *arg)
{
    const board_rows_t *r = arg;
    const line_t *ln = &r->lines[l];
    if (ln->kind == LN_HEADING) {
        char head[64];
        snprintf(head, sizeof head, "%s (%d)", sections[ln->s].heading, r->counts[ln->s]);
        w_put(t->w, y, 1, t->wd - 2, head, ln->s == 0 ? ui(UI_FLAG) : ui(UI_HEAD), 0);
    } else if (ln->kind == LN_NONE) {
        int x = t->x[BD_ORDER];
        w_put(t->w, y, x, t->wd - x - 1, "(none)", ui(UI_GREY), 0);
    } else {
        delivery_row(t, y, r, ln);
    }
}

/* The last line: what is on the board, and what is done today. */
static void board_footer(app_t *app, const table_t *t, int n, long long now)
{
    time_t secs = (time_t)(now / 1000);
    struct tm today;
    if (!localtime_r(&secs, &today))
        memset(&today, 0, sizeof today);
    int delivered = 0, cancelled = 0;
    size_t i;
    json_t *d;
    json_array_foreach(net_items(app, DS_BOARD), i, d) {
        if (!same_day(proto_ts_ms(jstr(d, "updated_at")), &today))
            continue;
        delivered += strcmp(jstr(d, "status"), "delivered") == 0;
        cancelled += strcmp(jstr(d, "status"), "cancelled") == 0;
    }
    char foot[160];
    snprintf(foot, sizeof foot, "On the board: %d. Done today: %d delivered, %d cancelled.", n, delivered,
             cancelled);
    tb_footer(t, foot);
}

void board_draw(app_t *app, WINDOW *w)
{
    board_t *b = board_of(app);
    static json_t *list[TUI_ROWS_MAX];
    static int sec[TUI_ROWS_MAX];
    static line_t lines[TUI_ROWS_MAX + 2 * NSECTIONS];
    int n = board_list(app, list, sec, TUI_ROWS_MAX);
    int seli = find_selected(b, list, n);
    int counts[NSECTIONS] = {0};
    for (int i = 0; i < n; i++)
        counts[sec[i]]++;
    int sel_line;
    int nl = board_lines(sec, n, seli, counts, lines, &sel_line);

    table_t t = {board_cols, TB_NCOLS(board_cols), .left = 3, .flex_min = 10};
    tb_begin(&t, w);
    tb_title(&t, "Deliveries: oldest first, coloured by waiting time", NULL);
    if (seli >= 0)
        tui_list_fit(sel_line, &b->top, t.rows, nl);
    if (b->top > 0 && sel_line > 0 && lines[sel_line - 1].kind == LN_HEADING && b->top == sel_line)
        b->top--;   /* show the selected delivery's heading with it */
    if (!tb_say_data(app, w, t.y0, DS_BOARD, NULL, n, NULL))
        nl = 0;
    long long now = tui_now();
    tb_rows(&t, b->top, nl, board_row, &(board_rows_t){app, list, lines, counts, seli, now});
    board_footer(app, &t, n, now);
}

/* ---- moves ------------------------------------------------------------------- */

/* The team's keys (actions.c) and what each says when done; the state each
 * move goes from and to is the delivery state machine's (proto/delivery.h). */
static const struct key_move {
    int key;
    const char *command;
    const char *done;
} key_moves[] = {
    {'c', "delivery.confirm", "confirmed"},
    {'s', "delivery.ship", "shipped"},
    {'d', "delivery.complete", "delivered"},
    {'y', "delivery.cancel_confirm", "cancellation accepted"},
    {'n', "delivery.cancel_reject", "cancellation rejected: the order goes on"},
};

/* The selected delivery (borrowed), or NULL after saying there is none. */
static json_t *selected_or_say(app_t *app)
{
    board_t *b = board_of(app);
    json_t *d = b ? board_selected(app, b) : NULL;
    if (!d)
        tui_flash(app, UI_ERR, "no delivery selected");
    return d;
}

static tui_res_t do_move(app_t *app, json_t *d, const struct key_move *k)
{
    const delivery_move_t *m = delivery_move_find(k->command);
    long long order = jint(d, "orderId"), id = jint(d, "id");
    const char *status = jstr(d, "status");
    if (m && strcmp(status, m->from) != 0) {
        tui_flash(app, UI_ERR, "order #%lld is %s: this key is for %s deliveries", order,
                  strcmp(status, "cancel_requested") == 0 ? "waiting for a cancellation answer (y/n)"
                                                          : status,
                  strcmp(m->from, "cancel_requested") == 0 ? "cancel-requested" : m->from);
        return TUI_REDRAW;
    }
    json_t *res;
    proto_err_t err;
    char what[64];
    snprintf(what, sizeof what, "order #%lld", order);
    if (net_call(app, k->command, json_pack("{s:I}", "id", (json_int_t)id), &res, &err) != 0) {
        tui_flash_err(app, what, &err);
        net_dirty(app, DS_BOARD);
        return TUI_REDRAW;
    }
    /* Show the answer at once; the event confirms it a moment later. */
    json_t *items = net_items(app, DS_BOARD);
    size_t i;
    json_t *row;
    json_array_foreach(items, i, row)
        if (jint(row, "id") == id)
            json_object_set(row, "status", json_object_get(res, "status"));
    json_decref(res);
    tui_flash(app, UI_OK, "order #%lld %s", order, k->done);
    net_dirty(app, DS_BOARD);
    return TUI_REDRAW;
}

/* The key of a move by its key or its command. */
static const struct key_move *key_move_of(int key, const char *command)
{
    for (size_t i = 0; i < sizeof key_moves / sizeof key_moves[0]; i++)
        if (key_moves[i].key == key || (command && strcmp(key_moves[i].command, command) == 0))
            return &key_moves[i];
    return NULL;
}

tui_res_t act_dlv_move(app_t *app, int key)
{
    const struct key_move *k = key_move_of(key, NULL);
    if (!k)
        return TUI_HANDLED;
    json_t *d = selected_or_say(app);
    return d ? do_move(app, d, k) : TUI_REDRAW;
}

tui_res_t act_dlv_next(app_t *app, int key)
{
    (void)key;
    json_t *d = selected_or_say(app);
    if (!d)
        return TUI_REDRAW;
    const delivery_move_t *m = delivery_move_next(jstr(d, "status"));
    const struct key_move *k = m ? key_move_of(0, m->command) : NULL;
    if (k)
        return do_move(app, d, k);
    tui_flash(app, UI_FLAG, "order #%lld asks to cancel: y accepts, n rejects", jint(d, "orderId"));
    return TUI_REDRAW;
}

tui_res_t act_dlv_ticket(app_t *app, int key)
{
    (void)key;
    json_t *d = selected_or_say(app);
    if (d)
        dlg_ticket(app, jint(d, "orderId"));
    return TUI_REDRAW;
}

/* ---- the screen ------------------------------------------------------------------ */

static void enter(app_t *app)
{
    app->st = xcalloc(1, sizeof(dlv_t));
    net_want(app, 1u << DS_BOARD);
}

static void leave(app_t *app)
{
    free(app->st);
    app->st = NULL;
}

const screen_t screen_delivery = {
    .name = "delivery", .role = ROLE_DELIVERY,
    .tabs = {{V_BOARD, "Board", board_draw, board_key}},
    .enter = enter, .leave = leave,
};
