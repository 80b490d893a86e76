/* c/epoll: one thread, non-blocking sockets, edge-triggered epoll (epoll(7)).

   The whole server is one loop around epoll_wait() (1). Every descriptor the loop cares
   about is in one epoll set: the listening socket, each connection, an eventfd the signal
   thread writes on SIGTERM, an eventfd the offload pool writes when a job is done, and a
   timerfd armed for the earliest /sleep. Nothing blocks except epoll_wait() itself.

   Edge-triggered (EPOLLET) means the kernel reports a change once: "this socket has become
   readable", not "this socket is readable" on every wait. That is why a connection is
   added to the set once, for reading and writing, and never modified (2): no epoll_ctl()
   per request. The price is that the loop must keep the readiness state itself
   (`readable`, `writable`) and honour it: read until recv() says EAGAIN (3), because
   whatever is left in the socket will never be reported again; write until send() says
   EAGAIN, then wait for the EPOLLOUT edge (4); accept until EAGAIN (5). Stopping early (a
   client that pipelines faster than it reads, a request that sleeps) is allowed only if the
   loop remembers to come back: the ready list (6) is those promises.

   Timers (7) are a heap of deadlines behind one timerfd; offload=1 (8) hands the work to a
   pthread pool whose results come back through an eventfd. On SIGTERM (9) the listening
   socket is closed, idle connections are closed, and the rest get GRACE_MS to finish. */
#define _GNU_SOURCE /* accept4 */
#include "epoll.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "conn.h"
#include "offload.h"
#include "server.h"
#include "timers.h"

#define READ_SIZE 16384
#define READS_PER_TURN 16 /* then other clients get a turn (see the ready list) */
#define MAX_EVENTS 256

/* epoll_data for what is not a connection (a connection's is its pointer). */
enum { TAG_LISTENER = 1, TAG_STOP, TAG_POOL, TAG_TIMER };
enum { T_SLEEP, T_LINGER, T_ACCEPT };

struct econn {
    struct conn c;
    struct econn *prev, *next; /* every open connection, for shutdown */
    struct econn *next_ready, *next_dead;
    bool readable, writable;   /* the edges seen and not yet used up */
    bool lingering, closed, queued;
    int refs; /* timers, offload jobs and the ready list that still point here */
};

struct loop {
    int epfd, listener, stop_fd, pool_fd, timer_fd;
    const struct app *app;
    struct pool pool;
    struct timers timers;
    uint64_t timer_armed; /* the deadline the timerfd is set to, 0 if none */
    struct econn *conns, *ready, *dead;
    size_t nconns;
    bool draining, accept_paused;
    uint64_t deadline;
    char scratch[READ_SIZE];
};

static void progress(struct loop *loop, struct econn *c);

static void watch(struct loop *loop, int fd, uint32_t events, epoll_data_t data)
{
    struct epoll_event event = {.events = events, .data = data};
    if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &event) != 0)
        die(1, "epoll_ctl(ADD): %s", strerror(errno));
}

/* --- connection lifetime ------------------------------------------------------------- */

/* A closed connection is freed once nothing points to it, at the end of the loop's turn:
   an event for it may still be waiting in this turn's batch. */
static void release(struct loop *loop, struct econn *c)
{
    if (c->closed && c->refs == 0) {
        c->next_dead = loop->dead;
        loop->dead = c;
    }
}

static void unref(struct loop *loop, struct econn *c)
{
    c->refs--;
    release(loop, c);
}

static void close_conn(struct loop *loop, struct econn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    close(c->c.fd); /* also leaves the epoll set: nothing else refers to the socket */
    conn_free(&c->c);
    if (c->prev)
        c->prev->next = c->next;
    else
        loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    loop->nconns--;
    release(loop, c);
}

static void queue_ready(struct loop *loop, struct econn *c) /* (6) */
{
    if (!c->queued) {
        c->queued = true;
        c->refs++;
        c->next_ready = loop->ready;
        loop->ready = c;
    }
}

