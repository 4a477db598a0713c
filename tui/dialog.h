/*
 * dialog.h - the dialogs over a screen (dialog.c): a yes/no question, forms
 * and one-line prompts, the `?` help overlay and the ticket of an order.
 * While one is open it takes the keys (the action table's "Dialogs").
 */
#ifndef DIALOG_H
#define DIALOG_H

#include "widgets.h"

typedef struct app app_t;
typedef struct form form_t;

/* Return 0 to close the form, -1 to keep it open (a message says why). */
typedef int (*form_fn)(app_t *app, form_t *f);

/* A form: owned by the app while open (dlg_close_form frees it). */
struct form {
    char title[96];
    int inline_prompt;     /* one field on the message line (search, stock) */
    int nfields, cur;
    struct {
        const char *label;  /* borrowed: must outlive the form */
        edit_t ed;
        int required;
    } f[6];
    form_fn submit;        /* NULL: Enter only closes it (a search kept) */
    void (*changed)(app_t *app, form_t *f);    /* after each edit (live search) */
    void (*cancelled)(app_t *app, form_t *f);
    long long arg;
};

/* What yes or no to a question does; arg is dlg_confirm's. */
typedef void (*confirm_fn)(app_t *app, int yes, long long arg);

/* Ask a yes/no question; fn runs with the answer. */
void dlg_confirm(app_t *app, confirm_fn fn, long long arg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* A new form (replacing any open one); add fields with dlg_field. */
form_t *dlg_form(app_t *app, const char *title, form_fn submit, long long arg);
void dlg_field(form_t *f, const char *label, const char *value, int digits, int required);
/* A form's fields as a screen declares them once (for adding and editing). */
typedef struct {
    const char *label;
    int digits;            /* digits only */
    int required;
} dlg_spec_t;
/* Add the n fields of spec, with values (NULL: all empty). */
void dlg_fields(form_t *f, const dlg_spec_t *spec, int n, const char *const *values);
void dlg_close_form(app_t *app);
/* Open the ticket of an order (0 closes it). */
void dlg_ticket(app_t *app, long long order);

/* A centered box of h x wd over the main area (smaller when the terminal
 * is), erased; NULL when it does not fit. The caller deletes it. */
WINDOW *dlg_window(app_t *app, int h, int wd);

/* Draw the open dialogs over the screen (each window is refreshed but the
 * form's): returns the form's window, with the cursor at the edited field,
 * for the caller to refresh last and delete; NULL when no form box is open. */
WINDOW *dlg_draw(app_t *app);
/* Draw the inline prompt on the message line: returns the cursor's column,
 * or -1 when none is open. */
int dlg_prompt(app_t *app);

/* A key the action table does not name, while a dialog is open: text for
 * the form, swallowed by the others. Returns what happens next (a tui_res_t,
 * tui.h): TUI_UNHANDLED when no dialog is open. */
int dlg_key(app_t *app, int key);
/* Run what a key left for after the next frame (app->later): the answer to
 * a question, a form sent. Returns 1 when there was something. */
int dlg_run_later(app_t *app);

#endif
