/*
 * screen_manager.c - the manager's screen: the foods table (add, edit,
 * delete, stock, one key to mark sold out), a live day summary (orders,
 * sales, cancellations, foods sold), the delivery board (read only) and the
 * audit of who did what (every event carries its actor).
 *
 * Requests go out as manager:<name>; catalog changes need that role in the
 * backend, whatever this screen shows.
 */
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

typedef struct {
    board_t board;          /* first: board_of() relies on it */
    int cur, top;
    long long sel;          /* the selected food's id */
    char search[256];
    int acur, atop;
    int people_only;
    char asearch[256];
    int page;
} mgr_t;

static mgr_t *S(app_t *app)
{
    return app->st;
}

/* ---- the day in numbers ------------------------------------------------------ */

typedef struct {
    long long food;
    char name[128];
    int orders;
    long long qty, sales;
} food_day_t;

typedef struct {
    int orders, cancelled, cancel_requested, delivered;
    long long sales, sold;
    int nfoods;
    food_day_t foods[256];
    int board[4];   /* received, confirmed, shipped, cancel_requested */
    char date[32];
} day_t;

static void day_sum(app_t *app, day_t *d)
{
    memset(d, 0, sizeof *d);
    long long now = tui_now();
    time_t t = (time_t)(now / 1000);
    struct tm today;
    if (!localtime_r(&t, &today))
        memset(&today, 0, sizeof today);
    if (strftime(d->date, sizeof d->date, "%Y-%m-%d", &today) == 0)
        d->date[0] = '\0';
    size_t i;
    json_t *o;
    json_array_foreach(net_items(app, DS_ORDERS), i, o) {
        time_t ot = (time_t)(proto_ts_ms(jstr(o, "created_at")) / 1000);
        struct tm tm;
        if (!localtime_r(&ot, &tm) || tm.tm_year != today.tm_year || tm.tm_yday != today.tm_yday)
            continue;
        const char *st = jstr(o, "status");
        d->orders++;
        if (strcmp(st, "cancelled") == 0) {
            d->cancelled++;
            continue;
        }
        d->cancel_requested += strcmp(st, "cancel_requested") == 0;
        d->delivered += strcmp(st, "delivered") == 0;
        d->sales += jint(o, "amount");
        d->sold += jint(o, "qty");
        long long food = jint(o, "foodId");
        int k = 0;
        while (k < d->nfoods && d->foods[k].food != food)
            k++;
        if (k == d->nfoods) {
            if (d->nfoods == (int)(sizeof d->foods / sizeof d->foods[0]))
                continue;
            d->nfoods++;
            d->foods[k].food = food;
            snprintf(d->foods[k].name, sizeof d->foods[k].name, "%s", jstr(o, "foodName"));
        }
        d->foods[k].orders++;
        d->foods[k].qty += jint(o, "qty");
        d->foods[k].sales += jint(o, "amount");
    }
    static const char *const states[4] = {"received", "confirmed", "shipped", "cancel_requested"};
    json_array_foreach(net_items(app, DS_BOARD), i, o)
        for (int k = 0; k < 4; k++)
            d->board[k] += strcmp(jstr(o, "status"), states[k]) == 0;
}

static long long sold_today(const day_t *d, long long food)
{
    for (int k = 0; k < d->nfoods; k++)
        if (d->foods[k].food == food)
            return d->foods[k].qty;
    return 0;
}

static void summary_line(const day_t *d, char *out, size_t n)
{
    char sales[32];
    w_money(sales, sizeof sales, d->sales);
    snprintf(out, n, "Today: %d order%s, sales %s, %d cancelled, %lld foods sold", d->orders,
             d->orders == 1 ? "" : "s", sales, d->cancelled, d->sold);
}

/* ---- the foods table ------------------------------------------------------------ */

static int foods_shown(app_t *app, json_t **out, int max)
{
    int n = 0;
    size_t i;
    json_t *f;
    json_array_foreach(net_items(app, DS_FOODS), i, f)
        if (n < max && w_matches(jstr(f, "name"), S(app)->search))
            out[n++] = f;
    return n;
}

