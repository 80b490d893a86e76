"""The network path between load generator and servers: the idle round-trip time from
the load engine's host to the server address, and both machines, measured once per run
with the helper image (helper/netprobe.py) on each engine."""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from collections.abc import Callable

from docker.errors import DockerException
from docker.models.containers import Container

from lab.backends.engines import Engine, Engines

CONNECTS = 20
LISTEN_SECONDS = 60
METHOD = (f"median of {CONNECTS} TCP connects (SYN to SYN-ACK: one round trip, answered by "
          "the server host's kernel) from the load engine's host to the server address, "
          "at idle, 10 ms apart")

# (engine, command, cpuset) -> a created, hardened helper container
Create = Callable[[Engine, list[str], str], Container]


def _lines(container: Container) -> list[str]:
    return container.logs(stdout=True, stderr=True).decode(errors="replace").splitlines()


def measure_path(engines: Engines, create: Create, port: int,
                 cpus: tuple[str, str]) -> dict[str, object]:
    """What run.json records about the path; {"error": ...} when it cannot be measured."""
    address = engines.server_address
    probe = ["python3", "/app/netprobe.py"]
    listener = create(engines.server, [*probe, "listen", address, str(port),
                                       str(LISTEN_SECONDS)], cpus[0])
    try:
        listener.start()
        deadline = time.monotonic() + 15
        while "listening" not in _lines(listener):
            listener.reload()
            if listener.status != "running" or time.monotonic() > deadline:
                return {"error": "the listener did not start: " + " | ".join(_lines(listener))}
            time.sleep(0.05)
        client = create(engines.load, [*probe, "connect", address, str(port), str(CONNECTS)],
                        cpus[1])
        try:
            client.start()
            status = client.wait(timeout=60)["StatusCode"]
            lines = _lines(client)
        finally:
            with contextlib.suppress(DockerException):
                client.remove(force=True)
        if status != 0:
            return {"error": f"no connection from the load engine to {address}:{port}: "
                             + " | ".join(lines[-3:])}
        server_machine = json.loads(_lines(listener)[0])
    finally:
        with contextlib.suppress(DockerException):
            listener.remove(force=True)
    load_machine = json.loads(lines[0])
    rtts = [us / 1000 for us in json.loads(lines[-1])["rtt_us"]]
    return {
        "server_address": address,
        "same_host": server_machine.pop("boot_id") == load_machine.pop("boot_id"),
        "round_trip_ms": {"median": round(statistics.median(rtts), 4),
                          "min": round(min(rtts), 4), "max": round(max(rtts), 4)},
        "method": METHOD,
        "machines": {"server": server_machine, "load": load_machine},
    }
