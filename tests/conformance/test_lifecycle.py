"""Start-up knobs and shutdown (runtimes/SPEC.md sections 7 and 9), on private servers."""

from __future__ import annotations

import signal
import time

import pytest

from lab.errors import ServerStartError
from lab.targets import select
from tests.conformance.rawhttp import Connection, PeerClosed

# SPEC: exit within 2 s of SIGTERM. Observing the exit (process wait, or the Docker API)
# adds a little; 0.5 s covers it without letting a server that drains too long pass.
EXIT_BOUND_SECONDS = 2.5


def _exit_after_sigterm(server) -> tuple[int | None, float]:
    started = time.monotonic()
    server.send_signal(signal.SIGTERM)
    status = server.wait_exit(timeout=EXIT_BOUND_SECONDS + 2)
    return status, time.monotonic() - started


def test_sigterm_when_idle_exits_0_promptly(fresh_server) -> None:
    with fresh_server() as server, Connection(server.host, server.port) as idle:
        assert idle.request("/ping").status == 200  # an idle keep-alive connection stays open
        status, elapsed = _exit_after_sigterm(server)
        assert status == 0, f"exit status {status}\n{server.log_tail()}"
        assert elapsed < EXIT_BOUND_SECONDS
        assert idle.closed_by_peer(timeout=1.0), "idle keep-alive connection left open"


@pytest.mark.smoke
def test_sigterm_lets_the_request_in_flight_finish(fresh_server) -> None:
    with fresh_server() as server, Connection(server.host, server.port) as conn:
        conn.send(conn.request_bytes("/sleep?ms=300"))
        time.sleep(0.1)  # the request is being handled when the signal arrives
        started = time.monotonic()
        server.send_signal(signal.SIGTERM)
        response = conn.read_response()
        assert response.status == 200 and response.json() == {"ms": 300}
        status = server.wait_exit(timeout=EXIT_BOUND_SECONDS + 2)
        assert status == 0, f"exit status {status}\n{server.log_tail()}"
        assert time.monotonic() - started < EXIT_BOUND_SECONDS


def test_no_new_connections_are_served_while_draining(fresh_server) -> None:
    with fresh_server() as server, Connection(server.host, server.port) as conn:
        conn.send(conn.request_bytes("/sleep?ms=800"))
        time.sleep(0.1)
        server.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        try:
            with Connection(server.host, server.port, timeout=2.0) as late:
                late.send(late.request_bytes("/ping"))
                response = late.read_response()
            served = response.status == 200
        except (ConnectionRefusedError, ConnectionResetError, PeerClosed, TimeoutError,
                BrokenPipeError):
            served = False
        assert not served, "a connection made after SIGTERM was served"
        assert conn.read_response().status == 200
        assert server.wait_exit(timeout=EXIT_BOUND_SECONDS) == 0


@pytest.fixture
def first_knob(deployment) -> str:
    """The first knob that is not a switch: the suite never turns a teaching aid on."""
    target = select(deployment.target_name)[0]
    return next(k.name for k in target.knobs.values() if not k.switch)


@pytest.mark.with_knobs
def test_a_knob_set_in_the_environment_is_in_effect(fresh_server, first_knob) -> None:
    with fresh_server(knobs={first_knob: "3"}) as server, \
            Connection(server.host, server.port) as conn:
        assert conn.request("/info").json()["knobs"][first_knob] == 3


@pytest.mark.with_knobs
@pytest.mark.parametrize("value", ["0", "many"])
def test_an_invalid_knob_stops_start_up_naming_it(fresh_server, first_knob, value) -> None:
    with pytest.raises(ServerStartError) as failure, fresh_server(knobs={first_knob: value}):
        pass
    assert "exited with status" in str(failure.value), str(failure.value)
    assert first_knob in failure.value.detail, failure.value.detail
