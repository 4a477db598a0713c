/*
 * launch.h - start a counterd process (the supervisor, or a worker) without
 * fork: posix_spawn, so no copy of a process that holds a ZeroMQ context.
 * Used by `counter backend start` (tui/backend_ctl.c) and by the supervisor
 * (backend/supervisor.c).
 */
#ifndef LAUNCH_H
#define LAUNCH_H

#include <stddef.h>
#include <sys/types.h>

/* Run `bin ARG` (argv[0] "counterd") with envp (borrowed) in its own session,
 * with an empty signal mask and SIGTERM, SIGINT, SIGPIPE at their defaults,
 * standard input /dev/null and standard output and error appended to logpath
 * (made 0600). Returns its pid, or -1 with the reason in err. */
pid_t launch_counterd(const char *bin, const char *arg, const char *logpath, char *const envp[],
                     char *err, size_t errlen);

#endif
