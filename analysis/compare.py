"""Two runs side by side: what differs between them, then per headline row the medians with
their intervals, B/A, a stated test and a verdict.

Verdicts: "faster" / "slower" (better / worse for metrics that are not a time or a rate,
e.g. errors), by each metric's direction (Headline.direction: lower latency is better,
higher goodput is better); "no change detected"; "cannot tell (n too small)". The tests
and their correction are analysis.significance's: a moderated t over repetitions, a
quantile test over requests where a single repetition kept them, Holm over every row
tested, no claim below MIN_EFFECT.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Group
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from analysis.content import Analysable, Headline
from analysis.differences import run_differences
from analysis.load import RunData, load_run
from analysis.samples import matched, percent_of, reproduces, request_samples
from analysis.significance import (
    ALPHA,
    MIN_EFFECT,
    REPETITIONS_TEST,
    REQUESTS_TEST,
    fit_prior,
    holm,
    log_variance,
    moderated_t,
    quantile_test,
)
from analysis.stats import aggregate, fmt, parameter_columns, params_label

KEY = ["experiment", "target", "variant", "parameters", "metric", "unit"]
SIDE = ["median", "low", "high", "confidence", "n", "flags", "values", "requests"]
DISTURBED = ("noisy", "generator-bound")   # flags that could explain a change by themselves
TOO_FEW = "cannot tell (n too small)"
NO_CHANGE = "no change detected"
ONLY = ("only in A", "only in B")
COLUMNS = [*KEY, *[f"{c}_{s}" for s in "ab" for c in SIDE if c not in ("values", "requests")],
           "better", "ratio", "test", "p", "p_holm", "change", "disturbed"]
SPEED_UNITS = ("ms", "s", "us")


def _side(table: pd.DataFrame, experiment: str, params: list[str], headline: Headline | None,
          found: list[tuple[dict, np.ndarray]]) -> pd.DataFrame:
    """The headline rows of one run, aggregated, with their repetitions' values and (for a
    single repetition) their requests."""
    frame = table.copy()
    if headline is not None:
        for column, wanted in headline.where.items():
            if column in frame.columns:
                frame = frame[frame[column] == wanted]
        if headline.metrics:
            frame = frame[frame["metric"].isin(headline.metrics)]
    frame = frame.assign(requests=matched(frame, found))
    agg = aggregate(frame, keep=("values", "requests"))
    agg["experiment"] = experiment
    agg["parameters"] = [params_label(row, params) for _, row in agg.iterrows()]
    return agg[[*KEY, *SIDE]]


def _test(row: pd.Series, prior) -> tuple[str, float, float]:
    """(test or reason it cannot, statistic, p) for one row present in both runs."""
    a, b = row["values_a"], row["values_b"]
    if not (a and b):
        return "cannot tell (no value)", math.nan, math.nan
    if len(set(a) | set(b)) == 1:
        return "identical values", 0.0, 1.0
    if min(a + b) <= 0:
        return "cannot tell (zero or negative values: no ratio)", math.nan, math.nan
    if len(a) + len(b) >= 3:
        t, p = moderated_t(a, b, prior)
        if not math.isnan(p):
            return REPETITIONS_TEST, t, p
    requests_a, requests_b = row["requests_a"], row["requests_b"]
    percent = percent_of(row["metric"])
    if (len(a) == len(b) == 1 and percent is not None and requests_a is not None
            and requests_b is not None and reproduces(requests_a, percent, a[0])
            and reproduces(requests_b, percent, b[0])):
        z, p = quantile_test(requests_a, requests_b, percent)
        if not math.isnan(p):
            return REQUESTS_TEST, z, p
    return TOO_FEW, math.nan, math.nan


def _tests(merged: pd.DataFrame) -> pd.DataFrame:
    """The test, statistic and raw p of every row, priors fitted per metric."""
    both = merged["n_a"].notna() & merged["n_b"].notna()
    results: dict[int, tuple[str, float, float]] = {}
    for _, family in merged[both].groupby("metric", sort=False):
        positive = [(a, b) for a, b in zip(family["values_a"], family["values_b"], strict=True)
                    if a and b and min(a + b) > 0]
        variances = [log_variance(a, b) for a, b in positive]
        prior = fit_prior([v for v, _ in variances], [d for _, d in variances])
        for index, row in family.iterrows():
            results[index] = _test(row, prior)
    tests = pd.DataFrame.from_dict(results, orient="index", columns=["test", "statistic", "p"])
    merged = merged.join(tests.astype({"statistic": float, "p": float}))
    merged["test"] = merged["test"].fillna("")
    return merged


def _rows(table_a: pd.DataFrame, table_b: pd.DataFrame, experiment: str,
          headline: Headline | None, requests_a: list, requests_b: list) -> pd.DataFrame:
    params = list(dict.fromkeys([*parameter_columns(table_a), *parameter_columns(table_b)]))
    if headline is not None:
        params = [p for p in params if p not in headline.where]
    a = _side(table_a, experiment, [p for p in params if p in table_a.columns], headline,
              requests_a)
    b = _side(table_b, experiment, [p for p in params if p in table_b.columns], headline,
              requests_b)
    merged = a.merge(b, on=KEY, how="outer", suffixes=("_a", "_b"))
    merged["ratio"] = [
        mb / ma if not (pd.isna(ma) or pd.isna(mb)) and ma != 0 else math.nan
        for ma, mb in zip(merged["median_a"], merged["median_b"], strict=True)]
    rule = headline or Headline(())
    merged["better"] = [rule.direction(m, u) for m, u in zip(merged["metric"], merged["unit"],
                                                            strict=True)]
    return _tests(merged)


def claims(p_holm: float, ratio: float, statistic: float) -> bool:
    """A change is claimed when Holm's p is under ALPHA, B/A is at least MIN_EFFECT away
    from 1, and the test's statistic points the same way as B/A."""
    if pd.isna(p_holm) or pd.isna(ratio) or ratio <= 0 or pd.isna(statistic):
        return False
    effect = math.log(ratio)
    return (p_holm < ALPHA and abs(effect) >= math.log(1 + MIN_EFFECT)
            and np.sign(statistic) == np.sign(effect))


