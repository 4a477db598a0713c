/*
 * notifyrecv - a NOTIFY_SOCKET of a test's own (no systemd in the test
 * machine): binds a unix datagram socket at PATH and prints every line of
 * every message it receives, as "MS LINE" (MS: ms since the epoch, comparable
 * with `date +%s%3N`), flushed at once.
 *
 *   notifyrecv PATH [SECONDS]
 *
 * Ends on SIGTERM or SIGINT, or after SECONDS (default 120); removes PATH.
 * Exit 0, 1 when the socket cannot be made, 2 on usage.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Print each line of msg (n bytes) with the time it arrived. */
static void print_lines(const char *msg, size_t n)
{
    long long at = now_ms();
    size_t start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || msg[i] == '\n') {
            if (i > start)
                printf("%lld %.*s\n", at, (int)(i - start), msg + start);
            start = i + 1;
        }
    }
    fflush(stdout);
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: notifyrecv PATH [SECONDS]\n");
        return 2;
    }
    long long seconds = argc == 3 ? atoll(argv[2]) : 120;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(argv[1]) >= sizeof sa.sun_path || seconds < 1) {
        fprintf(stderr, "notifyrecv: path too long or bad SECONDS\n");
        return 2;
    }
    memcpy(sa.sun_path, argv[1], strlen(argv[1]) + 1);
    struct sigaction act = {0};
    act.sa_handler = on_signal;
    sigemptyset(&act.sa_mask);
    if (sigaction(SIGTERM, &act, NULL) != 0 || sigaction(SIGINT, &act, NULL) != 0)
        return 1;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    (void)unlink(argv[1]);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
        fprintf(stderr, "notifyrecv: %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    long long end = mono_ms() + seconds * 1000;
    char buf[4096];
    while (!stop && mono_ms() < end) {
        struct pollfd p = {fd, POLLIN, 0};
        int rc = poll(&p, 1, 200);
        if (rc < 0 && errno != EINTR) {
            fprintf(stderr, "notifyrecv: poll: %s\n", strerror(errno));
            break;
        }
        if (rc <= 0)
            continue;
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n > 0)
            print_lines(buf, (size_t)n);
    }
    close(fd);
    (void)unlink(argv[1]);
    return 0;
}
