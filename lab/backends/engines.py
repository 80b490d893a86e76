"""The Docker engines the lab talks to: one for the servers and one for the load generator
(the same one unless told otherwise), where each runs, and what that allows.

An engine is a Docker context name or a URL: unix:///path, ssh://user@host, tcp://host:port
(TLS from the context, or DOCKER_TLS_VERIFY=1 with DOCKER_CERT_PATH as docker's own CLI
does). Plain tcp:// to another host is refused unless allowed: whoever reaches that port
is root there. The options come from the tasks (--server-engine, --load-engine,
--server-address, --insecure-engine) through LAB_SERVER_ENGINE, LAB_LOAD_ENGINE,
LAB_SERVER_ADDRESS and LAB_INSECURE_ENGINE, so that everything the task runs in-process
(the conformance suite of lab.verify) uses the same engines.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from urllib.parse import urlparse

import docker
from docker.context import ContextAPI
from docker.errors import DockerException
from docker.tls import TLSConfig

from lab.console import warn
from lab.cpus import CpuSets, available_cpus, default_cpu_sets
from lab.errors import LabError

DEFAULT_URL = "unix:///var/run/docker.sock"
ENGINE_ENV = {"server": "LAB_SERVER_ENGINE", "load": "LAB_LOAD_ENGINE"}
ADDRESS_ENV = "LAB_SERVER_ADDRESS"
INSECURE_ENV = "LAB_INSECURE_ENGINE"
SCHEMES = ("unix", "ssh", "tcp")


def is_loopback(host: str) -> bool:
    if host in ("", "localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Engine:
    url: str                    # unix:///path, ssh://user@host, tcp://host:port
    client: docker.DockerClient
    named: str                  # as the user named it: a context, a URL, or "default"

    @property
    def local(self) -> bool:
        """On this machine: its containers' cgroups and processes are visible here."""
        parsed = urlparse(self.url)
        return parsed.scheme == "unix" or is_loopback(parsed.hostname or "")

    @property
    def socket_path(self) -> str | None:
        """The engine's unix socket on its own host (for the watcher), when known."""
        parsed = urlparse(self.url)
        if parsed.scheme == "unix":
            return parsed.path
        if parsed.scheme == "ssh":  # `docker system dial-stdio` on the far side uses this
            return "/var/run/docker.sock"
        return None

    @cached_property
    def info(self) -> dict:
        return self.client.info()

    def host_cpus(self) -> tuple[int, ...]:
        """The CPUs its containers may be pinned to (here: those this process may use)."""
        return available_cpus() if self.local else tuple(range(int(self.info["NCPU"])))

    def record(self) -> dict[str, object]:
        """The engine and its machine, for run.json."""
        info = self.info
        return {"engine": self.url, "host": info.get("Name"),
                "engine_version": info.get("ServerVersion"), "os": info.get("OperatingSystem"),
                "kernel": info.get("KernelVersion"), "architecture": info.get("Architecture"),
                "cpus": info.get("NCPU"), "memory_bytes": info.get("MemTotal")}


def _tls_from_env() -> TLSConfig | None:
    if os.environ.get("DOCKER_TLS_VERIFY", "") in ("", "0"):
        return None
    certs = Path(os.environ.get("DOCKER_CERT_PATH") or Path.home() / ".docker")
    return TLSConfig(client_cert=(str(certs / "cert.pem"), str(certs / "key.pem")),
                     ca_cert=str(certs / "ca.pem"), verify=True)


def _resolve(spec: str) -> tuple[str, TLSConfig | None]:
    """(URL, TLS) of a context name or an engine URL."""
    if "://" not in spec:
        try:
            context = ContextAPI.get_context(spec)
        except DockerException as exc:
            raise LabError(f"cannot read the Docker context '{spec}': {exc}") from None
        if context is None or not context.Host:
            raise LabError(f"no Docker context '{spec}'",
                           hint="`docker context ls` lists them; or give an engine URL "
                                "(unix:///path, ssh://user@host, tcp://host:2376)")
        return context.Host, context.TLSConfig
    if urlparse(spec).scheme not in SCHEMES:
        raise LabError(f"engine URL '{spec}' is not unix://, ssh:// or tcp://")
    return spec, _tls_from_env() if spec.startswith("tcp://") else None


