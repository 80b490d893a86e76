"""Experiment blocking: what a busy handler does to everyone else, and what offload buys.

measure.py measures (the pacer: /ping on schedule while /cpu bursts run inline, then
offloaded), theory.py predicts what a fully blocking server would show, verdicts.py
compares, findings.py, figures.py and tables.py report; analysis.py assembles.
"""

from __future__ import annotations

from analysis.content import Concept, Headline
from lab.experiments.blocking import measure as measuring
from lab.experiments.framework import Experiment

CONCEPT = Concept("A busy handler vs everyone else", (
    "async/await is cooperative multitasking: a task runs until it awaits. A Promise "
    "does not make code non-blocking; a CPU-bound handler on an event loop holds the "
    "loop, and every other request waits until it finishes. Runtimes differ in what "
    "they do about it: Go preempts a goroutine that runs too long; a blocked tokio task "
    "holds its worker thread, and when that worker was the one polling epoll, the idle "
    "workers are not told about new requests either; Python threads share one GIL; "
    "processes are isolated by the kernel's scheduler, but only for the connections "
    "they own (node/cluster and prefork hand out connections, not requests).",
    "The experiment sends /ping at a steady 200 per second (open loop: on schedule, "
    "whatever the server does) while /cpu?ms=100 requests spin the CPU twice a second, "
    "first inline (on the handler's own executor), then with offload=1 (handed to the "
    "runtime's idiomatic facility: a worker thread, spawn_blocking, an executor). "
    "Latency is measured from each request's intended send time, so a stall cannot hide "
    "(no coordinated omission).",
    "Queueing theory gives the yardstick: a single loop blocked 100 ms twice a second "
    "delays a /ping arriving at a random moment with probability 0.2, by a uniform "
    "0-100 ms, so p50 = 0, p90 = 50 ms, p99 = 95 ms. The closer a target comes to that, "
    "the more it behaves like a blocked loop.",
))


class Blocking(Experiment):
    name = "blocking"
    title = "A busy handler vs everyone else: inline and offloaded CPU work"
    order = 20
    profiles = measuring.PROFILES
    concept = CONCEPT
    flags = {"late-dispatch": "the pacer dispatched over 1 % of a stream's requests more than "
                              "5 ms after their intended time: its own schedule slipped, so "
                              "part of the tail latency is the generator's"}
    headline = Headline(("latency_p50", "latency_p90", "latency_p99", "latency_p99_9",
                         "errors"), where={"stream": "ping"})
    story_rank = 1


EXPERIMENT = Blocking()
