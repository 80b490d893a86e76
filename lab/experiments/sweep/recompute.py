"""The sweep rows its raw files determine, derived again with the measuring code
(measure.closed_values, measure.open_values): from wrk's report and socket samples, or the
pacer's closed-loop summary, and from the pacer's per-request records of the open loop."""

from __future__ import annotations

from pathlib import Path

from analysis.integrity import Recomputed, raw_file
from analysis.load import RunData
from lab.errors import LabError
from lab.experiments.sweep.measure import closed_values, open_values
from lab.loadgen import from_pacer, from_wrk
from lab.pacer import parse_pacer_records, parse_pacer_summary
from lab.results import read_raw
from lab.wrk import parse_wrk

NAME = "sweep"
IDENTITY = ("target", "variant", "repetition", "mode", "endpoint", "connections", "load")


def _closed(path: Path, point: dict) -> dict[str, float | None]:
    text = read_raw(path)
    connections = int(point["connections"])
    result = (from_pacer(parse_pacer_summary(text), text) if path.name.endswith("pacer.txt")
              else from_wrk(parse_wrk(text, text), connections, text))
    return closed_values(result, connections)


def _open(path: Path, info: dict) -> dict[str, float]:
    duration_s = info["pacer_summary"]["duration_ns"] / 1e9
    return open_values(parse_pacer_records(read_raw(path)), duration_s)


def recompute(run: RunData) -> list[Recomputed]:
    found = []
    for _, point in run.point_records(NAME):
        info, rows = point.get("info") or {}, point.get("rows") or [{}]
        first = rows[0]
        suffix = "pacer.csv.gz" if first.get("mode") == "open" else f"{info.get('tool')}.txt"
        path = raw_file(run.path, NAME, point.get("key"), suffix)
        if path is None:
            continue  # integrity.missing_raw reports a raw file the point names
        source = str(path.relative_to(run.path))
        try:
            values = _open(path, info) if first.get("mode") == "open" else _closed(path, first)
        except (LabError, ValueError, KeyError, OSError) as exc:
            found.append(Recomputed.unreadable(source, exc))
            continue
        where = {k: first.get(k) for k in IDENTITY if k in first}
        found += [Recomputed({**where, "metric": metric}, value, source)
                  for metric, value in values.items()]
    return found
