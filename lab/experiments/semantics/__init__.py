"""Experiment semantics: when does async code run? Probe programs per language, their
traces checked against the expected order.

Each runtime folder may declare probes (probes/probes.toml; README.md here describes the
format): small programs that print numbered events. measure.py runs them with a deadline
on the run's backend and verdict.py compares; analysis.py reports. No server runs.
"""

from __future__ import annotations

from contextlib import nullcontext

from analysis.content import Concept, Headline
from lab.experiments.framework import Experiment
from lab.experiments.semantics import measure as measuring

CONCEPT = Concept("When does async code run?", (
    "The misconceptions the talk opens with show in no load test: a Promise's executor "
    "runs synchronously, inside new Promise(); an async function runs synchronously until "
    "its first await, and awaiting a value that is already there still yields to the "
    "microtask queue; a Rust future and a Python coroutine do nothing until something "
    "polls or awaits them, while tokio::spawn and asyncio.create_task hand them to the "
    "runtime; a goroutine runs concurrently with its caller and is preempted even in a "
    "loop without calls; a blocking mutex held across an await on a single-threaded "
    "runtime deadlocks it.",
    "Each runtime folder holds small probe programs that print numbered events, and "
    "declares beside each the trace it must print, the one-sentence lesson, and a "
    "deadline. The lab runs every probe on the run's backend (natively, or in the "
    "runtime's image with the servers' hardening) and compares the observed trace with "
    "the expected one. A probe whose lesson is a deadlock is expected to hang: the "
    "deadline that kills it is what detects the deadlock. A probe that cannot apply where "
    "it runs (asyncio's eager task factory needs Python 3.12) says so and is not counted. "
    "Each trace is designed so that scheduling noise cannot change it: where the lesson "
    "is about timing, the probe prints only events whose order the lesson forces.",
    "Where the probes differ from the talk's slides: its Rust slide spawns the task that "
    "holds a std::sync::Mutex guard across .await with tokio::spawn, which does not "
    "compile (the guard is not Send, and clippy's await_holding_lock lint names the bug); "
    "the probe spawns it with spawn_local on a LocalSet, which deadlocks as the slide "
    "says. Node's queue order holds inside a callback of the loop, which is where the "
    "probe starts: at the top of an ES module the module body itself runs as a microtask, "
    "so Promise callbacks run before process.nextTick ones, and setTimeout(0) and "
    "setImmediate run in either order, depending on timing.",
))


class Semantics(Experiment):
    name = "semantics"
    title = "When does async code run? Probe programs checked against their expected traces"
    order = 60
    profiles = measuring.PROFILES
    concept = CONCEPT
    headline = Headline(("as_expected",))

    def start(self, backend, session):
        return nullcontext()  # no server: each point runs a probe program


EXPERIMENT = Semantics()
