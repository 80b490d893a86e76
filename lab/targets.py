"""Discover targets: every runtimes/<name>/runtime.toml declares a runtime and its models.

Adding a runtime is adding a folder; nothing here names a runtime. Everything the lab
knows about a target (its kind of concurrency, executors, pool knob, connection cap,
knob variants per experiment, the sentence explaining its mechanism) comes from that
file (runtimes/SPEC.md, section 10). LAB_RUNTIMES_PATH adds folders of runtimes kept
elsewhere (os.pathsep-separated), e.g. a student's own.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lab import IMAGE_NAMESPACE, RUNTIMES_DIR
from lab.errors import LabError

PYTHON_PLACEHOLDER = "{python}"
SPEC_HINT = "see runtimes/SPEC.md section 10"
# How a target runs its handlers (SPEC section 10 explains each).
KINDS = ("process-per-connection", "process-pool", "thread-per-connection", "thread-pool",
         "event-loop", "event-loop-per-worker", "m:n-scheduler", "work-stealing")
POOL_KINDS = ("process-pool", "thread-pool")
# How it learns that a socket can be read or written.
READINESS = ("blocking", "select", "poll", "epoll-lt", "epoll-et", "epoll", "io_uring")
# The endpoints whose offload=1 may hand the work to a pool (SPEC sections 6 and 10).
OFFLOAD_ENDPOINTS = ("/cpu", "/work", "/hash")


@dataclass(frozen=True)
class Knob:
    name: str
    description: str
    default: str
    switch: bool = False   # 0 or 1, off by default (a teaching aid), not an integer >= 1


@dataclass(frozen=True)
class Runtime:
    name: str
    description: str
    folder: Path
    toolchain: tuple[str, ...]
    build_steps: tuple[tuple[str, ...], ...]
    build_env: dict[str, str] = field(default_factory=dict)
    knobs: dict[str, Knob] = field(default_factory=dict)
    # Why the native toolchain may be missing where the host's own files cannot install it:
    # a missing one then skips native deployments even under LAB_REQUIRE_NATIVE=1.
    native_optional: str | None = None

    @property
    def image_name(self) -> str:
        return f"{IMAGE_NAMESPACE}/{self.name}"


@dataclass(frozen=True)
class ConnectionCap:
    """Where a model stops by design; experiments do not run it past this many connections."""

    connections: int
    reason: str


@dataclass(frozen=True)
class PoolProbe:
    """A request outside the contract that uses one of the target's pools (SPEC section 10)."""

    path: str
    knob: str          # the knob sizing the pool it runs on
    description: str


@dataclass(frozen=True)
class Target:
    """One server implementation, named runtime/model."""

    runtime: Runtime
    model: str
    description: str
    command: tuple[str, ...]
    knob_names: tuple[str, ...]
    executors: str | int
    kind: str
    readiness: str
    mechanism: str
    pool_knob: str | None = None
    cap: ConnectionCap | None = None
    availability: tuple[str, ...] = ()   # a command: exit 0 if it can run here, 69 if not
    variants: dict[str, tuple[dict[str, str], ...]] = field(default_factory=dict)
    # endpoint -> the knob sizing the pool its offload=1 runs on (absent: no pool)
    offload_pools: dict[str, str] = field(default_factory=dict)
    pool_probe: PoolProbe | None = None

    @property
    def name(self) -> str:
        return f"{self.runtime.name}/{self.model}"

    @property
    def knobs(self) -> dict[str, Knob]:
        return {name: self.runtime.knobs[name] for name in self.knob_names}

    @property
    def is_pool(self) -> bool:
        """Each worker owns one connection at a time: WORKERS connections are served at once."""
        return self.kind in POOL_KINDS

    def max_connections(self) -> int | None:
        return self.cap.connections if self.cap else None

    def serves_all_at_once(self, connections: int) -> bool:
        """Whether it answers `connections` open connections concurrently by design."""
        return not self.is_pool and (self.cap is None or self.cap.connections >= connections)

    def variants_for(self, experiment: str) -> tuple[dict[str, str], ...]:
        """Knob variants an experiment runs besides the target's defaults."""
        return self.variants.get(experiment, ())

    def facts(self) -> dict[str, object]:
        """What run.json records about the target, so a report needs no runtime folder."""
        return {"description": self.description, "kind": self.kind,
                "readiness": self.readiness, "executors": self.executors,
                "pool_knob": self.pool_knob, "mechanism": self.mechanism,
                "max_connections": self.max_connections(),
                "max_connections_reason": self.cap.reason if self.cap else None,
                "offload_pools": dict(self.offload_pools),
                "pool_probe": ({"path": self.pool_probe.path, "knob": self.pool_probe.knob,
                                "description": self.pool_probe.description}
                               if self.pool_probe else None)}

    def command_with(self, python: str) -> list[str]:
        """The model's command, with {python} replaced by an interpreter path."""
        return [python if part == PYTHON_PLACEHOLDER else part for part in self.command]

    def executors_for(self, knobs: dict[str, int]) -> int | None:
        """How many /cpu requests can run at once without stalling others (None: unbounded)."""
        if isinstance(self.executors, int):
            return self.executors
        if self.executors == "connection":
            return None
        return knobs.get(self.executors)

    def __str__(self) -> str:
        return self.name


