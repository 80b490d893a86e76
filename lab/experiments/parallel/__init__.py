"""Experiment parallel: who turns a second CPU into throughput, on CPU-bound requests.

measure.py measures (each target restarted on 1, 2, ... CPUs; /work and /hash, inline and
offloaded, in a closed loop), expected.py says what the target's facts predict,
analysis.py (with figures.py and tables.py) reports.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.content import Concept, Headline
from lab.cpus import SHARED_CPU_GENERATOR_LIMIT, CpuSets
from lab.experiments.framework import Experiment, Session
from lab.experiments.parallel import measure as measuring
from lab.targets import Target

CONCEPT = Concept("Concurrency is not parallelism: who uses a second CPU", (
    "Concurrency is dealing with many things at once; parallelism is doing many things at "
    "once. An event loop is concurrent: it interleaves thousands of connections on one "
    "thread, but computes one request at a time, so a second CPU does nothing for its "
    "CPU-bound requests. Go's goroutines, tokio's workers, pre-forked processes and "
    "threads run on as many CPUs as they are given, and so does a loop that hands its "
    "computation to other threads (offload=1), unless something serialises it: CPython "
    "runs Python code under one global interpreter lock (the GIL), which a thread "
    "releases only around blocking calls and C code that gives it up, such as hashlib's "
    "PBKDF2.",
    "The experiment restarts every target on 1 CPU, then on 2 (and 4, 8, ... where the "
    "machine has them), so that the knobs a runtime derives from its CPU set follow it "
    "(GOMAXPROCS, tokio's worker threads, node:cluster's and the C workers, Java's "
    "carrier threads). A closed loop of at least four connections per CPU keeps it busy "
    "with CPU-bound requests of tens of ms: /work (a loop in the language itself) and "
    "/hash (PBKDF2, in C or the standard library), each inline and with offload=1. "
    "Speed-up is goodput on k CPUs over goodput on 1; the ideal is k.",
    "On a 2-core machine the 2-CPU server shares one core with the load generator. The "
    "requests are long, so the generator needs a few percent of that core: it is "
    "measured at every point, and a point where it took more than 10 % is refused.",
))


class Parallel(Experiment):
    name = "parallel"
    title = "Concurrency vs parallelism: CPU-bound goodput on 1, 2, ... CPUs"
    order = 30
    profiles = measuring.PROFILES
    concept = CONCEPT
    flags = {"generator-heavy": (
        f"the load generator took over {SHARED_CPU_GENERATOR_LIMIT:.0%} of the core it "
        "shared with the server, so the server's last CPU was not its own: the point is "
        "left out of the speed-ups"),
        "cpu-starved": (
            f"on one CPU the server got under {measuring.MIN_BUSY_ALONE:.0%} of it, though "
            "CPU-bound requests kept it busy: other processes ran there, so this target's "
            "speed-ups are inflated and are marked disturbed"),
        "counted-goodput": (
            "the server did not serve its connections evenly (some still waiting for their "
            "first response, or starved), so goodput is the 2xx responses counted over the "
            "window rather than the connections' rates")}
    headline = Headline(("goodput_per_s", "server_cpus_busy"))

    def sessions_on(self, spec: measuring.ParallelSpec, targets: Sequence[Target],
                    cpus: CpuSets) -> list[Session]:
        return measuring.sessions(spec, targets, cpus)


EXPERIMENT = Parallel()
