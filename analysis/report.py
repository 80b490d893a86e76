"""One self-contained HTML report per run: reports/<run_id>/index.html (+ reports/latest).

The first screen is the scorecard (targets x lessons, coloured) and the one figure that
best tells the run's story; then one section per experiment (its figures, findings and
collapsible tables), failures and flags, how to read the report, the environment.
Experiments are passed in (lab.experiments.registry()): analysis never imports them, and
a table of an experiment not passed in is shown generically.
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Sequence
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape

from analysis import scorecard, tables
from analysis.content import Analysable, Concept, Finding, Section
from analysis.load import RunData, load_run
from analysis.palette import Figure, styles
from analysis.quality import (
    FLAG_MEANINGS,
    failure_findings,
    failure_table,
    flag_findings,
    flag_table,
    gap_findings,
    knobs_text,
)
from analysis.stats import CI_METHOD, aggregate, fmt
from lab import REPORTS_DIR, RESULTS_DIR
from lab.errors import LabError
from lab.results import atomic_write, now_iso

TEMPLATES = Path(__file__).parent / "templates"


def _generic(experiment: str, run: RunData, concept: Concept | None = None) -> Section:
    agg = aggregate(run.table(experiment))
    note = Finding(experiment, (
        f"{experiment}: {len(agg)} median(s) of {agg['target'].nunique()} target(s); this lab "
        "has no analysis for it (an experiment it does not know), so its medians are tabled."),
        "note")
    return Section(experiment, concept or Concept(experiment, ()),
                   tables=[tables.generic_table(experiment, agg)], findings=[note])


def build_section(run: RunData, name: str, experiment: Analysable | None,
                  palette: dict) -> Section:
    if run.table(name).empty:
        return Section(name, experiment.concept if experiment else Concept(name, ()),
                       statement=(f"No results for {name} in this run: nothing was measured, "
                                  "or every measurement failed (see Failures and flags)."))
    if experiment is None:
        return _generic(name, run)
    try:
        return experiment.section(run, palette)
    except Exception as exc:
        # A table of an unexpected shape must not cost the whole report.
        section = _generic(name, run, experiment.concept)
        section.findings.insert(0, Finding(name, (
            f"The analysis of {name} failed on this data ({type(exc).__name__}: {exc}); its "
            "medians are shown generically."), "failure"))
        return section


def story_figure(run: RunData, experiments: Sequence[Analysable],
                 palette: dict) -> Figure | None:
    """The overview figure of the experiment with the lowest story rank that has one."""
    ranked = sorted((e for e in experiments if e.story_rank is not None
                     and not run.table(e.name).empty), key=lambda e: e.story_rank)
    for experiment in ranked:
        try:
            figure = experiment.overview(run, palette)
        except (KeyError, ValueError):
            continue
        if figure is not None:
            return figure
    return None


def environment(meta: dict) -> dict:
    """run.json laid out for the environment section."""
    machine = dict(meta.get("machine") or {})
    if isinstance(machine.get("memory_bytes"), int | float):
        machine["memory"] = f"{machine.pop('memory_bytes') / 2**30:.1f} GiB"
    run = {k: meta.get(k) for k in ("run_id", "status", "started", "ended", "profile",
                                    "command", "experiments", "resumed", "schema_version")
           if meta.get(k) is not None}
    known = {"machine", "git", "backend", "cpus", "targets", *run}
    targets = []
    for name, info in sorted((meta.get("targets") or {}).items()):
        info = info or {}
        server = info.get("info") or {}
        targets.append({"target": name, "runtime_version": info.get("runtime_version", ""),
                        "toolchain": info.get("toolchain", ""),
                        "knobs": knobs_text(json.dumps(server.get("knobs") or {})),
                        "offload": server.get("offload", ""), "failed": info.get("failed", "")})
    backend = dict(meta.get("backend") or {})
    return {"run": run, "git": meta.get("git") or {}, "machine": machine,
            "network": network_path(backend.pop("engines", {}), backend.pop("network", {})),
            "backend": backend, "cpus": meta.get("cpus") or {},
            "targets": targets, "other": {k: v for k, v in meta.items() if k not in known}}


def network_path(engines: dict, network: dict) -> dict[str, str]:
    """Where servers and load generator ran, and the round trip between them (docker)."""
    path = {}
    for role, label in (("server", "servers on"), ("load", "load generator on")):
        if engine := engines.get(role):
            memory = engine.get("memory_bytes") or 0
            model = f" ({engine['cpu_model']})" if engine.get("cpu_model") else ""
            path[label] = (f"{engine.get('engine')}: {engine.get('host')}, "
                           f"{engine.get('cpus')} CPUs{model}, "
                           f"{memory / 2**30:.1f} GiB, kernel {engine.get('kernel')}, "
                           f"Docker {engine.get('engine_version')}")
    if "server_address" in network:
        path["server address"] = network["server_address"]
        path["same host"] = "yes" if network.get("same_host") else "no"
    if rtt := network.get("round_trip_ms"):
        path["idle round trip, load host to server address"] = (
            f"{rtt['median']:.3f} ms (min {rtt['min']:.3f}, max {rtt['max']:.3f}): "
            f"{network.get('method', '')}")
    elif "error" in network:
        path["idle round trip"] = f"not measured: {network['error']}"
    return path


def render(run: RunData, experiments: Sequence[Analysable] = ()) -> str:
    """The report's HTML for a loaded run."""
    by_name = {e.name: e for e in experiments}
    palette = styles(run.target_names)
    sections = [build_section(run, name, by_name.get(name), palette)
                for name in run.experiments]
    known = [by_name[name] for name in run.experiments if name in by_name]
    flag_meanings = {**FLAG_MEANINGS, **{k: v for e in known for k, v in e.flags.items()}}
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pretty"] = _pretty
    story = story_figure(run, known, palette)
    figures = [f for s in sections for f in s.figures] + ([story] if story else [])
    return env.get_template("report.html.j2").render(
        run=run, title=f"Async Runtime Lab: run {run.run_id}", sections=sections,
        scorecard=scorecard.build(run, known), story=story,
        problems=gap_findings(run) + failure_findings(run),
        flags=flag_findings(run, flag_meanings), flag_meanings=flag_meanings,
        flag_rows=tables.frame_table("Flagged measurements", flag_table(run)),
        failure_rows=tables.frame_table("Failures", failure_table(run)),
        env=environment(run.meta), ci_method=CI_METHOD, generated=now_iso(),
        figure_bytes=fmt(sum(f.size_bytes for f in figures) / 1024))


