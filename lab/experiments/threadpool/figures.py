"""Threadpool figures: completion against rank per pool size (in units of one request's
time, so that steps of P sit on whole numbers), theory dashed; and the pool probe's wait."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib import colormaps

from analysis.palette import Figure, embed, setup
from lab.experiments.threadpool.bursts import pool_label

COLUMNS = 4


def _colours(pools: list[int]) -> dict[int, str]:
    ramp = colormaps["viridis"]
    return {p: ramp(0.1 + 0.8 * i / max(1, len(pools) - 1)) for i, p in enumerate(pools)}


def steps_figure(ranks: pd.DataFrame, cpus: int) -> Figure | None:
    at = ranks[ranks["cpus"] == cpus].dropna(subset=["t_ms"])
    if at.empty:
        return None
    targets = sorted(at["target"].unique())
    colours = _colours(sorted(int(p) for p in at["pool"].unique()))
    setup()
    rows = math.ceil(len(targets) / COLUMNS)
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(12, 0.6 + 2.5 * rows), squeeze=False)
    for ax, target in zip(axes.flat, targets, strict=False):
        mine = at[at["target"] == target]
        for pool, group in mine.groupby("pool"):
            group = group.sort_values("rank")
            t = group["t_ms"].iloc[0]
            colour = colours[int(pool)]
            ax.step(group["rank"], group["theory"] / t, where="mid", color=colour,
                    linestyle="--", linewidth=1)
            ax.plot(group["rank"], group["measured"] / t, marker="o", markersize=3,
                    color=colour, linewidth=1.2, label=pool_label(pool))
        knob = str(mine["pool_knob"].iloc[0])
        ax.set_title(target)
        ax.set_ylim(bottom=0)
        ax.legend(fontsize=7, frameon=False, title_fontsize=7,
                  title=f"P = {knob}" if knob != "none" else None)
    for ax in axes.flat[len(targets):]:
        ax.axis("off")
    for ax in axes[:, 0]:
        ax.set_ylabel("completion / t")
    for ax in axes[-1]:
        ax.set_xlabel("request rank")
    fig.suptitle(f"A burst of {int(at['rank'].max())} /hash?offload=1 on {cpus} CPU(s): "
                 "completion time by rank (solid: measured; dashed: fair-share theory)")
    fig.tight_layout()
    return Figure(
        f"Burst completions on {cpus} CPU(s)", embed(fig),
        f"Small multiples, one per target: each request's completion time divided by one "
        f"request's time t, against its rank, one colour per pool size, measured (solid, "
        f"dots) and in theory (dashed steps), on {cpus} CPU(s).",
        "t: the server's CPU time per request during the burst. A step of height k every P "
        "ranks: P threads finishing a wave together, each wave k times one request's time.")


def probe_figure(probes: pd.DataFrame) -> Figure | None:
    if probes.empty:
        return None
    panels = sorted({(str(t), int(c)) for t, c in zip(probes["target"], probes["cpus"],
                                                       strict=True)})
    colours = _colours(sorted(int(p) for p in probes["pool"].unique()))
    setup()
    fig, axes = plt.subplots(1, len(panels), figsize=(4.2 * len(panels), 3.2), squeeze=False)
    for ax, (target, cpus) in zip(axes[0], panels, strict=True):
        mine = probes[(probes["target"] == target) & (probes["cpus"] == cpus)]
        for pool, group in mine.groupby("pool"):
            group = group.sort_values("probe_at_ms")
            colour = colours[int(pool)]
            ax.plot(group["probe_at_ms"], group["measured"], marker=".", color=colour,
                    label=pool_label(pool))
            ax.plot(group["probe_at_ms"], group["theory"], linestyle="--", color=colour,
                    linewidth=1)
        ax.axvline(0, color="black", linestyle=":", linewidth=1)
        ax.set_title(f"{target}, {cpus} CPU(s), P = {mine['pool_knob'].iloc[0]}")
        ax.set_xlabel("when the probe was due (ms after the burst)")
        ax.set_ylabel("probe latency (ms)")
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle("A small read on the same pool, before, during and after the burst")
    fig.tight_layout()
    return Figure("The shared pool", embed(fig),
                  "Line charts of the pool probe's latency against when it was due, one line "
                  "per pool size (dashed: theory), one panel per target and CPU count; the "
                  "dotted line marks the burst.",
                  "Latency from the probe's intended send time; the theory queues a probe of "
                  "no length behind the burst's jobs on the same pool.")
