"""Choosing a backend: auto picks docker when an engine answers, else native, and says why."""

from __future__ import annotations

from lab.backends import Backend
from lab.errors import LabError

BACKEND_CHOICES = ("auto", "docker", "native")


def docker_engine_status() -> tuple[bool, str]:
    """(answers, explanation) for the Docker engine(s) the lab is configured to use
    (LAB_SERVER_ENGINE / LAB_LOAD_ENGINE, else DOCKER_HOST or the default socket)."""
    from lab.backends.engines import open_engines

    try:
        engines = open_engines()
    except LabError as exc:
        return False, exc.message
    versions = [f"{e.url} ({e.info.get('ServerVersion', '?')})" for e in engines.distinct]
    if len(versions) == 1:
        return True, f"Docker engine {engines.server.info.get('ServerVersion', '?')} answers"
    return True, f"Docker engines answer: servers on {versions[0]}, load on {versions[1]}"


def make_backend(name: str, server_cpus: str | None = None,
                 load_cpus: str | None = None) -> tuple[Backend, str]:
    """The backend called name ('auto' resolves here) and why it was chosen; CPU sets from
    the arguments, else LAB_SERVER_CPUS / LAB_LOAD_CPUS, else a split of each host's CPUs."""
    from lab.backends.engines import configured, open_engines
    from lab.cpus import default_cpu_sets

    if name not in BACKEND_CHOICES:
        raise LabError(f"unknown backend '{name}'",
                       hint=f"choose one of {', '.join(BACKEND_CHOICES)}")
    if name == "native":
        if configured():
            raise LabError("--server-engine, --load-engine and --server-address need the "
                           "docker backend", hint="drop them, or use --backend docker")
        from lab.backends.native import NativeBackend

        return NativeBackend(default_cpu_sets(server_cpus, load_cpus)), "native backend requested"
    try:
        engines = open_engines()
    except LabError as exc:
        if name == "docker" or configured():
            raise LabError(f"--backend {name}: {exc.message}", hint=exc.hint or
                           "start the engine (`sudo dockerd &` or `systemctl start docker`), "
                           "or use --backend native") from None
        from lab.backends.native import NativeBackend

        return (NativeBackend(default_cpu_sets(server_cpus, load_cpus)),
                f"{exc.message}: using the native backend")
    from lab.backends.docker import DockerBackend

    backend = DockerBackend(engines.cpu_sets(server_cpus, load_cpus), engines=engines)
    where = (f"Docker engine {engines.server.info.get('ServerVersion', '?')} answers"
             if len(engines.distinct) == 1 else
             f"servers on {engines.server.url}, load on {engines.load.url}, reached at "
             f"{engines.server_address}")
    return backend, f"{where}: using the docker backend"
