"""The load generator's own limits: its CPU over its measured window, its ceiling, the flag.

A measurement is *generator-bound* when the generator, not the server, may have set the
pace: its request rate was above GENERATOR_BOUND_SHARE of the rate it can drive at all on
the load CPUs (its *ceiling*), or it was seen saturated (SATURATED of its CPUs over its
own window). The ceiling comes from a per-run calibration: each tool
against a responder (a target of the run) for CALIBRATION_S, with its CPU time divided by
the requests it made, which gives the rate it would reach with its CPUs fully busy. wrk's
CPU per request at 64 connections hardly depends on how fast the responder is (measured
here: 10-12 us against go/goroutines at 38,000 req/s and node/event-loop at 15,000), so
the responder does not need to be the fastest target. Extrapolating errs low (a busier
generator batches more), so a run raises a ceiling to any rate it later sees a saturated
generator reach (refine), and records it as observed_ceiling_rps.

Utilisation is the tool's CPU time over its own measured window (wrk's duration, the
pacer's wall time), not over the wall time of the process or of a `docker exec` round
trip, which hides up to a tenth of a busy generator. Its CPU still includes the tool's own
start and exit (milliseconds).

MeteredBackend is how every experiment gets this without code of its own: the framework
hands measurements a backend whose run_load also records what each load run did.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from lab.backends import Backend, LoadRun
from lab.errors import LabError
from lab.loadgen import Stream, parse_pacer_summary, parse_wrk, run_pacer, run_wrk
from lab.targets import Target

GENERATOR_BOUND_SHARE = 0.8
CALIBRATION_S = 2
CALIBRATION_CONNECTIONS = 64
CALIBRATION_PACER_RATE = 5000.0   # req/s of /ping: well below any ceiling, far above noise
SATURATED = 0.9   # utilisation from which the calibration measured the ceiling directly


@dataclass(frozen=True)
class GeneratorRun:
    """What one load run asked of the generator."""

    tool: str            # wrk | pacer
    requests: int
    window_s: float      # the tool's own measured window
    cpu_s: float         # its process's (native) or its container's (docker) CPU time
    load_cpus: int

    @property
    def rate(self) -> float:
        return self.requests / max(self.window_s, 1e-9)

    @property
    def utilisation(self) -> float:
        return self.cpu_s / max(self.window_s * self.load_cpus, 1e-9)


def wrk_run(stdout: str, load: LoadRun, load_cpus: int) -> GeneratorRun:
    result = parse_wrk(stdout)
    return GeneratorRun("wrk", result.requests, result.duration_s, load.cpu_seconds, load_cpus)


def pacer_run(summary_text: str, load: LoadRun, load_cpus: int) -> GeneratorRun:
    """The open loop (summary on stderr): what it sent over its wall time; the closed loop
    (summary on stdout): its outcomes over its window."""
    summary = parse_pacer_summary(summary_text)
    if summary.get("mode") == "closed":
        return GeneratorRun("pacer-closed", int(summary["requests"]),
                            summary["duration_ns"] / 1e9, load.cpu_seconds, load_cpus)
    sent = sum(int(s.get("sent", 0)) for s in summary.get("streams", []))
    window = (summary.get("wall_ns") or summary.get("duration_ns") or 0) / 1e9
    return GeneratorRun("pacer", sent, window, load.cpu_seconds, load_cpus)


def observe(paths: dict[str, str], argv: list[str], load: LoadRun,
            load_cpus: int) -> GeneratorRun | None:
    """The generator run of a finished load process (None: not a load generator we know,
    or it printed no result). wrk may run under its socket sampler (sh -c ... wrk ...)."""
    try:
        if paths.get("wrk") in (argv[0], *(argv[1:] if argv[0] == "sh" else ())):
            return wrk_run(load.stdout, load, load_cpus)
        if argv[0] == paths.get("pacer"):
            closed = "closed" in argv[argv.index("-mode") + 1:][:1] if "-mode" in argv else False
            return pacer_run(load.stdout if closed else load.stderr, load, load_cpus)
    except (LabError, ValueError, KeyError):
        return None
    return None


@dataclass(frozen=True)
class Calibration:
    tool: str
    responder: str
    connections: int
    rate: float          # req/s it reached against the responder
    utilisation: float   # of its CPUs, over its window
    ceiling_rps: float
    method: str

    @classmethod
    def of(cls, run: GeneratorRun, responder: str, connections: int) -> Calibration:
        if run.requests <= 0 or run.cpu_s <= 0:
            raise LabError(f"calibrating {run.tool}: no requests or no CPU time recorded")
        if run.utilisation >= SATURATED:
            ceiling, method = run.rate, "measured: the generator was saturated"
        else:
            ceiling = run.requests * run.load_cpus / run.cpu_s
            method = (f"extrapolated: CPU per request ({run.cpu_s / run.requests * 1e6:.1f} us) "
                      f"at {run.utilisation:.0%} of its CPUs")
        return cls(run.tool, responder, connections, round(run.rate, 1),
                   round(run.utilisation, 4), round(ceiling, 1), method)

    def as_record(self) -> dict[str, object]:
        return asdict(self)


def calibrate(backend: Backend, responder: Target,
              duration_s: int = CALIBRATION_S) -> dict[str, Calibration]:
    """Each load generator against responder's /ping: {tool: Calibration}."""
    load_cpus = len(backend.cpus.load)
    with backend.serve(responder) as server:
        url = f"http://{server.host}:{server.port}"
        result, load = run_wrk(backend, url + "/ping", CALIBRATION_CONNECTIONS, duration_s)
        wrk = GeneratorRun("wrk", result.requests, result.duration_s, load.cpu_seconds,
                           load_cpus)
        _, load = run_pacer(backend, url, [Stream("ping", "/ping", CALIBRATION_PACER_RATE)],
                            duration_s, connections=CALIBRATION_CONNECTIONS, timeout_s=5)
        pacer = pacer_run(load.stderr, load, load_cpus)
    return {run.tool: Calibration.of(run, responder.name, CALIBRATION_CONNECTIONS)
            for run in (wrk, pacer)}


