"""What a fully blocking server would have done with the schedule that actually ran.

A server with k independent executors (k event loops, workers or processes; each runs
one request at a time and cannot be preempted) takes requests in arrival order. A /cpu
request holds an executor for its whole burst; a /ping needs no time of its own, but
waits for a free executor after every /cpu request that arrived before it has one.
Replaying the pacer's intended send times through that queue gives each /ping's
predicted wait: the yardstick the measured latencies are judged against. With bursts
of 100 ms twice a second on one executor, a share 0.2 of the pings wait, uniformly
0-100 ms: p50 = 0, p90 = 50 ms, p99 = 95 ms.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

import numpy as np


def replay_waits_ms(ping_ms: Sequence[float], burst_starts_ms: Sequence[float],
                    burst_ms: float, executors: int | None) -> np.ndarray:
    """The wait of each /ping (intended at ping_ms) behind /cpu bursts intended at
    burst_starts_ms, on k executors taking requests first come, first served.

    executors None means one per connection (a thread or process each): nothing waits.
    """
    pings = np.asarray(ping_ms, dtype=float)
    if executors is None or burst_ms <= 0 or len(burst_starts_ms) == 0:
        return np.zeros(len(pings))
    if executors < 1:
        raise ValueError("executors must be >= 1 or None")
    free = [float("-inf")] * executors          # when each executor is next free
    bursts = sorted(float(b) for b in burst_starts_ms)
    waits = np.zeros(len(pings))
    order = np.argsort(pings, kind="stable")
    next_burst = 0
    for index in order:
        t = pings[index]
        while next_burst < len(bursts) and bursts[next_burst] <= t:  # earlier arrivals first
            arrival = bursts[next_burst]
            start = max(arrival, heapq.heappop(free))
            heapq.heappush(free, start + burst_ms)
            next_burst += 1
        waits[index] = max(0.0, free[0] - t)
    return waits


def periodic(rate_per_s: float, duration_ms: float, phase_ms: float = 0.0) -> np.ndarray:
    """Intended times (ms) of a fixed-rate stream, as the pacer schedules it."""
    return np.arange(phase_ms, duration_ms, 1000.0 / rate_per_s)


def percentiles(waits: np.ndarray, points: Sequence[float]) -> dict[float, float]:
    return {p: float(np.percentile(waits, p)) for p in points} if len(waits) else {}