/* --- timers (7) ---------------------------------------------------------------------- */

static void arm_timer(struct loop *loop)
{
    uint64_t next = timers_next(&loop->timers);
    if (next == loop->timer_armed)
        return;
    struct itimerspec when = {.it_value = {(time_t)(next / NS_PER_S), (long)(next % NS_PER_S)}};
    timerfd_settime(loop->timer_fd, TFD_TIMER_ABSTIME, &when, NULL); /* 0: disarm */
    loop->timer_armed = next;
}

static void add_timer(struct loop *loop, uint64_t ms, int kind, struct econn *c)
{
    if (c)
        c->refs++;
    timers_push(&loop->timers, now_ns() + ms * NS_PER_MS, kind, c);
    arm_timer(loop);
}

static void accept_clients(struct loop *loop);

static void run_timers(struct loop *loop)
{
    uint64_t expirations;
    while (read(loop->timer_fd, &expirations, sizeof expirations) > 0)
        ;
    loop->timer_armed = 0; /* it fired, so it is disarmed */
    struct timer timer;
    while (timers_pop_due(&loop->timers, now_ns(), &timer)) {
        struct econn *c = timer.data;
        if (timer.kind == T_ACCEPT) {
            loop->accept_paused = false;
            accept_clients(loop);
            continue;
        }
        if (!c->closed && timer.kind == T_SLEEP) {
            struct reply reply;
            sleep_reply(c->c.wait_ms, &reply);
            conn_finish(&c->c, &reply, loop->draining);
            progress(loop, c);
        } else if (!c->closed) { /* T_LINGER: the client did not close in time */
            close_conn(loop, c);
        }
        unref(loop, c);
    }
    arm_timer(loop);
}

/* --- what a request waits for: a timer, or the pool (8) ------------------------------ */

static void sleep_on_timer(void *loop, struct conn *conn, uint32_t ms)
{
    add_timer(loop, ms, T_SLEEP, (struct econn *)conn);
}

static void offload_to_pool(void *arg, struct conn *conn, const struct work *work)
{
    struct loop *loop = arg;
    struct job *job = malloc(sizeof *job);
    if (job == NULL)
        die(1, "out of memory (an offload job)");
    job->work = *work;
    job->owner = conn;
    ((struct econn *)conn)->refs++;
    pool_submit(&loop->pool, job);
}

static const struct conn_waits WAITS = {sleep_on_timer, offload_to_pool};

static void finish_offloaded(struct loop *loop)
{
    uint64_t count;
    while (read(loop->pool_fd, &count, sizeof count) > 0)
        ;
    for (struct job *job = pool_take_done(&loop->pool), *next; job; job = next) {
        next = job->next;
        struct econn *c = job->owner;
        if (!c->closed) {
            conn_finish(&c->c, &job->reply, loop->draining);
            progress(loop, c);
        }
        unref(loop, c);
        free(job);
    }
}

/* --- moving bytes -------------------------------------------------------------------- */

