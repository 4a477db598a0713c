/*
 * tui.h - `counter` with no command, or `counter --role ROLE`: the ncurses
 * TUI with the customer, manager and delivery-team screens.
 *
 * Shape (STYLE.md, "The TUI"):
 *   - tui.c       the application: one thread, one loop (zmq_poll over the
 *                 keyboard, the event subscription and the health probes),
 *                 the frame (title bar, message line, status line), lists'
 *                 cursors and the role menu;
 *   - actions.c   THE action table: every key with the roles allowed, its
 *                 help text and its handler. The status line, the `?` help
 *                 and the greyed keys are built from it;
 *   - dialog.c    what opens over a screen: the yes/no question, forms and
 *                 prompts, the help overlay and the ticket (dialog.h);
 *   - login.c     who is at the counter: the login dialog (after a role key,
 *                 or over a screen whose session ended), the kiosk's sign-up,
 *                 the tokens (one per role, in memory only), logging out;
 *   - tui_net.c   the backend as the TUI sees it: requests with the screen's
 *                 token, the offline flag, health probes, the event
 *                 subscription and the data sets each screen shows;
 *   - screen_*.c  one role screen each, a struct of functions per tab;
 *   - table.c     the table widget the five lists are drawn with, and the
 *                 loading / offline / empty line (table.h);
 *   - widgets.c   drawing primitives, text measured in cells, the line editor.
 *
 * Key handlers never draw: they change state and return what happens next.
 * Drawing is a function of the state, done once per pass of the loop.
 */
#ifndef TUI_H
#define TUI_H

#include "cli.h"
#include "client.h"
#include "dialog.h"
#include "follow.h"
#include "proto.h"
#include "table.h"
#include "widgets.h"

#include <jansson.h>
#include <zmq.h>

/* The entry point: role is "customer", "manager", "delivery" or NULL for the
 * role menu. Returns an exit status (cli.h). */
int tui_main(cli_t *cli, const char *role);

/* ---- internals shared by the tui/ files ------------------------------------------- */

typedef struct app app_t;

/* What a key handler asks for next. */
typedef enum {
    TUI_UNHANDLED = 0,   /* not mine: try elsewhere */
    TUI_HANDLED,         /* done, nothing on screen changed */
    TUI_REDRAW,          /* done, draw again */
    TUI_QUIT,            /* leave the program */
} tui_res_t;

/* Views: where keys apply. A screen shows one of its tabs; a dialog on top
 * takes the keys while it is open. */
enum {
    V_MENU = 1 << 0,      /* the role menu */
    V_LOGIN = 1 << 1,     /* the login dialog (login.c) */
    V_CATALOG = 1 << 2,   /* customer: the catalog view */
    V_ORDERS = 1 << 3,    /* customer: my orders */
    V_FOODS = 1 << 4,     /* manager: the foods table */
    V_DAY = 1 << 5,       /* manager: the day summary */
    V_BOARD = 1 << 6,     /* delivery team (and the manager, read only): the board */
    V_AUDIT = 1 << 7,     /* manager: who did what */
    V_HELP = 1 << 8,      /* the `?` overlay */
    V_CONFIRM = 1 << 9,   /* a yes/no question */
    V_EDIT = 1 << 10,     /* a form or a one-line prompt */
    V_TICKET = 1 << 11,   /* the ticket of one order */
    V_SIGNUP = 1 << 12,   /* the kiosk's new-customer form (login.c) */
    V_KIOSK = 1 << 13,    /* with V_LOGIN: the customer's login, which offers sign-up */
    V_SCREENS = V_CATALOG | V_ORDERS | V_FOODS | V_DAY | V_BOARD | V_AUDIT,
    V_LISTS = V_MENU | V_CATALOG | V_ORDERS | V_FOODS | V_BOARD | V_AUDIT,
};

#define ROLE_NONE 0u

/* ---- the action table (actions.c) ---- */

typedef tui_res_t (*action_fn)(app_t *app, int key);

typedef struct {
    const char *section;  /* heading in the help overlay */
    const char *label;    /* the key as shown: "Enter", "0-9", "x" */
    int keys[12];         /* the key codes (widgets.h), 0-terminated */
    unsigned views;       /* V_* where it applies */
    unsigned roles;       /* ROLE_* allowed to use it (ROLE_ANY: everyone) */
    const char *brief;    /* a word or two for the status line; NULL: help only */
    const char *help;     /* the sentence in the help overlay */
    action_fn fn;
} action_t;

