"""Noise from neighbours: a container the lab did not start, busy on the server's CPUs,
is named in the point file of every measurement it could disturb, and flags the point."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from lab.backends.docker_base import BASE_IMAGE, ensure_base_image
from lab.backends.native import NativeBackend
from lab.cpus import default_cpu_sets
from lab.experiments.framework import Experiment, Point, Session, run_experiment
from lab.noise import pinned
from lab.results import create_run
from lab.targets import select

BUSY = ["sh", "-c", "while :; do :; done"]


@dataclass(frozen=True)
class Spec:
    repetitions: int = 1


class Waiting(Experiment):
    """One point that waits half a second while the neighbour spins."""

    name = "waiting"
    title = "a point beside a busy container"
    profiles = {"quick": Spec()}

    def sessions(self, spec, targets):
        return [Session.of(targets[0], {}, 0, [Point.of(wait=1)])]

    def measure(self, ctx, point):
        time.sleep(0.5)
        ctx.row(point, "waited_s", 0.5, "s")


def test_a_busy_container_on_the_server_cpus_is_named_and_flags_the_point(
        docker_backend, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr("lab.results.RESULTS_DIR", tmp_path)
    client = docker_backend.client
    ensure_base_image(client, lambda _: None)
    backend = NativeBackend(default_cpu_sets())
    neighbour = client.containers.run(BASE_IMAGE, BUSY, detach=True,
                                      cpuset_cpus=backend.cpus.server_list,
                                      labels={"purpose": "lab test neighbour"})
    try:
        run = create_run(["test"], backend=backend.describe(), profile="quick",
                         experiments=["waiting"], cpus=backend.cpus.as_record(), targets={})
        with pinned(backend.cpus.load):
            outcome = run_experiment(Waiting(), "quick", select("python/asyncio"), backend,
                                     run)
    finally:
        neighbour.remove(force=True)
    assert outcome.measured == 1
    (path,) = (run.folder / "waiting" / "points").glob("*.json")
    point = json.loads(path.read_text())
    rows = {r["metric"]: r for r in point["rows"]}
    assert rows["neighbours"]["value"] >= 1
    assert rows["neighbour_cpu_s"]["value"] > 0.2      # it spun through the half second
    assert all("neighbours" in r["flags"].split(";") for r in point["rows"])
    (named,) = [n for n in point["info"]["neighbours"] if n["container"] == neighbour.name]
    assert named["near"] == ["server"] and named["owner"] == "not started by the lab"
