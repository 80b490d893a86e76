/* c/io_uring: completion-based I/O with liburing; no epoll anywhere.

   epoll answers "which sockets are ready?", and the loop then makes the calls itself
   (accept, recv, send). io_uring turns that around: the loop *submits* the operations it
   wants (accept on this socket, recv from that one, send these bytes) into a ring it shares
   with the kernel, and the kernel *completes* them: each completion is a record in a second
   ring with the operation's result (what the system call would have returned) and the
   user_data the loop attached to it (1). One io_uring_enter() both submits everything
   prepared since the last one and waits for completions (2): a turn of the loop costs one
   system call, however many sockets it serves.

   What the kernel offers is probed at start-up and reported on stderr and in /info:
   - multishot accept (Linux 5.19): one submission accepts client after client (3); the
     plain fallback submits a new accept after each client;
   - a provided buffer ring (5.19): the loop lends the kernel a ring of buffers and a recv
     picks one only when data arrives (4). A plain recv must own its buffer from the moment
     it is submitted, so every idle connection holds one (the fallback: 4 KiB each);
   - single issuer + deferred task running (6.1): the kernel does the completion work when
     the loop asks for completions, instead of interrupting it.
   `--plain` turns all three off, to show (and test) the fallback on any kernel; the server
   then calls itself c/io_uring-plain. `--probe` prints what would be used, then exits.

   Sends (5) go straight from the connection's output buffer, one in flight at a time;
   no new request starts before it completes, because the buffer must not move while the
   kernel may still read it. /sleep is a timeout submission (6): a timer that completes like
   any other operation. offload=1 (7): a read of the pool's eventfd completes when a job is
   done. SIGTERM (8): the signal thread's eventfd is read the same way.

   An operation in flight points to its connection, so a connection is freed only when its
   last operation has completed (`ops`); closing one means cancelling what it has in
   flight (9). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "app.h"
#include "conn.h"
#include "offload.h"
#include "server.h"
#include "uring.h"

#define RING_ENTRIES 4096
#define PLAIN_RECV_SIZE 4096

#define OFFLOAD \
    "a pool of OFFLOAD_THREADS pthreads runs the work; the result comes back to the loop " \
    "as the completion of a read of the pool's eventfd"

/* What a completion is about: the low 4 bits of user_data; the rest is the connection
   (16-byte aligned) or nothing. */
enum op {
    OP_ACCEPT = 1, OP_RECV, OP_SEND, OP_SLEEP, OP_LINGER, OP_CANCEL, OP_SHUTDOWN,
    OP_STOP, OP_POOL, OP_ACCEPT_RETRY, OP_DEADLINE,
};
#define OP_MASK 15u

struct uconn {
    struct conn c;
    struct uconn *prev, *next; /* every connection not yet freed */
    struct __kernel_timespec timeout; /* the sleep's or the linger's */
    char *recv_buf;                   /* the plain recv's buffer */
    int ops;                          /* operations in flight, offloaded jobs included */
    bool recv_armed, send_armed, timer_armed;
    bool lingering, closed;
};

struct uloop {
    struct uring u; /* the ring and the provided buffers (uring.c) */
    bool multishot_accept;
    int listener, stop_fd, pool_fd;
    uint64_t stop_count, pool_count; /* where the eventfd reads land */
    struct __kernel_timespec retry_ts, deadline_ts;
    bool accept_armed, accept_paused, draining, deadline_passed;
    const struct app *app;
    struct pool pool;
    struct uconn *conns;
    size_t nconns; /* open ones */
};

static void progress(struct uloop *loop, struct uconn *c);

static struct io_uring_sqe *next_sqe(struct uloop *loop)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->u.ring);
    if (sqe == NULL) { /* the submission queue is full: hand it to the kernel, then retry */
        io_uring_submit(&loop->u.ring);
        sqe = io_uring_get_sqe(&loop->u.ring);
        if (sqe == NULL)
            die(1, "io_uring: no submission queue entry free");
    }
    return sqe;
}

static void tag(struct io_uring_sqe *sqe, void *ptr, enum op op)
{
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)ptr | op);
}

/* --- submissions ---------------------------------------------------------------------- */

