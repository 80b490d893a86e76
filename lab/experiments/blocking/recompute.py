"""The blocking rows that the raw pacer records determine, derived again with the measuring
code (measure.stream_values): per phase and stream, the latency percentiles (failures
infinitely slow), the requests sent, the failures and the goodput."""

from __future__ import annotations

from analysis.integrity import Recomputed, raw_file
from analysis.load import RunData
from lab.errors import LabError
from lab.experiments.blocking.measure import stream_values
from lab.pacer import parse_pacer_records
from lab.results import read_raw

NAME = "blocking"


def recompute(run: RunData) -> list[Recomputed]:
    found = []
    for _, point in run.point_records(NAME):
        info, first = point.get("info") or {}, (point.get("rows") or [{}])[0]
        path = raw_file(run.path, NAME, point.get("key"), "pacer.csv")
        if path is None:
            continue  # integrity.missing_raw reports a raw file the point names
        source = str(path.relative_to(run.path))
        try:
            records = parse_pacer_records(read_raw(path))
            duration_s = info["pacer_summary"]["duration_ns"] / 1e9
        except (LabError, ValueError, KeyError, OSError) as exc:
            found.append(Recomputed.unreadable(source, exc))
            continue
        where = {k: first.get(k) for k in ("target", "variant", "repetition", "phase")}
        for stream in sorted({r.stream for r in records}):
            values = stream_values([r for r in records if r.stream == stream], duration_s)
            found += [Recomputed({**where, "stream": stream, "metric": metric}, value, source)
                      for metric, value in values.items()]
    return found
