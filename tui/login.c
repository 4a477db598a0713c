/*
 * login.c - who is at the counter (DESIGN sections 7 and 9).
 *
 * The TUI holds one token per role, in memory only: a kiosk shares no
 * session file, and nothing here writes one. A screen sends its own role's
 * token and no other (tui_set_caller), so the kiosk's customer token never
 * reaches a manager's call. A screen opens only with a token of its role:
 *   - at start, the session given by COUNTER_TOKEN or the session file
 *     (cli->credential) when its role is the one asked with --role;
 *   - otherwise through the login dialog, which every role key of the menu
 *     opens: switching role always asks the password.
 * The dialog sends auth.login (or, for a new customer, auth.signup) with no
 * credential ("-"); a token whose role is not the one asked is ended and
 * refused. When a call with the screen's token is answered unauthorized
 * (expired, logged out elsewhere, locked), the dialog opens over the screen
 * for the same role and login; the screen underneath is left exactly as it
 * was and nothing is sent again: the user presses the key again.
 *
 * A password lives only in the dialog's editor while it is typed; it is
 * wiped (sodium_memzero) from the editor, the buffer and the request body
 * as soon as the request is answered, and from the dialog when it closes.
 */
#include "tui.h"
#include "token.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NFIELDS 5

/* The dialog; app->login while open. */
struct login {
    unsigned role;              /* the role asked for */
    int reauth;                 /* over the screen whose session ended */
    int signup;                 /* the kiosk's new-customer form */
    int cur;                    /* the edited field */
    char fixed[PROTO_MAX_ID + 1]; /* reauth: the login, not editable ("" when unknown) */
    edit_t f[NFIELDS];          /* log in: login, password; sign up: the five below */
    char error[320];            /* the backend's last refusal, shown in the box */
};

enum { LF_LOGIN, LF_PASSWORD };
enum { SF_NAME, SF_PHONE, SF_ADDRESS, SF_LOGIN, SF_PASSWORD };
static const char *const login_labels[] = {"Login", "Password"};
static const char *const signup_labels[] = {"Name", "Phone", "Address", "Login", "Password"};

int login_slot(unsigned role)
{
    return role == ROLE_MANAGER ? 1 : role == ROLE_DELIVERY ? 2 : 0;
}

/* "a manager", "delivery staff", "a customer": for "kim is ..., not ...". */
static const char *role_phrase(unsigned role)
{
    return role == ROLE_MANAGER ? "a manager" : role == ROLE_DELIVERY ? "delivery staff" : "a customer";
}

static int nfields(const struct login *l)
{
    return l->signup ? NFIELDS : 2;
}

static int secret_field(const struct login *l)
{
    return l->signup ? SF_PASSWORD : LF_PASSWORD;
}

static void wipe_edit(edit_t *e)
{
    sodium_memzero(e->buf, sizeof e->buf);
    e->len = e->pos = e->scroll = 0;
}

/* ---- opening and closing --------------------------------------------------------- */

void login_close(app_t *app)
{
    if (!app->login)
        return;
    sodium_memzero(app->login, sizeof *app->login);
    free(app->login);
    app->login = NULL;
    app->redraw = 1;
}

static struct login *open_dialog(app_t *app, unsigned role)
{
    login_close(app);
    struct login *l = xcalloc(1, sizeof *l);
    l->role = role;
    for (int i = 0; i < NFIELDS; i++)
        edit_init(&l->f[i], "", 0);
    app->login = l;
    app->redraw = 1;
    return l;
}

void login_open(app_t *app, unsigned role)
{
    (void)open_dialog(app, role);
}

void login_lost(app_t *app)
{
    if (!app->screen || app->login)
        return;
    struct login *l = open_dialog(app, app->role);
    l->reauth = 1;
    const char *known = app->sess[login_slot(app->role)].login;
    /* Staff log in with their login, which is their token's subject. */
    snprintf(l->fixed, sizeof l->fixed, "%s", known[0] ? known : app->staff);
    l->cur = l->fixed[0] ? LF_PASSWORD : LF_LOGIN;
    snprintf(l->error, sizeof l->error,
             "Your session has ended (expired, or ended elsewhere). Log in again to go on: "
             "the screen stays as it is.");
    /* Its subscription's token is dead too: started again after the login. */
    net_refollow(app);
}

void login_forget(app_t *app, unsigned role, int end)
{
    int s = login_slot(role);
    char cred[sizeof app->sess[s].cred];
    memcpy(cred, app->sess[s].cred, sizeof cred);
    int ours = !app->sess[s].given;
    sodium_memzero(&app->sess[s], sizeof app->sess[s]);
    if (end && ours && cred[0]) {
        /* Best effort: the session ends at its expiry anyway. A given
         * session belongs to the command line (counter logout ends it). */
        proto_err_t err;
        (void)net_call_as(app, "auth.logout", NULL, NULL, &err, cred);
    }
    sodium_memzero(cred, sizeof cred);
}

