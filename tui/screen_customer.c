/*
 * screen_customer.c - the customer's screen: the catalog view (search,
 * quantity, order with a confirm step that pays), my orders with live
 * statuses and waiting times, the ticket of an order, cancel, edit my
 * details, withdraw.
 *
 * It opens only with a customer's token (login.c: the login dialog, where a
 * new customer signs up): a customer is who their token says, and every
 * request carries it. The backend, not this screen, decides what a
 * customer may see and do (another customer's order is forbidden).
 */
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

typedef struct {
    /* the catalog */
    int cur, top;
    long long sel;           /* the selected food's id */
    char search[256];
    int qty;                 /* typed quantity, 0: none (1) */
    long long order_qty;     /* the quantity in the confirm step */
    /* my orders */
    int ocur, otop;
    long long osel;
    int page;                /* rows of the last drawn list */
} cust_t;

static cust_t *S(app_t *app)
{
    return app->st;
}

/* ---- the customer of the token ------------------------------------------------- */

/* The name of the token's customer, for the title (DS_ME follows it then). */
static void sign_in(app_t *app, long long id)
{
    json_t *me;
    proto_err_t err;
    if (net_call(app, "customer.show", json_pack("{s:I}", "id", (json_int_t)id), &me, &err) != 0) {
        char what[64];
        snprintf(what, sizeof what, "customer #%lld", id);
        tui_flash_err(app, what, &err);
        return;
    }
    tui_set_customer(app, id, jstr(me, "name"));
    json_decref(app->ds[DS_ME].data);
    app->ds[DS_ME].data = me;
    if (strcmp(jstr(me, "status"), "active") != 0)
        tui_flash(app, UI_ERR, "account #%lld (%s) has withdrawn: it can no longer order", id,
                  app->customer_name);
    else
        tui_flash(app, UI_OK, "welcome, %s (customer #%lld)", app->customer_name, id);
}

/* ---- the catalog, as shown (searched) ------------------------------------------- */

/* The foods shown: borrowed pointers into the data set. */
static int foods_shown(app_t *app, json_t **out, int max)
{
    json_t *items = net_items(app, DS_CATALOG);
    int n = 0;
    size_t i;
    json_t *f;
    json_array_foreach(items, i, f) {
        if (n < max && w_matches(jstr(f, "name"), S(app)->search))
            out[n++] = f;
    }
    return n;
}

/* Keep the selection on the same food across refreshes. */
static json_t *food_selected(app_t *app, json_t **shown, int n)
{
    cust_t *s = S(app);
    return tui_keep_selection(shown, n, "id", s->sel, &s->cur);
}

static int orders_shown(app_t *app, json_t **out, int max)
{
    json_t *items = net_items(app, DS_MYORDERS);
    int n = 0;
    size_t i;
    json_t *o;
    json_array_foreach(items, i, o)
        if (n < max)
            out[n++] = o;
    return n;
}

static json_t *order_selected(app_t *app, json_t **shown, int n)
{
    cust_t *s = S(app);
    /* As for foods: an order just placed is selected once it shows. */
    return tui_keep_selection(shown, n, "orderId", s->osel, &s->ocur);
}

/* ---- drawing ------------------------------------------------------------------------ */

/* What the rows of a list need. */
typedef struct {
    app_t *app;
    json_t **shown;
    long long now;     /* wall-clock ms, one for every row */
} rows_t;

enum { CAT_ID, CAT_NAME, CAT_PRICE, CAT_STOCK, CAT_NOTE };
static const tb_col_t catalog_cols[] = {
    [CAT_ID] = {"#", 4, TB_RIGHT},
    [CAT_NAME] = {"Food", TB_FLEX(1), TB_FILL},
    [CAT_PRICE] = {"Price", 9, TB_RIGHT},
    [CAT_STOCK] = {"Stock", 6, TB_RIGHT},
    [CAT_NOTE] = {NULL, 9, TB_LEFT, 1},   /* "sold out", or the quantity typed */
};

