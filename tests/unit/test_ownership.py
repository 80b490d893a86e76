"""Owners of containers: this process is live; a dead one is dead only when that is certain."""

from __future__ import annotations

import dataclasses
import subprocess

from lab import ownership


def test_this_process_is_live_and_its_labels_name_it() -> None:
    me = ownership.me()
    assert ownership.state(me) == "live"
    assert ownership.Owner.from_labels(me.labels()) == me
    assert me.labels()[ownership.OWNER_PID_LABEL] == str(me.pid)


def test_a_process_that_has_exited_is_dead_and_a_reused_pid_does_not_revive_it() -> None:
    me = ownership.me()
    child = subprocess.Popen(["true"])
    child.wait()
    assert ownership.state(dataclasses.replace(me, pid=child.pid)) == "dead"
    assert ownership.state(dataclasses.replace(me, started=me.started + 1)) == "dead"


def test_an_owner_this_machine_cannot_see_is_unknown() -> None:
    me = ownership.me()
    elsewhere = dataclasses.replace(me, machine="another", boot="another-boot")
    assert ownership.state(elsewhere) == "unknown"
    assert ownership.state(dataclasses.replace(me, pidns="1")) == "unknown"


def test_an_owner_from_an_earlier_boot_of_this_machine_is_dead() -> None:
    assert ownership.state(dataclasses.replace(ownership.me(), boot="earlier")) == "dead"


def test_containers_without_a_valid_owner_label_have_no_owner() -> None:
    assert ownership.Owner.from_labels({}) is None
    assert ownership.Owner.from_labels({ownership.OWNER_LABEL: "a:b:c:pid:1"}) is None
