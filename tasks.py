"""Tasks of the Async Runtime Lab. `uv run invoke --list` lists them; --help TASK explains one.

This file only parses options and calls the lab package.
"""

from __future__ import annotations

import functools
import sys

from invoke import Collection, Exit, task

from lab.console import console
from lab.errors import LabError

TARGET_HELP = "comma-separated targets or runtimes (default: all); see lab.targets"
BACKEND_HELP = "auto (docker when an engine answers, else native), docker or native"
CPU_HELP = {"server_cpus": "CPUs for servers, taskset syntax (default: upper half)",
            "load_cpus": "CPUs for the load generator (default: lower half)"}


def lab_task(help_: dict[str, str] | None = None, **kwargs):
    """@task with the lab's error handling: a LabError or Ctrl-C prints a message, no traceback."""

    def wrap(fn):
        @functools.wraps(fn)
        def body(c, *args, **kw):
            try:
                return fn(c, *args, **kw)
            except LabError as exc:
                console.print(f"[red]error:[/red] {exc}")
                raise Exit(code=1) from None
            except KeyboardInterrupt:
                console.print("[yellow]interrupted[/yellow]: everything started was stopped; "
                              "finished results are kept")
                raise Exit(code=130) from None

        return task(body, help=help_ or {}, **kwargs)

    return wrap


def _backend(backend: str, server_cpus: str | None = None, load_cpus: str | None = None):
    from lab.backends.selection import make_backend

    chosen, why = make_backend(backend, _cpus(server_cpus, load_cpus))
    console.print(f"[dim]{why}; server CPUs {chosen.cpus.server_list}, "
                  f"load CPUs {chosen.cpus.load_list}[/dim]")
    return chosen


def _cpus(server_cpus: str | None = None, load_cpus: str | None = None):
    from lab.cpus import default_cpu_sets

    return default_cpu_sets(server_cpus, load_cpus)


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
                "force": "rebuild even when nothing changed"})
def build(c, target=None, backend="auto", force=False):
    """Build targets (and the load generator) on a backend; images on docker, binaries natively."""
    from lab.build import build_targets
    from lab.targets import select

    _, failed = build_targets(_backend(backend), select(target), force=force, loadgen=True)
    if failed:
        raise Exit(f"{len(failed)} build(s) failed: {', '.join(f.runtime for f in failed)}",
                   code=1)


@lab_task(help_={"target": TARGET_HELP, "backend": BACKEND_HELP, **CPU_HELP})
def verify(c, target=None, backend="auto", server_cpus=None, load_cpus=None):
    """Run the conformance suite (runtimes/SPEC.md) against targets; print a pass/fail table."""
    import os

    from lab.targets import select
    from lab.verify import print_table, run_conformance

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
                **CPU_HELP},
          iterable=["knob"])
def serve(c, target, port=None, backend="auto", knob=None, server_cpus=None, load_cpus=None):
    """Run one target in the foreground (Ctrl-C stops it), to explore it with curl."""
    from lab.serve import serve_foreground
    from lab.targets import select

    found = select(target)
    if len(found) != 1:
        raise LabError(f"'{target}' names {len(found)} targets; serve runs exactly one",
                       hint=f"pick one of {', '.join(t.name for t in found)}")
    chosen = _backend(backend, server_cpus, load_cpus)
    chosen.build(found[0].runtime)
    status = serve_foreground(chosen, found[0], int(port) if port else None, _knobs(knob or []))
    if status not in (None, 0):
        raise Exit(code=1)


EXPERIMENT_HELP = {"profile": "quick (seconds per target), standard (default) or full",
                   "target": TARGET_HELP, "backend": BACKEND_HELP,
                   "resume": "finish an interrupted run (its id, or 'latest') without "
                             "repeating what it measured", **CPU_HELP}


def _experiment(name: str, profile, target, backend, resume, server_cpus, load_cpus) -> None:
    from lab.measure import measure
    from lab.targets import select

    run = measure([name], profile, select(target), _backend(backend, server_cpus, load_cpus),
                  resume=resume)
    console.print(f"results: {run.folder}")


@lab_task(help_=EXPERIMENT_HELP)
def sweep(c, profile="standard", target=None, backend="auto", resume=None, server_cpus=None,
          load_cpus=None):
    """Experiment 1: requests/s and latency vs concurrency (wrk) for every target."""
    _experiment("sweep", profile, target, backend, resume, server_cpus, load_cpus)


@lab_task(help_=EXPERIMENT_HELP)
def blocking(c, profile="standard", target=None, backend="auto", resume=None, server_cpus=None,
             load_cpus=None):
    """Experiment 2: /ping latency (open loop) while /cpu runs inline, then offloaded."""
    _experiment("blocking", profile, target, backend, resume, server_cpus, load_cpus)


