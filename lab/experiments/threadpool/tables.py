"""Threadpool table: every burst, measured beside the fair-share theory."""

from __future__ import annotations

import pandas as pd

from analysis.tables import Table, num, text
from lab.experiments.threadpool.bursts import pool_label


def burst_table(bursts: pd.DataFrame) -> Table:
    table = Table("Bursts per target, CPUs and pool size (ms; theory = fair share)",
                  ["target", "CPUs", "pool", "1 request alone", "t (CPU)", "first", "p50",
                   "mean", "max", "theory first", "theory p50", "theory max", "mean / theory",
                   "generator's share", "n", "flags"],
                  [False, True, False, *[True] * 12, False])
    for _, row in bursts.sort_values(["target", "cpus", "pool"]).iterrows():
        share = row["generator_share"]
        table.rows.append([
            text(row["target"]), num(row["cpus"]), text(pool_label(row["pool"], row["pool_knob"])),
            num(row["single_ms"], "ms"), num(row["t_ms"], "ms"),
            *[num(row[c], "ms") for c in ("first", "p50", "mean", "max", "theory_first",
                                          "theory_p50", "theory_max")],
            num(row["ratio"], "ratio"),
            text(f"{share:.1%}" if pd.notna(share) else "n/a"), num(row["n"]),
            text(row["flags"] or "-")])
    return table