def _pretty(value: object) -> str:
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict | list):
        return json.dumps(value, indent=1, sort_keys=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def write_report(run_id_or_path: str | Path, experiments: Sequence[Analysable] = (),
                 reports_dir: Path = REPORTS_DIR, results_dir: Path = RESULTS_DIR) -> Path:
    """Write reports/<run_id>/index.html and point reports/latest at the newest report."""
    run = load_run(run_id_or_path, results_dir)
    html = render(run, experiments)
    path = Path(reports_dir) / run.run_id / "index.html"
    atomic_write(path, html)
    link_latest(Path(reports_dir))
    return path


def link_latest(reports_dir: Path) -> None:
    """reports/latest -> the report folder whose index.html was written last."""
    folders = [p for p in reports_dir.iterdir()
               if p.is_dir() and not p.is_symlink() and (p / "index.html").exists()]
    if not folders:
        return
    newest = max(folders, key=lambda p: (p / "index.html").stat().st_mtime_ns)
    latest = reports_dir / "latest"
    if latest.exists() and not latest.is_symlink():
        raise LabError(f"{latest} exists and is not a symlink; the lab will not replace it",
                       hint="move it away, then write the report again")
    temporary = reports_dir / f".latest.{secrets.token_hex(3)}"
    os.symlink(newest.name, temporary)
    os.replace(temporary, latest)
