"""What a target's facts predict about a second CPU, and how a measured speed-up reads.

The prediction counts the threads that can compute one kind of request at once, from the
target's runtime.toml facts (as run.json recorded them) and the knobs its server reported
in /info on that CPU set: the offload pool's size for offload=1 where it has one (times
its workers, for a loop per worker), else its executors (an event loop's 1, GOMAXPROCS,
WORKERS, a thread per connection). It knows nothing of locks inside a runtime, so where
it and the measurement disagree, the report says so and shows what the server did.
"""

from __future__ import annotations

from collections.abc import Mapping

SCALES, PARTLY, FLAT = "scales", "partly", "does not scale"
# Share of the ideal gain ((speed-up - 1) / (k - 1)) from which a speed-up "scales", and
# under which it does not.
SCALES_SHARE, FLAT_SHARE = 0.6, 0.25
VERDICT_RULE = (f"a speed-up scales when it reaches {SCALES_SHARE:.0%} of the ideal gain "
                f"((speed-up - 1) / (k - 1) >= {SCALES_SHARE}), does not scale under "
                f"{FLAT_SHARE:.0%}, and scales partly in between")


def capacity(facts: Mapping[str, object], knobs: Mapping[str, object], endpoint: str,
             offload: bool, connections: int) -> int | None:
    """Threads that can compute this request kind at once (None: the facts cannot say)."""

    def knob(name: object) -> int | None:
        value = knobs.get(str(name))
        return int(value) if isinstance(value, int | float) else None

    executors = facts.get("executors")
    if isinstance(executors, int):
        workers: int | None = executors
    elif executors == "connection":
        workers = connections
    else:
        workers = knob(executors)
    pools = facts.get("offload_pools") or {}
    if offload and isinstance(pools, Mapping) and endpoint in pools:
        pool = knob(pools[endpoint])
        if pool is None:
            return None
        per_worker = facts.get("kind") == "event-loop-per-worker"
        return pool * (workers or 1) if per_worker else pool
    return workers


def expected_speedup(cap_1: int | None, cap_k: int | None, k: int) -> float | None:
    """Goodput on k CPUs over goodput on 1, if every thread that can run got a CPU."""
    if cap_1 is None or cap_k is None or cap_1 < 1 or cap_k < 1:
        return None
    return min(k, cap_k) / min(1, cap_1)


def verdict(speedup: float | None, k: int) -> str:
    if speedup is None:
        return "n/a"
    gain = (speedup - 1) / (k - 1)
    return SCALES if gain >= SCALES_SHARE else FLAT if gain < FLAT_SHARE else PARTLY
