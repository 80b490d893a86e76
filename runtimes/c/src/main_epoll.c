/* c/epoll: the server is one edge-triggered epoll loop on one thread (see epoll.c). */
#include "app.h"
#include "epoll.h"
#include "offload.h"
#include "server.h"

int main(void)
{
    server_target = "c/epoll";
    block_stop_signals();
    int threads = knob("OFFLOAD_THREADS", DEFAULT_OFFLOAD_THREADS);
    struct app app;
    app_init(&app, "epoll", -1, (const char *const[]){"OFFLOAD_THREADS", NULL},
             (const int[]){threads}, EPOLL_OFFLOAD);
    int listener = listen_on(false, 0);
    announce(listener, "");
    return epoll_serve(listener, &app, threads);
}
