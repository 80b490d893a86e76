"""What every experiment shares: the Experiment base class, sessions of points, the
measuring loop, resume and progress. EXPERIMENTS.md is the protocol in prose.

A *session* is one server start (target x knob variant x repetition); its *points* are
the measurements taken while it runs (e.g. one per concurrency level). Sessions of
different targets are interleaved repetition by repetition, so drift on a shared
machine hits every target alike.
"""

from __future__ import annotations

import importlib
import json
import math
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any, ClassVar

from rich.progress import Progress, TaskID

from analysis.content import Concept, Headline, ScoreColumn, Section
from lab.backends import Backend, Server
from lab.console import console, progress, warn
from lab.cpus import CpuSets, format_cpu_list
from lab.errors import LabError, TargetUnavailable
from lab.generator import MeteredBackend, ceiling_share, generator_bound, refine
from lab.neighbours import Neighbour, cpu_neighbours
from lab.noise import NOISE_METRICS, PointMeter
from lab.probe import ping
from lab.results import Run
from lab.targets import Target

if TYPE_CHECKING:  # analysis of results loads pandas and matplotlib: only when reporting
    from analysis.integrity import Recomputed
    from analysis.load import RunData
    from analysis.palette import Figure, Style


@dataclass(frozen=True)
class Point:
    """One measurement within a session: its parameters, in a fixed order."""

    params: tuple[tuple[str, object], ...]

    @classmethod
    def of(cls, **params: object) -> Point:
        return cls(tuple(params.items()))

    def as_dict(self) -> dict[str, object]:
        return dict(self.params)

    @property
    def label(self) -> str:
        return " ".join(f"{k}={v}" for k, v in self.params)


@dataclass(frozen=True)
class Session:
    target: Target
    variant: str
    knobs: tuple[tuple[str, str], ...]
    repetition: int
    points: tuple[Point, ...]
    # The server's CPU set (None: the backend's server CPUs); rows record it as server_cpus.
    cpus: tuple[int, ...] | None = None

    @classmethod
    def of(cls, target: Target, knobs: Mapping[str, str], repetition: int,
           points: Sequence[Point], cpus: Sequence[int] | None = None) -> Session:
        """A session named after its knobs ('default' without any)."""
        variant = ",".join(f"{k}={v}" for k, v in knobs.items()) or "default"
        return cls(target, variant, tuple(knobs.items()), repetition, tuple(points),
                   tuple(sorted(cpus)) if cpus is not None else None)

    @property
    def knob_dict(self) -> dict[str, str]:
        return dict(self.knobs)

    @property
    def key(self) -> str:
        cpus = f"_cpus{'-'.join(map(str, self.cpus))}" if self.cpus is not None else ""
        return _slug(f"{self.target.name}_{self.variant}{cpus}_r{self.repetition}")

    def point_key(self, point: Point) -> str:
        return _slug(f"{self.key}_{point.label}")


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_")