static json_t *food_selected(app_t *app)
{
    mgr_t *s = S(app);
    static json_t *shown[TUI_ROWS_MAX];
    int n = foods_shown(app, shown, TUI_ROWS_MAX);
    return tui_keep_selection(shown, n, "id", s->sel, &s->cur);
}

enum { FD_ID, FD_NAME, FD_PRICE, FD_STOCK, FD_SOLD, FD_NOTE };
static const tb_col_t food_cols[] = {
    [FD_ID] = {"#", 4, TB_RIGHT},
    [FD_NAME] = {NULL, TB_FLEX(1), TB_FILL},   /* "Food", or what the search matches */
    [FD_PRICE] = {"Price", 9, TB_RIGHT},
    [FD_STOCK] = {"Stock", 6, TB_RIGHT},
    [FD_SOLD] = {"Sold", 5, TB_RIGHT},
    [FD_NOTE] = {NULL, 9, TB_LEFT, 1},         /* SOLD OUT */
};

/* What the rows of a list need. */
typedef struct {
    app_t *app;
    json_t **shown;
    const day_t *day;   /* foods: what sold today */
} rows_t;

static void food_row(const table_t *t, int y, int i, void *arg)
{
    rows_t *r = arg;
    json_t *f = r->shown[i];
    int out = jint(f, "stock") <= 0;
    int is_sel = i == S(r->app)->cur;
    attr_t a = is_sel ? ui(UI_SEL) : out ? ui(UI_GREY) : A_NORMAL;
    char price[32];
    w_money(price, sizeof price, jint(f, "price"));
    tb_fill(t, y, a);
    tb_cellf(t, y, FD_ID, a, "%lld", jint(f, "id"));
    tb_cell(t, y, FD_NAME, jstr(f, "name"), a | (out ? 0 : A_BOLD));
    tb_cell(t, y, FD_PRICE, price, a);
    tb_cellf(t, y, FD_STOCK, a, "%lld", jint(f, "stock"));
    tb_cellf(t, y, FD_SOLD, a, "%lld", sold_today(r->day, jint(f, "id")));
    if (out)
        tb_cell(t, y, FD_NOTE, "SOLD OUT", is_sel ? a : ui(UI_WARN));
}

static void draw_foods(app_t *app, WINDOW *w)
{
    mgr_t *s = S(app);
    day_t *day = xcalloc(1, sizeof *day);
    day_sum(app, day);
    static json_t *shown[TUI_ROWS_MAX];
    int n = foods_shown(app, shown, TUI_ROWS_MAX);
    (void)food_selected(app);
    table_t t = {food_cols, TB_NCOLS(food_cols), .left = 1, .flex_want = 8};
    tb_begin(&t, w);
    char line[400];
    summary_line(day, line, sizeof line);
    tb_title(&t, line, NULL);
    if (s->search[0])
        snprintf(line, sizeof line, "foods matching \"%s\"", s->search);
    tb_cell(&t, t.y0 - 1, FD_NAME, s->search[0] ? line : "Food", ui(UI_HEAD));   /* its heading */
    tb_say_data(app, w, t.y0, DS_FOODS, NULL, n,
                s->search[0] ? "no food matches the search (Esc clears it)" : "no food yet: a adds one");
    s->page = tb_list(&t, s->cur, &s->top, n, food_row, &(rows_t){app, shown, day});
    tb_footer(&t, "Sold: quantity sold today. Stock changes show live.");
    free(day);
}

