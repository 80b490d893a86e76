"""What the readiness experiment runs: profiles, and each target's points from its facts.

Three parts, each a kind of point in one server session per target:

- `idle`: N idle keep-alive connections (opened, answered once, silent) beside a paced
  /ping stream, at rising N. A model's own limit caps N (runtime.toml max_connections:
  select's FD_SETSIZE; a pool's WORKERS, here the spec's pool_size): the limit itself is run, which
  shows the failure, and nothing past it. Levels past the descriptor limit or the memory
  budget are recorded as capped when measuring (measure.py).
- `slow`: M slowloris clients beside the /ping stream, M above the pools' pool_size.
- `large`: a stream of requests larger than one read, on the hand-written reactors
  (readiness select, poll, epoll-lt, epoll-et): their /info counters per request show
  level- vs edge-triggered readiness at work.

A target's runtime.toml variants for this experiment (e.g. epoll-et's READ_ONCE=1, the
pools' CLIENT_TIMEOUT=1) run the slow and large parts only: they are about those.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lab.experiments.framework import Point, Session, interleave
from lab.targets import Target

NAME = "readiness"
# Hand-written reactors: the loop and its readiness call are the lesson, with counters.
REACTORS = ("select", "poll", "epoll-lt", "epoll-et")
# Over one read of the Python reactors (4 KiB) and under every server's head limit (8 KiB).
LARGE_HEAD = 6000


@dataclass(frozen=True)
class ReadinessSpec:
    idle_levels: tuple[int, ...]   # idle connections per point (0 first: the baseline)
    stream_s: float                # the /ping stream of each idle point
    slow_s: float                  # the /ping stream beside the slow clients
    large_s: float                 # the stream of large requests
    repetitions: int
    # Pools get the workers of a classic prefork server (Apache httpd's MaxRequestWorkers,
    # also their default): idle connections past that many leave no worker for anyone else.
    pool_size: int = 256
    slow_clients: int = 320        # more than pool_size
    ping_rate: float = 400.0       # /ping per second, open loop
    ping_connections: int = 4      # the active connections carrying it
    slow_interval_s: float = 0.1   # one byte per slow client this often
    large_rate: float = 100.0
    large_connections: int = 2
    timeout_s: float = 2.0         # a request unanswered this long is a failure
    prime_wait_s: float = 1.0      # how long the streams' connections may wait for a worker
    warmup_s: float = 1.0          # closed loop before a session's first point (JIT, caches)

    def idle_levels_for(self, target: Target) -> list[int]:
        """The levels up to the target's own limit, and the limit itself if a level is over
        it (a model's cap, or a pool's workers)."""
        limit = target.max_connections()
        if target.pool_knob:
            limit = min(limit or self.pool_size, self.pool_size)
        if limit is None:
            return list(self.idle_levels)
        below = [n for n in self.idle_levels if n < limit]
        return below + [limit] if len(below) < len(self.idle_levels) else below


PROFILES = {
    # Quick: a pool of 32 (and 40 slow clients) starts in a fraction of the time of 256.
    "quick": ReadinessSpec(idle_levels=(0, 100), stream_s=0.3, slow_s=0.3, large_s=0.3,
                           repetitions=1, pool_size=32, slow_clients=40, ping_rate=200.0,
                           timeout_s=0.5, prime_wait_s=0.3, warmup_s=0.2),
    # Standard, within 4 minutes for 20 targets: three levels (a line over a decade and
    # more; setting up 10,000 connections takes 1-8 s a target, closing 5,000 threads 10 s).
    "standard": ReadinessSpec(idle_levels=(0, 1000, 10000), stream_s=1.0, slow_s=1.0,
                              large_s=1.0, repetitions=1),
    "full": ReadinessSpec(idle_levels=(0, 100, 1000, 2000, 5000, 10000), stream_s=3.0,
                          slow_s=3.0, large_s=2.0, repetitions=3),
}


def knobs_for(target: Target, spec: ReadinessSpec) -> dict[str, str]:
    return {target.pool_knob: str(spec.pool_size)} if target.pool_knob else {}


def is_reactor(target: Target) -> bool:
    return target.readiness in REACTORS


def points(spec: ReadinessSpec, target: Target, variant: bool) -> list[Point]:
    """The idle levels rising, the largest last: after it the server is stopped rather than
    left to close its connections (a thread per connection takes 40 s to end 10,000
    threads, each needing the GIL), which measure.py waits for after every other point."""
    idle = [] if variant else [Point.of(part="idle", idle=n)
                               for n in spec.idle_levels_for(target)]
    found = [*idle[:-1], Point.of(part="slow", slow=spec.slow_clients)]
    if is_reactor(target):
        found.append(Point.of(part="large", head_bytes=LARGE_HEAD))
    return found + idle[-1:]


def sessions(spec: ReadinessSpec, targets: Sequence[Target]) -> list[Session]:
    found = []
    for rep, target in interleave(targets, spec.repetitions):
        base = knobs_for(target, spec)
        found.append(Session.of(target, base, rep, points(spec, target, variant=False)))
        for extra in target.variants_for(NAME):
            found.append(Session.of(target, {**base, **extra}, rep,
                                    points(spec, target, variant=True)))
    return found
