/*
 * actions.c - the one action table of the TUI.
 *
 * Every key of every screen is listed here once, with the views where it
 * applies, the roles that may use it, a word for the status line and a
 * sentence for the `?` help. The status line, the help overlay and the
 * greyed keys (a role's missing rights) are all built from this table, so a
 * key cannot be documented in one place and behave otherwise in another.
 * The backend checks the roles again: greying a key is a courtesy, not the
 * rule (see proto/SPEC.md, Commands).
 *
 * Order matters twice: the first entry matching a key in a view wins, and
 * the status line shows entries in table order until the line is full.
 */
#include "tui.h"

#include <stdio.h>
#include <string.h>

#define ENTER '\r', '\n', K(KEY_ENTER)
#define BACKSPACE K(KEY_BACKSPACE), 127, 8
#define DIGITS '0', '1', '2', '3', '4', '5', '6', '7', '8', '9'
#define MOVES K(KEY_UP), K(KEY_DOWN), 'k', 'j', K(KEY_PPAGE), K(KEY_NPAGE), K(KEY_HOME), K(KEY_END)
#define C ROLE_CUSTOMER
#define M ROLE_MANAGER
#define D ROLE_DELIVERY
#define ALL ROLE_ANY

const action_t tui_actions[] = {
    /* Dialogs first: while one is open it takes the keys. */
    {"Dialogs", "y/Enter", {'y', 'Y', ENTER}, V_CONFIRM, ALL, "yes", "answer yes to the question", act_confirm_answer},
    {"Dialogs", "n/Esc", {'n', 'N', TK_ESC}, V_CONFIRM, ALL, "no", "answer no", act_confirm_answer},
    {"Dialogs", "Enter", {ENTER}, V_EDIT, ALL, "save", "send the form (or keep the search)", act_edit_ok},
    {"Dialogs", "Esc", {TK_ESC}, V_EDIT, ALL, "cancel", "close the form without sending it", act_edit_cancel},
    {"Dialogs", "Tab", {'\t', K(KEY_BTAB), K(KEY_UP), K(KEY_DOWN)}, V_EDIT, ALL, "next field",
     "next field (Shift-Tab, Up: the one before); Left/Right, Home/End, ^U, ^W edit", act_edit_field},
    {"Dialogs", "Esc", {TK_ESC, 'q', '?'}, V_HELP, ALL, "close", "close the help", act_help_close},
    {"Dialogs", "Up/Down", {MOVES, ' '}, V_HELP, ALL, "scroll", "scroll the help", act_help_scroll},
    {"Dialogs", "Esc", {TK_ESC, ENTER, 'q'}, V_TICKET, ALL, "close", "close the ticket", act_ticket_close},

    /* The login dialog (login.c): over the role menu, or over a screen whose
     * session ended. Every other key is text. */
    {"Log in", "Enter", {ENTER}, V_LOGIN, ALL, "log in",
     "log in (Enter in the login field goes on to the password)", act_login_ok},
    {"Log in", "Tab", {'\t', K(KEY_BTAB)}, V_KIOSK, ALL, "new customer",
     "the customer's login: sign up as a new customer instead", act_login_new},
    {"Log in", "Up/Down", {K(KEY_UP), K(KEY_DOWN), '\t', K(KEY_BTAB)}, V_LOGIN, ALL, "field",
     "the other field; Left/Right, Home/End, ^U, ^W edit", act_login_field},
    {"Log in", "Esc", {TK_ESC}, V_LOGIN, ALL, "back", "back to the role menu", act_login_back},
    {"Sign up", "Enter", {ENTER}, V_SIGNUP, ALL, "sign up",
     "sign up: your customer record, your login and password; you are logged in", act_login_ok},
    {"Sign up", "Tab", {'\t', K(KEY_BTAB), K(KEY_UP), K(KEY_DOWN)}, V_SIGNUP, ALL, "next field",
     "next field (Shift-Tab, Up: the one before)", act_login_field},
    {"Sign up", "Esc", {TK_ESC}, V_SIGNUP, ALL, "back", "back to the login", act_login_back},

    /* Everywhere. */
    {"Everywhere", "?", {'?', K(KEY_F(1))}, V_SCREENS | V_MENU, ALL, "help",
     "this help: every key; greyed keys are not for your role", act_help},
    /* On a screen the status line has logging out where the menu has q. */
    {"Everywhere", "q", {'q'}, V_MENU, ALL, "quit", "quit the counter", act_quit},
    {"Everywhere", "q", {'q'}, V_SCREENS, ALL, NULL, "quit the counter", act_quit},
    {"Everywhere", "L", {'L', 'R'}, V_SCREENS, ALL, "logout",
     "log out and go back to the role menu (also R); every screen asks its password again",
     act_logout},
    /* The title bar shows the tabs, [the current one] marked: the status
     * line keeps its room for the screen's keys. */
    {"Everywhere", "Tab", {'\t', K(KEY_BTAB)}, V_CATALOG | V_ORDERS | V_FOODS | V_DAY | V_BOARD | V_AUDIT,
     ALL, NULL, "next tab (Shift-Tab: the one before)", act_tab},
    {"Everywhere", "Up/Down", {MOVES}, V_LISTS, ALL, NULL,
     "move the selection (also j/k, PgUp/PgDn, Home/End)", act_move},
    {"Everywhere", "^L", {TK_CTRL('l')}, V_SCREENS | V_MENU, ALL, NULL, "redraw the whole screen",
     act_redraw},

    /* The role menu. */
    {"Role menu", "c", {'c', '1'}, V_MENU, ALL, "customer", "the customer screen: order breakfast",
     act_menu_pick},
    {"Role menu", "m", {'m', '2'}, V_MENU, ALL, "manager",
     "the manager screen: foods, the day summary, deliveries, the audit", act_menu_pick},
    {"Role menu", "d", {'d', '3'}, V_MENU, ALL, "delivery team", "the delivery team's board",
     act_menu_pick},
    {"Role menu", "Enter", {ENTER}, V_MENU, ALL, NULL, "open the selected screen", act_menu_pick},

    /* Customer: the catalog. */
    {"Customer: catalog", "/", {'/'}, V_CATALOG, C, "search", "search foods by name (Esc clears)",
     act_cust_search},
    {"Customer: catalog", "0-9", {DIGITS}, V_CATALOG, C, "qty", "type the quantity to order",
     act_qty_digit},
    {"Customer: catalog", "Backspace", {BACKSPACE}, V_CATALOG, C, NULL, "erase the last digit of the quantity",
     act_qty_erase},
    {"Customer: catalog", "Enter", {ENTER}, V_CATALOG, C, "order",
     "order the selected food: a confirm step shows the total, yes pays", act_order},
    {"Customer: catalog", "Esc", {TK_ESC}, V_CATALOG, C, NULL, "clear the search and the quantity",
     act_cust_clear},

    /* Customer: my orders. */
    {"Customer: my orders", "Enter", {ENTER, 't'}, V_ORDERS, C, "ticket",
     "the ticket of the selected order (also t)", act_my_ticket},
    {"Customer: my orders", "x", {'x'}, V_ORDERS | V_TICKET, C, "cancel",
     "ask the delivery team to cancel the selected order", act_cancel_order},

    /* Customer: the account (both tabs). */
    {"Customer: account", "e", {'e'}, V_CATALOG | V_ORDERS, C, "details",
     "edit my name, phone, address and age", act_edit_me},
    {"Customer: account", "W", {'W'}, V_CATALOG | V_ORDERS, C, "withdraw",
     "withdraw my account (refused while orders are open)", act_withdraw},

    /* Manager: foods. */
    {"Manager: foods", "a", {'a'}, V_FOODS, M, "add", "add a food (name, price, stock)", act_food_add},
    {"Manager: foods", "e", {'e'}, V_FOODS, M, "edit", "edit the selected food", act_food_edit},
    {"Manager: foods", "s", {'s'}, V_FOODS, M, "stock",
     "set the selected food's stock (+N or -N adds or takes)", act_food_stock},
    {"Manager: foods", "x", {'x'}, V_FOODS, M, "sold out", "mark the selected food sold out (stock 0)",
     act_food_soldout},
    {"Manager: foods", "d", {'d', K(KEY_DC)}, V_FOODS, M, "delete", "delete the selected food",
     act_food_delete},
    {"Manager: foods", "/", {'/'}, V_FOODS, M, "search", "search foods by name (Esc clears)",
     act_food_search},
    {"Manager: foods", "Esc", {TK_ESC}, V_FOODS | V_AUDIT, M, NULL, "clear the search", act_food_clear},

    /* Manager: the audit. */
    {"Manager: audit", "p", {'p'}, V_AUDIT, M, "people only",
     "show only what people did, or also the services' own steps", act_audit_people},
    {"Manager: audit", "/", {'/'}, V_AUDIT, M, "search", "search the audit (actor, event, text)",
     act_audit_search},

    /* The delivery board (the manager sees it read only: these keys are greyed). */
    {"Delivery board", "Enter", {ENTER, 't'}, V_BOARD, D | M, "ticket",
     "the ticket of the selected delivery's order (also t)", act_dlv_ticket},
    {"Delivery board", "c", {'c'}, V_BOARD, D, "confirm", "confirm the selected delivery (received)",
     act_dlv_move},
    {"Delivery board", "s", {'s'}, V_BOARD, D, "ship", "ship the selected delivery (confirmed)",
     act_dlv_move},
    {"Delivery board", "d", {'d'}, V_BOARD, D, "deliver", "complete the selected delivery: delivered (shipped)",
     act_dlv_move},
    {"Delivery board", "y", {'y'}, V_BOARD, D, "accept",
     "accept the selected cancellation request", act_dlv_move},
    {"Delivery board", "n", {'n'}, V_BOARD, D, "reject",
     "reject the selected cancellation request (the order goes on)", act_dlv_move},
    {"Delivery board", "Space", {' '}, V_BOARD, D, NULL, "move the selected delivery one step on",
     act_dlv_next},

    {NULL, NULL, {0}, 0, 0, NULL, NULL, NULL},
};

const action_t *action_find(unsigned view, int key)
{
    for (const action_t *a = tui_actions; a->label; a++) {
        if (!(a->views & view))
            continue;
        for (int i = 0; i < (int)(sizeof a->keys / sizeof a->keys[0]) && a->keys[i]; i++)
            if (a->keys[i] == key)
                return a;
    }
    return NULL;
}

int action_allowed(const app_t *app, const action_t *a)
{
    return app->role == ROLE_NONE || (a->roles & app->role) != 0;
}

void action_roles(unsigned roles, char *out, size_t n)
{
    out[0] = '\0';
    static const unsigned order[] = {ROLE_CUSTOMER, ROLE_MANAGER, ROLE_DELIVERY};
    for (size_t i = 0; i < 3; i++) {
        if (!(roles & order[i]))
            continue;
        size_t used = strlen(out);
        snprintf(out + used, n - used, "%s%s", used ? " or " : "", tui_role_name(order[i]));
    }
}
