/*
 * output.c - tables and JSON lines.
 */
#include "output.h"
#include "proto.h"

#include <stdlib.h>
#include <string.h>
#include <wchar.h>

#define MAX_COLS 16
#define MAX_CELL 48

int output_width(const char *s)
{
    mbstate_t st;
    memset(&st, 0, sizeof st);
    int w = 0;
    size_t len = strlen(s);
    while (len > 0) {
        wchar_t wc;
        size_t n = mbrtowc(&wc, s, len, &st);
        if (n == (size_t)-1 || n == (size_t)-2) {
            /* Not valid in this locale: count bytes, reset. */
            memset(&st, 0, sizeof st);
            n = 1;
            w++;
        } else {
            if (n == 0)
                break;
            int cw = wcwidth(wc);
            w += cw > 0 ? cw : 0;
        }
        s += n;
        len -= n;
    }
    return w;
}

char *output_escape(const char *s)
{
    size_t len = strlen(s), n = 0, i = 0;
    char *out = xmalloc(len * 6 + 1);   /* the longest: 2 bytes -> "\u200b" (6) */
    while (i < len) {
        size_t at = i;
        long cp = proto_utf8_next(s, len, &i);
        const char *refused = cp < 0 ? "invalid" : proto_char_refused(cp);
        if (!refused) {
            memcpy(out + n, s + at, i - at);
            n += i - at;
        } else if (cp < 0 || cp < 0x80) {
            n += (size_t)sprintf(out + n, "\\x%02x", (unsigned char)s[at]);
        } else {
            n += (size_t)sprintf(out + n, "\\u%04lx", (unsigned long)cp);
        }
    }
    out[n] = '\0';
    return out;
}

/* The text of a cell as the reply has it. Caller frees. */
static char *cell_raw(const json_t *v)
{
    char buf[64];
    if (!v || json_is_null(v))
        return xstrdup("");
    if (json_is_string(v))
        return xstrdup(json_string_value(v));
    if (json_is_integer(v)) {
        snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        return xstrdup(buf);
    }
    if (json_is_true(v))
        return xstrdup("yes");
    if (json_is_false(v))
        return xstrdup("no");
    if (json_is_real(v)) {
        snprintf(buf, sizeof buf, "%g", json_real_value(v));
        return xstrdup(buf);
    }
    char *s = json_dumps(v, JSON_COMPACT);
    return s ? s : xstrdup("?");
}

/* Text of a cell, control characters escaped. Caller frees. */
static char *cell_text(const json_t *v)
{
    char *raw = cell_raw(v);
    char *t = output_escape(raw);
    free(raw);
    return t;
}

static void pad(FILE *out, const char *s, int width, int right)
{
    int w = output_width(s);
    if (right)
        for (int i = w; i < width; i++)
            fputc(' ', out);
    fputs(s, out);
    if (!right)
        for (int i = w; i < width; i++)
            fputc(' ', out);
}

void output_table(FILE *out, const json_t *rows, const char *const *columns)
{
    const char *cols[MAX_COLS];
    int ncols = 0;
    if (columns) {
        for (; columns[ncols] && ncols < MAX_COLS; ncols++)
            cols[ncols] = columns[ncols];
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(json_array_get(rows, 0), key, v) {
            if (ncols < MAX_COLS)
                cols[ncols++] = key;
        }
    }
    if (ncols == 0) {
        fputs("(none)\n", out);
        return;
    }
    size_t nrows = json_array_size(rows);
    int width[MAX_COLS], right[MAX_COLS];
    char *head[MAX_COLS];
    for (int c = 0; c < ncols; c++) {
        head[c] = output_escape(cols[c]);
        width[c] = output_width(head[c]);
        right[c] = 1;
        for (size_t r = 0; r < nrows; r++) {
            const json_t *v = json_object_get(json_array_get(rows, r), cols[c]);
            if (v && !json_is_integer(v) && !json_is_real(v))
                right[c] = 0;
            char *t = cell_text(v);
            int w = output_width(t);
            if (w > width[c])
                width[c] = w;
            free(t);
        }
    }
    for (int c = 0; c < ncols; c++) {
        pad(out, head[c], width[c], right[c]);
        fputs(c + 1 < ncols ? "  " : "\n", out);
        free(head[c]);
    }
    for (size_t r = 0; r < nrows; r++) {
        for (int c = 0; c < ncols; c++) {
            char *t = cell_text(json_object_get(json_array_get(rows, r), cols[c]));
            pad(out, t, c + 1 < ncols ? width[c] : (right[c] ? width[c] : 0), right[c]);
            free(t);
            fputs(c + 1 < ncols ? "  " : "\n", out);
        }
    }
    if (nrows == 0)
        fputs("(none)\n", out);
}

void output_json_line(FILE *out, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT);
    if (!s)
        proto_oom();
    fputs(s, out);
    fputc('\n', out);
    free(s);
}

void output_result(FILE *out, const json_t *result, int json)
{
    const json_t *items = json_object_get(result, "items");
    if (json_is_array(items)) {
        if (json) {
            size_t i;
            json_t *v;
            json_array_foreach(items, i, v)
                output_json_line(out, v);
        } else {
            output_table(out, items, NULL);
        }
        return;
    }
    if (json) {
        output_json_line(out, result);
        return;
    }
    int kw = 0;
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)result, key, v) {
        char *k = output_escape(key);
        int w = output_width(k);
        if (w > kw)
            kw = w;
        free(k);
    }
    json_object_foreach((json_t *)result, key, v) {
        char *k = output_escape(key), *t = cell_text(v);
        pad(out, k, kw, 0);
        fprintf(out, "  %s\n", t);
        free(k);
        free(t);
    }
}