static void catalog_row(const table_t *t, int y, int i, void *arg)
{
    rows_t *r = arg;
    cust_t *s = S(r->app);
    json_t *f = r->shown[i];
    int out = jint(f, "stock") <= 0;
    int is_sel = i == s->cur;
    attr_t a = out ? ui(UI_GREY) : A_NORMAL;
    if (is_sel)
        a = ui(UI_SEL) | (out ? A_DIM : A_NORMAL);
    char price[32];
    w_money(price, sizeof price, jint(f, "price"));
    tb_fill(t, y, is_sel ? a : A_NORMAL);
    tb_cellf(t, y, CAT_ID, a, "%lld", jint(f, "id"));
    tb_cell(t, y, CAT_NAME, jstr(f, "name"), a | (out ? 0 : A_BOLD));
    tb_cell(t, y, CAT_PRICE, price, a);
    tb_cellf(t, y, CAT_STOCK, a, "%lld", jint(f, "stock"));
    if (out)
        tb_cell(t, y, CAT_NOTE, "sold out", a);
    else if (is_sel && s->qty > 0)
        tb_cellf(t, y, CAT_NOTE, a | A_BOLD, "x %d", s->qty);
}

/* The last line of the catalog: the order being put together. */
static void draw_order_line(app_t *app, WINDOW *w, const json_t *sel)
{
    cust_t *s = S(app);
    int h, wd;
    getmaxyx(w, h, wd);
    char line[256];
    if (sel && jint(sel, "stock") > 0) {
        int q = s->qty > 0 ? s->qty : 1;
        char total[32];
        w_money(total, sizeof total, jint(sel, "price") * q);
        snprintf(line, sizeof line, "Quantity %d%s  Enter: order %d x %s = %s", q,
                 s->qty > 0 ? "" : " (type digits to change)", q, jstr(sel, "name"), total);
        w_put(w, h - 1, 1, wd - 2, line, s->qty > 0 ? ui(UI_KEY) : A_NORMAL, 0);
    } else if (sel) {
        snprintf(line, sizeof line, "%s is sold out: it cannot be ordered now", jstr(sel, "name"));
        w_put(w, h - 1, 1, wd - 2, line, ui(UI_GREY), 0);
    }
}

static void draw_catalog(app_t *app, WINDOW *w)
{
    cust_t *s = S(app);
    static json_t *shown[TUI_ROWS_MAX];
    int n = foods_shown(app, shown, TUI_ROWS_MAX);
    json_t *sel = food_selected(app, shown, n);
    int sold = 0;
    for (int i = 0; i < n; i++)
        sold += jint(shown[i], "stock") <= 0;
    char head[320], count[64];
    if (s->search[0])
        snprintf(head, sizeof head, "Catalog: foods matching \"%s\"", s->search);
    else
        snprintf(head, sizeof head, "Catalog");
    snprintf(count, sizeof count, "%d food%s, %d sold out", n, n == 1 ? "" : "s", sold);
    table_t t = {catalog_cols, TB_NCOLS(catalog_cols), .left = 1, .flex_want = 8};
    tb_begin(&t, w);
    tb_title(&t, head, count);
    tb_say_data(app, w, t.y0, DS_CATALOG, "offline: the catalog view does not answer", n,
                s->search[0] ? "no food matches the search (Esc clears it)" : "no food in the catalog yet");
    s->page = tb_list(&t, s->cur, &s->top, n, catalog_row, &(rows_t){app, shown, 0});
    draw_order_line(app, w, sel);
}

static const char *status_words(const char *st)
{
    if (strcmp(st, "cancel_requested") == 0)
        return "cancel requested";
    return st;
}

