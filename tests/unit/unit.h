/*
 * unit.h - the smallest test harness that does the job: one line per case.
 *
 *     case_begin("validate %s: missing %s", cmd, field);
 *     CHECK_INT("return code", rc, -1);
 *     CHECK_STR("err.field", err.field, "name");
 *     case_end();
 *
 * prints "ok - NAME", or "FAIL - NAME: WHAT got X, expected Y" with the first
 * check that failed (later failures of the same case are counted, not
 * printed). unit_exit() repeats the names of failed cases, prints
 * "# N passed, N failed" and returns the exit status: 0 when every case
 * passed. Header-only: each test binary includes it
 * once.
 */
#ifndef UNIT_H
#define UNIT_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static struct {
    char name[256];
    char why[768];
    int open;
    int failed;     /* checks failed in the current case */
    int passed_cases;
    int failed_cases;
    char failed_names[16][256];   /* repeated at the end, for runners that show the tail */
} unit_;

static void case_begin(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void case_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void case_begin(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(unit_.name, sizeof unit_.name, fmt, ap);
    va_end(ap);
    unit_.open = 1;
    unit_.failed = 0;
    unit_.why[0] = '\0';
}

/* Record a failure of the current case; the first one is the one printed. */
static void case_fail(const char *fmt, ...)
{
    if (unit_.failed++ == 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(unit_.why, sizeof unit_.why, fmt, ap);
        va_end(ap);
    }
}

/* Print the case's line; returns 1 when it passed. */
static int case_end(void)
{
    if (!unit_.open)
        return 0;
    unit_.open = 0;
    if (unit_.failed == 0) {
        printf("ok - %s\n", unit_.name);
        unit_.passed_cases++;
    } else {
        printf("FAIL - %s: %s", unit_.name, unit_.why);
        if (unit_.failed > 1)
            printf(" (and %d more failed checks)", unit_.failed - 1);
        printf("\n");
        if (unit_.failed_cases < 16)
            memcpy(unit_.failed_names[unit_.failed_cases], unit_.name, sizeof unit_.name);
        unit_.failed_cases++;
    }
    fflush(stdout);
    return unit_.failed == 0;
}

static int unit_exit(void)
{
    for (int i = 0; i < unit_.failed_cases && i < 16; i++)
        printf("# failed: %s\n", unit_.failed_names[i]);
    printf("# %d passed, %d failed\n", unit_.passed_cases, unit_.failed_cases);
    fflush(stdout);
    return unit_.failed_cases == 0 && unit_.passed_cases > 0 ? 0 : 1;
}

/* Shows a possibly NULL string in messages. */
#define UNIT_S(s) ((s) ? (s) : "(null)")

#define CHECK(what, cond)                                                                        \
    do {                                                                                         \
        if (!(cond))                                                                             \
            case_fail("%s: got false, expected true (%s)", (what), #cond);                       \
    } while (0)

#define CHECK_INT(what, got, want)                                                               \
    do {                                                                                         \
        long long g_ = (long long)(got), w_ = (long long)(want);                                 \
        if (g_ != w_)                                                                            \
            case_fail("%s: got %lld, expected %lld", (what), g_, w_);                            \
    } while (0)

#define CHECK_STR(what, got, want)                                                               \
    do {                                                                                         \
        const char *g_ = (got), *w_ = (want);                                                    \
        if (!g_ || !w_ || strcmp(g_, w_) != 0)                                                   \
            case_fail("%s: got \"%s\", expected \"%s\"", (what), UNIT_S(g_), UNIT_S(w_));        \
    } while (0)

#endif
