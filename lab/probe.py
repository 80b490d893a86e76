"""Talking to a server from the orchestrator: free ports and readiness."""

from __future__ import annotations

import errno
import random
import socket
import time
from collections.abc import Callable


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now: the kernel picks it for an address of this
    machine; for another machine's, a random unprivileged port that refuses connections."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, 0))
            return s.getsockname()[1]
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
    while _answers(host, port := random.randint(20000, 60999)):
        pass
    return port


def port_in_use(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno != errno.EADDRNOTAVAIL or _answers(host, port)
        return False


def _answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when GET /ping answers 200 pong."""
    request = f"GET /ping HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.sendall(request.encode())
            data = b""
            while chunk := s.recv(4096):
                data += chunk
    except OSError:
        return False
    return data.startswith(b"HTTP/1.1 200") and data.endswith(b"pong")


def wait_until_ready(host: str, port: int, timeout: float,
                     alive: Callable[[], bool]) -> bool:
    """Poll /ping until it answers (True), the server dies or time runs out (False)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if ping(host, port, timeout=0.5):
            return True
        if not alive():
            return False
        time.sleep(0.05)
    return False
