"""A server started for a session runs on the session's CPU set (taskset natively, a cpuset
in docker), and the knobs a runtime derives from its affinity mask follow it."""

from __future__ import annotations

import json
import os
import urllib.request

from lab.cpus import cpu_levels
from lab.targets import select


def test_a_server_runs_on_the_cpus_its_session_names(backend) -> None:
    target = select("go/goroutines")[0]
    backend.build(target.runtime)
    levels = cpu_levels(backend.cpus, 2)
    assert len(levels) == 2, "the lab needs two CPUs"
    for level in levels:
        with backend.serve(target, cpus=level.cpus) as server:
            with urllib.request.urlopen(f"http://{server.host}:{server.port}/info") as answer:
                info = json.load(answer)
            assert info["knobs"]["GOMAXPROCS"] == level.count
            assert os.sched_getaffinity(server.host_pid()) == set(level.cpus)