enum { ORD_ID, ORD_FOOD, ORD_QTY, ORD_AMOUNT, ORD_STATUS, ORD_PAYMENT, ORD_WAITED };
static const tb_col_t order_cols[] = {
    [ORD_ID] = {"#", 5, TB_RIGHT},
    [ORD_FOOD] = {"Food", TB_FLEX(1), TB_FILL},
    [ORD_QTY] = {"Qty", 4, TB_RIGHT},
    [ORD_AMOUNT] = {"Amount", 9, TB_RIGHT},
    [ORD_STATUS] = {"Status", 16, TB_FILL},
    [ORD_PAYMENT] = {"Payment", 9, TB_FILL, 1},
    [ORD_WAITED] = {"Waited", 7, TB_RIGHT},
};

static void order_row(const table_t *t, int y, int i, void *arg)
{
    rows_t *r = arg;
    json_t *o = r->shown[i];
    const char *st = jstr(o, "orderStatus");
    int done = strcmp(st, "delivered") == 0 || strcmp(st, "cancelled") == 0;
    int is_sel = i == S(r->app)->ocur;
    attr_t a = is_sel ? ui(UI_SEL) : A_NORMAL;
    attr_t sa = is_sel ? a
                : strcmp(st, "delivered") == 0        ? ui(UI_OK)
                : strcmp(st, "cancelled") == 0        ? ui(UI_GREY)
                : strcmp(st, "cancel_requested") == 0 ? ui(UI_FLAG)
                                                      : A_BOLD;
    char amount[32], waited[16];
    w_money(amount, sizeof amount, jint(o, "amount"));
    long long from = jint(o, "orderedMs");
    long long end = done ? proto_ts_ms(jstr(o, "lastChange")) : r->now;
    w_age(waited, sizeof waited, from > 0 && end > from ? (end - from) / 1000 : 0);
    tb_fill(t, y, a);
    tb_cellf(t, y, ORD_ID, a, "%lld", jint(o, "orderId"));
    tb_cell(t, y, ORD_FOOD, jstr(o, "food"), a);
    tb_cellf(t, y, ORD_QTY, a, "%lld", jint(o, "qty"));
    tb_cell(t, y, ORD_AMOUNT, amount, a);
    tb_cell(t, y, ORD_STATUS, status_words(st), sa);
    tb_cell(t, y, ORD_PAYMENT, jstr(o, "paymentStatus"), a);
    tb_cell(t, y, ORD_WAITED, waited, a);
}

static void draw_orders(app_t *app, WINDOW *w)
{
    /* Under 10 cells for the food the payment goes; the columns on the right
     * are cut at the edge when even 6 do not fit. */
    table_t t = {order_cols, TB_NCOLS(order_cols), .left = 1, .flex_want = 10, .flex_min = 6};
    tb_begin(&t, w);
    cust_t *s = S(app);
    static json_t *shown[TUI_ROWS_MAX];
    int n = orders_shown(app, shown, TUI_ROWS_MAX);
    (void)order_selected(app, shown, n);
    int open = 0;
    for (int i = 0; i < n; i++) {
        const char *st = jstr(shown[i], "orderStatus");
        open += strcmp(st, "delivered") != 0 && strcmp(st, "cancelled") != 0;
    }
    char head[320], count[64];
    snprintf(head, sizeof head, "My orders (%s, #%lld)", app->customer_name, app->customer);
    snprintf(count, sizeof count, "%d order%s, %d open", n, n == 1 ? "" : "s", open);
    tb_title(&t, head, count);
    tb_say_data(app, w, t.y0, DS_MYORDERS, "offline: my orders do not answer", n,
                "no orders yet: Tab to the catalog, pick a food, Enter");
    s->page = tb_list(&t, s->ocur, &s->otop, n, order_row, &(rows_t){app, shown, tui_now()});
    tb_footer(&t, "Enter: the ticket of the selected order   x: ask to cancel it");
}

