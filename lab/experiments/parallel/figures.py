"""Parallel figure: speed-up per target and request kind against the ideal, and the CPUs
each server kept busy; one row of panels per CPU level k > 1."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from analysis.content import label
from analysis.palette import Figure, embed, family, setup
from lab.experiments.parallel.speedups import mode

SERIES = (("/work", 0, "#C62828", "s"), ("/work", 1, "#EF9A9A", "s"),
          ("/hash", 0, "#1565C0", "o"), ("/hash", 1, "#90CAF9", "o"))


def speedup_figure(speedups: pd.DataFrame) -> Figure | None:
    if speedups.empty:
        return None
    levels = sorted(int(k) for k in speedups["k"].unique())
    names = sorted({(str(t), str(v)) for t, v in zip(speedups["target"], speedups["variant"],
                                                    strict=True)},
                   key=lambda tv: (family(tv[0]) != "python", tv))
    setup()
    fig, axes = plt.subplots(len(levels), 2, figsize=(11, 0.9 + 0.3 * len(names) * len(levels)),
                             squeeze=False, sharey=True)
    y = {name: i for i, name in enumerate(names)}
    for row, k in enumerate(levels):
        at = speedups[speedups["k"] == k]
        for col, (metric, title) in enumerate((("speedup", f"speed-up, 1 -> {k} CPUs"),
                                               ("busy_k", f"server CPUs busy on {k} CPUs"))):
            ax = axes[row][col]
            edge = k + 0.5  # beyond it, a value is drawn at the edge as a '>'
            for endpoint, offload, colour, marker in SERIES:
                mine = at[(at["endpoint"] == endpoint) & (at["offload"] == offload)]
                mine = mine.dropna(subset=[metric])
                ys = [y[(str(t), str(v))] for t, v in zip(mine["target"], mine["variant"],
                                                          strict=True)]
                inside = (mine[metric] <= edge).tolist()
                style = {"color": colour, "s": 34, "zorder": 3, "linewidths": 0.6,
                         "edgecolors": "black" if offload else "none"}
                ax.scatter(mine[metric][inside], [v for v, i in zip(ys, inside, strict=True)
                                                  if i], marker=marker,
                           label=f"{endpoint} {mode(offload)}", **style)
                ax.scatter([edge] * (len(ys) - sum(inside)),
                           [v for v, i in zip(ys, inside, strict=True) if not i], marker=">",
                           **style)
            for x, style, text in ((1, ":", "1 CPU's worth"), (k, "--", f"ideal ({k})")):
                ax.axvline(x, color="black", linestyle=style, linewidth=1, label=text)
            ax.set_xlim(0, k + 0.6)
            ax.set_title(title)
            ax.set_xlabel("goodput on k CPUs / on 1 CPU" if col == 0 else
                          "server CPU-seconds per second")
        axes[row][0].set_yticks(range(len(names)), [label(*name) for name in names])
    axes[0][0].invert_yaxis()
    axes[0][1].legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    fig.suptitle("Who turns more CPUs into throughput?")
    fig.tight_layout()
    k = levels[-1]
    at = speedups[speedups["k"] == k].dropna(subset=["speedup"])
    best = at.loc[at["speedup"].idxmax()] if not at.empty else None
    alt = (f"Dot plots, one row per target: left, the speed-up from 1 to {k} CPUs of /work "
           f"and /hash, inline (no outline) and offloaded (outlined), against dotted 1 and "
           f"dashed ideal {k}; right, the CPUs the server kept busy.")
    if best is not None:
        alt += (f" The highest was {best['target']} {best['endpoint']} {mode(best['offload'])} "
                f"at {best['speedup']:.2f}x.")
    return Figure("Speed-up from more CPUs", embed(fig), alt,
                  "Speed-up: work done per second on k CPUs over on 1 CPU (the same requests "
                  "at both), medians over repetitions; a '>' at the right edge is beyond the "
                  "axis (see the table). CPUs busy: the server's CPU time during the closed "
                  "loop over its length.")
