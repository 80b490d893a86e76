"""Results folders: atomic, never overwritten, resumable, and a run.json that follows its schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from lab import ROOT
from lab.errors import LabError
from lab.results import atomic_write, create_run, open_run
from lab.targets import discover

SCHEMA = json.loads((ROOT / "lab" / "run.schema.json").read_text())
FIXTURES = Path(__file__).parent.parent / "fixtures"


@pytest.fixture
def results_dir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setattr("lab.results.RESULTS_DIR", tmp_path)
    return tmp_path


def new_run():
    return create_run(["invoke", "lab.sweep"], backend={"backend": "native", "cpus": {}},
                      cpus={"server": "1", "load": "0"}, profile="quick",
                      experiments=["sweep"],
                      targets={t.name: {"facts": t.facts()} for t in discover()})


def test_a_new_run_json_follows_the_schema(results_dir: Path) -> None:
    run = new_run()
    jsonschema.validate(run.meta(), SCHEMA)
    run.update_meta(status="complete", ended="2026-01-01T00:00:00+00:00")
    jsonschema.validate(run.meta(), SCHEMA)
    assert run.meta()["git"]["commit"]


def test_the_schema_rejects_a_broken_run_json(results_dir: Path) -> None:
    meta = new_run().meta()
    meta["status"] = "finished-ish"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(meta, SCHEMA)


def test_points_are_never_overwritten(results_dir: Path) -> None:
    run = new_run()
    run.save_point("sweep", "k1", [{"metric": "m", "value": 1}], {})
    assert run.has_point("sweep", "k1")
    with pytest.raises(FileExistsError):
        run.save_point("sweep", "k1", [{"metric": "m", "value": 2}], {})
    assert run.points("sweep")[0]["rows"][0]["value"] == 1


def test_the_tidy_table_is_assembled_from_points(results_dir: Path) -> None:
    run = new_run()
    run.save_point("sweep", "a", [{"target": "x", "metric": "m", "value": 1.5}], {})
    run.save_point("sweep", "b", [{"target": "y", "metric": "m", "value": 2.5}], {})
    table = run.write_table("sweep").read_text().splitlines()
    assert table[0] == "target,metric,value" and len(table) == 3


def test_failures_are_kept_even_when_repeated(results_dir: Path) -> None:
    run = new_run()
    run.save_failure("sweep", "s", {"reason": "did not start"})
    run.save_failure("sweep", "s", {"reason": "did not start again"})
    assert sorted(f["reason"] for f in run.failures("sweep")) == [
        "did not start", "did not start again"]


def test_atomic_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    atomic_write(tmp_path / "f.txt", "one")
    atomic_write(tmp_path / "f.txt", "two")
    assert [p.name for p in tmp_path.iterdir()] == ["f.txt"]
    assert (tmp_path / "f.txt").read_text() == "two"


def test_open_run_finds_latest_and_names_unknown_runs(results_dir: Path) -> None:
    run = new_run()
    assert open_run("latest").run_id == run.run_id
    with pytest.raises(LabError, match="no run 'nope'"):
        open_run("nope")


def test_an_old_schema_run_is_refused_clearly() -> None:
    with pytest.raises(LabError) as failure:
        open_run("20240101-000000-0000", results_dir=FIXTURES / "old_schema_run")
    assert "schema_version 0" in failure.value.message
    assert "git commit" in failure.value.hint


def test_a_schema_1_run_is_upgraded_on_load_without_inventing_anything() -> None:
    from tests.report.runs import V1_RUN

    meta = open_run(V1_RUN.name, results_dir=V1_RUN.parent).meta()
    assert meta["schema_version"] == 2 and meta["upgraded_from"] == 1
    assert "diff_sha256" not in meta["git"] and "specs" not in meta and "noise" not in meta
    assert json.loads((V1_RUN / "run.json").read_text())["schema_version"] == 1  # untouched


def test_a_future_schema_is_refused(results_dir: Path) -> None:
    run = new_run()
    meta = run.meta()
    meta["schema_version"] = 3
    (run.folder / "run.json").write_text(json.dumps(meta))
    with pytest.raises(LabError, match="schema_version 3"):
        open_run(run.run_id)
