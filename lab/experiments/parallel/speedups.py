"""The parallel experiment's numbers, one row per target, endpoint, mode and CPU level k > 1:
goodput on 1 and on k CPUs, the speed-up (the ratio of work done per second, so that a
resumed run whose calibration chose other sizes still compares like with like), what the
target's facts predicted, and what the server and the generator used."""

from __future__ import annotations

import pandas as pd

from analysis.load import RunData
from analysis.stats import aggregate
from lab.cpus import SHARED_CPU_GENERATOR_LIMIT
from lab.experiments.parallel.expected import capacity, expected_speedup, verdict

REFUSED = "generator-heavy"
COUNTED = "counted-goodput"
REFUSED_VERDICT = (f"refused: the load generator took over {SHARED_CPU_GENERATOR_LIMIT:.0%} of "
                   "the CPU it shared with the server")
# Flags that say other processes took CPU from the server: this experiment's own, and the
# framework's noise flag where the run has one.
DISTURBED = ("cpu-starved", "noisy")
# A request that cost the server this much more CPU on one CPU set than on the other was
# not the same work (a JIT compiler still compiling it, on one CPU more slowly).
UNEQUAL_COST = 1.3
KEYS = ["target", "variant", "endpoint", "offload"]
FACTS = ("executors", "kind", "offload_pools", "mechanism")


def facts(run: RunData, target: str) -> dict[str, object]:
    return {name: run.fact(target, name) for name in FACTS}


def _medians(rows: pd.DataFrame) -> dict[str, float]:
    return {str(m): float(v) for m, v in zip(rows["metric"], rows["median"], strict=True)
            if not pd.isna(v)}


def _knobs(medians: dict[str, float]) -> dict[str, int]:
    return {m.removeprefix("knob_"): int(v) for m, v in medians.items() if m.startswith("knob_")}


def _work(medians: dict[str, float], counted: bool) -> float | None:
    """Work done per second (requests x size), from the rate or from the count."""
    if not counted:
        return medians.get("work_per_s")
    rate, size = medians.get("counted_per_s"), medians.get("size")
    return rate * size if rate is not None and size is not None else None


def speedup_frame(run: RunData) -> pd.DataFrame:
    frame = run.table("parallel")
    if frame.empty or "cpus" not in frame.columns:
        return pd.DataFrame()
    refused = frame["flags"].astype(str).str.contains(REFUSED, regex=False)
    agg = aggregate(frame)
    kept = aggregate(frame[~refused])  # the goodput of refused points does not count
    refused_points = frame[refused & (frame["metric"] == "goodput_per_s")]
    rows = []
    for key, group in agg.groupby(KEYS, sort=True):
        target, variant, endpoint, offload = key
        levels = {int(k): _medians(g) for k, g in group.groupby("cpus")}
        mine = kept[(kept["target"] == target) & (kept["variant"] == variant)
                    & (kept["endpoint"] == endpoint) & (kept["offload"] == offload)]
        # Rates where every level was in steady state, else counts at every level: the
        # count misses the work in progress at the window's end, and would bias a ratio
        # against a rate.
        counted = mine["flags"].astype(str).str.contains(COUNTED, regex=False).any()
        work = {int(k): _work(_medians(g), counted) for k, g in mine.groupby("cpus")}
        rate = "counted_per_s" if counted else "goodput_per_s"
        base = levels.get(1)
        connections = int(group["connections"].max())
        for k, at in sorted(levels.items()):
            if k == 1:
                continue
            known = facts(run, str(target))
            cap_1 = capacity(known, _knobs(base or {}), str(endpoint), bool(offload),
                             connections)
            cap_k = capacity(known, _knobs(at), str(endpoint), bool(offload), connections)
            ratio = None
            if work.get(1) and work.get(k) is not None:
                ratio = work[k] / work[1]
            predicted = expected_speedup(cap_1, cap_k, k)
            refused_here = refused_points[(refused_points["target"] == target)
                                          & (refused_points["endpoint"] == endpoint)
                                          & (refused_points["offload"] == offload)
                                          & (refused_points["cpus"] == k)]
            rows.append({
                "target": target, "variant": variant, "endpoint": endpoint,
                "offload": int(offload), "k": k, "connections": connections,
                "size": at.get("size"), "single_ms": (base or {}).get("single_ms"),
                "goodput_1": (base or {}).get(rate), "goodput_k": at.get(rate),
                "speedup": ratio,
                "verdict": REFUSED_VERDICT if ratio is None and len(refused_here)
                else verdict(ratio, k),
                "capacity_1": cap_1, "capacity_k": cap_k,
                "expected": predicted, "expected_verdict": verdict(predicted, k),
                "busy_1": (base or {}).get("server_cpus_busy"),
                "busy_k": at.get("server_cpus_busy"),
                "generator_share_k": at.get("generator_share"),
                "fairness_1": (base or {}).get("fairness"), "fairness_k": at.get("fairness"),
                "refused": len(refused_here), "counted": bool(counted),
                "knobs_1": _knobs(base or {}), "knobs_k": _knobs(at),
                "disturbed": any(f in str(flags).split(";") for flags in group["flags"]
                                 for f in DISTURBED),
                "cost_1": (base or {}).get("cpu_per_request_ms"),
                "cost_k": at.get("cpu_per_request_ms"),
                "n": int(group["n"].min())})
    frame = pd.DataFrame(rows)
    if not frame.empty:
        costs = frame[["cost_1", "cost_k"]].astype(float)
        frame["unequal"] = (costs.max(axis=1) > UNEQUAL_COST * costs.min(axis=1)).fillna(False)
    return frame


def judged(speedups: pd.DataFrame) -> pd.Series:
    """Rows whose speed-up means what it says: no disturbance, no refusal, the same work."""
    return ~speedups["disturbed"] & ~speedups["unequal"] & (speedups["refused"] == 0)


def mode(offload: int) -> str:
    return "offload=1" if offload else "inline"


def generator_shares(run: RunData) -> pd.DataFrame:
    """The generator's share of a core at every point where it shared one with the server."""
    frame = run.table("parallel")
    if frame.empty or "shared_cpus" not in frame.columns:
        return pd.DataFrame()
    return frame[(frame["metric"] == "generator_share") & (frame["shared_cpus"] > 0)]
