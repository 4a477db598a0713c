/*
 * widgets.c - drawing primitives, attributes and the line editor.
 */
#include "widgets.h"
#include "proto.h"

#include <langinfo.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <wctype.h>

/* ---- keys ------------------------------------------------------------- */

int w_getkey(WINDOW *w)
{
    wint_t wc;
    int rc = wget_wch(w, &wc);
    if (rc == ERR)
        return -1;
    if (rc == KEY_CODE_YES)
        return K((int)wc);
    /* A character: wint_t values beyond the Unicode range cannot come from
     * a UTF-8 terminal; keep them away from TK_FN anyway. */
    return (int)(wc & 0x1fffff);
}

void w_keyname(int key, char *out, size_t n)
{
    if (key & TK_FN) {
        const char *name = keyname(key & ~TK_FN);
        snprintf(out, n, "%s", name ? name : "?");
    } else if (key == '\n' || key == '\r') {
        snprintf(out, n, "Enter");
    } else if (key == TK_ESC) {
        snprintf(out, n, "Esc");
    } else if (key == '\t') {
        snprintf(out, n, "Tab");
    } else if (key == ' ') {
        snprintf(out, n, "Space");
    } else if (key < 32) {
        snprintf(out, n, "^%c", key + '@');
    } else {
        char mb[MB_LEN_MAX + 1];
        mbstate_t st;
        memset(&st, 0, sizeof st);
        size_t len = wcrtomb(mb, (wchar_t)key, &st);
        if (len == (size_t)-1)
            snprintf(out, n, "U+%04X", (unsigned)key);
        else {
            mb[len] = '\0';
            snprintf(out, n, "%s", mb);
        }
    }
}

/* ---- attributes ----------------------------------------------------------- */

static attr_t attrs[UI__COUNT];
static int colored;

int ui_colors(void)
{
    return colored;
}

attr_t ui(ui_t which)
{
    return which >= 0 && which < UI__COUNT ? attrs[which] : A_NORMAL;
}

int ui_init(void)
{
    const char *no = getenv("NO_COLOR");
    colored = !(no && *no) && has_colors() && start_color() == OK;
    /* Monochrome: bold, reverse, underline and dim carry the meaning. */
    attrs[UI_NORMAL] = A_NORMAL;
    attrs[UI_TITLE] = A_REVERSE;
    attrs[UI_TAB_ON] = A_BOLD;
    attrs[UI_BAR] = A_NORMAL;
    attrs[UI_KEY] = A_BOLD;
    attrs[UI_GREY] = A_DIM;
    attrs[UI_SEL] = A_REVERSE;
    attrs[UI_HEAD] = A_UNDERLINE;
    attrs[UI_OK] = A_NORMAL;
    attrs[UI_WARN] = A_BOLD;
    attrs[UI_LATE] = A_BOLD | A_UNDERLINE;
    attrs[UI_FLAG] = A_BOLD;
    attrs[UI_OFFLINE] = A_REVERSE | A_BOLD;
    attrs[UI_ERR] = A_BOLD;
    attrs[UI_INFO] = A_NORMAL;
    attrs[UI_BOX] = A_NORMAL;
    if (!colored)
        return 0;
    int bg = use_default_colors() == OK ? -1 : COLOR_BLACK;
    static const struct {
        ui_t which;
        short fg, bg;   /* bg -2: the terminal's own background */
        attr_t extra;
    } pairs[] = {
        {UI_TITLE, COLOR_WHITE, COLOR_BLUE, A_NORMAL},
        {UI_TAB_ON, COLOR_YELLOW, COLOR_BLUE, A_BOLD},
        {UI_KEY, COLOR_CYAN, -2, A_BOLD},
        {UI_HEAD, COLOR_CYAN, -2, A_BOLD},
        {UI_OK, COLOR_GREEN, -2, A_NORMAL},
        {UI_WARN, COLOR_YELLOW, -2, A_BOLD},
        {UI_LATE, COLOR_RED, -2, A_BOLD},
        {UI_FLAG, COLOR_MAGENTA, -2, A_BOLD},
        {UI_OFFLINE, COLOR_WHITE, COLOR_RED, A_BOLD},
        {UI_ERR, COLOR_RED, -2, A_BOLD},
        {UI_INFO, COLOR_GREEN, -2, A_NORMAL},
        {UI_BOX, COLOR_CYAN, -2, A_NORMAL},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        short pair = (short)(i + 1);
        if (init_pair(pair, pairs[i].fg, pairs[i].bg == -2 ? (short)bg : pairs[i].bg) == OK)
            attrs[pairs[i].which] = COLOR_PAIR(pair) | pairs[i].extra;
    }
    attrs[UI_GREY] = A_DIM;
    return 1;
}

