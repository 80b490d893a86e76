"""Findings: short sentences whose every number comes from the aggregated data.

Each Finding keeps the numbers it quotes (values), so tests can check them against the
results. Blocking verdicts compare the measured /ping p99 with queueing theory for a
fully blocked loop (lab.theory), with the thresholds below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from analysis.stats import fmt, ratio_text, select, sleep_ms, value
from lab.theory import blocked_percentiles

# Verdicts: share = (inline p99 - baseline p99) / p99 of one fully blocked loop.
BLOCKED_SHARE = 0.6   # at least this share of a blocked loop's stall: "behaves like a blocked loop"
ISOLATED_SHARE = 0.15  # below this share: "isolated"; in between: "partly isolated"
BLOCKED, PARTLY, ISOLATED = "behaves like a blocked loop", "partly isolated", "isolated"
VERDICT_RULE = (f"share = (p99 with /cpu - p99 without) / p99 of a single fully blocked loop "
                f"(queueing theory, lab.theory); share >= {BLOCKED_SHARE:g}: {BLOCKED}; "
                f"{ISOLATED_SHARE:g} <= share < {BLOCKED_SHARE:g}: {PARTLY}; "
                f"share < {ISOLATED_SHARE:g}: {ISOLATED}")
PREFERRED_CONNECTIONS = 64
COLLAPSE_SHARE = 0.5   # requests/s below this share of the target's own peak: collapsed
SLEEP_CEILING_SHARE = 0.8


@dataclass(frozen=True)
class Finding:
    experiment: str
    text: str
    kind: str = "result"   # result | note | flag | failure
    values: dict[str, float] = field(default_factory=dict)
    headline: bool = False  # also listed in the report's summary at the top

    def __post_init__(self) -> None:  # plain floats, whatever pandas handed over
        object.__setattr__(self, "values", _floats(self.values))


def _floats(values: dict) -> dict[str, float]:
    return {k: math.nan if v is None else float(v) for k, v in values.items()}


def primary_variants(frame: pd.DataFrame) -> set[tuple[str, str]]:
    """Per target, the variant that stands for it: 'default', else the one with fewest knobs
    (e.g. python/prefork runs only with WORKERS=16 in the blocking experiment)."""
    chosen = set()
    for target, group in frame.groupby("target", sort=True):
        variants = sorted(set(group["variant"].astype(str)),
                          key=lambda v: (v != "default", v.count(","), len(v), v))
        chosen.add((str(target), variants[0]))
    return chosen


def verdict(share: float | None) -> str:
    if share is None or math.isnan(share):
        return "n/a"
    if share >= BLOCKED_SHARE:
        return BLOCKED
    return PARTLY if share >= ISOLATED_SHARE else ISOLATED


# -- blocking -------------------------------------------------------------------------

def _blocked_loop_p99(cpu_ms: float, rate: float) -> float:
    """p99 of the stall a single fully blocked loop would add (NaN if undefined/overloaded)."""
    if not (cpu_ms > 0 and rate > 0):
        return math.nan
    try:
        return blocked_percentiles(cpu_ms, rate, 1, (99,))[99]
    except ValueError:  # bursts arrive faster than one loop runs them: no steady state
        return math.nan


def blocking_verdicts(agg: pd.DataFrame) -> pd.DataFrame:
    """Per target x variant x phase with /cpu (inline, offload): p99s, theory, share, verdict."""
    rows = []
    ping = select(agg, stream="ping")
    for (target, variant), group in ping.groupby(["target", "variant"], sort=True):
        base = value(group, phase="baseline", metric="latency_p99")
        for phase in ("inline", "offload"):
            p99 = value(group, phase=phase, metric="latency_p99")
            phase_rows = select(group, phase=phase)
            if p99 is None or phase_rows.empty:
                continue
            cpu_ms = float(phase_rows["cpu_ms"].iloc[0]) if "cpu_ms" in group else math.nan
            rate = (float(phase_rows["cpu_rate_per_s"].iloc[0]) if "cpu_rate_per_s" in group
                    else math.nan)
            blocked = _blocked_loop_p99(cpu_ms, rate)
            excess = max(0.0, p99 - (base or 0.0))
            share = excess / blocked if blocked and blocked > 0 else math.nan
            flags = ";".join(sorted({f for fl in phase_rows["flags"] for f in fl.split(";")
                                     if f}))
            rows.append({
                "target": target, "variant": variant, "phase": phase, "cpu_ms": cpu_ms,
                "cpu_rate_per_s": rate, "baseline_p99": base, "p99": p99,
                "theory_p99": value(group, phase=phase, metric="theory_latency_p99"),
                "executors": value(group, phase=phase, metric="executors"),
                "blocked_p99": blocked, "share": share, "verdict": verdict(share),
                "n": int(select(phase_rows, metric="latency_p99")["n"].iloc[0]),
                "flags": flags})
    return pd.DataFrame(rows)


PROCESS_MODELS = ("fork", "prefork", "cluster")
THREAD_MODELS = ("threaded", "threadpool")


def _mechanism(target: str, phase: str, verdict_: str) -> str:
    """Why a verdict is plausible, from the model's design (never a measured claim)."""
    runtime, _, model = target.partition("/")
    if verdict_ == BLOCKED:
        return "the burst holds the executor and every /ping queued behind it waits for its end"
    if phase == "offload":
        return ("the work ran off the request's executor" if verdict_ == ISOLATED
                else "offloading helped only in part")
    if runtime == "go":
        return "the Go scheduler preempts the spinning goroutine, so /ping gets turns"
    if runtime == "python" and model in THREAD_MODELS:
        return ("consistent with the GIL being handed to the /ping thread every few ms "
                "(sys.getswitchinterval) during the burst")
    if model in PROCESS_MODELS:
        return "another process served /ping while the kernel scheduler shared the CPU"
    if verdict_ == ISOLATED:
        return "another executor (thread, process or worker) served /ping during the burst"
    return "the bursts delayed /ping only part of the time"


