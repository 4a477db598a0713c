/*
 * test_tui - unit tests of the TUI's display widths (tui/widgets.c and
 * tui/output.c): the width of UTF-8 text in terminal cells with Korean wide
 * characters, text cut with an ellipsis that never splits a wide character,
 * padding and right alignment in a column, and the command line's tables
 * lined up by width.
 *
 * The drawing cases use a real ncursesw screen writing to /dev/null and read
 * the cells back; nothing is shown. They need the C.UTF-8 locale and the
 * xterm terminfo entry (Debian's ncurses-base).
 */
#include "output.h"
#include "proto.h"
#include "unit.h"
#include "widgets.h"

#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROWS 4
#define COLS_W 20

/* Line y of w as UTF-8, a wide character once, trailing blanks cut. */
static const char *line_of(WINDOW *w, int y)
{
    static char out[256];
    wchar_t buf[COLS_W + 1];
    int n = mvwinnwstr(w, y, 0, buf, COLS_W);
    if (n == ERR)
        n = 0;
    buf[n] = L'\0';
    size_t len = wcstombs(out, buf, sizeof out - 1);
    if (len == (size_t)-1)
        len = 0;
    out[len] = '\0';
    while (len > 0 && out[len - 1] == ' ')
        out[--len] = '\0';
    return out;
}

/* The character and attributes of cell (y, x). */
static wchar_t cell_at(WINDOW *w, int y, int x, attr_t *attrs)
{
    cchar_t c;
    wchar_t wc[CCHARW_MAX + 1] = {0};
    short pair;
    *attrs = 0;
    if (mvwin_wch(w, y, x, &c) == ERR || getcchar(&c, wc, attrs, &pair, NULL) == ERR)
        return 0;
    return wc[0];
}

static void test_widths(void)
{
    case_begin("w_width: ASCII, one cell a character");
    CHECK_INT("w_width(\"toast\")", w_width("toast"), 5);
    CHECK_INT("w_width(\"\")", w_width(""), 0);
    CHECK_INT("w_width(NULL)", w_width(NULL), 0);
    case_end();

    case_begin("w_width: Korean syllables take two cells each");
    CHECK_INT("w_width(\"김치찌개\")", w_width("김치찌개"), 8);
    CHECK_INT("w_width(\"a김b\")", w_width("a김b"), 4);
    CHECK_INT("w_width(\"부산 해운대\")", w_width("부산 해운대"), 11);
    case_end();

    case_begin("w_width: a combining mark takes no cell, a bad byte or a control one");
    CHECK_INT("w_width(\"e\\u0301\")", w_width("e\xcc\x81"), 1);
    CHECK_INT("w_width(\"a\\xffb\")", w_width("a\xff" "b"), 3);
    CHECK_INT("w_width(\"a\\x01b\")", w_width("a\x01" "b"), 3);
    case_end();

    case_begin("output_width: the command line's tables count cells the same way");
    CHECK_INT("output_width(\"toast\")", output_width("toast"), 5);
    CHECK_INT("output_width(\"김치찌개\")", output_width("김치찌개"), 8);
    CHECK_INT("output_width(\"박서준 kim\")", output_width("박서준 kim"), 10);
    CHECK_INT("output_width(\"e\\u0301\")", output_width("e\xcc\x81"), 1);
    case_end();
}

