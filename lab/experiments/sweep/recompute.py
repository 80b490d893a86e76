"""The sweep rows that wrk's raw report determines, derived again with the measuring code:
requests, requests/s, errors and the Little's-law mean latency."""

from __future__ import annotations

from analysis.integrity import Recomputed, raw_file
from analysis.load import RunData
from lab.errors import LabError
from lab.wrk import parse_wrk

NAME = "sweep"


def recompute(run: RunData) -> list[Recomputed]:
    found = []
    points = run.points(NAME)
    for point in points.to_dict("records") if not points.empty else []:
        path = raw_file(run.path, NAME, point.get("key"), "wrk.txt")
        if path is None:
            continue  # integrity.missing_raw reports a raw file the point names
        try:
            result = parse_wrk(path.read_text())
        except (LabError, ValueError, KeyError) as exc:
            found.append(Recomputed.unreadable(str(path.relative_to(run.path)), exc))
            continue
        where = {k: point.get(k) for k in ("target", "variant", "repetition", "endpoint",
                                           "connections")}
        values = {"requests_per_s": result.requests_per_s, "requests": result.requests,
                  "errors": result.errors_total,
                  "latency_mean": (int(point["connections"]) / result.requests_per_s * 1000
                                   if result.requests else None)}
        source = str(path.relative_to(run.path))
        found += [Recomputed({**where, "metric": metric}, value, source)
                  for metric, value in values.items()]
    return found
