/* c/epoll-workers: one epoll loop per CPU, each in its own process with its own listening
   socket, all bound to one port with SO_REUSEPORT: nginx's model (`listen ... reuseport`,
   `worker_processes auto`).

   (1) The parent opens WORKERS listening sockets on the same address and port, each with
   SO_REUSEPORT set before bind(). The kernel spreads new connections over them by a hash
   of the connection's addresses and ports; each socket has its own accept queue, so the
   workers never contend for a shared one (no thundering herd, no accept lock).
   (2) It forks a worker per socket; the worker closes the other sockets and runs the c/epoll
   loop unchanged (epoll.c). Nothing is shared between workers, so nothing is locked.
   (3) The parent only supervises: it restarts a worker that dies, as nginx's master does,
   and on SIGTERM closes its copies of the sockets, passes the signal on and waits.

   The price of the hash: a connection belongs to the worker its hash picked. While a worker
   spins in an inline /cpu, the clients hashed to it wait, even if another worker is idle;
   python/prefork, whose workers accept() from one shared socket, lets an idle worker take
   the next client. */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "app.h"
#include "buf.h"
#include "epoll.h"
#include "offload.h"
#include "server.h"

struct workers {
    int count, offload_threads;
    int *listeners;
    pid_t *pids; /* 0: not running */
    pid_t parent;
};

static pid_t start_worker(const struct workers *w, int i)
{
    pid_t pid = fork(); /* (2) */
    if (pid < 0) {
        log_limited("cannot start worker %d: fork: %s", i, strerror(errno));
        return 0;
    }
    if (pid > 0)
        return pid;
    prctl(PR_SET_PDEATHSIG, SIGTERM); /* leave with the parent, even if it is killed */
    if (getppid() != w->parent)
        _exit(0);
    for (int j = 0; j < w->count; j++)
        if (j != i)
            close(w->listeners[j]);
    sigset_t child;
    sigemptyset(&child);
    sigaddset(&child, SIGCHLD);
    sigprocmask(SIG_UNBLOCK, &child, NULL);
    struct app app;
    app_init(&app, "epoll-workers", i, (const char *const[]){"WORKERS", "OFFLOAD_THREADS", NULL},
             (const int[]){w->count, w->offload_threads}, EPOLL_OFFLOAD);
    exit(epoll_serve(w->listeners[i], &app, w->offload_threads));
}

static void describe_exit(int status, char *text, size_t cap)
{
    if (WIFSIGNALED(status))
        snprintf(text, cap, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(text, cap, "exited with status %d", WEXITSTATUS(status));
}

/* Reap every worker that has ended; restart them unless the server is stopping. */
static int reap(struct workers *w, bool restart)
{
    int status, running = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        for (int i = 0; i < w->count; i++) {
            if (w->pids[i] != pid)
                continue;
            w->pids[i] = 0;
            if (restart) {
                char how[96];
                describe_exit(status, how, sizeof how);
                log_limited("worker %d (pid %d) %s; starting another", i, (int)pid, how);
                w->pids[i] = start_worker(w, i);
            }
        }
    }
    for (int i = 0; i < w->count; i++)
        running += w->pids[i] != 0;
    return running;
}

int main(void)
{
    server_target = "c/epoll-workers";
    block_stop_signals();
    sigset_t waited;
    sigemptyset(&waited);
    sigaddset(&waited, SIGTERM);
    sigaddset(&waited, SIGINT);
    sigaddset(&waited, SIGCHLD);
    sigprocmask(SIG_BLOCK, &waited, NULL);

    struct workers w = {.count = knob("WORKERS", cpus_allowed()),
                        .offload_threads = knob("OFFLOAD_THREADS", DEFAULT_OFFLOAD_THREADS),
                        .parent = getpid()};
    w.listeners = calloc((size_t)w.count, sizeof *w.listeners);
    w.pids = calloc((size_t)w.count, sizeof *w.pids);
    if (w.listeners == NULL || w.pids == NULL)
        die(1, "out of memory (%d workers)", w.count);
    w.listeners[0] = listen_on(true, 0); /* (1) PORT may be 0: the others take its port */
    for (int i = 1; i < w.count; i++)
        w.listeners[i] = listen_on(true, bound_port(w.listeners[0]));
    for (int i = 0; i < w.count; i++)
        w.pids[i] = start_worker(&w, i);
    char extra[64];
    snprintf(extra, sizeof extra, ", %d workers", w.count);
    announce(w.listeners[0], extra);

    int signum; /* (3) */
    while (sigwait(&waited, &signum) == 0 && signum == SIGCHLD)
        reap(&w, true);

    for (int i = 0; i < w.count; i++)
        close(w.listeners[i]);
    for (int i = 0; i < w.count; i++)
        if (w.pids[i])
            kill(w.pids[i], SIGTERM);
    /* Each worker leaves within HARD_EXIT_MS on its own; a little more, then SIGKILL. */
    uint64_t deadline = now_ns() + (HARD_EXIT_MS + 150) * NS_PER_MS;
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    for (uint64_t now; reap(&w, false) && (now = now_ns()) < deadline;) {
        struct timespec wait = {(time_t)((deadline - now) / NS_PER_S),
                                (long)((deadline - now) % NS_PER_S)};
        sigtimedwait(&chld, NULL, &wait);
    }
    for (int i = 0; i < w.count; i++)
        if (w.pids[i])
            kill(w.pids[i], SIGKILL);
    while (waitpid(-1, NULL, 0) > 0)
        ;
    free(w.listeners);
    free(w.pids);
    return 0;
}
