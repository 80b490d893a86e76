"""Driving the two load generators and parsing what they print.

Closed loop: wrk with loadgen/wrk/report.lua, whose done() hook prints one line
`LABJSON {...}`; wrk's own text is never read for numbers.
Open loop: the pacer (loadgen/pacer), CSV records on stdout, a JSON summary on stderr.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass

from lab.backends import Backend, LoadRun
from lab.errors import LabError

WRK_MARKER = "LABJSON "
# A generator that used more than this share of its CPUs was the bottleneck itself.
GENERATOR_BOUND_UTILISATION = 0.9
WRK_TIMEOUT_S = 5


@dataclass(frozen=True)
class WrkResult:
    requests: int
    duration_s: float
    requests_per_s: float
    errors: dict[str, int]
    latency_ms: dict[str, float]  # min mean stdev max p50 p75 p90 p99 p99_9 (empty: none)

    @property
    def errors_total(self) -> int:
        return sum(self.errors.values())


def parse_wrk(stdout: str) -> WrkResult:
    """The LABJSON line of a wrk run; LabError if there is none."""
    for line in stdout.splitlines():
        if line.startswith(WRK_MARKER):
            data = json.loads(line[len(WRK_MARKER):])
            latency = data.get("latency_us") or {}
            return WrkResult(
                requests=int(data["requests"]),
                duration_s=data["duration_us"] / 1e6,
                requests_per_s=float(data["requests_per_s"] or 0.0),
                errors={k: int(v) for k, v in data["errors"].items()},
                latency_ms={k: v / 1000 for k, v in latency.items() if v is not None},
            )
    raise LabError("wrk printed no LABJSON line (did report.lua run?)",
                   detail=stdout[-2000:])


def wrk_argv(backend: Backend, url: str, connections: int, duration_s: int,
             timeout_s: int = WRK_TIMEOUT_S) -> list[str]:
    """wrk with one thread per load CPU (never more threads than connections)."""
    paths = backend.loadgen_paths()
    threads = max(1, min(connections, len(backend.cpus.load)))
    return [paths["wrk"], f"-t{threads}", f"-c{connections}", f"-d{duration_s}s",
            f"--timeout={timeout_s}s", "-s", paths["wrk_script"], url]


def run_wrk(backend: Backend, url: str, connections: int, duration_s: int,
            ) -> tuple[WrkResult, LoadRun]:
    run = backend.run_load(wrk_argv(backend, url, connections, duration_s),
                           timeout=duration_s + WRK_TIMEOUT_S + 30)
    if run.returncode != 0:
        raise LabError(f"wrk exited with status {run.returncode}",
                       detail=(run.stderr or run.stdout)[-2000:])
    return parse_wrk(run.stdout), run


# -- the pacer ----------------------------------------------------------------------

@dataclass(frozen=True)
class Stream:
    """requests to path at rate_per_s, on the pacer's common clock, from phase_ms on."""

    name: str
    path: str
    rate_per_s: float
    phase_ms: float = 0.0

    def flag(self) -> str:
        phase = f"+{self.phase_ms:g}ms" if self.phase_ms else ""
        return f"{self.name}={self.path}@{self.rate_per_s:g}{phase}"


@dataclass(frozen=True)
class PacerRecord:
    stream: str
    intended_ns: int
    sent_ns: int | None   # None: never written (e.g. the connection was refused)
    done_ns: int | None   # None: no outcome before the pacer stopped
    status: int           # 0 when the request failed
    error: str

    @property
    def latency_ms(self) -> float | None:
        """From the intended send time: a stalled server cannot hide its stalls."""
        return None if self.done_ns is None else (self.done_ns - self.intended_ns) / 1e6


@dataclass(frozen=True)
class PacerResult:
    records: list[PacerRecord]
    summary: dict

    def _max_ms(self, field: str) -> float:
        return max((s.get(field, 0) for s in self.summary["streams"]), default=0) / 1e6

    @property
    def max_send_lag_ms(self) -> float:
        """Intended -> written, including waits for a free connection (the server's doing)."""
        return self._max_ms("max_send_lag_ns")

    @property
    def max_dispatch_lag_ms(self) -> float:
        """Intended -> dispatched by the scheduler: the generator's own lateness."""
        return self._max_ms("max_dispatch_lag_ns")

    @property
    def p99_dispatch_lag_ms(self) -> float:
        """The 99th percentile of dispatch lag, of the stream where it is worst."""
        return self._max_ms("p99_dispatch_lag_ns")


def pacer_argv(backend: Backend, url: str, streams: list[Stream], duration_s: float,
               connections: int, timeout_s: float) -> list[str]:
    argv = [backend.loadgen_paths()["pacer"], "-url", url, "-duration", f"{duration_s:g}s",
            "-connections", str(connections), "-timeout", f"{timeout_s:g}s", "-out", "-"]
    for stream in streams:
        argv += ["-stream", stream.flag()]
    return argv


def parse_pacer_records(text: str) -> list[PacerRecord]:
    reader = csv.DictReader(io.StringIO(text))
    expected = ["stream", "intended_ns", "sent_ns", "done_ns", "status", "error"]
    if reader.fieldnames != expected:
        raise LabError(f"pacer records have columns {reader.fieldnames}, expected {expected}")
    def optional(text: str) -> int | None:
        return int(text) if text else None

    return [PacerRecord(r["stream"], int(r["intended_ns"]), optional(r["sent_ns"]),
                        optional(r["done_ns"]), int(r["status"]), r["error"]) for r in reader]


def parse_pacer_summary(text: str) -> dict:
    """The last line of the pacer's stderr that is a JSON object."""
    for line in reversed(text.strip().splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    raise LabError("the pacer printed no JSON summary", detail=text[-2000:])


def run_pacer(backend: Backend, url: str, streams: list[Stream], duration_s: float,
              connections: int = 64, timeout_s: float = 15.0) -> tuple[PacerResult, LoadRun]:
    run = backend.run_load(pacer_argv(backend, url, streams, duration_s, connections, timeout_s),
                           timeout=duration_s + timeout_s + 30)
    if run.returncode != 0:
        raise LabError(f"the pacer exited with status {run.returncode}",
                       detail=run.stderr[-2000:])
    return PacerResult(parse_pacer_records(run.stdout), parse_pacer_summary(run.stderr)), run


def load_utilisation(run: LoadRun, load_cpus: int) -> float:
    """Share of its CPU set the generator used while it ran (1.0 = all of it)."""
    return run.cpu_seconds / max(run.wall_seconds * load_cpus, 1e-9)