/* The fields of my details (edit_me_submit). */
static const dlg_spec_t details[4] = {{"Name", 0, 1}, {"Phone", 0, 0}, {"Address", 0, 0}, {"Age", 1, 0}};

/* ---- the catalog ----------------------------------------------------------------------- */

static void search_changed(app_t *app, form_t *f)
{
    cust_t *s = S(app);
    edit_text(&f->f[0].ed, s->search, sizeof s->search);
    s->cur = 0;
    s->top = 0;
    s->sel = 0;
}

static void search_cancelled(app_t *app, form_t *f)
{
    (void)f;
    cust_t *s = S(app);
    s->search[0] = '\0';
    s->sel = 0;
}

tui_res_t act_cust_search(app_t *app, int key)
{
    (void)key;
    form_t *f = dlg_form(app, "search", NULL, 0);
    f->inline_prompt = 1;
    f->changed = search_changed;
    f->cancelled = search_cancelled;
    dlg_field(f, "Search foods (Enter keeps, Esc clears)", S(app)->search, 0, 0);
    return TUI_REDRAW;
}

tui_res_t act_cust_clear(app_t *app, int key)
{
    (void)key;
    cust_t *s = S(app);
    s->search[0] = '\0';
    s->qty = 0;
    return TUI_REDRAW;
}

tui_res_t act_qty_digit(app_t *app, int key)
{
    cust_t *s = S(app);
    int d = key - '0';
    s->qty = s->qty * 10 + d > 999 ? d : s->qty * 10 + d;
    return TUI_REDRAW;
}

tui_res_t act_qty_erase(app_t *app, int key)
{
    (void)key;
    S(app)->qty /= 10;
    return TUI_REDRAW;
}

static void order_answer(app_t *app, int yes, long long food)
{
    cust_t *s = S(app);
    if (!yes) {
        tui_flash(app, UI_INFO, "not ordered");
        return;
    }
    json_t *o;
    proto_err_t err;
    if (net_call(app, "order.place",
                 json_pack("{s:I, s:I, s:I}", "customer", (json_int_t)app->customer, "food", (json_int_t)food,
                           "qty", (json_int_t)s->order_qty),
                 &o, &err) != 0) {
        tui_flash_err(app, "the order was not placed", &err);
        return;
    }
    char amount[32];
    w_money(amount, sizeof amount, jint(o, "amount"));
    tui_flash(app, UI_OK, "order #%lld placed and paid: %lld x %s, %s. Tab shows my orders", jint(o, "id"),
              jint(o, "qty"), jstr(o, "foodName"), amount);
    s->osel = jint(o, "id");
    s->qty = 0;
    net_dirty(app, DS_MYORDERS);
    json_decref(o);
}

tui_res_t act_order(app_t *app, int key)
{
    (void)key;
    cust_t *s = S(app);
    static json_t *shown[TUI_ROWS_MAX];
    int n = foods_shown(app, shown, TUI_ROWS_MAX);
    json_t *f = food_selected(app, shown, n);
    if (!f) {
        tui_flash(app, UI_ERR, "no food selected");
        return TUI_REDRAW;
    }
    long long stock = jint(f, "stock");
    int q = s->qty > 0 ? s->qty : 1;
    if (stock <= 0) {
        tui_flash(app, UI_ERR, "%s is sold out: it cannot be ordered", jstr(f, "name"));
        return TUI_REDRAW;
    }
    if (q > stock) {
        tui_flash(app, UI_ERR, "only %lld %s left: type a smaller quantity", stock, jstr(f, "name"));
        return TUI_REDRAW;
    }
    s->order_qty = q;
    char total[32];
    w_money(total, sizeof total, jint(f, "price") * q);
    dlg_confirm(app, order_answer, jint(f, "id"), "Order %d x %s for %s, delivered to your address? "
                "Yes pays now.", q, jstr(f, "name"), total);
    return TUI_REDRAW;
}

/* ---- my orders ---------------------------------------------------------------------------- */