class Experiment:
    """One experiment, in one package under lab/experiments (or LAB_EXPERIMENTS_PATH).

    Measuring: profiles (quick, standard, full) -> sessions -> measure(ctx, point), which
    adds tidy rows and raw files. Analysing (from the results folder alone): section(),
    scorecard(), overview(), headline, recompute(). By convention the package's modules
    provide them: `measure` has sessions(spec, targets) and measure(ctx, point);
    `analysis` (imported only when a report is made) has section(run, palette, base), and
    optionally scorecard(run) and overview(run, palette); `recompute`, optionally,
    recompute(run). A class may override any method instead. See EXPERIMENTS.md.
    """

    name: ClassVar[str]
    title: ClassVar[str]
    order: ClassVar[int] = 100          # place in lab.all and in the report
    profiles: ClassVar[Mapping[str, Any]]
    concept: ClassVar[Concept]
    flags: ClassVar[Mapping[str, str]] = {}   # flag -> what it means, for the report
    headline: ClassVar[Headline] = Headline(())
    story_rank: ClassVar[int | None] = None  # lowest rank: its overview() leads the report

    # -- measuring ----------------------------------------------------------------
    def _module(self, part: str) -> ModuleType | None:
        """The package's module `part` (measure, analysis, recompute), if it has one: that
        of the experiment's package, or of the package a subclass (a test's variant of an
        experiment) inherits from."""
        for cls in type(self).__mro__:
            if cls is Experiment:
                return None
            name = f"{cls.__module__}.{part}"
            try:
                return importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name != name:
                    raise
        return None

    def _needed(self, part: str) -> ModuleType:
        module = self._module(part)
        if module is None:
            raise NotImplementedError(f"experiment {self.name} has no {part} module; add "
                                      "one to its package, or override the method")
        return module

    def sessions(self, spec: Any, targets: Sequence[Target]) -> list[Session]:
        return self._needed("measure").sessions(spec, targets)

    def sessions_on(self, spec: Any, targets: Sequence[Target], cpus: CpuSets,
                    ) -> list[Session]:
        """The sessions on a backend with these CPU sets: sessions(spec, targets), unless the
        experiment overrides this because its sessions depend on the machine (a server CPU
        set per session, Session.cpus)."""
        return self.sessions(spec, targets)

    def start(self, backend: Backend, session: Session,
              ) -> AbstractContextManager[Server | None]:
        """What a session runs against; by default the target's server with its knobs.

        None: the session runs no server (e.g. probe programs), so the runner fetches no
        /info and pings nothing."""
        return backend.serve(session.target, knobs=session.knob_dict, cpus=session.cpus)

    def measure(self, ctx: Context, point: Point) -> None:
        """Measure one point, adding tidy rows (ctx.row) and raw outputs (ctx.raw)."""
        self._needed("measure").measure(ctx, point)

    # -- analysing ----------------------------------------------------------------
    def section(self, run: RunData, palette: dict[str, Style]) -> Section:
        """Figures, findings and tables of this experiment in a run (which has data)."""
        return self._needed("analysis").section(run, palette, Section(self.name, self.concept))

    def scorecard(self, run: RunData) -> list[ScoreColumn]:
        module = self._module("analysis")
        return module.scorecard(run) if hasattr(module, "scorecard") else []

    def overview(self, run: RunData, palette: dict[str, Style]) -> Figure | None:
        """The one figure that tells this experiment's story at a glance (or None)."""
        module = self._module("analysis")
        return module.overview(run, palette) if hasattr(module, "overview") else None

    def recompute(self, run: RunData) -> list[Recomputed]:
        """The tidy rows this experiment can derive again from the raw records kept in the
        run, with the measuring code: lab.grade flags a table that disagrees."""
        module = self._module("recompute")
        return module.recompute(run) if module is not None else []


@dataclass
class Context:
    """What a measurement needs, and where its rows go."""

    experiment: Experiment
    spec: Any
    backend: Backend
    run: Run
    session: Session
    server: Server | None
    server_info: dict
    rows: list[dict] = field(default_factory=list)
    info: dict = field(default_factory=dict)

    @property
    def url(self) -> str:
        assert self.server is not None, "this experiment's start() runs no server"
        return f"http://{self.server.host}:{self.server.port}"

    def row(self, point: Point, metric: str, value: float | None, unit: str,
            flags: Sequence[str] = (), **extra: object) -> None:
        target = self.session.target
        if self.session.cpus is not None:
            extra = {"server_cpus": format_cpu_list(self.session.cpus), **extra}
        self.rows.append({
            "run_id": self.run.run_id, "experiment": self.experiment.name,
            "target": target.name, "runtime": target.runtime.name, "model": target.model,
            "backend": self.backend.name, "variant": self.session.variant,
            "knobs": json.dumps(self.session.knob_dict, sort_keys=True),
            "repetition": self.session.repetition, **point.as_dict(), **extra,
            "metric": metric, "value": value, "unit": unit, "flags": ";".join(flags)})

    def earlier_rows(self) -> list[dict]:
        """The rows of this session's points measured before this one (read back from the
        run folder, so a resumed session sees them too)."""
        return [row for point in self.run.points(self.experiment.name, f"{self.session.key}_")
                for row in point["rows"]]

    def raw(self, point: Point, suffix: str, text: str) -> str:
        return self.run.save_raw(self.experiment.name,
                                 f"{self.session.point_key(point)}.{suffix}", text)