void login_start(app_t *app, const screen_t *first)
{
    const char *cred = app->cli->credential;
    token_claims_t c;
    if (first && strncmp(cred, "token:", 6) == 0 && token_peek(cred + 6, &c) == 0 &&
        c.role == first->role && c.expires > (long long)time(NULL)) {
        int s = login_slot(first->role);
        snprintf(app->sess[s].cred, sizeof app->sess[s].cred, "%s", cred);
        app->sess[s].given = 1;
        tui_goto(app, first);
        return;
    }
    tui_goto(app, NULL);
    if (first)
        login_open(app, first->role);
}

unsigned login_view(const app_t *app)
{
    const struct login *l = app->login;
    if (l->signup)
        return V_SIGNUP;
    return l->role == ROLE_CUSTOMER && !l->reauth ? V_LOGIN | V_KIOSK : V_LOGIN;
}

/* ---- drawing ------------------------------------------------------------------ */

/* A field: the password as one '*' per character, never its text. */
static int draw_field(WINDOW *w, int y, int x, int width, edit_t *e, int secret)
{
    if (!secret)
        return edit_draw(w, y, x, width, e, A_UNDERLINE);
    edit_t mask;
    memset(&mask, 0, sizeof mask);
    for (int i = 0; i < e->len; i++)
        mask.buf[i] = L'*';
    mask.len = e->len;
    mask.pos = e->pos;
    mask.scroll = e->scroll;
    int cx = edit_draw(w, y, x, width, &mask, A_UNDERLINE);
    e->scroll = mask.scroll;
    return cx;
}

static void box_title(const struct login *l, char *out, size_t n)
{
    if (l->signup)
        snprintf(out, n, "new customer: sign up");
    else if (l->reauth)
        snprintf(out, n, "session ended: %s %s", tui_role_name(l->role), l->fixed);
    else
        snprintf(out, n, "%s login", tui_role_name(l->role));
}

/* The line of keys at the bottom of the box. */
static const char *box_keys(const struct login *l)
{
    if (l->signup)
        return "Enter: sign up   Tab: next field   Esc: back to the login";
    if (l->role == ROLE_CUSTOMER && !l->reauth)
        return "Enter: log in   Tab: new customer   Esc: back";
    return "Enter: log in   Up/Down: field   Esc: back to the role menu";
}

WINDOW *login_draw(app_t *app)
{
    struct login *l = app->login;
    if (!l)
        return NULL;
    int n = nfields(l);
    int wd = app->cols - 4 < 64 ? app->cols - 4 : 64;
    WINDOW *w = dlg_window(app, n * 2 + 7, wd);
    if (!w)
        return NULL;
    char title[128];
    box_title(l, title, sizeof title);
    w_frame(w, title);
    const char *const *labels = l->signup ? signup_labels : login_labels;
    int lw = 11, cy = 2, cx = 2 + lw;
    for (int i = 0; i < n; i++) {
        int y = 2 + i * 2;
        w_put(w, y, 2, lw, labels[i], i == l->cur ? ui(UI_KEY) : A_NORMAL, 0);
        int x;
        if (l->reauth && i == LF_LOGIN && l->fixed[0])
            x = 2 + lw + w_put(w, y, 2 + lw, wd - 4 - lw, l->fixed, A_BOLD, 0);
        else
            x = draw_field(w, y, 2 + lw, wd - 4 - lw, &l->f[i], i == secret_field(l));
        if (i == l->cur) {
            cy = y;
            cx = x;
        }
    }
    int y = n * 2 + 2;
    if (l->error[0])
        w_put(w, y, 2, wd - 4, l->error, l->reauth && !strncmp(l->error, "Your", 4) ? ui(UI_WARN)
                                                                                   : ui(UI_ERR), 0);
    w_put(w, y + 2, 2, wd - 4, box_keys(l), ui(UI_GREY), 0);
    (void)wmove(w, cy, cx);
    return w;
}

/* ---- keys ------------------------------------------------------------------------ */

int login_key(app_t *app, int key)
{
    struct login *l = app->login;
    if (!l)
        return TUI_UNHANDLED;
    if (l->reauth && l->cur == LF_LOGIN && l->fixed[0])
        return TUI_HANDLED;
    return edit_key(&l->f[l->cur], key) ? TUI_REDRAW : TUI_HANDLED;
}