static void test_cut(WINDOW *w)
{
    case_begin("w_put: text that fits is drawn whole");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 0, 0, 8, "김치찌개", A_NORMAL, 0), 8);
    CHECK_STR("line", line_of(w, 0), "김치찌개");
    case_end();

    case_begin("w_put: ASCII cut to 5 cells ends with an ellipsis");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 0, 0, 5, "abcdefgh", A_NORMAL, 0), 5);
    CHECK_STR("line", line_of(w, 0), "abcd\xe2\x80\xa6");
    case_end();

    case_begin("w_put: Korean cut to 7 cells: three syllables and the ellipsis");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 0, 0, 7, "김치찌개", A_NORMAL, 0), 7);
    CHECK_STR("line", line_of(w, 0), "김치찌\xe2\x80\xa6");
    case_end();

    case_begin("w_put: Korean cut to 6 cells never splits a syllable (5 cells drawn)");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 0, 0, 6, "김치찌개", A_NORMAL, 0), 5);
    CHECK_STR("line", line_of(w, 0), "김치\xe2\x80\xa6");
    attr_t a;
    CHECK_INT("cell 5 stays blank", cell_at(w, 0, 5, &a), L' ');
    case_end();

    case_begin("w_put: \"a김b\" in 3 cells is \"a…\", not half a syllable");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 0, 0, 3, "a김b", A_NORMAL, 0), 2);
    CHECK_STR("line", line_of(w, 0), "a\xe2\x80\xa6");
    case_end();

    case_begin("w_put: the window's edge cuts too (5 cells left of 20)");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 0, 15, 10, "abcdefghij", A_NORMAL, 0), 5);
    CHECK_STR("line", line_of(w, 0), "               abcd\xe2\x80\xa6");
    case_end();

    case_begin("w_put: a control character is drawn as ?");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 0, 0, 10, "a\x01" "b", A_NORMAL, 0), 3);
    CHECK_STR("line", line_of(w, 0), "a?b");
    case_end();
}

static void test_pad(WINDOW *w)
{
    attr_t a;
    case_begin("w_put W_PAD: blanks in the text's attribute up to the width");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 1, 0, 6, "김", A_UNDERLINE, W_PAD), 6);
    CHECK_STR("line", line_of(w, 1), "김");
    CHECK_INT("cell 0", cell_at(w, 1, 0, &a), L'김');
    CHECK("cell 0 underlined", (a & A_UNDERLINE) != 0);
    CHECK_INT("cell 5", cell_at(w, 1, 5, &a), L' ');
    CHECK("cell 5 (padding) underlined", (a & A_UNDERLINE) != 0);
    (void)cell_at(w, 1, 6, &a);
    CHECK("cell 6 (past the width) not underlined", (a & A_UNDERLINE) == 0);
    case_end();

    case_begin("w_put without W_PAD: the rest of the width is left alone");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 1, 0, 6, "김", A_UNDERLINE, 0), 2);
    (void)cell_at(w, 1, 2, &a);
    CHECK("cell 2 not underlined", (a & A_UNDERLINE) == 0);
    case_end();

    case_begin("w_put W_RIGHT: aligned to the right by width in cells");
    werase(w);
    CHECK_INT("columns drawn", w_put(w, 2, 0, 7, "김x", A_NORMAL, W_RIGHT), 7);
    CHECK_STR("line", line_of(w, 2), "    김x");
    CHECK_INT("cell 3 blank", cell_at(w, 2, 3, &a), L' ');
    CHECK_INT("cell 4", cell_at(w, 2, 4, &a), L'김');
    CHECK_INT("cell 6", cell_at(w, 2, 6, &a), L'x');
    case_end();
}

static void test_output_table(void)
{
    case_begin("output_table: columns line up by width in cells, numbers to the right");
    json_t *rows = json_pack("[{s:s, s:i}, {s:s, s:i}]", "food", "김치찌개", "qty", 2, "food", "toast", "qty",
                             10);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK("open_memstream", f != NULL);
    if (f) {
        output_table(f, rows, NULL);
        fclose(f);
        CHECK_STR("table", buf, "food      qty\n김치찌개    2\ntoast      10\n");
    }
    free(buf);
    json_decref(rows);
    case_end();
}

