"""Promises particular to some server models (runtimes/SPEC.md, section 8), on every backend.

select() cannot watch a descriptor numbered FD_SETSIZE (1024) or more; poll and epoll
have no such limit; fork() per connection must reap every child; a pool with a
CLIENT_TIMEOUT gives up on a client that does not complete its request in time.
"""

from __future__ import annotations

import resource
import socket
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from lab.targets import discover
from tests.conformance.rawhttp import Connection

PAST_FD_SETSIZE = 1100  # client connections: the server's descriptors pass 1024
FORKED_CONNECTIONS = 10_000
# Which targets each promise applies to, from their runtime.toml facts.
TARGETS = discover()
SELECT = tuple(t.name for t in TARGETS if t.readiness == "select")
FORK = tuple(t.name for t in TARGETS if t.kind == "process-per-connection")
CLIENT_TIMEOUT = tuple(t.name for t in TARGETS if "CLIENT_TIMEOUT" in t.knob_names)
# Targets that serve every open connection at once (pool models serve WORKERS at a time;
# fork has its own, larger test below).
ALL_AT_ONCE = tuple(t.name for t in TARGETS if t.serves_all_at_once(PAST_FD_SETSIZE)
                    and t.name not in FORK)


@pytest.fixture
def many_descriptors() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, 4 * PAST_FD_SETSIZE)
    assert wanted > PAST_FD_SETSIZE + 100, f"the test needs {PAST_FD_SETSIZE + 100} descriptors"
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _open(server, count: int) -> list[socket.socket]:
    return [socket.create_connection((server.host, server.port), timeout=10) for _ in range(count)]


def _ping(sock: socket.socket) -> bytes:
    """One /ping on an open socket; the first line of the answer, b'' if the peer closed."""
    sock.sendall(b"GET /ping HTTP/1.1\r\nHost: lab\r\n\r\n")
    try:
        return sock.recv(4096).split(b"\r\n", 1)[0]
    except (ConnectionResetError, BrokenPipeError):
        return b""


@pytest.mark.targets(*SELECT)
def test_select_closes_connections_past_fd_setsize_and_keeps_serving(
        fresh_server, many_descriptors) -> None:
    with fresh_server() as server:
        socks = _open(server, PAST_FD_SETSIZE)
        try:
            answers = [_ping(s) for s in socks]
            idle_from = server.cpu_seconds()
            time.sleep(1.0)
            idle_cpu = server.cpu_seconds() - idle_from
            again = _ping(socks[0])  # a connection from before the overflow is still served
        finally:
            for s in socks:
                s.close()
        served = answers.count(b"HTTP/1.1 200 OK")
        refused = answers.count(b"")
        assert served + refused == PAST_FD_SETSIZE, set(answers)
        assert 900 < served < 1024 and refused > 0, (served, refused)
        assert again == b"HTTP/1.1 200 OK"
        assert "FD_SETSIZE" in server.log_tail(50)
        assert idle_cpu < 0.3, f"{idle_cpu:.2f} CPU-s in 1 s idle: the loop spins"
        with Connection(server.host, server.port) as conn:
            assert conn.request("/ping").status == 200


@pytest.mark.targets(*ALL_AT_ONCE)
def test_over_a_thousand_open_connections_are_all_served(fresh_server, many_descriptors) -> None:
    with fresh_server() as server:
        socks = _open(server, PAST_FD_SETSIZE)
        try:
            answers = [_ping(s) for s in socks]
        finally:
            for s in socks:
                s.close()
        assert answers.count(b"HTTP/1.1 200 OK") == PAST_FD_SETSIZE, set(answers)


def _zombie_descendants(pid: int) -> list[int]:
    parent_of: dict[int, int] = {}
    state_of: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            after_name = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        state_of[int(entry.name)], parent_of[int(entry.name)] = after_name[0], int(after_name[1])
    found, frontier = [], {pid}
    while frontier:
        children = {c for c, p in parent_of.items() if p in frontier}
        found += [c for c in children if state_of[c] == "Z"]
        frontier = children
    return found


@pytest.mark.targets(*FORK)
def test_fork_reaps_every_child(fresh_server) -> None:
    def one_connection(_: int) -> int:
        with Connection(server.host, server.port) as conn:
            return conn.request("/ping", headers="Connection: close\r\n").status

    with fresh_server() as server:
        with ThreadPoolExecutor(8) as clients:
            statuses = list(clients.map(one_connection, range(FORKED_CONNECTIONS)))
        assert statuses.count(200) == FORKED_CONNECTIONS
        deadline = time.monotonic() + 5
        while (zombies := _zombie_descendants(server.host_pid())) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert zombies == [], f"{len(zombies)} unreaped children"


@pytest.mark.targets(*CLIENT_TIMEOUT)
def test_a_client_slower_than_client_timeout_loses_its_worker(fresh_server) -> None:
    """One worker, CLIENT_TIMEOUT=1: a client that began a request and stalls (slowloris)
    gets 408 and is closed, so that the client queued behind it is served; that client,
    answered and then silent, is closed without a word after the timeout too."""
    with fresh_server(knobs={"WORKERS": "1", "CLIENT_TIMEOUT": "1"}) as server, \
            Connection(server.host, server.port, timeout=10) as slow:
        slow.send(b"GET /ping HTTP/1.1\r\nHost: la")  # first in line: it gets the worker
        started = time.monotonic()
        with Connection(server.host, server.port, timeout=10) as queued:
            queued.send(queued.request_bytes("/info"))
            assert slow.read_response().status == 408
            waited = time.monotonic() - started
            assert slow.closed_by_peer(timeout=5.0)
            answer = queued.read_response()
            assert answer.status == 200 and answer.json()["knobs"]["CLIENT_TIMEOUT"] == 1
            idle_from = time.monotonic()
            assert queued.closed_by_peer(timeout=5.0), "an idle keep-alive client kept its worker"
            idle = time.monotonic() - idle_from
    # Half the timeout: the worker waited for the client rather than closing at once (the
    # upper bounds, 5 s, are the timeout plus the 0.5 s linger and a busy machine's slack).
    assert waited > 0.5 and idle > 0.5, (waited, idle)
