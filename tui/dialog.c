/*
 * dialog.c - what opens over a screen and takes the keys while it is open:
 * the yes/no question (confirm), forms and one-line prompts (on the message
 * line: search, stock), the `?` help overlay built from the action table,
 * and the ticket of one order. At most one of each is open; they are drawn
 * over the screen in that order: ticket, help, form, question.
 *
 * A key that sends something to the backend (yes to a question, Enter in a
 * form) only records it in app->later; the loop (tui.c) draws "working" or
 * "sending" first and then calls dlg_run_later, so the wait shows.
 */
#include "tui.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- opening and closing ------------------------------------------------------- */

void dlg_confirm(app_t *app, confirm_fn fn, long long arg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(app->confirm.question, sizeof app->confirm.question, fmt, ap);
    va_end(ap);
    app->confirm.open = 1;
    app->confirm.fn = fn;
    app->confirm.arg = arg;
    app->redraw = 1;
}

form_t *dlg_form(app_t *app, const char *title, form_fn submit, long long arg)
{
    dlg_close_form(app);
    form_t *f = xcalloc(1, sizeof *f);
    snprintf(f->title, sizeof f->title, "%s", title);
    f->submit = submit;
    f->arg = arg;
    app->form = f;
    app->redraw = 1;
    return f;
}

void dlg_field(form_t *f, const char *label, const char *value, int digits, int required)
{
    if (f->nfields >= (int)(sizeof f->f / sizeof f->f[0]))
        return;
    f->f[f->nfields].label = label;
    f->f[f->nfields].required = required;
    edit_init(&f->f[f->nfields].ed, value, digits);
    f->nfields++;
}

void dlg_fields(form_t *f, const dlg_spec_t *spec, int n, const char *const *values)
{
    for (int i = 0; i < n; i++)
        dlg_field(f, spec[i].label, values ? values[i] : "", spec[i].digits, spec[i].required);
}

void dlg_close_form(app_t *app)
{
    free(app->form);
    app->form = NULL;
    app->redraw = 1;
}

void dlg_ticket(app_t *app, long long order)
{
    app->ticket = order;
    net_reset(app, DS_TICKET);
    if (order)
        app->wanted |= 1u << DS_TICKET;
    else
        app->wanted &= ~(1u << DS_TICKET);
    app->redraw = 1;
}

/* ---- drawing ---------------------------------------------------------------- */

/* Split text into lines of at most width columns, at blanks (a word wider
 * than a line gets a line of its own, cut by w_put when drawn). */
static int wrap(const char *text, int width, char lines[][256], int max)
{
    int n = 0;
    char line[256] = "";
    size_t len = 0;
    const char *p = text;
    while (*p && n < max) {
        while (*p == ' ')
            p++;
        const char *e = p;
        while (*e && *e != ' ')
            e++;
        size_t wl = (size_t)(e - p);
        if (wl == 0)
            break;
        if (wl > 200)
            wl = 200;
        char trial[512];
        memcpy(trial, line, len);
        size_t tl = len;
        if (tl)
            trial[tl++] = ' ';
        memcpy(trial + tl, p, wl);
        tl += wl;
        trial[tl] = '\0';
        if (len && (w_width(trial) > width || tl >= sizeof line)) {
            memcpy(lines[n++], line, len + 1);
            len = 0;
            line[0] = '\0';
            continue;   /* the same word again, on a fresh line */
        }
        if (tl >= sizeof line)
            tl = sizeof line - 1;
        memcpy(line, trial, tl);
        line[tl] = '\0';
        len = tl;
        p = e;
    }
    if (len && n < max)
        memcpy(lines[n++], line, len + 1);
    return n;
}

