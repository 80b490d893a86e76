"""One connection served with blocking calls: the half shared by the thread and process models.

In python/fork, python/prefork, python/threaded and python/threadpool, waiting is blocking:
a thread (or a process) sits in recv() until its client sends, in time.sleep() for /sleep,
in the /cpu loop for /cpu, and the operating system switches to someone else meanwhile.
Each connection has a thread or a process to itself until the client leaves. This module is
that blocking half; each model decides how connections get to it:

- `ThreadServed.serve(conn)`: a thread serves it (threaded, threadpool); on shutdown,
  `stop()` wakes the threads idle in recv().
- `serve_in_process(conn, ...)`: a process serves it (fork's child, a prefork worker),
  waiting between requests for its client, a stop signal or the death of its parent.

The pool models give a connection `client_timeout` seconds (CLIENT_TIMEOUT) to complete each
request, counted from when a worker takes the connection or from the previous answer: a
worker that waits longer answers 408 if a request was begun, and closes. Without it, a
client that connects and stays silent, or sends its request a byte at a time (slowloris),
owns a worker for as long as it likes, and WORKERS such clients own the server.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable

from .app import Action, App, Compute, Sleep
from .http import HttpError, Reply, RequestParser, error_response, response
from .process import Signals, wait_readable

RECV_SIZE = 65536
LINGER = 0.5  # seconds to drain a client after we closed our side (see close())


def perform(action: Action) -> Reply:
    """Do what the App asked, here and now, blocking this thread."""
    if isinstance(action, Sleep):
        time.sleep(action.seconds)  # the thread sleeps; the OS runs the others
        return action.reply
    if isinstance(action, Compute):
        return action.work()  # offload or not: we are already off the accepting thread
    return action


class BlockingConnection:
    def __init__(
        self,
        sock: socket.socket,
        app: App,
        stopping: Callable[[], bool],
        client_timeout: float | None = None,
    ) -> None:
        sock.setblocking(True)
        self.sock = sock
        self.app = app
        self.parser = RequestParser()
        self.waiting = False  # blocked in recv() for the client's next bytes
        self.closing = False  # we decided to close: linger before closing
        self._stopping = stopping
        self.client_timeout = client_timeout
        self.deadline = self._next_deadline()  # for the next complete request

    def _next_deadline(self) -> float | None:
        return None if self.client_timeout is None else time.monotonic() + self.client_timeout

    def time_left(self) -> float | None:
        """Seconds until the client must have completed its request (None: no limit)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def expire(self) -> None:
        """The client took longer than client_timeout: 408 if it began a request, then close
        (lingering, as after any error); an idle keep-alive client is just closed."""
        if self.parser.pending:
            with contextlib.suppress(OSError):
                self.sock.sendall(error_response(HttpError(408, "request not completed in time")))
            self.closing = True

    def serve_forever(self) -> None:
        """Thread and process per connection: serve until the client leaves."""
        try:
            while self.read() and self.serve():
                pass
        finally:
            self.close()

    def read(self) -> bool:
        """recv() once, blocking until the client sends (or its time is up: expire()).
        False when the connection is over."""
        self.waiting = True  # set before looking at stopping: see interrupt()
        try:
            if self._stopping():
                return False
            left = self.time_left()
            if left is not None and left <= 0:
                raise TimeoutError
            self.sock.settimeout(left)
            data = self.sock.recv(RECV_SIZE)
        except TimeoutError:
            self.expire()
            return False
        except OSError:
            return False
        finally:
            self.waiting = False
        if not data:
            return False
        self.parser.feed(data)
        return True

    def serve(self) -> bool:
        """Answer every complete request received so far, in order. False: close now."""
        try:
            while True:
                try:
                    request = self.parser.next()
                except HttpError as error:
                    self.sock.sendall(error_response(error))
                    self.closing = True
                    return False
                if request is None:
                    return True
                reply = perform(self.app.handle(request))
                keep_alive = request.keep_alive and not self._stopping()
                self.sock.settimeout(None)
                self.sock.sendall(response(request, reply, keep_alive))
                self.deadline = self._next_deadline()
                if not keep_alive:
                    self.closing = True
                    return False
        except OSError:  # the client left while we were answering
            return False

    def interrupt(self) -> None:
        """On shutdown: wake a connection idle in recv() so that it ends now.

        Safe against races with read(): stopping is set before this is called, and read()
        sets `waiting` before it checks stopping. SHUT_RD only: a response being written
        still goes out."""
        if self.waiting:
            with contextlib.suppress(OSError):
                self.sock.shutdown(socket.SHUT_RD)

    def close(self) -> None:
        """Close; if we are the ones ending the connection, linger first.

        Closing a socket with unread bytes in it makes the kernel send RST, which can destroy
        the response still on its way to the client (a 413 while the client is still sending
        its body). So: send FIN, read and drop what the client still sends until it closes
        too, for at most LINGER seconds, then close."""
        if self.closing:
            try:
                self.sock.shutdown(socket.SHUT_WR)
                deadline = time.monotonic() + LINGER
                while (left := deadline - time.monotonic()) > 0:
                    self.sock.settimeout(left)
                    if not self.sock.recv(RECV_SIZE):
                        break
            except OSError:
                pass
        self.sock.close()


class ThreadServed:
    """The connections being served by threads, so that shutdown can wake the idle ones."""

    def __init__(self) -> None:
        self._conns: set[BlockingConnection] = set()
        self._changed = threading.Condition()

    def serve(self, conn: BlockingConnection) -> None:
        """Serve on the calling thread until the client leaves."""
        with self._changed:
            self._conns.add(conn)
        try:
            conn.serve_forever()
        finally:
            with self._changed:
                self._conns.discard(conn)
                self._changed.notify_all()

    def stop(self, timeout: float) -> None:
        """Wake the threads idle in recv(); wait up to `timeout` for the busy ones."""
        with self._changed:
            for conn in self._conns:
                conn.interrupt()
            self._changed.wait_for(lambda: not self._conns, timeout)


def serve_in_process(conn: BlockingConnection, signals: Signals, parent_alive: int) -> None:
    """Serve until the client leaves, in a process of its own (fork's child, a prefork worker).

    Between requests, wait for whichever comes first: the client's next bytes, a stop signal
    (its byte on the self-pipe), or the end of `parent_alive`, a pipe whose write end only
    the parent holds: the kernel closes it when the parent dies, even of SIGKILL."""
    try:
        while True:
            left = conn.time_left()
            ready = wait_readable(conn.sock, signals, parent_alive,
                                  timeout=None if left is None else max(0.0, left))
            if signals in ready:
                signals.drain()
            if signals.stopping or parent_alive in ready:
                return
            if not ready:  # the client's time is up
                conn.expire()
                return
            if not (conn.read() and conn.serve()):
                return
    finally:
        conn.close()
