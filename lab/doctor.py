"""lab.doctor: what this machine can run, and what to do about each problem."""

from __future__ import annotations

import os
import resource
import shutil
import stat
import subprocess
import time
from dataclasses import dataclass

from rich.table import Table

from lab import LOADGEN_DIR, ROOT
from lab.console import console
from lab.cpus import available_cpus
from lab.errors import LabError
from lab.targets import Runtime, Target, discover

MIN_FREE_GB = 10
WANT_NOFILE = 16384


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok, warn, fail
    value: str
    advice: str = ""


def _docker_checks() -> list[Check]:
    from lab.backends.engines import open_engines

    try:
        engines = open_engines()
    except LabError as exc:
        return [Check("docker engine", "fail", exc.message, exc.hint or
                      "start dockerd (`sudo dockerd &` or `sudo systemctl start docker`) or set "
                      "DOCKER_HOST; --backend auto then uses the native backend")]
    checks = []
    for engine in engines.distinct:
        checks += _engine_checks(engine, engines.role_of(engine))
    if len(engines.distinct) > 1:
        checks.append(Check("server address", "ok", f"{engines.server_address} ("
                            + ("one host" if engines.same_host else "two hosts") + ")"))
    return checks


def _engine_checks(engine, role: str) -> list[Check]:
    """One engine: it answers, its leftovers are gone, and the images its role needs."""
    import docker

    from lab.backends.docker import HELPER_DIR, HELPER_IMAGE, LOADGEN_IMAGE
    from lab.backends.docker_base import BASE_IMAGE, base_image_id
    from lab.backends.docker_images import context_hash, current_hash
    from lab.reaper import reap

    client = engine.client
    checks = [Check(f"docker engine ({role})", "ok",
                    f"{engine.url}: Docker {engine.info.get('ServerVersion', '?')} on "
                    f"{engine.info.get('Name', '?')}, {engine.info.get('NCPU', '?')} CPUs")]
    reaped = reap(client)
    checks.append(Check("leftover containers", "ok", "; ".join(
        f"removed {len(r.names)} of dead lab process {r.owner.pid} (run {', '.join(r.runs)})"
        for r in reaped) or "none"))
    base_id = base_image_id(client)
    if base_id is None:
        debootstrap = shutil.which("debootstrap")
        checks.append(Check("base image", "warn", f"{BASE_IMAGE} missing",
                            "`uv run invoke lab.base` (transfers, pulls, else debootstraps"
                            + ("" if debootstrap else "; with no registry reachable it needs "
                               "debootstrap: `sudo apt-get install debootstrap`") + ")"))
        return checks
    checks.append(Check("base image", "ok", f"{BASE_IMAGE} {base_id[7:19]}"))
    folders = {HELPER_IMAGE: HELPER_DIR}
    if role != "load":
        folders |= {r.image_name: r.folder for r in _runtimes()}
    if role != "servers":
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
    return checks


def _runtimes() -> list[Runtime]:
    return list({t.runtime.name: t.runtime for t in discover()}.values())


def _toolchain_checks() -> list[Check]:
    from lab.backends.native import NativeBackend, toolchain_problem
    from lab.cpus import CpuSets

    native = NativeBackend(CpuSets((0,), (0,)))
    checks = []
    for runtime in _runtimes():
        problem = toolchain_problem(runtime)
        if problem:
            checks.append(Check(f"native {runtime.name}", "warn", problem,
                                f"install it to run {runtime.name} natively (docker needs none)"))
        else:
            checks.append(Check(f"native {runtime.name}", "ok", native.toolchain_version(runtime)))
    checks += [_availability(t) for t in discover() if t.availability]
    pacer_built = (LOADGEN_DIR / "build" / "pacer").exists()
    for tool, why, needed in (
            ("taskset", "CPU pinning natively", True),
            ("go", "building the pacer natively", not pacer_built),
            ("wrk", "closed-loop load natively (the pacer's closed mode stands in)", False)):
        found = shutil.which(tool)
        status = "ok" if found else "fail" if needed else "warn"
        checks.append(Check(f"tool {tool}", status, found or "not found",
                            "" if found else f"needed for {why}: apt-get install "
                            + {"go": "golang-go", "taskset": "util-linux"}.get(tool, tool)))
    return checks