/* ---- text ------------------------------------------------------------------ */

static int utf8_locale(void)
{
    static int known = -1;
    if (known < 0) {
        const char *cs = nl_langinfo(CODESET);
        known = cs && strcmp(cs, "UTF-8") == 0;
    }
    return known;
}

/* Decode s into at most cap printable characters and their widths. Invalid
 * bytes and control characters become '?'; zero-width characters are left
 * out (they would glue onto whatever cell came before). Returns the count. */
static int decode(const char *s, wchar_t *out, signed char *width, int cap)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    size_t len = strlen(s);
    int n = 0;
    while (len > 0 && n < cap) {
        wchar_t wc;
        size_t k = mbrtowc(&wc, s, len, &st);
        int w;
        if (k == (size_t)-1 || k == (size_t)-2) {
            memset(&st, 0, sizeof st);
            k = 1;
            wc = L'?';
            w = 1;
        } else if (k == 0) {
            break;
        } else {
            w = wcwidth(wc);
            if (w < 0 || iswcntrl((wint_t)wc)) {
                wc = L'?';
                w = 1;
            }
        }
        s += k;
        len -= k;
        if (w == 0)
            continue;
        out[n] = wc;
        width[n] = (signed char)w;
        n++;
    }
    return n;
}

int w_width(const char *s)
{
    if (!s)
        return 0;
    wchar_t buf[512];
    signed char wd[512];
    int total = 0;
    /* Long texts in pieces is not worth it: nothing on a screen is wider. */
    int n = decode(s, buf, wd, 512);
    for (int i = 0; i < n; i++)
        total += wd[i];
    return total;
}

/* A window's attributes, to draw in others and put them back. */
typedef struct {
    attr_t a;
    short pair;
} saved_attr_t;

/* Draw in a from now on; returns what was set before. */
static saved_attr_t attr_push(WINDOW *w, attr_t a)
{
    saved_attr_t old;
    if (wattr_get(w, &old.a, &old.pair, NULL) == ERR) {
        old.a = A_NORMAL;
        old.pair = 0;
    }
    (void)wattrset(w, (int)a);
    return old;
}

static void attr_pop(WINDOW *w, saved_attr_t old)
{
    (void)wattr_set(w, old.a, old.pair, NULL);
}

int w_room(WINDOW *w, int y, int x)
{
    int maxy, maxx, by, bx;
    getmaxyx(w, maxy, maxx);
    getbegyx(w, by, bx);
    if (y < 0 || y >= maxy || x < 0 || x >= maxx)
        return 0;
    int room = maxx - x;
    /* Never the last cell of the screen's last line. */
    if (by + y == LINES - 1 && bx + x + room >= COLS)
        room = COLS - 1 - bx - x;
    return room > 0 ? room : 0;
}

void w_fill(WINDOW *w, int y, int x, int width, attr_t a)
{
    int room = w_room(w, y, x);
    if (width > room)
        width = room;
    if (width <= 0)
        return;
    if (mvwhline(w, y, x, ' ' | (chtype)a, width) == ERR)
        return;
}

int w_put(WINDOW *w, int y, int x, int width, const char *s, attr_t a, int flags)
{
    if (!w || !s)
        return 0;
    int room = w_room(w, y, x);
    if (width > room)
        width = room;
    if (width <= 0)
        return 0;
    wchar_t buf[512];
    signed char wd[512];
    int n = decode(s, buf, wd, 511);
    int total = 0;
    for (int i = 0; i < n; i++)
        total += wd[i];
    int used = 0, keep = n;
    if (total > width) {
        /* Keep whole characters in width - 1 columns, then the ellipsis. */
        keep = 0;
        while (keep < n && used + wd[keep] <= width - 1)
            used += wd[keep++];
        buf[keep++] = utf8_locale() ? L'\x2026' : L'~';
        used += 1;
    } else {
        used = total;
    }
    int pad = width - used;
    int cx = x;
    if ((flags & W_RIGHT) && pad > 0) {
        w_fill(w, y, x, pad, a);
        cx += pad;
        pad = 0;
    }
    saved_attr_t old = attr_push(w, a);
    if (keep > 0 && wmove(w, y, cx) != ERR) {
        /* At the window's bottom-right corner the cursor cannot advance and
         * ncurses answers ERR after drawing the text: not a failure here. */
        (void)waddnwstr(w, buf, keep);
    }
    attr_pop(w, old);
    if ((flags & W_PAD) && pad > 0)
        w_fill(w, y, cx + used, pad, a);
    return (flags & W_PAD) ? width : (flags & W_RIGHT) ? width : used;
}

