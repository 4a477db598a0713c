/*
 * screen_customer.c - the customer's screen: sign up or pick an account,
 * the catalog view (search, quantity, order with a confirm step that pays),
 * my orders with live statuses and waiting times, the ticket of an order,
 * cancel, edit my details, withdraw.
 *
 * Every request goes out as customer:<id>: the backend, not this screen,
 * decides what a customer may see and do (another customer's order is
 * forbidden). Before signing in the caller is customer:new, which may only
 * sign up.
 *
 * There is no login in the backend yet (DESIGN section 9: passwords are
 * planned) and a customer may not list customers, so "pick an account"
 * offers the accounts used at this counter before (kept in
 * $COUNTER_HOME/tui-accounts) and takes any customer number typed.
 */
#include "tui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RECENT_MAX 20

typedef struct {
    /* signing in */
    json_t *recent;          /* [{"id","name"}], most recent first */
    int lcur;
    char number[16];
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

/* ---- the accounts used at this counter ---------------------------------------- */

static void recent_path(app_t *app, char *out, size_t n)
{
    snprintf(out, n, "%s/tui-accounts", config_home(app->cfg));
}

static void recent_load(app_t *app, cust_t *s)
{
    json_decref(s->recent);
    s->recent = json_array();
    if (!s->recent)
        proto_oom();
    char path[4200];
    recent_path(app, path, sizeof path);
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f) && json_array_size(s->recent) < RECENT_MAX) {
        char *tab = strchr(line, '\t');
        if (!tab)
            continue;
        *tab = '\0';
        char *name = tab + 1;
        name[strcspn(name, "\r\n")] = '\0';
        long long id = atoll(line);
        if (id > 0)
            json_array_append_new(s->recent, json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", name));
    }
    fclose(f);
}

static void recent_save(app_t *app, cust_t *s)
{
    char path[4200], tmp[4300];
    recent_path(app, path, sizeof path);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f)
        return;
    size_t i;
    json_t *r;
    json_array_foreach(s->recent, i, r)
        fprintf(f, "%lld\t%s\n", jint(r, "id"), jstr(r, "name"));
    if (fclose(f) != 0 || rename(tmp, path) != 0)
        remove(tmp);
}

static void recent_remove(cust_t *s, long long id)
{
    for (size_t i = 0; i < json_array_size(s->recent);) {
        if (jint(json_array_get(s->recent, i), "id") == id)
            json_array_remove(s->recent, i);
        else
            i++;
    }
}

static void recent_add(app_t *app, cust_t *s, long long id, const char *name)
{
    recent_remove(s, id);
    json_array_insert_new(s->recent, 0, json_pack("{s:I, s:s}", "id", (json_int_t)id, "name", name));
    while (json_array_size(s->recent) > RECENT_MAX)
        json_array_remove(s->recent, json_array_size(s->recent) - 1);
    recent_save(app, s);
}

/* ---- signing in and out ----------------------------------------------------------- */

static void signed_in(app_t *app, const json_t *me)
{
    cust_t *s = S(app);
    tui_set_customer(app, jint(me, "id"), jstr(me, "name"));
    recent_add(app, s, app->customer, app->customer_name);
    s->number[0] = '\0';
    s->qty = 0;
    app->view = V_CATALOG;
    net_dirty(app, DS_CATALOG);
}

/* Sign in as customer id: the customer service must know it, active. */
static int sign_in(app_t *app, long long id)
{
    tui_set_customer(app, id, "");
    json_t *me;
    proto_err_t err;
    if (net_call(app, "customer.show", json_pack("{s:I}", "id", (json_int_t)id), &me, &err) != 0) {
        tui_set_customer(app, 0, NULL);
        char what[64];
        snprintf(what, sizeof what, "cannot sign in as #%lld", id);
        tui_flash_err(app, what, &err);
        return -1;
    }
    if (strcmp(jstr(me, "status"), "active") != 0) {
        tui_set_customer(app, 0, NULL);
        tui_flash(app, UI_ERR, "account #%lld (%s) has withdrawn; sign up again to order", id,
                  jstr(me, "name"));
        json_decref(me);
        return -1;
    }
    signed_in(app, me);
    tui_flash(app, UI_OK, "welcome, %s (customer #%lld)", app->customer_name, app->customer);
    json_decref(me);
    return 0;
}