@lab_task(help_=EXPERIMENT_HELP, name="all")
def all_(c, profile="standard", target=None, backend="auto", resume=None, server_cpus=None,
         load_cpus=None):
    """The whole lab: build, verify, run the experiments, write the report; prints its path."""
    from lab import RESULTS_DIR
    from lab.pipeline import run_all
    from lab.targets import select

    chosen = select(target)
    run_id, report = run_all(chosen, _backend(backend, server_cpus, load_cpus), profile, resume)
    console.print(f"results: {RESULTS_DIR / run_id}")
    if report:
        console.print(f"[bold green]report: {report}[/bold green]")


# invoke has no optional positional arguments (pyinvoke/invoke#159): the run is a flag.
@lab_task(help_={"run_id": "the run to report on: its id, or 'latest' (the default)"})
def report(c, run_id="latest"):
    """Write the HTML report of a run (reports/<run_id>/index.html) and print its path."""
    from analysis.report import write_report

    console.print(f"[bold green]report: {write_report(run_id)}[/bold green]")


@lab_task(help_={"run_a": "the earlier run (its id, or 'latest')",
                 "run_b": "the later run"})
def compare(c, run_a, run_b):
    """Compare two runs: per target and metric, the ratio and whether it beats their noise."""
    from analysis.compare import compare_runs, render_comparison

    console.print(render_comparison(compare_runs(run_a, run_b)))


@lab_task()
def base(c):
    """Provide the base image debian:trixie-slim: present, else pulled, else debootstrapped."""
    from lab.backends.docker_base import BASE_IMAGE, ensure_base_image
    from lab.backends.selection import make_backend

    backend, _ = make_backend("docker", _cpus())
    image_id, how = ensure_base_image(backend.client, lambda m: console.print(f"  {m}"))
    console.print(f"{BASE_IMAGE}: {how} ({image_id[:19]})")


@lab_task(help_={"images": "also remove the lab's images (not the base image)",
                 "base": "with --images, also remove a debootstrapped base image"})
def clean(c, images=False, base=False):
    """Remove every container (and with --images, image) carrying the lab's labels."""
    from lab.backends.selection import make_backend
    from lab.clean import remove_containers, remove_images

    backend, _ = make_backend("docker", _cpus())
    removed = remove_containers(backend.client)
    console.print(f"removed {len(removed)} container(s) {', '.join(removed)}")
    if images:
        tags = remove_images(backend.client, include_base=base)
        console.print(f"removed {len(tags)} image(s) {', '.join(tags)}")


@lab_task()
def doctor(c):
    """Check the machine: Docker engine, images, native toolchains, disk, descriptor limit."""
    from lab.doctor import run_checks

    if not run_checks():
        raise Exit(code=1)


@task(help={"suite": "unit, lifecycle, conformance, docker, load, report, or all (default)",
            "target": TARGET_HELP + " (conformance and docker suites)",
            "backend": "all (default), native or docker",
            "keyword": "only tests matching this pytest -k expression"})
def test(c, suite="all", target=None, backend="all", keyword=None):
    """Run the lab's tests: ruff, then pytest (unit, conformance on every backend, docker, ...)."""
    if suite == "all":
        c.run("ruff check .", pty=False)
    # "all" runs pyproject's testpaths: tests/ and the Python servers' own unit tests.
    args = ["pytest"] if suite == "all" else ["pytest", f"tests/{suite}"]
    if target:
        args += [f"--target={t}" for t in target.split(",")]
    args += ["--backend", backend]
    if keyword:
        args += ["-k", keyword]
    result = c.run(" ".join(f"'{a}'" for a in args), warn=True, pty=sys.stdout.isatty())
    if result.exited != 0:
        raise Exit(code=result.exited)


@lab_task(help_={"backend": "native (default) or docker", **CPU_HELP})
def bench_loadgen(c, backend="native", server_cpus=None, load_cpus=None):
    """Pacer vs wrk against rust/tokio-current-thread: highest open-loop rate keeping
    schedule vs wrk's closed-loop rate, and p50 at 10k/s vs a ping-pong client (~1 min)."""
    from lab.bench_loadgen import print_bench, run_bench

    if not print_bench(run_bench(_backend(backend, server_cpus, load_cpus))):
        raise Exit("the pacer missed a target (see above)", code=1)


lab = Collection("lab")
for _task in (targets, base, build, verify, serve, sweep, blocking, report, compare, all_,
              clean, doctor, bench_loadgen):
    lab.add_task(_task)
namespace = Collection(test, lab)