def _executors_text(row: pd.Series) -> str:
    k = row["executors"]
    if k is None or (isinstance(k, float) and math.isnan(k)):
        return " (one executor per connection: theory predicts no stall)"
    if k == 1:
        return " (1 executor)"
    theory = row["theory_p99"]
    would = ("would not stall at all" if theory == 0
             else f"would show {fmt(theory, 'ms', True)}")
    return f" ({fmt(k)} executors: a fully blocking server with as many {would})"


def blocking_findings(agg: pd.DataFrame) -> list[Finding]:
    verdicts = blocking_verdicts(agg)
    if verdicts.empty:
        return [Finding("blocking", "No /ping latencies with /cpu bursts were measured.", "note")]
    primary = primary_variants(verdicts)
    findings = [_blocking_summary(verdicts, primary)]
    for (target, variant), group in verdicts.groupby(["target", "variant"], sort=True):
        name = target if variant == "default" else f"{target} ({variant})"
        inline = group[group["phase"] == "inline"]
        offload = group[group["phase"] == "offload"]
        parts: list[str] = []
        values: dict[str, float] = {}
        if not inline.empty:
            row = inline.iloc[0]
            values.update(baseline_p99=row["baseline_p99"], inline_p99=row["p99"],
                          blocked_p99=row["blocked_p99"], cpu_ms=row["cpu_ms"],
                          cpu_rate_per_s=row["cpu_rate_per_s"], executors=row["executors"],
                          theory_p99=row["theory_p99"])
            before = (f"rose from {fmt(row['baseline_p99'], 'ms', True)} to "
                      if row["baseline_p99"] is not None else "was ")
            parts.append(
                f"{name}: /ping p99 {before}{fmt(row['p99'], 'ms', True)} while "
                f"/cpu?ms={fmt(row['cpu_ms'])} ran inline ({fmt(row['cpu_rate_per_s'])}/s), "
                f"vs {fmt(row['blocked_p99'], 'ms', True)} for a fully blocked loop"
                f"{_executors_text(row)}: {row['verdict']}, "
                f"{_mechanism(str(target), 'inline', row['verdict'])}.")
        if not offload.empty:
            row = offload.iloc[0]
            values["offload_p99"] = row["p99"]
            lead = "With offload=1" if parts else f"{name}: with offload=1"
            parts.append(f"{lead} it was {fmt(row['p99'], 'ms', True)}: {row['verdict']}.")
        findings.append(Finding("blocking", " ".join(parts), values=values,
                                headline=(target, variant) in primary))
    return findings