int w_putf(WINDOW *w, int y, int x, int width, attr_t a, int flags, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return w_put(w, y, x, width, buf, a, flags);
}

void w_frame(WINDOW *w, const char *title)
{
    int h, wd;
    getmaxyx(w, h, wd);
    (void)h;
    if (wattron(w, ui(UI_BOX)) == ERR || box(w, 0, 0) == ERR) {
        (void)wattroff(w, ui(UI_BOX));
        return;
    }
    (void)wattroff(w, ui(UI_BOX));
    if (title && *title && wd > 6) {
        char t[256];
        snprintf(t, sizeof t, " %s ", title);
        w_put(w, 0, 2, wd - 4, t, ui(UI_HEAD), 0);
    }
}

void w_money(char *out, size_t n, long long v)
{
    char digits[32];
    int neg = v < 0;
    unsigned long long u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    snprintf(digits, sizeof digits, "%llu", u);
    char tmp[48];
    size_t len = strlen(digits), o = 0;
    if (neg)
        tmp[o++] = '-';
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            tmp[o++] = ',';
        tmp[o++] = digits[i];
    }
    tmp[o] = '\0';
    snprintf(out, n, "%s", tmp);
}

void w_age(char *out, size_t n, long long secs)
{
    if (secs < 0)
        secs = 0;
    if (secs < 60)
        snprintf(out, n, "%llds", secs);
    else if (secs < 3600)
        snprintf(out, n, "%lldm%02llds", secs / 60, secs % 60);
    else if (secs < 86400)
        snprintf(out, n, "%lldh%02lldm", secs / 3600, secs % 3600 / 60);
    else
        snprintf(out, n, "%lldd%02lldh", secs / 86400, secs % 86400 / 3600);
}

void w_ts_clock(const char *ts, char *out, size_t n)
{
    long long ms = proto_ts_ms(ts);
    if (ms <= 0) {
        snprintf(out, n, "%s", "");
        return;
    }
    time_t t = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&t, &tm) || strftime(out, n, "%H:%M:%S", &tm) == 0)
        snprintf(out, n, "%s", "");
}

/* ---- the line editor ----------------------------------------------------------- */

static size_t utf8_len(const wchar_t *s, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) {
        char mb[MB_LEN_MAX];
        mbstate_t st;
        memset(&st, 0, sizeof st);
        size_t k = wcrtomb(mb, s[i], &st);
        total += k == (size_t)-1 ? 1 : k;
    }
    return total;
}

void edit_init(edit_t *e, const char *utf8, int digits)
{
    memset(e, 0, sizeof *e);
    e->digits = digits;
    e->max_bytes = 200;
    if (utf8) {
        signed char wd[EDIT_MAX + 1];
        e->len = decode(utf8, e->buf, wd, EDIT_MAX);
    }
    e->buf[e->len] = L'\0';
    e->pos = e->len;
}

void edit_text(const edit_t *e, char *out, size_t n)
{
    if (n == 0)
        return;
    size_t o = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    for (int i = 0; i < e->len; i++) {
        char mb[MB_LEN_MAX];
        size_t k = wcrtomb(mb, e->buf[i], &st);
        if (k == (size_t)-1) {
            memset(&st, 0, sizeof st);
            mb[0] = '?';
            k = 1;
        }
        if (o + k >= n)
            break;
        memcpy(out + o, mb, k);
        o += k;
    }
    out[o] = '\0';
}

