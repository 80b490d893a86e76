"""The class report of lab.grade: three submissions of the example run (honest, a wrong
answer, an edited CSV) graded in process, rendered, and opened in headless Chromium."""

from __future__ import annotations

import csv
import io
import shutil

import pandas as pd
import pytest

from lab.assignment.classreport import write
from lab.assignment.grade import grade, shared_runs
from lab.assignment.questions import load_questions
from lab.assignment.submit import submit
from lab.experiments import registry
from tests.fixtures.make_class import answers_file
from tests.report.runs import RUNS
from tests.report.test_report_html import images, open_report

CLASS_RUN = RUNS / "20261130-122418-0adf"   # lab.all --profile quick, go and node kept
EXPERIMENTS = list(registry().values())
WRONG = "blocking-go-inline-p99"


@pytest.fixture(scope="module")
def class_report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    base = tmp_path_factory.mktemp("class")
    report = base / "index.html"
    report.write_text("<!doctype html><title>report</title>")
    questions, names = load_questions(), [e.name for e in EXPERIMENTS]
    archives = []
    for student, wrong in (("honest", ""), ("wrong", WRONG), ("edited", ""), ("builder", "")):
        folder = CLASS_RUN
        if student == "edited":
            folder = base / "edited" / CLASS_RUN.name
            shutil.copytree(CLASS_RUN, folder)
            table = pd.read_csv(folder / "sweep.csv", keep_default_na=False, dtype=str)
            table.loc[table["metric"] == "goodput_per_s", "value"] = "99999.0"
            table.to_csv(folder / "sweep.csv", index=False)
        answers = answers_file(base / f"{student}.toml", student, folder, wrong)
        if student == "builder":  # says go is the runtime it brought (go/* passed the smoke)
            answers.write_text(answers.read_text().replace("[answers]",
                                                           'runtime = "go"\n[answers]'))
        archives.append(submit(folder, answers, report, base / "submissions", questions,
                               names).archive)
    graded = [grade(a, questions, EXPERIMENTS, names) for a in archives]
    shared_runs(graded)
    html, table = write(graded, questions, base / "grading", 1.0)
    return {"graded": {g.student_id: g for g in graded}, "html": html,
            "csv": list(csv.DictReader(io.StringIO(table.read_text())))}


def test_marks_and_flags(class_report: dict) -> None:
    honest, wrong, edited = (class_report["graded"][s] for s in ("honest", "wrong", "edited"))
    assert honest.trusted and not wrong.flags.get("edited-table")
    assert [q for q, m in wrong.marks.items() if m.status == "wrong"] == [WRONG]
    assert "edited-table" in edited.flags and not edited.trusted
    assert any("sweep.csv" in p and "goodput_per_s" in p for p in edited.flags["edited-table"])
    assert honest.runtime_conformance == {} and "2 cores" in honest.machine


def test_an_own_runtime_is_reported_with_its_conformance(class_report: dict) -> None:
    builder = class_report["graded"]["builder"]
    assert builder.runtime == "go"
    assert builder.runtime_conformance["go/goroutines"]["passed"] > 0
    assert builder.runtime_files >= 3  # runtime.toml, sources, Dockerfile; never build/
    row = class_report["csv"][3]
    assert row["own_runtime"] == "go" and "go/goroutines:" in row["own_runtime_conformance"]


def test_the_csv_has_a_row_per_student_and_a_column_per_question(class_report: dict) -> None:
    rows = class_report["csv"]
    assert [r["student_id"] for r in rows] == ["honest", "wrong", "edited", "builder"]
    assert all(q.id in rows[0] for q in load_questions())
    assert rows[1][WRONG] == "wrong" and "edited-table" in rows[2]["integrity"]


def test_the_first_screen_shows_the_class_and_what_needs_attention(browser,
                                                                  class_report: dict) -> None:
    page, errors, requests = open_report(browser, class_report["html"])
    try:
        assert errors == []
        assert all(url.startswith(("file://", "data:")) for url in requests), requests
        attention = page.locator(".attention").inner_text()
        assert "edited: edited-table" in attention
        assert "4 submissions hold the same run" in attention  # run.json is the same
        rows = page.locator("table.class tbody tr")
        assert rows.count() == 4
        box = rows.nth(3).bounding_box()
        assert box is not None and box["y"] + box["height"] < 900, "rows below the first screen"
        cell = page.locator(f"table.class td[title^='{WRONG}: wrong']")
        assert cell.count() == 1 and "expected" in cell.get_attribute("title")
        assert [i["w"] > 0 for i in images(page)] == [True]
    finally:
        page.close()
