"""python/threadpool: WORKERS threads, started once, take the connections from a queue.

The pre-threaded server: python/threaded without the cost of a thread per connection. The
main thread accepts and puts each new client into a queue.Queue (1). WORKERS threads, all
started at launch, take clients from the queue (2) and serve each one with plain blocking
calls until it leaves (3, lab_server/blocking.py), then take the next. Creating a thread
is no longer on the path of a new connection, and the number of threads is bounded.

The catch is that bound: a worker belongs to its client for as long as the connection
stays open, keep-alive included. With WORKERS=4, four clients are served and the fifth
waits in the queue until one of them disconnects, however idle they are. Classic thread-pool
servers (and Apache's prefork) size the pool for the expected number of connections, and
close connections that take too long to send a request: here CLIENT_TIMEOUT seconds
(lab_server/blocking.py). python/prefork is the same design with processes. Within the
pool, the GIL applies as in python/threaded. offload=1 changes nothing: the work already
runs on a pool thread.

Shutdown (4): stop accepting, drop the clients still queued, wake the workers idle in recv(),
let the busy ones finish their request (answered with Connection: close) for up to GRACE
seconds.
"""

import queue
import socket
import threading

from lab_server.app import App
from lab_server.blocking import BlockingConnection, ThreadServed
from lab_server.process import (
    DEFAULT_CLIENT_TIMEOUT,
    DEFAULT_POOL_WORKERS,
    GRACE,
    RateLimitedLog,
    Signals,
    accept_pending,
    announce,
    exit_now,
    knob,
    listen,
    python_version,
    wait_readable,
)

OFFLOAD = "ignored: the work already runs on the pool thread serving the connection"


def main() -> None:
    workers = knob("WORKERS", DEFAULT_POOL_WORKERS)
    timeout = knob("CLIENT_TIMEOUT", DEFAULT_CLIENT_TIMEOUT)
    app = App(
        "threadpool",
        knobs={"WORKERS": workers, "CLIENT_TIMEOUT": timeout},
        offload=OFFLOAD,
        version=python_version(),
    )
    log = RateLimitedLog("python/threadpool")
    listener = listen()
    listener.setblocking(False)
    signals = Signals()
    waiting: queue.Queue[socket.socket | None] = queue.Queue()
    threads = ThreadServed()

    def worker() -> None:
        while (sock := waiting.get()) is not None:  # (2)
            conn = BlockingConnection(
                sock, app, stopping=lambda: signals.stopping, client_timeout=timeout
            )
            threads.serve(conn)  # (3) this thread is this client's until it leaves

    for _ in range(workers):
        threading.Thread(target=worker, daemon=True).start()

    announce("python/threadpool", listener, f", {workers} workers")
    while not signals.stopping:
        ready = wait_readable(listener, signals)  # a client, or a signal on the self-pipe
        if signals in ready:
            signals.drain()
        elif listener in ready:
            for sock in accept_pending(listener, log):
                waiting.put(sock)  # (1)

    listener.close()  # (4)
    while True:
        try:
            sock = waiting.get_nowait()
        except queue.Empty:
            break
        if sock is not None:
            sock.close()
    for _ in range(workers):
        waiting.put(None)
    threads.stop(timeout=GRACE)
    exit_now(0)


if __name__ == "__main__":
    main()