static void arm_accept(struct uloop *loop) /* (3) */
{
    if (loop->accept_armed || loop->accept_paused || loop->draining)
        return;
    loop->accept_armed = true;
    struct io_uring_sqe *sqe = next_sqe(loop);
    if (loop->multishot_accept)
        io_uring_prep_multishot_accept(sqe, loop->listener, NULL, NULL, 0);
    else
        io_uring_prep_accept(sqe, loop->listener, NULL, NULL, 0);
    tag(sqe, NULL, OP_ACCEPT);
}

static void arm_recv(struct uloop *loop, struct uconn *c) /* (4) */
{
    c->recv_armed = true;
    c->ops++;
    struct io_uring_sqe *sqe = next_sqe(loop);
    if (loop->u.buf_ring) { /* no buffer now: the kernel picks one when data arrives */
        io_uring_prep_recv(sqe, c->c.fd, NULL, BUF_SIZE, 0);
        sqe->flags |= IOSQE_BUFFER_SELECT;
        sqe->buf_group = BUF_GROUP;
    } else {
        if (c->recv_buf == NULL && (c->recv_buf = malloc(PLAIN_RECV_SIZE)) == NULL)
            die(1, "out of memory (a receive buffer)");
        io_uring_prep_recv(sqe, c->c.fd, c->recv_buf, PLAIN_RECV_SIZE, 0);
    }
    tag(sqe, c, OP_RECV);
}

static void arm_send(struct uloop *loop, struct uconn *c) /* (5) */
{
    c->send_armed = true;
    c->ops++;
    struct io_uring_sqe *sqe = next_sqe(loop);
    io_uring_prep_send(sqe, c->c.fd, c->c.out.data + c->c.sent, conn_unsent(&c->c),
                       MSG_NOSIGNAL);
    tag(sqe, c, OP_SEND);
}

/* A timer (6): it completes with -ETIME after ms, like any other operation. */
static void arm_timeout(struct uloop *loop, struct __kernel_timespec *ts, uint64_t ms,
                        void *ptr, enum op op)
{
    *ts = (struct __kernel_timespec){(long long)(ms / 1000), (long long)(ms % 1000) * 1000000};
    struct io_uring_sqe *sqe = next_sqe(loop);
    io_uring_prep_timeout(sqe, ts, 0, 0);
    tag(sqe, ptr, op);
}

static void arm_timer(struct uloop *loop, struct uconn *c, enum op op, uint64_t ms)
{
    c->timer_armed = true;
    c->ops++;
    arm_timeout(loop, &c->timeout, ms, c, op);
}

/* Cancel the operation tagged ptr | op; its completion says -ECANCELED. */
static void cancel(struct uloop *loop, void *ptr, enum op op)
{
    struct io_uring_sqe *sqe = next_sqe(loop);
    io_uring_prep_cancel64(sqe, (uint64_t)(uintptr_t)ptr | op, 0);
    tag(sqe, NULL, OP_CANCEL);
}

static void arm_eventfd_read(struct uloop *loop, int fd, uint64_t *into, enum op op)
{
    struct io_uring_sqe *sqe = next_sqe(loop);
    io_uring_prep_read(sqe, fd, into, sizeof *into, 0);
    tag(sqe, NULL, op);
}

/* --- connection lifetime (9) --------------------------------------------------------- */

static void close_conn(struct uloop *loop, struct uconn *c)
{
    if (c->closed)
        return;
    c->closed = true;
    loop->nconns--;
    /* Hand every prepared submission to the kernel before the descriptor goes: one still in
       the queue would find its number reused by the next accepted client. */
    io_uring_submit(&loop->u.ring);
    if (c->recv_armed)
        cancel(loop, c, OP_RECV);
    if (c->send_armed)
        cancel(loop, c, OP_SEND);
    if (c->timer_armed)
        cancel(loop, c, c->lingering ? OP_LINGER : OP_SLEEP);
    /* The operations in flight hold the socket until they end, so the descriptor can go. */
    close(c->c.fd);
}

static void free_conn(struct uloop *loop, struct uconn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        loop->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    conn_free(&c->c);
    free(c->recv_buf);
    free(c);
}

/* Free a closed connection once nothing in flight points to it. */
static void settle(struct uloop *loop, struct uconn *c)
{
    if (c->closed && c->ops == 0)
        free_conn(loop, c);
}