def _blocking_summary(verdicts: pd.DataFrame, primary: set[tuple[str, str]]) -> Finding:
    sentences = []
    keep = [(t, v) in primary for t, v in zip(verdicts["target"], verdicts["variant"],
                                              strict=True)]
    for phase, label in (("inline", "When /cpu ran inline"), ("offload", "With offload=1")):
        mask = pd.Series(keep, index=verdicts.index, dtype=bool)
        rows = verdicts[(verdicts["phase"] == phase) & mask]
        if rows.empty:
            continue
        counts = []
        for kind, said in ((BLOCKED, "behaved like a blocked loop"), (PARTLY, PARTLY),
                           (ISOLATED, ISOLATED), ("n/a", "could not be judged")):
            names = sorted(rows.loc[rows["verdict"] == kind, "target"])
            if names:
                counts.append(f"{len(names)} {said} ({', '.join(names)})")
        sentences.append(f"{label}, of {len(rows)} target(s): " + "; ".join(counts) + ".")
    return Finding("blocking", " ".join(sentences), headline=True)


# -- sweep ----------------------------------------------------------------------------

def comparison_level(agg: pd.DataFrame) -> int | None:
    """The connection level to compare targets at: 64 if most targets have it."""
    rates = agg[agg["metric"] == "requests_per_s"].dropna(subset=["median"])
    if rates.empty:
        return None
    per_level = rates.groupby("connections")["target"].nunique()
    if per_level.get(PREFERRED_CONNECTIONS, 0) == per_level.max():
        return PREFERRED_CONNECTIONS
    return int(per_level[per_level == per_level.max()].index.max())


def _ranking(rows: pd.DataFrame) -> pd.DataFrame:
    return rows.dropna(subset=["median"]).sort_values("median", ascending=False)


def _name(row: pd.Series) -> str:
    return row["target"] if row["variant"] == "default" else f"{row['target']} ({row['variant']})"


def sweep_findings(agg: pd.DataFrame) -> list[Finding]:
    if agg.empty or "endpoint" not in agg.columns:
        return [Finding("sweep", "No sweep measurements.", "note")]
    findings: list[Finding] = []
    for endpoint in sorted(agg["endpoint"].dropna().unique()):
        rows = agg[agg["endpoint"] == endpoint]
        level = comparison_level(rows)
        if level is None:
            continue
        at = rows[rows["connections"] == level]
        if sleep_ms(endpoint):  # a timer-bound endpoint: the ceiling is what to compare with
            findings += _sleep_ceiling(endpoint, level, at)
        else:
            findings += _fastest(endpoint, level, at) + _latency_and_cpu(endpoint, level, at)
        findings += _collapse(endpoint, rows)
    return findings


