"""Tasks of the Async Runtime Lab. `uv run invoke --list` lists them; --help TASK explains one.

This file only parses options and calls the lab package.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys

from invoke import Collection, Exit, task
from rich.markup import escape

from lab.console import console
from lab.errors import LabError

TARGET_HELP = "comma-separated targets or runtimes (default: all); see lab.targets"
BACKEND_HELP = "auto (docker when an engine answers, else native), docker or native"
CPU_HELP = {"server_cpus": "CPUs for servers, taskset syntax (default: upper half; with "
                           "two engines on two hosts, all of the server host's)",
            "load_cpus": "CPUs for the load generator (default: lower half, or all of its "
                         "host's)"}
ENGINE_HELP = {
    "server_engine": "Docker engine for the servers: a context name or unix:///path, "
                     "ssh://user@host, tcp://host:2376 (TLS) (default: DOCKER_HOST)",
    "load_engine": "Docker engine for the load generator (default: DOCKER_HOST)",
    "server_address": "where servers listen and the load generator reaches them (default "
                      "127.0.0.1 when both engines are on one host; required otherwise)",
    "insecure_engine": "allow plain tcp:// (no TLS) to an engine on another host"}


def _interrupted_before_starting(signum: int, frame: object) -> None:
    # Ctrl-C while invoke loads the tasks: nothing has started, so there is nothing to stop
    # (invoke itself would exit 1 without a word, or Python with a traceback).
    sys.stderr.write("interrupted before the task started\n")
    os._exit(130)


signal.signal(signal.SIGINT, _interrupted_before_starting)


def lab_task(help_: dict[str, str] | None = None, **kwargs):
    """@task with the lab's error handling: a LabError or Ctrl-C prints a message, no traceback."""

    def wrap(fn):
        @functools.wraps(fn)
        def body(c, *args, **kw):
            signal.signal(signal.SIGINT, signal.default_int_handler)
            try:
                return fn(c, *args, **kw)
            except LabError as exc:
                console.print(f"[red]error:[/red] {escape(str(exc))}")
                raise Exit(code=1) from None
            except KeyboardInterrupt:
                console.print("[yellow]interrupted[/yellow]: everything started was stopped; "
                              "finished results are kept")
                raise Exit(code=130) from None

        return task(body, help=help_ or {}, **kwargs)

    return wrap


def _engines(server_engine=None, load_engine=None, server_address=None,
             insecure_engine=False) -> None:
    """Engine options into the environment, where everything this task runs finds them."""
    for env, value in (("LAB_SERVER_ENGINE", server_engine), ("LAB_LOAD_ENGINE", load_engine),
                       ("LAB_SERVER_ADDRESS", server_address),
                       ("LAB_INSECURE_ENGINE", "1" if insecure_engine else None)):
        if value:
            os.environ[env] = value


def _backend(backend: str, server_cpus: str | None = None, load_cpus: str | None = None):
    from lab.backends.selection import make_backend

    chosen, why = make_backend(backend, server_cpus, load_cpus)
    console.print(f"[dim]{why}; server CPUs {chosen.cpus.server_list}, "
                  f"load CPUs {chosen.cpus.load_list}[/dim]")
    return chosen


def _int_option(name: str, value: object, low: int, high: int) -> int:
    """A whole number from the command line, within [low, high], or a one-line error."""
    try:
        number = int(str(value))
    except ValueError:
        raise LabError(f"--{name} '{value}' is not a whole number",
                       hint=f"give --{name} a number from {low} to {high}") from None
    if not low <= number <= high:
        raise LabError(f"--{name} {number} is out of range",
                       hint=f"give --{name} a number from {low} to {high}")
    return number


def _knobs(knob: list[str]) -> dict[str, str]:
    pairs = {}
    for item in knob:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise LabError(f"--knob '{item}' is not NAME=VALUE", hint="e.g. --knob WORKERS=4")
        pairs[name] = value
    return pairs


@lab_task()
def targets(c):
    """List every target (runtime/model) with its knobs and what it demonstrates."""
    from rich.table import Table

    from lab.targets import discover

    table = Table(title="Targets (runtimes/*/runtime.toml)")
    for column in ("target", "knobs", "what it demonstrates"):
        table.add_column(column)
    for t in discover():
        table.add_row(t.name, ", ".join(t.knob_names) or "-", t.description)
    console.print(table)


@lab_task(help_={"target": TARGET_HELP, "backend": BACKEND_HELP,
                "force": "rebuild even when nothing changed", **ENGINE_HELP})
def build(c, target=None, backend="auto", force=False, server_engine=None, load_engine=None,
          server_address=None, insecure_engine=False):
    """Build targets (and the load generator) on a backend; images on docker, binaries natively."""
    from lab.build import build_targets
    from lab.targets import select

    _engines(server_engine, load_engine, server_address, insecure_engine)
    _, failed = build_targets(_backend(backend), select(target), force=force, loadgen=True)
    if failed:
        raise Exit(f"{len(failed)} build(s) failed: {', '.join(f.runtime for f in failed)}",
                   code=1)


