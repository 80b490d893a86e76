/* c/io_uring's start-up: a ring with the newest setup the kernel accepts, the operations the
   server needs, and a provided buffer ring where the kernel has them (io_uring.c, (4)). */
#ifndef LAB_URING_H
#define LAB_URING_H

#include <liburing.h>
#include <stdbool.h>
#include <stddef.h>

#define BUF_COUNT 1024 /* provided buffers, a power of two */
#define BUF_SIZE 4096
#define BUF_GROUP 0

struct uring {
    struct io_uring ring;
    const char *setup;                   /* the setup flags the kernel accepted, in words */
    struct io_uring_buf_ring *buf_ring;  /* NULL: no provided buffers, plain recv buffers */
    char *bufs;                          /* BUF_COUNT buffers of BUF_SIZE bytes */
};

/* The ring, or the process exits with EX_UNAVAILABLE (69) and one line saying why io_uring
   cannot be used here. plain: the oldest setup, no provided buffers. */
void uring_open(struct uring *u, unsigned entries, bool plain);

/* Hand provided buffer `id` back to the kernel. */
void uring_give_back(struct uring *u, unsigned id);

/* What the server uses, as /info members and as words for the start-up line. */
void uring_describe(const struct uring *u, bool multishot_accept, char *json, size_t json_cap,
                    char *line, size_t line_cap);

/* After io_uring_queue_exit(). */
void uring_free_buffers(struct uring *u);

#endif
