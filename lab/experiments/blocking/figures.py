"""Blocking figures: every /ping against its intended send time with the /cpu bursts shaded,
and the percentiles per phase beside what a fully blocking server would show."""

from __future__ import annotations

import math
import re

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter

from analysis.content import label
from analysis.load import RunData, read_pacer
from analysis.palette import Figure, embed, setup
from analysis.stats import fmt, select

PHASES = {"baseline": ("#546E7A", "o", "-"), "inline": ("#C62828", "s", "--"),
          "offload": ("#2E7D32", "^", ":")}
TIMELINE_PHASES = ("inline", "offload")
PERCENTILES = (("p50", 50), ("p90", 90), ("p99", 99), ("p99_9", 99.9))
BURST_STYLE = {"facecolor": "#FFCC80", "alpha": 0.55, "edgecolor": "#E65100", "hatch": "//",
               "linewidth": 0}


def _slug(text: str) -> str:
    """As lab.experiments.framework names points and raw files."""
    return re.sub(r"[^A-Za-z0-9.=-]+", "_", text).strip("_")


def _raw_by_name(run: RunData) -> dict[tuple[str, str], dict[str, str]]:
    """Without point files: find raw files by the framework's naming, for measured targets."""
    found: dict[tuple[str, str], dict[str, str]] = {}
    table = run.table("blocking")
    if table.empty:
        return found
    for target, variant in sorted(set(zip(table["target"], table["variant"], strict=True))):
        prefix = _slug(f"{target}_{variant}")
        for rep in sorted(table.loc[(table["target"] == target)
                                    & (table["variant"] == variant), "repetition"].unique()):
            for phase in TIMELINE_PHASES:
                name = f"blocking/raw/{prefix}_r{rep}_phase={phase}.pacer.csv"
                if run.raw_path(name).exists():
                    found.setdefault((str(target), str(variant)), {})[phase] = name
            if (str(target), str(variant)) in found:
                break
    return found


def _raw_files(run: RunData) -> dict[tuple[str, str], dict[str, str]]:
    """(target, variant) -> {phase: raw pacer file} of the first repetition measured:
    from the point files, else by the framework's file naming."""
    found = _raw_by_name(run)
    points = run.points("blocking")
    if points.empty or not {"raw", "phase", "target", "variant"} <= set(points.columns):
        return found
    points = points.dropna(subset=["raw"]).sort_values(["target", "variant", "repetition"])
    for (target, variant), group in points.groupby(["target", "variant"], sort=True):
        first = group[group["repetition"] == group["repetition"].min()]
        found[(str(target), str(variant))] = dict(zip(first["phase"], first["raw"], strict=True))
    return found


def timeline_figure(run: RunData) -> Figure | None:
    files = _raw_files(run)
    panels = {key: {phase: read_pacer(run, phases[phase]) for phase in TIMELINE_PHASES
                    if phase in phases} for key, phases in files.items()}
    panels = {key: data for key, data in panels.items()
              if any(d is not None for d in data.values())}
    if not panels:
        return None
    setup()
    top = 1.0
    for data in panels.values():
        for records in data.values():
            if records is not None and not records.empty:
                ok = records[(records["stream"] == "ping") & (records["status"] == 200)]
                if not ok.empty:
                    top = max(top, float(((ok["done_ns"] - ok["intended_ns"]) / 1e6).max()))
    fig, axes = plt.subplots(len(panels), len(TIMELINE_PHASES), sharex=True, sharey=True,
                             figsize=(10, 0.6 + 1.35 * len(panels)), squeeze=False)
    for row, ((target, variant), data) in enumerate(sorted(panels.items())):
        for col, phase in enumerate(TIMELINE_PHASES):
            ax = axes[row][col]
            records = data.get(phase)
            if records is None or records.empty:
                ax.text(0.5, 0.5, "no records", transform=ax.transAxes, ha="center")
            else:
                _draw(ax, records, top)
            ax.set_ylim(0, top * 1.08)
            ax.set_title(f"{label(target, variant)}: {phase}", loc="left", fontsize=9)
            if col == 0:
                ax.set_ylabel("/ping latency (ms)")
    for ax in axes[-1]:
        ax.set_xlabel("intended send time (s from the phase's start)")
        ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:g}"))
    handles = [plt.Line2D([], [], marker=".", linestyle="", color="#263238",
                          label="/ping (latency from its intended send time)"),
               plt.Line2D([], [], marker="x", linestyle="", color="#B71C1C",
                          label="/ping failed (drawn at the top)"),
               Patch(**BURST_STYLE, label="/cpu request in flight (sent to done)")]
    fig.legend(handles=handles, loc="upper center", ncol=3, frameon=False,
               bbox_to_anchor=(0.5, 1.0))
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.45 / fig.get_figheight()))
    names = ", ".join(label(t, v) for t, v in sorted(panels))
    return Figure(
        "Blocking timelines", embed(fig),
        f"Scatter plots, one row per target ({names}), left inline and right offload=1: each "
        f"dot is one /ping request, x its intended send time in seconds, y its latency in ms "
        f"(shared scale up to {fmt(top, 'ms', True)}); shaded hatched bands mark the /cpu "
        "requests in flight. A blocked server shows latency ramps starting with each band.",
        "First repetition of each target; one panel per target and phase, shared axes.")


