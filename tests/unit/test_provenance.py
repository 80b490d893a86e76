"""Provenance: the fingerprints --resume checks, and what it says when they differ."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lab import provenance
from lab.errors import LabError
from lab.experiments import experiment
from lab.measure import current_provenance, start_or_resume
from lab.targets import select


@dataclasses.dataclass(frozen=True)
class Spec:
    repetitions: int
    duration_s: float


def test_a_spec_fingerprint_changes_with_the_spec() -> None:
    one, two = provenance.spec_record(Spec(3, 1.0)), provenance.spec_record(Spec(5, 1.0))
    assert one["spec"] == {"repetitions": 3, "duration_s": 1.0}
    assert one["sha256"] != two["sha256"]
    assert provenance.spec_record(Spec(3, 1.0)) == one


def test_the_code_fingerprint_names_commit_and_uncommitted_changes() -> None:
    found = provenance.code()
    assert len(found["commit"]) == 40 and isinstance(found["dirty"], bool)
    assert len(found["diff_sha256"]) == 16
    assert provenance.code() == found   # stable while nothing changes


def test_images_fingerprint_covers_only_the_images_used() -> None:
    described = {"images": {"ns/go:latest": "sha256:1", "ns/node:latest": "sha256:2"}}
    one = provenance.images_fingerprint(described, ["ns/go"])
    assert one == provenance.images_fingerprint(
        {"images": {**described["images"], "ns/node:latest": "sha256:3"}}, ["ns/go"])
    assert one != provenance.images_fingerprint(
        {"images": {**described["images"], "ns/go:latest": "sha256:4"}}, ["ns/go"])
    assert provenance.images_fingerprint({"backend": "native"}, ["ns/go"]) is None


def test_differences_name_code_spec_and_images() -> None:
    recorded = {"git": {"commit": "a", "diff_sha256": "x"},
                "specs": {"sweep": provenance.spec_record(Spec(3, 1.0))},
                "images_fingerprint": "i1"}
    current = {"git": {"commit": "a", "diff_sha256": "y"},
               "specs": {"sweep": provenance.spec_record(Spec(5, 1.0))},
               "images_fingerprint": "i2"}
    found = provenance.differences(recorded, current, ["sweep"])
    assert len(found) == 3
    assert "uncommitted changes differ" in found[0]
    assert found[1] == "spec of sweep: repetitions changed"
    assert found[2].startswith("images: fingerprint i1 then, i2 now")
    assert provenance.differences(current, current, ["sweep"]) == []
    assert "not recorded" in provenance.differences({"git": {"commit": "a"}}, current,
                                                     ["sweep"])[0]


def test_engine_differences_name_the_role_whose_engine_changed() -> None:
    one = {"engines": {"server": {"engine": "unix:///a.sock"},
                       "load": {"engine": "unix:///a.sock"}}}
    two = {"engines": {"server": {"engine": "tcp://b:2376"},
                       "load": {"engine": "unix:///a.sock"}}}
    assert provenance.engine_differences(one, one) == []
    assert provenance.engine_differences(one, two) == [
        "server engine: unix:///a.sock then, tcp://b:2376 now"]
    assert provenance.engine_differences({"backend": "native"}, {"backend": "native"}) == []


class FakeBackend:
    name = "native"

    def __init__(self) -> None:
        from lab.cpus import CpuSets

        self.cpus = CpuSets(server=(0,), load=(0,))

    def describe(self) -> dict:
        return {"backend": "native", "cpus": self.cpus.as_record()}

    def loadgen_paths(self) -> dict[str, str]:
        return {"wrk": "wrk", "wrk_script": "report.lua", "pacer": "pacer"}


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr("lab.results.RESULTS_DIR", tmp_path)
    return tmp_path


def test_resume_refuses_other_specs_unless_forced_and_records_it(results_dir: Path) -> None:
    sweep, backend, targets = experiment("sweep"), FakeBackend(), select("go/goroutines")
    run = start_or_resume(None, backend, "quick", [sweep], targets)  # type: ignore[arg-type]
    meta = run.meta()
    assert meta["specs"]["sweep"]["spec"]["repetitions"] == 1
    assert meta["noise"]["container_runtime"]["name"].startswith("none")
    specs = {**meta["specs"], "sweep": provenance.spec_record(Spec(9, 9.0))}
    run.update_meta(specs=specs, status="interrupted")
    with pytest.raises(LabError) as refused:
        start_or_resume(run.run_id, backend, "quick", [sweep], targets)  # type: ignore[arg-type]
    assert "spec of sweep" in refused.value.message and "--force-mixed" in refused.value.hint
    start_or_resume(run.run_id, backend, "quick", [sweep], targets,  # type: ignore[arg-type]
                    force_mixed=True)
    mixed = run.meta()["mixed"]
    assert len(mixed) == 1 and "spec of sweep" in mixed[0]["differences"][0]


def test_resume_of_the_same_code_and_spec_is_not_mixed(results_dir: Path) -> None:
    sweep, backend, targets = experiment("sweep"), FakeBackend(), select("go/goroutines")
    run = start_or_resume(None, backend, "quick", [sweep], targets)  # type: ignore[arg-type]
    now = current_provenance([sweep], "quick", targets, backend)  # type: ignore[arg-type]
    assert now["specs"] == run.meta()["specs"]
    start_or_resume(run.run_id, backend, "quick", [sweep], targets)  # type: ignore[arg-type]
    assert "mixed" not in run.meta()
