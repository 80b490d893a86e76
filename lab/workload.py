"""CPU-bound requests of a chosen length, for experiments that measure CPU work rather
than overhead: the size (/work's n, /hash's iter) that makes one request take about t ms
on a running server, and waiting until a server has finished what it was still computing.

Runtimes differ a hundredfold on /work (a compiled loop vs CPython's interpreter), so a
fixed n would measure HTTP overhead on one and seconds of work on another; the size is
chosen per target instead, from the time of single requests on the idle server.
"""

from __future__ import annotations

import http.client
import math
import time
from dataclasses import dataclass

from lab.backends import Server
from lab.errors import LabError


@dataclass(frozen=True)
class Sized:
    """A CPU-bound endpoint whose work grows linearly with one parameter (SPEC section 4)."""

    endpoint: str
    param: str
    start: int      # a size that takes well under a millisecond almost everywhere
    maximum: int    # the contract's upper limit

    def path(self, size: int, offload: bool = False) -> str:
        return f"{self.endpoint}?{self.param}={size}" + ("&offload=1" if offload else "")


SIZED = {"/work": Sized("/work", "n", 100_000, 100_000_000),
         "/hash": Sized("/hash", "iter", 1_000, 1_000_000)}
# Wall time to spend on one CPU estimate: CPU accounting natively counts in 10 ms ticks.
ESTIMATE_MS = 100.0
ESTIMATE_REQUESTS = 40
# A size is scaled from a request costing at least this much CPU, so that the request's
# own overhead (about 1 ms in node/* for a new connection) is a small part of it.
SCALE_FROM_MS = 8.0


def nice(x: float) -> int:
    """The nearest of 1, 2, 5 x 10^k (on a log scale): sizes that read well and that two
    calibrations of the same target agree on."""
    if x <= 1:
        return 1
    decade = 10 ** math.floor(math.log10(x))
    return int(min((m * decade for m in (1, 2, 5, 10)), key=lambda v: abs(math.log(v / x))))


def request_ms(server: Server, path: str, timeout_s: float = 30.0) -> float:
    """One GET on a fresh connection, in ms; LabError unless it is a 200."""
    conn = http.client.HTTPConnection(server.host, server.port, timeout=timeout_s)
    try:
        started = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        elapsed = (time.perf_counter() - started) * 1000
    except OSError as exc:
        raise LabError(f"{server.target}: GET {path} failed ({exc})") from None
    finally:
        conn.close()
    if response.status != 200:
        raise LabError(f"{server.target}: GET {path} answered {response.status}")
    return elapsed


def fastest_ms(server: Server, path: str, tries: int = 2) -> float:
    """The fastest of a few sequential requests: the request's own time on an idle server."""
    return min(request_ms(server, path) for _ in range(tries))


def warm_up(server: Server, path: str, budget_s: float = 4.0) -> float:
    """Sequential requests until two windows in a row are no more than 10 % faster than
    the best before them, with the server's CPU time per request no more than their wall
    time (by 15 %), or for budget_s: no compiler thread is still working on the path, on
    this CPU or beside it. A fresh JVM on one CPU takes about 3 s: its compiler shares that
    CPU, and one window that is not faster is only a pause between two compilations
    (java's /hash read 3.5x faster on 2 CPUs than on 1 after a one-window test). The wall
    time per request, in ms."""
    started, best, steady = time.monotonic(), float("inf"), 0
    while True:
        wall, cpu = _per_request(server, path)
        steady = steady + 1 if wall >= 0.9 * best and cpu <= 1.15 * wall else 0
        best = min(best, wall)
        if steady >= 2 or time.monotonic() - started > budget_s:
            return wall


def _per_request(server: Server, path: str) -> tuple[float, float]:
    """Wall and server CPU time per request (ms) over sequential requests for about
    ESTIMATE_MS (at most ESTIMATE_REQUESTS); CPU time is read only before and after (it
    costs milliseconds natively)."""
    before, started, count = server.cpu_seconds(), time.monotonic(), 0
    while count < ESTIMATE_REQUESTS and (time.monotonic() - started) * 1000 < ESTIMATE_MS:
        request_ms(server, path)
        count += 1
    wall = (time.monotonic() - started) * 1000 / count
    used = (server.cpu_seconds() - before) * 1000
    # too little to count (10 ms ticks natively): no CPU time at all
    return wall, used / count if used >= ESTIMATE_MS / 4 else 0.0


def cpu_ms(server: Server, path: str) -> float:
    """The server's CPU time per request (ms), over sequential requests for about
    ESTIMATE_MS; 0 when they used too little CPU to count. CPU time, unlike wall time,
    does not grow when other processes share the CPU."""
    return _per_request(server, path)[1]


def calibrate(server: Server, endpoint: str, target_ms: float, offload: bool = False) -> int:
    """The size (a nice number) that makes one request to endpoint cost the server about
    target_ms of CPU: grown until a request costs at least SCALE_FROM_MS, then scaled,
    and measured again until scaling no longer changes it (a JIT compiler may still be
    speeding it up). The first requests warm up JIT compilers and lazily started pools."""
    sized = SIZED[endpoint]
    size = sized.start
    warm_up(server, sized.path(size, offload))
    cost = cpu_ms(server, sized.path(size, offload))
    while cost < SCALE_FROM_MS and size < sized.maximum:
        grow = 10 if cost == 0 else max(2, math.ceil(1.5 * SCALE_FROM_MS / cost))
        size = min(sized.maximum, size * grow)
        cost = cpu_ms(server, sized.path(size, offload))
    for _ in range(3):  # check the size: a JIT compiler may have sped it up meanwhile
        if cost == 0:
            raise LabError(f"{server.target}: {endpoint} used no measurable CPU even at "
                           f"{sized.param}={size}")
        scaled = max(1, min(sized.maximum, nice(size * target_ms / cost)))
        if scaled == size:
            break
        size, cost = scaled, cpu_ms(server, sized.path(scaled, offload))
    return size


def wait_idle(server: Server, timeout_s: float = 10.0, interval_s: float = 0.02,
              busy_share: float = 0.1) -> float:
    """Wait until the server used under busy_share of a CPU over one interval (requests a
    closed loop abandoned at its end may still be computing); the seconds waited."""
    started = time.monotonic()
    before = server.cpu_seconds()
    while time.monotonic() - started < timeout_s:
        time.sleep(interval_s)
        now = server.cpu_seconds()
        if now - before < busy_share * interval_s:
            break
        before = now
    return time.monotonic() - started