static void test_numbers(void)
{
    char out[32];
    case_begin("w_money: thousands separated, sign kept");
    w_money(out, sizeof out, 18000);
    CHECK_STR("18000", out, "18,000");
    w_money(out, sizeof out, 999);
    CHECK_STR("999", out, "999");
    w_money(out, sizeof out, -1234567);
    CHECK_STR("-1234567", out, "-1,234,567");
    case_end();

    case_begin("w_age: seconds, minutes, hours, days");
    w_age(out, sizeof out, 45);
    CHECK_STR("45", out, "45s");
    w_age(out, sizeof out, 185);
    CHECK_STR("185", out, "3m05s");
    w_age(out, sizeof out, 3900);
    CHECK_STR("3900", out, "1h05m");
    w_age(out, sizeof out, 183600);
    CHECK_STR("183600", out, "2d03h");
    case_end();
}

/* What `counter` prints for a row whose text holds terminal controls: escaped
 * where they are, never the raw bytes (an ESC would reach the terminal). */
static void test_output_escape(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"toast", "toast"},
        {"\xea\xb9\x80\xec\xb9\x98 & \"x\"", "\xea\xb9\x80\xec\xb9\x98 & \"x\""},
        {"a\x1b[2Jb", "a\\x1b[2Jb"},
        {"\x07\x7f\t\n", "\\x07\\x7f\\x09\\x0a"},
        {"kim\xc2\x9b" "31m", "kim\\u009b31m"},
        {"x\xe2\x80\xaey", "x\\u202ey"},
        {"x\xe2\x80\x8by\xef\xbb\xbf", "x\\u200by\\ufeff"},
        {"bad\x9b" "byte\xff", "bad\\x9bbyte\\xff"},
    };
    case_begin("output_escape: C0, DEL, C1, bidirectional, zero-width and bad bytes made visible, Korean kept");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *got = output_escape(cases[i].in);
        char what[48];
        snprintf(what, sizeof what, "output_escape, case %zu", i);
        CHECK_STR(what, got, cases[i].want);
        free(got);
    }
    case_end();

    case_begin("output_table and output_result: an ESC in a cell or a key never reaches the output raw");
    json_t *rows = json_pack("[{s:s, s:i}]", "food", "pi\x1b]0;owned\x07zza", "qty", 2);
    json_t *rec = json_pack("{s:s, s:s}", "name", "\xc2\x9b" "2J", "k\x1b", "v");
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    CHECK("open_memstream", f != NULL);
    if (f) {
        output_table(f, rows, NULL);
        output_result(f, rec, 0);
        fclose(f);
        CHECK_STR("table and record", buf,
                  "food                   qty\npi\\x1b]0;owned\\x07zza    2\n"
                  "name   \\u009b2J\nk\\x1b  v\n");
        for (size_t i = 0; buf && i < len; i++)
            if (((unsigned char)buf[i] < 0x20 && buf[i] != '\n') || buf[i] == 0x7f ||
                ((unsigned char)buf[i] == 0xc2 && (unsigned char)buf[i + 1] < 0xa0))
                case_fail("a control byte 0x%02x at offset %zu", (unsigned char)buf[i], i);
    }
    free(buf);
    json_decref(rows);
    json_decref(rec);
    case_end();
}

int main(void)
{
    case_begin("the C.UTF-8 locale");
    CHECK("setlocale(LC_ALL, \"C.UTF-8\")", setlocale(LC_ALL, "C.UTF-8") != NULL);
    case_end();
    test_widths();
    test_output_table();
    test_numbers();
    test_output_escape();

    FILE *out = fopen("/dev/null", "w"), *in = fopen("/dev/null", "r");
    SCREEN *screen = out && in ? newterm("xterm", out, in) : NULL;
    WINDOW *w = screen ? newwin(ROWS, COLS_W, 0, 0) : NULL;
    case_begin("a curses screen on /dev/null (TERM xterm)");
    CHECK("newterm and newwin", w != NULL);
    case_end();
    if (w) {
        test_cut(w);
        test_pad(w);
        (void)delwin(w);
    }
    if (screen) {
        (void)endwin();
        delscreen(screen);
    }
    if (out)
        fclose(out);
    if (in)
        fclose(in);
    return unit_exit();
}