static void sign_out(app_t *app)
{
    tui_set_customer(app, 0, NULL);
    tui_ticket(app, 0);
    app->view = V_LOGIN;
    S(app)->number[0] = '\0';
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
    return tui_keep_selection(shown, n, s->sel, &s->cur);
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
    if (n == 0) {
        s->ocur = 0;
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (jint(shown[i], "orderId") == s->osel) {
            s->ocur = i;
            return shown[i];
        }
    /* As for foods: an order just placed is selected once it shows. */
    if (s->ocur >= n)
        s->ocur = n - 1;
    if (s->ocur < 0)
        s->ocur = 0;
    return shown[s->ocur];
}

#define SHOW_MAX 2000

/* ---- drawing ------------------------------------------------------------------------ */

static void draw_login(app_t *app, WINDOW *w)
{
    cust_t *s = S(app);
    int h, wd;
    getmaxyx(w, h, wd);
    int y = 1;
    w_put(w, y, 2, wd - 4, "Welcome to the breakfast counter!", ui(UI_HEAD), 0);
    y += 2;
    w_put(w, y, 2, 3, "n", ui(UI_KEY), 0);
    w_put(w, y, 5, wd - 7, "sign up as a new customer", A_NORMAL, 0);
    y += 2;
    int x = w_put(w, y, 2, wd - 4, "or type your customer number: ", A_NORMAL, 0);
    w_put(w, y, 2 + x, 14, s->number[0] ? s->number : "", A_UNDERLINE | A_BOLD, W_PAD);
    y += 2;
    size_t n = json_array_size(s->recent);
    if (n == 0) {
        w_put(w, y, 2, wd - 4, "(no account was used at this counter yet)", ui(UI_GREY), 0);
        return;
    }
    w_put(w, y, 2, wd - 4, "or pick an account used here (Up/Down, Enter):", A_NORMAL, 0);
    y++;
    int rows = h - y - 1;
    if (s->lcur >= (int)n)
        s->lcur = (int)n - 1;
    int top = 0;
    tui_list_fit(s->lcur, &top, rows, (int)n);
    for (int i = top; i < (int)n && y < h - 1; i++, y++) {
        json_t *r = json_array_get(s->recent, (size_t)i);
        attr_t a = i == s->lcur ? ui(UI_SEL) : A_NORMAL;
        w_putf(w, y, 4, wd - 8 < 40 ? wd - 8 : 40, a, W_PAD, " #%-5lld %s", jint(r, "id"), jstr(r, "name"));
    }
    s->page = rows;
}

static void draw_catalog(app_t *app, WINDOW *w)
{
    cust_t *s = S(app);
    int h, wd;
    getmaxyx(w, h, wd);
    dataset_t *ds = &app->ds[DS_CATALOG];
    static json_t *shown[SHOW_MAX];
    int n = foods_shown(app, shown, SHOW_MAX);
    json_t *sel = food_selected(app, shown, n);
    int sold = 0;
    for (int i = 0; i < n; i++)
        sold += jint(shown[i], "stock") <= 0;
    /* Line 0: what is shown. */
    char head[320];
    if (s->search[0])
        snprintf(head, sizeof head, "Catalog: foods matching \"%s\"", s->search);
    else
        snprintf(head, sizeof head, "Catalog");
    w_put(w, 0, 1, wd - 2, head, ui(UI_HEAD), 0);
    char count[64];
    snprintf(count, sizeof count, "%d food%s, %d sold out", n, n == 1 ? "" : "s", sold);
    int cw = w_width(count);
    if (cw < wd / 2)
        w_put(w, 0, wd - cw - 1, cw, count, ui(UI_GREY), 0);
    /* Columns: id, name (the rest), price, stock, note. */
    int note_w = 9, price_w = 9, stock_w = 6, id_w = 4;
    int name_w = wd - (1 + id_w + 2 + 2 + price_w + 2 + stock_w + 2 + note_w + 1);
    if (name_w < 8) {
        note_w = 0;
        name_w = wd - (1 + id_w + 2 + 2 + price_w + 2 + stock_w + 1);
    }
    int xid = 1, xname = xid + id_w + 2, xprice = xname + name_w + 2, xstock = xprice + price_w + 2,
        xnote = xstock + stock_w + 2;
    w_put(w, 1, xid, id_w, "#", ui(UI_HEAD), W_RIGHT);
    w_put(w, 1, xname, name_w, "Food", ui(UI_HEAD), W_PAD);
    w_put(w, 1, xprice, price_w, "Price", ui(UI_HEAD), W_RIGHT);
    w_put(w, 1, xstock, stock_w, "Stock", ui(UI_HEAD), W_RIGHT);
    int rows = h - 3;
    s->page = rows;
    if (!ds->data) {
        const char *why = ds->error[0] ? ds->error
                          : app->svc[net_svc_index("view")].up == 0 ? "offline: the catalog view does not answer"
                                                                   : "loading\xe2\x80\xa6";
        w_put(w, 2, 2, wd - 4, why, ds->error[0] ? ui(UI_ERR) : ui(UI_GREY), 0);
    } else if (n == 0) {
        w_put(w, 2, 2, wd - 4, s->search[0] ? "no food matches the search (Esc clears it)"
                                            : "no food in the catalog yet",
              ui(UI_GREY), 0);
    }
    tui_list_fit(s->cur, &s->top, rows, n);
    for (int i = s->top, y = 2; i < n && y < 2 + rows; i++, y++) {
        json_t *f = shown[i];
        int out = jint(f, "stock") <= 0;
        int is_sel = i == s->cur;
        attr_t a = out ? ui(UI_GREY) : A_NORMAL;
        if (is_sel)
            a = ui(UI_SEL) | (out ? A_DIM : A_NORMAL);
        char price[32];
        w_money(price, sizeof price, jint(f, "price"));
        w_fill(w, y, 0, wd, is_sel ? a : A_NORMAL);
        w_putf(w, y, xid, id_w, a, W_RIGHT, "%lld", jint(f, "id"));
        w_put(w, y, xname, name_w, jstr(f, "name"), a | (out ? 0 : A_BOLD), W_PAD);
        w_put(w, y, xprice, price_w, price, a, W_RIGHT);
        w_putf(w, y, xstock, stock_w, a, W_RIGHT, "%lld", jint(f, "stock"));
        if (note_w) {
            if (out)
                w_put(w, y, xnote, note_w, "sold out", a, 0);
            else if (is_sel && s->qty > 0)
                w_putf(w, y, xnote, note_w, a | A_BOLD, 0, "x %d", s->qty);
        }
    }
    /* The last line: the order being put together. */
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

static const char *status_words(const char *st)
{
    if (strcmp(st, "cancel_requested") == 0)
        return "cancel requested";
    return st;
}

static void draw_orders(app_t *app, WINDOW *w)
{
    cust_t *s = S(app);
    int h, wd;
    getmaxyx(w, h, wd);
    dataset_t *ds = &app->ds[DS_MYORDERS];
    static json_t *shown[SHOW_MAX];
    int n = orders_shown(app, shown, SHOW_MAX);
    (void)order_selected(app, shown, n);
    int open = 0;
    for (int i = 0; i < n; i++) {
        const char *st = jstr(shown[i], "orderStatus");
        open += strcmp(st, "delivered") != 0 && strcmp(st, "cancelled") != 0;
    }
    char head[320];
    snprintf(head, sizeof head, "My orders (%s, #%lld)", app->customer_name, app->customer);
    w_put(w, 0, 1, wd - 2, head, ui(UI_HEAD), 0);
    char count[64];
    snprintf(count, sizeof count, "%d order%s, %d open", n, n == 1 ? "" : "s", open);
    int cw = w_width(count);
    if (cw < wd / 2)
        w_put(w, 0, wd - cw - 1, cw, count, ui(UI_GREY), 0);
    int id_w = 5, qty_w = 4, amt_w = 9, st_w = 16, pay_w = 9, wait_w = 7;
    int food_w = wd - (1 + id_w + 2 + 2 + qty_w + 2 + amt_w + 2 + st_w + 2 + pay_w + 2 + wait_w + 1);
    if (food_w < 10) {
        pay_w = 0;
        food_w = wd - (1 + id_w + 2 + 2 + qty_w + 2 + amt_w + 2 + st_w + 2 + wait_w + 1);
        if (food_w < 6)
            food_w = 6;   /* the columns on the right are cut at the edge */
    }
    int xid = 1, xfood = xid + id_w + 2, xqty = xfood + food_w + 2, xamt = xqty + qty_w + 2,
        xst = xamt + amt_w + 2, xpay = xst + st_w + 2, xwait = xpay + (pay_w ? pay_w + 2 : 0);
    w_put(w, 1, xid, id_w, "#", ui(UI_HEAD), W_RIGHT);
    w_put(w, 1, xfood, food_w, "Food", ui(UI_HEAD), W_PAD);
    w_put(w, 1, xqty, qty_w, "Qty", ui(UI_HEAD), W_RIGHT);
    w_put(w, 1, xamt, amt_w, "Amount", ui(UI_HEAD), W_RIGHT);
    w_put(w, 1, xst, st_w, "Status", ui(UI_HEAD), W_PAD);
    if (pay_w)
        w_put(w, 1, xpay, pay_w, "Payment", ui(UI_HEAD), W_PAD);
    w_put(w, 1, xwait, wait_w, "Waited", ui(UI_HEAD), W_RIGHT);
    int rows = h - 3;
    s->page = rows;
    if (!ds->data) {
        const char *why = ds->error[0] ? ds->error
                          : app->svc[net_svc_index("view")].up == 0 ? "offline: my orders do not answer"
                                                                   : "loading\xe2\x80\xa6";
        w_put(w, 2, 2, wd - 4, why, ds->error[0] ? ui(UI_ERR) : ui(UI_GREY), 0);
    } else if (n == 0) {
        w_put(w, 2, 2, wd - 4, "no orders yet: Tab to the catalog, pick a food, Enter", ui(UI_GREY), 0);
    }
    tui_list_fit(s->ocur, &s->otop, rows, n);
    long long now = tui_now();
    for (int i = s->otop, y = 2; i < n && y < 2 + rows; i++, y++) {
        json_t *o = shown[i];
        const char *st = jstr(o, "orderStatus");
        int done = strcmp(st, "delivered") == 0 || strcmp(st, "cancelled") == 0;
        int is_sel = i == s->ocur;
        attr_t a = is_sel ? ui(UI_SEL) : A_NORMAL;
        attr_t sa = is_sel ? a
                    : strcmp(st, "delivered") == 0        ? ui(UI_OK)
                    : strcmp(st, "cancelled") == 0        ? ui(UI_GREY)
                    : strcmp(st, "cancel_requested") == 0 ? ui(UI_FLAG)
                                                          : A_BOLD;
        char amount[32], waited[16];
        w_money(amount, sizeof amount, jint(o, "amount"));
        long long from = jint(o, "orderedMs");
        long long end = done ? proto_ts_ms(jstr(o, "lastChange")) : now;
        w_age(waited, sizeof waited, from > 0 && end > from ? (end - from) / 1000 : 0);
        w_fill(w, y, 0, wd, a);
        w_putf(w, y, xid, id_w, a, W_RIGHT, "%lld", jint(o, "orderId"));
        w_put(w, y, xfood, food_w, jstr(o, "food"), a, W_PAD);
        w_putf(w, y, xqty, qty_w, a, W_RIGHT, "%lld", jint(o, "qty"));
        w_put(w, y, xamt, amt_w, amount, a, W_RIGHT);
        w_put(w, y, xst, st_w, status_words(st), sa, W_PAD);
        if (pay_w)
            w_put(w, y, xpay, pay_w, jstr(o, "paymentStatus"), a, W_PAD);
        w_put(w, y, xwait, wait_w, waited, a, W_RIGHT);
    }
    w_put(w, h - 1, 1, wd - 2, "Enter: the ticket of the selected order   x: ask to cancel it",
          ui(UI_GREY), 0);
}

static void draw(app_t *app, WINDOW *w)
{
    switch (app->view) {
    case V_LOGIN:
        draw_login(app, w);
        break;
    case V_ORDERS:
        draw_orders(app, w);
        break;
    default:
        draw_catalog(app, w);
        break;
    }
}

/* ---- signing in ------------------------------------------------------------------- */

static int signup_submit(app_t *app, form_t *f)
{
    char name[256], phone[256], address[256], age[32];
    edit_text(&f->f[0].ed, name, sizeof name);
    edit_text(&f->f[1].ed, phone, sizeof phone);
    edit_text(&f->f[2].ed, address, sizeof address);
    edit_text(&f->f[3].ed, age, sizeof age);
    json_t *body = json_pack("{s:s}", "name", name);
    if (phone[0])
        json_object_set_new(body, "phone", json_string(phone));
    if (address[0])
        json_object_set_new(body, "address", json_string(address));
    if (age[0])
        json_object_set_new(body, "age", json_integer(atoll(age)));
    json_t *me;
    proto_err_t err;
    tui_set_customer(app, 0, NULL);   /* as customer:new */
    if (net_call(app, "customer.add", body, &me, &err) != 0) {
        tui_flash_err(app, "cannot sign up", &err);
        return -1;
    }
    signed_in(app, me);
    tui_flash(app, UI_OK, "welcome, %s! You are customer #%lld: remember the number", app->customer_name,
              app->customer);
    json_decref(me);
    return 0;
}

tui_res_t act_signup(app_t *app, int key)
{
    (void)key;
    form_t *f = tui_form(app, "sign up", signup_submit, 0);
    tui_form_field(f, "Name", "", 0, 1);
    tui_form_field(f, "Phone", "", 0, 0);
    tui_form_field(f, "Address", "", 0, 0);
    tui_form_field(f, "Age", "", 1, 0);
    return TUI_REDRAW;
}

tui_res_t act_login_digit(app_t *app, int key)
{
    cust_t *s = S(app);
    size_t len = strlen(s->number);
    if (len == 0 && key == '0')
        return TUI_HANDLED;
    if (len + 1 < sizeof s->number && len < 12) {
        s->number[len] = (char)key;
        s->number[len + 1] = '\0';
    }
    return TUI_REDRAW;
}

tui_res_t act_login_erase(app_t *app, int key)
{
    (void)key;
    cust_t *s = S(app);
    size_t len = strlen(s->number);
    if (len)
        s->number[len - 1] = '\0';
    return TUI_REDRAW;
}

tui_res_t act_login(app_t *app, int key)
{
    (void)key;
    cust_t *s = S(app);
    long long id = 0;
    if (s->number[0])
        id = atoll(s->number);
    else if (s->lcur >= 0 && (size_t)s->lcur < json_array_size(s->recent))
        id = jint(json_array_get(s->recent, (size_t)s->lcur), "id");
    if (id <= 0) {
        tui_flash(app, UI_ERR, "type your customer number, or press n to sign up");
        return TUI_REDRAW;
    }
    (void)sign_in(app, id);
    return TUI_REDRAW;
}

tui_res_t act_forget(app_t *app, int key)
{
    (void)key;
    cust_t *s = S(app);
    if (s->lcur < 0 || (size_t)s->lcur >= json_array_size(s->recent))
        return TUI_HANDLED;
    long long id = jint(json_array_get(s->recent, (size_t)s->lcur), "id");
    recent_remove(s, id);
    recent_save(app, s);
    tui_flash(app, UI_INFO, "account #%lld is no longer offered here", id);
    return TUI_REDRAW;
}

tui_res_t act_signout(app_t *app, int key)
{
    (void)key;
    sign_out(app);
    tui_flash(app, UI_INFO, "signed out");
    return TUI_REDRAW;
}

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
    form_t *f = tui_form(app, "search", NULL, 0);
    f->inline_prompt = 1;
    f->changed = search_changed;
    f->cancelled = search_cancelled;
    tui_form_field(f, "Search foods (Enter keeps, Esc clears)", S(app)->search, 0, 0);
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
    static json_t *shown[SHOW_MAX];
    int n = foods_shown(app, shown, SHOW_MAX);
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
    tui_confirm(app, order_answer, jint(f, "id"), "Order %d x %s for %s, delivered to your address? "
                "Yes pays now.", q, jstr(f, "name"), total);
    return TUI_REDRAW;
}

/* ---- my orders ---------------------------------------------------------------------------- */

static json_t *my_selected(app_t *app)
{
    static json_t *shown[SHOW_MAX];
    int n = orders_shown(app, shown, SHOW_MAX);
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
    tui_ticket(app, jint(o, "orderId"));
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
    tui_confirm(app, cancel_answer, id, "Ask the delivery team to cancel order #%lld%s%s?", id,
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
    recent_add(app, S(app), app->customer, app->customer_name);
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
    form_t *f = tui_form(app, "my details", edit_me_submit, 0);
    tui_form_field(f, "Name", jstr(me, "name"), 0, 1);
    tui_form_field(f, "Phone", jstr(me, "phone"), 0, 0);
    tui_form_field(f, "Address", jstr(me, "address"), 0, 0);
    tui_form_field(f, "Age", age, 1, 0);
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
    recent_remove(S(app), id);
    recent_save(app, S(app));
    sign_out(app);
    tui_flash(app, UI_OK, "account #%lld withdrawn. Goodbye!", id);
}

tui_res_t act_withdraw(app_t *app, int key)
{
    (void)key;
    tui_confirm(app, withdraw_answer, app->customer,
                "Withdraw account #%lld (%s)? It can no longer order. This cannot be undone.",
                app->customer, app->customer_name);
    return TUI_REDRAW;
}

/* ---- the screen ----------------------------------------------------------------------------------- */

static void enter(app_t *app)
{
    cust_t *s = calloc(1, sizeof *s);
    if (!s)
        proto_oom();
    app->st = s;
    recent_load(app, s);
    net_want(app, 1u << DS_CATALOG | 1u << DS_MYORDERS | 1u << DS_ME);
    app->view = V_LOGIN;
    if (app->customer) {
        long long id = app->customer;
        if (sign_in(app, id) != 0)
            app->view = V_LOGIN;
    }
}

static void leave(app_t *app)
{
    cust_t *s = S(app);
    if (!s)
        return;
    json_decref(s->recent);
    free(s);
    app->st = NULL;
    /* The next customer at the counter signs in again. */
    tui_set_customer(app, 0, NULL);
}

static tui_res_t key(app_t *app, int k)
{
    cust_t *s = S(app);
    static json_t *shown[SHOW_MAX];
    int n;
    switch (app->view) {
    case V_LOGIN:
        return tui_list_key(&s->lcur, (int)json_array_size(s->recent), s->page, k) ? TUI_REDRAW
                                                                                   : TUI_UNHANDLED;
    case V_CATALOG:
        n = foods_shown(app, shown, SHOW_MAX);
        (void)food_selected(app, shown, n);
        if (!tui_list_key(&s->cur, n, s->page, k))
            return TUI_UNHANDLED;
        s->sel = n > 0 ? jint(shown[s->cur], "id") : 0;
        return TUI_REDRAW;
    case V_ORDERS:
        n = orders_shown(app, shown, SHOW_MAX);
        (void)order_selected(app, shown, n);
        if (!tui_list_key(&s->ocur, n, s->page, k))
            return TUI_UNHANDLED;
        s->osel = n > 0 ? jint(shown[s->ocur], "orderId") : 0;
        return TUI_REDRAW;
    default:
        return TUI_UNHANDLED;
    }
}

static void who(app_t *app, char *out, size_t n)
{
    if (app->customer)
        snprintf(out, n, "customer: %s #%lld", app->customer_name, app->customer);
    else
        snprintf(out, n, "customer (not signed in)");
}

const screen_t screen_customer = {
    "customer",
    ROLE_CUSTOMER,
    {{V_LOGIN, "Sign in"}, {V_CATALOG, "Catalog"}, {V_ORDERS, "My orders"}, {0, NULL}},
    enter,
    draw,
    key,
    NULL,
    leave,
    who,
};
