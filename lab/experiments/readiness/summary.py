"""What the readiness measurements say, computed: per target, the cost of idle connections
(CPU per /ping and p99 against N, the slope per 1,000, memory per connection, where it was
capped), the slowloris outcome, and the reactors' counters per request. Pure pandas on the
aggregate of the tidy table (medians over repetitions); the prose is findings.py's.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis.load import RunData
from analysis.stats import aggregate, primary_variants, select, value

# CPU per /ping at the largest N over at N = 0: at least GROWS is growth, under FLAT flat
# (a shared machine moves a ratio of two medians by some 20 %; select and poll at 1,000 idle
# connections are 3 to 4 times their cost at none).
GROWS, FLAT = 2.0, 1.3
GROWTH = ("grows", "slight", "flat")
GROWTH_RULE = (f"growth = CPU per /ping at the largest N measured / at N = 0: >= {GROWS:g} "
               f"grows, < {FLAT:g} flat, between: slight")
# Memory per idle connection: up to SMALL good (a socket object and a buffer), up to LARGE
# mixed (a goroutine's or a thread's stack, a runtime's buffers), over it bad (a process).
SMALL, LARGE = 8 * 1024, 64 * 1024
MEMORY_RULE = (f"memory per idle connection (slope over the levels): under {SMALL // 1024} "
               f"KB good, up to {LARGE // 1024} KB mixed, more bad")
# Slowloris: the share of /pings answered beside the slow clients.
SERVED, STALLED = 0.99, 0.1
SLOW_RULE = (f"share of /pings answered beside the slow clients: >= {SERVED:.0%} served, "
             f"under {STALLED:.0%} stalled, between: partly")
COUNTERS = ("waits", "events", "reads", "eagain")


def table(run: RunData) -> pd.DataFrame:
    return aggregate(run.table("readiness"))


@dataclass(frozen=True)
class Cap:
    connections: int
    reason: str


def _number(x: object) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def levels(agg: pd.DataFrame) -> pd.DataFrame:
    """One row per target x variant x idle level: the idle part's metrics, side by side."""
    idle = select(agg, part="idle")
    if idle.empty:
        return pd.DataFrame()
    wide = idle.pivot_table(index=["target", "variant", "idle"], columns="metric",
                            values="median", aggfunc="first").reset_index()
    flags = idle.groupby(["target", "variant", "idle"])["flags"].agg(
        lambda f: ";".join(sorted({x for v in f for x in str(v).split(";") if x})))
    wide = wide.merge(flags.reset_index(), on=["target", "variant", "idle"], how="left")
    wide["idle"] = wide["idle"].astype(int)
    return wide.sort_values(["target", "variant", "idle"]).reset_index(drop=True)


def _slope(x: pd.Series, y: pd.Series) -> float | None:
    """Least-squares slope of y over x (None with fewer than two distinct x)."""
    ok = x.notna() & y.notna() & np.isfinite(y.astype(float))
    x, y = x[ok].astype(float), y[ok].astype(float)
    if x.nunique() < 2:
        return None
    return float(np.polyfit(x, y, 1)[0])


def cap_of(run: RunData, target: str, rows: pd.DataFrame, knobs: str) -> Cap | None:
    """Where the target's levels stopped, and why: its model's limit (runtime.toml), its
    pool, or a level the measurement refused (descriptors, memory)."""
    limit = run.fact(target, "max_connections")
    if limit is not None and int(limit) in set(rows["idle"]):
        return Cap(int(limit), str(run.fact(target, "max_connections_reason", "") or
                                   "its model's limit (runtime.toml max_connections)"))
    pool = run.fact(target, "pool_knob")
    workers = json.loads(knobs).get(pool) if pool else None
    if workers is not None and int(workers) in set(rows["idle"]):
        return Cap(int(workers), f"{pool}={workers}: each worker owns one connection")
    for metric, why in (("capped_memory", "the memory projected for the next level is over "
                                          "the budget"),
                        ("capped_descriptors", "the next level needs more descriptors than "
                                               "the server may open")):
        if metric in rows and rows[metric].notna().any():
            measured = rows.loc[rows[metric].isna(), "idle"]
            first = rows.loc[rows[metric].notna()].iloc[0]
            amount = (f"{first[metric] / 1024**3:.1f} GB" if metric == "capped_memory"
                      else f"{first[metric]:,.0f} descriptors")
            return Cap(int(measured.max()) if not measured.empty else 0,
                       f"{why}: {int(first['idle']):,} would need {amount}")
    return None