WINDOW *dlg_window(app_t *app, int h, int wd)
{
    int maxh = app->rows - 2, maxw = app->cols - 2;
    if (h > maxh)
        h = maxh;
    if (wd > maxw)
        wd = maxw;
    if (h < 3 || wd < 10)
        return NULL;
    int y = 1 + (app->rows - 3 - h) / 2, x = (app->cols - wd) / 2;
    if (y < 1)
        y = 1;
    WINDOW *w = newwin(h, wd, y, x);
    if (w)
        werase(w);
    return w;
}

static void draw_confirm(app_t *app)
{
    char lines[8][256];
    int wd = app->cols - 8 < 64 ? app->cols - 8 : 64;
    int n = wrap(app->confirm.question, wd - 4, lines, 8);
    WINDOW *w = dlg_window(app, n + 4, wd);
    if (!w)
        return;
    w_frame(w, "confirm");
    for (int i = 0; i < n; i++)
        w_put(w, 1 + i, 2, wd - 4, lines[i], A_BOLD, 0);
    int x = 2;
    x += w_put(w, n + 2, x, wd - 4, "y", ui(UI_KEY), 0);
    x += w_put(w, n + 2, x, wd - 4 - x, " yes    ", A_NORMAL, 0);
    x += w_put(w, n + 2, x, wd - 4 - x, "n", ui(UI_KEY), 0);
    w_put(w, n + 2, x, wd - 4 - x, " no", A_NORMAL, 0);
    (void)wnoutrefresh(w);
    (void)delwin(w);
}

/* Draws the form box; returns the window (the caller refreshes it last and
 * deletes it) with the cursor moved to the edited field. */
static WINDOW *draw_form(app_t *app)
{
    form_t *f = app->form;
    int wd = app->cols - 4 < 70 ? app->cols - 4 : 70;
    WINDOW *w = dlg_window(app, f->nfields * 2 + 4, wd);
    if (!w)
        return NULL;
    w_frame(w, f->title);
    int lw = 0;
    for (int i = 0; i < f->nfields; i++)
        if (w_width(f->f[i].label) + 2 > lw)
            lw = w_width(f->f[i].label) + 2;
    if (lw > wd / 2)
        lw = wd / 2;
    int cy = 0, cx = 0;
    for (int i = 0; i < f->nfields; i++) {
        int y = 2 + i * 2;
        char label[96];
        snprintf(label, sizeof label, "%s%s", f->f[i].label, f->f[i].required ? "*" : "");
        w_put(w, y, 2, lw, label, i == f->cur ? ui(UI_KEY) : A_NORMAL, 0);
        int x = edit_draw(w, y, 2 + lw, wd - 4 - lw, &f->f[i].ed, i == f->cur ? A_UNDERLINE : A_UNDERLINE);
        if (i == f->cur) {
            cy = y;
            cx = x;
        }
    }
    w_put(w, f->nfields * 2 + 2, 2, wd - 4, "* required", ui(UI_GREY), 0);
    (void)wmove(w, cy, cx);
    return w;
}

/* Is a listed already, as an earlier entry of its section (one key on
 * two entries, for the status lines of different views)? */
static int help_repeat(const action_t *a)
{
    for (const action_t *b = tui_actions; b < a; b++)
        if (strcmp(b->section, a->section) == 0 && strcmp(b->label, a->label) == 0 &&
            strcmp(b->help, a->help) == 0)
            return 1;
    return 0;
}

/* The help's sections in the order shown: everywhere, the current tab's,
 * the rest of the current screen's, the other screens', the dialogs last. */
static int help_sections(const app_t *app, const char **out, int max)
{
    unsigned mine = V_MENU;
    if (app->screen) {
        mine = 0;
        for (int i = 0; i < 5 && app->screen->tabs[i].name; i++)
            mine |= app->screen->tabs[i].view;
    }
    unsigned now = app->screen ? app->view : V_MENU;
    int n = 0;
    for (int pass = 0; pass < 5; pass++) {
        for (const action_t *a = tui_actions; a->label; a++) {
            int everywhere = strcmp(a->section, "Everywhere") == 0;
            int dialogs = strcmp(a->section, "Dialogs") == 0;
            int other = !everywhere && !dialogs;
            int take = pass == 0 ? everywhere
                       : pass == 1 ? other && (a->views & now)
                       : pass == 2 ? other && (a->views & mine)
                       : pass == 3 ? other
                                   : dialogs;
            if (!take)
                continue;
            int seen = 0;
            for (int k = 0; k < n; k++)
                seen |= strcmp(out[k], a->section) == 0;
            if (!seen && n < max)
                out[n++] = a->section;
        }
    }
    return n;
}

