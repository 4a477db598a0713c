/*
 * tui.c - the application: one thread, one loop.
 *
 * Each pass: the backend's part (probes, subscription timer, fetches of the
 * data sets that changed), then one draw if anything changed (wnoutrefresh
 * of each window, one doupdate), then zmq_poll over the keyboard (fd 0), the
 * event subscription and the health probes, with a timeout. After each wake
 * every waiting key is read with a zero timeout until none is left;
 * KEY_RESIZE is one of them. Keys go through the action table (actions.c).
 *
 * The screen is a function of the state: a key handler changes state and
 * says whether to draw; an event marks data for fetching; nothing draws
 * outside draw(). Because ncurses compares each frame with the last, a
 * redraw changes only the cells that differ: no flicker, and a half-typed
 * search or form survives any number of live updates.
 *
 * A key whose action waits on the backend (a confirmed order, a form sent)
 * only records it (app->later); the loop draws "working" first, then sends
 * it, and reads the keys typed after it only once it is answered.
 *
 * ncurses drawing calls (wmove, waddnwstr, wnoutrefresh, ...) fail only for
 * positions outside a window, which widgets.c clips beforehand; their
 * results are deliberately ignored, with (void). Calls that can fail for
 * other reasons (newterm, newwin, cbreak, keypad, ...) are checked.
 */
#include "tui.h"
#include "token.h"

#include <errno.h>
#include <locale.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MIN_ROWS 10
#define MIN_COLS 40
#define FLASH_MS 8000

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
    (void)sig;
    stop_signal = 1;
}

long long tui_now(void)
{
    return proto_now_ms();
}

const char *tui_role_name(unsigned role)
{
    switch (role) {
    case ROLE_CUSTOMER:
        return "customer";
    case ROLE_MANAGER:
        return "manager";
    case ROLE_DELIVERY:
        return "delivery team";
    default:
        return "anyone";
    }
}

/* ---- messages ------------------------------------------------------------------ */

void tui_flash(app_t *app, ui_t kind, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(app->msg, sizeof app->msg, fmt, ap);
    va_end(ap);
    app->msg_kind = kind;
    app->msg_until = proto_mono_ms() + FLASH_MS;
    app->redraw = 1;
}

void tui_flash_err(app_t *app, const char *what, const proto_err_t *err)
{
    if (err->status == ERR_PAYMENT_BUSY) {
        long secs = err->retry_after_ms > 0 ? (err->retry_after_ms + 999) / 1000 : 1;
        tui_flash(app, UI_ERR, "payment is busy, try again in %ld s: %s", secs, what);
    } else if (err->status == ERR_UNAUTHORIZED) {
        tui_flash(app, UI_ERR, "%s: your session has ended; log in again, then press the key again",
                  what);
    } else if (err->status == ERR_FORBIDDEN) {
        tui_flash(app, UI_ERR, "%s: refused by the backend: %s", what, err->message);
    } else {
        tui_flash(app, UI_ERR, "%s: %s", what, err->message);
    }
}

/* ---- lists ---------------------------------------------------------------------- */

json_t *tui_keep_selection(json_t **shown, int n, const char *key, long long sel, int *cur)
{
    if (n == 0) {
        *cur = 0;
        return NULL;
    }
    for (int i = 0; i < n; i++)
        if (jint(shown[i], key) == sel) {
            *cur = i;
            return shown[i];
        }
    /* The selected row is not shown (searched away, deleted, not loaded
     * yet): the cursor stays where it was; sel is kept by the caller, so the
     * row is selected again when it shows (a food just added). */
    if (*cur >= n)
        *cur = n - 1;
    if (*cur < 0)
        *cur = 0;
    return shown[*cur];
}

int tui_list_key(int *cur, int n, int page, int key)
{
    if (page < 1)
        page = 1;
    switch (key) {
    case K(KEY_UP):
    case 'k':
        (*cur)--;
        break;
    case K(KEY_DOWN):
    case 'j':
        (*cur)++;
        break;
    case K(KEY_PPAGE):
        *cur -= page;
        break;
    case K(KEY_NPAGE):
        *cur += page;
        break;
    case K(KEY_HOME):
        *cur = 0;
        break;
    case K(KEY_END):
        *cur = n - 1;
        break;
    default:
        return 0;
    }
    if (*cur >= n)
        *cur = n - 1;
    if (*cur < 0)
        *cur = 0;
    return 1;
}

