"""python/fork: fork() a new process for every connection.

The oldest Unix server design (inetd, early Apache). The parent only accepts: for each client
it calls fork() (1), and the child, a copy of the parent, serves that one client with plain
blocking calls (lab_server/blocking.py) and exits with os._exit() (2) when the client leaves.
The parent closes its copy of the client socket at once (3): otherwise the connection would
stay open as long as the parent lives.

Processes share nothing: a child that burns a CPU, or crashes, touches nobody else, and there
is no GIL between them, so /cpu runs on as many cores as there are. The price is a process
per connection, and a fork() (copying the page tables of a whole Python interpreter) for
every new one; gc.freeze() (4) keeps the children's garbage collector from writing to, and so
copying, the pages of every object they inherited.

A child that exits stays a zombie until its parent collects its exit status. The kernel
sends SIGCHLD, the self-pipe wakes the loop, and (5) reaps every finished child with
waitpid(WNOHANG) (process.ended_children), since several SIGCHLDs may arrive as one.

Shutdown (6): the parent stops accepting and sends SIGTERM to its children; a child waiting
for its client's next request leaves at once, a busy one finishes its response (with
Connection: close) first. What is left after GRACE seconds is killed; then the parent exits.
Children also leave if the parent dies without a word (see blocking.serve_in_process).
offload=1 changes nothing: the work already runs in the child.
"""

import gc
import os
import signal
import socket

from lab_server.app import App
from lab_server.blocking import BlockingConnection, serve_in_process
from lab_server.process import (
    RateLimitedLog,
    Signals,
    accept_pending,
    announce,
    ended_children,
    exit_now,
    listen,
    python_version,
    signal_all,
    stop_children,
    wait_readable,
)

OFFLOAD = "ignored: the work already runs in the child process serving the connection"

children: set[int] = set()


def reap() -> None:  # (5)
    for pid, _ in ended_children():
        children.discard(pid)


def hard_exit() -> None:
    signal_all(children, signal.SIGKILL)
    exit_now(0)


def main() -> None:
    app = App("fork", knobs={}, offload=OFFLOAD, version=python_version())
    log = RateLimitedLog("python/fork")
    listener = listen()
    listener.setblocking(False)
    signals = Signals(extra=(signal.SIGCHLD,), on_hard_exit=hard_exit)
    parent_alive, alive_w = os.pipe()  # children leave when this pipe's write end closes
    gc.freeze()  # (4)

    def child(sock: socket.socket) -> None:
        """In the child process: serve this one connection, then leave. Never returns."""
        code = 0
        try:
            children.clear()  # the parent's: not ours to signal
            listener.close()  # a child does not accept,
            signals.close()  # nor listen to the parent's signals,
            os.close(alive_w)  # nor hold the write end of the parent's pipe
            signal.signal(signal.SIGCHLD, signal.SIG_DFL)
            own_signals = Signals()
            conn = BlockingConnection(sock, app, stopping=lambda: own_signals.stopping)
            serve_in_process(conn, own_signals, parent_alive)
        except BaseException:
            code = 1
        finally:
            os._exit(code)  # (2) no cleanup of the parent's state copied into this child

    announce("python/fork", listener)
    while not signals.stopping:
        ready = wait_readable(listener, signals)  # a client, or a signal on the self-pipe
        if signals in ready and signal.SIGCHLD in signals.drain():
            reap()
        if listener in ready and not signals.stopping:
            for sock in accept_pending(listener, log):
                pid = os.fork()  # (1)
                if pid == 0:
                    child(sock)
                sock.close()  # (3)
                children.add(pid)

    listener.close()  # (6)
    stop_children(children, signals, reap)


if __name__ == "__main__":
    main()
