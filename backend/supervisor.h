/*
 * supervisor.h - `counterd supervise`: the local supervisor (DESIGN section 6).
 *
 * One per shop (it holds run/supervisor.lock for its life). It starts the
 * workers it is asked to start, restarts one that exits (backoff 100 ms
 * doubling to 5 s; after 5 exits within 60 s the service is "failed" until the
 * next start of it), probes each worker's health every second and kills
 * (SIGKILL) and restarts one that has not answered for supervisor.stuck_ms.
 *
 * Control channel: a ZeroMQ REP socket at ipc://$COUNTER_HOME/run/supervisor.ctl
 * (a file in the shop's 0700 run folder). One JSON object per request, one per
 * reply; requests: {"cmd":"start","service":S,"env":["COUNTER_X=1",...]},
 * {"cmd":"stop","service":S}, {"cmd":"status"}, {"cmd":"shutdown"}. A worker
 * started through "start" runs with exactly those COUNTER_* variables (the
 * caller's), also when it is restarted.
 */
#ifndef SUPERVISOR_H
#define SUPERVISOR_H

/* Runs until SIGTERM, SIGINT or a "shutdown" request; stops its workers
 * first. Returns the process's exit status. */
int supervisor_run(void);

#endif