def connect(spec: str | None, role: str, insecure: bool) -> Engine:
    """The engine spec names (None: DOCKER_HOST or the default socket), answering."""
    tls = None
    if spec is None:
        url = os.environ.get("DOCKER_HOST") or DEFAULT_URL
        tls = _tls_from_env() if url.startswith("tcp://") else None
    else:
        url, tls = _resolve(spec)
    host = urlparse(url).hostname or ""
    if url.startswith("tcp://") and tls is None and not is_loopback(host) and not insecure:
        raise LabError(f"the {role} engine {url} is plain TCP to another host: anyone who "
                       "can reach that port is root there, and so is anyone on the path",
                       hint="use ssh://user@host, or TLS (a context with certificates, or "
                            "DOCKER_TLS_VERIFY=1 DOCKER_CERT_PATH=...); --insecure-engine "
                            "if this network is yours alone")
    try:
        client = docker.DockerClient(base_url=url, tls=tls or False, timeout=120,
                                     use_ssh_client=url.startswith("ssh://"))
        client.ping()
    except DockerException as exc:
        which = f" (the {role} engine, '{spec}')" if spec else ""
        raise LabError(f"no Docker engine answers at {url}{which}: "
                       f"{str(exc).splitlines()[0][:200]}",
                       hint="start it, or check the URL/context (`docker -H URL info` tries "
                            "the same)") from None
    return Engine(url, client, spec or "default")


@dataclass
class Engines:
    server: Engine
    load: Engine
    server_address: str
    same_host: bool

    @property
    def distinct(self) -> list[Engine]:
        return [self.server] if self.load is self.server else [self.server, self.load]

    def role_of(self, engine: Engine) -> str:
        if self.load is self.server:
            return "servers and load"
        return "servers" if engine is self.server else "load"

    def cpu_sets(self, server: str | None = None, load: str | None = None) -> CpuSets:
        """Server CPUs on the server's host, load CPUs on the load generator's; on one host
        they split its CPUs, on two each side may have all of its own."""
        return default_cpu_sets(server, load, server_host=self.server.host_cpus(),
                                load_host=None if self.same_host else self.load.host_cpus())


def configured() -> bool:
    """Whether engines other than the one default engine were asked for."""
    return any(os.environ.get(v) for v in (*ENGINE_ENV.values(), ADDRESS_ENV))


def _same_host(a: Engine, b: Engine) -> bool:
    if a is b or (a.local and b.local):
        return True
    if a.local or b.local:
        return False
    return (urlparse(a.url).hostname == urlparse(b.url).hostname
            and a.info.get("Name") == b.info.get("Name"))


def open_engines() -> Engines:
    """The engines LAB_SERVER_ENGINE and LAB_LOAD_ENGINE name (default: one engine), and
    the address servers bind and the load generator targets; connected once per process."""
    return _open(*(os.environ.get(v) or None for v in (*ENGINE_ENV.values(), ADDRESS_ENV)),
                 os.environ.get(INSECURE_ENV, "") not in ("", "0"))


@cache
def _open(server_spec: str | None, load_spec: str | None, address: str | None,
          insecure: bool) -> Engines:
    specs = {"server": server_spec, "load": load_spec}
    server = connect(specs["server"], "server", insecure)
    load = server if specs["load"] == specs["server"] else connect(specs["load"], "load", insecure)
    if load.url == server.url:
        load = server
    same_host = _same_host(server, load)
    if not address:
        if not same_host:
            raise LabError(
                f"servers run on {server.url} and the load generator on {load.url}, which "
                "look like two machines: say where the load generator reaches the servers",
                hint="--server-address ADDRESS (the server host's address on the network "
                     "between them)")
        address = "127.0.0.1"
    elif is_loopback(address) and not same_host:
        raise LabError(f"--server-address {address} is loopback, but the load generator runs "
                       "on another machine", hint="give the server host's network address")
    if not is_loopback(address):
        warn(f"servers will listen on {address}, beyond loopback: anyone who can reach it can "
             "send /cpu?ms=10000 (a denial of service) while the lab runs; keep that network "
             "private or firewalled")
    return Engines(server, load, address, same_host)