def ceiling_share(run: GeneratorRun, ceilings: dict[str, float]) -> float | None:
    """The run's rate as a share of its tool's ceiling (None: no calibration for it)."""
    ceiling = ceilings.get(run.tool)
    return run.rate / ceiling if ceiling else None


# The open-loop pacer polls for 50 us before each send, so its CPU reads 90 %+ busy above
# ~20k requests/s by design: its lateness (dispatch lag, flagged by the experiments) is
# what says it fell behind, not its CPU.
BUSY_BY_DESIGN = ("pacer",)


def generator_bound(runs: list[GeneratorRun], ceilings: dict[str, float]) -> bool:
    """Above GENERATOR_BOUND_SHARE of its ceiling, or seen saturated over its own window."""
    shares = [s for s in (ceiling_share(r, ceilings) for r in runs) if s is not None]
    return (any(r.utilisation >= SATURATED for r in runs if r.tool not in BUSY_BY_DESIGN)
            or bool(shares and max(shares) > GENERATOR_BOUND_SHARE))


def refine(ceilings: dict[str, float], runs: list[GeneratorRun]) -> dict[str, float]:
    """Ceilings raised to the rate of any run seen saturated above them: extrapolating from
    the calibration's CPU per request underestimates a generator that batches more as it
    gets busier (measured: 92,600 req/s extrapolated, 120,000 seen at 99.9 % busy)."""
    raised = dict(ceilings)
    for run in runs:
        if run.tool in BUSY_BY_DESIGN:
            continue
        if run.utilisation >= SATURATED and run.rate > raised.get(run.tool, 0.0):
            raised[run.tool] = run.rate
    return raised


class MeteredBackend:
    """A backend whose run_load also records each generator run and its CPU time; every
    other attribute is the backend's own."""

    def __init__(self, backend: Backend) -> None:
        self._backend = backend
        self.runs: list[GeneratorRun] = []
        self.cpu_s = 0.0

    def __getattr__(self, name: str) -> object:
        return getattr(self._backend, name)

    def run_load(self, argv: list[str], *, timeout: float) -> LoadRun:
        load = self._backend.run_load(argv, timeout=timeout)
        self.cpu_s += load.cpu_seconds
        found = observe(self._backend.loadgen_paths(), argv, load,
                        len(self._backend.cpus.load))
        if found is not None:
            self.runs.append(found)
        return load
