"""What the numbers cannot be trusted for, and what is missing: flags, failures, gaps.

Nothing is dropped silently: every flagged measurement, failed session, failed target
and missing experiment becomes a Finding (kind flag, failure or note) for the report.
"""

from __future__ import annotations

import json

import pandas as pd

from analysis.content import Finding
from analysis.load import RunData
from analysis.stats import parameter_columns, params_label

FLAG_MEANINGS = {
    "generator-bound": "the load generator ran above 80 % of the rate it can drive at all "
                       "(its ceiling, calibrated once per run), or used 90 % of its CPUs over "
                       "its own measured window, so it, not the server, may have been the "
                       "limit: treat throughput as a lower bound",
    "noisy": "other processes used more than 5 % of the server's CPUs while it was measured "
             "(foreign_cpu_server_share): the server had that much less, so its numbers may "
             "be low and its latencies high",
    "neighbours": "other containers could run on the server's or the load generator's CPUs "
                  "when the measurement started (a killed lab's leftovers, a second lab, "
                  "anything else the engine runs): the point file names them and their "
                  "owners, neighbour_cpu_s says how much CPU they used meanwhile",
    "errors": "some requests failed (connect, read, write, status or timeout); latency and "
              "throughput count only the successful ones",
    "no-responses": "the load generator got no response at all: the server did not answer "
                    "within the measurement, so its latency and throughput are missing",
}


def flag_table(run: RunData) -> pd.DataFrame:
    """One row per flagged measurement (experiment, target, variant, repetition, parameters)."""
    rows = []
    for experiment, frame in run.tables.items():
        if frame.empty:
            continue
        flagged = frame[frame["flags"].astype(str).str.len() > 0]
        if flagged.empty:
            continue
        params = [c for c in parameter_columns(frame) if c not in ("stream",)]
        keys = [c for c in ("target", "variant", "repetition", *params) if c in frame.columns]
        for key, group in flagged.groupby(keys, dropna=False, sort=True):
            record = dict(zip(keys, key if isinstance(key, tuple) else (key,), strict=True))
            flags = sorted({f for fl in group["flags"] for f in str(fl).split(";") if f})
            rows.append({"experiment": experiment, "target": record["target"],
                         "variant": record.get("variant", "default"),
                         "repetition": record.get("repetition", 0),
                         "parameters": params_label(pd.Series(record), params),
                         "flags": ";".join(flags)})
    return pd.DataFrame(rows, columns=["experiment", "target", "variant", "repetition",
                                       "parameters", "flags"])


def flag_findings(run: RunData, meanings: dict[str, str] | None = None) -> list[Finding]:
    meanings = meanings or FLAG_MEANINGS
    table = flag_table(run)
    findings = []
    for experiment, group in table.groupby("experiment", sort=False):
        counts: dict[str, list[str]] = {}
        for _, row in group.iterrows():
            for flag in row["flags"].split(";"):
                counts.setdefault(flag, []).append(row["target"])
        for flag, targets in sorted(counts.items()):
            names = sorted(set(targets))
            meaning = meanings.get(flag, "a flag this report does not know; see the lab "
                                              "code that wrote it")
            findings.append(Finding(experiment, (
                f"{experiment}: {len(targets)} measurement(s) flagged {flag} "
                f"({', '.join(names)}): {meaning}."), "flag",
                values={"count": float(len(targets))}))
    return findings


def failure_table(run: RunData) -> pd.DataFrame:
    """Failed targets (run.json) and failed sessions or points (<experiment>/failures)."""
    rows = [{"experiment": "(all)", "target": name, "variant": "", "repetition": "",
             "what": "target", "reason": reason, "detail": ""}
            for name, reason in sorted(run.failed_targets.items())]
    for experiment, items in sorted(run.failures.items()):
        for item in items:
            rows.append({"experiment": experiment, "target": item.get("target", "?"),
                         "variant": item.get("variant", ""),
                         "repetition": item.get("repetition", ""),
                         "what": item.get("key", ""), "reason": item.get("reason", ""),
                         "detail": str(item.get("detail", ""))[-600:]})
    return pd.DataFrame(rows, columns=["experiment", "target", "variant", "repetition", "what",
                                       "reason", "detail"])


def failure_findings(run: RunData) -> list[Finding]:
    findings = []
    for name, reason in sorted(run.failed_targets.items()):
        findings.append(Finding("(all)", f"{name} was not measured: {reason}.", "failure"))
    for experiment, items in sorted(run.failures.items()):
        by_target: dict[str, list[str]] = {}
        for item in items:
            by_target.setdefault(str(item.get("target", "?")), []).append(
                str(item.get("reason", "no reason recorded")))
        for target, reasons in sorted(by_target.items()):
            distinct = sorted(set(reasons))
            findings.append(Finding(experiment, (
                f"{experiment}: {target} failed {len(reasons)} time(s): "
                f"{'; '.join(distinct[:3])}{' ...' if len(distinct) > 3 else ''}."), "failure",
                values={"count": float(len(reasons))}))
    return findings


def gap_findings(run: RunData) -> list[Finding]:
    """The run's status, experiments with no results, unreadable tables."""
    findings = []
    if run.status != "complete":
        findings.append(Finding("(all)", (
            f"The run's status is '{run.status}': it did not finish, so some experiments or "
            "targets may be missing below."), "failure"))
    for experiment in run.experiments:
        if experiment not in run.tables or run.tables[experiment].empty:
            findings.append(Finding(experiment, (
                f"{experiment}: no results in this run (nothing was measured, or every "
                "measurement failed)."), "failure"))
    for problem in run.problems:
        findings.append(Finding("(all)", problem, "failure"))
    for mixed in run.meta.get("mixed") or []:
        findings.append(Finding("(all)", (
            f"This run is mixed: it was resumed at {mixed.get('at')} with --force-mixed "
            f"although {'; '.join(mixed.get('differences') or ['something'])}. Points measured "
            "before and after may not be comparable."), "failure"))
    if not run.experiments:
        findings.append(Finding("(all)", "This run has no experiments and no result tables.",
                                "failure"))
    return findings


def knobs_text(knobs: object) -> str:
    """A knobs JSON string as 'A=1, B=2' ('defaults' when empty)."""
    try:
        parsed = json.loads(str(knobs))
    except ValueError:
        return str(knobs)
    if not isinstance(parsed, dict) or not parsed:
        return "defaults"
    return ", ".join(f"{k}={v}" for k, v in sorted(parsed.items()))
