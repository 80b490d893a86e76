/* Process plumbing shared by every model (runtimes/SPEC.md sections 1, 7 and 9): knobs from
   the environment, the listening socket, the start-up line, stop signals, and leaving on
   time. Nothing here decides how a model waits for its clients. */
#ifndef LAB_SERVER_H
#define LAB_SERVER_H

#include <stdbool.h>

#define BACKLOG 4096
#define GRACE_MS 1500     /* what in-flight requests get after SIGTERM */
#define HARD_EXIT_MS 1700 /* then the process leaves, whatever still runs (SPEC: 2 s) */
#define LINGER_MS 500     /* draining a client after our FIN, before close() */

/* The target's name ("c/epoll") for messages; set once by main(). */
extern const char *server_target;

/* The CPUs this process may run on (its affinity mask), as taskset or a cpuset set them. */
int cpus_allowed(void);

/* An integer >= 1 from the environment; anything else ends the process with a message
   naming the knob. */
int knob(const char *name, int fallback);

/* A non-blocking listening socket on HOST:PORT (default 127.0.0.1:8080) with the SPEC's
   backlog; reuseport sets SO_REUSEPORT first, so that several sockets share the port. port:
   the port to bind instead of PORT's (0: PORT's). Failure ends the process. */
int listen_on(bool reuseport, int port);
int bound_port(int fd);

/* "c/epoll listening on http://127.0.0.1:8080 (pid 4242)" + extra, on stderr. */
void announce(int fd, const char *extra);

/* Call first in main(), before any thread or child exists: SIGTERM and SIGINT are blocked
   everywhere and taken by watch_stop_signals() alone; SIGPIPE is ignored. */
void block_stop_signals(void);

/* A thread that waits for SIGTERM or SIGINT, then adds 1 to wake_fd (an eventfd the loop
   watches) and, HARD_EXIT_MS later, ends the process with status 0 whatever the loop is
   doing: a loop busy in an inline /cpu cannot even look at its eventfd. */
void watch_stop_signals(int wake_fd);

/* At most one line a second on stderr, with a count of the lines held back. */
void log_limited(const char *format, ...) __attribute__((format(printf, 1, 2)));

/* Print "<target>: <message>" and exit with status. */
_Noreturn void die(int status, const char *format, ...) __attribute__((format(printf, 2, 3)));

#endif
