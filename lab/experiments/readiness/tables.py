"""Readiness tables: per target at N = 0 and the largest N; every level; slow clients; the
reactors' counters."""

from __future__ import annotations

import math

import pandas as pd

from analysis.content import label
from analysis.tables import Cell, Table, num, text
from lab.experiments.readiness.summary import COUNTERS, size


def _bytes_cell(value: object) -> Cell:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell("n/a", "")
    return Cell(size(float(value)), float(value))


def _latency(p99: object, ok: object = None, sent: object = None) -> Cell:
    if isinstance(p99, float) and math.isinf(p99):
        said = f"none of {sent:,.0f} answered" if ok == 0 and sent else "some failed"
        return Cell(f"∞ ({said})", 1e12)
    return num(p99, "ms")


def idle_table(summary: pd.DataFrame) -> Table:
    table = Table(
        "Idle connections per target: CPU per /ping and p99 with none and with the most, "
        "memory per connection",
        ["target", "CPU/ping at 0 (µs)", "largest N", "CPU/ping there (µs)",
         "µs per 1,000 idle", "growth", "p99 at 0 (ms)", "p99 at largest N", "memory at 0",
         "memory per idle conn.", "all open at end", "capped"],
        [False, True, True, True, True, False, True, True, True, True, False, False])
    for _, row in summary.iterrows():
        cap = row["cap"]
        table.rows.append([
            text(label(row["target"], row["variant"])), num(row["cpu0"]),
            num(row["n_max"]), num(row["cpu_n"]), num(row["slope_per_1000"]),
            text(f"{row['verdict']} (x{row['growth']:.2f})" if row["growth"] is not None
                 and not pd.isna(row["growth"]) else row["verdict"]),
            num(row["p99_0"], "ms"), _latency(row["p99_n"], row["ok_n"], row["sent_n"]),
            _bytes_cell(row["memory0"]), _bytes_cell(row["memory_per_connection"]),
            text({True: "yes", False: "no"}.get(row["all_open"], "n/a")),
            text(f"at {cap.connections:,}: {cap.reason}" if cap else "-")])
    return table


def level_table(wide: pd.DataFrame) -> Table:
    table = Table(
        "Every level: /ping latency, server CPU, memory and descriptors with N idle connections",
        ["target", "idle N", "CPU/ping (µs)", "p50 (ms)", "p99 (ms)", "answered", "memory",
         "descriptors", "open at end", "set-up (s)", "closing (s)", "flags"],
        [False, True, True, True, True, True, True, True, True, True, True, False])
    for _, row in wide.iterrows():
        get = row.get
        if get("sent") is None or pd.isna(get("sent")):
            capped = next((m for m in ("capped_memory", "capped_descriptors")
                           if get(m) is not None and not pd.isna(get(m))), None)
            table.rows.append([text(label(row["target"], row["variant"])), num(row["idle"]),
                               *[text("-")] * 9,
                               text(f"not run: {capped.replace('_', ' ')}" if capped
                                    else row["flags"] or "-")])
            continue
        table.rows.append([
            text(label(row["target"], row["variant"])), num(row["idle"]),
            num(get("cpu_per_request")), _latency(get("latency_p50")),
            _latency(get("latency_p99"), get("ok"), get("sent")),
            text(f"{get('ok'):,.0f} of {get('sent'):,.0f}"), _bytes_cell(get("memory")),
            num(get("descriptors")), num(get("idle_open_at_end")), num(get("idle_setup_s"), "s"),
            num(get("close_s"), "s"), text(row["flags"] or "-")])
    return table


def slow_table(slow: pd.DataFrame) -> Table:
    table = Table("/ping beside slowloris clients",
                  ["target", "slow clients", "answered", "verdict", "p99 (ms)",
                   "p99 alone (ms)", "slow clients closed by the server", "their answers",
                   "flags"],
                  [False, True, False, False, True, True, True, False, False])
    for _, row in slow.iterrows():
        answers = ", ".join(f"{n:,.0f}x {status}" for status, n in sorted(row["statuses"].items()))
        table.rows.append([
            text(label(row["target"], row["variant"])), num(row["slow"]),
            text(f"{row['ok']:,.0f} of {row['sent']:,.0f}"), text(row["verdict"]),
            _latency(row["p99"], row["ok"], row["sent"]), num(row["p99_alone"], "ms"),
            num(row["closed_by_server"]), text(answers or "-"), text(row["flags"] or "-")])
    return table


def counters_table(counters: pd.DataFrame) -> Table:
    table = Table("Requests larger than one read: answered, and the reactor's work per request",
                  ["target", "head (bytes)", "answered", "p99 (ms)", "waits", "events",
                   "reads", "reads finding nothing (EAGAIN)"],
                  [False, True, False, True, True, True, True, True])
    for _, row in counters.iterrows():
        table.rows.append([
            text(label(row["target"], row["variant"])), num(row["head_bytes"]),
            text(f"{row['ok']:,.0f} of {row['sent']:,.0f}"),
            _latency(row["p99"], row["ok"], row["sent"]),
            *[num(row[name], "ratio") for name in COUNTERS]])
    return table
