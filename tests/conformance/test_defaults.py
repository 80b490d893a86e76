"""Targets started with no knobs at all, as `lab.serve` starts them (runtimes/SPEC.md 7, 8).

The suite's shared server gets WORKERS=4; here nothing is set, so the defaults are tested.
"""

from __future__ import annotations

import socket
import time

import pytest

from lab.targets import discover
from tests.deployments import Deployment, backend_for, ensure_built

KEEP_ALIVE_CLIENTS = 64  # twice ApacheBench's -c 32; a browser alone opens 6
# Targets whose defaults size a set of workers: pools (a worker per connection) and
# event loops per worker (each serving many), from their runtime.toml facts.
WITH_WORKERS = tuple(t.name for t in discover()
                     if t.is_pool or t.kind == "event-loop-per-worker")


def _first_line(sock: socket.socket, deadline: float) -> bytes:
    sock.settimeout(max(0.01, deadline - time.monotonic()))
    try:
        return sock.recv(4096).split(b"\r\n", 1)[0]
    except OSError:  # timed out: still waiting for a worker
        return b""


@pytest.mark.targets(*WITH_WORKERS)
def test_default_pool_serves_many_keep_alive_clients_at_once(deployment: Deployment) -> None:
    """A pool worker belongs to its keep-alive client: the default pool must be large enough
    for the clients of a classic server, not one per CPU (one on a one-CPU cpuset)."""
    target = ensure_built(deployment)
    with backend_for(deployment.backend).serve(target) as server:
        socks = [socket.create_connection((server.host, server.port), timeout=10)
                 for _ in range(KEEP_ALIVE_CLIENTS)]
        try:
            for sock in socks:
                sock.sendall(b"GET /ping HTTP/1.1\r\nHost: lab\r\n\r\n")
            deadline = time.monotonic() + 10
            answers = [_first_line(sock, deadline) for sock in socks]
        finally:
            for sock in socks:
                sock.close()
    served = answers.count(b"HTTP/1.1 200 OK")
    assert served == KEEP_ALIVE_CLIENTS, f"{served} of {KEEP_ALIVE_CLIENTS} clients served"
