#ifndef LAB_EPOLL_H
#define LAB_EPOLL_H

#include "app.h"

#define EPOLL_OFFLOAD \
    "a pool of OFFLOAD_THREADS pthreads runs the work; the result comes back to the loop " \
    "through an eventfd in its epoll set"

/* Serve the clients of one listening socket on one edge-triggered epoll loop, until
   SIGTERM or SIGINT; the exit status (0). */
int epoll_serve(int listener, const struct app *app, int offload_threads);

#endif