static void draw_help(app_t *app)
{
    WINDOW *w = dlg_window(app, app->rows - 2, app->cols - 2 < 90 ? app->cols - 2 : 90);
    if (!w)
        return;
    int h, wd;
    getmaxyx(w, h, wd);
    char title[96];
    snprintf(title, sizeof title, "keys (greyed: not for the %s)", tui_role_name(app->role));
    w_frame(w, app->role ? title : "keys");
    const char *secs[32];
    int nsec = help_sections(app, secs, 32);
    int body = h - 2, total = 0;
    for (int pass = 0; pass < 2; pass++) {
        int line = 0;
        for (int k = 0; k < nsec; k++) {
            if (pass && line - app->help_top >= 0 && line - app->help_top < body)
                w_put(w, 1 + line - app->help_top, 2, wd - 4, secs[k], ui(UI_HEAD), 0);
            line++;
            for (const action_t *a = tui_actions; a->label; a++) {
                if (strcmp(a->section, secs[k]) != 0 || help_repeat(a))
                    continue;
                if (pass && line - app->help_top >= 0 && line - app->help_top < body) {
                    int y = 1 + line - app->help_top;
                    int ok = action_allowed(app, a);
                    w_put(w, y, 4, 10, a->label, ok ? ui(UI_KEY) : ui(UI_GREY), 0);
                    char text[256];
                    if (ok) {
                        snprintf(text, sizeof text, "%s", a->help);
                    } else {
                        char who[64];
                        action_roles(a->roles, who, sizeof who);
                        snprintf(text, sizeof text, "%s (%s only)", a->help, who);
                    }
                    w_put(w, y, 15, wd - 17, text, ok ? A_NORMAL : ui(UI_GREY), 0);
                }
                line++;
            }
        }
        total = line;
        if (!pass) {
            if (app->help_top > total - body)
                app->help_top = total - body;
            if (app->help_top < 0)
                app->help_top = 0;
        }
    }
    if (total > body) {
        char more[32];
        snprintf(more, sizeof more, " %d/%d ", app->help_top + body < total ? app->help_top + body : total,
                 total);
        w_put(w, h - 1, wd - 2 - w_width(more), w_width(more), more, ui(UI_BOX), 0);
    }
    (void)wnoutrefresh(w);
    (void)delwin(w);
}

/* A ticket's lines: a heading and a value in an attribute. */
typedef struct {
    const char *k;
    char v[200];
    attr_t a;
} ticket_line_t;

