"""The lab's endpoints (runtimes/SPEC.md sections 3 to 5), with no I/O and no waiting in them.

`App.handle(request)` does not answer: it says what to do, and each model does it its own way.

- a `Reply`: write it now;
- `Sleep(seconds, reply)`: write the reply later without using a CPU meanwhile (time.sleep in
  the thread and process models, a timer in the reactors, asyncio.sleep in asyncio);
- `Compute(work, offload)`: call `work()`, which burns the CPU and returns the reply. Where it
  runs is the point of the lab: on the spot, or, with `offload`, wherever the model offloads
  (a ThreadPoolExecutor in the reactors and in asyncio; the thread and process models are
  already off their accepting thread, so for them offload changes nothing).
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from urllib.parse import parse_qsl

from .http import TEXT, Reply, Request, error_reply, json_reply

MAX_MS = 10_000
MAX_N = 100_000_000
MAX_ITER = 1_000_000
PASSWORD = b"async-runtime-lab"
SALT = b"lab-salt"

PING = Reply(200, b"pong", TEXT)
ALLOW_GET = (("Allow", "GET"),)


@dataclass(frozen=True, slots=True)
class Sleep:
    seconds: float
    reply: Reply


@dataclass(frozen=True, slots=True)
class Compute:
    work: Callable[[], Reply]
    offload: bool


Action = Reply | Sleep | Compute


class BadParameter(Exception):
    pass


class App:
    """One target's endpoints; `handle()` maps a request to an Action."""

    def __init__(
        self,
        model: str,
        *,
        knobs: dict[str, int],
        offload: str,
        version: str,
        worker: int | None = None,
        counters: Callable[[], dict[str, int]] | None = None,
    ) -> None:
        self.model = model
        self.counters = counters  # the reactors' readiness counters, reported in /info
        self.knobs = knobs
        self.offload = offload
        self.version = version
        self.worker = worker
        self._routes = {
            "/ping": lambda params: PING,
            "/info": self._info,
            "/cpu": self._cpu,
            "/work": self._work,
            "/hash": self._hash,
            "/sleep": self._sleep,
        }

    def handle(self, request: Request) -> Action:
        route = self._routes.get(request.path)
        if route is None:
            return error_reply(404, f"no such path: {request.path[:100]}")
        if request.method != "GET":
            return error_reply(405, f"method {request.method[:20]} not allowed, use GET", ALLOW_GET)
        try:
            return route(parse_query(request.query) if request.query else {})
        except BadParameter as error:
            return error_reply(400, str(error))

    def _info(self, params: dict[str, list[str]]) -> Reply:
        info = {
            "target": f"python/{self.model}",
            "runtime": "python",
            "model": self.model,
            "version": self.version,
            "pid": os.getpid(),  # the process that answered: a fork child, a prefork worker
            "worker": self.worker,
            "knobs": self.knobs,
            "offload": self.offload,
        }
        if self.counters is not None:
            info["counters"] = self.counters()
        return json_reply(info)

    def _cpu(self, params: dict[str, list[str]]) -> Compute:
        ms = number(params, "ms", 0, MAX_MS)
        offload = flag(params)
        return Compute(partial(cpu, ms, offload), offload)

    def _work(self, params: dict[str, list[str]]) -> Compute:
        n = number(params, "n", 0, MAX_N)
        offload = flag(params)
        return Compute(partial(work, n, offload), offload)

    def _hash(self, params: dict[str, list[str]]) -> Compute:
        iterations = number(params, "iter", 1, MAX_ITER)
        offload = flag(params)
        return Compute(partial(pbkdf2, iterations, offload), offload)

    def _sleep(self, params: dict[str, list[str]]) -> Sleep:
        ms = number(params, "ms", 0, MAX_MS)
        return Sleep(ms / 1000, json_reply({"ms": ms}))


# --- parameters (SPEC section 4) ---------------------------------------------------------


def parse_query(query: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        params.setdefault(name, []).append(value)
    return params


def number(params: dict[str, list[str]], name: str, low: int, high: int) -> int:
    """A required integer parameter: ASCII digits only, within [low, high], given once."""
    values = params.get(name)
    if values is None:
        raise BadParameter(f"missing parameter '{name}'")
    if len(values) > 1:
        raise BadParameter(f"parameter '{name}' given more than once")
    value = values[0]
    digits = value.lstrip("0") or "0"
    # The length test comes first, so that a huge number is out of range, never parsed.
    if (
        not (value.isascii() and value.isdigit())
        or len(digits) > len(str(high))
        or not (low <= int(digits) <= high)
    ):
        raise BadParameter(f"parameter '{name}' must be an integer from {low} to {high}")
    return int(digits)


def flag(params: dict[str, list[str]]) -> bool:
    """The optional `offload` parameter: 0 or 1, absent means 0."""
    return "offload" in params and number(params, "offload", 0, 1) == 1


# --- the work itself ------------------------------------------------------------------


def spin(ms: int) -> None:
    """Burn the CPU for `ms` milliseconds: no sleeping, no yielding."""
    deadline = time.monotonic() + ms / 1000
    while time.monotonic() < deadline:
        pass


def fnv_rounds(n: int) -> str:
    """SPEC section 5, /work: n rounds of h = (h XOR i) * 0x01000193 on 32 bits."""
    h = 0x811C9DC5
    for i in range(n):
        h = ((h ^ i) * 0x01000193) & 0xFFFFFFFF
    return f"{h:08x}"


def pbkdf2_hex(iterations: int) -> str:
    return hashlib.pbkdf2_hmac("sha256", PASSWORD, SALT, iterations, 32).hex()


def cpu(ms: int, offload: bool) -> Reply:
    spin(ms)
    return json_reply({"ms": ms, "offload": offload})


def work(n: int, offload: bool) -> Reply:
    return json_reply({"n": n, "digest": fnv_rounds(n), "offload": offload})


def pbkdf2(iterations: int, offload: bool) -> Reply:
    return json_reply({"iter": iterations, "digest": pbkdf2_hex(iterations), "offload": offload})
