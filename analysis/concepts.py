"""The idea behind each experiment, as the report explains it (after the talk
"Asynchrony Deep Dive": event loops, preemption, thread pools, select/poll/epoll)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Concept:
    title: str
    paragraphs: tuple[str, ...]


CONCEPTS: dict[str, Concept] = {
    "sweep": Concept("Throughput and latency vs concurrency", (
        "A server can handle many connections concurrently without running them in parallel. "
        "The classic ways are one process per connection (fork), a pool of pre-forked "
        "processes, a thread per connection, a pool of pre-started threads, and I/O "
        "multiplexing: one thread asks the kernel which sockets are ready (select, poll, "
        "epoll) and only works on those: \"do work only when it is possible to proceed\".",
        "Node (libuv), Go (the netpoller under goroutines) and tokio (mio) all multiplex with "
        "epoll underneath; they differ in who runs the handlers: one event loop, an M:N "
        "scheduler of goroutines, or a pool of worker threads stealing tasks. select() "
        "cannot watch descriptors past FD_SETSIZE = 1024; fork and threads pay per "
        "connection in memory and scheduling.",
        "The sweep drives each server with wrk (closed loop: each connection sends its next "
        "request when the previous answer arrives) at rising numbers of keep-alive "
        "connections, on /ping (pure overhead) and /sleep?ms=10 (a timer standing in for "
        "I/O, whose ceiling is connections / 10 ms). Like the ZeroHTTPd study the talk "
        "cites, look for where each model stops scaling or starts failing.",
    )),
    "blocking": Concept("A busy handler vs everyone else", (
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
    )),
    "threadpool": Concept("Thread pools under concurrent CPU work", (
        "Runtimes keep a pool of threads for work that would block the loop: libuv's pool "
        "(UV_THREADPOOL_SIZE, default 4) runs crypto.pbkdf2 and file system calls, tokio "
        "has a blocking pool for spawn_blocking, Python has executors. N concurrent /hash "
        "requests on a pool of size k finish in steps of k: the pool size is the "
        "parallelism of the offloaded work.",
    )),
    "parallel": Concept("Concurrent is not parallel", (
        "A concurrent system handles many tasks; a parallel one runs several at the same "
        "instant, which needs several cores and several executors. CPU-bound throughput on "
        "one vs two cores shows who uses the second core (goroutines, tokio workers, "
        "processes) and who cannot (one event loop, Python threads under the GIL).",
    )),
    "semantics": Concept("What runs when", (
        "A Promise executor runs synchronously; an async function runs until its first "
        "await; a Rust future is inert until polled; a Python coroutine does nothing until "
        "awaited or scheduled; a goroutine runs concurrently at once. A blocking mutex held "
        "across an await on a single-threaded runtime deadlocks.",
    )),
    "readiness": Concept("Readiness: level- vs edge-triggered, select's limit", (
        "select and poll report descriptors that are ready now (level-triggered); epoll can "
        "also report only changes since the last wait (edge-triggered), which obliges the "
        "server to read until EAGAIN or stall. select cannot watch descriptors past 1024.",
    )),
}


def concept(experiment: str) -> Concept:
    return CONCEPTS.get(experiment, Concept(experiment, (
        f"The report does not know the experiment '{experiment}' yet: its medians per "
        "target, parameters and metric are tabled below as they were recorded.",)))
