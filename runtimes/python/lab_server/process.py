"""Process plumbing shared by every model (runtimes/SPEC.md sections 1, 7 and 9).

Knobs from the environment, the listening socket, the start-up line, stop signals, and
leaving on time. Nothing here decides how a model waits for its clients.
"""

from __future__ import annotations

import contextlib
import os
import platform
import select
import signal
import socket
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator

BACKLOG = 4096
GRACE = 1.5  # seconds that in-flight requests get after SIGTERM
HARD_EXIT = 1.7  # then the process leaves, whatever is still running (SPEC: within 2 s)
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


def python_version() -> str:
    return platform.python_version()


def cpus() -> int:
    """The CPUs this process may run on (its affinity mask), as `taskset` or a cpuset set it."""
    return len(os.sched_getaffinity(0))


def knob(name: str, default: int) -> int:
    """An integer >= 1 from the environment; anything else ends the process with a message."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        fail(f"invalid {name}={raw!r}: {name} must be an integer >= 1")
    return int(raw)


def switch(name: str) -> bool:
    """A teaching switch from the environment: 0 (off, also when unset) or 1 (on)."""
    raw = os.environ.get(name, "0")
    if raw not in ("0", "1"):
        fail(f"invalid {name}={raw!r}: {name} is a switch, 0 or 1")
    return raw == "1"


# The pool models' WORKERS when unset: Apache httpd's default MaxRequestWorkers (prefork MPM).
# A pool worker belongs to one client for the connection's whole life, keep-alive included,
# so classic pools are sized for concurrent clients, not for CPUs (runtimes/SPEC.md 7).
DEFAULT_POOL_WORKERS = 256


# The pool models' CLIENT_TIMEOUT when unset, in seconds: how long a worker waits for a
# complete request. Apache httpd waits 5 s for a keep-alive client's next request
# (KeepAliveTimeout) and 20 to 40 s for a request head (mod_reqtimeout, header=20-40); one
# knob here covers both, and 30 s keeps SPEC section 2's promise to idle keep-alive clients.
DEFAULT_CLIENT_TIMEOUT = 30


def default_offload_threads() -> int:
    return min(32, cpus() + 4)  # ThreadPoolExecutor's own default, on our affinity mask


def fail(message: str, code: int = 2) -> None:
    print(f"lab_server: {message}", file=sys.stderr, flush=True)
    sys.exit(code)


def listen() -> socket.socket:
    """The listening socket on HOST:PORT, with the SPEC's backlog of 4096."""
    host = os.environ.get("HOST", "127.0.0.1")
    port = os.environ.get("PORT", "8080")
    if not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        fail(f"invalid PORT={port!r}: PORT must be a TCP port number")
    try:
        family = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, int(port)), family=family, backlog=BACKLOG)
    except OSError as error:
        fail(f"cannot listen on {host}:{port}: {error.strerror or error}", code=1)
        raise  # not reached


def announce(target: str, listener: socket.socket, extra: str = "") -> None:
    host, port = listener.getsockname()[:2]
    host = f"[{host}]" if ":" in host else host
    print(
        f"{target} listening on http://{host}:{port} (pid {os.getpid()}){extra}",
        file=sys.stderr,
        flush=True,
    )


