"""The load generators as the experiments see them.

Closed loop (goodput vs concurrency): `run_closed_loop`, with wrk where it is installed
(always in the docker backend's load image) and the pacer's closed-loop mode otherwise;
both fill the same `ClosedLoopResult`, which records the tool used.
Open loop (latency vs offered load): `run_pacer` (lab.pacer), and `percentile`, in which
a request that failed, timed out or got no 2xx counts as infinitely slow.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lab.backends import Backend, LoadRun
from lab.errors import LabError
from lab.pacer import (  # noqa: F401  (re-exported: what the experiments use)
    Background,
    PacerRecord,
    PacerResult,
    Stream,
    closed_argv,
    parse_pacer_records,
    parse_pacer_summary,
    run_pacer,
)
from lab.wrk import (
    SAMPLE_INTERVAL_S,
    WRK_TIMEOUT_S,
    SocketSample,
    WrkResult,
    parse_wrk,
    wrk_argv,
)


@dataclass(frozen=True)
class ClosedLoopResult:
    """One closed-loop measurement: `connections` connections for `duration_s`."""

    tool: str                      # "wrk" or "pacer"
    connections: int
    duration_s: float              # the measured window
    requests: int                  # outcomes: responses of any status, plus failed requests
    ok: int                        # 2xx responses (wrk: requests - non_2xx)
    non_2xx: int                   # wrk: statuses over 399 (its own definition)
    errors: dict[str, int]         # connect, read, write, timeout (wrk: as wrk counts them)
    never_served: int              # connections that never got (a byte of) a response
    setup_s: float | None          # until every connection had one; None if some never did
    steady_start_s: float          # the steady window starts here (set-up, or the allowance)
    steady_goodput_per_s: float | None  # 2xx/s from steady_start_s to the end; None: no window
    resolution_s: float            # of setup_s, steady_start_s (wrk: longest sample gap)
    raw: str                       # the tool's output, to keep with the run
    # The pacer's per-request records, when asked for (records=True; stream "closed").
    records: tuple[PacerRecord, ...] = ()
    # Connections waiting in the server's accept queue at the window's end, when those
    # never served are counted (wrk's samples, where the listener is in sight; else None).
    accept_queue: int | None = None

    @property
    def goodput_per_s(self) -> float:
        """2xx responses per second over the whole window, set-up included."""
        return self.ok / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def errors_total(self) -> int:
        return sum(self.errors.values())


def closed_loop_tool(backend: Backend) -> str:
    """wrk when the backend has it (always in docker's load image), else the pacer."""
    if backend.name == "docker" or shutil.which(backend.loadgen_paths()["wrk"]):
        return "wrk"
    return "pacer"


def run_closed_loop(backend: Backend, url: str, connections: int, duration_s: float, *,
                    tool: str | None = None, timeout_s: int = WRK_TIMEOUT_S,
                    records: bool = False) -> tuple[ClosedLoopResult, LoadRun]:
    """Closed-loop goodput of `connections` connections on `url` for `duration_s` seconds
    (whole seconds with wrk, its granularity), with `tool` (default: closed_loop_tool
    (backend)). records=True: the pacer's per-request records too (the pacer only)."""
    tool = tool or ("pacer" if records else closed_loop_tool(backend))
    if records and tool != "pacer":
        raise LabError("only the pacer keeps per-request records of a closed loop")
    if tool == "wrk":
        argv = wrk_argv(backend, url, connections, int(duration_s), timeout_s)
    elif tool == "pacer":
        argv = closed_argv(backend, url, connections, duration_s, timeout_s)
        argv += ["-out", "-"] if records else []
    else:
        raise LabError(f"unknown closed-loop tool '{tool}'", hint="wrk or pacer")
    run = backend.run_load(argv, timeout=duration_s + timeout_s + 30)
    if run.returncode != 0:
        raise LabError(f"{tool} exited with status {run.returncode}",
                       detail=(run.stderr or run.stdout)[-2000:])
    if records:  # the records on stdout, the summary on stderr
        return from_pacer(parse_pacer_summary(run.stderr), run.stdout,
                          parse_pacer_records(run.stdout)), run
    if tool == "pacer":
        return from_pacer(parse_pacer_summary(run.stdout), run.stdout), run
    # The raw record keeps the socket samples (stderr) beside the report: both are needed
    # to derive the result again (parse_wrk finds each by its marker).
    raw = run.stdout + "\n" + run.stderr
    return from_wrk(parse_wrk(run.stdout, run.stderr), connections, raw), run


def from_pacer(summary: dict, raw: str,
               records: Sequence[PacerRecord] = ()) -> ClosedLoopResult:
    setup = summary["setup_ns"]
    return ClosedLoopResult(
        tool="pacer", connections=summary["connections"],
        duration_s=summary["duration_ns"] / 1e9, requests=summary["requests"],
        ok=summary["ok"], non_2xx=summary["non_2xx"], errors=dict(summary["errors"]),
        never_served=summary["never_served"], setup_s=None if setup is None else setup / 1e9,
        steady_start_s=summary["steady_start_ns"] / 1e9,
        steady_goodput_per_s=summary["steady_goodput_per_s"], resolution_s=1e-3, raw=raw,
        records=tuple(records))


def before_closing(samples: list[SocketSample]) -> list[SocketSample]:
    """The samples before wrk began closing its sockets. wrk's duration counts until its
    threads have stopped, so the window's last samples may see fewer sockets: those closed
    would read as never served, and their bytes as never received."""
    end = len(samples)
    while end > 1 and samples[end - 1].sockets < samples[end - 2].sockets:
        end -= 1
    return samples[:end]


def from_wrk(result: WrkResult, connections: int, raw: str,
             allowance_share: float = 0.25) -> ClosedLoopResult:
    """wrk's counts, plus what its socket samples within the window say: connections never
    served (at the last sample), set-up, and the steady goodput from the bytes received after set-up
    (or after `allowance_share` of the window if some connection was never served),
    converted with wrk's mean response size and scaled by its share of non-error responses."""
    duration = result.duration_s
    samples = before_closing([s for s in result.samples if s.t_s <= duration])
    gaps = [b.t_s - a.t_s for a, b in zip(samples, samples[1:], strict=False)]
    never_served = connections - samples[-1].served if samples else connections
    setup = next((s.t_s for s in samples if s.served >= connections), None)
    start_at = setup if setup is not None else allowance_share * duration
    ok = result.requests - result.non_2xx
    steady = None
    first = next((s for s in samples if s.t_s >= start_at), None)
    if first is not None and result.requests:
        last = samples[-1]
        if last.t_s > first.t_s:
            responses = (last.bytes - first.bytes) / (result.bytes / result.requests)
            steady = responses * ok / result.requests / (last.t_s - first.t_s)
    return ClosedLoopResult(
        tool="wrk", connections=connections, duration_s=duration,
        requests=result.requests + sum(v for k, v in result.socket_errors.items()
                                       if k != "timeout"),  # wrk's timeouts are late responses
        ok=ok,
        non_2xx=result.non_2xx, errors=result.socket_errors, never_served=never_served,
        setup_s=setup, steady_start_s=first.t_s if first else start_at,
        steady_goodput_per_s=steady, resolution_s=max(gaps, default=SAMPLE_INTERVAL_S), raw=raw,
        accept_queue=samples[-1].accept_queue if samples else None)


def run_wrk(backend: Backend, url: str, connections: int, duration_s: int,
            ) -> tuple[WrkResult, LoadRun]:
    """wrk alone (no socket sampling): its own counts and rate samples."""
    run = backend.run_load(wrk_argv(backend, url, connections, duration_s, sample=False),
                           timeout=duration_s + WRK_TIMEOUT_S + 30)
    if run.returncode != 0:
        raise LabError(f"wrk exited with status {run.returncode}",
                       detail=(run.stderr or run.stdout)[-2000:])
    return parse_wrk(run.stdout), run


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank q-th percentile, exact with infinite values (failed requests):
    analysis.stats.nearest_rank, the one definition the lab measures and analyses with
    (imported here, not at the top: numpy, pandas and scipy would slow every task's start)."""
    from analysis.stats import nearest_rank

    return nearest_rank(values, q)


def latency_percentiles(records: Iterable[PacerRecord],
                        qs: Sequence[float] = (50, 90, 99, 99.9)) -> dict[float, float]:
    """Latency (ms, from the intended send time) percentiles of records, each failed,
    timed-out or non-2xx request counting as infinitely slow."""
    latencies = [r.latency_ms for r in records]
    return {q: percentile(latencies, q) for q in qs}
