"""python/prefork: WORKERS processes, forked once, accept() on one listening socket.

The design of Apache's prefork server: python/fork without a fork() per connection. The
parent opens the listening socket and forks WORKERS children (1), which all inherit it. Each
worker waits until a client is waiting, accept()s it (2) and serves it with plain blocking
calls (time.sleep for /sleep, /cpu inline, lab_server/blocking.py) until it leaves (3); then
it accepts the next one. The kernel hands each new connection to whichever worker calls
accept() first: every idle worker is woken, one wins, the others get EAGAIN and wait again.

A worker belongs to its client for as long as the connection stays open, keep-alive
included: with WORKERS=4, the fifth client waits in the listen backlog until one of the
four disconnects, or until a worker gives up on a client that took more than
CLIENT_TIMEOUT seconds to send a request (lab_server/blocking.py). Processes share nothing:
a worker burning a CPU or crashing touches only its own client, there is no GIL between
them, and /cpu and /work run on WORKERS cores.

The parent only supervises (4): it restarts a worker that crashed and, on SIGTERM, stops
them all (SIGTERM, then SIGKILL after GRACE seconds). Workers must not outlive it, even if
it is killed with SIGKILL and cannot tell them: each watches the read end of a pipe whose
only write end the parent holds (5). When the parent dies, the kernel closes that end, the
pipe reads as end-of-file, and the worker leaves.
"""

import os
import signal
import sys

from lab_server.app import App
from lab_server.blocking import BlockingConnection, serve_in_process
from lab_server.process import (
    DEFAULT_CLIENT_TIMEOUT,
    DEFAULT_POOL_WORKERS,
    RateLimitedLog,
    Signals,
    accept_pending,
    announce,
    ended_children,
    exit_now,
    knob,
    listen,
    python_version,
    signal_all,
    stop_children,
    wait_readable,
)

OFFLOAD = "ignored: the work already runs in the worker process that accepted"


def worker(index: int, workers: int, timeout: int, listener, parent_alive: int) -> None:
    """A worker process: accept a client, serve it until it leaves, repeat. Never returns."""
    signals = Signals()  # this worker's own signal pipe (the parent's was closed)
    app = App(
        "prefork",
        knobs={"WORKERS": workers, "CLIENT_TIMEOUT": timeout},
        offload=OFFLOAD,
        version=python_version(),
        worker=index,
    )
    log = RateLimitedLog(f"python/prefork worker {index}")
    while not signals.stopping:
        ready = wait_readable(listener, signals, parent_alive)
        if signals in ready:
            signals.drain()
        if parent_alive in ready:  # (5) end-of-file: the parent is gone
            break
        if listener in ready and not signals.stopping:
            for sock in accept_pending(listener, log, at_most=1):  # (2) often none: lost the race
                conn = BlockingConnection(
                    sock, app, stopping=lambda: signals.stopping, client_timeout=timeout
                )
                serve_in_process(conn, signals, parent_alive)  # (3)
    exit_now(0)


def main() -> None:
    workers = knob("WORKERS", DEFAULT_POOL_WORKERS)
    timeout = knob("CLIENT_TIMEOUT", DEFAULT_CLIENT_TIMEOUT)
    listener = listen()
    listener.setblocking(False)  # shared by all workers: a loser's accept() must not block
    parent_alive, alive_w = os.pipe()  # (5)
    pids: dict[int, int] = {}  # pid -> worker index

    def hard_exit() -> None:
        signal_all(pids, signal.SIGKILL)
        exit_now(0)

    signals = Signals(extra=(signal.SIGCHLD,), on_hard_exit=hard_exit)

    def spawn(index: int) -> None:
        pid = os.fork()  # (1)
        if pid == 0:
            try:
                os.close(alive_w)  # only the parent may hold the write end
                signals.close()  # the parent's signal pipe and handlers
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                worker(index, workers, timeout, listener, parent_alive)
            finally:
                os._exit(1)  # worker() returns only by raising
        pids[pid] = index

    for index in range(workers):
        spawn(index)
    announce("python/prefork", listener, f", {workers} workers")

    def reap() -> list[tuple[int, int]]:
        """(worker index, exit code) of every worker that has ended."""
        return [(pids.pop(pid), code) for pid, code in ended_children()]

    while not signals.stopping:  # (4)
        wait_readable(signals)  # SIGCHLD, SIGTERM or SIGINT
        signals.drain()
        for index, code in reap():
            if code != 0 and not signals.stopping:  # workers exit 0 only when told to
                print(f"python/prefork: worker {index} died ({code}), restarting", file=sys.stderr)
                spawn(index)

    listener.close()
    stop_children(pids, signals, reap)


if __name__ == "__main__":
    main()