def exit_now(code: int = 0) -> None:
    """Leave at once: no waiting for pool threads that may still be burning a CPU."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


class Signals:
    """SIGTERM and SIGINT as a `stopping` flag plus a byte on a pipe: the self-pipe trick.

    A Python signal handler runs between two bytecodes of the main thread, so a loop blocked
    in select(), poll() or epoll_wait() would not see a flag it sets. signal.set_wakeup_fd()
    makes the C-level handler also write the signal number to a pipe that the loop watches,
    from whichever thread the kernel picked: the loop wakes up and reads which signals came.
    `extra` signals (SIGCHLD in the process models) are reported through the pipe too.

    The first stop signal also starts a watchdog that ends the process HARD_EXIT seconds
    later (`on_hard_exit`): a reactor busy with a long /cpu cannot leave on its own.
    """

    def __init__(
        self,
        extra: tuple[int, ...] = (),
        on_hard_exit: Callable[[], None] = exit_now,
        wakeup: bool = True,
    ) -> None:
        self.stopping = False
        self._on_hard_exit = on_hard_exit
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)
        if wakeup:
            signal.set_wakeup_fd(self._w, warn_on_full_buffer=False)
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._stop)
        for signum in extra:
            signal.signal(signum, _ignore)  # a Python handler, so that it reaches the pipe

    def _stop(self, signum: int, frame: object) -> None:
        if not self.stopping:
            self.stopping = True
            watchdog = threading.Timer(HARD_EXIT, self._on_hard_exit)
            watchdog.daemon = True
            watchdog.start()

    def fileno(self) -> int:
        return self._r

    def drain(self) -> set[int]:
        """The signals received since the last call; sets `stopping` if one was a stop.

        (The Python handler sets it too, but maybe a few bytecodes later than the loop that
        woke up looks: when the kernel delivered the signal to another thread.)"""
        received: set[int] = set()
        try:
            while data := os.read(self._r, 512):
                received.update(data)
        except BlockingIOError:
            pass
        if not received.isdisjoint(STOP_SIGNALS):
            self._stop(0, None)
        return received

    def close(self) -> None:
        """Forget these signals: a forked child calls this before installing its own."""
        signal.set_wakeup_fd(-1)
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        os.close(self._r)
        os.close(self._w)


def _ignore(signum: int, frame: object) -> None:
    pass


class Mailbox:
    """Hand objects to a loop from other threads: a deque plus a pipe that wakes the loop.

    The loop watches `fileno()` like any socket; `put()` appends then writes a byte, so the
    loop never polls. A full pipe is fine: it is readable already, the loop will look.
    """

    def __init__(self) -> None:
        self._items: deque[object] = deque()
        self._r, self._w = os.pipe()
        os.set_blocking(self._r, False)
        os.set_blocking(self._w, False)

    def fileno(self) -> int:
        return self._r

    def put(self, item: object) -> None:
        self._items.append(item)
        with contextlib.suppress(BlockingIOError):
            os.write(self._w, b"\0")

    def take(self) -> Iterator[object]:
        try:
            while os.read(self._r, 4096):
                pass
        except BlockingIOError:
            pass
        while self._items:
            yield self._items.popleft()


def wait_readable(*files: object, timeout: float | None = None) -> list:
    """Block until one of a few low-numbered files (a listener, a signal pipe) is readable."""
    ready, _, _ = select.select(files, [], [], timeout)
    return ready


class RateLimitedLog:
    """At most one line a second on stderr, with a count of the lines it held back."""

    def __init__(self, target: str) -> None:
        self.target = target
        self._last = -1.0
        self._held = 0

    def __call__(self, message: str) -> None:
        now = time.monotonic()
        if now - self._last < 1.0:
            self._held += 1
            return
        held = f" (and {self._held} more in the last second)" if self._held else ""
        print(f"{self.target}: {message}{held}", file=sys.stderr, flush=True)
        self._last, self._held = now, 0


def accept_pending(
    listener: socket.socket, log: RateLimitedLog, at_most: int | None = None
) -> Iterator[socket.socket]:
    """Accept the clients waiting on a non-blocking listener, until EAGAIN or `at_most`."""
    accepted = 0
    while at_most is None or accepted < at_most:
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except ConnectionAbortedError:
            continue
        except OSError as error:  # EMFILE/ENFILE: out of descriptors; let some close first
            log(f"accept() failed: {error.strerror or error}; pausing accepts for 100 ms")
            time.sleep(0.1)
            return
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        accepted += 1
        yield sock


def ended_children() -> Iterator[tuple[int, int]]:
    """(pid, exit code) of every child that has ended, without waiting for the others.

    One SIGCHLD may stand for several children, so callers reap all that have ended."""
    while True:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return  # no children at all
        if pid == 0:
            return  # the others are still running
        yield pid, os.waitstatus_to_exitcode(status)


def signal_all(pids: Collection[int], signum: int) -> None:
    for pid in list(pids):
        with contextlib.suppress(ProcessLookupError):  # it has just exited
            os.kill(pid, signum)


def stop_children(pids: Collection[int], signals: Signals, reap: Callable[[], object]) -> None:
    """SIGTERM every child, reap them for up to GRACE seconds, SIGKILL the rest, exit 0.

    reap() must remove the children it reaps from pids."""
    signal_all(pids, signal.SIGTERM)
    deadline = time.monotonic() + GRACE
    while pids and (left := deadline - time.monotonic()) > 0:
        wait_readable(signals, timeout=left)  # SIGCHLD wakes us
        signals.drain()
        reap()
    signal_all(pids, signal.SIGKILL)
    exit_now(0)
