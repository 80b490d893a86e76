"""The kernel's count of connections it dropped before any server saw them.

When a listening socket's accept queue is full, the kernel drops the handshake's last
ACK (ListenOverflows) and counts every such drop in ListenDrops; the client believes it
is connected, sends its request, and waits for a retransmission that may come seconds
later. Counted per network namespace (/proc/net/netstat, TcpExt): meaningful when the
server lives in the lab's own namespace (natively, or in a host-networked container on a
local engine), and only as a delta over a measurement on an otherwise quiet machine.
"""

from __future__ import annotations

from pathlib import Path

NETSTAT = Path("/proc/net/netstat")


def listen_drops(path: Path = NETSTAT) -> int | None:
    """TcpExt ListenDrops now (None where the file or counter is missing)."""
    try:
        lines = path.read_text().splitlines()
    except OSError:
        return None
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(table["ListenDrops"]) if "ListenDrops" in table else None
    return None


def shares_our_namespace(backend: object) -> bool:
    """Whether the server's network namespace is the lab's: native, or a local engine's
    host-networked container."""
    if getattr(backend, "name", "") == "native":
        return True
    engines = getattr(backend, "engines", None)
    return bool(engines is not None and engines.server.local)
