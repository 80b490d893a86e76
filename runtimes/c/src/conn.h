/* A connection's requests, in order, whatever the loop: what the epoll and io_uring models
   share beside the parser. The loop moves bytes (recv into conn_received(), send what
   conn_unsent() shows); this file decides what the bytes mean.

   A connection runs its requests strictly in order. A request that must wait (a /sleep, an
   offloaded /cpu) makes the connection `busy`: the requests pipelined behind it wait too,
   and the loop stops reading from that client until conn_finish() (no unbounded buffering
   for a client that sends faster than it is served). */
#ifndef LAB_CONN_H
#define LAB_CONN_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "http.h"

/* Stop starting pipelined requests while this much output is waiting to be sent. */
#define HIGH_WATER (256 * 1024)

struct conn;

/* What a loop provides to run a request that must wait. */
struct conn_waits {
    void (*sleep)(void *loop, struct conn *conn, uint32_t ms);
    void (*offload)(void *loop, struct conn *conn, const struct work *work);
};

struct conn {
    int fd;
    struct parser parser;
    struct buf out; /* responses; out.data[sent..out.len) is not sent yet */
    size_t sent;
    bool busy;      /* a request is sleeping or offloaded; later ones wait their turn */
    bool closing;   /* close once the output is sent (Connection: close, or an error) */
    bool wait_keep_alive, wait_head; /* the busy request's framing, for its response */
    uint32_t wait_ms;
};

void conn_init(struct conn *conn, int fd);
void conn_free(struct conn *conn);

static inline size_t conn_unsent(const struct conn *conn)
{
    return conn->out.len - conn->sent;
}

void conn_sent(struct conn *conn, size_t n);

/* Start the complete requests in order, until one must wait, the output passes HIGH_WATER,
   or the connection is closing. Inline work runs here, on the caller's thread. draining:
   the server is shutting down, so every response says Connection: close. */
void conn_start_requests(struct conn *conn, const struct app *app,
                         const struct conn_waits *waits, void *loop, bool draining);

/* A sleep's timer fired or an offloaded result came back: answer the busy request. */
void conn_finish(struct conn *conn, const struct reply *reply, bool draining);

/* The connection is idle (nothing buffered either way): give its buffers back. */
void conn_trim(struct conn *conn);

#endif
