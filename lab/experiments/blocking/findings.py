"""Blocking findings: sentences whose every number comes from the verdicts (verdicts.py)."""

from __future__ import annotations

import math

import pandas as pd

from analysis.content import Finding, label
from analysis.stats import fmt, primary_variants
from lab.experiments.blocking.verdicts import BLOCKED, ISOLATED, PARTLY, blocking_verdicts


def _mechanism(mechanism: str, phase: str, verdict_: str) -> str:
    """Why a verdict is plausible, from the model's design (runtime.toml), never measured."""
    if verdict_ == BLOCKED:
        return "the burst holds the executor and every /ping queued behind it waits for its end"
    if phase == "offload":
        return ("the work ran off the request's executor" if verdict_ == ISOLATED
                else "offloading helped only in part")
    return f"consistent with its design: {mechanism}" if mechanism else (
        "the bursts delayed /ping only part of the time")


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


def blocking_findings(agg: pd.DataFrame, mechanisms: dict[str, str]) -> list[Finding]:
    """A summary, then one finding per target and variant; mechanisms: target -> sentence."""
    verdicts = blocking_verdicts(agg)
    if verdicts.empty:
        return [Finding("blocking", "No /ping latencies with /cpu bursts were measured.", "note")]
    primary = primary_variants(verdicts)
    findings = [_blocking_summary(verdicts, primary)]
    for (target, variant), group in verdicts.groupby(["target", "variant"], sort=True):
        name = label(target, variant)
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
                f"{_mechanism(mechanisms.get(str(target), ''), 'inline', row['verdict'])}.")
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
    for phase, lead in (("inline", "When /cpu ran inline"), ("offload", "With offload=1")):
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
        sentences.append(f"{lead}, of {len(rows)} target(s): " + "; ".join(counts) + ".")
    return Finding("blocking", " ".join(sentences), headline=True)
