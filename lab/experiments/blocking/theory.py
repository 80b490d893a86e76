"""What a fully blocking server would do: the latency a /ping sees behind CPU bursts.

CPU requests of burst_ms arrive every 1/rate seconds. A server with k independent
executors (k event loops, workers or processes; each runs one request at a time and
cannot be preempted) stalls a /ping whenever all k are busy with bursts; the /ping then
waits until one frees. For a /ping arriving at a uniformly random moment, the wait's
distribution gives the percentiles. With k = 1, a share rho = burst x rate of arrivals
wait Uniform(0, burst): p50 = 0, p90 = 50 ms, p99 = 95 ms for 100 ms at 2/s.
"""

from __future__ import annotations

import math

import numpy as np

GRID_POINTS = 20_000


def blocked_waits_ms(burst_ms: float, rate_per_s: float, executors: int | None) -> np.ndarray:
    """The wait of a /ping arriving at each of GRID_POINTS moments spread over one period.

    executors None means unbounded (a thread or process per connection): nothing waits.
    Bursts are placed by the ideal scheduler (any free executor takes the next burst).
    Raises ValueError when bursts arrive faster than the executors can run them.
    """
    if burst_ms < 0 or rate_per_s <= 0:
        raise ValueError("burst_ms must be >= 0 and rate_per_s > 0")
    if executors is None or burst_ms == 0:
        return np.zeros(GRID_POINTS)
    if executors < 1:
        raise ValueError("executors must be >= 1 or None")
    period_ms = 1000.0 / rate_per_s
    if burst_ms > executors * period_ms:
        raise ValueError(f"{burst_ms} ms bursts at {rate_per_s}/s overload {executors} "
                         "executor(s): the queue grows without bound")
    # Steady state with ideal placement: bursts never queue, so at time t the bursts
    # running are those started in (t - burst, t]; their number cycles with the period.
    overlap = math.ceil(burst_ms / period_ms) + 1
    starts = np.arange(-overlap, 2) * period_ms
    ends = starts + burst_ms
    t = np.linspace(0.0, period_ms, GRID_POINTS, endpoint=False)
    running = ((starts[None, :] <= t[:, None]) & (t[:, None] < ends[None, :]))
    stalled = running.sum(axis=1) >= executors
    # Periodic bursts no longer than k periods never exceed k at once, so "stalled" means
    # exactly k running; the /ping waits for the first of them to end.
    ends_running = np.where(running, ends[None, :], np.inf)
    ends_running.sort(axis=1)
    first_free = ends_running[:, 0]
    return np.where(stalled, first_free - t, 0.0)


def blocked_percentiles(burst_ms: float, rate_per_s: float, executors: int | None,
                        percentiles: tuple[float, ...] = (50, 90, 99, 99.9),
                        ) -> dict[float, float]:
    """Percentiles (ms) of /ping latency added by bursts on a fully blocking server."""
    waits = blocked_waits_ms(burst_ms, rate_per_s, executors)
    return {p: float(np.percentile(waits, p)) for p in percentiles}


def blocked_share(burst_ms: float, rate_per_s: float, executors: int | None) -> float:
    """The share of time a /ping would find every executor busy."""
    return float((blocked_waits_ms(burst_ms, rate_per_s, executors) > 0).mean())