static json_t *my_selected(app_t *app)
{
    static json_t *shown[TUI_ROWS_MAX];
    int n = orders_shown(app, shown, TUI_ROWS_MAX);
    return order_selected(app, shown, n);
}

tui_res_t act_my_ticket(app_t *app, int key)
{
    (void)key;
    json_t *o = my_selected(app);
    if (!o) {
        tui_flash(app, UI_ERR, "no order selected");
        return TUI_REDRAW;
    }
    dlg_ticket(app, jint(o, "orderId"));
    return TUI_REDRAW;
}

static void cancel_answer(app_t *app, int yes, long long id)
{
    if (!yes)
        return;
    json_t *o;
    proto_err_t err;
    char what[64];
    snprintf(what, sizeof what, "order #%lld not cancelled", id);
    if (net_call(app, "order.cancel", json_pack("{s:I}", "id", (json_int_t)id), &o, &err) != 0) {
        tui_flash_err(app, what, &err);
        return;
    }
    json_decref(o);
    tui_flash(app, UI_WARN, "order #%lld: cancellation requested; waiting for the delivery team's answer",
              id);
    net_dirty(app, DS_MYORDERS);
    if (app->ticket == id)
        net_dirty(app, DS_TICKET);
}

tui_res_t act_cancel_order(app_t *app, int key)
{
    (void)key;
    long long id = app->ticket;
    json_t *o = NULL;
    const char *st = NULL;
    if (!id) {
        o = my_selected(app);
        if (!o) {
            tui_flash(app, UI_ERR, "no order selected");
            return TUI_REDRAW;
        }
        id = jint(o, "orderId");
        st = jstr(o, "orderStatus");
    }
    /* From the ticket too: whichever of the ticket and my orders knows
     * better (each refreshes on its own events) may say it is too late. */
    const char *known[2] = {st, app->ds[DS_TICKET].data && app->ticket == id
                                    ? jstr(app->ds[DS_TICKET].data, "status") : NULL};
    size_t i;
    json_t *row;
    json_array_foreach(net_items(app, DS_MYORDERS), i, row)
        if (!o && jint(row, "orderId") == id)
            known[0] = jstr(row, "orderStatus");
    for (int k = 0; k < 2; k++) {
        const char *s2 = known[k];
        if (s2 && (strcmp(s2, "delivered") == 0 || strcmp(s2, "cancelled") == 0 ||
                   strcmp(s2, "cancel_requested") == 0)) {
            tui_flash(app, UI_ERR, "order #%lld is %s: nothing to cancel", id, status_words(s2));
            return TUI_REDRAW;
        }
    }
    dlg_confirm(app, cancel_answer, id, "Ask the delivery team to cancel order #%lld%s%s?", id,
                o ? ": " : "", o ? jstr(o, "food") : "");
    return TUI_REDRAW;
}

/* ---- my account ------------------------------------------------------------------------------ */

static int edit_me_submit(app_t *app, form_t *f)
{
    const json_t *me = app->ds[DS_ME].data;
    static const char *const keys[] = {"name", "phone", "address", "age"};
    json_t *body = json_pack("{s:I}", "id", (json_int_t)app->customer);
    int changes = 0;
    for (int i = 0; i < 4; i++) {
        char v[256];
        edit_text(&f->f[i].ed, v, sizeof v);
        if (i == 3) {
            json_t *old = json_object_get(me, "age");
            if (v[0] && (!json_is_integer(old) || json_integer_value(old) != atoll(v))) {
                json_object_set_new(body, "age", json_integer(atoll(v)));
                changes++;
            }
        } else if (strcmp(v, jstr(me, keys[i])) != 0 && (i != 0 || v[0])) {
            json_object_set_new(body, keys[i], json_string(v));
            changes++;
        }
    }
    if (!changes) {
        json_decref(body);
        tui_flash(app, UI_INFO, "nothing changed");
        return 0;
    }
    json_t *res;
    proto_err_t err;
    if (net_call(app, "customer.update", body, &res, &err) != 0) {
        tui_flash_err(app, "details not saved", &err);
        return -1;
    }
    tui_set_customer(app, app->customer, jstr(res, "name"));
    json_decref(app->ds[DS_ME].data);
    app->ds[DS_ME].data = res;
    tui_flash(app, UI_OK, "your details are saved");
    return 0;
}