@lab_task(help_={"target": TARGET_HELP, "backend": BACKEND_HELP, **CPU_HELP, **ENGINE_HELP})
def verify(c, target=None, backend="auto", server_cpus=None, load_cpus=None, server_engine=None,
           load_engine=None, server_address=None, insecure_engine=False):
    """Run the conformance suite (runtimes/SPEC.md) against targets; print a pass/fail table."""

    from lab.targets import select
    from lab.verify import print_table, run_conformance

    _engines(server_engine, load_engine, server_address, insecure_engine)
    names = [t.name for t in select(target)]
    chosen = _backend(backend, server_cpus, load_cpus)
    if server_cpus:
        os.environ["LAB_SERVER_CPUS"] = server_cpus
    if load_cpus:
        os.environ["LAB_LOAD_CPUS"] = load_cpus
    if not print_table(run_conformance(names, chosen.name)):
        raise Exit("some targets do not meet the contract (see the table above)", code=1)


@lab_task(help_={"target": "the target to run, e.g. go/goroutines",
                "port": "port to listen on (default: a free one)",
                "backend": BACKEND_HELP,
                "knob": "a knob NAME=VALUE, repeatable (e.g. --knob WORKERS=4)",
                **CPU_HELP, **ENGINE_HELP},
          iterable=["knob"])
def serve(c, target, port=None, backend="auto", knob=None, server_cpus=None, load_cpus=None,
          server_engine=None, load_engine=None, server_address=None, insecure_engine=False):
    """Run one target in the foreground (Ctrl-C stops it), to explore it with curl."""
    from lab.serve import serve_foreground
    from lab.targets import select

    _engines(server_engine, load_engine, server_address, insecure_engine)
    found = select(target)
    if len(found) != 1:
        raise LabError(f"'{target}' names {len(found)} targets; serve runs exactly one",
                       hint=f"pick one of {', '.join(t.name for t in found)}")
    port_number = _int_option("port", port, 1, 65535) if port else None
    knobs = _knobs(knob or [])
    chosen = _backend(backend, server_cpus, load_cpus)
    chosen.build(found[0].runtime)
    status = serve_foreground(chosen, found[0], port_number, knobs)
    if status not in (None, 0):
        raise Exit(code=1)


EXPERIMENT_HELP = {"profile": "quick (seconds per target), standard (default) or full",
                   "target": TARGET_HELP, "backend": BACKEND_HELP,
                   "resume": "finish an interrupted run (its id, or 'latest') without "
                             "repeating what it measured",
                   "force_mixed": "with --resume: finish the run even though its code, specs "
                                  "or images differ from now (the run is marked mixed)",
                   **CPU_HELP, **ENGINE_HELP}


def _experiment(name: str, profile, target, backend, resume, server_cpus, load_cpus,
                force_mixed, *engines) -> None:
    from lab.doctor import preflight
    from lab.measure import measure, plan
    from lab.results import open_run
    from lab.targets import select

    plan([name], profile)
    targets = select(target)
    if resume:
        open_run(resume)
    _engines(*engines)
    chosen = _backend(backend, server_cpus, load_cpus)
    preflight(chosen.name)
    run = measure([name], profile, targets, chosen, resume=resume, force_mixed=force_mixed)
    console.print(f"results: {run.folder}")


@lab_task(help_={"experiment": "the experiment to run (see lab.experiments)", **EXPERIMENT_HELP})
def run(c, experiment, profile="standard", target=None, backend="auto", resume=None,
        server_cpus=None, load_cpus=None, force_mixed=False, server_engine=None,
        load_engine=None, server_address=None, insecure_engine=False):
    """Run one experiment by name into a new results folder (or finish one with --resume)."""
    _experiment(experiment, profile, target, backend, resume, server_cpus, load_cpus,
                force_mixed, server_engine, load_engine, server_address, insecure_engine)


def _experiment_task(name: str, title: str):
    """lab.<name>: the same as `lab.run <name>`, one task per registered experiment."""

    def body(c, profile="standard", target=None, backend="auto", resume=None,
             server_cpus=None, load_cpus=None, force_mixed=False, server_engine=None,
             load_engine=None, server_address=None, insecure_engine=False):
        _experiment(name, profile, target, backend, resume, server_cpus, load_cpus,
                    force_mixed, server_engine, load_engine, server_address, insecure_engine)

    body.__name__ = body.__qualname__ = name.replace("-", "_")
    body.__doc__ = f"Experiment {name}: {title} (the same as `lab.run {name}`)."
    return lab_task(help_=EXPERIMENT_HELP)(body)


