/*
 * widgets.h - the TUI's drawing primitives over ncursesw: attributes by
 * meaning (with a monochrome fallback), UTF-8 text clipped to a number of
 * terminal columns, and a one-line editor.
 *
 * Text is UTF-8 everywhere outside this module; widths come from wcwidth, a
 * wide character is never cut at a column edge, and text that does not fit
 * ends with an ellipsis. Nothing here writes the last cell of the screen's
 * last line (writing it would scroll some terminals).
 */
#ifndef WIDGETS_H
#define WIDGETS_H

#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <curses.h>
#include <stddef.h>
#include <wchar.h>

/* Keys as one int: a character is its wchar_t value, a function key (KEY_UP,
 * KEY_RESIZE, ...) is its code with TK_FN set, so that the two never collide
 * (KEY_* codes overlap Latin characters). */
#define TK_FN 0x40000000
#define K(code) ((code) | TK_FN)
#define TK_CTRL(c) ((c) & 0x1f)
#define TK_ESC 27

/* Read one key without waiting: returns the key, or -1 when none is left. */
int w_getkey(WINDOW *w);
/* A printable name for a key ("a", "Enter", "KEY_F(2)"), for messages. */
void w_keyname(int key, char *out, size_t n);

/* ---- attributes by meaning ------------------------------------------- */

typedef enum {
    UI_NORMAL,
    UI_TITLE,      /* the title bar */
    UI_TAB_ON,     /* the current tab in the title bar */
    UI_BAR,        /* the status line */
    UI_KEY,        /* a key in the status line */
    UI_GREY,       /* a key the role may not use; sold-out foods */
    UI_SEL,        /* the selected row */
    UI_HEAD,       /* table headings */
    UI_OK,         /* good news: delivered, online, short waits */
    UI_WARN,       /* waits getting long; pending answers */
    UI_LATE,       /* long waits */
    UI_FLAG,       /* cancellation requests */
    UI_OFFLINE,    /* the offline flag */
    UI_ERR,        /* error messages */
    UI_INFO,       /* other messages */
    UI_BOX,        /* dialog frames */
    UI__COUNT
} ui_t;

/* Set up colors unless NO_COLOR is set (to anything but "") or the terminal
 * has none. Returns 1 when colors are used, 0 for monochrome. Call after
 * initscr. */
int ui_init(void);
attr_t ui(ui_t which);
int ui_colors(void);

/* ---- text ------------------------------------------------------------- */

/* Display width of UTF-8 text (invalid bytes and control characters count
 * one column each, as w_put draws them: '?'). */
int w_width(const char *s);

enum { W_PAD = 1, W_RIGHT = 2 };

/* Draw s at (y, x) of w in at most width columns (fewer at the window's
 * edge, and never the last cell of the screen). Text that does not fit is
 * cut before a whole character and ends with an ellipsis. W_PAD fills the
 * rest of width with blanks in the same attribute; W_RIGHT aligns right.
 * Returns the columns drawn. */
int w_put(WINDOW *w, int y, int x, int width, const char *s, attr_t a, int flags);
int w_putf(WINDOW *w, int y, int x, int width, attr_t a, int flags, const char *fmt, ...)
    __attribute__((format(printf, 7, 8)));
/* Blank width columns at (y, x) in attribute a. */
void w_fill(WINDOW *w, int y, int x, int width, attr_t a);
/* Columns usable on row y of w from x on. */
int w_room(WINDOW *w, int y, int x);
/* A frame around w with a title in it. */
void w_frame(WINDOW *w, const char *title);

/* 18000 -> "18,000". */
void w_money(char *out, size_t n, long long v);
/* Seconds -> "45s", "3m05s", "1h05m", "2d03h". */
void w_age(char *out, size_t n, long long secs);
/* Does text contain search (ASCII letters without case)? "" matches all. */
int w_matches(const char *text, const char *search);
/* The local time of day ("14:40:00") of such a timestamp; "" if unreadable. */
void w_ts_clock(const char *ts, char *out, size_t n);

/* ---- the one-line editor ---------------------------------------------- */

#define EDIT_MAX 200     /* characters; the UTF-8 text is also held to max_bytes */

typedef struct {
    wchar_t buf[EDIT_MAX + 1];
    int len;             /* characters */
    int pos;             /* cursor, 0..len */
    int scroll;          /* first character shown */
    int max_bytes;       /* UTF-8 bytes allowed (0: 200, the protocol's string limit) */
    int digits;          /* only digits (and a leading + or - when signed) */
    int sign;            /* a leading + or - is allowed */
} edit_t;

void edit_init(edit_t *e, const char *utf8, int digits);
/* The text as UTF-8 into out (always terminated). */
void edit_text(const edit_t *e, char *out, size_t n);
/* Apply an editing key. Returns 1 when the key was used, 0 when not. */
int edit_key(edit_t *e, int key);
/* Draw the editor in width columns at (y, x); returns the cursor's column. */
int edit_draw(WINDOW *w, int y, int x, int width, edit_t *e, attr_t a);

#endif
