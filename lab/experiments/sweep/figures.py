"""Sweep figures: goodput and the closed-loop mean latency vs connections per endpoint;
CPU efficiency; latency vs offered load (the hockey stick).

Every figure is built from the aggregate (medians; whiskers = their intervals, none where
the aggregate cannot tell) and embedded as PNG. Flagged points get a black overlay marker, so a flag
reads without colour: x = requests failed, square = connections never served, ring = the
load generator was the bottleneck (or, open loop, fell behind its own schedule).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter

from analysis.content import label
from analysis.palette import FAMILIES, Figure, Style, embed, family, setup
from analysis.plots import compact, log_count_axis, minor_ms
from analysis.stats import fmt
from lab.experiments.sweep.findings import comparison_level

SWEEP_METRICS = (("goodput_per_s", "goodput (2xx/s, steady state)", False),
                 ("latency_mean", "mean latency (ms, log)", True))
OVERLAYS = (("errors", "x", "requests failed (errors)"),
            ("starved", "s", "connections never served"),
            ("generator-bound", "o", "load generator saturated"),
            ("pacer-behind", "o", "the pacer fell behind its schedule"))


def whiskers(rows: pd.DataFrame) -> list[pd.Series]:
    """Below and above each median to its interval's ends (0 where there is none)."""
    return [(rows["median"] - rows["low"]).clip(lower=0).fillna(0),
            (rows["high"] - rows["median"]).clip(lower=0).fillna(0)]


def _line(ax: plt.Axes, rows: pd.DataFrame, style: Style, label: str) -> set[str]:
    """One target's line with interval whiskers; returns the overlay flags drawn."""
    rows = rows.dropna(subset=["median"]).sort_values("connections")
    if rows.empty:
        return set()
    spread = whiskers(rows)
    ax.errorbar(rows["connections"], rows["median"], yerr=spread, color=style.color,
                marker=style.marker, markersize=5, linewidth=1.4, capsize=2, label=label)
    drawn = set()
    for flag, marker, _ in OVERLAYS:
        hit = rows[rows["flags"].str.contains(flag, regex=False)]
        if not hit.empty:
            ring = {"facecolors": "none", "edgecolors": "black"} if marker in "os" else {
                "color": "black"}
            ax.scatter(hit["connections"], hit["median"], marker=marker, s=90, linewidths=1.2,
                       zorder=5, **ring)
            drawn.add(flag)
    return drawn


def sweep_figure(agg: pd.DataFrame, endpoint: str, palette: dict[str, Style]) -> Figure | None:
    """Rows: families of targets; columns: requests/s and p99 latency vs connections."""
    rows = agg[agg["endpoint"] == endpoint]
    if rows.empty:
        return None
    setup()
    present = [(key, title) for key, title in FAMILIES
               if any(family(t) == key for t in rows["target"].unique())]
    levels = sorted(int(c) for c in rows["connections"].dropna().unique())
    fig, axes = plt.subplots(len(present), 2, figsize=(11, 0.5 + 3.4 * len(present)),
                             squeeze=False)
    for row_index, (key, title) in enumerate(present):
        mine = rows[rows["target"].map(family) == key]
        flags_drawn: set[str] = set()
        for col, (metric, ylabel, log) in enumerate(SWEEP_METRICS):
            ax = axes[row_index][col]
            for (target, variant), group in mine[mine["metric"] == metric].groupby(
                    ["target", "variant"], sort=True):
                flags_drawn |= _line(ax, group, palette[target], label(target, variant))
            log_count_axis(ax, levels)
            ax.set_ylabel(ylabel)
            if log:
                ax.set_yscale("log")
                ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: fmt(y, "ms")))
                ax.yaxis.set_minor_formatter(FuncFormatter(minor_ms))
            else:
                ax.set_ylim(bottom=0)
                ax.yaxis.set_major_formatter(FuncFormatter(compact))
            ax.set_title(f"{title}: {'mean latency (closed loop)' if log else 'goodput'}")
        handles, labels = axes[row_index][0].get_legend_handles_labels()
        for flag, marker, text in OVERLAYS:
            if flag in flags_drawn:
                handles.append(plt.Line2D([], [], marker=marker, color="black", linestyle="",
                                          markerfacecolor="none" if marker in "os" else "black"))
                labels.append(text)
        axes[row_index][1].legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                                  frameon=False)
    fig.suptitle(f"Sweep {endpoint}: goodput and mean latency vs connections (closed loop)")
    fig.tight_layout()
    return Figure(f"Sweep {endpoint}", embed(fig), _sweep_alt(rows, endpoint, levels, present),
                  "Medians over repetitions; whiskers are their intervals (none with too few "
                  "repetitions). Closed loop: the "
                  "mean latency is connections / goodput (Little's law), not a percentile. "
                  "Each panel has its own y scale; compare families with the table below.")


def _sweep_alt(rows: pd.DataFrame, endpoint: str, levels: list[int],
               present: list[tuple[str, str]]) -> str:
    level = comparison_level(rows)
    rate = rows[(rows["metric"] == "goodput_per_s") & (rows["connections"] == level)]
    rate = rate.dropna(subset=["median"]).sort_values("median", ascending=False)
    text = (f"Line charts for {endpoint}: goodput in 2xx responses per second (left) and the "
            f"closed-loop mean latency in ms (right, log scale) against connections "
            f"({', '.join(map(str, levels))}, log scale), one line per target, one row of "
            f"panels each for: "
            f"{', '.join(t for _, t in present)}.")
    if not rate.empty:
        top, low = rate.iloc[0], rate.iloc[-1]
        text += (f" At {level} connections the fastest was {top['target']} "
                 f"({fmt(top['median'])}/s) and the slowest {low['target']} "
                 f"({fmt(low['median'])}/s).")
    return text


