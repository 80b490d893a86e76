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
   then calls itself c/io_uring-plain.

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
#include <liburing.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sysexits.h>
#include <unistd.h>

#include "app.h"
#include "conn.h"
#include "offload.h"
#include "server.h"

#define RING_ENTRIES 4096
#define BUF_COUNT 1024 /* provided buffers, a power of two */
#define BUF_SIZE 4096
#define BUF_GROUP 0
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

struct features {
    bool multishot_accept, buffer_ring, single_issuer, defer_taskrun, coop_taskrun;
};

struct uloop {
    struct io_uring ring;
    struct features features;
    struct io_uring_buf_ring *buf_ring;
    char *bufs;
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

static struct io_uring_sqe *submission(struct uloop *loop, void *ptr, enum op op)
{
    struct io_uring_sqe *sqe = io_uring_get_sqe(&loop->ring);
    if (sqe == NULL) { /* the submission queue is full: hand it to the kernel, then retry */
        io_uring_submit(&loop->ring);
        sqe = io_uring_get_sqe(&loop->ring);
        if (sqe == NULL)
            die(1, "io_uring: no submission queue entry free");
    }
    io_uring_prep_nop(sqe);
    io_uring_sqe_set_data64(sqe, (uint64_t)(uintptr_t)ptr | op);
    return sqe;
}

/* liburing's prep functions leave user_data alone: set it after them. */
#define SUBMIT(loop, ptr, op, prep)                                   \
    do {                                                              \
        struct io_uring_sqe *sqe_ = submission(loop, ptr, op);        \
        __u64 data_ = sqe_->user_data;                                \
        prep;                                                         \
        sqe_->user_data = data_;                                      \
    } while (0)

/* --- submissions ---------------------------------------------------------------------- */

static void arm_accept(struct uloop *loop) /* (3) */
{
    if (loop->accept_armed || loop->accept_paused || loop->draining)
        return;
    loop->accept_armed = true;
    if (loop->features.multishot_accept)
        SUBMIT(loop, NULL, OP_ACCEPT, io_uring_prep_multishot_accept(sqe_, loop->listener,
                                                                     NULL, NULL, 0));
    else
        SUBMIT(loop, NULL, OP_ACCEPT, io_uring_prep_accept(sqe_, loop->listener, NULL, NULL,
                                                           0));
}

static void arm_recv(struct uloop *loop, struct uconn *c) /* (4) */
{
    c->recv_armed = true;
    c->ops++;
    if (loop->features.buffer_ring) {
        SUBMIT(loop, c, OP_RECV, {
            io_uring_prep_recv(sqe_, c->c.fd, NULL, BUF_SIZE, 0);
            sqe_->flags |= IOSQE_BUFFER_SELECT;
            sqe_->buf_group = BUF_GROUP;
        });
        return;
    }
    if (c->recv_buf == NULL && (c->recv_buf = malloc(PLAIN_RECV_SIZE)) == NULL)
        die(1, "out of memory (a receive buffer)");
    SUBMIT(loop, c, OP_RECV, io_uring_prep_recv(sqe_, c->c.fd, c->recv_buf, PLAIN_RECV_SIZE, 0));
}

static void arm_send(struct uloop *loop, struct uconn *c) /* (5) */
{
    c->send_armed = true;
    c->ops++;
    SUBMIT(loop, c, OP_SEND, io_uring_prep_send(sqe_, c->c.fd, c->c.out.data + c->c.sent,
                                                conn_unsent(&c->c), MSG_NOSIGNAL));
}

static void arm_timer(struct uloop *loop, struct uconn *c, enum op op, uint64_t ms)
{
    c->timer_armed = true;
    c->ops++;
    c->timeout = (struct __kernel_timespec){(long long)(ms / 1000),
                                            (long long)(ms % 1000) * 1000000};
    SUBMIT(loop, c, op, io_uring_prep_timeout(sqe_, &c->timeout, 0, 0));
}

static void cancel(struct uloop *loop, struct uconn *c, enum op op)
{
    SUBMIT(loop, NULL, OP_CANCEL, io_uring_prep_cancel64(sqe_, (uint64_t)(uintptr_t)c | op, 0));
}

static void arm_eventfd_read(struct uloop *loop, int fd, uint64_t *into, enum op op)
{
    SUBMIT(loop, NULL, op, io_uring_prep_read(sqe_, fd, into, sizeof *into, 0));
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
    io_uring_submit(&loop->ring);
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
    SUBMIT(loop, c, OP_SHUTDOWN, io_uring_prep_shutdown(sqe_, c->c.fd, SHUT_WR));
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
    if (cqe->res == -EINVAL && loop->features.multishot_accept) {
        loop->features.multishot_accept = false; /* not on this kernel: plain accepts */
    } else if (cqe->res < 0 && cqe->res != -ECANCELED && cqe->res != -EINTR &&
               cqe->res != -ECONNABORTED) {
        /* EMFILE and friends: try again in 100 ms rather than spin on the error. */
        log_limited("accept failed: %s; pausing accepts for 100 ms", strerror(-cqe->res));
        if (loop->accept_armed)
            SUBMIT(loop, NULL, OP_CANCEL, io_uring_prep_cancel64(sqe_, OP_ACCEPT, 0));
        loop->accept_paused = true;
        loop->retry_ts = (struct __kernel_timespec){0, 100 * 1000000};
        SUBMIT(loop, NULL, OP_ACCEPT_RETRY, io_uring_prep_timeout(sqe_, &loop->retry_ts, 0, 0));
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
        char *data = loop->bufs + (size_t)id * BUF_SIZE;
        if (cqe->res > 0 && !c->closed && !c->lingering)
            parser_feed(&c->c.parser, data, (size_t)cqe->res);
        io_uring_buf_ring_add(loop->buf_ring, data, BUF_SIZE, (unsigned short)id,
                              io_uring_buf_ring_mask(BUF_COUNT), 0);
        io_uring_buf_ring_advance(loop->buf_ring, 1); /* the buffer goes back at once */
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
        SUBMIT(loop, NULL, OP_CANCEL, io_uring_prep_cancel64(sqe_, OP_ACCEPT, 0));
    close(loop->listener); /* the accept in flight holds it until cancelled */
    loop->listener = -1;
    loop->deadline_ts = (struct __kernel_timespec){GRACE_MS / 1000,
                                                   (GRACE_MS % 1000) * 1000000LL};
    SUBMIT(loop, NULL, OP_DEADLINE, io_uring_prep_timeout(sqe_, &loop->deadline_ts, 0, 0));
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

/* --- start-up: what the kernel offers ------------------------------------------------ */

_Noreturn static void unavailable(const char *call, int error)
{
    char reason[400];
    int disabled = -1;
    FILE *f = fopen("/proc/sys/kernel/io_uring_disabled", "r");
    if (f) {
        if (fscanf(f, "%d", &disabled) != 1)
            disabled = -1;
        fclose(f);
    }
    if (error == EPERM && disabled == 2)
        snprintf(reason, sizeof reason, "the kernel setting kernel.io_uring_disabled=2 "
                 "turns io_uring off for every process (sysctl kernel.io_uring_disabled=0 "
                 "turns it on)");
    else if (error == EPERM && disabled == 1)
        snprintf(reason, sizeof reason, "the kernel setting kernel.io_uring_disabled=1 "
                 "allows io_uring only to members of kernel.io_uring_group");
    else if (error == EPERM)
        snprintf(reason, sizeof reason, "%s failed with EPERM: a seccomp filter blocks "
                 "io_uring (the default profile of Docker 25 and later does; "
                 "runtimes/c/README.md says what a container needs)", call);
    else if (error == ENOSYS)
        snprintf(reason, sizeof reason, "%s failed with ENOSYS: the kernel was built "
                 "without io_uring, or is older than Linux 5.6, or a seccomp filter answers "
                 "ENOSYS for it", call);
    else
        snprintf(reason, sizeof reason, "%s failed: %s", call, strerror(error));
    fprintf(stderr, "%s: io_uring is unavailable here: %s\n", server_target, reason);
    exit(EX_UNAVAILABLE);
}

static void set_up_ring(struct uloop *loop, bool plain)
{
    /* The newest useful setup first, then what older kernels accept (they say EINVAL). */
    static const unsigned tries[] = {
        IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN, IORING_SETUP_COOP_TASKRUN, 0};
    int error = 0;
    for (size_t i = plain ? 2 : 0; i < sizeof tries / sizeof *tries; i++) {
        struct io_uring_params params = {.flags = tries[i] | IORING_SETUP_CQSIZE,
                                         .cq_entries = 4 * RING_ENTRIES};
        error = -io_uring_queue_init_params(RING_ENTRIES, &loop->ring, &params);
        if (error == 0) {
            loop->features.single_issuer = tries[i] & IORING_SETUP_SINGLE_ISSUER;
            loop->features.defer_taskrun = tries[i] & IORING_SETUP_DEFER_TASKRUN;
            loop->features.coop_taskrun = tries[i] & IORING_SETUP_COOP_TASKRUN;
            break;
        }
        if (error != EINVAL)
            unavailable("io_uring_setup", error);
    }
    if (error)
        unavailable("io_uring_setup", error);

    static const struct { int op; const char *name; } needed[] = {
        {IORING_OP_ACCEPT, "accept"}, {IORING_OP_RECV, "recv"}, {IORING_OP_SEND, "send"},
        {IORING_OP_TIMEOUT, "timeout"}, {IORING_OP_READ, "read"},
        {IORING_OP_ASYNC_CANCEL, "cancel"}, {IORING_OP_SHUTDOWN, "shutdown"},
    };
    struct io_uring_probe *probe = io_uring_get_probe_ring(&loop->ring);
    if (probe == NULL)
        unavailable("the io_uring probe (Linux 5.6+)", ENOSYS);
    for (size_t i = 0; i < sizeof needed / sizeof *needed; i++) {
        if (!io_uring_opcode_supported(probe, needed[i].op)) {
            char call[64];
            snprintf(call, sizeof call, "the io_uring operation %s", needed[i].name);
            io_uring_free_probe(probe);
            unavailable(call, EOPNOTSUPP);
        }
    }
    io_uring_free_probe(probe);
    if (plain)
        return;

    /* (4) A ring of BUF_COUNT buffers the kernel picks from when data arrives. */
    size_t ring_bytes = BUF_COUNT * sizeof(struct io_uring_buf);
    void *mem = mmap(NULL, ring_bytes, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE,
                     -1, 0);
    struct io_uring_buf_reg reg = {.ring_addr = (uintptr_t)mem, .ring_entries = BUF_COUNT,
                                   .bgid = BUF_GROUP};
    if (mem != MAP_FAILED && io_uring_register_buf_ring(&loop->ring, &reg, 0) == 0) {
        loop->features.buffer_ring = true;
        loop->buf_ring = mem;
        loop->bufs = malloc((size_t)BUF_COUNT * BUF_SIZE);
        if (loop->bufs == NULL)
            die(1, "out of memory (the provided buffers)");
        io_uring_buf_ring_init(loop->buf_ring);
        for (unsigned i = 0; i < BUF_COUNT; i++)
            io_uring_buf_ring_add(loop->buf_ring, loop->bufs + (size_t)i * BUF_SIZE, BUF_SIZE,
                                  (unsigned short)i, io_uring_buf_ring_mask(BUF_COUNT), (int)i);
        io_uring_buf_ring_advance(loop->buf_ring, BUF_COUNT);
    } else if (mem != MAP_FAILED) {
        munmap(mem, ring_bytes);
    }

    /* (3) Multishot accept: the kernel refuses it at once (EINVAL) if it does not know it. */
    loop->features.multishot_accept = true;
    arm_accept(loop);
    io_uring_submit(&loop->ring);
    struct io_uring_cqe *cqe;
    struct __kernel_timespec none = {0, 0};
    if (io_uring_wait_cqe_timeout(&loop->ring, &cqe, &none) == 0) {
        complete(loop, cqe);
        io_uring_cqe_seen(&loop->ring, cqe);
    }
}

static void describe(const struct uloop *loop, struct app *app, char *line, size_t cap)
{
    const struct features *f = &loop->features;
    const char *setup = f->defer_taskrun ? "single issuer, deferred task running"
                      : f->coop_taskrun  ? "cooperative task running"
                                         : "default";
    struct utsname u;
    uname(&u);
    char liburing[32] = "";
#ifdef IO_URING_VERSION_MAJOR
    snprintf(liburing, sizeof liburing, "%d.%d", IO_URING_VERSION_MAJOR,
             IO_URING_VERSION_MINOR);
#else
    snprintf(liburing, sizeof liburing, "2.3 or older");
#endif
    snprintf(app->extra, sizeof app->extra,
             "\"io_uring\": {\"kernel\": \"%s\", \"liburing\": \"%s\", \"setup\": \"%s\", "
             "\"multishot_accept\": %s, \"provided_buffer_ring\": %s}",
             u.release, liburing, setup, f->multishot_accept ? "true" : "false",
             f->buffer_ring ? "true" : "false");
    snprintf(line, cap, "; io_uring on Linux %s: %s accept, %s, setup: %s", u.release,
             f->multishot_accept ? "multishot" : "plain",
             f->buffer_ring ? "provided buffer ring (1024 x 4 KiB)" : "plain recv buffers",
             setup);
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
    io_uring_queue_exit(&loop->ring); /* cancels whatever is still in flight */
    for (struct job *job = pool_take_done(&loop->pool), *next; job; job = next)
        next = job->next, free(job); /* never run, or never collected */
    while (loop->conns)
        free_conn(loop, loop->conns);
    if (loop->buf_ring)
        munmap(loop->buf_ring, BUF_COUNT * sizeof(struct io_uring_buf));
    free(loop->bufs);
    close(loop->stop_fd);
    close(loop->pool_fd);
    free(loop);
}

int main(int argc, char **argv)
{
    bool plain = argc > 1 && strcmp(argv[1], "--plain") == 0;
    server_target = plain ? "c/io_uring-plain" : "c/io_uring";
    if (argc > 1 && !plain)
        die(2, "usage: %s [--plain]  (--plain: no multishot accept, no buffer ring)", argv[0]);
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
    set_up_ring(loop, plain);

    loop->stop_fd = eventfd(0, EFD_CLOEXEC);
    loop->pool_fd = eventfd(0, EFD_CLOEXEC);
    if (loop->stop_fd < 0 || loop->pool_fd < 0)
        die(1, "eventfd: %s", strerror(errno));
    watch_stop_signals(loop->stop_fd);
    pool_start(&loop->pool, threads, loop->pool_fd);
    arm_accept(loop);
    arm_eventfd_read(loop, loop->stop_fd, &loop->stop_count, OP_STOP);
    arm_eventfd_read(loop, loop->pool_fd, &loop->pool_count, OP_POOL);

    char line[256];
    describe(loop, &app, line, sizeof line);
    announce(loop->listener, line);

    while (!loop->draining || (loop->nconns && !loop->deadline_passed)) {
        int error = io_uring_submit_and_wait(&loop->ring, 1); /* (2) */
        if (error < 0 && error != -EINTR && error != -ETIME && error != -EBUSY)
            die(1, "io_uring_enter: %s", strerror(-error));
        unsigned head, seen = 0;
        struct io_uring_cqe *cqe;
        io_uring_for_each_cqe(&loop->ring, head, cqe) { /* (1) */
            complete(loop, cqe);
            seen++;
        }
        io_uring_cq_advance(&loop->ring, seen);
    }
    clean_up(loop);
    return 0;
}
