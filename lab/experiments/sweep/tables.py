"""The sweep's tables: closed-loop medians per target, endpoint and connections; the open
loop's latency per offered load."""

from __future__ import annotations

import pandas as pd

from analysis.content import label
from analysis.stats import interval_text, select
from analysis.tables import Cell, Table, num, text

CLOSED = (("goodput_per_s", "goodput (2xx/s)", ""),
          ("connections_never_served", "never served", ""),
          ("accept_queue", "in accept queue", ""),
          ("listen_drops", "kernel drops", ""), ("setup_s", "set-up (s)", "s"),
          ("latency_mean", "mean (ms, Little)", "ms"), ("errors", "errors", ""),
          ("non_2xx", "non-2xx", ""), ("requests_per_cpu_s", "per CPU-s", ""))
OPEN = (("offered_per_s", "offered (/s)", ""), ("achieved", "achieved", "ratio"),
        ("latency_p50", "p50 (ms)", "ms"), ("latency_p90", "p90 (ms)", "ms"),
        ("latency_p99", "p99 (ms)", "ms"), ("latency_p99_9", "p99.9 (ms)", "ms"),
        ("errors", "errors", ""), ("p99_dispatch_lag_ms", "pacer lag p99 (ms)", "ms"))


def _flags(rows: pd.DataFrame) -> str:
    return ";".join(sorted({f for fl in rows["flags"] for f in fl.split(";") if f})) or "-"


def _cells(point: pd.DataFrame, metrics: tuple[tuple[str, str, str], ...]) -> list[Cell]:
    cells = []
    for metric, _, unit in metrics:
        found = point[point["metric"] == metric]
        cells.append(num(found["median"].iloc[0] if not found.empty else None, unit))
    return cells


def sweep_table(closed: pd.DataFrame) -> Table:
    table = Table("Closed loop: medians per target, endpoint and connections",
                  ["target", "endpoint", "connections", *[m[1] for m in CLOSED],
                   "goodput interval", "n", "flags"],
                  [False, False, True, *[True] * len(CLOSED), False, True, False])
    rates = closed[closed["metric"] == "goodput_per_s"]
    for _, rate in rates.sort_values(["target", "variant", "endpoint", "connections"]).iterrows():
        point = select(closed, target=rate["target"], variant=rate["variant"],
                       endpoint=rate["endpoint"], connections=rate["connections"])
        spread = interval_text(rate)
        table.rows.append([text(label(rate["target"], rate["variant"])), text(rate["endpoint"]),
                           num(rate["connections"]), *_cells(point, CLOSED), text(spread),
                           num(rate["n"]), text(_flags(point))])
    return table


def load_table(opened: pd.DataFrame) -> Table:
    table = Table("Open loop: /ping latency from intended send time vs offered load",
                  ["target", "load", *[m[1] for m in OPEN], "flags"],
                  [False, True, *[True] * len(OPEN), False])
    for (target, variant, load), point in opened.groupby(["target", "variant", "load"],
                                                         sort=True):
        table.rows.append([text(label(target, variant)), Cell(f"{load:.0%}", float(load)),
                           *_cells(point, OPEN), text(_flags(point))])
    return table