tui_res_t tui_list_move(app_t *app, tui_rows_fn rows, const char *key, long long *sel, int *cur, int page,
                        int k)
{
    static json_t *shown[TUI_ROWS_MAX];
    int n = rows(app, shown, TUI_ROWS_MAX);
    (void)tui_keep_selection(shown, n, key, *sel, cur);
    if (!tui_list_key(cur, n, page, k))
        return TUI_UNHANDLED;
    *sel = n > 0 ? jint(shown[*cur], key) : 0;
    return TUI_REDRAW;
}

void tui_list_fit(int cur, int *top, int rows, int n)
{
    if (rows < 1)
        rows = 1;
    if (cur < *top)
        *top = cur;
    if (cur >= *top + rows)
        *top = cur - rows + 1;
    if (*top > n - rows)
        *top = n - rows;
    if (*top < 0)
        *top = 0;
}

/* ---- identity and screens ------------------------------------------------------ */

void tui_set_caller(app_t *app)
{
    const char *cred = app->screen ? app->sess[login_slot(app->role)].cred : "";
    char was[sizeof app->caller];
    memcpy(was, app->caller, sizeof was);
    snprintf(app->caller, sizeof app->caller, "%s", cred[0] ? cred : "-");
    /* The subscription's catch-up calls carry the caller: start it again
     * (none in the menu); whatever was missed meanwhile is fetched again. */
    if (strcmp(was, app->caller) != 0)
        net_refollow(app);
    sodium_memzero(was, sizeof was);
}

void tui_set_customer(app_t *app, long long id, const char *name)
{
    if (id != app->customer) {
        net_reset(app, DS_MYORDERS);
        net_reset(app, DS_ME);
    }
    app->customer = id;
    snprintf(app->customer_name, sizeof app->customer_name, "%s", id && name ? name : "");
    app->redraw = 1;
}

void tui_goto(app_t *app, const screen_t *screen)
{
    if (app->screen && app->screen->leave)
        app->screen->leave(app);
    dlg_close_form(app);
    app->confirm.open = 0;
    app->help = 0;
    dlg_ticket(app, 0);
    app->screen = screen;
    app->role = screen ? screen->role : ROLE_NONE;
    /* Who: the claims of the screen's token (login.c checked its role;
     * the backend checks the rest). */
    token_claims_t c;
    const char *cred = screen ? app->sess[login_slot(screen->role)].cred : "";
    if (strncmp(cred, "token:", 6) != 0 || token_peek(cred + 6, &c) != 0)
        memset(&c, 0, sizeof c);
    snprintf(app->staff, sizeof app->staff, "%s", screen && screen->role != ROLE_CUSTOMER ? c.subject : "");
    tui_set_customer(app, screen && screen->role == ROLE_CUSTOMER ? atoll(c.subject) : 0, NULL);
    tui_set_caller(app);
    if (screen) {
        app->view = screen->tabs[0].view;
        screen->enter(app);
    } else {
        app->view = V_MENU;
        net_want(app, 0);
    }
    app->redraw = 1;
}

/* ---- windows --------------------------------------------------------------------- */

static void drop_windows(app_t *app)
{
    WINDOW **all[] = {&app->w_title, &app->w_main, &app->w_msg, &app->w_bar};
    for (size_t i = 0; i < 4; i++) {
        if (*all[i])
            (void)delwin(*all[i]);
        *all[i] = NULL;
    }
}

static int layout(app_t *app)
{
    drop_windows(app);
    getmaxyx(stdscr, app->rows, app->cols);
    app->too_small = app->rows < MIN_ROWS || app->cols < MIN_COLS;
    if (app->too_small)
        return 0;
    app->w_title = newwin(1, app->cols, 0, 0);
    app->w_main = newwin(app->rows - 3, app->cols, 1, 0);
    app->w_msg = newwin(1, app->cols, app->rows - 2, 0);
    app->w_bar = newwin(1, app->cols, app->rows - 1, 0);
    if (!app->w_title || !app->w_main || !app->w_msg || !app->w_bar) {
        drop_windows(app);
        app->too_small = 1;
        return -1;
    }
    app->redraw = 1;
    return 0;
}

