"""What a fair scheduler gives a burst: completion times of jobs on P threads and C cores.

Jobs are handed to a pool of `threads` in arrival order (FIFO, as libuv's queue, tokio's
blocking pool and a ThreadPoolExecutor do); a thread keeps its job until it is done. The
running threads share the cores fairly: with r of them running, each advances at
min(1, cores / r) of a core (the kernel's time-slicing, at the limit of small slices).
For B equal jobs of t at once: waves of P jobs; a wave takes t when P <= C, and P t / C
when P > C (every job of the wave finishes late, together).
"""

from __future__ import annotations

from collections.abc import Sequence

EPSILON = 1e-9


def fair_share(works: Sequence[float], threads: int | None, cores: float,
               arrivals: Sequence[float] | None = None) -> list[float]:
    """The completion time of each job (in input order): works in one core's time units,
    threads None for a thread per job, arrivals (default all 0) in the same units."""
    if cores <= 0 or (threads is not None and threads < 1):
        raise ValueError("cores must be > 0 and threads >= 1 (or None)")
    if any(w < 0 for w in works):
        raise ValueError("work cannot be negative")
    arrivals = list(arrivals) if arrivals is not None else [0.0] * len(works)
    if len(arrivals) != len(works):
        raise ValueError("one arrival per job")
    limit = threads if threads is not None else max(1, len(works))
    order = sorted(range(len(works)), key=lambda i: (arrivals[i], i))  # the FIFO queue
    left = [float(w) for w in works]
    done = [0.0] * len(works)
    running: list[int] = []
    now, queued = 0.0, 0
    while queued < len(order) or running:
        while queued < len(order) and len(running) < limit and arrivals[order[queued]] <= now:
            running.append(order[queued])
            queued += 1
        finished = [i for i in running if left[i] <= EPSILON]
        if finished:
            for i in finished:
                done[i] = now
                running.remove(i)
            continue
        # Only an arrival that finds a free thread changes who runs.
        free = queued < len(order) and len(running) < limit
        next_arrival = arrivals[order[queued]] if free else float("inf")
        if not running:
            now = next_arrival
            continue
        rate = min(1.0, cores / len(running))
        step = min(min(left[i] for i in running) / rate, next_arrival - now)
        for i in running:
            left[i] -= step * rate
        now += step
    return done


def burst(jobs: int, length: float, threads: int | None, cores: float) -> list[float]:
    """Completion times, earliest first, of `jobs` equal jobs of `length` all at time 0."""
    return sorted(fair_share([length] * jobs, threads, cores))
