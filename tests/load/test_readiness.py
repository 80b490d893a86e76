"""What the readiness experiment rests on, against real servers on every backend: the
pacer's idle connections and the server's memory and descriptors accounted for them; its
slowloris clients against a pool, with and without CLIENT_TIMEOUT, and an event loop; the
edge-triggered reactor's teaching bug (READ_ONCE=1) stalling where the real one answers."""

from __future__ import annotations

import os
import socket
import time

from lab.experiments.readiness.sampler import Sampler
from lab.loadgen import Background, PacerResult, Stream, run_pacer
from tests.load.conftest import serve

HEAD = 6000  # over one read of the reactors (4 KiB), under every server's head limit


def _held(backend, server, background: Background, duration: float = 1.0,
          ) -> tuple[PacerResult, Sampler]:
    """One /ping stream on one connection beside the background connections, the server
    sampled meanwhile."""
    with Sampler(server) as sampler:
        result, _ = run_pacer(backend, f"http://{server.host}:{server.port}",
                              [Stream("ping", "/ping", 50, connections=1)], duration,
                              timeout_s=3, background=background)
    return result, sampler


def _window(result: PacerResult, sampler: Sampler, duration: float = 1.0):
    start = result.summary["start_unix_ns"] / 1e9
    return sampler.window(start, start + duration,
                          held=(start - result.summary["prime_ns"] / 1e9,
                                start + result.summary["wall_ns"] / 1e9))


def test_descriptors_and_memory_of_a_known_number_of_idle_connections(backend) -> None:
    idle = 600
    with serve(backend, "python/epoll-lt") as server:
        time.sleep(0.2)  # the readiness probe's connection is closed by now
        before, memory_before = server.descriptors(), server.memory_bytes()
        result, sampler = _held(backend, server, Background(idle=idle))
        window = _window(result, sampler)
        limit = server.descriptor_limit()
    summary = result.summary
    assert summary["idle"] == {**summary["idle"], "requested": idle, "opened": idle,
                               "primed": idle, "open_at_end": idle, "closed_by_server": 0}
    assert all(r.ok for r in result.records)
    # Both sides may open them all (the lab raised the limits) and say so.
    assert limit is not None and limit > idle + 100 and summary["nofile"] > idle + 100
    if before is None:  # docker, when the lab may not read the container's /proc
        assert backend.name == "docker" and os.geteuid() != 0
    else:  # one socket per connection, the stream's included, and nothing else
        assert window.descriptors == before + idle + 1, (before, window.descriptors)
    # A reactor keeps a socket object, a parser and a small buffer per connection: more
    # than 100 bytes, far less than a thread's stack (tens of KB).
    per_connection = (window.memory - memory_before) / idle
    assert 100 < per_connection < 16 * 1024, per_connection


def test_memory_counts_every_process_and_shared_pages_once(backend) -> None:
    """python/fork: a process per connection. Each child dirties pages of its own (its
    stack, the objects whose reference counts it touches): over 100 KB each; the rest it
    shares with its parent, and summing each child's resident memory would count those
    again (10 MB a child); counted once, a child costs a few MB at most."""
    idle = 20
    with serve(backend, "python/fork") as server:
        memory_before = server.memory_bytes()
        result, sampler = _held(backend, server, Background(idle=idle))
        window = _window(result, sampler)
    assert result.summary["idle"]["open_at_end"] == idle
    per_child = (window.memory - memory_before) / (idle + 1)  # and the stream's connection
    assert 100 * 1024 < per_child < 5 * 1024**2, per_child


def _slow(backend, server, clients: int) -> tuple[PacerResult, dict]:
    result, _ = run_pacer(backend, f"http://{server.host}:{server.port}",
                          [Stream("ping", "/ping", 20, connections=1)], 3.0, timeout_s=3,
                          background=Background(slow=clients, prime_wait_s=1))
    return result, result.summary["slow"]


def test_slow_clients_hold_a_pools_workers_until_client_timeout_frees_them(backend) -> None:
    with serve(backend, "python/threadpool", WORKERS="2") as server:
        result, slow = _slow(backend, server, 4)
    assert slow["connected"] == 4 and slow["closed_by_server"] == 0
    assert not any(r.ok for r in result.records), "a pool held by slow clients answered"
    with serve(backend, "python/threadpool", WORKERS="2", CLIENT_TIMEOUT="1") as server:
        result, slow = _slow(backend, server, 4)
    # Every second each worker drops its slow client with a 408; the /ping connection,
    # queued behind them, gets a worker within two rounds and keeps it (keep-alive).
    assert slow["responses"].get("408", 0) >= 2 and slow["closed_by_server"] >= 2, slow
    assert sum(r.ok for r in result.records) >= len(result.records) // 2, result.summary


def test_an_event_loop_serves_everyone_beside_slow_clients(backend) -> None:
    with serve(backend, "python/epoll-lt") as server:
        result, slow = _slow(backend, server, 100)
    assert slow["connected"] == 100 and slow["open_at_end"] == 100
    assert slow["bytes_sent"] >= 100 * 20  # a byte every 100 ms for 3 s, each
    assert all(r.ok for r in result.records)


def _large_request(server) -> socket.socket:
    sock = socket.create_connection((server.host, server.port), timeout=10)
    pad = HEAD - len("GET /ping HTTP/1.1\r\nHost: lab\r\nX-Pad: \r\n\r\n")
    sock.sendall(f"GET /ping HTTP/1.1\r\nHost: lab\r\nX-Pad: {'a' * pad}\r\n\r\n".encode())
    return sock


def test_reading_once_per_edge_stalls_a_request_larger_than_one_read(backend) -> None:
    """Edge-triggered epoll reports the 6 KB request once; the reactor reads 4 KiB of it.
    Reading until EAGAIN, it has the rest at once and answers. Reading once (READ_ONCE=1,
    the teaching bug), it is never told about the rest: no answer, for as long as we wait,
    until the client sends one more byte (a new edge), and then the answer comes."""
    with serve(backend, "python/epoll-et") as server, _large_request(server) as sock:
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
    with serve(backend, "python/epoll-et", READ_ONCE="1") as server, \
            _large_request(server) as sock:
        sock.settimeout(1.0)  # a local server answers in a millisecond: 1 s is a stall
        try:
            early = sock.recv(4096)
        except TimeoutError:
            early = None
        assert early is None, f"READ_ONCE=1 did not stall: it sent {early[:40]!r}"
        sock.settimeout(10)
        sock.sendall(b"\r\n")  # an empty line before a request is allowed (RFC 9112 2.2)
        assert sock.recv(4096).startswith(b"HTTP/1.1 200 ")
