/* @NAME@/threads: a skeleton of a lab server (runtimes/SPEC.md), a detached POSIX thread
 * per connection. It answers GET /ping and 404s everything else. TODO, until
 * `uv run invoke lab.verify --target @NAME@` passes: /info, /cpu, /work, /hash, /sleep,
 * offload=1, parameter checks, 405 with Allow, 400 for malformed requests, request
 * bodies and the limits (431, 413), and finishing in-flight requests on SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#define HEAD_MAX 8192

static volatile sig_atomic_t stopping;

static void on_signal(int signum) {
    (void)signum;
    stopping = 1;
}

static int write_all(int fd, const char *data, size_t len) {
    while (len > 0) {
        ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

static int respond(int fd, int status, const char *reason, const char *type, const char *body,
                   int close_after) {
    char head[256];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s\r\n",
                     status, reason, type, strlen(body),
                     close_after ? "Connection: close\r\n" : "");
    if (write_all(fd, head, (size_t)n) < 0)
        return -1;
    return write_all(fd, body, strlen(body));
}

/* Whether the request head (NUL-terminated) has Connection: close. */
static int wants_close(const char *head) {
    for (const char *line = strstr(head, "\r\n"); line; line = strstr(line + 2, "\r\n")) {
        if (strncasecmp(line + 2, "connection:", 11) == 0) {
            const char *value = line + 13;
            while (*value == ' ' || *value == '\t')
                value++;
            return strncasecmp(value, "close", 5) == 0;
        }
    }
    return 0;
}

/* One connection: read a request head, answer it, repeat (keep-alive). */
static void *serve(void *arg) {
    int fd = (int)(intptr_t)arg;
    char buf[HEAD_MAX + 1];
    size_t used = 0;
    for (;;) {
        char *end;
        buf[used] = '\0';
        while ((end = strstr(buf, "\r\n\r\n")) == NULL) {
            if (used == HEAD_MAX) {
                respond(fd, 431, "Request Header Fields Too Large", "application/json",
                        "{\"error\": \"the request head is too large\"}", 1);
                goto done;
            }
            ssize_t n = recv(fd, buf + used, HEAD_MAX - used, 0);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                goto done;
            used += (size_t)n;
            buf[used] = '\0';
        }
        *end = '\0';
        char method[16], target[2048];
        int close_after = wants_close(buf);
        if (sscanf(buf, "%15s %2047s", method, target) != 2) {
            respond(fd, 400, "Bad Request", "application/json",
                    "{\"error\": \"malformed request line\"}", 1);
            goto done;
        }
        char *query = strchr(target, '?');
        if (query)
            *query = '\0';
        int failed = strcmp(method, "GET") == 0 && strcmp(target, "/ping") == 0
            ? respond(fd, 200, "OK", "text/plain; charset=utf-8", "pong", close_after)
            : respond(fd, 404, "Not Found", "application/json", "{\"error\": \"not found\"}",
                      close_after);
        if (failed || close_after)
            goto done;
        size_t consumed = (size_t)(end + 4 - buf);
        memmove(buf, buf + consumed, used - consumed);
        used -= consumed;
    }
done:
    close(fd);
    return NULL;
}

int main(void) {
    const char *host = getenv("HOST") ? getenv("HOST") : "127.0.0.1";
    int port = getenv("PORT") ? atoi(getenv("PORT")) : 8080;
    struct sigaction action = {.sa_handler = on_signal};  /* no SA_RESTART: accept() stops */
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);

    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    if (inet_pton(AF_INET, host, &addr.sin_addr) != 1) {
        fprintf(stderr, "HOST %s is not an IPv4 address\n", host);
        return 2;
    }
    if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(listener, 4096) < 0) {
        perror("bind or listen");
        return 1;
    }
    fprintf(stderr, "@NAME@/threads listening on http://%s:%d (pid %d)\n", host, port,
            (int)getpid());

    /* Connection threads start with SIGTERM and SIGINT blocked, so the signal interrupts
     * this thread's accept(). */
    sigset_t signals, previous;
    sigemptyset(&signals);
    sigaddset(&signals, SIGTERM);
    sigaddset(&signals, SIGINT);
    pthread_attr_t detached;
    pthread_attr_init(&detached);
    pthread_attr_setdetachstate(&detached, PTHREAD_CREATE_DETACHED);
    while (!stopping) {
        int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EINTR && errno != ECONNABORTED)
                perror("accept");
            continue;
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        pthread_t thread;
        pthread_sigmask(SIG_BLOCK, &signals, &previous);
        if (pthread_create(&thread, &detached, serve, (void *)(intptr_t)fd) != 0)
            close(fd);
        pthread_sigmask(SIG_SETMASK, &previous, NULL);
    }
    close(listener);
    return 0;  /* TODO: let in-flight requests finish first (SPEC section 1) */
}