extern const action_t tui_actions[];
/* The action for key in view, or NULL. */
const action_t *action_find(unsigned view, int key);
/* May the app's role use a? (In the role menu everyone may.) */
int action_allowed(const app_t *app, const action_t *a);
/* The roles in words: "manager", "delivery team or manager". */
void action_roles(unsigned roles, char *out, size_t n);

/* ---- screens ---- */

/* A view of a screen: what it shows and the keys the action table does
 * not name (the list's moving keys). */
typedef struct {
    unsigned view;
    const char *name;
    void (*draw)(app_t *app, WINDOW *w);
    tui_res_t (*key)(app_t *app, int key);   /* NULL: none */
} tab_t;

typedef struct screen {
    const char *name;         /* "customer", "manager", "delivery" */
    unsigned role;            /* ROLE_* of the identity it runs with */
    tab_t tabs[5];            /* its views, in Tab order; name NULL ends */
    void (*enter)(app_t *app);
    void (*leave)(app_t *app);
    /* One line for the title bar: who is at the counter (NULL: "NAME: staff"). */
    void (*who)(app_t *app, char *out, size_t n);
} screen_t;

extern const screen_t screen_customer, screen_manager, screen_delivery;

/* ---- data sets (tui_net.c) ---- */

enum {
    DS_CATALOG,    /* view.catalog: the catalog view (customer) */
    DS_MYORDERS,   /* view.myorders: my orders (customer) */
    DS_ME,         /* customer.show: the signed-in customer */
    DS_FOODS,      /* catalog.list: the foods table (manager) */
    DS_ORDERS,     /* order.list: every order (the manager's day summary) */
    DS_BOARD,      /* delivery.list: every delivery (the board) */
    DS_TICKET,     /* order.show: the order on the ticket */
    DS__COUNT
};

/* Room for the backend's services: per-service arrays are indexed like
 * config_services (proto/config.c, the one list), which net_init counts
 * into app->nsvc and checks against this. */
#define SVC_MAX 8

typedef struct {
    json_t *data;          /* the last answer's body (owned), NULL before the first */
    int dirty;             /* to fetch again */
    int loaded;            /* answered at least once since wanted */
    long long dirty_since; /* monotonic ms */
    long long fetched_at;  /* monotonic ms of the last request */
    long long need[SVC_MAX];  /* per publisher: the reader must have applied these */
    char error[320];       /* the last refusal, "" when fine */
} dataset_t;

typedef struct {
    client_t *client;      /* requests (Lazy Pirate, REQ) */
    void *probe;           /* health probes (DEALER, never blocks) */
    long long probe_wait;  /* when the oldest unanswered probe went out, 0: none */
    long long probe_sent;
    long long probe_opened;
    long long next_probe;
    int up;                /* -1 not known yet, 0 unreachable, 1 answering */
    long long applied[SVC_MAX];  /* from its health: events applied per publisher */
} svc_link_t;

/* ---- the application ---- */

struct app {
    cli_t *cli;
    const config_t *cfg;
    void *ctx;
    int quit;

    /* who */
    unsigned role;             /* ROLE_* or ROLE_NONE in the menu */
    char caller[600];          /* the credential frame sent with each request: the
                                  screen's token, "-" in the menu */
    char staff[64];            /* the manager's or delivery team's login (its token's subject) */
    long long customer;        /* the logged-in customer (its token's subject), 0 when none */
    char customer_name[96];
    /* sessions (login.c): one token per role, in memory only (never a file) */
    struct {
        char cred[600];        /* "token:..." or "" */
        char login[PROTO_MAX_ID + 1]; /* the login typed in the dialog ("" when given) */
        int given;             /* COUNTER_TOKEN or the session file's: not ended here */
    } sess[3];
    struct login *login;       /* the open login dialog, NULL when none */

    /* where */
    const screen_t *screen;    /* NULL: the role menu */
    unsigned view;             /* the screen's current tab */
    void *st;                  /* the screen's own state */
    int menu_cur;

    /* windows: title, main, message line, status line */
    WINDOW *w_title, *w_main, *w_msg, *w_bar;
    int rows, cols;
    int too_small;
    int redraw;
    int cursor_on;

    /* dialogs (at most one of each, drawn in this order) */
    long long ticket;          /* the order on the ticket, 0 when closed */
    int help, help_top;
    form_t *form;
    struct {
        int open;
        char question[256];
        confirm_fn fn;
        long long arg;
    } confirm;

