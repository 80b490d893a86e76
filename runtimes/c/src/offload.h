/* offload=1: a small pool of pthreads runs the work off the loop's thread.

   The loop hands a job over with pool_submit() and goes on serving. A pool thread runs it,
   puts the finished job on the done list and adds 1 to an eventfd; the loop watches that
   eventfd like a socket (epoll: it becomes readable; io_uring: a read of it completes) and
   takes the finished jobs with pool_take_done(). The loop never polls for results and never
   blocks on the pool. */
#ifndef LAB_OFFLOAD_H
#define LAB_OFFLOAD_H

#include <pthread.h>
#include <stdbool.h>

#include "app.h"

#define DEFAULT_OFFLOAD_THREADS 4

struct job {
    struct job *next;
    struct work work;
    struct reply reply;
    void *owner; /* the loop's connection */
};

struct pool {
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct job *queue_head, *queue_tail; /* submitted, first in first out */
    struct job *done;                    /* finished, in any order */
    pthread_t *threads;
    int nthreads;
    bool stopping;
    int eventfd; /* finished jobs are announced here */
};

/* eventfd: the loop's own (non-blocking for epoll, blocking for io_uring's reads); the loop
   resets its counter before it takes the done list. */
void pool_start(struct pool *pool, int nthreads, int eventfd);
void pool_submit(struct pool *pool, struct job *job);
struct job *pool_take_done(struct pool *pool); /* a list linked by next; NULL if none */

/* Stop the threads: each finishes its current job. True if all ended within timeout_ms;
   the jobs never run are then on the done list, for pool_take_done(). False: a thread is
   still busy, and the pool must be left as it is (the process is about to exit). */
bool pool_stop(struct pool *pool, int timeout_ms);

#endif
