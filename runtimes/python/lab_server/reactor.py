"""What the four reactors (select, poll, epoll-lt, epoll-et) share: everything but the wait.

A reactor is one thread that never blocks, except in the one call that waits for readiness:
select(), poll() or epoll_wait(). Its sockets are non-blocking: recv() and send() return at
once (BlockingIOError when there is nothing to do), so one thread keeps many connections
going. Each model file subclasses Reactor with its interest set (register, modify, unregister)
and its loop around the wait: that is the lesson. The rest lives here:

- connections: bytes read go to the parser, requests are answered in order, what send() does
  not take is buffered, and WRITE readiness is asked for only while something is buffered;
- /sleep: a heap of timers, whose earliest deadline is the wait's timeout (`timeout()`);
- offload=1: a ThreadPoolExecutor does the work and the result comes back through a Mailbox,
  a deque plus a pipe the reactor watches like a socket: it never polls for results;
- shutdown: the signal pipe (process.Signals) is watched like a socket too;
- counters of what the readiness model costs, reported in /info (`Counters`).
"""

from __future__ import annotations

import heapq
import itertools
import socket
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass

from .app import App, Compute, Sleep
from .http import HttpError, Reply, Request, RequestParser, error_reply, error_response, response
from .process import (
    GRACE,
    Mailbox,
    RateLimitedLog,
    Signals,
    announce,
    default_offload_threads,
    exit_now,
    knob,
    listen,
    python_version,
)

READ, WRITE = 1, 2  # interest bits; each model translates them to its own flags
RECV_SIZE = 4096  # small on purpose: a 6 KB request head takes two reads (see epoll_et.py)
HIGH_WATER = 256 * 1024  # stop starting pipelined requests while this much is unsent
LINGER = 0.5  # seconds to drain a client after our FIN (see blocking.BlockingConnection.close)
OFFLOAD = (
    "a ThreadPoolExecutor(OFFLOAD_THREADS) runs the work; the result comes back to the reactor "
    "through a wakeup pipe it watches (the GIL still serialises /cpu and /work; "
    "hashlib.pbkdf2_hmac releases it)"
)


@dataclass(slots=True)
class Counters:
    """What the readiness model costs, counted since start-up and reported in /info: the
    lab divides their growth by the requests answered meanwhile (a 6 KB request takes two
    reads level-triggered and, edge-triggered, a third that finds the socket empty)."""

    waits: int = 0  # select(), poll() or epoll_wait() calls
    events: int = 0  # descriptors those calls reported ready
    reads: int = 0  # recv() calls on connections
    eagain: int = 0  # of them, those that found nothing (BlockingIOError: EAGAIN)
    requests: int = 0  # complete requests taken from the parser

    def waited(self, ready: int) -> None:
        self.waits += 1
        self.events += ready


class Connection:
    __slots__ = (
        *("sock", "fd", "parser", "out", "interest"),
        *("busy", "closing", "lingering", "half_closed", "closed"),
    )

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.fd = sock.fileno()
        self.parser = RequestParser()
        self.out = bytearray()  # response bytes send() has not taken yet
        self.interest = READ
        self.busy = False  # a request is sleeping or offloaded; later ones wait their turn
        self.closing = False  # close once `out` is sent
        self.lingering = False  # our FIN is sent; dropping what the client still sends
        self.half_closed = False  # the client's FIN has come: answer what is owed, close
        self.closed = False

    def wanted(self) -> int:
        if self.lingering:
            return READ
        if self.out:
            return WRITE  # no reading meanwhile: a client that does not read is not fed more
        if self.busy or self.closing or self.half_closed:
            return 0
        return READ