@lab_task()
def experiments(c):
    """List the experiments (lab/experiments/*/), their profiles and what each shows."""
    from rich.table import Table

    from lab.experiments import registry

    table = Table(title="Experiments (lab/experiments/<name>/, EXPERIMENTS.md)")
    for column in ("experiment", "profiles", "what it shows"):
        table.add_column(column)
    for name, each in registry().items():
        table.add_row(name, ", ".join(each.profiles), each.title)
    console.print(table)


@lab_task(help_=EXPERIMENT_HELP, name="all")
def all_(c, profile="standard", target=None, backend="auto", resume=None, server_cpus=None,
         load_cpus=None, force_mixed=False, server_engine=None, load_engine=None,
         server_address=None, insecure_engine=False):
    """The whole lab: build, verify, run every experiment, write the report; prints its path."""
    from lab import RESULTS_DIR
    from lab.doctor import preflight
    from lab.pipeline import run_all
    from lab.targets import select

    chosen = select(target)
    _engines(server_engine, load_engine, server_address, insecure_engine)
    backend_ = _backend(backend, server_cpus, load_cpus)
    preflight(backend_.name)
    run_id, report = run_all(chosen, backend_, profile, resume, force_mixed)
    console.print(f"results: {RESULTS_DIR / run_id}")
    if report:
        console.print(f"[bold green]report: {report}[/bold green]")


# invoke has no optional positional arguments (pyinvoke/invoke#159): the run is a flag.
@lab_task(help_={"run_id": "the run to report on: its id, or 'latest' (the default)"})
def report(c, run_id="latest"):
    """Write the HTML report of a run (reports/<run_id>/index.html) and print its path."""
    from lab.pipeline import write_report

    console.print(f"[bold green]report: {write_report(run_id)}[/bold green]")


@lab_task(help_={"run_a": "the earlier run (its id, or 'latest')",
                 "run_b": "the later run"})
def compare(c, run_a, run_b):
    """Compare two runs: what differs between them, then per target and metric both medians
    with intervals, B/A, a stated test (Holm-corrected) and a verdict."""
    from analysis.compare import compare_runs, render_comparison
    from lab.experiments import registry

    console.print(render_comparison(compare_runs(run_a, run_b, list(registry().values()))))


@lab_task(help_=ENGINE_HELP)
def base(c, server_engine=None, load_engine=None, server_address=None, insecure_engine=False):
    """Provide the base image debian:trixie-slim on each engine: present, else transferred
    from the other engine, pulled, or debootstrapped."""
    from lab.backends.docker_base import BASE_IMAGE
    from lab.backends.selection import make_backend

    _engines(server_engine, load_engine, server_address, insecure_engine)
    backend, _ = make_backend("docker")
    for engine in backend.engines.distinct:
        image_id, how = backend.images.base(engine)
        console.print(f"{BASE_IMAGE} on {engine.url}: {how} ({image_id[:19]})")


@lab_task(help_={"images": "also remove the lab's images (not the base image)",
                 "base": "with --images, also remove a debootstrapped base image",
                 **ENGINE_HELP})
def clean(c, images=False, base=False, server_engine=None, load_engine=None,
          server_address=None, insecure_engine=False):
    """Remove every container (and with --images, image) carrying the lab's labels, on each
    engine, except the containers of lab processes still running here."""
    from lab.backends.selection import make_backend
    from lab.clean import remove_containers, remove_images

    _engines(server_engine, load_engine, server_address, insecure_engine)
    backend, _ = make_backend("docker")
    for engine in backend.engines.distinct:
        removed, kept = remove_containers(engine.client)
        console.print(f"{engine.url}: removed {len(removed)} container(s) {', '.join(removed)}")
        if kept:
            console.print(f"  kept {len(kept)} container(s) of running labs: {', '.join(kept)}")
        if images:
            tags = remove_images(engine.client, include_base=base)
            console.print(f"  removed {len(tags)} image(s) {', '.join(tags)}")


@lab_task(help_={"backend": "docker, native or all (default): whose needs to check",
                 **ENGINE_HELP})
def doctor(c, backend="all", server_engine=None, load_engine=None, server_address=None,
           insecure_engine=False):
    """Check the machine: Docker engine(s), images, native toolchains, disk, descriptor limit.

    Exits non-zero when something the checked backend needs is missing."""
    from lab.doctor import run_checks

    _engines(server_engine, load_engine, server_address, insecure_engine)
    if backend not in ("all", "docker", "native"):
        raise LabError(f"unknown backend '{backend}'", hint="choose docker, native or all")
    if not run_checks(backend):
        raise Exit(code=1)


@task(help={"suite": "unit, lifecycle, conformance, docker, load, report, or all (default)",
            "target": TARGET_HELP + " (conformance and docker suites)",
            "backend": "all (default), native or docker",
            "keyword": "only tests matching this pytest -k expression"})
