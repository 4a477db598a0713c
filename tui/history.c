/*
 * history.c - the shop's past events, merged by time (see history.h).
 */
#include "history.h"
#include "proto.h"

#include <stdlib.h>
#include <string.h>

static int by_time(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(jstr(x, "timestamp"), jstr(y, "timestamp"));
    if (c)
        return c;
    c = strcmp(jstr(x, "publisher"), jstr(y, "publisher"));
    if (c)
        return c;
    return jint(x, "seq") < jint(y, "seq") ? -1 : jint(x, "seq") > jint(y, "seq");
}

/* One publisher's events after src->after up to src->upto, page by page. */
static void load_one(history_src_t *src, int page, json_t *all, history_call_fn call, void *arg)
{
    src->last = src->after;
    src->failed = 0;
    for (;;) {
        json_t *res;
        if (call(arg, src->publisher,
                 json_pack("{s:I, s:i}", "after", (json_int_t)src->last, "limit", page), &res) != 0) {
            src->failed = 1;
            return;
        }
        json_t *evs = json_object_get(res, "events");
        size_t n = json_array_size(evs), k;
        json_t *ev;
        json_array_foreach(evs, k, ev) {
            long long seq = jint(ev, "seq");
            if (all && seq <= src->upto && json_array_append(all, ev) != 0)
                proto_oom();
            src->last = seq;
        }
        json_decref(res);
        if (n < (size_t)page || src->last >= src->upto)
            return;
    }
}

json_t *history_load(history_src_t *src, int n, int page, int keep, history_call_fn call, void *arg)
{
    json_t *all = proto_nonnull(json_array());
    for (int i = 0; i < n; i++)
        load_one(&src[i], page, keep ? all : NULL, call, arg);
    size_t count = json_array_size(all);
    json_t **v = xcalloc(count, sizeof *v);
    for (size_t i = 0; i < count; i++)
        v[i] = json_array_get(all, i);
    qsort(v, count, sizeof *v, by_time);
    json_t *sorted = proto_nonnull(json_array());
    for (size_t i = 0; i < count; i++)
        if (json_array_append(sorted, v[i]) != 0)
            proto_oom();
    free(v);
    json_decref(all);
    return sorted;
}