/* The screen's tab that shows (its first when the view is none of them). */
static const tab_t *current_tab(const app_t *app)
{
    const tab_t *tabs = app->screen->tabs;
    for (int i = 0; i < 5 && tabs[i].name; i++)
        if (tabs[i].view == app->view)
            return &tabs[i];
    return &tabs[0];
}

static unsigned current_view(const app_t *app)
{
    if (app->login)
        return login_view(app);
    if (app->confirm.open)
        return V_CONFIRM;
    if (app->form)
        return V_EDIT;
    if (app->help)
        return V_HELP;
    if (app->ticket)
        return V_TICKET;
    return app->screen ? app->view : V_MENU;
}

/* ---- drawing ---------------------------------------------------------------------- */

static void draw_title(app_t *app)
{
    WINDOW *w = app->w_title;
    attr_t base = ui(UI_TITLE);
    w_fill(w, 0, 0, app->cols, base);
    /* The flag at the right first: it must always show. */
    char flag[96];
    ui_t fk = UI_TITLE;
    int down = 0, unknown = 0;
    char names[64] = "";
    for (int s = 0; s < app->nsvc; s++) {
        if (app->svc[s].up == 0) {
            size_t used = strlen(names);
            snprintf(names + used, sizeof names - used, "%s%s", down ? "," : "", config_services[s]);
            down++;
        }
        unknown += app->svc[s].up < 0;
    }
    if (down == app->nsvc || (down && !app->ever_online && down + unknown == app->nsvc)) {
        snprintf(flag, sizeof flag, " OFFLINE ");
        fk = UI_OFFLINE;
    } else if (down) {
        snprintf(flag, sizeof flag, " OFFLINE: %s ", names);
        fk = UI_OFFLINE;
    } else if (unknown) {
        snprintf(flag, sizeof flag, " connecting ");
    } else {
        snprintf(flag, sizeof flag, " online ");
    }
    int fw = w_width(flag);
    if (fw > app->cols / 2)
        fw = app->cols / 2;
    w_put(w, 0, app->cols - fw, fw, flag, ui(fk), W_PAD);
    int x = 0, room = app->cols - fw - 1;
    x += w_put(w, 0, x, room - x, app->cols >= 72 ? " Breakfast counter " : " counter ", base | A_BOLD, 0);
    if (app->screen) {
        char who[160] = "";
        if (app->screen->who)
            app->screen->who(app, who, sizeof who);
        else
            snprintf(who, sizeof who, "%s: %s", app->screen->name, app->staff);
        char part[200];
        snprintf(part, sizeof part, "| %s |", who);
        x += w_put(w, 0, x, room - x, part, base, 0);
        for (int i = 0; i < 5 && app->screen->tabs[i].name; i++) {
            int on = app->screen->tabs[i].view == app->view;
            char t[64];
            snprintf(t, sizeof t, on ? "[%s]" : " %s ", app->screen->tabs[i].name);
            x += w_put(w, 0, x, room - x, t, on ? ui(UI_TAB_ON) : base, 0);
        }
    } else {
        x += w_put(w, 0, x, room - x, "| pick your role", base, 0);
    }
}

/* Tabs of the current screen. */
static int tab_count(const app_t *app)
{
    int n = 0;
    while (app->screen && n < 5 && app->screen->tabs[n].name)
        n++;
    return n;
}

static int on_bar(const app_t *app, const action_t *a, unsigned view)
{
    return (a->views & view) && a->brief && !(a->fn == act_tab && tab_count(app) < 2);
}

/* Does any action after a show on the status line? */
static int more_after(const app_t *app, const action_t *a, unsigned view)
{
    for (; a->label; a++)
        if (on_bar(app, a, view))
            return 1;
    return 0;
}

static void draw_bar(app_t *app)
{
    WINDOW *w = app->w_bar;
    werase(w);
    unsigned view = current_view(app);
    int x = 0, room = w_room(w, 0, 0);
    for (const action_t *a = tui_actions; a->label; a++) {
        if (!on_bar(app, a, view))
            continue;
        int ok = action_allowed(app, a);
        int need = w_width(a->label) + 1 + w_width(a->brief);
        if (x + need > room || (x + need + 2 > room && more_after(app, a + 1, view))) {
            if (x + 2 <= room)
                w_put(w, 0, x, room - x, "\xe2\x80\xa6", ui(UI_GREY), 0);
            break;
        }
        x += w_put(w, 0, x, room - x, a->label, ok ? ui(UI_KEY) : ui(UI_GREY), 0);
        x += 1;
        x += w_put(w, 0, x, room - x, a->brief, ok ? ui(UI_BAR) : ui(UI_GREY), 0);
        x += 2;
    }
}

