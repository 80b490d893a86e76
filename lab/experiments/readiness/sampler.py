"""The server's CPU, memory and descriptors, sampled on threads while the pacer runs.

The pacer sets up its idle connections before its clock starts (which costs the server CPU
in proportion to N) and says afterwards, in its summary, when the clock started. So the lab
samples all along, on the wall clock the pacer's summary also uses, and keeps the samples
inside the streams' window: the CPU rate over that window is the cost of serving the stream
beside N idle connections, and memory and descriptors are those of the server holding them.

Two threads sample: the CPU often (every 50 ms, or four times as long as a reading took:
at most a fifth of a CPU), memory and descriptors back to back (every 0.1 s at most): for a
process per connection, a reading walks every process's memory map, and at 1,000
connections that takes a third of a second, so readings must follow each other closely for
one to fall inside a window of a second.
"""

from __future__ import annotations

import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.backends import Server

CPU_PERIOD_S = 0.05
CPU_DUTY = 4            # wait at least this many times as long as a CPU reading took
SNAPSHOT_PERIOD_S = 0.1


@dataclass(frozen=True)
class Snapshot:
    start: float   # wall clock (time.time) when the readings began and ended
    end: float
    memory: int | None
    descriptors: int | None


@dataclass
class Window:
    """What the samples inside a pacer run's window say."""

    cpu_rate: float | None      # CPU seconds per second of the server
    cpu_samples: int            # how many CPU readings that rests on
    cpu_span: float             # seconds between the first and last of them
    memory: int | None          # median over the snapshots
    descriptors: int | None     # most seen
    snapshots: int


@dataclass
class Sampler:
    server: Server
    cpu: list[tuple[float, float]] = field(default_factory=list)
    snapshots: list[Snapshot] = field(default_factory=list)
    error: str = ""

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._loop, args=(read, wait), daemon=True)
                         for read, wait in ((self._cpu, self._cpu_wait),
                                            (self._snapshot, self._snapshot_wait))]

    @staticmethod
    def _cpu_wait(took: float) -> float:
        return max(CPU_PERIOD_S, CPU_DUTY * took)

    @staticmethod
    def _snapshot_wait(took: float) -> float:
        return max(0.0, SNAPSHOT_PERIOD_S - took)

    def __enter__(self) -> Sampler:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _cpu(self) -> None:
        began = time.time()
        self.cpu.append((began, self.server.cpu_seconds()))

    def _snapshot(self) -> None:
        start = time.time()
        memory, descriptors = self.server.memory_bytes(), self.server.descriptors()
        self.snapshots.append(Snapshot(start, time.time(), memory, descriptors))

    def _loop(self, read: Callable[[], None], wait: Callable[[float], float]) -> None:
        while not self._stop.is_set():
            began = time.time()
            try:
                read()
            except Exception as exc:  # the server went away: what was sampled stays
                self.error = f"{type(exc).__name__}: {exc}"[:200]
                return
            self._stop.wait(wait(time.time() - began))

    def window(self, start: float, end: float, held: tuple[float, float]) -> Window:
        """CPU over the streams' window [start, end]; memory and descriptors over `held`,
        while every background connection was open (from the end of their set-up)."""
        inside = [(t, c) for t, c in self.cpu if start <= t <= end]
        rate = None
        if len(inside) >= 2 and inside[-1][0] > inside[0][0]:
            rate = (inside[-1][1] - inside[0][1]) / (inside[-1][0] - inside[0][0])
        span = inside[-1][0] - inside[0][0] if inside else 0.0
        shots = [s for s in self.snapshots if s.start >= held[0] and s.end <= held[1]]
        memory = [s.memory for s in shots if s.memory is not None]
        descriptors = [s.descriptors for s in shots if s.descriptors is not None]
        return Window(rate, len(inside), span,
                      int(statistics.median(memory)) if memory else None,
                      max(descriptors) if descriptors else None, len(shots))
