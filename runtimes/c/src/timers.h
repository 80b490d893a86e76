/* The epoll loop's timers: a binary min-heap of deadlines, earliest first. The loop arms one
   timerfd for the earliest deadline and runs the due timers when it fires, so that a
   thousand sleeping requests cost one descriptor and no thread. */
#ifndef LAB_TIMERS_H
#define LAB_TIMERS_H

#include <stddef.h>
#include <stdint.h>

struct timer {
    uint64_t deadline; /* CLOCK_MONOTONIC, ns */
    uint64_t order;    /* ties go by insertion order */
    int kind;
    void *data;
};

struct timers {
    struct timer *heap;
    size_t n, cap;
    uint64_t next_order;
};

void timers_push(struct timers *t, uint64_t deadline, int kind, void *data);
/* The earliest timer due at `now` (removed into *out): 1, or 0 if none is due. */
int timers_pop_due(struct timers *t, uint64_t now, struct timer *out);
/* The earliest deadline, or 0 if there is no timer. */
uint64_t timers_next(const struct timers *t);
void timers_free(struct timers *t);

#endif
