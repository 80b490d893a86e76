"""Two engines without an engine: URLs, the plain-TCP refusal, CPU sets per machine, and
the report's network path."""

from __future__ import annotations

import pytest

from analysis.report import environment
from lab.backends.engines import connect, is_loopback
from lab.cpus import default_cpu_sets
from lab.errors import LabError


def test_plain_tcp_to_another_host_is_refused_before_any_connection() -> None:
    with pytest.raises(LabError, match="plain TCP to another host") as refused:
        connect("tcp://192.0.2.7:2375", "server", insecure=False)
    assert "--insecure-engine" in refused.value.hint


def test_an_engine_url_of_another_kind_is_refused() -> None:
    with pytest.raises(LabError, match="not unix://, ssh:// or tcp://"):
        connect("http://192.0.2.7:2375", "load", insecure=True)


def test_loopback_addresses() -> None:
    assert all(map(is_loopback, ("localhost", "127.0.0.1", "127.8.0.1", "::1")))
    assert not any(map(is_loopback, ("192.168.1.20", "server-host", "10.0.0.1")))


def test_on_two_machines_each_side_defaults_to_all_of_its_own_cpus() -> None:
    sets = default_cpu_sets(server_host=(0, 1, 2, 3), load_host=(0, 1))
    assert sets.server == (0, 1, 2, 3) and sets.load == (0, 1)
    chosen = default_cpu_sets("2-3", "0", server_host=(0, 1, 2, 3), load_host=(0, 1))
    assert chosen.server == (2, 3) and chosen.load == (0,)
    with pytest.raises(LabError, match=r"load CPUs \[5\] are not on the load machine"):
        default_cpu_sets(None, "5", server_host=(0, 1, 2, 3), load_host=(0, 1))


def test_the_environment_shows_both_machines_and_the_round_trip() -> None:
    engine = {"engine": "ssh://me@server", "host": "server", "cpus": 8, "cpu_model": "EPYC",
              "memory_bytes": 2**34, "kernel": "6.1", "engine_version": "26.1"}
    meta = {"backend": {"backend": "docker", "engines": {
        "server": engine, "load": {**engine, "engine": "unix:///var/run/docker.sock"}},
        "network": {"server_address": "192.168.1.20", "same_host": False,
                    "round_trip_ms": {"median": 0.21, "min": 0.18, "max": 0.5},
                    "method": "median of 20 TCP connects"}}}
    env = environment(meta)
    assert "engines" not in env["backend"] and "network" not in env["backend"]
    path = env["network"]
    assert path["servers on"].startswith("ssh://me@server: server, 8 CPUs (EPYC), 16.0 GiB")
    assert path["server address"] == "192.168.1.20" and path["same host"] == "no"
    assert path["idle round trip, load host to server address"].startswith(
        "0.210 ms (min 0.180, max 0.500)")
