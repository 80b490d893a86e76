"""Clients that misbehave do not hurt the server (the autouse check pings after each)."""

from __future__ import annotations

import socket
import struct
import time

import pytest

from tests.conformance.rawhttp import Connection, get


@pytest.mark.parametrize("partial", [
    b"GET /pi",
    b"GET /ping HTTP/1.1\r\nHost: x\r\n",
    b"GET /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly-part",
], ids=["mid-request-line", "mid-headers", "mid-body"])
def test_disconnect_mid_request(server, partial: bytes) -> None:
    with Connection(server.host, server.port) as conn:
        conn.send(partial)
    assert get(server.host, server.port, "/ping").body == b"pong"


@pytest.mark.parametrize("path", ["/sleep?ms=300", "/cpu?ms=100", "/cpu?ms=100&offload=1",
                                  "/hash?iter=20000&offload=1"])
def test_disconnect_while_the_request_is_handled(server, path: str) -> None:
    with Connection(server.host, server.port) as conn:
        conn.send(conn.request_bytes(path))
        time.sleep(0.05)
    time.sleep(0.4)  # let the handler finish and find its client gone
    assert get(server.host, server.port, "/ping").body == b"pong"


def test_reset_mid_response_does_not_hurt(server) -> None:
    """An abortive close (RST) while a response is being written."""
    sock = socket.create_connection((server.host, server.port))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.sendall(b"GET /info HTTP/1.1\r\nHost: x\r\n\r\n" * 50)
    sock.close()
    time.sleep(0.2)
    assert get(server.host, server.port, "/ping").body == b"pong"


def test_idle_connections_do_not_block_others(server) -> None:
    """Connections that open and say nothing must not stop a new client being served.

    Pool models have WORKERS=4 under the suite; two idle connections leave room.
    """
    idle = [socket.create_connection((server.host, server.port)) for _ in range(2)]
    try:
        assert get(server.host, server.port, "/ping").body == b"pong"
    finally:
        for sock in idle:
            sock.close()


def test_many_short_connections(server) -> None:
    for _ in range(200):
        with Connection(server.host, server.port) as conn:
            assert conn.request("/ping", headers="Connection: close\r\n").status == 200
