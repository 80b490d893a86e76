"""The one path by which every backend serves a target: check the knobs, pick the port,
start, wait for /ping, and stop it whatever happens (also on Ctrl-C and at exit)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from lab import cleanup
from lab.backends import Server
from lab.errors import EX_UNAVAILABLE, LabError, ServerStartError, TargetUnavailable
from lab.probe import free_port, port_in_use, wait_until_ready
from lab.targets import Target


def checked_knobs(target: Target, knobs: dict[str, str] | None) -> dict[str, str]:
    knobs = {k: str(v) for k, v in (knobs or {}).items()}
    unknown = sorted(set(knobs) - set(target.knob_names))
    if unknown:
        raise LabError(f"{target} has no knobs {unknown}",
                       hint=f"its knobs are {list(target.knob_names) or 'none'}")
    return knobs


def chosen_port(port: int | None, host: str = "127.0.0.1") -> int:
    if port is None:
        return free_port(host)
    if port_in_use(port, host):
        raise LabError(f"port {port} is already in use",
                       hint="stop what listens there (`ss -ltnp`) or pick another --port")
    return port


@contextmanager
def serving(backend: str, target: Target, knobs: dict[str, str] | None, port: int | None,
            ready_timeout: float, start: Callable[[int, dict[str, str]], Server],
            host: str = "127.0.0.1") -> Iterator[Server]:
    """start(port, knobs) launches the server (and cleans up after itself if that fails);
    host is the address it will listen on."""
    knobs = checked_knobs(target, knobs)
    server = start(chosen_port(port, host), knobs)
    key = cleanup.register(server.stop)
    try:
        if not wait_until_ready(server.host, server.port, ready_timeout, alive=server.alive):
            status = None if server.alive() else server.wait_exit(0.5)
            if status == EX_UNAVAILABLE:
                reason = (server.log_tail(5).strip().splitlines() or ["no reason given"])[-1]
                raise TargetUnavailable(f"{target} cannot run here: {reason}",
                                        hint=f"`uv run invoke lab.doctor --backend {backend}` "
                                             "says what this machine offers")
            what = (f"exited with status {status}" if status is not None
                    else f"did not answer /ping within {ready_timeout:.0f} s")
            raise ServerStartError(
                f"{target} {what} ({backend}, port {server.port})",
                detail=f"--- last lines of its log ---\n{server.log_tail()}",
                hint=f"try it by hand: uv run invoke lab.serve {target} --backend {backend}")
        yield server
    finally:
        server.stop()
        cleanup.unregister(key)
