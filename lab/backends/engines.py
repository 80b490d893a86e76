"""Docker engines the lab talks to: where each one is, and what that allows."""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import urlparse

import docker

DEFAULT_URL = "unix:///var/run/docker.sock"
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1", "")


@dataclass
class Engine:
    url: str                    # unix:///path, ssh://user@host, tcp://host:port
    client: docker.DockerClient

    @property
    def local(self) -> bool:
        """On this machine: its containers' cgroups and processes are visible here."""
        parsed = urlparse(self.url)
        return parsed.scheme == "unix" or (parsed.hostname or "") in LOOPBACK_HOSTS \
            or (parsed.hostname or "").startswith("127.")

    @property
    def socket_path(self) -> str | None:
        """The engine's unix socket on its own host (for the watcher), when known."""
        parsed = urlparse(self.url)
        if parsed.scheme == "unix":
            return parsed.path
        if parsed.scheme == "ssh":  # `docker system dial-stdio` on the far side uses this
            return "/var/run/docker.sock"
        return None


def default_engine(timeout: int = 120) -> Engine:
    """The engine DOCKER_HOST (or the default socket) names, as docker.from_env finds it."""
    return Engine(os.environ.get("DOCKER_HOST") or DEFAULT_URL,
                  docker.from_env(timeout=timeout))
