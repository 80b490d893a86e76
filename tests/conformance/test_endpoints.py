"""Every endpoint's happy path (runtimes/SPEC.md section 5), with the golden digests."""

from __future__ import annotations

import pytest

from tests.conformance.rawhttp import Connection, Response, get

WORK_GOLDEN = {0: "811c9dc5", 1: "050c5d1f", 2: "1076963a", 10: "2f854072",
               1000: "a06ae7fd", 65536: "eea39dc5", 1_000_000: "bbc1d705"}
HASH_GOLDEN = {
    1: "3a1a5ef6f31e11c8e290238e8778a227fa4b7882853c4da4cd4db51f78d6119a",
    2: "4bedcef7faf4cc09ef6c2d31070ac31907eef715168bc5cf8086ee5a39a5a6a5",
    100: "0f01301d6cdb20b260d92d5fa7efaf3d8450685929fdb08c3a5ebdf3ae1a9955",
    10_000: "adeadd10710888bb60fd67da022cf7fcf1dd452f29cf23a912360342be8b29ca",
}
# A spin or a sleep may end late but never early; the upper margins only catch a server
# that serialises far beyond the request (scheduling noise on a busy host stays well under).
SPIN_MS = 60


def call(server, path: str) -> Response:
    return get(server.host, server.port, path)


def assert_json_ok(response: Response) -> dict:
    assert response.status == 200, response
    assert response.media_type == "application/json", response
    assert int(response.header("content-length")) == len(response.body)
    return response.json()


@pytest.mark.smoke
def test_ping_answers_pong_as_text(server) -> None:
    response = call(server, "/ping")
    assert response.status == 200
    assert response.body == b"pong"
    assert response.media_type == "text/plain"
    assert response.header("content-length") == "4"
    assert response.header("transfer-encoding") is None


@pytest.mark.smoke
def test_info_describes_the_target(server) -> None:
    info = assert_json_ok(call(server, "/info"))
    target = server.target
    assert info["target"] == target.name
    assert info["runtime"] == target.runtime.name
    assert info["model"] == target.model
    assert isinstance(info["version"], str) and info["version"]
    assert isinstance(info["pid"], int) and info["pid"] > 0
    assert isinstance(info["offload"], str) and info["offload"]
    assert "worker" in info


def test_info_reports_every_knob_as_an_integer(server) -> None:
    knobs = call(server, "/info").json()["knobs"]
    assert sorted(knobs) == sorted(server.target.knob_names)
    declared = server.target.knobs
    # A switch (a teaching aid, SPEC section 7) is 0 unless turned on; the suite never does.
    assert all(isinstance(v, int) and v >= (0 if declared[k].switch else 1)
               for k, v in knobs.items()), knobs
    for name, value in server.knobs.items():
        assert knobs[name] == int(value), f"{name} set to {value}, /info says {knobs[name]}"


@pytest.mark.parametrize("n", sorted(WORK_GOLDEN))
def test_work_digest_is_golden(server, n: int) -> None:
    body = assert_json_ok(call(server, f"/work?n={n}"))
    assert body == {"n": n, "digest": WORK_GOLDEN[n], "offload": False}


@pytest.mark.smoke
def test_work_offloaded_gives_the_same_digest(server) -> None:
    body = assert_json_ok(call(server, "/work?n=65536&offload=1"))
    assert body == {"n": 65536, "digest": WORK_GOLDEN[65536], "offload": True}


def test_work_accepts_leading_zeros(server) -> None:
    assert call(server, "/work?n=0010").json()["digest"] == WORK_GOLDEN[10]


def test_work_ignores_unknown_parameters(server) -> None:
    assert call(server, "/work?x=1&n=2&y=z").json()["digest"] == WORK_GOLDEN[2]


@pytest.mark.parametrize("path, expected", [
    ("/cpu?ms=%31%30", {"ms": 10, "offload": False}),
    ("/work?n=%31%30&offload=%31", {"n": 10, "digest": WORK_GOLDEN[10], "offload": True}),
    ("/work?%6E=2", {"n": 2, "digest": WORK_GOLDEN[2], "offload": False}),
    ("/work?n=2&x=%zz&%zz=1&y=a+b%", {"n": 2, "digest": WORK_GOLDEN[2], "offload": False}),
], ids=["value", "value-and-offload", "name", "bad-escapes-in-unknown-parameters"])
def test_query_is_percent_decoded(server, path: str, expected: dict) -> None:
    """The query is application/x-www-form-urlencoded (SPEC section 4): names and values
    are percent-decoded before the digit rules apply."""
    assert assert_json_ok(call(server, path)) == expected


@pytest.mark.parametrize("iterations", sorted(HASH_GOLDEN))
def test_hash_digest_is_golden(server, iterations: int) -> None:
    body = assert_json_ok(call(server, f"/hash?iter={iterations}"))
    assert body == {"iter": iterations, "digest": HASH_GOLDEN[iterations], "offload": False}


@pytest.mark.smoke
def test_hash_offloaded_gives_the_same_digest(server) -> None:
    body = assert_json_ok(call(server, "/hash?iter=100&offload=1"))
    assert body == {"iter": 100, "digest": HASH_GOLDEN[100], "offload": True}


@pytest.mark.parametrize("offload", [0, 1])
def test_cpu_spins_at_least_the_requested_time(server, offload: int) -> None:
    response = call(server, f"/cpu?ms={SPIN_MS}&offload={offload}")
    assert assert_json_ok(response) == {"ms": SPIN_MS, "offload": bool(offload)}
    assert response.elapsed >= SPIN_MS / 1000


def test_cpu_zero_ms_answers_at_once(server) -> None:
    assert assert_json_ok(call(server, "/cpu?ms=0")) == {"ms": 0, "offload": False}


@pytest.mark.smoke
def test_sleep_waits_at_least_the_requested_time(server) -> None:
    response = call(server, "/sleep?ms=100")
    assert assert_json_ok(response) == {"ms": 100}
    assert response.elapsed >= 0.1


def test_sleep_does_not_hold_up_other_connections(server) -> None:
    """While one /sleep waits, another connection is served (timer or own thread/process)."""
    with Connection(server.host, server.port) as sleeper, \
            Connection(server.host, server.port) as other:
        sleeper.send(sleeper.request_bytes("/sleep?ms=1500"))
        pong = other.request("/ping")
        assert pong.status == 200
        assert pong.elapsed < 1.0, f"/ping waited {pong.elapsed:.2f}s behind a /sleep"
        assert sleeper.read_response().status == 200