static void accept_clients(struct loop *loop)
{
    while (loop->listener >= 0 && !loop->accept_paused) { /* (5) until EAGAIN */
        int fd = accept4(loop->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return;
            if (errno == EINTR || errno == ECONNABORTED || errno == EPROTO)
                continue;
            /* EMFILE and friends: the edge that announced these clients will not come
               again, so come back on a timer rather than wait for the next client. */
            log_limited("accept() failed: %s; pausing accepts for 100 ms", strerror(errno));
            loop->accept_paused = true;
            add_timer(loop, 100, T_ACCEPT, NULL);
            return;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct econn *c = calloc(1, sizeof *c);
        if (c == NULL)
            die(1, "out of memory (a connection)");
        conn_init(&c->c, fd);
        c->writable = true;
        c->next = loop->conns;
        if (loop->conns)
            loop->conns->prev = c;
        loop->conns = c;
        loop->nconns++;
        /* (2) Once, for reading and writing, edge-triggered: never modified afterwards. */
        watch(loop, fd, EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, (epoll_data_t){.ptr = c});
    }
}

/* send() until everything is sent or the socket is full. false: the connection closed. */
static bool flush(struct loop *loop, struct econn *c)
{
    while (conn_unsent(&c->c)) {
        ssize_t n = send(c->c.fd, c->c.out.data + c->c.sent, conn_unsent(&c->c), MSG_NOSIGNAL);
        if (n >= 0) {
            conn_sent(&c->c, (size_t)n);
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            c->writable = false; /* (4) until the EPOLLOUT edge */
            return true;
        } else if (errno != EINTR) {
            close_conn(loop, c);
            return false;
        }
    }
    return true;
}

/* We close: send our FIN, then read and drop what the client still sends until it closes
   too (or LINGER_MS pass). Closing a socket with unread bytes in it makes the kernel send
   RST, which can destroy the response still on its way (a 413 while the client is still
   sending its body). */
static void drain(struct loop *loop, struct econn *c)
{
    while (c->readable) {
        ssize_t n = recv(c->c.fd, loop->scratch, sizeof loop->scratch, 0);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->readable = false;
        } else if (n <= 0 && !(n < 0 && errno == EINTR)) {
            close_conn(loop, c); /* the client has closed: it has everything */
            return;
        }
    }
}

static void linger(struct loop *loop, struct econn *c)
{
    if (loop->draining || shutdown(c->c.fd, SHUT_WR) != 0) {
        close_conn(loop, c); /* shutting down: no time for that */
        return;
    }
    c->lingering = true;
    add_timer(loop, LINGER_MS, T_LINGER, c);
    drain(loop, c);
}

/* Take a connection as far as it goes without waiting: send, start requests, read. */
static void progress(struct loop *loop, struct econn *c)
{
    int reads = READS_PER_TURN;
    while (!c->closed) {
        if (conn_unsent(&c->c) && (!c->writable || !flush(loop, c) || conn_unsent(&c->c)))
            return; /* the client is not taking our output: read nothing more from it */
        if (c->lingering) {
            drain(loop, c);
            return;
        }
        if (c->c.closing) {
            linger(loop, c);
            return;
        }
        conn_start_requests(&c->c, loop->app, &WAITS, loop, loop->draining);
        if (conn_unsent(&c->c) || c->c.closing)
            continue;
        if (c->c.busy)
            return; /* conn_finish() brings it back */
        if (loop->draining) {
            close_conn(loop, c); /* shutting down, and this one is idle now */
            return;
        }
        if (!c->readable) {
            conn_trim(&c->c);
            return; /* until the next EPOLLIN edge */
        }
        if (reads-- == 0) {
            queue_ready(loop, c); /* (6) more to read, but others first */
            return;
        }
        ssize_t n = recv(c->c.fd, loop->scratch, sizeof loop->scratch, 0); /* (3) */
        if (n > 0) {
            parser_feed(&c->c.parser, loop->scratch, (size_t)n);
        } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            c->readable = false; /* empty: the next edge comes with new data */
        } else if (!(n < 0 && errno == EINTR)) {
            close_conn(loop, c); /* the client has gone */
        }
        /* (3') A `return` after one recv() is the classic edge-triggered bug: what is left
           in the socket is never reported again, and the client waits forever. */
    }
}

/* --- the loop ------------------------------------------------------------------------ */

static void shut_down(struct loop *loop) /* (9) */
{
    uint64_t count;
    while (read(loop->stop_fd, &count, sizeof count) > 0)
        ;
    if (loop->draining)
        return;
    loop->draining = true;
    loop->deadline = now_ns() + GRACE_MS * NS_PER_MS;
    close(loop->listener); /* new clients are refused by the kernel from now on */
    loop->listener = -1;
    for (struct econn *c = loop->conns, *next; c; c = next) {
        next = c->next;
        if (c->lingering || (!c->c.busy && !conn_unsent(&c->c)))
            close_conn(loop, c);
    }
}