/* Returns the cursor column when the message line holds a prompt, else -1. */
static int draw_msg(app_t *app)
{
    WINDOW *w = app->w_msg;
    werase(w);
    int cursor = dlg_prompt(app);
    if (cursor >= 0)
        return cursor;
    if (app->msg[0])
        w_put(w, 0, 0, app->cols, app->msg, ui(app->msg_kind), 0);
    return -1;
}

static void draw_menu(app_t *app, WINDOW *w)
{
    static const struct {
        const char *key, *name, *what;
    } items[] = {
        {"c", "Customer", "log in or sign up, order breakfast, follow your orders"},
        {"m", "Manager", "foods and stock, the day, deliveries, who did what"},
        {"d", "Delivery team", "the board: confirm, ship, deliver, answer cancellations"},
    };
    int h, wd;
    getmaxyx(w, h, wd);
    int y = h > 12 ? 2 : 1;
    w_put(w, y, 2, wd - 4, "Who is at the counter?", ui(UI_HEAD), 0);
    y += 2;
    for (int i = 0; i < 3; i++) {
        int sel = i == app->menu_cur;
        attr_t a = sel ? ui(UI_SEL) : A_NORMAL;
        w_fill(w, y, 2, wd - 4, a);
        w_put(w, y, 3, 3, items[i].key, sel ? a : ui(UI_KEY), 0);
        w_put(w, y, 6, 16, items[i].name, a | A_BOLD, 0);
        w_put(w, y, 22, wd - 25, items[i].what, a, 0);
        y += 2;
    }
    w_put(w, y, 2, wd - 4, "Press the key, or move with Up/Down and press Enter; each asks its",
          ui(UI_GREY), 0);
    w_put(w, y + 1, 2, wd - 4, "login and password. ? shows every key.", ui(UI_GREY), 0);
}

static void draw(app_t *app)
{
    if (app->too_small) {
        werase(stdscr);
        char m[96];
        snprintf(m, sizeof m, "counter: the terminal is too small (%dx%d, needs %dx%d)", app->cols,
                 app->rows, MIN_COLS, MIN_ROWS);
        w_put(stdscr, 0, 0, app->cols, m, A_BOLD, 0);
        (void)wnoutrefresh(stdscr);
        (void)doupdate();
        return;
    }
    draw_title(app);
    werase(app->w_main);
    if (app->screen)
        current_tab(app)->draw(app, app->w_main);
    else
        draw_menu(app, app->w_main);
    int cursor = draw_msg(app);
    draw_bar(app);
    (void)wnoutrefresh(app->w_title);
    (void)wnoutrefresh(app->w_main);
    (void)wnoutrefresh(app->w_bar);
    WINDOW *fw = dlg_draw(app);
    /* The login dialog over everything: its field has the cursor. */
    WINDOW *lw = login_draw(app);
    int want_cursor = 0;
    if (cursor >= 0 && !lw) {
        /* The message line last: its cursor is the screen's. */
        (void)wmove(app->w_msg, 0, cursor);
        want_cursor = !app->confirm.open;
    }
    (void)wnoutrefresh(app->w_msg);
    if (fw) {
        if (!app->confirm.open) {
            (void)wnoutrefresh(fw);
            want_cursor = 1;
        }
        (void)delwin(fw);
    }
    if (lw) {
        (void)wnoutrefresh(lw);
        want_cursor = 1;
        (void)delwin(lw);
    }
    if (want_cursor != app->cursor_on) {
        /* Some terminals cannot hide the cursor; nothing else to do then. */
        (void)curs_set(want_cursor ? 1 : 0);
        app->cursor_on = want_cursor;
    }
    (void)doupdate();
}

/* ---- generic actions ------------------------------------------------------------ */

tui_res_t act_quit(app_t *app, int key)
{
    (void)app;
    (void)key;
    return TUI_QUIT;
}