static void linger(struct uloop *loop, struct uconn *c)
{
    if (loop->draining) {
        close_conn(loop, c); /* shutting down: no time for that */
        return;
    }
    /* We close: send our FIN, drop what the client still sends until it closes too, at
       most LINGER_MS; a close() with unread bytes would reset the connection and could
       destroy the response on its way (see epoll.c). */
    c->lingering = true;
    c->ops++;
    struct io_uring_sqe *sqe = next_sqe(loop);
    io_uring_prep_shutdown(sqe, c->c.fd, SHUT_WR);
    tag(sqe, c, OP_SHUTDOWN);
    arm_timer(loop, c, OP_LINGER, LINGER_MS);
    if (!c->recv_armed)
        arm_recv(loop, c);
}

/* --- what a request waits for: a timeout (6), or the pool (7) ----------------------- */

static void sleep_on_timeout(void *loop, struct conn *conn, uint32_t ms)
{
    arm_timer(loop, (struct uconn *)conn, OP_SLEEP, ms);
}

static void offload_to_pool(void *arg, struct conn *conn, const struct work *work)
{
    struct uloop *loop = arg;
    struct job *job = malloc(sizeof *job);
    if (job == NULL)
        die(1, "out of memory (an offload job)");
    job->work = *work;
    job->owner = conn;
    ((struct uconn *)conn)->ops++;
    pool_submit(&loop->pool, job);
}

static const struct conn_waits WAITS = {sleep_on_timeout, offload_to_pool};

/* Take a connection as far as it goes: send, or start requests, or receive. */
static void progress(struct uloop *loop, struct uconn *c)
{
    if (c->closed || c->send_armed)
        return; /* a send in flight: its completion brings us back */
    if (!c->lingering) {
        if (!c->c.closing && !conn_unsent(&c->c))
            conn_start_requests(&c->c, loop->app, &WAITS, loop, loop->draining);
        if (conn_unsent(&c->c)) {
            arm_send(loop, c);
            return;
        }
        if (c->c.closing) {
            linger(loop, c);
            return;
        }
        if (c->c.busy)
            return; /* the timeout's or the job's completion brings us back */
        if (loop->draining) {
            close_conn(loop, c); /* shutting down, and this one is idle now */
            return;
        }
        conn_trim(&c->c);
    }
    if (!c->recv_armed)
        arm_recv(loop, c);
}

/* --- completions ---------------------------------------------------------------------- */

static void accepted(struct uloop *loop, const struct io_uring_cqe *cqe)
{
    if (!(cqe->flags & IORING_CQE_F_MORE))
        loop->accept_armed = false; /* a plain accept, or a multishot one that ended */
    if (cqe->res == -EINVAL && loop->multishot_accept) {
        loop->multishot_accept = false; /* not on this kernel: plain accepts */
    } else if (cqe->res < 0 && cqe->res != -ECANCELED && cqe->res != -EINTR &&
               cqe->res != -ECONNABORTED) {
        /* EMFILE and friends: try again in 100 ms rather than spin on the error. */
        log_limited("accept failed: %s; pausing accepts for 100 ms", strerror(-cqe->res));
        if (loop->accept_armed)
            cancel(loop, NULL, OP_ACCEPT);
        loop->accept_paused = true;
        arm_timeout(loop, &loop->retry_ts, 100, NULL, OP_ACCEPT_RETRY);
    } else if (cqe->res >= 0 && loop->draining) {
        close(cqe->res);
    } else if (cqe->res >= 0) {
        int fd = cqe->res, one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        struct uconn *c = calloc(1, sizeof *c);
        if (c == NULL || ((uintptr_t)c & OP_MASK))
            die(1, "out of memory (a connection)");
        conn_init(&c->c, fd);
        c->next = loop->conns;
        if (loop->conns)
            loop->conns->prev = c;
        loop->conns = c;
        loop->nconns++;
        arm_recv(loop, c);
    }
    arm_accept(loop);
}