def _verdict(row: pd.Series) -> str:
    if pd.isna(row["n_a"]):
        return "only in B"
    if pd.isna(row["n_b"]):
        return "only in A"
    if pd.isna(row["p"]):
        return str(row["test"]) if str(row["test"]).startswith("cannot tell") else TOO_FEW
    ratio = row["ratio"]
    if not claims(row["p_holm"], ratio, row["statistic"]):
        return NO_CHANGE
    improved = (ratio > 1) == (row["better"] == "higher")
    if str(row["unit"]) in SPEED_UNITS or "/s" in str(row["unit"]):
        return "faster" if improved else "slower"
    return "better" if improved else "worse"


def judge(frame: pd.DataFrame) -> pd.DataFrame:
    """Holm over every tested row of the frame, then each row's verdict."""
    frame = frame.copy()
    frame["p_holm"] = holm(frame["p"].tolist()) if len(frame) else []
    frame["change"] = frame.apply(_verdict, axis=1) if len(frame) else []
    frame["disturbed"] = [
        ";".join(sorted({f for flags in (fa, fb) if isinstance(flags, str)
                         for f in flags.split(";") if f in DISTURBED}))
        for fa, fb in zip(frame["flags_a"], frame["flags_b"], strict=True)]
    return frame[COLUMNS]


def compare_tables(table_a: pd.DataFrame, table_b: pd.DataFrame, experiment: str,
                   headline: Headline | None = None, requests_a: list | None = None,
                   requests_b: list | None = None) -> pd.DataFrame:
    """Pure: two tidy tables of one experiment -> judged comparison rows (Holm within)."""
    return judge(_rows(table_a, table_b, experiment, headline, requests_a or [],
                       requests_b or []))


def compare_runs(run_a: RunData | str | Path, run_b: RunData | str | Path,
                 experiments: Sequence[Analysable] = ()) -> pd.DataFrame:
    """Per experiment, target, parameters and headline metric: both medians with intervals,
    B/A, the test, Holm-adjusted p and the verdict; attrs: run ids and their differences."""
    a = run_a if isinstance(run_a, RunData) else load_run(run_a)
    b = run_b if isinstance(run_b, RunData) else load_run(run_b)
    headlines = {e.name: e.headline for e in experiments}
    parts = []
    for experiment in [*a.experiments, *[e for e in b.experiments if e not in a.experiments]]:
        table_a, table_b = a.table(experiment), b.table(experiment)
        if table_a.empty and table_b.empty:
            continue
        parts.append(_rows(table_a, table_b, experiment, headlines.get(experiment),
                           request_samples(a, experiment), request_samples(b, experiment)))
    frame = judge(pd.concat(parts, ignore_index=True)) if parts else pd.DataFrame(
        columns=COLUMNS)
    frame = frame.sort_values(["experiment", "target", "variant", "parameters", "metric"],
                              ignore_index=True)
    frame.attrs.update(run_a=a.run_id, run_b=b.run_id,
                       differences=run_differences(a.meta, b.meta),
                       noise=[f"{side}: {noise_text(run)}" for side, run in (("A", a), ("B", b))])
    return frame