tui_res_t act_redraw(app_t *app, int key)
{
    (void)key;
    (void)app;
    (void)clearok(curscr, TRUE);
    return TUI_REDRAW;
}

tui_res_t act_tab(app_t *app, int key)
{
    const screen_t *s = app->screen;
    if (!s)
        return TUI_HANDLED;
    int n = 0, at = 0;
    unsigned views[5];
    for (int i = 0; i < 5 && s->tabs[i].name; i++) {
        if (s->tabs[i].view == app->view)
            at = n;
        views[n++] = s->tabs[i].view;
    }
    if (n == 0)
        return TUI_HANDLED;
    at = key == K(KEY_BTAB) ? (at + n - 1) % n : (at + 1) % n;
    app->view = views[at];
    return TUI_REDRAW;
}

tui_res_t act_move(app_t *app, int key)
{
    if (!app->screen) {
        if (key == K(KEY_UP) || key == 'k' || key == K(KEY_PPAGE) || key == K(KEY_HOME))
            app->menu_cur = key == K(KEY_UP) || key == 'k' ? app->menu_cur - 1 : 0;
        else
            app->menu_cur = key == K(KEY_DOWN) || key == 'j' ? app->menu_cur + 1 : 2;
        if (app->menu_cur < 0)
            app->menu_cur = 0;
        if (app->menu_cur > 2)
            app->menu_cur = 2;
        return TUI_REDRAW;
    }
    const tab_t *tab = current_tab(app);
    return tab->key ? tab->key(app, key) : TUI_HANDLED;
}

tui_res_t act_menu_pick(app_t *app, int key)
{
    int pick = app->menu_cur;
    if (key == 'c' || key == '1')
        pick = 0;
    else if (key == 'm' || key == '2')
        pick = 1;
    else if (key == 'd' || key == '3')
        pick = 2;
    app->menu_cur = pick;
    /* Every role asks its login and password, whatever this terminal
     * held before: a kiosk never reaches a staff screen without one. */
    login_open(app, pick == 0 ? ROLE_CUSTOMER : pick == 1 ? ROLE_MANAGER : ROLE_DELIVERY);
    return TUI_REDRAW;
}

/* ---- keys ---------------------------------------------------------------------- */

static tui_res_t dispatch(app_t *app, int key)
{
    if (key == K(KEY_RESIZE)) {
        if (layout(app) != 0)
            tui_flash(app, UI_ERR, "cannot lay out the screen");
        (void)clearok(curscr, TRUE);
        return TUI_REDRAW;
    }
    unsigned view = current_view(app);
    const action_t *a = action_find(view, key);
    if (a) {
        if (!action_allowed(app, a)) {
            char who[64];
            action_roles(a->roles, who, sizeof who);
            tui_flash(app, UI_ERR, "%s (%s) is for the %s, not the %s", a->label,
                      a->brief ? a->brief : a->help, who, tui_role_name(app->role));
            return TUI_REDRAW;
        }
        return a->fn(app, key);
    }
    tui_res_t r = login_key(app, key);
    if (r == TUI_UNHANDLED)
        r = dlg_key(app, key);
    if (r != TUI_UNHANDLED)
        return r;
    const tab_t *tab = app->screen ? current_tab(app) : NULL;
    r = tab && tab->key ? tab->key(app, key) : TUI_UNHANDLED;
    if (r == TUI_UNHANDLED && !(key & TK_FN) && key >= 32 && key != 127) {
        char name[32];
        w_keyname(key, name, sizeof name);
        tui_flash(app, UI_GREY, "%s does nothing here; ? shows the keys", name);
        return TUI_REDRAW;
    }
    return r;
}

/* ---- the loop ---------------------------------------------------------------------- */

