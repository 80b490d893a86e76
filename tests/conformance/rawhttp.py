"""A raw-socket HTTP/1.1 client: the suite sees the bytes a server writes, nothing hidden."""

from __future__ import annotations

import json
import socket
import time
from dataclasses import dataclass, field

READ_TIMEOUT = 15.0


@dataclass
class Response:
    version: str
    status: int
    reason: str
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""
    elapsed: float = 0.0

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def media_type(self) -> str:
        return (self.header("content-type") or "").split(";")[0].strip().lower()

    def json(self) -> dict:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<{self.status} {self.headers} {self.body[:200]!r}>"


class PeerClosed(Exception):
    """The server closed the connection before a complete response."""


class Connection:
    def __init__(self, host: str, port: int, timeout: float = READ_TIMEOUT) -> None:
        self.host, self.port = host, port
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buffer = b""

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request_bytes(self, path: str, method: str = "GET", headers: str = "",
                      version: str = "HTTP/1.1") -> bytes:
        host = f"Host: {self.host}:{self.port}\r\n" if version == "HTTP/1.1" else ""
        return f"{method} {path} {version}\r\n{host}{headers}\r\n".encode()

    def request(self, path: str, method: str = "GET", headers: str = "",
                version: str = "HTTP/1.1") -> Response:
        started = time.monotonic()
        self.send(self.request_bytes(path, method, headers, version))
        response = self.read_response(method == "HEAD")
        response.elapsed = time.monotonic() - started
        return response

    def _fill(self) -> None:
        chunk = self.sock.recv(65536)
        if not chunk:
            raise PeerClosed(f"connection closed; unparsed bytes: {self.buffer[:200]!r}")
        self.buffer += chunk

    def read_response(self, head_only: bool = False) -> Response:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        version, status, reason = (lines[0].split(" ", 2) + [""])[:3]
        response = Response(version, int(status), reason)
        for line in lines[1:]:
            name, _, value = line.partition(":")
            response.headers.setdefault(name.strip().lower(), []).append(value.strip())
        if head_only:
            return response
        length = response.header("content-length")
        if length is not None:
            while len(self.buffer) < int(length):
                self._fill()
            response.body, self.buffer = self.buffer[:int(length)], self.buffer[int(length):]
        else:  # a library-written error without Content-Length: the body runs to close
            try:
                while True:
                    self._fill()
            except (PeerClosed, ConnectionResetError):
                response.body, self.buffer = self.buffer, b""
        return response

    def closed_by_peer(self, timeout: float = 3.0) -> bool:
        """True if the server closes (EOF or reset) within timeout and sends nothing more."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False
        return data == b""


def get(host: str, port: int, path: str, headers: str = "") -> Response:
    with Connection(host, port) as conn:
        return conn.request(path, headers=headers)