def noise_text(run: RunData) -> str:
    """How many of a run's measurements were flagged noisy (those that recorded noise)."""
    counts = [0, 0]
    for table in run.tables.values():
        shares = table[table["metric"] == "foreign_cpu_server_share"]
        counts[0] += int(shares["flags"].astype(str).str.contains("noisy").sum())
        counts[1] += len(shares)
    if not counts[1]:
        return "no noise recorded (a run of results schema 1)"
    return (f"{counts[0]} of {counts[1]} measurements flagged noisy (other processes took "
            "over 5 % of the server's CPUs)")


def _side_text(row: pd.Series, side: str, unit: str) -> str:
    """'1,234 [1,200-1,260, 75 %] n=3', or '1,234 n=1' when there is no interval."""
    if pd.isna(row[f"n_{side}"]):
        return "-"
    median, n = fmt(row[f"median_{side}"], unit), int(row[f"n_{side}"])
    if pd.isna(row[f"low_{side}"]):
        return f"{median} n={n}"
    return (f"{median} [{fmt(row[f'low_{side}'], unit)}-{fmt(row[f'high_{side}'], unit)}, "
            f"{row[f'confidence_{side}']:.0%}] n={n}")


def render_comparison(df: pd.DataFrame) -> Group:
    """What differs between the runs, then a rich Table of the comparison."""
    run_a, run_b = df.attrs.get("run_a", "A"), df.attrs.get("run_b", "B")
    differences = df.attrs.get("differences", [])
    head = [Text(f"A = {run_a}, B = {run_b}", style="bold")]
    if differences:
        head.append(Text(f"Warning: the runs differ in {len(differences)} way(s) that could "
                         "explain a change:", style="yellow"))
        head += [Text(f"  - {d}") for d in differences]
    else:
        head.append(Text("The runs share machine, backend, profile, code, images and knobs."))
    head += [Text(line) for line in df.attrs.get("noise", [])]
    table = Table(title=escape("median [interval, confidence] n repetitions; tests: "
                               f"{REPETITIONS_TEST}; {REQUESTS_TEST}; Holm-corrected p"),
                  show_lines=False)
    for column, justify in (("experiment", "left"), ("target", "left"), ("parameters", "left"),
                            ("metric", "left"), ("A", "right"), ("B", "right"),
                            ("B/A", "right"), ("p", "right"), ("change", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    both = df[~df["change"].isin(ONLY)]
    for _, row in both.iterrows():
        target = row["target"] if row["variant"] == "default" else (
            f"{row['target']} ({row['variant']})")
        unit = str(row["unit"])
        ratio = "n/a" if pd.isna(row["ratio"]) else f"{row['ratio']:.2f}"
        p = "-" if pd.isna(row["p_holm"]) else f"{row['p_holm']:.2g}"
        claimed = row["change"] in ("faster", "slower", "better", "worse")
        cells = [str(row["experiment"]), target, str(row["parameters"]),
                 f"{row['metric']} ({unit})" if unit and unit != row["metric"] else
                 str(row["metric"]), _side_text(row, "a", unit), _side_text(row, "b", unit),
                 ratio, p, str(row["change"]) + (f" ({row['disturbed']})"
                                                    if claimed and row["disturbed"] else "")]
        table.add_row(*[escape(c) for c in cells], style="bold" if claimed else None)
    table.caption = escape(caption(df))
    return Group(*head, table)


def caption(df: pd.DataFrame) -> str:
    if not len(df):
        return "Nothing to compare: the two runs share no experiment with results."
    changes = df["change"].astype(str)
    claim = changes.isin(["faster", "slower", "better", "worse"])
    claimed, tested = int(claim.sum()), int(df["p"].notna().sum())
    disturbed = int((claim & (df["disturbed"].astype(str) != "")).sum())
    return (f"{len(df[~changes.isin(ONLY)])} comparisons, {tested} tested: {claimed} changed, "
            f"{disturbed} of them in measurements flagged noisy or generator-bound; "
            f"{int((changes == NO_CHANGE).sum())} no change detected; "
            f"{int(changes.str.startswith('cannot tell').sum())} cannot tell. Holm over the "
            f"{tested} tests keeps the chance of any false claim between runs of identical "
            f"distributions at most {ALPHA:.0%}; no change under {MIN_EFFECT:.0%} is claimed. "
            f"Not shown: {int((changes == 'only in A').sum())} measurement(s) only in A, "
            f"{int((changes == 'only in B').sum())} only in B.")
