"""The docker backend: every target in a hardened, pinned container built from one Debian.

Containers use host networking (the runtime is measured, not NAT), bind 127.0.0.1 (or
the server address, when the load generator runs on another machine), run as uid 10001
on a read-only root with all capabilities dropped, and carry the lab's labels and their
owner (lab.ownership): a lab that is killed has its containers removed by its watcher at
once, or by the next lab task on the engine (lab.reaper). Servers run on the server
engine and the load generator on the load engine, the same one unless told otherwise
(lab.backends.engines).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path

import docker
import requests
from docker.errors import DockerException, NotFound
from docker.models.containers import Container
from docker.types import Ulimit

from lab import IMAGE_NAMESPACE, LOADGEN_DIR, cleanup, ownership
from lab.backends import BuildOutcome, LoadRun, ProgramRun
from lab.backends.docker_base import BASE_IMAGE
from lab.backends.docker_cpu import CpuMeter, MemoryMeter, cgroup_file
from lab.backends.docker_images import PROJECT_LABEL, EngineImages
from lab.backends.docker_network import measure_path
from lab.backends.docker_watcher import enabled as watcher_enabled
from lab.backends.docker_watcher import ensure_watcher
from lab.backends.engines import Engine, Engines, open_engines
from lab.backends.serving import chosen_port, serving
from lab.console import console, warn
from lab.cpus import CpuSets, server_cpu_list
from lab.errors import LabError
from lab.reaper import reap_and_say
from lab.targets import PYTHON_PLACEHOLDER, Runtime, Target

LOADGEN_IMAGE = f"{IMAGE_NAMESPACE}/loadgen"
HELPER_IMAGE = f"{IMAGE_NAMESPACE}/helper"
HELPER_DIR = Path(__file__).parent / "helper"
# Descriptors per container: enough for the sweep's 10,000 connections, and within the
# hard limit most engines run with (LAB_NOFILE can change it).
NOFILE = int(os.environ.get("LAB_NOFILE", "16384"))
SERVER_MEMORY = os.environ.get("LAB_SERVER_MEMORY", "4g")
LOAD_MEMORY = os.environ.get("LAB_LOAD_MEMORY", "2g")
READY_TIMEOUT_SECONDS = 30.0
STOP_GRACE_SECONDS = 3


def hardening() -> dict[str, object]:
    """What every lab container gets, servers and load generator alike."""
    return {
        "network_mode": "host",
        "user": "10001:10001",
        "read_only": True,
        "tmpfs": {"/tmp": "rw,nosuid,nodev,size=64m"},
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "ulimits": [Ulimit(name="nofile", soft=NOFILE, hard=NOFILE)],
        "init": True,
        "working_dir": "/app",
    }


def _start(container: Container) -> None:
    try:
        container.start()
    except DockerException as exc:
        message = str(exc)
        hint = (f"the engine cannot grant {NOFILE} open files: set LAB_NOFILE lower, or raise "
                "dockerd's limit (LimitNOFILE in its service, or `ulimit -n` before dockerd)"
                if "rlimit" in message else "see the engine's message above")
        raise LabError(f"the Docker engine could not start {container.name}",
                       detail=message, hint=hint) from None


def _say(message: str) -> None:
    console.print(f"  [dim]{message}[/dim]")


class DockerServer:
    def __init__(self, target: Target, container: Container, host: str, port: int,
                 knobs: dict[str, str], local: bool) -> None:
        self.target = target
        self.container = container
        self.host = host
        self.port = port
        self.knobs = knobs
        self.local = local
        self._init = 0                      # docker-init's pid
        self._procs: Path | None = None     # the container's cgroup.procs
        self.cpu_seconds = CpuMeter(container, local)
        self.memory_bytes = MemoryMeter(container, local)

    def log_tail(self, lines: int = 30) -> str:
        try:
            return self.container.logs(tail=lines).decode(errors="replace")
        except DockerException:
            return "(logs unavailable)"

    def host_pid(self) -> int:
        self.container.reload()
        return self.container.attrs["State"]["Pid"]  # docker-init; the server is its child

    def processes(self) -> list[int] | None:
        """The server's processes (not docker-init) as this machine sees them; None for an
        engine elsewhere."""
        if not self.local:
            return None
        if self._procs is None:
            self._init = self.host_pid()
            self._procs = cgroup_file(self._init, self.container.id, "pids", "cgroup.procs",
                                      "cgroup.procs")
            if self._procs is None:
                self.local = False  # no cgroup of it here: do not look again
                return None
        try:
            return [int(p) for p in self._procs.read_text().split() if int(p) != self._init]
        except OSError:  # the container is gone
            return None

    def descriptors(self) -> int | None:
        """Counted in /proc of the engine's machine when it is this one and the lab may read
        the container's processes (root may); None otherwise: counting from inside the
        container would charge the container's CPU, which the experiments measure."""
        pids = self.processes()
        if pids is None:
            return None
        count = 0
        for pid in pids:
            try:
                count += len(os.listdir(f"/proc/{pid}/fd"))
            except FileNotFoundError:  # it has just exited
                continue
            except PermissionError:
                return None
        return count

    def descriptor_limit(self) -> int | None:
        limits = self.container.attrs.get("HostConfig", {}).get("Ulimits") or []
        return next((u["Soft"] for u in limits if u.get("Name") == "nofile"), None)

    def alive(self) -> bool:
        try:
            self.container.reload()
        except NotFound:
            return False
        return self.container.status in ("created", "running")

    def send_signal(self, signum: int) -> None:
        with contextlib.suppress(DockerException):  # it may have exited already
            self.container.kill(signal=signum)

    def wait_exit(self, timeout: float) -> int | None:
        try:
            return self.container.wait(timeout=timeout)["StatusCode"]
        except (requests.exceptions.RequestException, DockerException):
            return None

    def stop(self) -> int | None:
        self.send_signal(15)
        status = self.wait_exit(STOP_GRACE_SECONDS)
        with contextlib.suppress(NotFound):
            self.container.remove(force=True)
        return status