def _draw(ax: plt.Axes, records: pd.DataFrame, top: float) -> None:
    for _, burst in records[records["stream"] == "cpu"].iterrows():
        if burst["done_ns"] > burst["sent_ns"] > 0:
            ax.axvspan(burst["sent_ns"] / 1e9, burst["done_ns"] / 1e9, **BURST_STYLE)
    ping = records[records["stream"] == "ping"]
    ok = ping[ping["status"] == 200]
    ax.scatter(ok["intended_ns"] / 1e9, (ok["done_ns"] - ok["intended_ns"]) / 1e6, s=3,
               color="#263238", marker=".", rasterized=True)
    failed = ping[ping["status"] != 200]
    if not failed.empty:
        ax.scatter(failed["intended_ns"] / 1e9, [top] * len(failed), marker="x",
                   color="#B71C1C", s=18)


def percentile_figure(agg: pd.DataFrame) -> Figure | None:
    """Per target: /ping percentiles in each phase, and theory for a fully blocking server."""
    ping = select(agg, stream="ping")
    if ping.empty:
        return None
    keys = sorted({(str(t), str(v)) for t, v in zip(ping["target"], ping["variant"], strict=True)})
    setup()
    cols = min(4, len(keys))
    rows = math.ceil(len(keys) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.1 * cols, 0.9 + 2.5 * rows), sharey=True,
                             squeeze=False)
    x = list(range(len(PERCENTILES)))
    for index, (target, variant) in enumerate(keys):
        ax = axes[index // cols][index % cols]
        mine = select(ping, target=target, variant=variant)
        for phase, (colour, marker, linestyle) in PHASES.items():
            ys = [_median(mine, phase, f"latency_{name}") for name, _ in PERCENTILES]
            if any(y is not None for y in ys):
                ax.plot(x, [math.nan if y is None else y for y in ys], color=colour,
                        marker=marker, linestyle=linestyle, label=phase)
        theory = [_median(mine, "inline", f"theory_latency_{name}") for name, _ in PERCENTILES]
        if any(t is not None for t in theory):
            ax.plot(x, [math.nan if t is None else t for t in theory], color="black",
                    marker="x", linestyle="-.", label="theory: fully blocking")
        ax.set_yscale("symlog", linthresh=1.0)
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: fmt(y, "ms")))
        ax.set_xticks(x, ["p50", "p90", "p99", "p99.9"])
        ax.set_title(label(target, variant), fontsize=9)
        ax.set_xlabel("percentile of /ping latency")
        if index % cols == 0:
            ax.set_ylabel("latency (ms, linear below 1)")
    for index in range(len(keys), rows * cols):
        axes[index // cols][index % cols].set_visible(False)
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", ncol=4, frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.4 / fig.get_figheight()))
    return Figure(
        "Blocking percentiles", embed(fig),
        f"Small line charts, one per target ({', '.join(label(t, v) for t, v in keys)}): "
        "/ping latency in ms at p50, p90, p99 and p99.9 for baseline (circles, solid), inline "
        "/cpu (squares, dashed) and offload=1 (triangles, dotted), with the theoretical "
        "latency of a fully blocking server with the target's executors (x, dash-dot).",
        "Medians over repetitions; the theory line is lab.theory for the target's executor "
        "count (zero where enough executors absorb every burst).")


def _median(rows: pd.DataFrame, phase: str, metric: str) -> float | None:
    found = select(rows, phase=phase, metric=metric)
    if found.empty or pd.isna(found["median"].iloc[0]):
        return None
    return float(found["median"].iloc[0])
