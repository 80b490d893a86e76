"""One self-contained HTML report per run: reports/<run_id>/index.html (+ reports/latest).

Figures are embedded PNGs, styles and the table-sorting script are inline: the file opens
offline, with nothing fetched. Experiments the report does not know are tabled generically.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from jinja2 import Environment, FileSystemLoader, select_autoescape

from analysis import figures, tables, timeline
from analysis.concepts import Concept, concept
from analysis.findings import VERDICT_RULE, Finding, blocking_findings, sweep_findings
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
from analysis.summary import target_summary
from lab import REPORTS_DIR, RESULTS_DIR
from lab.errors import LabError
from lab.results import atomic_write, now_iso

TEMPLATES = Path(__file__).parent / "templates"


@dataclass
class Section:
    name: str
    concept: Concept
    figures: list[Figure] = field(default_factory=list)
    tables: list[tables.Table] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    statement: str = ""   # shown instead of figures and tables when there is no data


def _sweep(agg: pd.DataFrame, palette: dict) -> Section:
    section = Section("sweep", concept("sweep"), findings=sweep_findings(agg))
    if "endpoint" in agg.columns:
        for endpoint in sorted(agg["endpoint"].dropna().unique()):
            fig = figures.sweep_figure(agg, endpoint, palette)
            if fig:
                section.figures.append(fig)
        fig = figures.efficiency_figure(agg, palette)
        if fig:
            section.figures.append(fig)
        section.tables.append(tables.sweep_table(agg))
    return section


def _blocking(run: RunData, agg: pd.DataFrame) -> Section:
    section = Section("blocking", concept("blocking"), findings=blocking_findings(agg))
    fig = timeline.timeline_figure(run)
    if fig:
        section.figures.append(fig)
    else:
        section.findings.append(Finding("blocking", "The raw pacer records were not found, so "
                                        "the timelines are not drawn.", "note"))
    fig = timeline.percentile_figure(agg)
    if fig:
        section.figures.append(fig)
    if "stream" in agg.columns:
        section.tables += [tables.verdict_table(agg), tables.ping_table(agg)]
    return section


def _generic(experiment: str, agg: pd.DataFrame) -> Section:
    targets = agg["target"].nunique()
    note = Finding(experiment, (f"{experiment}: {len(agg)} median(s) of {targets} target(s); "
                                "this report has no dedicated analysis for it yet."), "note")
    return Section(experiment, concept(experiment), tables=[tables.generic_table(experiment, agg)],
                   findings=[note])


def build_section(run: RunData, experiment: str, palette: dict) -> Section:
    frame = run.table(experiment)
    if frame.empty:
        return Section(experiment, concept(experiment), statement=(
            f"No results for {experiment} in this run: nothing was measured, or every "
            "measurement failed (see Failures and flags)."))
    agg = aggregate(frame)
    try:
        if experiment == "sweep":
            return _sweep(agg, palette)
        if experiment == "blocking":
            return _blocking(run, agg)
    except Exception as exc:
        # A table of an unexpected shape must not cost the whole report.
        section = _generic(experiment, agg)
        section.findings.insert(0, Finding(experiment, (
            f"The dedicated analysis of {experiment} failed on this data ({type(exc).__name__}: "
            f"{exc}); its medians are shown generically."), "failure"))
        return section
    return _generic(experiment, agg)


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
    return {"run": run, "git": meta.get("git") or {}, "machine": machine,
            "backend": meta.get("backend") or {}, "cpus": meta.get("cpus") or {},
            "targets": targets, "other": {k: v for k, v in meta.items() if k not in known}}


def render(run: RunData) -> str:
    """The report's HTML for a loaded run."""
    all_targets = set(run.meta.get("targets") or {})
    for frame in run.tables.values():
        if "target" in frame.columns:
            all_targets |= set(frame["target"].dropna().astype(str))
    palette = styles(sorted(all_targets))
    sections = [build_section(run, e, palette) for e in run.experiments]
    problems = gap_findings(run) + failure_findings(run)
    flags = flag_findings(run)
    results = [f for s in sections for f in s.findings]
    summary = [f for f in results if f.headline]
    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["j2"]),
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["pretty"] = _pretty
    return env.get_template("report.html.j2").render(
        run=run, title=f"Async Runtime Lab: run {run.run_id}", sections=sections,
        summary=summary, problems=problems, flags=flags, flag_meanings=FLAG_MEANINGS,
        flag_rows=tables.frame_table("Flagged measurements", flag_table(run)),
        failure_rows=tables.frame_table("Failures", failure_table(run)),
        targets=target_summary(run).to_dict("records"), env=environment(run.meta),
        ci_method=CI_METHOD,
        verdict_rule=VERDICT_RULE, generated=now_iso(),
        figure_bytes=fmt(sum(f.size_bytes for s in sections for f in s.figures) / 1024))


def _pretty(value: object) -> str:
    if isinstance(value, list) and all(not isinstance(v, dict | list) for v in value):
        return ", ".join(str(v) for v in value) or "none"
    if isinstance(value, dict | list):
        return json.dumps(value, indent=1, sort_keys=True)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return "" if value is None else str(value)


def write_report(run_id_or_path: str | Path, reports_dir: Path = REPORTS_DIR,
                 results_dir: Path = RESULTS_DIR) -> Path:
    """Write reports/<run_id>/index.html and point reports/latest at the newest report."""
    run = load_run(run_id_or_path, results_dir)
    html = render(run)
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