/* The lines of order o's ticket into lines (room for 11); returns how many. */
static int ticket_lines(const json_t *o, ticket_line_t *lines)
{
    char money[32], price[32], when[16], last[16], age[16];
    const char *status = jstr(o, "status");
    const char *created = jstr(o, "created_at"), *updated = jstr(o, "updated_at");
    w_money(money, sizeof money, jint(o, "amount"));
    w_money(price, sizeof price, jint(o, "price"));
    w_ts_clock(created, when, sizeof when);
    w_ts_clock(updated, last, sizeof last);
    int done = strcmp(status, "delivered") == 0 || strcmp(status, "cancelled") == 0;
    long long end = done ? proto_ts_ms(updated) : tui_now();
    w_age(age, sizeof age, (end - proto_ts_ms(created)) / 1000);
    int n = 0;
#define LINE(key, attr, ...)                                       \
    do {                                                           \
        lines[n].k = key;                                          \
        lines[n].a = attr;                                         \
        snprintf(lines[n].v, sizeof lines[n].v, __VA_ARGS__);      \
        n++;                                                       \
    } while (0)
    LINE("Placed", A_NORMAL, "%s", when);
    LINE("Customer", A_NORMAL, "%s (#%lld)", jstr(o, "customerName"), jint(o, "customerId"));
    LINE("Address", A_NORMAL, "%s", jstr(o, "address"));
    LINE("Food", A_BOLD, "%s", jstr(o, "foodName"));
    LINE("Quantity", A_BOLD, "%lld x %s", jint(o, "qty"), price);
    LINE("Amount", A_BOLD, "%s", money);
    LINE("Status", strcmp(status, "cancel_requested") == 0 ? ui(UI_FLAG) : done ? ui(UI_OK) : A_BOLD,
         "%s", status);
    LINE("Payment", A_NORMAL, "%s", jstr(o, "paymentStatus"));
    LINE("Delivery", A_NORMAL, "%s", jstr(o, "deliveryStatus"));
    LINE(done ? "Took" : "Waiting", A_NORMAL, "%s", age);
    LINE("Last change", A_NORMAL, "%s", last);
#undef LINE
    return n;
}

static void draw_ticket(app_t *app)
{
    int wd = app->cols - 4 < 60 ? app->cols - 4 : 60;
    WINDOW *w = dlg_window(app, 15, wd);
    if (!w)
        return;
    char title[64];
    snprintf(title, sizeof title, "ticket: order #%lld", app->ticket);
    w_frame(w, title);
    const dataset_t *ds = &app->ds[DS_TICKET];
    /* A refusal shows even over a ticket loaded before. */
    if (ds->error[0]) {
        w_put(w, 2, 2, wd - 4, ds->error, ui(UI_ERR), 0);
    } else if (tb_say_data(app, w, 2, DS_TICKET, NULL, 1, NULL)) {
        ticket_line_t lines[11];
        int n = ticket_lines(ds->data, lines);
        for (int i = 0, y = 2; i < n && y < 14; i++, y++) {
            w_put(w, y, 2, 12, lines[i].k, ui(UI_HEAD), 0);
            w_put(w, y, 15, wd - 4 - 13, lines[i].v, lines[i].a, 0);
        }
    }
    (void)wnoutrefresh(w);
    (void)delwin(w);
}

/* The inline prompt on the message line; returns the cursor's column, or
 * -1 when no prompt is open. */
int dlg_prompt(app_t *app)
{
    form_t *f = app->form;
    if (!f || !f->inline_prompt)
        return -1;
    WINDOW *w = app->w_msg;
    char label[128];
    snprintf(label, sizeof label, "%s: ", f->f[0].label);
    int x = w_put(w, 0, 0, app->cols / 2, label, ui(UI_KEY), 0);
    return edit_draw(w, 0, x, app->cols - x - 1, &f->f[0].ed, A_NORMAL);
}

WINDOW *dlg_draw(app_t *app)
{
    if (app->ticket)
        draw_ticket(app);
    if (app->help)
        draw_help(app);
    WINDOW *fw = NULL;
    if (app->form && !app->form->inline_prompt)
        fw = draw_form(app);
    if (app->confirm.open)
        draw_confirm(app);
    return fw;
}

/* ---- keys ---------------------------------------------------------------------- */

tui_res_t act_help(app_t *app, int key)
{
    (void)key;
    app->help = 1;
    app->help_top = 0;
    return TUI_REDRAW;
}

tui_res_t act_help_close(app_t *app, int key)
{
    (void)key;
    app->help = 0;
    return TUI_REDRAW;
}