def _fastest(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    ranked = _ranking(at[at["metric"] == "requests_per_s"])
    if ranked.empty:
        return []
    top = ranked.iloc[0]
    values = {f"{_name(top)} requests_per_s": top["median"]}
    text = (f"{endpoint} at {level} connections: {_name(top)} was fastest with "
            f"{fmt(top['median'])} req/s")
    others = ranked.iloc[1:]
    if len(others) > 6:
        others = pd.concat([others.iloc[:3], others.iloc[-1:]])
    parts = []
    for _, row in others.iterrows():
        values[f"{_name(row)} requests_per_s"] = row["median"]
        ratio = top["median"] / row["median"] if row["median"] > 0 else float("inf")
        slower = "as fast, to 0.5 %" if ratio < 1.005 else f"{ratio_text(ratio)} slower"
        parts.append(f"{_name(row)} {fmt(row['median'])} ({slower})")
    if parts:
        skipped = len(ranked) - 1 - len(parts)
        text += "; " + ", ".join(parts) + (f" ({skipped} more in the table)" if skipped else "")
        second = ranked.iloc[1]
        if min(top["n"], second["n"]) < 2:
            text += " (1 repetition: no interval, so gaps of a few % may be noise)"
        elif top["low"] <= second["high"]:
            text += (f" ({_name(top)} and {_name(second)} overlap over their repetitions: "
                     "the lead is within noise)")
        else:
            text += " (the lead is beyond noise: min-max ranges over repetitions do not overlap)"
    return [Finding("sweep", text + ".", values=values, headline=True)]


def _sleep_ceiling(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    ms = sleep_ms(endpoint) or 0.0
    ceiling = level / (ms / 1000.0)
    ranked = _ranking(at[at["metric"] == "requests_per_s"])
    if ranked.empty:
        return []
    reached = ranked[ranked["median"] >= SLEEP_CEILING_SHARE * ceiling]
    low = ranked.iloc[-1]
    text = (f"{endpoint} at {level} connections: the ceiling is {fmt(ceiling)} req/s "
            f"({level} connections / {fmt(ms)} ms); {len(reached)} of {len(ranked)} target(s) "
            f"reached {SLEEP_CEILING_SHARE:.0%} of it; lowest {_name(low)} with "
            f"{fmt(low['median'])} req/s ({low['median'] / ceiling:.0%}).")
    return [Finding("sweep", text, values={"ceiling": ceiling, "lowest": low["median"]},
                    headline=True)]


def _latency_and_cpu(endpoint: str, level: int, at: pd.DataFrame) -> list[Finding]:
    findings = []
    p99 = _ranking(at[at["metric"] == "latency_p99"])
    if len(p99) >= 2:
        lo, hi = p99.iloc[-1], p99.iloc[0]
        findings.append(Finding("sweep", (
            f"{endpoint} at {level} connections: lowest p99 {_name(lo)} "
            f"{fmt(lo['median'], 'ms', True)}, highest {_name(hi)} "
            f"{fmt(hi['median'], 'ms', True)}."),
            values={"lowest_p99": lo["median"], "highest_p99": hi["median"]}))
    eff = _ranking(at[at["metric"] == "requests_per_cpu_s"])
    if len(eff) >= 2 and eff.iloc[-1]["median"] > 0:
        best, worst = eff.iloc[0], eff.iloc[-1]
        findings.append(Finding("sweep", (
            f"CPU efficiency on {endpoint} at {level} connections: {_name(best)} served "
            f"{fmt(best['median'])} requests per server CPU-second, "
            f"{ratio_text(best['median'] / worst['median'])} as many as {_name(worst)} "
            f"({fmt(worst['median'])}, the fewest)."),
            values={"best": best["median"], "worst": worst["median"]}))
    return findings


def _collapse(endpoint: str, rows: pd.DataFrame) -> list[Finding]:
    findings = []
    levels = sorted(rows["connections"].dropna().unique())
    for (target, variant), group in rows.groupby(["target", "variant"], sort=True):
        name = _name(pd.Series({"target": target, "variant": variant}))
        errors = group[(group["metric"] == "errors") & (group["median"] > 0)]
        if not errors.empty:
            first = errors.sort_values("connections").iloc[0]
            at = group[group["connections"] == first["connections"]]
            kinds = at[at["metric"].str.startswith("errors_") & (at["median"] > 0)]
            detail = ", ".join(f"{m.removeprefix('errors_')} {fmt(v)}"
                               for m, v in zip(kinds["metric"], kinds["median"], strict=True))
            findings.append(Finding("sweep", (
                f"{name} on {endpoint}: errors from {int(first['connections'])} connections "
                f"({fmt(first['median'])}{': ' + detail if detail else ''})."), "result",
                values={"connections": first["connections"], "errors": first["median"]},
                headline=True))
        rates = group[group["metric"] == "requests_per_s"].dropna(subset=["median"])
        rates = rates.sort_values("connections")
        if len(rates) >= 2:
            peak = rates.loc[rates["median"].idxmax()]
            after = rates[(rates["connections"] > peak["connections"])
                          & (rates["median"] < COLLAPSE_SHARE * peak["median"])]
            if not after.empty:
                low = after.iloc[0]
                if min(low["n"], peak["n"]) < 2:
                    noise = " (1 repetition: not checked against noise)"
                elif low["high"] >= peak["low"]:
                    noise = " (their min-max ranges over repetitions overlap: may be noise)"
                else:
                    noise = ""
                findings.append(Finding("sweep", (
                    f"{name} on {endpoint}: requests/s fell to "
                    f"{low['median'] / peak['median']:.0%} of its peak ({fmt(peak['median'])} at "
                    f"{int(peak['connections'])} connections) at {int(low['connections'])} "
                    f"connections ({fmt(low['median'])}){noise}."),
                    values={"peak": peak["median"], "low": low["median"]}, headline=True))
    if not findings:
        if len(levels) < 2:
            text = (f"{endpoint}: only {int(levels[0]) if levels else 0} connections were "
                    "measured, so this run cannot show which target collapses at which level.")
        else:
            text = (f"{endpoint}: no target had errors or lost more than "
                    f"{COLLAPSE_SHARE:.0%} of its peak requests/s up to {int(levels[-1])} "
                    "connections.")
        findings.append(Finding("sweep", text, "note"))
    return findings
