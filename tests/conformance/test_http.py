"""HTTP/1.1 behaviour (runtimes/SPEC.md section 2): persistence, pipelining, limits."""

from __future__ import annotations

import socket
import time

import pytest

from tests.conformance.rawhttp import Connection, PeerClosed
from tests.conformance.test_endpoints import WORK_GOLDEN

ACCEPTED_HEAD_BYTES = 7000     # under the 8,192 bytes every server must accept
REFUSED_HEAD_BYTES = 32768     # over the 16,384 bytes every server must refuse
BODY_LIMIT = 1_048_576
HALF_CLOSED_CLIENTS = 20


def padding_header(total_head: int) -> str:
    """An X-Padding header that brings a request head to about total_head bytes."""
    return f"X-Padding: {'a' * (total_head - 80)}\r\n"


def test_keep_alive_serves_many_requests_on_one_connection(server) -> None:
    with Connection(server.host, server.port) as conn:
        for _ in range(100):
            response = conn.request("/ping")
            assert response.status == 200 and response.body == b"pong"
            assert (response.header("connection") or "").lower() != "close"


@pytest.mark.smoke
def test_pipelined_requests_are_answered_in_order(server) -> None:
    with Connection(server.host, server.port) as conn:
        paths = ["/sleep?ms=50", "/work?n=10", "/ping", "/nope", "/work?n=2"]
        conn.send(b"".join(conn.request_bytes(p) for p in paths))
        responses = [conn.read_response() for _ in paths]
    assert [r.status for r in responses] == [200, 200, 200, 404, 200]
    assert responses[0].json() == {"ms": 50}
    assert responses[1].json()["digest"] == WORK_GOLDEN[10]
    assert responses[2].body == b"pong"
    assert responses[4].json()["digest"] == WORK_GOLDEN[2]


@pytest.mark.smoke
def test_connection_close_is_honoured(server) -> None:
    with Connection(server.host, server.port) as conn:
        response = conn.request("/ping", headers="Connection: close\r\n")
        assert response.status == 200
        assert (response.header("connection") or "").lower() == "close"
        assert conn.closed_by_peer()


def test_http_1_0_request_is_answered_and_closed(server) -> None:
    with Connection(server.host, server.port) as conn:
        response = conn.request("/ping", version="HTTP/1.0")
        assert response.status == 200 and response.body == b"pong"
        assert conn.closed_by_peer()


def test_http_1_0_keep_alive_is_said_in_the_response(server) -> None:
    """An HTTP/1.0 client keeps its connection only if the response says so (RFC 9112
    section 9.3); one that does not hear it waits for a close that never comes (ab -k)."""
    with Connection(server.host, server.port) as conn:
        for _ in range(3):
            response = conn.request("/ping", version="HTTP/1.0",
                                    headers="Connection: keep-alive\r\n")
            assert response.status == 200 and response.body == b"pong"
            assert (response.header("connection") or "").lower() == "keep-alive"


def test_missing_host_on_http_1_1_is_400(server) -> None:
    with Connection(server.host, server.port) as conn:
        conn.send(b"GET /ping HTTP/1.1\r\n\r\n")
        assert conn.read_response().status == 400


def test_head_within_the_limit_is_accepted(server) -> None:
    """Also a request larger than one read of most servers' receive buffers."""
    with Connection(server.host, server.port) as conn:
        response = conn.request("/work?n=10", headers=padding_header(ACCEPTED_HEAD_BYTES))
        assert response.status == 200
        assert response.json()["digest"] == WORK_GOLDEN[10]
        assert conn.request("/ping").status == 200


@pytest.mark.smoke
@pytest.mark.parametrize("pieces", [1, 32], ids=["one-write", "in-pieces"])
def test_oversized_head_is_431_and_closed(server, pieces: int) -> None:
    """The client sends its whole head, then reads: the 431 must reach it (SPEC section 2).

    The server decides after reading about 8-16 KB; closing with the rest unread would make
    the kernel reset the connection, losing the 431 or failing the client's next send. In
    pieces (1 KB every 2 ms, about 0.1 s in all), the client is still sending when the server
    has answered."""
    with Connection(server.host, server.port) as conn:
        head = conn.request_bytes("/ping", headers=padding_header(REFUSED_HEAD_BYTES))
        size = -(-len(head) // pieces)
        try:
            for start in range(0, len(head), size):
                conn.send(head[start:start + size])
                if pieces > 1:
                    time.sleep(0.002)
            response = conn.read_response()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise AssertionError("server reset the connection instead of answering 431") from exc
        assert response.status == 431
        assert conn.closed_by_peer()


def test_half_closed_client_gets_its_answer(server) -> None:
    """GET /ping, then shutdown(SHUT_WR) at once, as nc -N and socat do: the server answers,
    then closes. Repeated, because the end of the stream often arrives with the request."""
    for _ in range(HALF_CLOSED_CLIENTS):
        with Connection(server.host, server.port) as conn:
            conn.send(conn.request_bytes("/ping"))
            conn.sock.shutdown(socket.SHUT_WR)
            try:
                response = conn.read_response()
            except (PeerClosed, ConnectionResetError) as exc:
                raise AssertionError("no answer after the client's half-close") from exc
            assert response.body == b"pong"
            assert conn.closed_by_peer()


def test_small_body_is_read_and_discarded(server) -> None:
    with Connection(server.host, server.port) as conn:
        body = b"x" * 5000
        conn.send(conn.request_bytes("/ping", headers=f"Content-Length: {len(body)}\r\n")
                  + body)
        assert conn.read_response().body == b"pong"
        assert conn.request("/work?n=1").json()["digest"] == WORK_GOLDEN[1]


def test_oversized_body_is_413(server) -> None:
    with Connection(server.host, server.port) as conn:
        conn.send(conn.request_bytes("/ping", headers=f"Content-Length: {BODY_LIMIT * 2}\r\n"))
        response = conn.read_response()
        assert response.status == 413
        assert response.media_type == "application/json"
        assert conn.closed_by_peer()


def test_invalid_content_length_is_400(server) -> None:
    with Connection(server.host, server.port) as conn:
        conn.send(conn.request_bytes("/ping", headers="Content-Length: abc\r\n"))
        assert conn.read_response().status == 400


def test_responses_are_framed_by_content_length(server) -> None:
    with Connection(server.host, server.port) as conn:
        for path in ["/ping", "/info", "/work?n=1", "/sleep?ms=0", "/nope", "/work?n=x"]:
            response = conn.request(path)
            assert response.header("content-length") == str(len(response.body)), path
            assert response.header("content-type"), path
            assert response.header("transfer-encoding") is None, path