class Reactor:
    def __init__(self, model: str, knobs: dict[str, int] | None = None) -> None:
        threads = knob("OFFLOAD_THREADS", default_offload_threads())
        self.model = model
        self.counters = Counters()
        self.app = App(
            model,
            knobs={"OFFLOAD_THREADS": threads, **(knobs or {})},
            offload=OFFLOAD,
            version=python_version(),
            counters=lambda: asdict(self.counters),
        )
        self.log = RateLimitedLog(f"python/{model}")
        self.listener = listen()
        self.listener.setblocking(False)
        self.listener_fd = self.listener.fileno()
        self.signals = Signals()
        self.done = Mailbox()  # (connection, request, reply) from the offload pool
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="offload")
        self.conns: dict[int, Connection] = {}
        self.timers: list[tuple[float, int, Callable[..., None], tuple]] = []
        self._order = itertools.count()  # ties between timers go by insertion order
        self.deadline: float | None = None  # set by shut_down()

    # --- the interest set and the loop: each model file implements these -----------------

    def register(self, fd: int, events: int) -> None:
        raise NotImplementedError

    def modify(self, fd: int, events: int) -> None:
        raise NotImplementedError

    def unregister(self, fd: int) -> None:
        raise NotImplementedError

    def run(self) -> None:
        raise NotImplementedError

    def admit(self, sock: socket.socket) -> bool:
        """May this new connection be served? (python/select says no past FD_SETSIZE.)"""
        return True

    def read(self, conn: Connection) -> None:
        """Level-triggered: recv() once. If more is left, the next wait reports it again."""
        try:
            data = self.recv(conn)
        except OSError:
            self.close(conn)
            return
        if data is not None:
            self.received(conn, data)

    def recv(self, conn: Connection) -> bytes | None:
        """One recv() on a connection, counted; None when it is empty (EAGAIN)."""
        self.counters.reads += 1
        try:
            return conn.sock.recv(RECV_SIZE)
        except BlockingIOError:
            self.counters.eagain += 1
            return None

    # --- the shared machinery --------------------------------------------------------------

    def serve(self) -> None:
        for fd in (self.listener_fd, self.done.fileno(), self.signals.fileno()):
            self.register(fd, READ)
        announce(f"python/{self.model}", self.listener)
        self.run()
        exit_now(0)

    def running(self) -> bool:
        return self.deadline is None or (bool(self.conns) and time.monotonic() < self.deadline)

    def timeout(self) -> float | None:
        """How long the wait may block: until the earliest timer (None: no timer, forever)."""
        deadline = self.timers[0][0] if self.timers else None
        if self.deadline is not None:
            deadline = self.deadline if deadline is None else min(deadline, self.deadline)
        return None if deadline is None else max(0.0, deadline - time.monotonic())

    def call_later(self, delay: float, callback: Callable[..., None], *args: object) -> None:
        heapq.heappush(self.timers, (time.monotonic() + delay, next(self._order), callback, args))

    def run_timers(self) -> None:
        now = time.monotonic()
        while self.timers and self.timers[0][0] <= now:
            _, _, callback, args = heapq.heappop(self.timers)
            callback(*args)

    def on_readable(self, fd: int) -> None:
        conn = self.conns.get(fd)
        if conn is not None:
            self.read(conn)
        elif fd == self.listener_fd:
            self.accept()
        elif fd == self.done.fileno():
            for conn, request, reply in self.done.take():
                self.finish(conn, request, reply)
        elif fd == self.signals.fileno():
            self.signals.drain()
            if self.signals.stopping and self.deadline is None:
                self.shut_down()

    def on_writable(self, fd: int) -> None:
        conn = self.conns.get(fd)
        if conn is not None:
            self.progress(conn)

    def accept(self) -> None:
        while True:  # until EAGAIN: epoll-et needs it, and bursts cost fewer wake-ups
            try:
                sock, _ = self.listener.accept()
            except BlockingIOError:
                return
            except ConnectionAbortedError:
                continue
            except OSError as error:
                # EMFILE: out of descriptors. Stop watching the listener for a moment, or a
                # level-triggered wait would report it again at once: a busy loop.
                self.log(f"accept() failed: {error.strerror}; pausing accepts for 100 ms")
                self.modify(self.listener_fd, 0)
                self.call_later(0.1, self.resume_accepting)
                return
            if not self.admit(sock):
                continue
            sock.setblocking(False)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn = Connection(sock)
            self.conns[conn.fd] = conn
            self.register(conn.fd, READ)

    def resume_accepting(self) -> None:
        if self.deadline is None:
            self.modify(self.listener_fd, READ)

    def received(self, conn: Connection, data: bytes) -> None:
        if not data and conn.lingering:
            self.close(conn)  # the client has finished too
        elif not data:
            # The client has gone, or half-closed after its requests (nc -N): answer what is
            # still owed, then close (progress() closes at once when nothing is).
            conn.half_closed = True
            self.progress(conn)
        elif not conn.lingering:
            conn.parser.feed(data)
            self.progress(conn)

    def progress(self, conn: Connection) -> None:
        """Take a connection as far as it goes without waiting: start requests, send."""
        more = True
        while more:
            more = self.start_requests(conn)  # True: stopped because `out` is full
            if not self.flush(conn):
                return  # the client has gone
            more = more and not conn.out
        if conn.closing and not conn.out and not conn.lingering:
            self.linger(conn)
        elif (self.deadline is not None or conn.half_closed) and not (conn.busy or conn.out):
            self.close(conn)  # shutting down, or the client half-closed: all answered now
        if not conn.closed and conn.wanted() != conn.interest:
            conn.interest = conn.wanted()
            self.modify(conn.fd, conn.interest)

    def start_requests(self, conn: Connection) -> bool:
        """Start the complete requests in order, until one must wait (sleep, offload)."""
        while not conn.busy and not conn.closing:
            if len(conn.out) >= HIGH_WATER:
                return True
            try:
                request = conn.parser.next()
            except HttpError as error:
                conn.out += error_response(error)
                conn.closing = True
                break
            if request is None:
                break
            self.counters.requests += 1
            action = self.app.handle(request)
            if isinstance(action, Sleep):
                conn.busy = True
                self.call_later(action.seconds, self.finish, conn, request, action.reply)
            elif isinstance(action, Compute) and action.offload:
                conn.busy = True
                self.pool.submit(self.offloaded, conn, request, action.work)
            elif isinstance(action, Compute):
                self.respond(conn, request, action.work())  # inline: everyone else waits
            else:
                self.respond(conn, request, action)
        return False

    def offloaded(self, conn: Connection, request: Request, work: Callable[[], Reply]) -> None:
        """Runs on a pool thread; the reply goes back to the reactor through the mailbox."""
        try:
            reply = work()
        except Exception as error:  # a bug, not a client's fault: answer rather than hang
            reply = error_reply(500, f"internal error: {error}")
        self.done.put((conn, request, reply))

    def finish(self, conn: Connection, request: Request, reply: Reply) -> None:
        """A sleep's timer fired or an offloaded result came back."""
        if not conn.closed:
            conn.busy = False
            self.respond(conn, request, reply)
            self.progress(conn)

    def respond(self, conn: Connection, request: Request, reply: Reply) -> None:
        keep_alive = request.keep_alive and self.deadline is None
        conn.out += response(request, reply, keep_alive)
        conn.closing = not keep_alive

    def flush(self, conn: Connection) -> bool:
        """send() until everything is sent or the socket is full (EAGAIN). False: closed."""
        while conn.out:
            try:
                sent = conn.sock.send(conn.out)
            except BlockingIOError:
                break
            except OSError:
                self.close(conn)
                return False
            del conn.out[:sent]
        return True

    def linger(self, conn: Connection) -> None:
        """We close: send FIN, drop what the client still sends, close on its EOF or LINGER."""
        if self.deadline is not None:
            self.close(conn)  # shutting down: no time for that
            return
        try:
            conn.sock.shutdown(socket.SHUT_WR)
        except OSError:
            self.close(conn)
            return
        conn.lingering = True
        self.call_later(LINGER, self.close, conn)

    def close(self, conn: Connection) -> None:
        if not conn.closed:
            conn.closed = True
            self.unregister(conn.fd)  # before close(): the descriptor number gets reused
            del self.conns[conn.fd]
            conn.sock.close()

    def shut_down(self) -> None:
        """SIGTERM: stop accepting, close idle connections, give the rest until `deadline`."""
        self.deadline = time.monotonic() + GRACE
        self.unregister(self.listener_fd)
        self.listener.close()
        self.listener_fd = -1
        for conn in list(self.conns.values()):
            if conn.lingering or not (conn.busy or conn.out):
                self.close(conn)