    /* what a key asked for, sent after the next frame (dialog.c, dlg_run_later) */
    struct {
        confirm_fn confirm;
        int yes;
        long long arg;
        int form;
        int login;             /* the login dialog's Enter */
    } later;

    /* the message line */
    char msg[256];
    ui_t msg_kind;
    long long msg_until;       /* monotonic ms; 0 = until replaced */

    /* the backend */
    int nsvc;                  /* how many services (config_services) */
    unsigned pubs;             /* 1 << index of each publisher the TUI follows */
    svc_link_t svc[SVC_MAX];
    int offline;               /* some service does not answer */
    int ever_online;
    follow_t *follow;
    long long follow_retry;
    long long start_seq[SVC_MAX]; /* each publisher's last seq when we subscribed */
    dataset_t ds[DS__COUNT];
    unsigned wanted;           /* 1 << DS_* the current screen shows */
    long long refresh_at;      /* next periodic refresh */
    int timeout_ms, long_timeout_ms, probe_ms;
    json_t *audit;             /* recent events, oldest first (manager) */
    long long wait_warn_s, wait_late_s;
};

/* tui.c: the row of shown (n rows) whose member key is sel, keeping *cur on
 * it; when it is not shown, the row at the cursor (clamped). NULL when n is 0. */
json_t *tui_keep_selection(json_t **shown, int n, const char *key, long long sel, int *cur);

/* tui.c: lists. Apply a moving key (Up/Down/j/k/PgUp/PgDn/Home/End) to a
 * cursor over n rows, page rows per screen; returns 1 when key is one. */
int tui_list_key(int *cur, int n, int page, int key);
/* Scroll *top so that cur shows in rows lines of n. */
void tui_list_fit(int cur, int *top, int rows, int n);
/* The most rows a list shows. */
#define TUI_ROWS_MAX 2000
/* The rows a list shows: fills out (borrowed rows, at most max), returns how many. */
typedef int (*tui_rows_fn)(app_t *app, json_t **out, int max);
/* A moving key k over the rows of a list, whose selected row has member key
 * *sel: moves *cur and selects the row it lands on. TUI_UNHANDLED when k is
 * no moving key. */
tui_res_t tui_list_move(app_t *app, tui_rows_fn rows, const char *key, long long *sel, int *cur, int page,
                        int k);
/* The logged-in customer (0: nobody) and their name as shown. */
void tui_set_customer(app_t *app, long long id, const char *name);
/* The caller frame from the screen's session (after a login or logout);
 * the event subscription starts again when it changes. */
void tui_set_caller(app_t *app);