tui_res_t act_edit_me(app_t *app, int key)
{
    (void)key;
    const json_t *me = app->ds[DS_ME].data;
    if (!me) {
        tui_flash(app, UI_ERR, "your details are not loaded yet%s",
                  app->offline ? ": the backend is offline" : "; try again in a moment");
        return TUI_REDRAW;
    }
    char age[32] = "";
    if (json_is_integer(json_object_get(me, "age")))
        snprintf(age, sizeof age, "%lld", jint(me, "age"));
    const char *values[4] = {jstr(me, "name"), jstr(me, "phone"), jstr(me, "address"), age};
    dlg_fields(dlg_form(app, "my details", edit_me_submit, 0), details, 4, values);
    return TUI_REDRAW;
}

static void withdraw_answer(app_t *app, int yes, long long id)
{
    if (!yes)
        return;
    json_t *res;
    proto_err_t err;
    if (net_call(app, "customer.withdraw", json_pack("{s:I}", "id", (json_int_t)id), &res, &err) != 0) {
        tui_flash_err(app, "withdrawal refused", &err);
        return;
    }
    json_decref(res);
    /* The backend ended the account's sessions: back to the role menu. */
    tui_goto(app, NULL);
    login_forget(app, ROLE_CUSTOMER, 0);
    tui_flash(app, UI_OK, "account #%lld withdrawn. Goodbye!", id);
}

tui_res_t act_withdraw(app_t *app, int key)
{
    (void)key;
    dlg_confirm(app, withdraw_answer, app->customer,
                "Withdraw account #%lld (%s)? It can no longer order. This cannot be undone.",
                app->customer, app->customer_name);
    return TUI_REDRAW;
}

/* ---- the screen ----------------------------------------------------------------------------------- */

static void enter(app_t *app)
{
    cust_t *s = xcalloc(1, sizeof *s);
    app->st = s;
    net_want(app, 1u << DS_CATALOG | 1u << DS_MYORDERS | 1u << DS_ME);
    if (app->customer)
        sign_in(app, app->customer);
}

static void leave(app_t *app)
{
    cust_t *s = S(app);
    if (!s)
        return;
    free(s);
    app->st = NULL;
    /* The next customer at the counter logs in again. */
    tui_set_customer(app, 0, NULL);
}

/* The lists' moving keys (tab_t.key). */
static tui_res_t catalog_key(app_t *app, int k)
{
    cust_t *s = S(app);
    return tui_list_move(app, foods_shown, "id", &s->sel, &s->cur, s->page, k);
}

static tui_res_t orders_key(app_t *app, int k)
{
    cust_t *s = S(app);
    return tui_list_move(app, orders_shown, "orderId", &s->osel, &s->ocur, s->page, k);
}

static void who(app_t *app, char *out, size_t n)
{
    /* The name as the customer service last said (after an edit, live). */
    const char *name = app->ds[DS_ME].data ? jstr(app->ds[DS_ME].data, "name") : app->customer_name;
    snprintf(out, n, "customer: %s%s#%lld", name, name[0] ? " " : "", app->customer);
}

const screen_t screen_customer = {
    .name = "customer", .role = ROLE_CUSTOMER,
    .tabs = {{V_CATALOG, "Catalog", draw_catalog, catalog_key},
             {V_ORDERS, "My orders", draw_orders, orders_key}},
    .enter = enter, .leave = leave, .who = who,
};