def efficiency_figure(agg: pd.DataFrame, palette: dict[str, Style]) -> Figure | None:
    """Requests per server CPU-second at the comparison level, one panel per endpoint."""
    rows = agg[agg["metric"] == "requests_per_cpu_s"].dropna(subset=["median"])
    if rows.empty:
        return None
    endpoints = sorted(rows["endpoint"].unique())
    setup()
    height = max(2.2, 0.8 + 0.32 * rows.groupby("endpoint")["target"].nunique().max())
    fig, axes = plt.subplots(1, len(endpoints), figsize=(5.2 * len(endpoints), height),
                             squeeze=False)
    alt_parts = []
    for ax, endpoint in zip(axes[0], endpoints, strict=True):
        mine = rows[rows["endpoint"] == endpoint]
        level = comparison_level(agg[agg["endpoint"] == endpoint])
        mine = mine[mine["connections"] == level].sort_values("median")
        labels = [label(t, v) for t, v in zip(mine["target"], mine["variant"], strict=True)]
        colours = [palette[t].color for t in mine["target"]]
        spread = whiskers(mine)
        ax.barh(labels, mine["median"], color=colours, xerr=spread, capsize=2)
        for y, v in enumerate(mine["median"]):
            ax.text(v, y, f" {fmt(v)}", va="center", fontsize=8)
        ax.set_xlabel("responses per server CPU-second")
        ax.set_title(f"{endpoint} at {level} connections")
        ax.xaxis.set_major_formatter(FuncFormatter(compact))
        ax.margins(x=0.25)
        if not mine.empty:
            best = mine.iloc[-1]
            alt_parts.append(f"{endpoint}: most efficient {best['target']} with "
                             f"{fmt(best['median'])} requests per CPU-second")
    fig.suptitle("CPU efficiency: requests served per CPU-second of the server")
    fig.tight_layout()
    return Figure("CPU efficiency", embed(fig),
                  "Horizontal bar charts of requests per server CPU-second per target. "
                  + "; ".join(alt_parts) + ".",
                  "Server CPU time from the kernel's accounting of the server's processes "
                  "during the measurement; bars labelled with their medians.")


def load_figure(opened: pd.DataFrame, palette: dict[str, Style]) -> Figure | None:
    """p99 (and p50) from the intended send time vs offered load, per family of targets;
    each target's knee ringed; a point where the pacer fell behind is hollow."""
    from lab.experiments.sweep.findings import knee

    rows = opened[opened["metric"].isin(("latency_p50", "latency_p99"))]
    if rows.empty or "load" not in rows.columns:
        return None
    setup()
    present = [(key, title) for key, title in FAMILIES
               if any(family(t) == key for t in rows["target"].unique())]
    fig, axes = plt.subplots(1, len(present), figsize=(5.6 * len(present), 4.2), squeeze=False)
    top = rows["median"].replace(float("inf"), float("nan")).max()
    ceiling = (top if top == top else 1.0) * 3  # failures (inf) are drawn at the top
    knees = []
    for ax, (key, title) in zip(axes[0], present, strict=True):
        mine = rows[rows["target"].map(family) == key]
        for (target, variant), group in mine.groupby(["target", "variant"], sort=True):
            style = palette[target]
            p99 = group[group["metric"] == "latency_p99"].sort_values("load")
            ys = p99["median"].clip(upper=ceiling)
            ax.plot(p99["load"] * 100, ys, color=style.color, marker=style.marker,
                    markersize=5, linewidth=1.4, label=label(target, variant))
            behind = p99["flags"].str.contains("pacer-behind", regex=False)
            ax.scatter(p99["load"][behind] * 100, ys[behind], s=90, facecolors="white",
                       edgecolors="black", zorder=5)
            point = knee(group)
            if point:
                ax.scatter([point[0] * 100], [min(point[1], ceiling)], s=220,
                           facecolors="none", edgecolors=style.color, linewidths=2, zorder=6)
                knees.append(f"{label(target, variant)} at {point[0]:.0%}")
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _: fmt(y, "ms")))
        ax.set_xlabel("offered load (% of the target's closed-loop goodput at 64 connections)")
        ax.set_ylabel("/ping p99 from intended send time (ms, log)")
        ax.set_title(f"{title}: latency vs offered load")
        ax.legend(loc="upper left", fontsize=7, frameon=False)
    fig.suptitle("Latency vs offered load (open loop): the hockey stick")
    fig.tight_layout()
    return Figure(
        "Latency vs offered load", embed(fig),
        "Line charts of /ping p99 latency in ms (log scale) against the offered load as a "
        "percentage of each target's own closed-loop peak, one line per target; large rings "
        f"mark each knee ({'; '.join(knees) or 'none found'}).",
        "The pacer sends on a fixed schedule whatever the server does; latency counts from "
        "each request's intended send time, failures as infinitely slow (drawn at the top). "
        "Hollow white markers: the pacer's own dispatch lag exceeded 1 ms (it fell behind).")
