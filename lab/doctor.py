"""lab.doctor: what this machine can run, and what to do about each problem."""

from __future__ import annotations

import resource
import shutil
import time
from dataclasses import dataclass

from rich.table import Table

from lab import LOADGEN_DIR, ROOT
from lab.console import console
from lab.cpus import available_cpus
from lab.targets import PYTHON_PLACEHOLDER, Runtime, discover

MIN_FREE_GB = 10
WANT_NOFILE = 16384


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn, fail
    value: str
    advice: str = ""


def _docker_checks() -> list[Check]:
    from lab.backends.docker import LOADGEN_IMAGE
    from lab.backends.docker_base import BASE_IMAGE, base_image_id
    from lab.backends.docker_images import context_hash, current_hash
    from lab.backends.selection import docker_engine_status

    answers, why = docker_engine_status()
    if not answers:
        return [Check("docker engine", "warn", why,
                      "start dockerd (or set DOCKER_HOST); until then the native backend is used")]
    import docker

    client = docker.from_env()
    checks = [Check("docker engine", "ok", why)]
    base_id = base_image_id(client)
    if base_id is None:
        debootstrap = shutil.which("debootstrap")
        checks.append(Check("base image", "warn", f"{BASE_IMAGE} missing",
                            "`uv run invoke lab.base` (pulls, else debootstraps"
                            + ("" if debootstrap else "; install debootstrap first") + ")"))
        return checks
    checks.append(Check("base image", "ok", f"{BASE_IMAGE} {base_id[7:19]}"))
    folders = {r.image_name: r.folder for r in _runtimes()}
    folders[LOADGEN_IMAGE] = LOADGEN_DIR
    for name, folder in folders.items():
        tag = f"{name}:latest"
        try:
            image = client.images.get(tag)
        except docker.errors.ImageNotFound:
            checks.append(Check(f"image {name}", "warn", "not built", "`uv run invoke lab.build`"))
            continue
        created = image.attrs.get("Created", "")[:19].replace("T", " ")
        size = image.attrs.get("Size", 0) / 1e6
        stale = current_hash(client, tag) != context_hash(folder, base_id)
        checks.append(Check(f"image {name}", "warn" if stale else "ok",
                            f"{size:.0f} MB, built {created}" + (", out of date" if stale else ""),
                            "`uv run invoke lab.build` rebuilds it" if stale else ""))
    client.close()
    return checks


def _runtimes() -> list[Runtime]:
    return list({t.runtime.name: t.runtime for t in discover()}.values())


def _toolchain_checks() -> list[Check]:
    from lab.backends.native import NativeBackend
    from lab.cpus import CpuSets

    native = NativeBackend(CpuSets((0,), (0,)))
    checks = []
    for runtime in _runtimes():
        tool = runtime.toolchain[0]
        if tool != PYTHON_PLACEHOLDER and shutil.which(tool) is None:
            checks.append(Check(f"native {runtime.name}", "warn", f"'{tool}' not found",
                                f"install it to run {runtime.name} natively (docker needs none)"))
        else:
            checks.append(Check(f"native {runtime.name}", "ok", native.toolchain_version(runtime)))
    for tool, why in (("wrk", "closed-loop load natively"), ("go", "building the pacer natively"),
                      ("taskset", "CPU pinning natively")):
        found = shutil.which(tool)
        checks.append(Check(f"tool {tool}", "ok" if found else "warn", found or "not found",
                            "" if found else f"needed for {why}: apt-get install "
                            + {"go": "golang-go", "taskset": "util-linux"}.get(tool, tool)))
    return checks


def _machine_checks() -> list[Check]:
    cpus = available_cpus()
    free_gb = shutil.disk_usage(ROOT).free / 1e9
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    return [
        Check("CPUs", "ok" if len(cpus) >= 2 else "warn", f"{len(cpus)} usable {list(cpus)}",
              "" if len(cpus) >= 2 else "with one CPU, server and load generator share it"),
        Check("free disk", "ok" if free_gb >= MIN_FREE_GB else "warn", f"{free_gb:.0f} GB",
              "" if free_gb >= MIN_FREE_GB else f"images and results want {MIN_FREE_GB} GB"),
        Check("nofile limit", "ok" if hard >= WANT_NOFILE else "warn", f"soft {soft}, hard {hard}",
              "" if hard >= WANT_NOFILE else
              f"native sweeps open thousands of sockets: raise the hard limit to {WANT_NOFILE}+ "
              "(ulimit -Hn, /etc/security/limits.conf); docker containers get their own"),
    ]


def run_checks() -> bool:
    """Print every check; False if any failed outright."""
    started = time.monotonic()
    checks = [*_docker_checks(), *_toolchain_checks(), *_machine_checks()]
    table = Table(title="lab.doctor")
    for column in ("check", "", "value", "what to do"):
        table.add_column(column)
    marks = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    for check in checks:
        table.add_row(check.name, marks[check.status], check.value, check.advice)
    console.print(table)
    console.print(f"[dim]checked in {time.monotonic() - started:.1f} s[/dim]")
    return all(c.status != "fail" for c in checks)