/* tui.c: messages and dialogs */
void tui_flash(app_t *app, ui_t kind, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "what: the backend's sentence" in the error color; payment_busy as "payment
 * is busy, try again in N s"; an unreachable service as offline. */
void tui_flash_err(app_t *app, const char *what, const proto_err_t *err);
/* Go to a screen (NULL: the role menu). */
void tui_goto(app_t *app, const screen_t *screen);
/* Wall-clock ms, for waiting times. */
long long tui_now(void);
/* The role's name as shown. */
const char *tui_role_name(unsigned role);

/* tui_net.c */
int net_init(app_t *app);
void net_close(app_t *app);
/* Call cmd (its service from the command table) as the app's caller; body
 * is stolen (NULL: {}). Returns 0 with *out (owned by the caller, may be
 * NULL when out is NULL) or -1 with err: the backend's refusal, or
 * unavailable when the service did not answer (which sets the offline flag)
 * or is known to be offline (no time is spent waiting then). */
int net_call(app_t *app, const char *cmd, json_t *body, json_t **out, proto_err_t *err);
/* The same with another credential frame (the login dialog's "-", a token
 * to end); an unauthorized answer then means no lost session. */
int net_call_as(app_t *app, const char *cmd, json_t *body, json_t **out, proto_err_t *err,
                const char *cred);
/* Follow events again from now, with the current caller (none without a
 * token); the manager's audit is loaded again then, without duplicates. */
void net_refollow(app_t *app);
/* Datasets: which the current screen shows (1 << DS_*); mark for fetching. */
void net_want(app_t *app, unsigned mask);
void net_dirty(app_t *app, int ds);
void net_dirty_all(app_t *app);
/* Forget a data set's data (another customer signed in, a ticket closed). */
void net_reset(app_t *app, int ds);
/* The items array of a list data set, or NULL. Borrowed. */
json_t *net_items(app_t *app, int ds);
/* Poll items: fills up to max, returns how many. */
int net_pollitems(app_t *app, zmq_pollitem_t *items, int max);
/* After zmq_poll: handle what is readable (items as filled above). */
void net_readable(app_t *app, zmq_pollitem_t *items, int n);
/* Once per pass: probes, the subscription's timer, fetches. Returns the
 * poll timeout to use next (ms). */
int net_tick(app_t *app);
/* Does the service that answers data set ds not answer? Its name. */
int net_ds_down(const app_t *app, int ds);
const char *net_ds_service(int ds);
/* Describe an event in one line: "order #5: 2 x pizza for lee (2,000)". */
void net_describe(const json_t *ev, char *out, size_t n);

/* login.c: sessions. The slot of a role in app->sess (0..2). */
int login_slot(unsigned role);
/* At start: a given session (COUNTER_TOKEN, the session file) of first's
 * role opens it at once; else the role menu, with first's login dialog. */
void login_start(app_t *app, const screen_t *first);
/* The login dialog for role, over the role menu. */
void login_open(app_t *app, unsigned role);
/* A call with the screen's token was answered unauthorized: the dialog for
 * the same role and login opens over the screen, which stays as it is. */
void login_lost(app_t *app);
/* Forget role's token; end its session first when end and it is ours. */
void login_forget(app_t *app, unsigned role, int end);
/* The view of the open dialog (V_LOGIN, with V_KIOSK for the customer's
 * login; V_SIGNUP): where its keys apply. */
unsigned login_view(const app_t *app);
/* Close the dialog, wiping what was typed. */
void login_close(app_t *app);
/* Draw the dialog (the cursor in its field): its window, for the caller to
 * refresh last and delete; NULL when none is open. */
WINDOW *login_draw(app_t *app);
/* Text keys for the dialog (tui_res_t); TUI_UNHANDLED when none is open. */
int login_key(app_t *app, int key);
/* Send what Enter asked for (app->later.login). */
void login_submit(app_t *app);

/* screen_delivery.c: the board, shared with the manager's Deliveries tab.
 * Both screens keep a board_t first in their state (app->st). */
typedef struct {
    int cur, top;
    long long sel;          /* the selected delivery's id */
} board_t;
void board_draw(app_t *app, WINDOW *w);
tui_res_t board_key(app_t *app, int key);

/* Action handlers (actions.c lists them; each lives with its screen). */
tui_res_t act_help(app_t *, int);
tui_res_t act_quit(app_t *, int);
tui_res_t act_redraw(app_t *, int);
tui_res_t act_tab(app_t *, int);
tui_res_t act_move(app_t *, int);
tui_res_t act_menu_pick(app_t *, int);
tui_res_t act_help_close(app_t *, int);
tui_res_t act_help_scroll(app_t *, int);
tui_res_t act_confirm_answer(app_t *, int);
tui_res_t act_edit_ok(app_t *, int);
tui_res_t act_edit_cancel(app_t *, int);
tui_res_t act_edit_field(app_t *, int);
tui_res_t act_ticket_close(app_t *, int);

tui_res_t act_login_ok(app_t *, int);
tui_res_t act_login_back(app_t *, int);
tui_res_t act_login_field(app_t *, int);
tui_res_t act_login_new(app_t *, int);
tui_res_t act_logout(app_t *, int);

tui_res_t act_cust_search(app_t *, int);
tui_res_t act_qty_digit(app_t *, int);
tui_res_t act_qty_erase(app_t *, int);
tui_res_t act_cust_clear(app_t *, int);
tui_res_t act_order(app_t *, int);
tui_res_t act_my_ticket(app_t *, int);
tui_res_t act_cancel_order(app_t *, int);
tui_res_t act_edit_me(app_t *, int);
tui_res_t act_withdraw(app_t *, int);

tui_res_t act_food_search(app_t *, int);
tui_res_t act_food_clear(app_t *, int);
tui_res_t act_food_add(app_t *, int);
tui_res_t act_food_edit(app_t *, int);
tui_res_t act_food_stock(app_t *, int);
tui_res_t act_food_soldout(app_t *, int);
tui_res_t act_food_delete(app_t *, int);
tui_res_t act_audit_people(app_t *, int);
tui_res_t act_audit_search(app_t *, int);

tui_res_t act_dlv_move(app_t *, int);
tui_res_t act_dlv_next(app_t *, int);
tui_res_t act_dlv_ticket(app_t *, int);

#endif