static int run(app_t *app)
{
    long long last_sec = 0;
    int keys_left = 0;   /* keys were left unread: look again at once */
    int dead_passes = 0;
    while (!app->quit && !stop_signal) {
        int timeout = net_tick(app);
        long long now = proto_mono_ms();
        if (app->msg_until && now >= app->msg_until) {
            app->msg[0] = '\0';
            app->msg_until = 0;
            app->redraw = 1;
        }
        /* Waiting times tick. */
        if (now / 1000 != last_sec) {
            last_sec = now / 1000;
            if (app->screen)
                app->redraw = 1;
        }
        if (app->redraw) {
            app->redraw = 0;
            draw(app);
        }
        if (dlg_run_later(app)) {
            keys_left = 1;
            continue;
        }
        if (keys_left)
            timeout = 0;
        keys_left = 0;
        zmq_pollitem_t items[2 + SVC_MAX];
        items[0] = (zmq_pollitem_t){NULL, STDIN_FILENO, ZMQ_POLLIN, 0};
        int n = 1 + net_pollitems(app, items + 1, 1 + SVC_MAX);
        int rc = zmq_poll(items, n, timeout);
        if (rc < 0 && errno != EINTR)
            return -1;
        if (rc > 0)
            net_readable(app, items + 1, n - 1);
        /* Every waiting key, without waiting for more. */
        int got = 0;
        for (int i = 0; i < 4096 && !app->quit; i++) {
            int key = w_getkey(stdscr);
            if (key < 0)
                break;
            got++;
            tui_res_t r = dispatch(app, key);
            if (r == TUI_QUIT)
                app->quit = 1;
            else if (r == TUI_REDRAW)
                app->redraw = 1;
            if (app->later.confirm || app->later.form || app->later.login) {
                /* The keys after this one wait for its answer. */
                keys_left = 1;
                break;
            }
        }
        /* A terminal that is gone stays readable and gives no key: leave
         * rather than spin. */
        if (rc > 0 && (items[0].revents & ZMQ_POLLIN) && got == 0) {
            if (++dead_passes > 100)
                return -1;
        } else {
            dead_passes = 0;
        }
    }
    return 0;
}

static const screen_t *screen_named(const char *role)
{
    if (!role)
        return NULL;
    if (strcmp(role, "customer") == 0)
        return &screen_customer;
    if (strcmp(role, "manager") == 0)
        return &screen_manager;
    if (strcmp(role, "delivery") == 0)
        return &screen_delivery;
    return NULL;
}

int tui_main(cli_t *cli, const char *role)
{
    const screen_t *first = screen_named(role);
    if (role && !first) {
        fprintf(stderr, "counter: --role wants customer, manager or delivery\n");
        return EXIT_USAGE;
    }
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        fprintf(stderr, "counter: the TUI needs a terminal; give a command instead (counter help)\n");
        return EXIT_USAGE;
    }
    app_t *app = xcalloc(1, sizeof *app);
    app->cli = cli;
    app->cfg = cli->cfg;
    app->wait_warn_s = config_int(cli->cfg, "tui.wait_warn_s");
    app->wait_late_s = config_int(cli->cfg, "tui.wait_late_s");
    snprintf(app->caller, sizeof app->caller, "-");
    if (net_init(app) != 0) {
        fprintf(stderr, "counter: cannot set up the connections to the backend\n");
        net_close(app);
        free(app);
        return EXIT_UNREACHABLE;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    SCREEN *term = newterm(NULL, stdout, stdin);
    if (!term) {
        fprintf(stderr, "counter: cannot use this terminal (TERM=%s)\n",
                getenv("TERM") ? getenv("TERM") : "");
        net_close(app);
        free(app);
        return EXIT_USAGE;
    }
    int rc = EXIT_OKAY;
    if (cbreak() == ERR || noecho() == ERR || nonl() == ERR || keypad(stdscr, TRUE) == ERR ||
        nodelay(stdscr, TRUE) == ERR) {
        rc = EXIT_USAGE;
    } else {
        (void)set_escdelay(25);
        (void)curs_set(0);
        (void)ui_init();
        /* stdscr is only the keyboard: touch it once so it never repaints. */
        werase(stdscr);
        (void)wnoutrefresh(stdscr);
        if (layout(app) != 0)
            rc = EXIT_USAGE;
        if (rc == EXIT_OKAY) {
            login_start(app, first);
            if (run(app) != 0)
                rc = EXIT_UNREACHABLE;
        }
    }
    tui_goto(app, NULL);
    dlg_close_form(app);
    login_close(app);
    drop_windows(app);
    (void)endwin();
    delscreen(term);
    net_close(app);
    sodium_memzero(app->sess, sizeof app->sess);
    sodium_memzero(app->caller, sizeof app->caller);
    free(app);
    return rc;
}