def interleave(targets: Sequence[Target], repetitions: int) -> Iterator[tuple[int, Target]]:
    """Repetition-major order, rotating the start so no target is always first."""
    for rep in range(repetitions):
        shift = rep % max(1, len(targets))
        for target in [*targets[shift:], *targets[:shift]]:
            yield rep, target


@dataclass
class Outcome:
    measured: int = 0
    resumed: int = 0
    failed: int = 0
    target_info: dict[str, dict] = field(default_factory=dict)


class _Runner:
    """Runs the sessions of one experiment into a run folder, showing progress."""

    def __init__(self, experiment: Experiment, spec: Any, backend: Backend, run: Run,
                 bar: Progress, task: TaskID) -> None:
        self.experiment, self.spec, self.backend, self.run = experiment, spec, backend, run
        self.bar, self.task = bar, task
        self.outcome = Outcome()
        calibration = run.meta().get("calibration") or {}
        self.ceilings = {tool: max(float(c["ceiling_rps"]), c.get("observed_ceiling_rps", 0))
                         for tool, c in calibration.items()
                         if isinstance(c, dict) and c.get("ceiling_rps")}
        self.neighbours_said: set[str] = set()

    def fail(self, session: Session, key: str, reason: str, detail: str = "") -> None:
        self.run.save_failure(self.experiment.name, key, {
            "target": session.target.name, "variant": session.variant,
            "repetition": session.repetition, "reason": reason, "detail": detail[-4000:],
            "at": time.time()})

    def skip(self, points: int) -> None:
        self.outcome.failed += points
        self.bar.advance(self.task, points)

    def session(self, session: Session) -> None:
        name = self.experiment.name
        todo = [p for p in session.points if not self.run.has_point(name, session.point_key(p))]
        self.outcome.resumed += len(session.points) - len(todo)
        self.bar.advance(self.task, len(session.points) - len(todo))
        if not todo:
            return
        target = session.target
        try:
            with self.experiment.start(self.backend, session) as server:
                info = fetch_info(server) if server is not None else {}
                record = ({"runtime_version": info.get("version"), "info": info}
                          if server is not None else {})
                self.outcome.target_info.setdefault(target.name, {
                    **record, "toolchain": self.backend.toolchain_version(target.runtime)})
                for index, point in enumerate(todo):
                    self.point(session, server, info, point)
                    if server is not None and not ping(server.host, server.port, timeout=5.0):
                        rest = todo[index + 1:]
                        if rest:
                            self.fail(session, session.key,
                                      f"server stopped answering after {point.label}",
                                      server.log_tail())
                            warn(f"{target} stopped answering; {len(rest)} point(s) not measured")
                            self.skip(len(rest))
                        return
        except TargetUnavailable as exc:
            self.fail(session, session.key, f"not measured because {exc.message}", exc.detail)
            console.print(f"[yellow]-[/yellow] {target} ({session.variant}): not measured: "
                          f"{exc.message}")
            self.skip(len(todo))
        except LabError as exc:
            self.fail(session, session.key, exc.message, exc.detail)
            console.print(f"[red]x[/red] {target} ({session.variant}): {exc.message}")
            self.skip(len(todo))

    def point(self, session: Session, server: Server | None, info: dict, point: Point) -> None:
        self.bar.update(self.task, description=f"{self.experiment.name}: {session.target} "
                        f"{session.variant} r{session.repetition} {point.label}")
        metered = MeteredBackend(self.backend)
        ctx = Context(self.experiment, self.spec, metered, self.run,  # type: ignore[arg-type]
                      session, server, info)
        if server is not None:
            ping(server.host, server.port)  # the primer request
        key = session.point_key(point)
        # A session without a server (e.g. probe programs) measures order, not time: its
        # programs would read as foreign CPU, so it gets no disturbance records.
        meter = PointMeter(self.backend.cpus, server.cpu_seconds) if server else None
        try:
            if meter:
                neighbours = cpu_neighbours(self.backend)
                meter.start()
            self.experiment.measure(ctx, point)
            if meter:
                self.disturbances(ctx, point, meter, metered, neighbours)
        except LabError as exc:
            log = "\n" + server.log_tail() if server is not None else ""
            self.fail(session, key, exc.message, exc.detail + log)
            warn(f"{session.target} {point.label}: {exc.message}")
            self.skip(1)
            return
        self.run.save_point(self.experiment.name, key, ctx.rows, {"server": info, **ctx.info})
        self.outcome.measured += 1
        self.bar.advance(self.task)

    def disturbances(self, ctx: Context, point: Point, meter: PointMeter,
                     metered: MeteredBackend, neighbours: list[Neighbour]) -> None:
        """What could have disturbed the point, as tidy rows; flags on every row of it.

        neighbours: the containers that could run on the point's CPUs when it started
        (leftovers of a killed lab, a second lab, anything else); who they are goes to the
        point file, and the CPU they used meanwhile (where the engine is local) to a row."""
        noise = meter.stop(metered.cpu_s)
        after = {n.name: n.cpu_seconds for n in cpu_neighbours(self.backend)}
        neighbour_cpu = [after[n.name] - n.cpu_seconds for n in neighbours
                         if n.cpu_seconds is not None and after.get(n.name) is not None]
        if neighbours:
            ctx.info["neighbours"] = [n.as_record() for n in neighbours]
        for n in neighbours:
            if n.name not in self.neighbours_said:
                self.neighbours_said.add(n.name)
                warn(f"container {n.name} ({n.owner}) may run on this run's "
                     f"{' and '.join(n.near)} CPUs: the points measured beside it are "
                     "flagged 'neighbours'")
        self.ceilings = refine(self.ceilings, metered.runs)
        shares = [s for s in (ceiling_share(r, self.ceilings) for r in metered.runs)
                  if s is not None]
        flags = ["noisy"] if noise.noisy else []
        if generator_bound(metered.runs, self.ceilings):
            flags.append("generator-bound")
        if neighbours:
            flags.append("neighbours")
        for row in ctx.rows:
            row["flags"] = ";".join(sorted({*filter(None, row["flags"].split(";")), *flags}))
        for metric, value in noise.metrics().items():
            ctx.row(point, metric, value, NOISE_METRICS[metric], flags)
        others = {
            "generator_cpu_s": (metered.cpu_s, "s"),
            "generator_utilisation": (max((r.utilisation for r in metered.runs), default=None),
                                      "ratio"),
            "generator_ceiling_share": (max(shares, default=None), "ratio"),
            "neighbours": (len(neighbours), "containers"),
            "neighbour_cpu_s": (sum(neighbour_cpu) if neighbour_cpu else None, "s")}
        for metric, (value, unit) in others.items():
            ctx.row(point, metric, None if value is None else round(value, 4), unit, flags)


