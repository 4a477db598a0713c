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
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BOARD_MAX 2000

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

board_t *board_of(app_t *app)
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

json_t *board_selected(app_t *app, board_t *b)
{
    static json_t *list[BOARD_MAX];
    static int sec[BOARD_MAX];
    int n = board_list(app, list, sec, BOARD_MAX);
    int i = find_selected(b, list, n);
    return i < 0 ? NULL : list[i];
}

tui_res_t board_move(app_t *app, board_t *b, int key)
{
    static json_t *list[BOARD_MAX];
    static int sec[BOARD_MAX];
    int n = board_list(app, list, sec, BOARD_MAX);
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

void board_draw(app_t *app, WINDOW *w, board_t *b)
{
    static json_t *list[BOARD_MAX];
    static int sec[BOARD_MAX];
    int h, wd;
    getmaxyx(w, h, wd);
    dataset_t *ds = &app->ds[DS_BOARD];
    int n = board_list(app, list, sec, BOARD_MAX);
    int seli = find_selected(b, list, n);
    long long now = tui_now();

    /* Columns: flag, order, food x qty, customer, address, waiting. */
    int ord_w = 6, cust_w = 10, wait_w = 8;
    int flex = wd - (1 + 2 + ord_w + 2 + 2 + cust_w + 2 + 2 + wait_w + 1);
    if (flex < 10)
        flex = 10;
    int food_w = flex * 3 / 5, addr_w = flex - food_w;
    int xflag = 1, xord = xflag + 2, xfood = xord + ord_w + 2, xcust = xfood + food_w + 2,
        xaddr = xcust + cust_w + 2, xwait = xaddr + addr_w + 2;

    int counts[NSECTIONS] = {0};
    for (int i = 0; i < n; i++)
        counts[sec[i]]++;
    char head[160];
    snprintf(head, sizeof head, "Deliveries: oldest first, coloured by waiting time");
    w_put(w, 0, 1, wd - 2, head, ui(UI_HEAD), 0);
    w_put(w, 1, xord, ord_w, "Order", ui(UI_HEAD), 0);
    w_put(w, 1, xfood, food_w, "Food", ui(UI_HEAD), W_PAD);
    w_put(w, 1, xcust, cust_w, "Customer", ui(UI_HEAD), W_PAD);
    w_put(w, 1, xaddr, addr_w, "Address", ui(UI_HEAD), W_PAD);
    w_put(w, 1, xwait, wait_w, "Waiting", ui(UI_HEAD), W_RIGHT);

    /* Display lines: section headings, deliveries, "(none)". */
    typedef struct {
        int kind;    /* 0 heading, 1 delivery, 2 none */
        int s, i;
    } line_t;
    static line_t lines[BOARD_MAX + 2 * NSECTIONS];
    int nl = 0, sel_line = 0;
    for (int s = 0; s < NSECTIONS; s++) {
        if (s == 0 && counts[0] == 0)
            continue;   /* cancellation requests only when there are some */
        lines[nl++] = (line_t){0, s, -1};
        int any = 0;
        for (int i = 0; i < n; i++) {
            if (sec[i] != s)
                continue;
            if (i == seli)
                sel_line = nl;
            lines[nl++] = (line_t){1, s, i};
            any = 1;
        }
        if (!any)
            lines[nl++] = (line_t){2, s, -1};
    }
    int rows = h - 3;
    if (seli >= 0)
        tui_list_fit(sel_line, &b->top, rows, nl);
    if (b->top > 0 && sel_line > 0 && lines[sel_line - 1].kind == 0 && b->top == sel_line)
        b->top--;   /* show the selected delivery's heading with it */
    if (!ds->data) {
        const char *why = ds->error[0] ? ds->error
                          : app->svc[net_svc_index("delivery")].up == 0 ? "offline: the delivery service does not answer"
                                                                       : "loading\xe2\x80\xa6";
        w_put(w, 2, 2, wd - 4, why, ds->error[0] ? ui(UI_ERR) : ui(UI_GREY), 0);
        nl = 0;
    }
    for (int l = b->top, y = 2; l < nl && y < 2 + rows; l++, y++) {
        line_t *ln = &lines[l];
        if (ln->kind == 0) {
            char t[64];
            snprintf(t, sizeof t, "%s (%d)", sections[ln->s].heading, counts[ln->s]);
            w_put(w, y, 1, wd - 2, t, ln->s == 0 ? ui(UI_FLAG) : ui(UI_HEAD), 0);
            continue;
        }
        if (ln->kind == 2) {
            w_put(w, y, xord, wd - xord - 1, "(none)", ui(UI_GREY), 0);
            continue;
        }
        json_t *d = list[ln->i];
        int is_sel = ln->i == seli;
        int cancel = ln->s == 0;
        long long age = (now - proto_ts_ms(jstr(d, "created_at"))) / 1000;
        ui_t wk = age >= app->wait_late_s ? UI_LATE : age >= app->wait_warn_s ? UI_WARN : UI_OK;
        attr_t a = is_sel ? ui(UI_SEL) : A_NORMAL;
        char food[256], waited[24];
        snprintf(food, sizeof food, "%s x%lld", jstr(d, "foodName"), jint(d, "qty"));
        w_age(waited, sizeof waited, age);
        if (wk == UI_LATE) {
            size_t len = strlen(waited);
            snprintf(waited + len, sizeof waited - len, "!");
        }
        w_fill(w, y, 0, wd, a);
        w_put(w, y, xflag, 1, cancel ? "!" : "", is_sel ? a : ui(UI_FLAG), 0);
        w_putf(w, y, xord, ord_w, a, 0, "#%lld", jint(d, "orderId"));
        w_put(w, y, xfood, food_w, food, cancel && !is_sel ? ui(UI_FLAG) : a | A_BOLD, W_PAD);
        w_put(w, y, xcust, cust_w, jstr(d, "customerName"), a, W_PAD);
        w_put(w, y, xaddr, addr_w, jstr(d, "address"), a, W_PAD);
        /* The waiting colour shows on the selected row too. */
        w_put(w, y, xwait, wait_w, waited, is_sel ? ui(wk) | A_REVERSE : ui(wk), W_RIGHT);
    }
    /* The last line: what is done today. */
    time_t t = (time_t)(now / 1000);
    struct tm today;
    if (!localtime_r(&t, &today))
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
    w_put(w, h - 1, 1, wd - 2, foot, ui(UI_GREY), 0);
}

/* ---- moves ------------------------------------------------------------------- */

static const struct move {
    int key;
    const char *command;
    const char *from;
    const char *done;
} moves[] = {
    {'c', "delivery.confirm", "received", "confirmed"},
    {'s', "delivery.ship", "confirmed", "shipped"},
    {'d', "delivery.complete", "shipped", "delivered"},
    {'y', "delivery.cancel_confirm", "cancel_requested", "cancellation accepted"},
    {'n', "delivery.cancel_reject", "cancel_requested", "cancellation rejected: the order goes on"},
};

static tui_res_t do_move(app_t *app, const struct move *m)
{
    board_t *b = board_of(app);
    json_t *d = b ? board_selected(app, b) : NULL;
    if (!d) {
        tui_flash(app, UI_ERR, "no delivery selected");
        return TUI_REDRAW;
    }
    long long order = jint(d, "orderId"), id = jint(d, "id");
    const char *status = jstr(d, "status");
    if (strcmp(status, m->from) != 0) {
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
    if (net_call(app, m->command, json_pack("{s:I}", "id", (json_int_t)id), &res, &err) != 0) {
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
    tui_flash(app, UI_OK, "order #%lld %s", order, m->done);
    net_dirty(app, DS_BOARD);
    return TUI_REDRAW;
}

tui_res_t act_dlv_move(app_t *app, int key)
{
    for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++)
        if (moves[i].key == key)
            return do_move(app, &moves[i]);
    return TUI_HANDLED;
}

tui_res_t act_dlv_next(app_t *app, int key)
{
    (void)key;
    board_t *b = board_of(app);
    json_t *d = b ? board_selected(app, b) : NULL;
    if (!d) {
        tui_flash(app, UI_ERR, "no delivery selected");
        return TUI_REDRAW;
    }
    const char *status = jstr(d, "status");
    for (size_t i = 0; i < 3; i++)
        if (strcmp(moves[i].from, status) == 0)
            return do_move(app, &moves[i]);
    tui_flash(app, UI_FLAG, "order #%lld asks to cancel: y accepts, n rejects", jint(d, "orderId"));
    return TUI_REDRAW;
}

tui_res_t act_dlv_ticket(app_t *app, int key)
{
    (void)key;
    board_t *b = board_of(app);
    json_t *d = b ? board_selected(app, b) : NULL;
    if (!d) {
        tui_flash(app, UI_ERR, "no delivery selected");
        return TUI_REDRAW;
    }
    tui_ticket(app, jint(d, "orderId"));
    return TUI_REDRAW;
}

/* ---- the screen ------------------------------------------------------------------ */

static void enter(app_t *app)
{
    dlv_t *s = calloc(1, sizeof *s);
    if (!s)
        proto_oom();
    app->st = s;
    net_want(app, 1u << DS_BOARD);
}

static void leave(app_t *app)
{
    free(app->st);
    app->st = NULL;
}

static void draw(app_t *app, WINDOW *w)
{
    board_draw(app, w, board_of(app));
}

static tui_res_t key(app_t *app, int k)
{
    return board_move(app, board_of(app), k);
}

static void who(app_t *app, char *out, size_t n)
{
    snprintf(out, n, "delivery: %s", app->staff);
}

const screen_t screen_delivery = {
    "delivery",
    ROLE_DELIVERY,
    {{V_BOARD, "Board"}, {0, NULL}},
    enter,
    draw,
    key,
    NULL,
    leave,
    who,
};