static void received(struct uloop *loop, struct uconn *c, const struct io_uring_cqe *cqe)
{
    c->recv_armed = false;
    if (cqe->flags & IORING_CQE_F_BUFFER) {
        unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
        if (cqe->res > 0 && !c->closed && !c->lingering)
            parser_feed(&c->c.parser, loop->u.bufs + (size_t)id * BUF_SIZE, (size_t)cqe->res);
        uring_give_back(&loop->u, id); /* the buffer goes back at once */
    } else if (cqe->res > 0 && !c->closed && !c->lingering) {
        parser_feed(&c->c.parser, c->recv_buf, (size_t)cqe->res);
    }
    if (c->closed)
        return;
    if (cqe->res == 0 || (cqe->res < 0 && cqe->res != -ENOBUFS && cqe->res != -EINTR))
        close_conn(loop, c); /* the client has gone (or, lingering, has closed too) */
    else
        progress(loop, c); /* ENOBUFS: every buffer was taken this turn; just try again */
}

static void sent(struct uloop *loop, struct uconn *c, const struct io_uring_cqe *cqe)
{
    c->send_armed = false;
    if (c->closed)
        return;
    if (cqe->res < 0 && cqe->res != -EINTR && cqe->res != -EAGAIN) {
        close_conn(loop, c);
        return;
    }
    if (cqe->res > 0)
        conn_sent(&c->c, (size_t)cqe->res);
    progress(loop, c);
}

static void timed_out(struct uloop *loop, struct uconn *c, enum op op)
{
    c->timer_armed = false;
    if (c->closed)
        return;
    if (op == OP_LINGER) {
        close_conn(loop, c); /* the client did not close in time */
        return;
    }
    struct reply reply;
    sleep_reply(c->c.wait_ms, &reply);
    conn_finish(&c->c, &reply, loop->draining);
    progress(loop, c);
}

static void finish_offloaded(struct uloop *loop)
{
    for (struct job *job = pool_take_done(&loop->pool), *next; job; job = next) {
        next = job->next;
        struct uconn *c = job->owner;
        c->ops--;
        if (!c->closed) {
            conn_finish(&c->c, &job->reply, loop->draining);
            progress(loop, c);
        }
        settle(loop, c);
        free(job);
    }
}

static void shut_down(struct uloop *loop) /* (8) */
{
    loop->draining = true;
    if (loop->accept_armed)
        cancel(loop, NULL, OP_ACCEPT);
    close(loop->listener); /* the accept in flight holds it until cancelled */
    loop->listener = -1;
    arm_timeout(loop, &loop->deadline_ts, GRACE_MS, NULL, OP_DEADLINE);
    for (struct uconn *c = loop->conns, *next; c; c = next) {
        next = c->next;
        if (!c->closed && (c->lingering || (!c->c.busy && !conn_unsent(&c->c))))
            close_conn(loop, c);
        settle(loop, c);
    }
}

static void complete(struct uloop *loop, const struct io_uring_cqe *cqe)
{
    if (cqe->user_data == LIBURING_UDATA_TIMEOUT)
        return; /* liburing's own, on kernels without IORING_FEAT_EXT_ARG */
    enum op op = (enum op)(cqe->user_data & OP_MASK);
    struct uconn *c = (struct uconn *)(uintptr_t)(cqe->user_data & ~(uint64_t)OP_MASK);
    switch (op) {
    case OP_ACCEPT:
        accepted(loop, cqe);
        return;
    case OP_ACCEPT_RETRY:
        loop->accept_paused = false;
        arm_accept(loop);
        return;
    case OP_STOP:
        if (!loop->draining)
            shut_down(loop);
        return;
    case OP_POOL: /* (7) */
        finish_offloaded(loop);
        arm_eventfd_read(loop, loop->pool_fd, &loop->pool_count, OP_POOL);
        return;
    case OP_DEADLINE:
        loop->deadline_passed = true;
        return;
    case OP_CANCEL:
        return;
    default:
        break;
    }
    c->ops--;
    if (op == OP_RECV)
        received(loop, c, cqe);
    else if (op == OP_SEND)
        sent(loop, c, cqe);
    else if (op == OP_SLEEP || op == OP_LINGER)
        timed_out(loop, c, op);
    settle(loop, c); /* OP_SHUTDOWN needs nothing else */
}

/* --- the loop ------------------------------------------------------------------------ */

static struct uloop *left_running; /* see clean_up() */