static void dispatch(struct loop *loop, const struct epoll_event *event)
{
    switch (event->data.u64) {
    case TAG_LISTENER:
        accept_clients(loop);
        return;
    case TAG_STOP:
        shut_down(loop);
        return;
    case TAG_POOL:
        finish_offloaded(loop);
        return;
    case TAG_TIMER:
        run_timers(loop);
        return;
    }
    struct econn *c = event->data.ptr;
    if (c->closed)
        return; /* closed earlier in this turn */
    if (event->events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        c->readable = true;
    if (event->events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        c->writable = true;
    progress(loop, c);
}

static void end_of_turn(struct loop *loop)
{
    struct econn *ready = loop->ready;
    loop->ready = NULL;
    for (struct econn *c = ready, *next; c; c = next) {
        next = c->next_ready;
        c->queued = false;
        if (!c->closed)
            progress(loop, c);
        unref(loop, c);
    }
    for (struct econn *c = loop->dead, *next; c; c = next) {
        next = c->next_dead;
        free(c);
    }
    loop->dead = NULL;
}

static int eventfd_or_die(void)
{
    int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0)
        die(1, "eventfd: %s", strerror(errno));
    return fd;
}

/* After the loop: everything closed and freed, unless an offloaded job is still running
   (past the grace period): then the process leaves with it, and what it holds stays
   reachable from here. */
static struct loop *left_running;

static void clean_up(struct loop *loop)
{
    while (loop->conns)
        close_conn(loop, loop->conns);
    struct timer timer;
    while (timers_pop_due(&loop->timers, UINT64_MAX, &timer))
        if (timer.data)
            unref(loop, timer.data);
    end_of_turn(loop);
    if (!pool_stop(&loop->pool, 100)) {
        left_running = loop;
        return;
    }
    for (struct job *job = pool_take_done(&loop->pool), *next; job; job = next) {
        next = job->next;
        unref(loop, job->owner);
        free(job);
    }
    end_of_turn(loop);
    timers_free(&loop->timers);
    close(loop->timer_fd);
    close(loop->pool_fd);
    close(loop->stop_fd);
    close(loop->epfd);
    free(loop);
}

int epoll_serve(int listener, const struct app *app, int offload_threads)
{
    struct loop *loop = calloc(1, sizeof *loop);
    if (loop == NULL)
        die(1, "out of memory (the loop)");
    loop->app = app;
    loop->listener = listener;
    loop->epfd = epoll_create1(EPOLL_CLOEXEC);
    loop->stop_fd = eventfd_or_die();
    loop->pool_fd = eventfd_or_die();
    loop->timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (loop->epfd < 0 || loop->timer_fd < 0)
        die(1, "epoll_create1 or timerfd_create: %s", strerror(errno));
    watch_stop_signals(loop->stop_fd);
    pool_start(&loop->pool, offload_threads, loop->pool_fd);
    watch(loop, listener, EPOLLIN | EPOLLET, (epoll_data_t){.u64 = TAG_LISTENER});
    watch(loop, loop->stop_fd, EPOLLIN | EPOLLET, (epoll_data_t){.u64 = TAG_STOP});
    watch(loop, loop->pool_fd, EPOLLIN | EPOLLET, (epoll_data_t){.u64 = TAG_POOL});
    watch(loop, loop->timer_fd, EPOLLIN | EPOLLET, (epoll_data_t){.u64 = TAG_TIMER});

    struct epoll_event events[MAX_EVENTS];
    while (!loop->draining || (loop->nconns && now_ns() < loop->deadline)) {
        int timeout = -1;
        uint64_t now = now_ns();
        if (loop->ready || (loop->draining && now >= loop->deadline))
            timeout = 0;
        else if (loop->draining)
            timeout = (int)((loop->deadline - now) / NS_PER_MS) + 1;
        int n = epoll_wait(loop->epfd, events, MAX_EVENTS, timeout); /* (1) */
        if (n < 0 && errno != EINTR)
            die(1, "epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++)
            dispatch(loop, &events[i]);
        end_of_turn(loop);
    }
    clean_up(loop);
    return 0;
}
