"""Who owns a container: the lab process that started it, named so that its death is certain.

A pid alone is not enough (pids are reused). The pid, the process's start time (clock
ticks after boot, /proc/PID/stat field 22), the kernel's boot id and the pid namespace
name one process for ever; the machine id tells "this machine, an earlier boot" (its
owner is gone) from "another machine" (which this process cannot see into).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

OWNER_LABEL = "lab.owner"          # the token: one value per lab process, for label filters
OWNER_PID_LABEL = "lab.owner-pid"  # for people: `docker ps --filter label=lab.owner-pid=N`
OWNER_HOST_LABEL = "lab.owner-host"

State = Literal["live", "dead", "unknown"]


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def _pidns() -> str:
    try:
        return os.readlink("/proc/self/ns/pid").removeprefix("pid:[").removesuffix("]")
    except OSError:
        return ""


def start_ticks(pid: int) -> int | None:
    """When the process started (clock ticks after boot), or None if it does not exist."""
    text = _read(f"/proc/{pid}/stat")
    if not text:
        return None
    # The command name (field 2) may contain spaces and ')': it ends at the last ')'.
    return int(text[text.rindex(")") + 2:].split()[19])


@dataclass(frozen=True)
class Owner:
    machine: str   # /etc/machine-id
    boot: str      # /proc/sys/kernel/random/boot_id
    pidns: str     # inode of the pid namespace
    pid: int
    started: int   # clock ticks after boot
    host: str = ""

    @property
    def token(self) -> str:
        return f"{self.machine}:{self.boot}:{self.pidns}:{self.pid}:{self.started}"

    def labels(self) -> dict[str, str]:
        return {OWNER_LABEL: self.token, OWNER_PID_LABEL: str(self.pid),
                OWNER_HOST_LABEL: self.host}

    @classmethod
    def from_labels(cls, labels: dict[str, str]) -> Owner | None:
        """The owner recorded on a container; None for containers of labs before ownership."""
        parts = labels.get(OWNER_LABEL, "").split(":")
        if len(parts) != 5 or not parts[3].isdigit() or not parts[4].isdigit():
            return None
        return cls(parts[0], parts[1], parts[2], int(parts[3]), int(parts[4]),
                   labels.get(OWNER_HOST_LABEL, ""))


@cache
def _me(pid: int) -> Owner:
    return Owner(_read("/etc/machine-id") or _read("/var/lib/dbus/machine-id"),
                 _read("/proc/sys/kernel/random/boot_id"), _pidns(), pid,
                 start_ticks(pid) or 0, socket.gethostname())


def me() -> Owner:
    """This process as an owner (keyed by pid, so a forked child is its own owner)."""
    return _me(os.getpid())


def state(owner: Owner) -> State:
    """'live' or 'dead' when this process can tell for certain, else 'unknown'."""
    here = me()
    if owner.boot == here.boot and owner.pidns == here.pidns:
        return "live" if start_ticks(owner.pid) == owner.started else "dead"
    if owner.machine and owner.machine == here.machine and owner.boot != here.boot:
        return "dead"  # this machine has rebooted since
    return "unknown"   # another machine, or a pid namespace this process cannot see into
