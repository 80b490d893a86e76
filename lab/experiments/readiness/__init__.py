"""Experiment readiness: what idle connections cost each model, select/poll vs epoll, level
vs edge, and slow clients.

spec.py plans the points from the targets' facts, measure.py (with sampler.py) measures,
summary.py computes what the report says, figures.py, findings.py and tables.py say it;
analysis.py assembles the section and the scorecard.
"""

from __future__ import annotations

from collections.abc import Sequence

from analysis.content import Concept, Headline
from lab.experiments.framework import Experiment, Session
from lab.experiments.readiness import spec as planning
from lab.targets import Target

CONCEPT = Concept("Idle connections, readiness, and slow clients", (
    "The C10K problem is not ten thousand busy connections but ten thousand open ones, most "
    "of them idle. select() and poll() hand the kernel the whole set on every call, and it "
    "checks each descriptor: a call costs in proportion to the connections, busy or not, and "
    "select() cannot even name a descriptor past FD_SETSIZE (1024). epoll keeps the set in "
    "the kernel, which the sockets themselves keep informed, so a wait costs in proportion "
    "to what is ready (libevent's benchmark: select and poll grow linearly with idle "
    "descriptors, epoll stays flat). Memory is the other price: a thread or a process per "
    "connection pays a stack and a kernel task for each, a goroutine a few KB, an event loop "
    "a socket object and a buffer.",
    "The experiment holds N idle keep-alive connections open (each answered once, then "
    "silent) while /ping arrives on a few other connections at a fixed rate (open loop), and "
    "measures the server's CPU per /ping, /ping latency from its intended send time, and "
    "the server's memory (anonymous resident memory of every process, shared pages counted "
    "once) and descriptors. A pool of workers that each own a connection (prefork, a thread "
    "pool) has nothing left for anyone else once the idle connections hold every worker: "
    "slow clients that trickle their request a byte at a time (slowloris) exploit exactly "
    "that, unless the server gives up on a client that takes too long.",
    "Level- vs edge-triggered: a level-triggered wait reports a socket for as long as it has "
    "data, an edge-triggered one once per arrival, so the server must read until the socket "
    "is empty (EAGAIN) or a request larger than one read waits forever. The Python reactors "
    "count their waits, events and reads, and the report shows them per request.",
))


class Readiness(Experiment):
    name = planning.NAME
    title = "Idle connections vs CPU, latency and memory; slow clients; level vs edge"
    order = 50
    profiles = planning.PROFILES
    concept = CONCEPT
    flags = {
        "late-dispatch": "the pacer dispatched its 99th percentile request over 5 ms late: its "
                         "own schedule slipped, so part of the latency is the generator's",
        "coarse-cpu": "the server's CPU was sampled over less than half the stream's window "
                      "(a slow stats API, or a stream too short): CPU per request is rough",
        "idle-dropped": "the server closed some of the idle connections, or never accepted "
                        "them, before the end of the point",
        "capped": "the level was not run: it needs more descriptors than the server may "
                  "open, or more memory than the budget (projected from the levels below)",
    }
    headline = Headline(("cpu_per_request", "latency_p99", "memory"), where={"part": "idle"})

    def sessions(self, spec: planning.ReadinessSpec, targets: Sequence[Target],
                 ) -> list[Session]:
        return planning.sessions(spec, targets)


EXPERIMENT = Readiness()
