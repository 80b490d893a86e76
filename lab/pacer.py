"""The pacer (loadgen/pacer): open loop on a schedule, and its closed-loop mode.

Open loop: CSV records (one per request) on stdout, a JSON summary on stderr; see
loadgen/README.md for both formats.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from lab.backends import Backend, LoadRun
from lab.errors import LabError

RECORD_COLUMNS = ["stream", "connection", "intended_ns", "ready_ns", "sent_ns", "done_ns",
                  "status", "error"]
DEFAULT_CONNECTIONS = 16


@dataclass(frozen=True)
class Stream:
    """requests to path at rate_per_s, on the pacer's common clock, from phase_ms on, on
    connections of its own (None: the run's default)."""

    name: str
    path: str
    rate_per_s: float
    phase_ms: float = 0.0
    connections: int | None = None
    poisson: bool = False   # exponential gaps of mean 1/rate (seeded) instead of equal ones

    def flag(self) -> str:
        phase = f"+{self.phase_ms:g}ms" if self.phase_ms else ""
        conns = f":{self.connections}" if self.connections else ""
        arrivals = "~" if self.poisson else ""
        return f"{self.name}={self.path}@{arrivals}{self.rate_per_s:g}{phase}{conns}"


@dataclass(frozen=True)
class PacerRecord:
    stream: str
    connection: int       # which connection carried it (0 … connections-1 over all streams)
    intended_ns: int
    ready_ns: int | None  # max(intended, its connection free); None: never written
    sent_ns: int | None   # None: never written (e.g. the connection was refused)
    done_ns: int          # when the response ended, or when the request failed
    status: int           # 0 when there was no (complete) response
    error: str            # "kind: detail", or empty when a response arrived

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def error_kind(self) -> str:
        """connect, write, read or timeout; empty when a response arrived."""
        return self.error.split(":", 1)[0]

    @property
    def latency_ms(self) -> float:
        """From the intended send time, so a stalled server cannot hide its stalls;
        infinite for a request without a 2xx response (see lab.loadgen.percentile)."""
        return (self.done_ns - self.intended_ns) / 1e6 if self.ok else float("inf")


@dataclass(frozen=True)
class PacerResult:
    records: list[PacerRecord]
    summary: dict

    @property
    def p99_dispatch_lag_ms(self) -> float:
        """How late the pacer itself wrote requests that were due on a free connection
        (99th percentile over every stream): the generator's own precision."""
        return self.summary["dispatch_lag_ns"]["p99"] / 1e6

    @property
    def max_dispatch_lag_ms(self) -> float:
        return self.summary["dispatch_lag_ns"]["max"] / 1e6

    @property
    def max_send_lag_ms(self) -> float:
        """Intended -> written, including waits for the stream's busy connections."""
        return max((s["send_lag_ns"]["max"] for s in self.summary["streams"]), default=0) / 1e6

    @property
    def achieved(self) -> float:
        """The smallest share, over streams, of scheduled requests written in time."""
        return min((s["achieved"] for s in self.summary["streams"]), default=0.0)


@dataclass(frozen=True)
class Background:
    """Connections held beside the streams (loadgen/README.md): `idle` answered once, then
    silent; `slow` slowloris clients sending a request head one byte every slow_interval_s;
    `pad`: stream name -> bytes its request heads are padded to."""

    idle: int = 0
    idle_wait_s: float = 10.0
    slow: int = 0
    slow_interval_s: float = 0.1
    pad: tuple[tuple[str, int], ...] = ()
    prime_wait_s: float | None = None   # None: the pacer's default (2 s)

    def flags(self) -> list[str]:
        argv = []
        if self.idle:
            argv += ["-idle", str(self.idle), "-idle-wait", f"{self.idle_wait_s:g}s"]
        if self.slow:
            argv += ["-slow", str(self.slow), "-slow-interval", f"{self.slow_interval_s:g}s"]
        for name, size in self.pad:
            argv += ["-pad", f"{name}={size}"]
        if self.prime_wait_s is not None:
            argv += ["-prime-wait", f"{self.prime_wait_s:g}s"]
        return argv


def pacer_argv(backend: Backend, url: str, streams: list[Stream], duration_s: float,
               connections: int, timeout_s: float, prime: str | None = None,
               seed: int = 1, background: Background = Background()) -> list[str]:
    argv = [backend.loadgen_paths()["pacer"], "-url", url, "-duration", f"{duration_s:g}s",
            "-connections", str(connections), "-timeout", f"{timeout_s:g}s", "-out", "-",
            "-seed", str(seed)]
    if prime:
        argv += ["-prime", prime]
    for stream in streams:
        argv += ["-stream", stream.flag()]
    return argv + background.flags()


def parse_pacer_records(text: str) -> list[PacerRecord]:
    reader = csv.DictReader(io.StringIO(text))
    if reader.fieldnames != RECORD_COLUMNS:
        raise LabError(f"pacer records have columns {reader.fieldnames}, "
                       f"expected {RECORD_COLUMNS}")

    def optional(text: str) -> int | None:
        return int(text) if text else None

    return [PacerRecord(r["stream"], int(r["connection"]), int(r["intended_ns"]),
                        optional(r["ready_ns"]), optional(r["sent_ns"]), int(r["done_ns"]),
                        int(r["status"]), r["error"]) for r in reader]


def parse_pacer_summary(text: str) -> dict:
    """The last line of the pacer's output that is a JSON object."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise LabError("the pacer printed no JSON summary", detail=text[-2000:])


def run_pacer(backend: Backend, url: str, streams: list[Stream], duration_s: float,
              connections: int = DEFAULT_CONNECTIONS, timeout_s: float = 15.0,
              prime: str | None = "/ping", seed: int = 1,
              background: Background = Background()) -> tuple[PacerResult, LoadRun]:
    """The open loop: each stream on its own connections (its own count, or `connections`),
    each connection primed with one request to `prime` (None: its stream's path) before
    the clock starts; `seed` fixes the arrival times of Poisson streams; `background`
    connections are opened before them."""
    setup = background.idle_wait_s if background.idle else 0.0
    run = backend.run_load(pacer_argv(backend, url, streams, duration_s, connections,
                                      timeout_s, prime, seed, background),
                           timeout=setup + duration_s + timeout_s + 30)
    if run.returncode != 0:
        raise LabError(f"the pacer exited with status {run.returncode}",
                       detail=run.stderr[-2000:])
    return PacerResult(parse_pacer_records(run.stdout), parse_pacer_summary(run.stderr)), run


def closed_argv(backend: Backend, url: str, connections: int, duration_s: float,
                timeout_s: float) -> list[str]:
    parts = url.split("/", 3)  # http: '' host path
    base, path = "/".join(parts[:3]), "/" + (parts[3] if len(parts) > 3 else "")
    return [backend.loadgen_paths()["pacer"], "-mode", "closed", "-url", base, "-path", path,
            "-connections", str(connections), "-duration", f"{duration_s:g}s",
            "-timeout", f"{timeout_s:g}s"]