static void draw_day(app_t *app, WINDOW *w)
{
    int h, wd;
    getmaxyx(w, h, wd);
    day_t *d = xcalloc(1, sizeof *d);
    day_sum(app, d);
    char t[128], sales[32];
    snprintf(t, sizeof t, "The day so far: %s (live)", d->date);
    w_put(w, 0, 1, wd - 2, t, ui(UI_HEAD), 0);
    tb_say_data(app, w, 1, DS_ORDERS, NULL, 1, NULL);
    w_money(sales, sizeof sales, d->sales);
    int y = 2, half = wd / 2;
    w_putf(w, y, 3, half - 4, A_NORMAL, 0, "Orders        %8d", d->orders);
    w_putf(w, y++, half, wd - half - 1, A_NORMAL, 0, "Delivered         %6d", d->delivered);
    w_putf(w, y, 3, half - 4, A_BOLD, 0, "Sales         %8s", sales);
    w_putf(w, y++, half, wd - half - 1, A_NORMAL, 0, "Cancellations     %6d", d->cancelled);
    w_putf(w, y, 3, half - 4, A_NORMAL, 0, "Foods sold    %8lld", d->sold);
    w_putf(w, y++, half, wd - half - 1, d->cancel_requested ? ui(UI_FLAG) : A_NORMAL, 0,
           "Cancel requests   %6d", d->cancel_requested);
    y++;
    w_putf(w, y++, 3, wd - 4, A_NORMAL, 0, "Delivery board: %d received, %d confirmed, %d shipped, %d asking to cancel",
           d->board[0], d->board[1], d->board[2], d->board[3]);
    y++;
    int name_w = wd - (3 + 2 + 7 + 2 + 6 + 2 + 10 + 2);
    if (name_w < 8)
        name_w = 8;
    int xo = 3 + name_w + 2, xq = xo + 7 + 2, xs = xq + 6 + 2;
    w_put(w, y, 3, name_w, "Food", ui(UI_HEAD), W_PAD);
    w_put(w, y, xo, 7, "Orders", ui(UI_HEAD), W_RIGHT);
    w_put(w, y, xq, 6, "Qty", ui(UI_HEAD), W_RIGHT);
    w_put(w, y, xs, 10, "Sales", ui(UI_HEAD), W_RIGHT);
    y++;
    if (d->nfoods == 0)
        w_put(w, y, 3, wd - 4, "nothing sold yet today", ui(UI_GREY), 0);
    for (int k = 0; k < d->nfoods && y < h - 1; k++, y++) {
        char s[32];
        w_money(s, sizeof s, d->foods[k].sales);
        w_put(w, y, 3, name_w, d->foods[k].name, A_NORMAL, W_PAD);
        w_putf(w, y, xo, 7, A_NORMAL, W_RIGHT, "%d", d->foods[k].orders);
        w_putf(w, y, xq, 6, A_NORMAL, W_RIGHT, "%lld", d->foods[k].qty);
        w_put(w, y, xs, 10, s, A_NORMAL, W_RIGHT);
    }
    w_put(w, h - 1, 1, wd - 2, "Sales and foods sold leave cancelled orders out.", ui(UI_GREY), 0);
    free(d);
}

/* ---- the audit ------------------------------------------------------------------- */

static int audit_shown(app_t *app, json_t **out, int max)
{
    mgr_t *s = S(app);
    int n = 0;
    size_t total = json_array_size(app->audit);
    /* Newest first. */
    for (size_t k = total; k-- > 0 && n < max;) {
        json_t *ev = json_array_get(app->audit, k);
        const char *actor = jstr(ev, "actor");
        if (s->people_only && strncmp(actor, "system:", 7) == 0)
            continue;
        if (s->asearch[0]) {
            char desc[512];
            net_describe(ev, desc, sizeof desc);
            if (!w_matches(actor, s->asearch) && !w_matches(desc, s->asearch) &&
                !w_matches(jstr(ev, "eventType"), s->asearch))
                continue;
        }
        out[n++] = ev;
    }
    return n;
}

enum { AU_TIME, AU_WHO, AU_EVENT, AU_WHAT };
static const tb_col_t audit_cols[] = {
    [AU_TIME] = {"Time", 8, TB_LEFT},
    [AU_WHO] = {"Who", 16, TB_LEFT},
    [AU_EVENT] = {"Event", 18, TB_LEFT, 1},   /* "What" says it in words already */
    [AU_WHAT] = {"What", TB_FLEX(1), TB_LEFT},
};

