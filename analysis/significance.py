"""The tests lab.compare states: is a difference between two runs beyond their noise?

Over repetitions, a *moderated t-test on log values* (Smyth 2004, the empirical-Bayes
variance of limma): a row's variance of log values (pooled over its two runs) is shrunk
towards a prior fitted to every row of the same experiment and metric, so that three
repetitions a side borrow the precision of the hundreds of rows measured alike. The
prior's degrees of freedom d0 say how alike the rows' noise is: 0 when it differs wildly
(no borrowing, an ordinary t-test), infinite when it is one common variance; the test
gives the prior PRIOR_WEIGHT of that weight.

Over requests (one repetition a side, a latency percentile with per-request records in
both runs), a *quantile test*: the share of each run's requests at or below the pooled
percentile, compared with a z-test whose variance is widened by each run's
autocorrelation of that indicator (analysis.stats.autocorrelation_time), with at least
MIN_TAIL effective requests on each side of the percentile. It sees the noise within one
session only, not the variation from one server start to the next.

Holm's step-down correction runs over every row tested in one comparison, which keeps
the chance that two runs of identical distributions show any claimed change at most
ALPHA; a change below MIN_EFFECT is never claimed, however significant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special

from analysis.stats import MIN_TAIL, autocorrelation_time

ALPHA = 0.05
MIN_EFFECT = 0.10
# The prior counts half the degrees of freedom it is estimated to be worth: rows' noise is
# not one population (a collapsing level is far noisier than its neighbours), and with the
# full weight 6 % of comparisons of identical runs with noise spread from 1 % to 35 % CV
# claimed a change; with half, under 5 % (tests/unit/test_significance.py).
PRIOR_WEIGHT = 0.5
REPETITIONS_TEST = "moderated t on log values over repetitions (Smyth's empirical Bayes)"
REQUESTS_TEST = ("quantile test over one session's requests a side (z, widened for "
                 "autocorrelation; blind to variation between sessions)")


@dataclass(frozen=True)
class Prior:
    """Row variances of log values ~ s0_squared * d0 / chi2(d0)."""

    d0: float
    s0_squared: float


def _trigamma_inverse(x: float) -> float:
    """y with trigamma(y) = x (Newton, as limma's trigammaInverse)."""
    if x > 1e7:
        return 1 / math.sqrt(x)
    if x < 1e-6:
        return 1 / x
    y = 0.5 + 1 / x
    for _ in range(50):
        tri = float(special.polygamma(1, y))
        step = tri * (1 - tri / x) / float(special.polygamma(2, y))
        y += step
        if -step / y < 1e-8:
            break
    return y


def fit_prior(variances: Sequence[float], dfs: Sequence[float]) -> Prior:
    """Smyth's moment estimate of the prior from rows' variances and degrees of freedom
    (rows with no variance, or none to estimate it with, are left out; fewer than three
    rows: no prior)."""
    s2, d = np.asarray(variances, dtype=float), np.asarray(dfs, dtype=float)
    ok = (d > 0) & (s2 > 0) & np.isfinite(s2)
    if ok.sum() < 3:
        return Prior(0.0, 0.0)
    s2, d = s2[ok], d[ok]
    e = np.log(s2) - special.digamma(d / 2) + np.log(d / 2)
    mean = float(e.mean())
    spread = float(((e - mean) ** 2).sum() / (len(e) - 1) - special.polygamma(1, d / 2).mean())
    if spread <= 0:
        return Prior(math.inf, math.exp(mean))
    d0 = 2 * _trigamma_inverse(spread)
    s0_squared = math.exp(mean + float(special.digamma(d0 / 2)) - math.log(d0 / 2))
    return Prior(PRIOR_WEIGHT * d0, s0_squared)


def log_variance(a: Sequence[float], b: Sequence[float]) -> tuple[float, int]:
    """Pooled within-run variance of log values, and its degrees of freedom."""
    la, lb = np.log(np.asarray(a, dtype=float)), np.log(np.asarray(b, dtype=float))
    d = len(la) + len(lb) - 2
    if d <= 0:
        return math.nan, 0
    return float(((la - la.mean()) ** 2).sum() + ((lb - lb.mean()) ** 2).sum()) / d, d


def moderated_t(a: Sequence[float], b: Sequence[float], prior: Prior) -> tuple[float, float]:
    """(t, two-sided p) for log(b) vs log(a); NaN p when there is nothing to judge with."""
    s2, d = log_variance(a, b)
    if math.isinf(prior.d0):
        posterior, df = prior.s0_squared, math.inf
    elif d + prior.d0 > 0:
        posterior = ((prior.d0 * prior.s0_squared + d * (s2 if d else 0.0))
                     / (prior.d0 + d))
        df = prior.d0 + d
    else:
        return math.nan, math.nan
    if not posterior > 0:
        return math.nan, math.nan
    difference = float(np.log(b).mean() - np.log(a).mean())
    t = difference / math.sqrt(posterior * (1 / len(a) + 1 / len(b)))
    p = 2 * float(special.ndtr(-abs(t)) if math.isinf(df) else special.stdtr(df, -abs(t)))
    return t, p


def quantile_test(a: Sequence[float], b: Sequence[float], percent: float) -> tuple[float, float]:
    """(z, two-sided p): do a and b (each in the order sent) share their percent-th
    percentile? z > 0 when b's requests sit higher. NaN p: too few beyond the percentile."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if not (a.size and b.size):
        return math.nan, math.nan
    threshold = np.percentile(np.concatenate([a, b]), percent)
    below_a, below_b = (a <= threshold).astype(float), (b <= threshold).astype(float)
    share = (below_a.sum() + below_b.sum()) / (a.size + b.size)
    tau_a, tau_b = autocorrelation_time(below_a), autocorrelation_time(below_b)
    if min(a.size / tau_a, b.size / tau_b) * min(share, 1 - share) < MIN_TAIL:
        return math.nan, math.nan
    se = math.sqrt(share * (1 - share) * (tau_a / a.size + tau_b / b.size))
    z = (below_a.mean() - below_b.mean()) / se
    return z, 2 * float(special.ndtr(-abs(z)))


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm's step-down adjusted p-values (NaN stays NaN and does not count)."""
    p = np.asarray(pvalues, dtype=float)
    tested = np.flatnonzero(~np.isnan(p))
    adjusted = np.full(p.shape, math.nan)
    order = tested[np.argsort(p[tested], kind="stable")]
    m, running = len(order), 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p[index]))
        adjusted[index] = running
    return adjusted.tolist()