def spec_of(experiment: Experiment, profile: str) -> Any:
    """The experiment's spec for a profile; LabError naming the choices otherwise."""
    if profile not in experiment.profiles:
        raise LabError(f"{experiment.name} has no profile '{profile}'",
                       hint=f"choose one of {', '.join(experiment.profiles)}")
    return experiment.profiles[profile]


def run_experiment(experiment: Experiment, profile: str, targets: Sequence[Target],
                   backend: Backend, run: Run) -> Outcome:
    """Measure every point not already in run; failures are recorded and the run goes on."""
    spec = spec_of(experiment, profile)
    sessions = experiment.sessions_on(spec, targets, backend.cpus)
    total = sum(len(s.points) for s in sessions)
    with progress() as bar:
        task = bar.add_task(f"{experiment.name} ({profile}, {backend.name})", total=total)
        runner = _Runner(experiment, spec, backend, run, bar, task)
        for session in sessions:
            runner.session(session)
    run.write_table(experiment.name)
    calibration = run.meta().get("calibration") or {}
    raised = {tool: {**c, "observed_ceiling_rps": round(runner.ceilings[tool], 1)}
              for tool, c in calibration.items() if isinstance(c, dict)
              and runner.ceilings.get(tool, 0) > c.get("ceiling_rps", math.inf)}
    if raised:
        run.update_meta(calibration={**calibration, **raised})
    return runner.outcome


def fetch_info(server: Server) -> dict:
    """The server's /info, as the record of what was measured."""
    import http.client

    conn = http.client.HTTPConnection(server.host, server.port, timeout=10)
    try:
        conn.request("GET", "/info")
        return json.loads(conn.getresponse().read())
    except (OSError, ValueError) as exc:
        raise LabError(f"{server.target}: GET /info failed ({exc})") from None
    finally:
        conn.close()
