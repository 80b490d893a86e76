"""A runtime's probes: runtimes/<name>/probes/probes.toml, read and checked.

The format is in this package's README.md (and SPEC section 10). A runtime without
the file has no probes; a malformed file is a LabError that names it.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError

PROBES_FILE = "probes/probes.toml"
FORMAT_HINT = "see lab/experiments/semantics/README.md for the format"
# A probe exits with this status (automake's "skipped") when its lesson does not apply
# to the runtime it runs on, after printing why (e.g. a feature of a newer version).
NOT_APPLICABLE_STATUS = 77
OUTCOMES = ("exit", "deadline")
DEFAULT_DEADLINE_S = 10.0
ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")


@dataclass(frozen=True)
class Probe:
    id: str
    command: tuple[str, ...]      # run from the runtime folder ("/app" in its image)
    source: str                   # the file the report quotes, relative to the folder
    expected: tuple[str, ...]     # the trace: stdout's non-empty lines, in order
    lesson: str
    deadline_s: float = DEFAULT_DEADLINE_S
    outcome: str = "exit"         # "deadline": hanging until the deadline is the lesson
    env: dict[str, str] = field(default_factory=dict)

    def record(self, folder: Path) -> dict[str, object]:
        """What results keep about the probe, so a report needs no runtime folder."""
        return {"id": self.id, "command": list(self.command), "source": self.source,
                "excerpt": (folder / self.source).read_text().rstrip("\n"),
                "expected": list(self.expected), "lesson": self.lesson,
                "deadline_s": self.deadline_s, "outcome": self.outcome, "env": self.env}


@dataclass(frozen=True)
class ProbeSet:
    language: str
    probes: tuple[Probe, ...]

    def get(self, probe_id: str) -> Probe:
        for probe in self.probes:
            if probe.id == probe_id:
                return probe
        raise LabError(f"no probe '{probe_id}' in {PROBES_FILE}",
                       hint=f"its probes are {', '.join(p.id for p in self.probes)}")


def _strings(value: object, where: str, key: str) -> tuple[str, ...]:
    if not (isinstance(value, list) and value and all(isinstance(v, str) for v in value)):
        raise LabError(f"{where}: '{key}' must be a non-empty list of strings, got {value!r}",
                       hint=FORMAT_HINT)
    return tuple(value)


def _probe(table: dict, folder: Path, where: str) -> Probe:
    def need(key: str) -> str:
        if not isinstance(table.get(key), str):
            raise LabError(f"{where}: '{key}' must be a string, got {table.get(key)!r}",
                           hint=FORMAT_HINT)
        return table[key]

    probe_id = need("id")
    if not ID.match(probe_id):
        raise LabError(f"{where}: id '{probe_id}' must be lowercase letters, digits and '-'")
    source = need("source")
    if not (folder / source).is_file():
        raise LabError(f"{where}: source '{source}' is not a file in {folder}",
                       hint="source names the probe's program, relative to the runtime folder")
    deadline = table.get("deadline_s", DEFAULT_DEADLINE_S)
    if isinstance(deadline, bool) or not isinstance(deadline, int | float) or deadline <= 0:
        raise LabError(f"{where}: 'deadline_s' must be a positive number, got {deadline!r}")
    outcome = table.get("outcome", "exit")
    if outcome not in OUTCOMES:
        raise LabError(f"{where}: 'outcome' must be one of {', '.join(OUTCOMES)}, got "
                       f"{outcome!r}", hint=FORMAT_HINT)
    env = table.get("env", {})
    if not (isinstance(env, dict) and all(isinstance(v, str) for v in env.values())):
        raise LabError(f"{where}: 'env' must be a table of strings, e.g. "
                       '{ GOMAXPROCS = "1" }', hint=FORMAT_HINT)
    return Probe(probe_id, _strings(table.get("command"), where, "command"), source,
                 _strings(table.get("expected"), where, "expected"), need("lesson"),
                 float(deadline), outcome, dict(env))


def load_probes(folder: Path) -> ProbeSet | None:
    """The probes of the runtime in folder; None when it has no probes file."""
    path = folder / PROBES_FILE
    if not path.exists():
        return None
    where = f"{folder.name}/{PROBES_FILE}"
    try:
        data = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise LabError(f"{where} is not valid TOML: {exc}") from None
    if not isinstance(data.get("language"), str):
        raise LabError(f"{where}: 'language' must be a string (e.g. \"Go\")", hint=FORMAT_HINT)
    tables = data.get("probes")
    if not (isinstance(tables, list) and tables):
        raise LabError(f"{where}: no [[probes]] tables", hint=FORMAT_HINT)
    probes = tuple(_probe(t, folder, f"{where} probe {i + 1}") for i, t in enumerate(tables))
    ids = [p.id for p in probes]
    if len(set(ids)) != len(ids):
        raise LabError(f"{where}: probe ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    return ProbeSet(data["language"], probes)