def _need(table: dict, key: str, kind: type | tuple[type, ...], where: str):
    if key not in table:
        raise LabError(f"{where}: missing '{key}'", hint=SPEC_HINT)
    value = table[key]
    if not isinstance(value, kind):
        name = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise LabError(f"{where}: '{key}' must be a {name}, got {value!r}", hint=SPEC_HINT)
    return value


def _choice(table: dict, key: str, choices: tuple[str, ...], where: str) -> str:
    value = _need(table, key, str, where)
    if value not in choices:
        raise LabError(f"{where}: '{key}' must be one of {', '.join(choices)}, got {value!r}",
                       hint=SPEC_HINT)
    return value


def _argv(value: object, where: str) -> tuple[str, ...]:
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise LabError(f"{where}: expected a non-empty list of strings, got {value!r}")
    return tuple(value)


def _variants(table: dict, knob_names: tuple[str, ...], where: str,
              ) -> dict[str, tuple[dict[str, str], ...]]:
    variants = {}
    for experiment, items in table.items():
        if not (isinstance(items, list) and all(isinstance(v, dict) and v for v in items)):
            raise LabError(f"{where} variants.{experiment}: expected a list of knob tables, "
                           f"e.g. [{{ WORKERS = \"2\" }}]", hint=SPEC_HINT)
        for item in items:
            unknown = sorted(set(item) - set(knob_names))
            if unknown:
                raise LabError(f"{where} variants.{experiment}: {unknown} are not knobs of "
                               f"this model ({list(knob_names)})")
        variants[experiment] = tuple({k: str(v) for k, v in item.items()} for item in items)
    return variants


def _cap(m: dict, where: str) -> ConnectionCap | None:
    if "max_connections" not in m:
        return None
    return ConnectionCap(_need(m, "max_connections", int, where),
                         _need(m, "max_connections_reason", str, where))


def _offload_pools(m: dict, knob_names: tuple[str, ...], where: str) -> dict[str, str]:
    pools = _need(m, "offload_pools", dict, where) if "offload_pools" in m else {}
    for endpoint, knob in pools.items():
        if endpoint not in OFFLOAD_ENDPOINTS or knob not in knob_names:
            raise LabError(f"{where} offload_pools: '{endpoint}' = {knob!r} must map one of "
                           f"{', '.join(OFFLOAD_ENDPOINTS)} to one of its knobs "
                           f"{list(knob_names)}", hint=SPEC_HINT)
    return dict(pools)


def _pool_probe(m: dict, knob_names: tuple[str, ...], where: str) -> PoolProbe | None:
    if "pool_probe" not in m:
        return None
    table = _need(m, "pool_probe", dict, where)
    probe = PoolProbe(_need(table, "path", str, f"{where} pool_probe"),
                      _need(table, "knob", str, f"{where} pool_probe"),
                      _need(table, "description", str, f"{where} pool_probe"))
    if not probe.path.startswith("/") or probe.knob not in knob_names:
        raise LabError(f"{where} pool_probe: path must start with '/' and knob must be one "
                       f"of its knobs {list(knob_names)}", hint=SPEC_HINT)
    return probe


