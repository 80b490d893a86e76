"""The blocking tables: verdicts, and /ping percentiles per phase."""

from __future__ import annotations

import pandas as pd

from analysis.content import label
from analysis.stats import interval_text, select
from analysis.tables import Cell, Table, num, text
from lab.experiments.blocking.verdicts import blocking_verdicts


def verdict_table(agg: pd.DataFrame) -> Table:
    table = Table("Blocking verdicts: /ping p99 with /cpu bursts vs a fully blocked loop",
                  ["target", "phase", "p99, no /cpu (ms)", "p99 (ms)", "executors k",
                   "theory, k (ms)", "theory, 1 loop (ms)", "share", "verdict", "n", "flags"],
                  [False, False, True, True, True, True, True, True, False, True, False])
    verdicts = blocking_verdicts(agg)
    for _, row in verdicts.iterrows():
        executors = row["executors"]
        table.rows.append([
            text(label(row["target"], row["variant"])), text(row["phase"]),
            num(row["baseline_p99"], "ms"), num(row["p99"], "ms"),
            num(executors) if executors is not None and not pd.isna(executors)
            else Cell("per connection", 1e12),
            num(row["theory_p99"], "ms"), num(row["blocked_p99"], "ms"),
            num(row["share"], "ratio"), text(row["verdict"]), num(row["n"]),
            text(row["flags"] or "-")])
    return table


def ping_table(agg: pd.DataFrame) -> Table:
    metrics = ("latency_p50", "latency_p90", "latency_p99", "latency_p99_9", "latency_max")
    table = Table("/ping latency from intended send time (ms), per phase",
                  ["target", "phase", "p50", "p90", "p99", "p99 interval", "p99.9", "max", "sent",
                   "errors", "n", "flags"],
                  [False, False, True, True, True, False, True, True, True, True, True, False])
    ping = select(agg, stream="ping")
    for (target, variant, phase), group in ping.groupby(["target", "variant", "phase"],
                                                        sort=True):
        cells = [text(label(target, variant)), text(phase)]
        for metric in (*metrics, "sent", "errors"):
            found = group[group["metric"] == metric]
            cells.append(num(found["median"].iloc[0] if not found.empty else None,
                             "ms" if metric.startswith("latency") else ""))
            if metric == "latency_p99":
                cells.append(text(interval_text(found.iloc[0], "ms") if not found.empty
                                  else "-"))
        flags = ";".join(sorted({f for fl in group["flags"] for f in fl.split(";") if f}))
        table.rows.append([*cells, num(group["n"].max()), text(flags or "-")])
    return table
