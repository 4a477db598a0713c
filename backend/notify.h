/*
 * notify.h - the worker's word to systemd (sd_notify(3)), for a worker run
 * by a Type=notify unit (scripts/systemd/counterd@.service.in): READY=1 once
 * it is ready (caught up, DESIGN section 6), STATUS= lines, WATCHDOG=1 from
 * the main loop, STOPPING=1 on the way out. Without NOTIFY_SOCKET in the
 * environment nothing is sent. Main thread only; a failed send is logged
 * (once per kind) and otherwise ignored: the worker serves on.
 */
#ifndef NOTIFY_H
#define NOTIFY_H

/* Read the watchdog interval (WATCHDOG_USEC, sd_watchdog_enabled). */
void notify_init(void);

/* READY=1 with a STATUS= line; status is copied. */
void notify_ready(const char *status);
void notify_status(const char *status);

/* Call every loop pass: WATCHDOG=1 when a quarter of the interval passed
 * since the last one (so at least every WatchdogSec/2 while the loop runs). */
void notify_watchdog(void);

/* STOPPING=1 with a STATUS= line. */
void notify_stopping(const char *status);

#endif
