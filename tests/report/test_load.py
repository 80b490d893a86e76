"""Loading a results folder: tables, failures, points; other schemas refused clearly."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.load import load_run
from lab.errors import LabError
from tests.report.runs import OLD_SCHEMA_RUN, QUICK_RUN, SWEEP_RUN, add_tokio_failure, copy_run


def test_a_quick_run_loads_every_table() -> None:
    run = load_run(QUICK_RUN)
    assert run.run_id == QUICK_RUN.name
    assert run.status == "complete"
    assert run.experiments == ["sweep", "blocking", "semantics"]
    assert set(run.tables) == {"sweep", "blocking", "semantics"}
    blocking = run.table("blocking")
    assert {"phase", "stream", "cpu_ms", "metric", "value", "flags"} <= set(blocking.columns)
    assert blocking["flags"].map(type).eq(str).all()  # empty flags are "", never NaN
    assert sorted(blocking["target"].unique()) == ["go/goroutines", "node/event-loop",
                                                   "rust/tokio"]
    assert run.failures == {} and run.failed_targets == {} and run.problems == []


def test_points_index_names_the_raw_files() -> None:
    points = load_run(QUICK_RUN).points("blocking")
    assert set(points["phase"]) == {"baseline", "inline", "offload"}
    assert all(raw.startswith("blocking/raw/") for raw in points["raw"])


def test_a_run_is_found_by_id_in_a_results_dir() -> None:
    run = load_run(SWEEP_RUN.name, results_dir=SWEEP_RUN.parent)
    assert run.path == SWEEP_RUN
    assert run.table("sweep")["repetition"].nunique() == 2


def test_an_old_schema_run_is_refused_with_a_clear_message() -> None:
    with pytest.raises(LabError) as caught:
        load_run(OLD_SCHEMA_RUN)
    assert "schema_version 0" in caught.value.message
    assert "reads versions 1, 2" in caught.value.message
    assert caught.value.hint  # says what to do


def test_a_missing_run_or_a_folder_without_run_json_is_a_lab_error(tmp_path: Path) -> None:
    with pytest.raises(LabError, match="no run 'nope'"):
        load_run("nope", results_dir=tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(LabError, match="no run.json"):
        load_run(tmp_path / "empty")


def test_unreadable_tables_are_reported_not_fatal(tmp_path: Path) -> None:
    folder = copy_run(SWEEP_RUN, tmp_path)
    (folder / "broken.csv").write_text("just,some\n1,2\n")
    (folder / "empty.csv").write_text("")
    run = load_run(folder)
    assert "broken" not in run.tables
    assert any("broken.csv lacks the column(s) target, metric, value" in p for p in run.problems)
    assert run.table("empty").empty


def test_failures_are_read(tmp_path: Path) -> None:
    folder = copy_run(QUICK_RUN, tmp_path)
    add_tokio_failure(folder)
    run = load_run(folder)
    assert run.failures["blocking"][0]["target"] == "rust/tokio"
    assert isinstance(run.table("missing"), pd.DataFrame) and run.table("missing").empty