def _model(runtime: Runtime, model: str, m: dict, where: str) -> Target:
    knob_names = tuple(m.get("knobs", []))
    unknown = [k for k in knob_names if k not in runtime.knobs]
    if unknown:
        raise LabError(f"{where}: knobs {unknown} are not declared under [knobs]")
    executors = _need(m, "executors", (str, int), where)
    if isinstance(executors, str) and executors not in (*knob_names, "connection"):
        raise LabError(f"{where}: executors must be an integer, 'connection' "
                       f"or one of its knobs {list(knob_names)}, got {executors!r}")
    kind = _choice(m, "kind", KINDS, where)
    pool_knob = m.get("pool_knob")
    if (pool_knob is not None) != (kind in POOL_KINDS) or (pool_knob and
                                                           pool_knob not in knob_names):
        raise LabError(f"{where}: a {kind} model {'needs' if kind in POOL_KINDS else 'has no'} "
                       "'pool_knob' (one of its knobs)", hint=SPEC_HINT)
    return Target(
        runtime=runtime, model=model,
        description=_need(m, "description", str, where),
        command=_argv(_need(m, "command", list, where), f"{where} command"),
        knob_names=knob_names, executors=executors, kind=kind,
        readiness=_choice(m, "readiness", READINESS, where),
        mechanism=_need(m, "mechanism", str, where),
        pool_knob=pool_knob, cap=_cap(m, where),
        availability=_argv(m["availability"], f"{where} availability")
        if "availability" in m else (),
        variants=_variants(m.get("variants", {}), knob_names, where),
        offload_pools=_offload_pools(m, knob_names, where),
        pool_probe=_pool_probe(m, knob_names, where))


def load_runtime(toml_path: Path) -> tuple[Runtime, list[Target]]:
    """Parse one runtime.toml into its Runtime and Targets, with errors that name the file."""
    where = f"{toml_path.parent.name}/runtime.toml"
    try:
        data = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{where} is not valid TOML: {exc}") from None
    knobs = {
        name: Knob(name, _need(k, "description", str, f"{where} [knobs.{name}]"),
                   str(k.get("default", "")), k.get("switch") is True)
        for name, k in data.get("knobs", {}).items()
    }
    runtime = Runtime(
        name=_need(data, "name", str, where),
        description=_need(data, "description", str, where),
        folder=toml_path.parent,
        toolchain=_argv(_need(data, "toolchain", list, where), f"{where} toolchain"),
        build_steps=tuple(_argv(s, f"{where} build") for s in data.get("build", [])),
        build_env={k: str(v) for k, v in data.get("build_env", {}).items()},
        knobs=knobs,
        native_optional=(_need(data, "native_optional", str, where)
                         if "native_optional" in data else None),
    )
    targets = [_model(runtime, model, m, f"{where} [models.{model}]")
               for model, m in _need(data, "models", dict, where).items()]
    return runtime, targets


def runtime_dirs() -> list[Path]:
    """runtimes/, then every folder of LAB_RUNTIMES_PATH."""
    extra = [Path(p) for p in os.environ.get("LAB_RUNTIMES_PATH", "").split(os.pathsep) if p]
    return [RUNTIMES_DIR, *extra]


def discover(runtimes_dir: Path | None = None) -> list[Target]:
    """Every target of every runtime folder, sorted by name."""
    folders = [runtimes_dir] if runtimes_dir else runtime_dirs()
    targets: list[Target] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        for toml_path in sorted(folder.glob("*/runtime.toml")):
            runtime, found = load_runtime(toml_path)
            if runtime.name in seen:
                raise LabError(f"two runtimes are called '{runtime.name}': {seen[runtime.name]} "
                               f"and {toml_path.parent}", hint="rename one of them")
            seen[runtime.name] = toml_path.parent
            targets.extend(found)
    if not targets:
        raise LabError(f"no runtime.toml found under {', '.join(map(str, folders))}")
    return sorted(targets, key=lambda t: t.name)


def select(names: str | list[str] | None, available: list[Target] | None = None) -> list[Target]:
    """Targets matching comma-separated names; a runtime name selects all its models.

    Unknown names are an error that suggests the closest names.
    """
    available = available if available is not None else discover()
    if not names:
        return available
    wanted = names.split(",") if isinstance(names, str) else [
        part for name in names for part in name.split(",")]
    by_name = {t.name: t for t in available}
    chosen: list[Target] = []
    for name in (w.strip() for w in wanted if w.strip()):
        matches = [by_name[name]] if name in by_name else [
            t for t in available if t.runtime.name == name]
        if not matches:
            names_known = [*by_name, *{t.runtime.name for t in available}]
            close = difflib.get_close_matches(name, names_known)
            raise LabError(
                f"unknown target '{name}'",
                hint=(f"did you mean {', '.join(close)}? " if close else "")
                + "`uv run invoke lab.targets` lists them all",
            )
        chosen.extend(t for t in matches if t not in chosen)
    return chosen
