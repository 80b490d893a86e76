"""Discover targets: every runtimes/<name>/runtime.toml declares a runtime and its models.

Adding a runtime is adding a folder; nothing here names a runtime.
"""

from __future__ import annotations

import difflib
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lab import IMAGE_NAMESPACE, RUNTIMES_DIR
from lab.errors import LabError

PYTHON_PLACEHOLDER = "{python}"


@dataclass(frozen=True)
class Knob:
    name: str
    description: str
    default: str


@dataclass(frozen=True)
class Runtime:
    name: str
    description: str
    folder: Path
    toolchain: tuple[str, ...]
    build_steps: tuple[tuple[str, ...], ...]
    build_env: dict[str, str] = field(default_factory=dict)
    knobs: dict[str, Knob] = field(default_factory=dict)

    @property
    def image_name(self) -> str:
        return f"{IMAGE_NAMESPACE}/{self.name}"


@dataclass(frozen=True)
class Target:
    """One server implementation, named runtime/model."""

    runtime: Runtime
    model: str
    description: str
    command: tuple[str, ...]
    knob_names: tuple[str, ...]
    executors: str | int

    @property
    def name(self) -> str:
        return f"{self.runtime.name}/{self.model}"

    @property
    def knobs(self) -> dict[str, Knob]:
        return {name: self.runtime.knobs[name] for name in self.knob_names}

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


def _need(table: dict, key: str, kind: type, where: str):
    if key not in table:
        raise LabError(f"{where}: missing '{key}'", hint="see runtimes/SPEC.md section 10")
    value = table[key]
    if not isinstance(value, kind):
        raise LabError(f"{where}: '{key}' must be a {kind.__name__}, got {value!r}")
    return value


def _argv(value: object, where: str) -> tuple[str, ...]:
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise LabError(f"{where}: expected a non-empty list of strings, got {value!r}")
    return tuple(value)


def load_runtime(toml_path: Path) -> tuple[Runtime, list[Target]]:
    """Parse one runtime.toml into its Runtime and Targets, with errors that name the file."""
    where = str(toml_path.relative_to(toml_path.parent.parent.parent))
    try:
        data = tomllib.loads(toml_path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{where} is not valid TOML: {exc}") from None
    knobs = {
        name: Knob(name, _need(k, "description", str, f"{where} [knobs.{name}]"),
                   str(k.get("default", "")))
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
    )
    targets = []
    for model, m in _need(data, "models", dict, where).items():
        mwhere = f"{where} [models.{model}]"
        knob_names = tuple(m.get("knobs", []))
        unknown = [k for k in knob_names if k not in knobs]
        if unknown:
            raise LabError(f"{mwhere}: knobs {unknown} are not declared under [knobs]")
        executors = _need(m, "executors", (str, int), mwhere)
        if isinstance(executors, str) and executors not in (*knob_names, "connection"):
            raise LabError(f"{mwhere}: executors must be an integer, 'connection' "
                           f"or one of its knobs {list(knob_names)}, got {executors!r}")
        targets.append(Target(
            runtime=runtime,
            model=model,
            description=_need(m, "description", str, mwhere),
            command=_argv(_need(m, "command", list, mwhere), f"{mwhere} command"),
            knob_names=knob_names,
            executors=executors,
        ))
    return runtime, targets


def discover(runtimes_dir: Path = RUNTIMES_DIR) -> list[Target]:
    """Every target of every runtime folder, sorted by name."""
    targets: list[Target] = []
    for toml_path in sorted(runtimes_dir.glob("*/runtime.toml")):
        targets.extend(load_runtime(toml_path)[1])
    if not targets:
        raise LabError(f"no runtime.toml found under {runtimes_dir}")
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
