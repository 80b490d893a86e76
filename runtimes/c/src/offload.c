#define _GNU_SOURCE /* pthread_timedjoin_np */
#include "offload.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static void *pool_thread(void *arg)
{
    struct pool *pool = arg;
    pthread_mutex_lock(&pool->lock);
    for (;;) {
        while (pool->queue_head == NULL && !pool->stopping)
            pthread_cond_wait(&pool->wake, &pool->lock);
        if (pool->stopping)
            break;
        struct job *job = pool->queue_head;
        pool->queue_head = job->next;
        if (pool->queue_head == NULL)
            pool->queue_tail = NULL;
        pthread_mutex_unlock(&pool->lock);

        work_run(&job->work, &job->reply);

        pthread_mutex_lock(&pool->lock);
        job->next = pool->done;
        pool->done = job;
        uint64_t one = 1; /* wakes the loop; a full counter is impossible in practice */
        if (write(pool->eventfd, &one, sizeof one) < 0 && errno != EAGAIN)
            perror("offload: write(eventfd)");
    }
    pthread_mutex_unlock(&pool->lock);
    return NULL;
}

void pool_start(struct pool *pool, int nthreads, int eventfd)
{
    memset(pool, 0, sizeof *pool);
    pthread_mutex_init(&pool->lock, NULL);
    pthread_cond_init(&pool->wake, NULL);
    pool->eventfd = eventfd;
    pool->threads = calloc((size_t)nthreads, sizeof *pool->threads);
    if (pool->threads == NULL) {
        perror("offload: cannot create the pool");
        exit(1);
    }
    for (; pool->nthreads < nthreads; pool->nthreads++) {
        int error = pthread_create(&pool->threads[pool->nthreads], NULL, pool_thread, pool);
        if (error) {
            fprintf(stderr, "offload: cannot start thread %d: %s\n", pool->nthreads,
                    strerror(error));
            exit(1);
        }
    }
}

void pool_submit(struct pool *pool, struct job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&pool->lock);
    if (pool->queue_tail)
        pool->queue_tail->next = job;
    else
        pool->queue_head = job;
    pool->queue_tail = job;
    pthread_cond_signal(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
}

struct job *pool_take_done(struct pool *pool)
{
    pthread_mutex_lock(&pool->lock);
    struct job *done = pool->done;
    pool->done = NULL;
    pthread_mutex_unlock(&pool->lock);
    return done;
}

bool pool_stop(struct pool *pool, int timeout_ms)
{
    pthread_mutex_lock(&pool->lock);
    pool->stopping = true;
    pthread_cond_broadcast(&pool->wake);
    pthread_mutex_unlock(&pool->lock);
    struct timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms / 1000;
    deadline.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L)
        deadline.tv_sec++, deadline.tv_nsec -= 1000000000L;
    bool joined = true;
    for (int i = 0; i < pool->nthreads; i++)
        joined = pthread_timedjoin_np(pool->threads[i], NULL, &deadline) == 0 && joined;
    if (!joined)
        return false;
    if (pool->queue_tail) { /* jobs that never ran join the done list, for the caller */
        pool->queue_tail->next = pool->done;
        pool->done = pool->queue_head;
        pool->queue_head = pool->queue_tail = NULL;
    }
    free(pool->threads);
    pthread_mutex_destroy(&pool->lock);
    pthread_cond_destroy(&pool->wake);
    return true;
}
