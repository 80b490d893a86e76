"""python/threaded: a new thread for every connection.

The main thread only accepts. Each client gets a thread of its own (1), which serves it with
plain blocking calls until it leaves (BlockingConnection.serve_forever in
lab_server/blocking.py): recv() waits for the next request, time.sleep() is /sleep, /cpu
spins right there. Nobody has to say when a socket is ready: a thread blocked in recv()
wakes up when its data arrives, and the kernel's scheduler runs whichever threads are
ready. That is why this is the easiest model to write.

The price: one thread per connection, idle or not (its stack, its kernel task; 10,000
connections are 10,000 threads, hence the small stack size (2)). And, in CPython, the GIL:
only one thread runs Python code at a time. Threads blocked in recv() or sleep() have let it
go, so 1,000 sleeping clients are fine; /cpu and /work hold it and are switched every 5 ms
(sys.getswitchinterval), so two /cpu requests share one core even on two; pbkdf2_hmac
releases it and does run in parallel. offload=1 changes nothing: each request already has
a thread of its own.

Shutdown (3): stop accepting, wake the threads idle in recv() (shutdown(SHUT_RD) makes that
recv() return), let the busy ones finish their request for up to GRACE seconds.
"""

import threading

from lab_server.app import App
from lab_server.blocking import BlockingConnection, ThreadServed
from lab_server.process import (
    GRACE,
    RateLimitedLog,
    Signals,
    accept_pending,
    announce,
    exit_now,
    listen,
    python_version,
    wait_readable,
)

OFFLOAD = "ignored: the work already runs on the connection's own thread"


def main() -> None:
    app = App("threaded", knobs={}, offload=OFFLOAD, version=python_version())
    log = RateLimitedLog("python/threaded")
    listener = listen()
    listener.setblocking(False)
    signals = Signals()
    threading.stack_size(256 * 1024)  # (2) instead of 8 MiB of address space per thread
    threads = ThreadServed()

    announce("python/threaded", listener)
    while not signals.stopping:
        ready = wait_readable(listener, signals)  # a client, or a signal on the self-pipe
        if signals in ready:
            signals.drain()
        elif listener in ready:
            for sock in accept_pending(listener, log):
                conn = BlockingConnection(sock, app, stopping=lambda: signals.stopping)
                thread = threading.Thread(target=threads.serve, args=(conn,), daemon=True)  # (1)
                try:
                    thread.start()
                except RuntimeError as error:  # "can't start new thread": out of threads
                    log(f"refusing a connection: {error}")
                    sock.close()

    listener.close()  # (3)
    threads.stop(timeout=GRACE)
    exit_now(0)


if __name__ == "__main__":
    main()