def _availability(target: Target) -> Check:
    """Run the target's availability command natively (runtime.toml): can it run here?"""
    name = f"native {target}"
    program = target.runtime.folder / target.availability[0]
    if not program.exists() and shutil.which(target.availability[0]) is None:
        return Check(name, "warn", "not built natively, so not checked",
                     f"`uv run invoke lab.build --target {target} --backend native`, then again")
    try:
        done = subprocess.run(list(target.availability), cwd=target.runtime.folder,
                              stdin=subprocess.DEVNULL, capture_output=True, text=True,
                              timeout=15)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return Check(name, "warn", f"its availability check failed: {exc}")
    said = (done.stdout + done.stderr).strip().splitlines()
    if done.returncode == 0:
        return Check(name, "ok", said[-1] if said else "available")
    return Check(name, "warn", said[-1] if said else f"exit {done.returncode}",
                 "it will be recorded as 'not measured because ...'; see its runtime README")


def _machine_checks() -> list[Check]:
    cpus = available_cpus()
    free_gb = shutil.disk_usage(ROOT).free / 1e9
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    null_ok = stat.S_ISCHR(os.stat("/dev/null").st_mode)
    return [
        Check("/dev/null", "ok" if null_ok else "warn",
              "the null device" if null_ok else "a regular file, not the null device",
              "" if null_ok else "what one program writes there another reads back (cargo's "
              "native build fails on it); as root: rm /dev/null && mknod -m 666 /dev/null c 1 3"),
        Check("CPUs", "ok" if len(cpus) >= 2 else "warn", f"{len(cpus)} usable {list(cpus)}",
              "" if len(cpus) >= 2 else "with one CPU, server and load generator share it"),
        Check("free disk", "ok" if free_gb >= MIN_FREE_GB else "warn", f"{free_gb:.0f} GB",
              "" if free_gb >= MIN_FREE_GB else f"images and results want {MIN_FREE_GB} GB"),
        Check("nofile limit", "ok" if hard >= WANT_NOFILE else "warn", f"soft {soft}, hard {hard}",
              "" if hard >= WANT_NOFILE else
              f"native sweeps open thousands of sockets: raise the hard limit to {WANT_NOFILE}+ "
              "(ulimit -Hn, /etc/security/limits.conf); docker containers get their own"),
    ]


def checks_for(backend: str) -> list[Check]:
    """The checks of one backend ('docker', 'native' or 'all'), then the machine's."""
    chosen = []
    if backend in ("docker", "all"):
        chosen += _docker_checks()
    if backend in ("native", "all"):
        chosen += _toolchain_checks()
    return [*chosen, *_machine_checks()]


def run_checks(backend: str = "all") -> bool:
    """Print every check; False if anything the backend needs is missing (a 'fail')."""
    started = time.monotonic()
    checks = checks_for(backend)
    table = Table(title=f"lab.doctor ({backend})")
    for column in ("check", "", "value", "what to do"):
        table.add_column(column)
    marks = {"ok": "[green]ok[/green]", "warn": "[yellow]warn[/yellow]", "fail": "[red]FAIL[/red]"}
    for check in checks:
        table.add_row(check.name, marks[check.status], check.value, check.advice)
    console.print(table)
    console.print(f"[dim]checked in {time.monotonic() - started:.1f} s[/dim]")
    return all(c.status != "fail" for c in checks)


def preflight(backend: str) -> None:
    """Stop in seconds, with the commands that fix it, when the backend lacks a must-have."""
    missing = [c for c in checks_for(backend) if c.status == "fail"]
    if missing:
        raise LabError(f"the {backend} backend cannot run here: "
                       + "; ".join(f"{c.name}: {c.value}" for c in missing),
                       hint="; ".join(c.advice for c in missing if c.advice)
                       + f" (`uv run invoke lab.doctor --backend {backend}` checks again)")