tui_res_t act_login_field(app_t *app, int key)
{
    struct login *l = app->login;
    if (!l || (l->reauth && l->fixed[0]))
        return TUI_HANDLED;
    int n = nfields(l);
    if (key == K(KEY_UP) || key == K(KEY_DOWN)) {
        /* Up and Down stop at the ends: Down always reaches the password. */
        l->cur += key == K(KEY_UP) ? -1 : 1;
        l->cur = l->cur < 0 ? 0 : l->cur >= n ? n - 1 : l->cur;
    } else {
        l->cur = (l->cur + (key == K(KEY_BTAB) ? n - 1 : 1)) % n;
    }
    return TUI_REDRAW;
}

/* From the login to the sign-up form (signup 1) or back, all fields blank. */
static tui_res_t switch_form(struct login *l, int signup)
{
    for (int i = 0; i < NFIELDS; i++)
        wipe_edit(&l->f[i]);
    l->signup = signup;
    l->cur = 0;   /* SF_NAME, LF_LOGIN */
    l->error[0] = '\0';
    return TUI_REDRAW;
}

tui_res_t act_login_new(app_t *app, int key)
{
    (void)key;
    struct login *l = app->login;
    if (!l || l->role != ROLE_CUSTOMER || l->reauth)
        return TUI_HANDLED;
    return switch_form(l, 1);
}

tui_res_t act_login_back(app_t *app, int key)
{
    (void)key;
    struct login *l = app->login;
    if (l && l->signup)
        return switch_form(l, 0);
    int reauth = l && l->reauth;
    login_close(app);
    if (reauth) {
        /* The ended session is forgotten; the role menu. */
        unsigned role = app->role;
        tui_goto(app, NULL);
        login_forget(app, role, 0);
        tui_flash(app, UI_INFO, "logged out: the session had ended");
    }
    return TUI_REDRAW;
}

tui_res_t act_login_ok(app_t *app, int key)
{
    (void)key;
    struct login *l = app->login;
    if (!l)
        return TUI_HANDLED;
    if (!l->signup && l->cur == LF_LOGIN) {
        l->cur = LF_PASSWORD;   /* on to the password */
        return TUI_REDRAW;
    }
    /* Sent once "logging in" shows (dlg_run_later calls login_submit). */
    tui_flash(app, UI_INFO, "%s\xe2\x80\xa6", l->signup ? "signing up" : "logging in");
    app->later.login = 1;
    return TUI_REDRAW;
}

/* ---- sending ---------------------------------------------------------------------- */

/* A field as UTF-8; "" when blank. */
static void field_text(const edit_t *e, char *out, size_t n)
{
    edit_text(e, out, n);
    size_t k = strspn(out, " ");
    if (out[k] == '\0')
        out[0] = '\0';
}

/* The request's body: login and password, and for a sign-up the customer's
 * details. NULL when a field is missing (said in the box). */
static json_t *request_body(struct login *l, char *login, size_t n)
{
    char pw[PROTO_MAX_STR + 8], v[PROTO_MAX_STR + 8];
    int lf = l->signup ? SF_LOGIN : LF_LOGIN;
    if (l->reauth && l->fixed[0])
        snprintf(login, n, "%s", l->fixed);
    else
        field_text(&l->f[lf], login, n);
    edit_text(&l->f[secret_field(l)], pw, sizeof pw);
    const char *missing = NULL;
    int at = 0;
    if (l->signup && (field_text(&l->f[SF_NAME], v, sizeof v), !v[0])) {
        missing = "your name";
        at = SF_NAME;
    } else if (!login[0]) {
        missing = "your login";
        at = lf;
    } else if (!pw[0]) {
        missing = "your password";
        at = secret_field(l);
    }
    if (missing) {
        snprintf(l->error, sizeof l->error, "Type %s.", missing);
        l->cur = at;
        sodium_memzero(pw, sizeof pw);
        return NULL;
    }
    json_t *body = proto_nonnull(json_object());
    json_t *secret = json_string(pw);
    sodium_memzero(pw, sizeof pw);
    if (!secret || json_object_set_new(body, "password", secret) != 0 ||
        json_object_set_new(body, "login", json_string(login)) != 0) {
        json_decref(body);
        snprintf(l->error, sizeof l->error, "The login or password is not valid text.");
        return NULL;
    }
    for (int i = SF_NAME; l->signup && i <= SF_ADDRESS; i++) {
        static const char *const keys[] = {"name", "phone", "address"};
        field_text(&l->f[i], v, sizeof v);
        if (v[0] && json_object_set_new(body, keys[i], json_string(v)) != 0)
            proto_oom();
    }
    return body;
}

