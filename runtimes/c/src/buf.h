/* A growable byte buffer, and the clock every model reads. */
#ifndef LAB_BUF_H
#define LAB_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct buf {
    char *data;
    size_t len, cap;
};

/* Make room for `extra` more bytes (aborts when memory is exhausted: a server that cannot
   allocate a few KiB has nothing sensible left to do). */
void buf_reserve(struct buf *b, size_t extra);
void buf_append(struct buf *b, const void *data, size_t n);
void buf_free(struct buf *b);

#define NS_PER_MS 1000000ull
#define NS_PER_S 1000000000ull

static inline uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

#endif