def idle_summary(run: RunData, agg: pd.DataFrame) -> pd.DataFrame:
    """Per target (its main variant): CPU per /ping and p99 at N = 0 and at the largest N,
    the slope per 1,000 idle connections, growth, memory per connection, the cap."""
    wide = levels(agg)
    if wide.empty:
        return pd.DataFrame()
    primary = primary_variants(wide)
    knobs = {(t, v): k for t, v, k in zip(agg["target"], agg["variant"], agg["knobs"],
                                           strict=True)}
    out = []
    for (target, variant), rows in wide.groupby(["target", "variant"], sort=True):
        if (target, variant) not in primary:
            continue
        ran = rows[rows["sent"].notna()] if "sent" in rows else rows.iloc[0:0]
        cpu = ran[ran["cpu_per_request"].notna()] if "cpu_per_request" in ran else ran.iloc[0:0]
        base = ran[ran["idle"] == 0]
        top = ran.iloc[-1] if not ran.empty else None
        cpu0 = _number(base["cpu_per_request"].iloc[0]) if not base.empty else None
        cpu_top = cpu.iloc[-1] if not cpu.empty else None
        cpu_n = _number(cpu_top["cpu_per_request"]) if cpu_top is not None else None
        held = ran["idle_opened"] if "idle_opened" in ran else ran["idle"]
        slope = _slope(cpu["idle"], cpu["cpu_per_request"]) if not cpu.empty else None
        ratio = cpu_n / cpu0 if cpu0 and cpu_n is not None and cpu_top["idle"] > 0 else None
        cap = cap_of(run, target, rows, knobs.get((target, variant), "{}"))
        out.append({
            "target": target, "variant": variant,
            "cpu0": cpu0, "cpu_n": cpu_n,
            "cpu_at": int(cpu_top["idle"]) if cpu_top is not None else None,
            "slope_per_1000": slope * 1000 if slope is not None else None,
            "growth": ratio, "verdict": growth(ratio),
            "p99_0": _number(base["latency_p99"].iloc[0]) if not base.empty else None,
            "p99_n": _number(top["latency_p99"]) if top is not None else None,
            "n_max": int(top["idle"]) if top is not None else None,
            "ok_n": _number(top.get("ok")) if top is not None else None,
            "sent_n": _number(top.get("sent")) if top is not None else None,
            "memory0": _number(base["memory"].iloc[0]) if not base.empty and "memory" in base
            else None,
            "memory_per_connection": _slope(held, ran["memory"]) if "memory" in ran else None,
            "all_open": bool((ran["idle_open_at_end"] >= ran["idle"]).all())
            if "idle_open_at_end" in ran else None,
            "cap": cap,
        })
    return pd.DataFrame(out)


def size(x: float) -> str:
    """Bytes as people read them: 512 B, 23.4 KB, 1.46 MB."""
    for unit, scale in (("GB", 1024**3), ("MB", 1024**2), ("KB", 1024)):
        if abs(x) >= scale:
            return f"{x / scale:.3g} {unit}"
    return f"{x:.0f} B"


def growth(ratio: float | None) -> str:
    if ratio is None or math.isnan(ratio):
        return "n/a"
    return "grows" if ratio >= GROWS else "flat" if ratio < FLAT else "slight"


def memory_level(per_connection: float | None) -> str:
    if per_connection is None or math.isnan(per_connection):
        return "none"
    return "good" if per_connection < SMALL else "mixed" if per_connection < LARGE else "bad"


def slow_summary(agg: pd.DataFrame) -> pd.DataFrame:
    """Per target x variant: /pings answered beside the slow clients, p99, the verdict, and
    what became of the slow clients; beside the p99 with no idle connection at all."""
    slow = select(agg, part="slow")
    if slow.empty:
        return pd.DataFrame()
    out = []
    for (target, variant), group in slow.groupby(["target", "variant"], sort=True):
        sent = value(group, stream="ping", metric="sent")
        ok = value(group, stream="ping", metric="ok")
        share = ok / sent if sent else None
        statuses = {m.removeprefix("slow_status_"): v for m, v in
                    zip(group["metric"], group["median"], strict=True)
                    if m.startswith("slow_status_")}
        base = select(agg, target=target, part="idle", idle=0.0, stream="ping",
                      metric="latency_p99")
        out.append({
            "target": target, "variant": variant, "slow": int(group["slow"].iloc[0]),
            "sent": sent, "ok": ok, "share": share,
            "verdict": "n/a" if share is None else "served" if share >= SERVED
            else "stalled" if share < STALLED else "partly",
            "p99": value(group, stream="ping", metric="latency_p99"),
            "p99_alone": float(base["median"].min()) if not base.empty else None,
            "closed_by_server": value(group, metric="slow_closed_by_server"),
            "statuses": statuses,
            "flags": ";".join(sorted({f for fl in group["flags"] for f in fl.split(";") if f})),
        })
    return pd.DataFrame(out)


def counters(agg: pd.DataFrame) -> pd.DataFrame:
    """Per target x variant, on requests larger than one read: answered, and the reactor's
    waits, events, reads and empty reads per request (where it reports them)."""
    large = select(agg, part="large")
    if large.empty:
        return pd.DataFrame()
    out = []
    for (target, variant), group in large.groupby(["target", "variant"], sort=True):
        row = {"target": target, "variant": variant,
               "head_bytes": int(group["head_bytes"].iloc[0]),
               "sent": value(group, stream="large", metric="sent"),
               "ok": value(group, stream="large", metric="ok"),
               "p99": value(group, stream="large", metric="latency_p99")}
        for name in COUNTERS:
            row[name] = value(group, metric=f"{name}_per_request")
        out.append(row)
    return pd.DataFrame(out)
