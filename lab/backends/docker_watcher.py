"""The watcher: a tiny container per lab process and engine that removes the lab's
containers the moment the lab's connection to the engine closes (testcontainers' Ryuk,
without a registry: it runs helper/watcher.py from the lab's own helper image).

Its stdin is attached to this process's API connection with StdinOnce: the kernel closes
that connection when this process ends in any way, even SIGKILL, the engine then closes
the watcher's stdin, and the watcher removes every container labelled with this
process's owner token. The price: it needs the engine's socket, which is root on the
engine's host. It gets nothing else: no network, a read-only root, no capabilities, no
new privileges, a few MB of memory, and code that only lists and removes containers
carrying one label. LAB_WATCHER=0 turns it off; leftovers are then removed by the next
lab task on that engine (lab.reaper).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import select
import time
from dataclasses import dataclass

from docker.errors import DockerException
from docker.types import Mount
from docker.utils.socket import SocketError, next_frame_header, read_exactly

from lab import ownership
from lab.backends.docker_images import PROJECT_LABEL
from lab.backends.engines import Engine

READY_TIMEOUT_SECONDS = 15.0
_watchers: dict[str, Watcher] = {}


def enabled() -> bool:
    return os.environ.get("LAB_WATCHER", "1") != "0"


@dataclass
class Watcher:
    engine: Engine
    container_id: str
    connection: object  # the attached socket: closing it (or dying) sets the watcher off

    def close(self) -> None:
        """Stop watching: at a normal end everything was stopped already, so the watcher
        is removed at once rather than left to sweep up and remove itself."""
        with contextlib.suppress(OSError):
            self.connection.close()
        with contextlib.suppress(DockerException):
            self.engine.client.api.remove_container(self.container_id, force=True)


def _wait_ready(sock: object, timeout: float) -> str:
    """The watcher's first line ('ready' or why not), or '' on timeout or EOF."""
    readable, _, _ = select.select([sock], [], [], timeout)
    if not readable:
        return ""
    _stream, size = next_frame_header(sock)
    if size <= 0:
        return ""
    try:
        return read_exactly(sock, size).decode(errors="replace").strip()
    except SocketError:
        return ""


def ensure_watcher(engine: Engine, image: str, run_id: str) -> tuple[Watcher | None, str]:
    """This process's watcher on engine, started if need be; (watcher, why not) ."""
    key = f"{os.getpid()}:{engine.url}"
    if key in _watchers:
        return _watchers[key], ""
    if engine.socket_path is None:
        return None, f"the engine's socket is not known for {engine.url}"
    owner = ownership.me()
    api = engine.client.api
    try:
        created = api.create_container(
            image, ["python3", "/app/watcher.py", owner.token], stdin_open=True, detach=False,
            name=f"lab-watcher-{owner.pid}-{os.urandom(3).hex()}",
            labels={**PROJECT_LABEL, **owner.labels(), "lab.role": "watcher",
                    "lab.run-id": run_id},
            host_config=api.create_host_config(
                auto_remove=True, network_mode="none", read_only=True, cap_drop=["ALL"],
                security_opt=["no-new-privileges"], mem_limit="64m", pids_limit=16,
                mounts=[Mount("/var/run/docker.sock", engine.socket_path, type="bind")]),
            # The socket's owner: root (or the user of a rootless engine); no capability.
            user="0:0")
        container_id = created["Id"]
        connection = api.attach_socket(container_id, params={"stdin": 1, "stdout": 1,
                                                             "stderr": 1, "stream": 1})
        api.start(container_id)
    except DockerException as exc:
        return None, str(exc).splitlines()[0][:200]
    sock = getattr(connection, "_sock", connection)
    started = time.monotonic()
    line = _wait_ready(sock, READY_TIMEOUT_SECONDS)
    if line != "ready":
        with contextlib.suppress(OSError, DockerException):
            connection.close()
            api.remove_container(container_id, force=True)
        return None, (f"it said {line!r}" if line else
                      f"it was not ready after {time.monotonic() - started:.0f} s")
    watcher = Watcher(engine, container_id, connection)
    _watchers[key] = watcher
    return watcher, ""


@atexit.register
def _close_all() -> None:
    for watcher in _watchers.values():
        watcher.close()
    _watchers.clear()