static void clean_up(struct uloop *loop)
{
    for (struct uconn *c = loop->conns; c; c = c->next)
        if (!c->closed)
            close_conn(loop, c);
    if (!pool_stop(&loop->pool, 100)) {
        left_running = loop; /* a job still runs: the process leaves with it */
        return;
    }
    io_uring_queue_exit(&loop->u.ring); /* cancels whatever is still in flight */
    uring_free_buffers(&loop->u);
    for (struct job *job = pool_take_done(&loop->pool), *next; job; job = next)
        next = job->next, free(job); /* never run, or never collected */
    while (loop->conns)
        free_conn(loop, loop->conns);
    close(loop->stop_fd);
    close(loop->pool_fd);
    free(loop);
}

int main(int argc, char **argv)
{
    server_target = "c/io_uring";
    bool plain = false, probe = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--plain") == 0)
            plain = true;
        else if (strcmp(argv[i], "--probe") == 0)
            probe = true;
        else
            die(2, "usage: %s [--plain] [--probe]  (--plain: no multishot accept, no buffer "
                "ring; --probe: say what io_uring offers here, then exit)", argv[0]);
    }
    server_target = plain ? "c/io_uring-plain" : "c/io_uring";
    if (probe)
        setenv("PORT", "0", 1); /* any free port, for the multishot accept check */
    block_stop_signals();
    int threads = knob("OFFLOAD_THREADS", DEFAULT_OFFLOAD_THREADS);
    struct uloop *loop = calloc(1, sizeof *loop);
    struct app app;
    if (loop == NULL)
        die(1, "out of memory (the loop)");
    /* --plain serves as c/io_uring-plain, so that /info never hides which one answers. */
    app_init(&app, plain ? "io_uring-plain" : "io_uring", -1,
             (const char *const[]){"OFFLOAD_THREADS", NULL}, (const int[]){threads}, OFFLOAD);
    loop->app = &app;
    loop->listener = listen_on(false, 0);
    /* Blocking sockets: io_uring waits for them itself (an O_NONBLOCK socket would make
       some kernels hand EAGAIN back instead). */
    fcntl(loop->listener, F_SETFL, fcntl(loop->listener, F_GETFL) & ~O_NONBLOCK);
    uring_open(&loop->u, RING_ENTRIES, plain);
    /* (3) Multishot accept: a kernel that does not know it refuses it at once (EINVAL). */
    loop->multishot_accept = !plain;
    arm_accept(loop);
    io_uring_submit(&loop->u.ring);
    struct io_uring_cqe *first;
    struct __kernel_timespec none = {0, 0};
    if (io_uring_wait_cqe_timeout(&loop->u.ring, &first, &none) == 0) {
        complete(loop, first);
        io_uring_cqe_seen(&loop->u.ring, first);
    }
    char line[256];
    uring_describe(&loop->u, loop->multishot_accept, app.extra, sizeof app.extra, line,
                   sizeof line);
    if (probe) { /* what lab.doctor can ask: 0 and the features, or 69 and the reason */
        printf("%s: %s\n", server_target, line);
        io_uring_queue_exit(&loop->u.ring);
        uring_free_buffers(&loop->u);
        close(loop->listener);
        free(loop);
        return 0;
    }

    loop->stop_fd = eventfd(0, EFD_CLOEXEC);
    loop->pool_fd = eventfd(0, EFD_CLOEXEC);
    if (loop->stop_fd < 0 || loop->pool_fd < 0)
        die(1, "eventfd: %s", strerror(errno));
    watch_stop_signals(loop->stop_fd);
    pool_start(&loop->pool, threads, loop->pool_fd);
    arm_accept(loop);
    arm_eventfd_read(loop, loop->stop_fd, &loop->stop_count, OP_STOP);
    arm_eventfd_read(loop, loop->pool_fd, &loop->pool_count, OP_POOL);

    char extra[sizeof line + 2];
    snprintf(extra, sizeof extra, "; %s", line);
    announce(loop->listener, extra);

    while (!loop->draining || (loop->nconns && !loop->deadline_passed)) {
        int error = io_uring_submit_and_wait(&loop->u.ring, 1); /* (2) */
        if (error < 0 && error != -EINTR && error != -ETIME && error != -EBUSY)
            die(1, "io_uring_enter: %s", strerror(-error));
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&loop->u.ring, head, cqe) { /* (1) */
            complete(loop, cqe);
            seen++;
        }
        io_uring_cq_advance(&loop->u.ring, seen);
    }
    clean_up(loop);
    return 0;
}
