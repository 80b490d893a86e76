"""Choosing a backend: auto picks docker when an engine answers, else native, and says why."""

from __future__ import annotations

from lab.backends import Backend
from lab.cpus import CpuSets
from lab.errors import LabError

BACKEND_CHOICES = ("auto", "docker", "native")


def docker_engine_status() -> tuple[bool, str]:
    """(answers, explanation) for the Docker engine that DOCKER_HOST or the default socket names."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError:  # pragma: no cover - docker is a declared dependency
        return False, "the docker Python package is missing"
    try:
        client = docker.from_env(timeout=5)
        version = client.version()
        client.close()
    except DockerException as exc:
        reason = str(exc).splitlines()[0][:200]
        return False, f"no Docker engine answers ({reason})"
    return True, f"Docker engine {version.get('Version', '?')} answers"


def make_backend(name: str, cpus: CpuSets) -> tuple[Backend, str]:
    """The backend called name ('auto' resolves here) and why it was chosen."""
    if name not in BACKEND_CHOICES:
        raise LabError(f"unknown backend '{name}'",
                       hint=f"choose one of {', '.join(BACKEND_CHOICES)}")
    if name == "native":
        from lab.backends.native import NativeBackend

        return NativeBackend(cpus), "native backend requested"
    answers, why = docker_engine_status()
    if name == "docker" and not answers:
        raise LabError(f"--backend docker, but {why}",
                       hint="start the engine (`sudo dockerd &` or `systemctl start docker`), "
                            "or use --backend native")
    if answers:
        from lab.backends.docker import DockerBackend

        return DockerBackend(cpus), f"{why}: using the docker backend"
    from lab.backends.native import NativeBackend

    return NativeBackend(cpus), f"{why}: using the native backend"