def test(c, suite="all", target=None, backend="all", keyword=None):
    """Run the lab's tests: ruff, then pytest (unit, conformance on every backend, docker, ...)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if suite == "all":
        c.run("ruff check .", pty=False)
    # "all" runs pyproject's testpaths: tests/ and the Python servers' own unit tests.
    args = ["pytest"] if suite == "all" else ["pytest", f"tests/{suite}"]
    if target:
        args += [f"--target={t}" for t in target.split(",")]
    args += ["--backend", backend]
    if keyword:
        args += ["-k", keyword]
    if sys.stdout.isatty():
        exited = c.run(" ".join(f"'{a}'" for a in args), warn=True, pty=True).exited
    else:  # CI: nothing to mirror to stdin (invoke's mirroring thread fails on a closed one)
        exited = subprocess.run(args, stdin=subprocess.DEVNULL).returncode
    if exited != 0:
        raise Exit(code=exited)


@lab_task(help_={"backend": "native (default) or docker", **CPU_HELP})
def bench_loadgen(c, backend="native", server_cpus=None, load_cpus=None):
    """Pacer vs wrk against rust/tokio-current-thread: highest open-loop rate keeping
    schedule vs wrk's closed-loop rate, and p50 at 10k/s vs a ping-pong client (~1 min)."""
    from lab.bench_loadgen import print_bench, run_bench

    if not print_bench(run_bench(_backend(backend, server_cpus, load_cpus))):
        raise Exit("the pacer missed a target (see above)", code=1)


@lab_task(help_={"run_id": "the run to submit: its id, or 'latest' (the default)",
                 "answers": "your answers file (default: answers.toml in the lab's folder)",
                 "out": "the folder the archive goes to (default: submissions/)",
                 "template": "write the answers template (for --run-id's run) and stop",
                 "allow_incomplete": "submit a run that did not finish or lacks an "
                                     "experiment (the grader sees why)"})
def submit(c, run_id="latest", answers=None, out=None, template=False, allow_incomplete=False):
    """Pack a run, its report and your answers into one archive to hand in
    (assignment/README.md); --template writes the answers file to fill in first."""
    from pathlib import Path

    from lab import ROOT
    from lab.assignment.course import submit_run, write_template
    from lab.experiments import registry
    from lab.pipeline import write_report

    answers_path = Path(answers) if answers else ROOT / "answers.toml"
    if template:
        path = write_template(answers_path, run_id, list(registry().values()))
        console.print(f"[bold green]answers template: {path}[/bold green] (fill it in, then "
                      "run lab.submit)")
        return
    archive = submit_run(run_id, answers_path, Path(out) if out else ROOT / "submissions",
                         allow_incomplete, list(registry()), write_report)
    console.print(f"[bold green]submission: {archive}[/bold green]")


@lab_task(help_={"paths": "submission archives, folders of them or shell patterns, "
                          "comma-separated",
                 "out": "where the class report goes (default: grading/)"})
def grade(c, paths, out=None):
    """Grade submissions: verify each archive, recompute its tables from raw records, mark
    its answers against its own data; write a class report (HTML and CSV)."""
    from pathlib import Path

    from lab import ROOT
    from lab.assignment.course import expand, grade_paths
    from lab.experiments import registry

    html, csv = grade_paths(expand(paths), Path(out) if out else ROOT / "grading",
                            list(registry().values()))
    console.print(f"[bold green]class report: {html}[/bold green] (and {csv})")


@lab_task(help_={"name": "the new runtime's name (its folder under runtimes/)",
                 "language": "the skeleton's language: python, c, go or java",
                 "into": "create it in this folder instead of runtimes/ (then add the folder "
                         "to LAB_RUNTIMES_PATH)"})
def new_runtime(c, name, language, into=None):
    """Scaffold runtimes/NAME/ (runtime.toml, Dockerfile, README, a server answering /ping)
    and print the next steps."""
    from pathlib import Path

    from lab import RUNTIMES_DIR
    from lab.scaffold import next_steps, scaffold

    folder = scaffold(name, language, Path(into) if into else RUNTIMES_DIR)
    console.print(f"[bold green]created {folder}[/bold green]; next:")
    for number, step in enumerate(next_steps(folder, language), 1):
        console.print(f"  {number}. {step}")


def _collection() -> Collection:
    from lab.experiments import registry

    lab = Collection("lab")
    for each in (targets, experiments, base, build, verify, serve, run, report, compare, all_,
                 clean, doctor, bench_loadgen, submit, grade, new_runtime):
        lab.add_task(each)
    for name, each in registry().items():
        lab.add_task(_experiment_task(name, each.title))
    return lab


namespace = Collection(test, _collection())