static void audit_row(const table_t *t, int y, int i, void *arg)
{
    rows_t *r = arg;
    json_t *ev = r->shown[i];
    int is_sel = i == S(r->app)->acur;
    attr_t a = is_sel ? ui(UI_SEL) : A_NORMAL;
    const char *actor = jstr(ev, "actor");
    int sys = strncmp(actor, "system:", 7) == 0;
    char clock[16], desc[512];
    w_ts_clock(jstr(ev, "timestamp"), clock, sizeof clock);
    net_describe(ev, desc, sizeof desc);
    tb_fill(t, y, a);
    tb_cell(t, y, AU_TIME, clock, a);
    tb_cell(t, y, AU_WHO, actor, is_sel ? a : sys ? ui(UI_GREY) : ui(UI_KEY));
    tb_cell(t, y, AU_EVENT, jstr(ev, "eventType"), a);
    tb_cell(t, y, AU_WHAT, desc, a);
}

/* The Audit tab: the recent events (tui_net.c keeps them), newest first,
 * what people did unless p shows the services' own steps too. */
static void draw_audit(app_t *app, WINDOW *w)
{
    mgr_t *s = S(app);
    static json_t *shown[TUI_ROWS_MAX];
    int n = audit_shown(app, shown, TUI_ROWS_MAX);
    table_t t = {audit_cols, TB_NCOLS(audit_cols), .left = 1, .flex_want = 50};
    tb_begin(&t, w);
    char head[400];
    snprintf(head, sizeof head, "Who did what, newest first%s%s%s",
             s->people_only ? " (people only: p shows all)" : " (all: p shows people only)",
             s->asearch[0] ? ", matching " : "", s->asearch);
    tb_title(&t, head, NULL);
    tb_say(w, t.y0, app->follow != NULL, NULL,
           app->offline ? "offline: the events come when the backend is back" : NULL, n, "nothing yet");
    if (s->acur >= n)
        s->acur = n > 0 ? n - 1 : 0;
    s->page = tb_list(&t, s->acur, &s->atop, n, audit_row, &(rows_t){app, shown, NULL});
    char foot[96];
    snprintf(foot, sizeof foot, "%d of the last %zu events. Who: the caller, or system:SERVICE.", n,
             json_array_size(app->audit));
    tb_footer(&t, foot);
}

/* ---- food actions --------------------------------------------------------------------- */

static void search_changed(app_t *app, form_t *f)
{
    mgr_t *s = S(app);
    if (app->view == V_AUDIT) {
        edit_text(&f->f[0].ed, s->asearch, sizeof s->asearch);
        s->acur = s->atop = 0;
    } else {
        edit_text(&f->f[0].ed, s->search, sizeof s->search);
        s->cur = s->top = 0;
        s->sel = 0;
    }
}

static void search_cancelled(app_t *app, form_t *f)
{
    (void)f;
    mgr_t *s = S(app);
    if (app->view == V_AUDIT)
        s->asearch[0] = '\0';
    else
        s->search[0] = '\0';
}

static tui_res_t open_search(app_t *app, const char *label, const char *value)
{
    form_t *f = dlg_form(app, "search", NULL, 0);
    f->inline_prompt = 1;
    f->changed = search_changed;
    f->cancelled = search_cancelled;
    dlg_field(f, label, value, 0, 0);
    return TUI_REDRAW;
}

tui_res_t act_food_search(app_t *app, int key)
{
    (void)key;
    return open_search(app, "Search foods (Enter keeps, Esc clears)", S(app)->search);
}

tui_res_t act_audit_search(app_t *app, int key)
{
    (void)key;
    return open_search(app, "Search the audit (Enter keeps, Esc clears)", S(app)->asearch);
}

tui_res_t act_food_clear(app_t *app, int key)
{
    (void)key;
    if (app->view == V_AUDIT)
        S(app)->asearch[0] = '\0';
    else
        S(app)->search[0] = '\0';
    return TUI_REDRAW;
}

tui_res_t act_audit_people(app_t *app, int key)
{
    (void)key;
    S(app)->people_only = !S(app)->people_only;
    S(app)->acur = S(app)->atop = 0;
    return TUI_REDRAW;
}

