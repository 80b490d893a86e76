"""The kernel's listen-drop counter, read from a /proc/net/netstat of known content."""

from __future__ import annotations

from pathlib import Path

from lab.netstat import listen_drops, shares_our_namespace

NETSTAT = """\
TcpExt: SyncookiesSent SyncookiesRecv ListenOverflows ListenDrops TCPBacklogDrop
TcpExt: 3 0 17 19 0
IpExt: InNoRoutes InTruncatedPkts
IpExt: 0 0
"""


def test_listen_drops_come_from_the_tcpext_table(tmp_path: Path) -> None:
    path = tmp_path / "netstat"
    path.write_text(NETSTAT)
    assert listen_drops(path) == 19
    path.write_text("IpExt: A\nIpExt: 1\n")
    assert listen_drops(path) is None
    assert listen_drops(tmp_path / "missing") is None
    assert isinstance(listen_drops(), int)  # this machine's own


def test_only_a_server_in_our_namespace_is_counted() -> None:
    class Native:
        name = "native"

    class Remote:
        name = "docker"
        engines = type("E", (), {"server": type("S", (), {"local": False})()})()

    assert shares_our_namespace(Native()) and not shares_our_namespace(Remote())
