"""A class, end to end through the tasks: one real quick run of lab.all (native), submitted
with lab.submit by three students (one honest, one who edited a CSV value, one with a wrong
measured answer), beside three malformed archives; lab.grade passes the honest one, flags
the edited one, marks the wrong answer wrong, and rejects the malformed archives without
extracting anything outside its temporary folder."""

from __future__ import annotations

import csv
import gzip
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

import pandas as pd
import pytest

from lab import ROOT
from lab.assignment.grade import FLAGS
from lab.assignment.questions import load_questions
from lab.backends.native import toolchain_problem
from lab.targets import select
from tests.fixtures.make_class import answers_file

TARGETS = "go/goroutines,node/event-loop,python/asyncio"
WRONG_QUESTION = "blocking-node-inline-p99"


def invoke(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT,
                          env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=900)


@pytest.fixture(scope="module")
def graded(tmp_path_factory: pytest.TempPathFactory) -> dict:
    problems = {p for t in select(TARGETS) if (p := toolchain_problem(t.runtime))}
    if problems and os.environ.get("LAB_REQUIRE_NATIVE") != "1":
        pytest.skip("; ".join(problems))
    base = tmp_path_factory.mktemp("class")
    lab_env = {"LAB_RESULTS_DIR": str(base / "results"), "LAB_REPORTS_DIR": str(base / "reports")}
    done = invoke("lab.all", "--profile", "quick", "--backend", "native", "--target", TARGETS,
                  env=lab_env)
    assert done.returncode == 0, done.stderr[-3000:]
    run_folder = next((base / "results").glob("*/run.json")).parent
    submissions = base / "submissions"

    def submit(student: str, env: dict[str, str], folder: Path, wrong: str = "") -> Path:
        answers = answers_file(base / f"{student}.toml", student, folder, wrong)
        done = invoke("lab.submit", "--answers", str(answers), "--out", str(submissions),
                      env=env)
        assert done.returncode == 0, done.stderr[-3000:]
        return submissions / f"{student}-{run_folder.name}.tar.gz"

    honest = submit("s-honest", lab_env, run_folder)
    submit("s-wrong", lab_env, run_folder, wrong=WRONG_QUESTION)
    # s-edited halves node/event-loop's inline /ping p99 in a copy of the run, then submits
    edited_env = {"LAB_RESULTS_DIR": str(base / "edited" / "results"),
                  "LAB_REPORTS_DIR": str(base / "edited" / "reports")}
    copy = base / "edited" / "results" / run_folder.name
    shutil.copytree(run_folder, copy)
    table = pd.read_csv(copy / "blocking.csv", keep_default_na=False, dtype=str)
    row = ((table["target"] == "node/event-loop") & (table["phase"] == "inline")
           & (table["stream"] == "ping") & (table["metric"] == "latency_p99"))
    assert row.sum() == 1
    table.loc[row, "value"] = str(float(table.loc[row, "value"].iloc[0]) / 2)
    table.to_csv(copy / "blocking.csv", index=False)
    submit("s-edited", edited_env, copy)

    token = os.urandom(4).hex()
    data = honest.read_bytes()
    (submissions / "truncated.tar.gz").write_bytes(data[:len(data) // 2])
    with tarfile.open(submissions / "traversal.tar.gz", "w:gz") as tar:
        for name in ("manifest.json", f"../escape-{token}.txt"):
            info = tarfile.TarInfo(name)
            info.size = 2
            tar.addfile(info, io.BytesIO(b"{}"))
    huge = tarfile.TarInfo("results/huge.csv")
    huge.size = 1 << 30
    (submissions / "huge.tar.gz").write_bytes(
        gzip.compress(huge.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024))

    done = invoke("lab.grade", str(submissions), "--out", str(base / "grading"), env=lab_env)
    assert done.returncode == 0, done.stderr[-3000:]
    with (base / "grading" / "class.csv").open() as handle:
        rows = {r["student_id"] or r["archive"]: r for r in csv.DictReader(handle)}
    return {"rows": rows, "html": (base / "grading" / "class.html").read_text(),
            "stderr": done.stderr, "escape": f"escape-{token}.txt", "base": base}


def auto_graded() -> list[str]:
    return [q.id for q in load_questions() if q.graded and not q.optional]


def test_the_honest_submission_passes(graded: dict) -> None:
    row = graded["rows"]["s-honest"]
    assert row["status"] == "graded"
    # Warnings only: one run shared by three students, maybe a lab with uncommitted changes.
    flags = [f for f in row["integrity"].split(";") if f != "ok"]
    assert all(FLAGS[f][0] == "warn" for f in flags), row["integrity_details"]
    assert "shared-run" in flags
    assert {q: row[q] for q in auto_graded() if row[q] != "correct"} == {}
    assert row["score"] == row["possible"]
    assert "cores" in row["machine"] and row["backend"] == "native"


def test_the_edited_csv_is_flagged(graded: dict) -> None:
    row = graded["rows"]["s-edited"]
    assert "edited-table" in row["integrity"].split(";")
    details = row["integrity_details"]
    assert "blocking.csv" in details and "node/event-loop" in details
    assert "latency_p99" in details and "phase=inline" in details
    assert "s-edited" in graded["stderr"] and "flagged" in graded["stderr"]


def test_the_wrong_answer_is_marked_wrong(graded: dict) -> None:
    row = graded["rows"]["s-wrong"]
    assert row[WRONG_QUESTION] == "wrong"
    assert {q for q in auto_graded() if row[q] != "correct"} == {WRONG_QUESTION}
    assert "edited-table" not in row["integrity"]


def test_malformed_archives_are_rejected_without_extraction(graded: dict) -> None:
    rows = graded["rows"]
    assert rows["truncated.tar.gz"]["status"] == "rejected"
    assert "truncated" in rows["truncated.tar.gz"]["rejected_because"]
    assert "climbs out" in rows["traversal.tar.gz"]["rejected_because"]
    assert "declares 1,073,741,824 bytes" in rows["huge.tar.gz"]["rejected_because"]
    for folder in (Path(tempfile.gettempdir()), graded["base"], graded["base"] / "submissions"):
        assert not (folder / graded["escape"]).exists()


def test_the_class_report_shows_the_class(graded: dict) -> None:
    html = graded["html"]
    for text in ("s-honest", "s-edited", "s-wrong", "Needs your attention", "huge.tar.gz",
                 "data:image/png;base64,", WRONG_QUESTION):
        assert text in html
