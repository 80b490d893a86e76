"""The sweep's table: medians per target, endpoint and connections."""

from __future__ import annotations

import pandas as pd

from analysis.content import label
from analysis.stats import interval_text, select
from analysis.tables import Table, num, text


def sweep_table(agg: pd.DataFrame) -> Table:
    metrics = (("requests_per_s", "req/s", ""), ("latency_p50", "p50 (ms)", "ms"),
               ("latency_p99", "p99 (ms)", "ms"), ("errors", "errors", ""),
               ("requests_per_cpu_s", "req/CPU-s", ""))
    table = Table("Sweep medians per target, endpoint and connections",
                  ["target", "endpoint", "connections", *[m[1] for m in metrics],
                   "req/s interval", "n", "flags"],
                  [False, False, True, *[True] * len(metrics), False, True, False])
    rates = agg[agg["metric"] == "requests_per_s"]
    for _, rate in rates.sort_values(["target", "variant", "endpoint", "connections"]).iterrows():
        point = select(agg, target=rate["target"], variant=rate["variant"],
                       endpoint=rate["endpoint"], connections=rate["connections"])
        cells = [text(label(rate["target"], rate["variant"])), text(rate["endpoint"]),
                 num(rate["connections"])]
        for metric, _, unit in metrics:
            found = point[point["metric"] == metric]
            cells.append(num(found["median"].iloc[0] if not found.empty else None, unit))
        spread = interval_text(rate)
        flags = ";".join(sorted({f for fl in point["flags"] for f in fl.split(";") if f}))
        table.rows.append([*cells, text(spread), num(rate["n"]), text(flags or "-")])
    return table