tui_res_t act_help_scroll(app_t *app, int key)
{
    int page = app->rows - 6 > 1 ? app->rows - 6 : 1;
    switch (key) {
    case K(KEY_UP):
    case 'k':
        app->help_top--;
        break;
    case K(KEY_PPAGE):
        app->help_top -= page;
        break;
    case K(KEY_NPAGE):
    case ' ':
        app->help_top += page;
        break;
    case K(KEY_HOME):
        app->help_top = 0;
        break;
    case K(KEY_END):
        app->help_top = 10000;
        break;
    default:
        app->help_top++;
        break;
    }
    if (app->help_top < 0)
        app->help_top = 0;
    return TUI_REDRAW;
}

tui_res_t act_confirm_answer(app_t *app, int key)
{
    int yes = key == 'y' || key == 'Y' || key == '\r' || key == '\n' || key == K(KEY_ENTER);
    confirm_fn fn = app->confirm.fn;
    long long arg = app->confirm.arg;
    app->confirm.open = 0;
    if (fn) {
        /* The request may take a moment: the loop draws "working" first
         * and sends it right after (dlg_run_later). */
        if (yes)
            tui_flash(app, UI_INFO, "working\xe2\x80\xa6");
        app->later.confirm = fn;
        app->later.yes = yes;
        app->later.arg = arg;
    }
    return TUI_REDRAW;
}

tui_res_t act_edit_ok(app_t *app, int key)
{
    (void)key;
    form_t *f = app->form;
    if (!f)
        return TUI_HANDLED;
    for (int i = 0; i < f->nfields; i++) {
        char text[256];
        edit_text(&f->f[i].ed, text, sizeof text);
        int blank = 1;
        for (const char *p = text; *p; p++)
            if (!isspace((unsigned char)*p))
                blank = 0;
        if (f->f[i].required && blank) {
            f->cur = i;
            tui_flash(app, UI_ERR, "%s is required", f->f[i].label);
            return TUI_REDRAW;
        }
    }
    if (!f->submit) {
        dlg_close_form(app);
        return TUI_REDRAW;
    }
    /* Sent by the loop once "sending" shows (dlg_run_later). */
    tui_flash(app, UI_INFO, "sending\xe2\x80\xa6");
    app->later.form = 1;
    return TUI_REDRAW;
}

int dlg_run_later(app_t *app)
{
    if (app->later.confirm) {
        confirm_fn fn = app->later.confirm;
        app->later.confirm = NULL;
        fn(app, app->later.yes, app->later.arg);
        app->redraw = 1;
        return 1;
    }
    if (app->later.login) {
        app->later.login = 0;
        login_submit(app);
        app->redraw = 1;
        return 1;
    }
    if (app->later.form) {
        app->later.form = 0;
        form_t *f = app->form;
        if (f && f->submit && f->submit(app, f) == 0 && app->form == f)
            dlg_close_form(app);
        app->redraw = 1;
        return 1;
    }
    return 0;
}

tui_res_t act_edit_cancel(app_t *app, int key)
{
    (void)key;
    form_t *f = app->form;
    if (f && f->cancelled)
        f->cancelled(app, f);
    dlg_close_form(app);
    return TUI_REDRAW;
}

tui_res_t act_edit_field(app_t *app, int key)
{
    form_t *f = app->form;
    if (!f || f->nfields < 2)
        return TUI_HANDLED;
    int back = key == K(KEY_BTAB) || key == K(KEY_UP);
    f->cur = (f->cur + (back ? f->nfields - 1 : 1)) % f->nfields;
    return TUI_REDRAW;
}

tui_res_t act_ticket_close(app_t *app, int key)
{
    (void)key;
    dlg_ticket(app, 0);
    return TUI_REDRAW;
}

int dlg_key(app_t *app, int key)
{
    if (app->confirm.open || app->help || (app->ticket && !app->form))
        return TUI_HANDLED;   /* dialogs swallow the keys the table does not name */
    form_t *f = app->form;
    if (!f)
        return TUI_UNHANDLED;
    if (!edit_key(&f->f[f->cur].ed, key))
        return TUI_HANDLED;
    if (f->changed)
        f->changed(app, f);
    return TUI_REDRAW;
}