class DockerBackend:
    name = "docker"

    def __init__(self, cpus: CpuSets | None = None, run_id: str = "adhoc",
                 engines: Engines | None = None) -> None:
        self.engines = engines or open_engines()
        self.cpus = cpus or self.engines.cpu_sets()
        self.run_id = run_id
        self.client = self.engines.server.client
        self.images = EngineImages(self.engines.distinct, _say)
        self._loadgen: Container | None = None
        self._loadgen_cpu: CpuMeter | None = None
        self._loadgen_key: int | None = None
        self._watched: set[str] = set()
        self._network: dict[str, object] | None = None
        for engine in self.engines.distinct:
            reap_and_say(engine.client, engine.url)

    def labels(self, role: str, target: str) -> dict[str, str]:
        return {**PROJECT_LABEL, **ownership.me().labels(), "lab.run-id": self.run_id,
                "lab.role": role, "lab.target": target}

    def _watch(self, engine: Engine) -> None:
        """Before the first container: the watcher that removes them all if this lab dies."""
        if engine.url in self._watched or not watcher_enabled():
            return
        self._watched.add(engine.url)
        try:
            self.images.ensure("helper", HELPER_DIR, f"{HELPER_IMAGE}:latest", engine)
            why = ensure_watcher(engine, f"{HELPER_IMAGE}:latest", self.run_id)[1]
        except LabError as exc:
            why = exc.message
        if why:
            warn(f"no watcher on {engine.url} ({why}): if this lab is killed, its "
                 "containers are removed by the next lab task on that engine")

    # -- images -----------------------------------------------------------------
    def build(self, runtime: Runtime, *, force: bool = False) -> BuildOutcome:
        return self.images.ensure(runtime.name, runtime.folder, f"{runtime.image_name}:latest",
                                  self.engines.server, force)

    def build_loadgen(self, *, force: bool = False) -> BuildOutcome:
        """The load generator's image on the load engine, and the helper image (the watcher
        and the network probe) on every engine."""
        helpers = [self.images.ensure("helper", HELPER_DIR, f"{HELPER_IMAGE}:latest", engine,
                                      force) for engine in self.engines.distinct]
        loadgen = self.images.ensure("loadgen", LOADGEN_DIR, f"{LOADGEN_IMAGE}:latest",
                                     self.engines.load, force)
        return BuildOutcome("loadgen", sum(o.seconds for o in [loadgen, *helpers]),
                            cached=all(o.cached for o in [loadgen, *helpers]),
                            detail=loadgen.detail)

    def _image(self, tag: str, engine: Engine | None = None) -> str:
        engine = engine or self.engines.server
        try:
            return engine.client.images.get(tag).id
        except docker.errors.ImageNotFound:
            raise LabError(f"image {tag} is not built on {engine.url}",
                           hint="run `uv run invoke lab.build` (with the same engine options)"
                           ) from None

    # -- serving ----------------------------------------------------------------
    def serve(self, target: Target, *, knobs: dict[str, str] | None = None,
              port: int | None = None, ready_timeout: float | None = None,
              cpus: Sequence[int] | None = None) -> AbstractContextManager[DockerServer]:
        cpu_list = server_cpu_list(self.cpus, cpus)
        return serving(self.name, target, knobs, port, ready_timeout or READY_TIMEOUT_SECONDS,
                       lambda port, knobs: self._start_server(target, port, knobs, cpu_list),
                       host=self.engines.server_address)

    def _start_server(self, target: Target, port: int, knobs: dict[str, str],
                      cpu_list: str) -> DockerServer:
        engine, host = self.engines.server, self.engines.server_address
        image = self._image(f"{target.runtime.image_name}:latest", engine)
        self._watch(engine)
        container = engine.client.containers.create(
            image, command=target.command_with("python3"),
            name=f"lab-{target.name.replace('/', '-')}-{port}-{secrets.token_hex(3)}",
            environment={"HOST": host, "PORT": str(port), **knobs},
            cpuset_cpus=cpu_list, mem_limit=SERVER_MEMORY,
            labels=self.labels("server", target.name), **hardening())
        server = DockerServer(target, container, host, port, knobs, engine.local)
        try:
            _start(container)
        except LabError:
            server.stop()
            raise
        return server

    # -- load -------------------------------------------------------------------
    def loadgen_paths(self) -> dict[str, str]:
        return {"wrk": "wrk", "wrk_script": "/app/wrk/report.lua", "pacer": "/app/build/pacer"}

    def _loadgen_container(self) -> Container:
        """One idle load-generator container per backend; loads run in it with exec."""
        if self._loadgen is None:
            engine = self.engines.load
            image = self._image(f"{LOADGEN_IMAGE}:latest", engine)
            self._watch(engine)
            self._loadgen = engine.client.containers.create(
                image, command=["sleep", "infinity"],
                name=f"lab-loadgen-{secrets.token_hex(4)}",
                cpuset_cpus=self.cpus.load_list, mem_limit=LOAD_MEMORY,
                labels=self.labels("load", "loadgen"), **hardening())
            self._loadgen_key = cleanup.register(self.close)
            _start(self._loadgen)
            self._loadgen_cpu = CpuMeter(self._loadgen, engine.local)
        return self._loadgen

    def run_load(self, argv: list[str], *, timeout: float) -> LoadRun:
        container = self._loadgen_container()
        assert self._loadgen_cpu is not None
        before = self._loadgen_cpu()
        started = time.monotonic()
        # coreutils' timeout bounds the tool inside the container; exec has no timeout.
        bounded = ["timeout", "-s", "KILL", f"{max(1, int(timeout))}", *argv]
        result = container.exec_run(bounded, demux=True, user="10001:10001")
        wall = time.monotonic() - started
        stdout, stderr = result.output
        return LoadRun(result.exit_code, (stdout or b"").decode(errors="replace"),
                       (stderr or b"").decode(errors="replace"),
                       self._loadgen_cpu() - before, wall)

    def close(self) -> None:
        if self._loadgen is not None:
            with contextlib.suppress(DockerException):
                self._loadgen.remove(force=True)
            self._loadgen = None
        if self._loadgen_key is not None:
            cleanup.unregister(self._loadgen_key)
            self._loadgen_key = None

    # -- programs ---------------------------------------------------------------
    def run_program(self, runtime: Runtime, argv: Sequence[str], *,
                    env: dict[str, str] | None = None, timeout: float) -> ProgramRun:
        """A container of the runtime's image per program, hardened and pinned like a
        server; the deadline counts from the container's start."""
        engine = self.engines.server
        self._watch(engine)
        container = engine.client.containers.create(
            self._image(f"{runtime.image_name}:latest", engine),
            command=["python3" if part == PYTHON_PLACEHOLDER else part for part in argv],
            name=f"lab-{runtime.name}-program-{secrets.token_hex(4)}",
            environment=env or {}, cpuset_cpus=self.cpus.server_list,
            mem_limit=SERVER_MEMORY, labels=self.labels("program", runtime.name), **hardening())

        def remove() -> None:
            with contextlib.suppress(DockerException):
                container.remove(force=True)

        key = cleanup.register(remove)
        try:
            _start(container)
            started = time.monotonic()
            try:
                status: int | None = container.wait(timeout=timeout)["StatusCode"]
            except requests.exceptions.RequestException:  # the deadline passed
                with contextlib.suppress(DockerException):  # it may have exited just now
                    container.kill()
                container.wait(timeout=30)
                status = None
            wall = time.monotonic() - started
            out, err = (container.logs(stdout=which, stderr=not which).decode(errors="replace")
                        for which in (True, False))
        finally:
            remove()
            cleanup.unregister(key)
        return ProgramRun(status, out, err, wall, status is None)

    # -- description ------------------------------------------------------------
    def toolchain_version(self, runtime: Runtime) -> str:
        image = self._image(f"{runtime.image_name}:latest", self.engines.server)
        return f"Debian packages in {runtime.image_name} ({image[7:19]})"

    def _probe(self, engine: Engine, command: list[str], cpuset: str) -> Container:
        """A helper container for the network probe, hardened like the others."""
        self._watch(engine)
        return engine.client.containers.create(
            self._image(f"{HELPER_IMAGE}:latest", engine), command=command,
            name=f"lab-probe-{secrets.token_hex(4)}", cpuset_cpus=cpuset, mem_limit="64m",
            labels=self.labels("probe", "netprobe"), **hardening())

    def network(self) -> dict[str, object]:
        """The path from the load generator to the servers (measured once per backend)."""
        if self._network is None:
            try:
                self._network = measure_path(
                    self.engines, self._probe, chosen_port(None, self.engines.server_address),
                    (self.cpus.server_list, self.cpus.load_list))
            except LabError as exc:
                self._network = {"error": exc.message}
            except (DockerException, ValueError, LookupError) as exc:  # best effort: a record
                self._network = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        return self._network

    def describe(self) -> dict[str, object]:
        engines = {}
        for role, engine in (("server", self.engines.server), ("load", self.engines.load)):
            images = {tag: image.id for image in engine.client.images.list(
                filters={"label": "lab.project=async-runtime-lab"}) for tag in image.tags}
            engines[role] = {**engine.record(), "images": images}
        network = self.network()
        for role, machine in dict(network.get("machines") or {}).items():
            engines[role].update(machine)
        server = engines["server"]
        return {"backend": self.name, "engine_version": server["engine_version"],
                "base_image": BASE_IMAGE, "images": server["images"],
                "cpus": self.cpus.as_record(), "server_memory": SERVER_MEMORY,
                "engines": engines, "network": {k: v for k, v in network.items()
                                                if k != "machines"}}
