"""Readiness figures: CPU per /ping and p99 against idle connections; memory per idle
connection; /ping beside slow clients; the reactors' counters per large request."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.ticker import FuncFormatter, NullLocator

from analysis.content import label
from analysis.palette import FAMILIES, Figure, Style, embed, family, setup
from analysis.plots import minor_ms
from analysis.stats import fmt
from lab.experiments.readiness.summary import COUNTERS, size

CURVES = (("cpu_per_request", "server CPU per /ping (µs, log scale)", "us"),
          ("latency_p99", "/ping p99 from intended send (ms, log scale)", "ms"))
FAILED = "none answered (drawn at the top)"


def _n_axis(ax: plt.Axes, levels: list[int]) -> None:
    """Idle connections on a log axis that also shows 0 (linear below the first level)."""
    first = min((n for n in levels if n > 0), default=100)
    ax.set_xscale("symlog", linthresh=first, linscale=0.6)
    ax.xaxis.set_minor_locator(NullLocator())
    ticks: list[int] = []
    for n in sorted(levels):  # a limit next to a level (1,024 by 1,000) would overprint it
        if not ticks or n >= 1.5 * ticks[-1]:
            ticks.append(n)
    ax.set_xticks(ticks)
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x:,.0f}"))
    ax.set_xlabel("idle connections (log scale above the first level)")


def idle_figure(wide: pd.DataFrame, primary: set[tuple[str, str]],
                palette: dict[str, Style]) -> Figure | None:
    """Rows: CPU per /ping and p99; columns: Python models and other runtimes."""
    rows = wide[[(t, v) in primary for t, v in zip(wide["target"], wide["variant"],
                                                    strict=True)]] if not wide.empty else wide
    if rows.empty or "sent" not in rows:
        return None
    rows = rows[rows["sent"].notna()]
    setup()
    present = [(key, title) for key, title in FAMILIES
               if any(family(t) == key for t in rows["target"])]
    levels = sorted({int(n) for n in rows["idle"]})
    fig, axes = plt.subplots(len(CURVES), len(present), squeeze=False,
                             figsize=(5.6 * len(present), 6.4))
    for col, (key, title) in enumerate(present):
        mine = rows[rows["target"].map(family) == key]
        for row_index, (metric, ylabel, unit) in enumerate(CURVES):
            ax = axes[row_index][col]
            top = _finite_max(rows, metric)
            failed = False
            for target, group in mine.groupby("target", sort=True):
                style = palette[target]
                values = group[["idle", metric]].dropna()
                finite = values[values[metric].map(math.isfinite)]
                ax.plot(finite["idle"], finite[metric], color=style.color, marker=style.marker,
                        markersize=5, linewidth=1.4, label=label(target))
                dead = values[~values[metric].map(math.isfinite)]
                if not dead.empty and top:
                    failed = True
                    ax.scatter(dead["idle"], [top * 1.6] * len(dead), marker="x", s=80,
                               color=style.color, linewidths=2, zorder=5)
            _n_axis(ax, levels)
            ax.set_yscale("log")
            ax.yaxis.set_major_formatter(FuncFormatter(lambda y, _, u=unit: fmt(y, u)))
            ax.yaxis.set_minor_formatter(FuncFormatter(minor_ms))  # 2s and 5s only
            ax.set_ylabel(ylabel)
            ax.set_title(f"{title}: {'CPU per /ping' if unit == 'us' else '/ping p99'}")
            if failed:
                ax.axhline(top * 1.6, color="#B71C1C", linewidth=0.6, linestyle=":")
                ax.text(0.99, 0.98, "x: " + FAILED, transform=ax.transAxes, va="top",
                        ha="right", fontsize=7, color="#B71C1C")
    fig.tight_layout()
    for col in range(len(present)):  # below each column; the saved image takes them in
        axes[0][col].legend(*axes[0][col].get_legend_handles_labels(), loc="upper center",
                            bbox_to_anchor=(0.5, -0.2), ncol=2, fontsize=7, frameon=False,
                            bbox_transform=axes[-1][col].transAxes)
    names = ", ".join(sorted({label(t) for t in rows["target"]}))
    return Figure(
        "Idle connections: CPU per request and p99", embed(fig),
        f"Line charts, x = idle keep-alive connections held open (0 to {max(levels):,}, log "
        f"scale), one line per target ({names}); top row: the server's CPU time per /ping in "
        "µs, bottom row: /ping p99 latency in ms, both on log scales; left: Python models, "
        "right: other runtimes. An x at the top marks a level at which no /ping was "
        "answered (a pool whose workers the idle connections hold, select past FD_SETSIZE).",
        "Medians over repetitions. CPU per /ping = the server's CPU over the stream's window "
        "/ the /pings answered in it; a flat line is a wait that costs nothing per idle "
        "connection (epoll), a rising one a wait that scans them all (select, poll).")


def _finite_max(rows: pd.DataFrame, metric: str) -> float | None:
    if metric not in rows:
        return None
    values = [v for v in rows[metric].dropna() if math.isfinite(v)]
    return max(values) if values else None


def memory_figure(summary: pd.DataFrame, palette: dict[str, Style]) -> Figure | None:
    """Horizontal bars: memory per idle connection per target, log scale."""
    if summary.empty:
        return None
    rows = summary.dropna(subset=["memory_per_connection"]).sort_values("memory_per_connection")
    rows = rows[rows["memory_per_connection"] > 0]
    if rows.empty:
        return None
    setup()
    fig, ax = plt.subplots(figsize=(7.5, 1.2 + 0.3 * len(rows)))
    y = list(range(len(rows)))
    ax.barh(y, rows["memory_per_connection"], color=[palette[t].color for t in rows["target"]])
    for i, v in zip(y, rows["memory_per_connection"], strict=True):
        ax.text(v * 1.08, i, size(v), va="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_yticks(y, [label(t) for t in rows["target"]])
    low, high = rows["memory_per_connection"].min(), rows["memory_per_connection"].max() * 6
    ax.set_xticks([4**k for k in range(3, 13) if low / 4 <= 4**k <= high])  # 64 B ... 4 MB
    ax.xaxis.set_minor_locator(NullLocator())
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: size(x)))
    ax.set_xlabel("memory per idle connection (log scale)")
    ax.set_title("What one idle connection costs in memory")
    ax.set_xlim(low / 2, high)
    fig.tight_layout()
    values = ", ".join(f"{label(t)} {size(v)}" for t, v in zip(
        rows["target"][::-1], rows["memory_per_connection"][::-1], strict=True))
    return Figure(
        "Memory per idle connection", embed(fig),
        f"Horizontal bar chart, one bar per target ({len(rows)}), length = bytes of memory "
        f"per idle connection on a log scale, largest at the top: {values}.",
        "The slope of the server's anonymous resident memory (every process; shared pages "
        "counted once) over the connections held at each level, least squares. Pools "
        "start their workers in advance: their cost is at zero connections (tables).")


def slow_figure(slow: pd.DataFrame) -> Figure | None:
    """Dot plot: /ping p99 with the slow clients vs with no idle connection, per target."""
    if slow.empty:
        return None
    rows = slow.sort_values(["share", "p99"], ascending=[False, True])
    setup()
    fig, ax = plt.subplots(figsize=(7.5, 1.4 + 0.3 * len(rows)))
    y = list(range(len(rows)))
    finite = [v for v in [*rows["p99"], *rows["p99_alone"]] if v is not None and
              not pd.isna(v) and math.isfinite(v)]
    top = max(finite, default=1.0) * 3
    ax.scatter(rows["p99_alone"], y, marker="o", color="#546E7A", label="no idle connection",
               zorder=3)
    p99 = [v if v is not None and math.isfinite(v) else math.nan for v in rows["p99"]]
    ax.scatter(p99, y, marker="s", color="#C62828", label=f"beside {int(rows['slow'].max())} "
               "slow clients", zorder=3)
    dead = [i for i, v in zip(y, rows["p99"], strict=True) if v is None or not math.isfinite(v)]
    ax.scatter([top] * len(dead), dead, marker="x", s=80, color="#B71C1C", linewidths=2,
               label="/pings failed (p99 infinite)", zorder=4)
    for i, (share, verdict) in enumerate(zip(rows["share"], rows["verdict"], strict=True)):
        ax.text(top * 1.5, i, f"{verdict} ({share:.0%})" if share is not None else verdict,
                va="center", fontsize=7)
    ax.set_xscale("log")
    ax.set_xlim(right=top * 8)
    ax.set_yticks(y, [label(t, v) for t, v in zip(rows["target"], rows["variant"],
                                                  strict=True)])
    ax.invert_yaxis()
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: fmt(x, "ms")))
    ax.set_xlabel("/ping p99 latency (ms, log scale)")
    ax.set_title("Who keeps serving while slow clients trickle their requests?")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=3, frameon=False,
              fontsize=8)
    fig.tight_layout()
    stalled = ", ".join(label(t, v) for t, v, s in zip(
        rows["target"], rows["variant"], rows["verdict"], strict=True) if s == "stalled")
    return Figure(
        "Slow clients", embed(fig),
        f"Dot plot, one row per target and variant: /ping p99 in ms (log scale) with no idle "
        f"connection (circles) and beside {int(rows['slow'].max())} slowloris clients "
        f"(squares; an x at the right when /pings failed), with the share of /pings "
        f"answered. Stalled: {stalled or 'none'}.",
        "Each slow client sends its request head one byte every 100 ms and never ends it; "
        "one the server closes connects again.")


def counters_figure(counters: pd.DataFrame) -> Figure | None:
    """Grouped bars: waits, events, reads and empty reads per large request, per reactor."""
    rows = counters.dropna(subset=["reads"]) if not counters.empty else counters
    if rows.empty:
        return None
    setup()
    fig, ax = plt.subplots(figsize=(max(8.0, 1.8 * len(rows)), 3.6))
    colours = ("#546E7A", "#90A4AE", "#1565C0", "#E65100")
    width = 0.8 / len(COUNTERS)
    names = [label(t, v) for t, v in zip(rows["target"], rows["variant"], strict=True)]
    for k, (name, colour) in enumerate(zip(COUNTERS, colours, strict=True)):
        xs = [i + (k - 1.5) * width for i in range(len(rows))]
        bars = ax.bar(xs, rows[name].fillna(0), width, color=colour,
                      label={"eagain": "reads finding nothing (EAGAIN)"}.get(name, name))
        ax.bar_label(bars, fmt="%.1f", fontsize=6, padding=1)
    ax.set_xticks(range(len(rows)), [
        f"{name}\nanswered {fmt(ok)} of {fmt(sent)}"
        for name, ok, sent in zip(names, rows["ok"], rows["sent"], strict=True)], fontsize=7)
    ax.set_ylabel("per request")
    head = int(rows["head_bytes"].iloc[0])
    ax.set_title(f"Level vs edge: what one {head:,}-byte request costs the reactor")
    ax.legend(fontsize=7, ncol=4, loc="upper center", bbox_to_anchor=(0.5, -0.22),
              frameon=False)
    fig.tight_layout()
    return Figure(
        "Level vs edge triggered", embed(fig),
        f"Grouped bar chart, one group per reactor ({', '.join(names)}): readiness waits, "
        f"descriptors reported ready, recv() calls and recv() calls that found nothing, "
        f"each per {head:,}-byte request sent (larger than the reactors' 4 KiB read), with "
        f"how many requests were answered.",
        "From the counters each Python reactor reports in /info, before and after the "
        "stream. Level-triggered: the wait reports the socket again for the rest of the "
        "request; edge-triggered: once, so the reactor reads until the socket is empty.")
