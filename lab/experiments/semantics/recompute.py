"""The semantics rows that a probe's raw output determines, judged again: as_expected, from
the trace it printed against the trace its point recorded as declared."""

from __future__ import annotations

import json

from analysis.integrity import Recomputed, raw_file
from analysis.load import RunData
from lab.backends import ProgramRun
from lab.experiments.semantics.probes import Probe
from lab.experiments.semantics.verdict import judge

NAME = "semantics"
STDOUT, STDERR = "--- stdout ---\n", "\n--- stderr ---\n"   # measure.py's raw layout


def recompute(run: RunData) -> list[Recomputed]:
    found = []
    for path in sorted((run.path / NAME / "points").glob("*.json")):
        try:
            point = json.loads(path.read_text())
            info, first = point["info"], point["rows"][0]
            declared = info["probe"]
            probe = Probe(str(declared["id"]), tuple(declared["command"]),
                          str(declared["source"]), tuple(declared["expected"]),
                          str(declared["lesson"]), float(declared["deadline_s"]),
                          str(declared["outcome"]))
        except (OSError, ValueError, KeyError, IndexError, TypeError):
            continue  # a runtime without probes, or a point integrity.against_points reports
        raw = raw_file(run.path, NAME, point.get("key"), "output.txt")
        if raw is None:
            continue
        stdout, _, stderr = raw.read_text().removeprefix(STDOUT).partition(STDERR)
        verdict = judge(probe, ProgramRun(info.get("exit_status"), stdout, stderr,
                                          float(info.get("wall_s") or 0.0),
                                          bool(info.get("deadline_fired"))))
        where = {k: first.get(k) for k in ("target", "variant", "repetition", "probe")}
        found.append(Recomputed({**where, "metric": "as_expected"}, verdict.as_expected,
                                str(raw.relative_to(run.path))))
    return found