static int insert(edit_t *e, wchar_t c)
{
    if (e->len >= EDIT_MAX)
        return 0;
    if (e->digits) {
        int sign_ok = e->sign && e->pos == 0 && (c == L'+' || c == L'-') &&
                      !(e->len > 0 && (e->buf[0] == L'+' || e->buf[0] == L'-'));
        if (!(c >= L'0' && c <= L'9') && !sign_ok)
            return 0;
        if (e->len >= 12)
            return 0;
    }
    if (utf8_len(e->buf, e->len) + utf8_len(&c, 1) > (size_t)(e->max_bytes > 0 ? e->max_bytes : 200))
        return 0;
    memmove(e->buf + e->pos + 1, e->buf + e->pos, (size_t)(e->len - e->pos) * sizeof(wchar_t));
    e->buf[e->pos++] = c;
    e->buf[++e->len] = L'\0';
    return 1;
}

static void erase_at(edit_t *e, int at, int count)
{
    if (at < 0 || count <= 0 || at + count > e->len)
        return;
    memmove(e->buf + at, e->buf + at + count, (size_t)(e->len - at - count) * sizeof(wchar_t));
    e->len -= count;
    e->buf[e->len] = L'\0';
    if (e->pos > at + count)
        e->pos -= count;
    else if (e->pos > at)
        e->pos = at;
}

int edit_key(edit_t *e, int key)
{
    switch (key) {
    case K(KEY_BACKSPACE):
    case 127:
    case 8:
        if (e->pos == 0)
            return 1;
        erase_at(e, e->pos - 1, 1);
        return 1;
    case K(KEY_DC):
    case TK_CTRL('d'):
        erase_at(e, e->pos, 1);
        return 1;
    case K(KEY_LEFT):
    case TK_CTRL('b'):
        if (e->pos > 0)
            e->pos--;
        return 1;
    case K(KEY_RIGHT):
    case TK_CTRL('f'):
        if (e->pos < e->len)
            e->pos++;
        return 1;
    case K(KEY_HOME):
    case TK_CTRL('a'):
        e->pos = 0;
        return 1;
    case K(KEY_END):
    case TK_CTRL('e'):
        e->pos = e->len;
        return 1;
    case TK_CTRL('u'):
        erase_at(e, 0, e->pos);
        return 1;
    case TK_CTRL('k'):
        erase_at(e, e->pos, e->len - e->pos);
        return 1;
    case TK_CTRL('w'): {
        int p = e->pos;
        while (p > 0 && iswspace((wint_t)e->buf[p - 1]))
            p--;
        while (p > 0 && !iswspace((wint_t)e->buf[p - 1]))
            p--;
        erase_at(e, p, e->pos - p);
        return 1;
    }
    default:
        break;
    }
    if (key & TK_FN)
        return 0;
    if (key < 32 || key == 127 || !iswprint((wint_t)key) || wcwidth((wchar_t)key) < 1)
        return 0;
    (void)insert(e, (wchar_t)key);
    return 1;
}

int edit_draw(WINDOW *w, int y, int x, int width, edit_t *e, attr_t a)
{
    int room = w_room(w, y, x);
    if (width > room)
        width = room;
    if (width <= 1)
        return x;
    /* Scroll so the cursor stays visible with one cell to spare. */
    if (e->scroll > e->pos)
        e->scroll = e->pos;
    for (;;) {
        int cw = 0;
        for (int i = e->scroll; i < e->pos; i++) {
            int k = wcwidth(e->buf[i]);
            cw += k > 0 ? k : 1;
        }
        if (cw <= width - 1 || e->scroll >= e->pos)
            break;
        e->scroll++;
    }
    w_fill(w, y, x, width, a);
    int cx = x, cursor = x, used = 0;
    saved_attr_t old = attr_push(w, a);
    for (int i = e->scroll; i <= e->len; i++) {
        if (i == e->pos)
            cursor = cx;
        if (i == e->len)
            break;
        int k = wcwidth(e->buf[i]);
        if (k < 1)
            k = 1;
        if (used + k > width - 1)
            break;
        if (wmove(w, y, cx) != ERR)
            (void)waddnwstr(w, &e->buf[i], 1);
        cx += k;
        used += k;
    }
    attr_pop(w, old);
    return cursor;
}

int w_matches(const char *text, const char *search)
{
    if (!*search)
        return 1;
    /* ASCII letters compare without case; other characters as they are. */
    size_t n = strlen(search);
    for (const char *p = text; *p; p++)
        if (strncasecmp(p, search, n) == 0)
            return 1;
    return 0;
}
