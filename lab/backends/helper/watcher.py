"""The lab's watcher: removes one lab process's containers as soon as that process is gone.

Started by the lab (one per lab process and engine) with the engine's socket mounted and
its stdin attached to the lab's API connection (StdinOnce). However the lab ends, even
by SIGKILL, the engine closes that stdin when the connection drops; the watcher then
removes every container labelled lab.owner=TOKEN, itself excepted, and exits (the engine
removes it: auto-remove). Python's standard library only; it talks HTTP/1.0 on the socket.

Usage: python3 watcher.py TOKEN
"""

from __future__ import annotations

import json
import socket
import sys
from urllib.parse import quote

DOCKER_SOCKET = "/var/run/docker.sock"


def call(method: str, path: str) -> tuple[int, bytes]:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(60)
        sock.connect(DOCKER_SOCKET)
        sock.sendall(f"{method} {path} HTTP/1.0\r\nHost: docker\r\n\r\n".encode())
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


def remove_owned(token: str) -> list[str]:
    filters = quote(json.dumps({"label": [f"lab.owner={token}"]}))
    status, body = call("GET", f"/containers/json?all=1&filters={filters}")
    if status != 200:
        raise RuntimeError(f"listing containers failed: {status} {body[:200]!r}")
    removed = []
    for container in json.loads(body):
        if container["Labels"].get("lab.role") == "watcher":
            continue
        status, _ = call("DELETE", f"/containers/{container['Id']}?force=1")
        if status in (204, 404):
            removed.append(container["Names"][0].lstrip("/"))
    return removed


def main(token: str) -> int:
    status, _ = call("GET", "/_ping")
    if status != 200:
        print(f"the engine's socket answered {status}", flush=True)
        return 1
    print("ready", flush=True)
    sys.stdin.buffer.read()  # returns at EOF: the lab's connection is gone
    removed = remove_owned(token)
    print(f"removed {len(removed)}: {' '.join(removed)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
