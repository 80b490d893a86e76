#define _GNU_SOURCE /* sched_getaffinity, CPU_COUNT */
#include "server.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"

const char *server_target = "c";

_Noreturn void die(int status, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s: ", server_target);
    vfprintf(stderr, format, args);
    fputc('\n', stderr);
    va_end(args);
    exit(status);
}

int cpus_allowed(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return CPU_COUNT(&set);
}

int knob(const char *name, int fallback)
{
    const char *raw = getenv(name);
    if (raw == NULL)
        return fallback;
    long value = 0;
    bool valid = *raw != '\0' && strlen(raw) <= 9;
    for (const char *c = raw; valid && *c; c++) {
        valid = *c >= '0' && *c <= '9';
        value = value * 10 + (*c - '0');
    }
    if (!valid || value < 1)
        die(2, "invalid %s='%s': %s must be an integer >= 1", name, raw, name);
    return (int)value;
}

int listen_on(bool reuseport, int port)
{
    const char *host = getenv("HOST") ? getenv("HOST") : "127.0.0.1";
    const char *port_text = getenv("PORT") ? getenv("PORT") : "8080";
    char port_buf[16];
    if (port) {
        snprintf(port_buf, sizeof port_buf, "%d", port);
        port_text = port_buf;
    }
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *found;
    int error = getaddrinfo(host, port_text, &hints, &found);
    if (error)
        die(1, "cannot listen on %s:%s: %s (HOST must be an address, PORT a TCP port)", host,
            port_text, gai_strerror(error));
    int fd = socket(found->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) ||
        bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, BACKLOG) != 0)
        die(1, "cannot listen on %s:%s: %s", host, port_text, strerror(errno));
    freeaddrinfo(found);
    return fd;
}

int bound_port(int fd)
{
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    return addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
                                      : ntohs(((struct sockaddr_in *)&addr)->sin_port);
}

void announce(int fd, const char *extra)
{
    char host[NI_MAXHOST];
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    getsockname(fd, (struct sockaddr *)&addr, &len);
    getnameinfo((struct sockaddr *)&addr, len, host, sizeof host, NULL, 0, NI_NUMERICHOST);
    bool v6 = addr.ss_family == AF_INET6;
    fprintf(stderr, "%s listening on http://%s%s%s:%d (pid %d)%s\n", server_target,
            v6 ? "[" : "", host, v6 ? "]" : "", bound_port(fd), (int)getpid(), extra);
    fflush(stderr);
}

static sigset_t stop_set(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    return set;
}

void block_stop_signals(void)
{
    sigset_t set = stop_set();
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN); /* a client gone mid-response is an error code, not a death */
}

static void *stop_watcher(void *arg)
{
    int wake_fd = (int)(intptr_t)arg;
    sigset_t set = stop_set();
    int signum;
    while (sigwait(&set, &signum) != 0)
        ;
    uint64_t one = 1;
    if (write(wake_fd, &one, sizeof one) < 0)
        perror("write(stop eventfd)");
    struct timespec hard = {HARD_EXIT_MS / 1000, (HARD_EXIT_MS % 1000) * 1000000L};
    while (nanosleep(&hard, &hard) != 0)
        ;
    _exit(0);
}

void watch_stop_signals(int wake_fd)
{
    pthread_t thread;
    int error = pthread_create(&thread, NULL, stop_watcher, (void *)(intptr_t)wake_fd);
    if (error)
        die(1, "cannot start the signal thread: %s", strerror(error));
    pthread_detach(thread);
}

void log_limited(const char *format, ...)
{
    static uint64_t last;
    static int held;
    uint64_t now = now_ns();
    if (last && now - last < NS_PER_S) {
        held++;
        return;
    }
    va_list args;
    va_start(args, format);
    fprintf(stderr, "%s: ", server_target);
    vfprintf(stderr, format, args);
    va_end(args);
    if (held)
        fprintf(stderr, " (and %d more in the last second)", held);
    fputc('\n', stderr);
    last = now;
    held = 0;
}
