"""The blocking rows that the raw pacer records determine, derived again with the measuring
code: per phase and stream, the latency percentiles, requests sent and errors."""

from __future__ import annotations

from analysis.integrity import Recomputed, raw_file
from analysis.load import RunData
from lab.errors import LabError
from lab.experiments.blocking.measure import latency_percentiles
from lab.pacer import parse_pacer_records

NAME = "blocking"


def recompute(run: RunData) -> list[Recomputed]:
    found = []
    points = run.points(NAME)
    for point in points.to_dict("records") if not points.empty else []:
        path = raw_file(run.path, NAME, point.get("key"), "pacer.csv")
        if path is None:
            continue  # integrity.missing_raw reports a raw file the point names
        try:
            records = parse_pacer_records(path.read_text())
        except (LabError, ValueError, KeyError) as exc:
            found.append(Recomputed.unreadable(str(path.relative_to(run.path)), exc))
            continue
        source = str(path.relative_to(run.path))
        where = {k: point.get(k) for k in ("target", "variant", "repetition", "phase")}
        for stream in sorted({r.stream for r in records}):
            mine = [r for r in records if r.stream == stream]
            values = {f"latency_{name}": value
                      for name, value in latency_percentiles(mine).items()}
            values["sent"] = len(mine)
            values["errors"] = sum(1 for r in mine if r.status != 200)
            found += [Recomputed({**where, "stream": stream, "metric": metric}, value, source)
                      for metric, value in values.items()]
    return found