/* Send a catalog change; flash the result. Returns 0 on success. */
static int catalog_change(app_t *app, const char *cmd, json_t *body, const char *what)
{
    json_t *res;
    proto_err_t err;
    if (net_call(app, cmd, body, &res, &err) != 0) {
        tui_flash_err(app, what, &err);
        return -1;
    }
    long long id = jint(res, "id");
    if (strcmp(cmd, "catalog.delete") == 0)
        tui_flash(app, UI_OK, "food #%lld %s deleted", id, jstr(res, "name"));
    else if (strcmp(cmd, "catalog.add") == 0)
        tui_flash(app, UI_OK, "food #%lld %s added", id, jstr(res, "name"));
    else
        tui_flash(app, UI_OK, "food #%lld %s: price %lld, stock %lld", id, jstr(res, "name"), jint(res, "price"),
                  jint(res, "stock"));
    if (strcmp(cmd, "catalog.add") == 0)
        S(app)->sel = id;
    json_decref(res);
    net_dirty(app, DS_FOODS);
    return 0;
}

/* The fields of adding and of editing a food (add_submit, edit_submit). */
static const dlg_spec_t food_fields[3] = {{"Name", 0, 1}, {"Price", 1, 1}, {"Stock", 1, 1}};

static int add_submit(app_t *app, form_t *f)
{
    char name[256], price[32], stock[32];
    edit_text(&f->f[0].ed, name, sizeof name);
    edit_text(&f->f[1].ed, price, sizeof price);
    edit_text(&f->f[2].ed, stock, sizeof stock);
    return catalog_change(app, "catalog.add",
                          json_pack("{s:s, s:I, s:I}", "name", name, "price", (json_int_t)atoll(price), "stock",
                                    (json_int_t)atoll(stock)),
                          "food not added");
}

tui_res_t act_food_add(app_t *app, int key)
{
    (void)key;
    dlg_fields(dlg_form(app, "add a food", add_submit, 0), food_fields, 3, NULL);
    return TUI_REDRAW;
}

static json_t *selected_or_say(app_t *app)
{
    json_t *f = food_selected(app);
    if (!f)
        tui_flash(app, UI_ERR, "no food selected");
    return f;
}

static int edit_submit(app_t *app, form_t *f)
{
    json_t *old = NULL;
    size_t i;
    json_t *x;
    json_array_foreach(net_items(app, DS_FOODS), i, x)
        if (jint(x, "id") == f->arg)
            old = x;
    char name[256], price[32], stock[32];
    edit_text(&f->f[0].ed, name, sizeof name);
    edit_text(&f->f[1].ed, price, sizeof price);
    edit_text(&f->f[2].ed, stock, sizeof stock);
    json_t *body = json_pack("{s:I}", "id", (json_int_t)f->arg);
    int changes = 0;
    if (!old || strcmp(name, jstr(old, "name")) != 0) {
        json_object_set_new(body, "name", json_string(name));
        changes++;
    }
    if (price[0] && (!old || atoll(price) != jint(old, "price"))) {
        json_object_set_new(body, "price", json_integer(atoll(price)));
        changes++;
    }
    if (stock[0] && (!old || atoll(stock) != jint(old, "stock"))) {
        json_object_set_new(body, "stock", json_integer(atoll(stock)));
        changes++;
    }
    if (!changes) {
        json_decref(body);
        tui_flash(app, UI_INFO, "nothing changed");
        return 0;
    }
    return catalog_change(app, "catalog.update", body, "food not changed");
}

tui_res_t act_food_edit(app_t *app, int key)
{
    (void)key;
    json_t *f = selected_or_say(app);
    if (!f)
        return TUI_REDRAW;
    char title[96], price[32], stock[32];
    snprintf(title, sizeof title, "edit food #%lld", jint(f, "id"));
    snprintf(price, sizeof price, "%lld", jint(f, "price"));
    snprintf(stock, sizeof stock, "%lld", jint(f, "stock"));
    const char *values[3] = {jstr(f, "name"), price, stock};
    dlg_fields(dlg_form(app, title, edit_submit, jint(f, "id")), food_fields, 3, values);
    return TUI_REDRAW;
}