/* Wipe the password in body (shared with what was sent) and free it. */
static void wipe_body(json_t *body)
{
    json_t *s = json_object_get(body, "password");
    if (json_is_string(s))
        sodium_memzero((void *)json_string_value(s), json_string_length(s));
    json_decref(body);
}

/* Is the token's role and person the one the dialog asked for? 0, or -1
 * with the sentence in the box. */
static int token_fits(app_t *app, struct login *l, const char *login, const token_claims_t *c)
{
    if (c->role != l->role) {
        snprintf(l->error, sizeof l->error, "%s is %s, not %s.", login, role_phrase(c->role),
                 role_phrase(l->role));
        return -1;
    }
    if (l->reauth) {
        int same = l->role == ROLE_CUSTOMER ? atoll(c->subject) == app->customer
                                            : strcmp(c->subject, app->staff) == 0;
        if (!same) {
            snprintf(l->error, sizeof l->error,
                     "%s is not who was logged in on this screen: Esc goes to the role menu.", login);
            return -1;
        }
    }
    return 0;
}

/* Keep the session the backend answered with (res: token, ...), or end and
 * refuse it. Returns 0 when the dialog is done. */
static int took_token(app_t *app, struct login *l, const char *login, const json_t *res)
{
    char cred[sizeof app->sess[0].cred];
    token_claims_t c;
    snprintf(cred, sizeof cred, "token:%s", jstr(res, "token"));
    if (token_peek(cred + 6, &c) != 0) {
        snprintf(l->error, sizeof l->error, "The auth service answered without a valid token.");
        sodium_memzero(cred, sizeof cred);
        return -1;
    }
    if (token_fits(app, l, login, &c) != 0) {
        /* Not for this screen: the session just opened is ended at once. */
        proto_err_t err;
        (void)net_call_as(app, "auth.logout", NULL, NULL, &err, cred);
        sodium_memzero(cred, sizeof cred);
        return -1;
    }
    int s = login_slot(l->role);
    if (!l->reauth)
        login_forget(app, l->role, 1);   /* an older session of the role */
    snprintf(app->sess[s].cred, sizeof app->sess[s].cred, "%s", cred);
    snprintf(app->sess[s].login, sizeof app->sess[s].login, "%.*s", PROTO_MAX_ID, login);
    app->sess[s].given = 0;
    sodium_memzero(cred, sizeof cred);
    return 0;
}

/* After the dialog: the screen of the role, or the same screen again. */
static void logged_in(app_t *app, int reauth, unsigned role, const char *login)
{
    if (!reauth) {
        tui_goto(app, role == ROLE_MANAGER    ? &screen_manager
                      : role == ROLE_DELIVERY ? &screen_delivery
                                              : &screen_customer);
        if (role != ROLE_CUSTOMER)
            tui_flash(app, UI_OK, "welcome, %s", login);
        return;
    }
    /* Everything is fetched and followed again; no key is repeated. */
    tui_set_caller(app);
    net_dirty_all(app);
    tui_flash(app, UI_OK, "welcome back, %s: all is as you left it; press again what was refused",
              login);
}

void login_submit(app_t *app)
{
    struct login *l = app->login;
    if (!l)
        return;
    char login[PROTO_MAX_STR + 8];
    json_t *body = request_body(l, login, sizeof login);
    wipe_edit(&l->f[secret_field(l)]);
    if (!body) {
        app->msg[0] = '\0';
        return;
    }
    json_t *res = NULL;
    proto_err_t err;
    const char *cmd = l->signup ? "auth.signup" : "auth.login";
    int rc = net_call_as(app, cmd, json_incref(body), &res, &err, "-");
    wipe_body(body);
    app->msg[0] = '\0';
    l->cur = l->signup ? SF_PASSWORD : (l->reauth && l->fixed[0]) || login[0] ? LF_PASSWORD : LF_LOGIN;
    if (rc != 0) {
        snprintf(l->error, sizeof l->error, "%s", err.message);
        return;
    }
    int done = took_token(app, l, login, res) == 0;
    json_decref(res);
    if (!done)
        return;
    int reauth = l->reauth;
    unsigned role = l->role;
    login_close(app);
    logged_in(app, reauth, role, login);
}

tui_res_t act_logout(app_t *app, int key)
{
    (void)key;
    if (!app->screen)
        return TUI_HANDLED;
    unsigned role = app->role;
    char who[160];
    snprintf(who, sizeof who, "%s", role == ROLE_CUSTOMER ? app->customer_name : app->staff);
    tui_goto(app, NULL);
    login_forget(app, role, 1);
    tui_flash(app, UI_INFO, "%s%slogged out", who, who[0] ? ": " : "");
    return TUI_REDRAW;
}
