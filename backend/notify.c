/*
 * notify.c - sd_notify for a worker under systemd (see notify.h).
 */
#include "notify.h"
#include "log.h"
#include "proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

static long long watchdog_every_ms;   /* 0: no watchdog asked for */
static long long watchdog_next;
static int warned;

/* sd_notify: > 0 sent, 0 no NOTIFY_SOCKET (nothing to do), < 0 failed. */
static void send_state(const char *state)
{
    int rc = sd_notify(0, state);
    if (rc < 0 && !warned) {
        warned = 1;
        log_warn("sd_notify: %s", strerror(-rc));
    }
}

void notify_init(void)
{
    uint64_t usec = 0;
    int rc = sd_watchdog_enabled(0, &usec);
    if (rc < 0)
        log_warn("sd_watchdog_enabled: %s (no watchdog pings)", strerror(-rc));
    watchdog_every_ms = rc > 0 ? (long long)(usec / 4000) : 0;
    if (rc > 0 && watchdog_every_ms < 1)
        watchdog_every_ms = 1;
    watchdog_next = 0;
}

/* "PREFIX\nSTATUS=status" into one datagram. */
static void send_with_status(const char *prefix, const char *status)
{
    char msg[1024];
    snprintf(msg, sizeof msg, "%s%sSTATUS=%s", prefix, prefix[0] ? "\n" : "", status);
    send_state(msg);
}

void notify_ready(const char *status)
{
    send_with_status("READY=1", status);
}

void notify_status(const char *status)
{
    send_with_status("", status);
}

void notify_watchdog(void)
{
    if (!watchdog_every_ms)
        return;
    long long now = proto_mono_ms();
    if (now < watchdog_next)
        return;
    watchdog_next = now + watchdog_every_ms;
    send_state("WATCHDOG=1");
}

void notify_stopping(const char *status)
{
    send_with_status("STOPPING=1", status);
}
