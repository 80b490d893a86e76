"""Experiment threadpool: what a pool's size does to a burst of offloaded work.

measure.py measures (B offloaded /hash requests at once against pool sizes P on 1 and 2
CPUs, and a pool probe where the target has one), theory.py gives the fair-share
completion times, analysis.py (with figures.py and tables.py) reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.content import Concept, Headline
from lab.cpus import SHARED_CPU_GENERATOR_LIMIT, CpuSets
from lab.experiments.framework import Experiment, Session
from lab.experiments.threadpool import measure as measuring
from lab.targets import Target

CONCEPT = Concept("The hidden pool under an async runtime", (
    "An event loop never blocks, so what cannot be done without blocking is handed to a "
    "small pool of threads: libuv runs crypto.pbkdf2, fs and dns.lookup on "
    "UV_THREADPOOL_SIZE threads (4 by default), tokio runs spawn_blocking on its "
    "blocking pool, Python's loops on a ThreadPoolExecutor. A pool of P threads runs P "
    "jobs at a time; the rest wait in its queue, whatever the CPUs could do.",
    "The experiment sends a burst of B /hash?offload=1 requests at the same instant and "
    "records when each completes, for pool sizes P (standard: 1, 4, 8) on 1 and on 2 "
    "CPUs. With P <= CPUs the completions come in steps of P, one request's time t apart, "
    "and with P < CPUs "
    "a CPU stays idle; with P > CPUs the kernel time-slices the P threads, so a whole "
    "wave finishes late, together. Beside each measurement stands what a fair scheduler "
    "gives B jobs of t on P threads and C CPUs. Targets without a pool (a goroutine, "
    "thread or process per request) are the baseline: every request runs at once and "
    "all of them share the CPUs.",
    "A pool is shared by everything that uses it. Where a target declares a probe that "
    "uses the same pool (node's /fs, a 64-byte read through libuv), a steady stream of "
    "probes runs through the burst: while PBKDF2 holds every thread, a read that needs "
    "microseconds waits its turn behind all of it.",
))


class Threadpool(Experiment):
    name = "threadpool"
    title = "A burst of offloaded work against pool sizes: steps, time-slicing, a shared pool"
    order = 40
    profiles = measuring.PROFILES
    concept = CONCEPT
    flags = {"generator-heavy": (
        f"the load generator took over {SHARED_CPU_GENERATOR_LIMIT:.0%} of the core it "
        "shared with the server"),
        "cpu-starved": (
            f"over the burst the server kept under {measuring.MIN_BUSY:.0%} of min(P, CPUs) "
            "CPUs busy, though the pool's threads had work for them: other processes held "
            "its CPUs, so the burst is left out of the comparison with the theory")}
    headline = Headline(("completion_p50_ms", "completion_max_ms"))

    def sessions_on(self, spec: measuring.ThreadpoolSpec, targets: Sequence[Target],
                    cpus: CpuSets) -> list[Session]:
        return measuring.sessions(spec, targets, cpus)


EXPERIMENT = Threadpool()
