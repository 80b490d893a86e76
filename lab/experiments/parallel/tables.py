"""Parallel tables: the speed-ups with what the facts predicted, and the knobs per CPU set."""

from __future__ import annotations

import pandas as pd

from analysis.content import label
from analysis.tables import Table, num, text
from lab.experiments.parallel.speedups import mode


def speedup_table(speedups: pd.DataFrame) -> Table:
    table = Table("Speed-up per target, request and CPU level",
                  ["target", "request", "size", "1 request (ms)", "k", "goodput 1 CPU (req/s)",
                   "goodput k CPUs (req/s)", "speed-up", "predicted", "verdict",
                   "CPUs busy (1 / k)", "generator's share of a CPU", "n"],
                  [False, False, True, True, True, True, True, True, True, False, False, True,
                   True])
    for _, row in speedups.sort_values(["target", "variant", "endpoint", "offload",
                                        "k"]).iterrows():
        busy = f"{_f(row['busy_1'])} / {_f(row['busy_k'])}"
        share = (f"{row['generator_share_k']:.1%}" if pd.notna(row["generator_share_k"])
                 else "n/a")
        if row["refused"]:
            share += f" ({row['refused']} refused)"
        table.rows.append([
            text(label(row["target"], row["variant"])),
            text(f"{row['endpoint']} {mode(row['offload'])}"
                 + (" (counted)" if row["counted"] else "")), num(row["size"]),
            num(row["single_ms"], "ms"), num(row["k"]), num(row["goodput_1"]),
            num(row["goodput_k"]), num(row["speedup"], "ratio"), num(row["expected"], "ratio"),
            text(row["verdict"] + (" (disturbed)" if row["disturbed"] else "")
                 + (" (unequal work)" if row["unequal"] else "")), text(busy),
            text(share), num(row["n"])])
    return table


def knob_table(speedups: pd.DataFrame) -> Table:
    table = Table("Knobs in effect per CPU set (from each server's /info)",
                  ["target", "k", "on 1 CPU", "on k CPUs"], [False, True, False, False])
    for (target, k), rows in speedups.groupby(["target", "k"], sort=True):
        first = rows.iloc[0]
        table.rows.append([text(str(target)), num(k), text(_knobs(first["knobs_1"])),
                           text(_knobs(first["knobs_k"]))])
    return table


def _knobs(knobs: dict[str, int]) -> str:
    return ", ".join(f"{k}={v}" for k, v in sorted(knobs.items())) or "none"


def _f(value: object) -> str:
    return "n/a" if value is None or pd.isna(value) else f"{float(value):.2f}"