static int stock_submit(app_t *app, form_t *f)
{
    char v[32];
    edit_text(&f->f[0].ed, v, sizeof v);
    long long now_stock = -1;
    size_t i;
    json_t *x;
    json_array_foreach(net_items(app, DS_FOODS), i, x)
        if (jint(x, "id") == f->arg)
            now_stock = jint(x, "stock");
    if (!v[0] || ((v[0] == '+' || v[0] == '-') && !v[1])) {
        tui_flash(app, UI_ERR, "type the new stock, or +N / -N");
        return -1;
    }
    long long stock = atoll(v);
    if (v[0] == '+' || v[0] == '-') {
        if (now_stock < 0) {
            tui_flash(app, UI_ERR, "the food is gone from the table");
            return 0;
        }
        stock = now_stock + stock;
    }
    if (stock < 0) {
        tui_flash(app, UI_ERR, "stock cannot go below 0 (it is %lld)", now_stock);
        return -1;
    }
    return catalog_change(app, "catalog.update",
                          json_pack("{s:I, s:I}", "id", (json_int_t)f->arg, "stock", (json_int_t)stock),
                          "stock not changed") == 0
               ? 0
               : -1;
}

tui_res_t act_food_stock(app_t *app, int key)
{
    (void)key;
    json_t *f = selected_or_say(app);
    if (!f)
        return TUI_REDRAW;
    static char label[200];
    snprintf(label, sizeof label, "Stock of %s (now %lld; +N adds, -N takes)", jstr(f, "name"), jint(f, "stock"));
    form_t *fm = dlg_form(app, "stock", stock_submit, jint(f, "id"));
    fm->inline_prompt = 1;
    dlg_field(fm, label, "", 1, 1);
    fm->f[0].ed.sign = 1;
    return TUI_REDRAW;
}

tui_res_t act_food_soldout(app_t *app, int key)
{
    (void)key;
    json_t *f = selected_or_say(app);
    if (!f)
        return TUI_REDRAW;
    if (jint(f, "stock") == 0) {
        tui_flash(app, UI_INFO, "%s is already sold out (s sets a new stock)", jstr(f, "name"));
        return TUI_REDRAW;
    }
    (void)catalog_change(app, "catalog.update",
                         json_pack("{s:I, s:i}", "id", (json_int_t)jint(f, "id"), "stock", 0),
                         "not marked sold out");
    return TUI_REDRAW;
}

static void delete_answer(app_t *app, int yes, long long id)
{
    if (yes)
        (void)catalog_change(app, "catalog.delete", json_pack("{s:I}", "id", (json_int_t)id),
                             "food not deleted");
}

tui_res_t act_food_delete(app_t *app, int key)
{
    (void)key;
    json_t *f = selected_or_say(app);
    if (!f)
        return TUI_REDRAW;
    dlg_confirm(app, delete_answer, jint(f, "id"), "Delete food #%lld %s from the catalog?", jint(f, "id"),
                jstr(f, "name"));
    return TUI_REDRAW;
}

/* ---- the screen ------------------------------------------------------------------------ */

static void enter(app_t *app)
{
    mgr_t *s = xcalloc(1, sizeof *s);
    s->people_only = 1;
    app->st = s;
    net_want(app, 1u << DS_FOODS | 1u << DS_ORDERS | 1u << DS_BOARD);
}

static void leave(app_t *app)
{
    free(app->st);
    app->st = NULL;
    /* The audit is only kept while a manager watches. */
    json_decref(app->audit);
    app->audit = NULL;
}

/* The lists' moving keys (tab_t.key). */
static tui_res_t foods_key(app_t *app, int k)
{
    mgr_t *s = S(app);
    return tui_list_move(app, foods_shown, "id", &s->sel, &s->cur, s->page, k);
}

static tui_res_t audit_key(app_t *app, int k)
{
    mgr_t *s = S(app);
    static json_t *shown[TUI_ROWS_MAX];
    int n = audit_shown(app, shown, TUI_ROWS_MAX);
    return tui_list_key(&s->acur, n, s->page, k) ? TUI_REDRAW : TUI_UNHANDLED;
}

const screen_t screen_manager = {
    .name = "manager", .role = ROLE_MANAGER,
    .tabs = {{V_FOODS, "Foods", draw_foods, foods_key},
             {V_DAY, "Day", draw_day, NULL},
             {V_BOARD, "Deliveries", board_draw, board_key},
             {V_AUDIT, "Audit", draw_audit, audit_key}},
    .enter = enter, .leave = leave,
};
