"""The course's parts without a live run: questions and their query language, answers,
archives (including malicious ones), manifests, integrity checks, marking, submitting.

The example run is a real quick run kept in tests/fixtures/runs (sweep and blocking)."""

from __future__ import annotations

import gzip
import io
import json
import math
import os
import re
import tarfile
import tempfile
import tomllib
from pathlib import Path

import pandas as pd
import pytest

from analysis import integrity
from analysis.load import load_run
from lab.assignment import handout, manifest
from lab.assignment.answers import Answers, as_names, as_number, parse_answers, template
from lab.assignment.archive import Limits, Rejected, pack, unpack
from lab.assignment.classreport import _csv_cell, robust_outliers
from lab.assignment.marking import CORRECT, MISSING, UNGRADABLE, WRONG, Scorecards, mark
from lab.assignment.query import QueryError, choose, evaluate, parse_choice, parse_query
from lab.assignment.questions import (
    OWN_RUNTIME,
    QUESTIONS_FILE,
    Question,
    Tolerance,
    load_questions,
    load_sections,
)
from lab.assignment.submit import submit
from lab.errors import LabError
from lab.experiments import registry
from tests.report.runs import QUICK_RUN, RUNS, copy_run

# A complete quick run of lab.all (conformance, every experiment, raw records and points
# of go/goroutines and node/event-loop, nothing else removed).
CLASS_RUN = RUNS / "20261130-122418-0adf"
EXPERIMENTS = list(registry().values())
NODE_INLINE = {"experiment": "blocking", "metric": "latency_p99",
               "where": {"target": "node/event-loop", "phase": "inline", "stream": "ping"}}


@pytest.fixture(scope="module")
def run():
    return load_run(QUICK_RUN)


def table_value(run, experiment: str, **where: object) -> float:
    frame = run.table(experiment)
    for column, value in where.items():
        frame = frame[frame[column] == value]
    assert len(frame) == 1
    return float(frame["value"].iloc[0])


# -- the questions ----------------------------------------------------------------------

def test_the_questions_parse_and_name_report_sections() -> None:
    questions = load_questions()
    assert {q.kind for q in questions} == {"measured", "choice", "text"}
    sections = load_sections()
    assert {q.section for q in questions} <= {*registry(), OWN_RUNTIME}
    for name, experiment in registry().items():
        if name in sections:
            assert sections[name] == experiment.concept.title, "the report's heading"
    for question in questions:
        assert question.text.endswith(("?", ".", ")")), question.id


def test_every_graded_question_has_an_answer_in_a_complete_quick_run() -> None:
    """lab.all --profile quick is what students run: each question must find its data
    (the fixture keeps two targets, so a question about another one cannot be tried)."""
    run = load_run(CLASS_RUN)
    scorecards = Scorecards(run, EXPERIMENTS)
    raw = {q["id"]: q for q in tomllib.loads(QUESTIONS_FILE.read_text())["questions"]}
    tried = 0
    for question in load_questions():
        named = set(re.findall(r"'target': '([^']+)'", str(raw[question.id])))
        if question.kind == "text" or question.optional or named - set(run.target_names):
            continue
        answer = 1.0 if question.kind == "measured" else ["x"]
        marked = mark(question, Answers("s", "", values={question.id: answer}), run, scorecards)
        assert marked[0].status != UNGRADABLE, question.id
        tried += 1
    assert tried >= 10


def test_the_handout_lists_the_questions_of_the_file() -> None:
    text = handout.HANDOUT.read_text()
    fresh = handout.question_list(load_questions(), load_sections())
    assert handout.current(text) == fresh, (
        "assignment/README.md is stale: run `uv run python -m lab.assignment.handout`")


def test_a_malformed_question_is_refused_with_its_id(tmp_path: Path) -> None:
    path = tmp_path / "questions.toml"
    path.write_text('[[questions]]\nid = "q1"\nsection = "blocking"\nkind = "measured"\n'
                    'text = "How long?"\nunit = "ms"\n'
                    'query = { experiment = "blocking", metric = "x", over = "mode" }\n')
    with pytest.raises(LabError, match="question 'q1'.*'over' must be one of"):
        load_questions(path)
    path.write_text('[[questions]]\nid = "q1"\nsection = "x"\nkind = "text"\ntext = "Why?"\n'
                    '[[questions]]\nid = "q1"\nsection = "x"\nkind = "text"\ntext = "Why?"\n')
    with pytest.raises(LabError, match="ids repeat: q1"):
        load_questions(path)


# -- the query language -----------------------------------------------------------------

def test_a_value_query_reads_the_tidy_table(run) -> None:
    expected = table_value(run, "blocking", target="node/event-loop", phase="inline",
                           stream="ping", metric="latency_p99")
    assert evaluate(parse_query(NODE_INLINE, "t"), run) == expected


def test_a_ratio_divides_two_queries(run) -> None:
    baseline = {**NODE_INLINE, "where": {**NODE_INLINE["where"], "phase": "baseline"}}
    query = parse_query({"op": "ratio", "of": [NODE_INLINE, baseline]}, "t")
    assert evaluate(query, run) == pytest.approx(
        evaluate(parse_query(NODE_INLINE, "t"), run)
        / evaluate(parse_query(baseline, "t"), run))


def test_lists_filter_and_over_reduces(run) -> None:
    query = parse_query({"experiment": "blocking", "metric": "latency_p99", "over": "max",
                         "where": {"target": ["node/event-loop", "go/goroutines"],
                                   "phase": "inline", "stream": "ping"}}, "t")
    both = [table_value(run, "blocking", target=t, phase="inline", stream="ping",
                        metric="latency_p99") for t in ("node/event-loop", "go/goroutines")]
    assert evaluate(query, run) == max(both)


def test_a_query_without_data_cannot_grade(run) -> None:
    with pytest.raises(QueryError, match="no measured value"):
        evaluate(parse_query({**NODE_INLINE, "where": {"target": "java/virtual-threads"}},
                             "t"), run)
    with pytest.raises(QueryError, match="no made-up results"):
        evaluate(parse_query({"experiment": "made-up", "metric": "as_expected"}, "t"), run)


@pytest.mark.parametrize(("table", "message"), [
    ({"experiment": "sweep"}, "'metric' must be a str"),
    ({"experiment": "sweep", "metric": "m", "limit": 3}, "unknown key"),
    ({"op": "product", "of": []}, "'op' must be one of"),
    ({"op": "ratio", "of": [NODE_INLINE]}, "needs 'of = \\[query, query\\]'"),
    ({"experiment": "sweep", "metric": "m", "where": {"target": {"a": 1}}}, "where.target"),
])
def test_malformed_queries_say_what_is_wrong(table: dict, message: str) -> None:
    with pytest.raises(QueryError, match=message):
        parse_query(table, "t")


def test_choices_from_tables_scorecards_and_fixed_answers(run) -> None:
    scorecards = Scorecards(run, EXPERIMENTS)
    fastest = parse_choice({"from": "table", "experiment": "sweep", "metric": "goodput_per_s",
                            "where": {"endpoint": "/ping", "mode": "closed"}, "by": "target",
                            "pick": "max"}, "t")
    rates = run.table("sweep")
    rates = rates[(rates["endpoint"] == "/ping") & (rates["metric"] == "goodput_per_s")
                  & (rates["mode"] == "closed")]
    assert choose(fastest, run, scorecards) == {rates.loc[rates["value"].idxmax(), "target"]}
    over_10ms = parse_choice({"from": "table", "experiment": "blocking", "metric":
                              "latency_p99", "where": {"phase": "inline", "stream": "ping"},
                              "by": ["runtime", "model"], "test": {"op": ">", "value": 10}},
                             "t")
    chosen = choose(over_10ms, run, scorecards)
    assert all("/" in name for name in chosen)
    stalled = parse_choice({"from": "scorecard", "experiment": "blocking",
                            "column": "/cpu inline", "level": "bad"}, "t")
    column = next(c for c in EXPERIMENTS[1].scorecard(run) if c.title == "/cpu inline")
    assert choose(stalled, run, scorecards) == {t for t, c in column.cells.items()
                                                if c.level == "bad"}
    fixed = parse_choice({"from": "fixed", "options": {"a": "x", "b": "y"}, "answer": ["b"]},
                         "t")
    assert choose(fixed, run, scorecards) == {"b"}
    with pytest.raises(QueryError, match="exactly one of 'pick'"):
        parse_choice({"from": "table", "experiment": "s", "metric": "m", "by": "target"}, "t")
    with pytest.raises(QueryError, match="no column 'nope'"):
        choose(parse_choice({"from": "scorecard", "experiment": "blocking", "column": "nope",
                             "level": "bad"}, "t"), run, scorecards)


# -- answers and marking ----------------------------------------------------------------

def test_answers_parse_numbers_names_and_refuse_bad_toml() -> None:
    answers = parse_answers('[student]\nid = " s1 "\nname = "Ada"\n[answers]\nq = "1,234.5 ms"'
                            '\nc = ["a", " b "]\n')
    assert (answers.student_id, answers.student_name, answers.runtime) == ("s1", "Ada", "")
    assert as_number(answers.values["q"], "ms") == 1234.5
    assert as_number("12 s", "ms") is None and as_number(True, "") is None
    assert as_names(answers.values["c"]) == {"a", "b"} and as_names(3) is None
    with pytest.raises(LabError, match="not valid TOML"):
        parse_answers("[student\n")


def test_the_template_is_valid_toml_that_reads_as_unanswered() -> None:
    questions = load_questions()
    answers = parse_answers(template(questions, {questions[1].id: ["go/goroutines"]}))
    assert not any(answers.given(q) for q in questions)
    assert set(answers.values) == {q.id for q in questions}


def test_marks_follow_the_students_own_data(run) -> None:
    expected = evaluate(parse_query(NODE_INLINE, "t"), run)
    question = Question("q", "blocking", "measured", "How long?", "ms",
                        tolerance=Tolerance(0.05, 0.01), query=parse_query(NODE_INLINE, "t"))
    scorecards = Scorecards(run, EXPERIMENTS)

    def status(value: object, q: Question = question) -> str:
        return mark(q, Answers("s", "", values={"q": value}), run, scorecards)[0].status

    assert status(round(expected * 1.04, 1)) == CORRECT
    assert status(expected * 1.5) == WRONG
    assert status("") == MISSING
    assert status("fast") == WRONG
    nothing = Question("q", "blocking", "measured", "How long?", "ms", query=parse_query(
        {**NODE_INLINE, "where": {"target": "nope/nope"}}, "t"))
    assert status(1.0, nothing) == UNGRADABLE
    choice = Question("q", "blocking", "choice", "Which?", choices=parse_choice(
        {"from": "fixed", "options": {"a": "x", "b": "y"}, "answer": ["a"]}, "t"))
    assert status(["a"], choice) == CORRECT
    assert status(["a", "b"], choice) == WRONG


# -- archives ---------------------------------------------------------------------------

def _tar_gz(members: list[tuple[tarfile.TarInfo, bytes | None]]) -> bytes:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w:gz") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return raw.getvalue()


def _file(name: str, data: bytes = b"x") -> tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    return info, data


def _link(name: str, kind: bytes, target: str) -> tuple[tarfile.TarInfo, None]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info, None


def _declared(size: int) -> bytes:
    """A gzip'd tar whose one member declares size bytes but holds 512 of them."""
    info = tarfile.TarInfo("results/big.csv")
    info.size = size
    return gzip.compress(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 512)


# Each case builds its archive for a token, so that an escape would land on a fresh name.
BAD_ARCHIVES = {
    "not a tar.gz": (lambda t: b"not an archive at all", "not a complete .tar.gz"),
    "truncated": (lambda t: _tar_gz([_file("manifest.json"),
                                     _file("results/a.csv", os.urandom(50_000))])[:20_000],
                  "truncated"),
    "../ member": (lambda t: _tar_gz([_file("manifest.json"), _file(f"../escape-{t}.txt")]),
                   "climbs out"),
    "../ inside": (lambda t: _tar_gz([_file("manifest.json"),
                                      _file(f"results/../../escape-{t}.txt")]), "climbs out"),
    "absolute": (lambda t: _tar_gz([_file(f"/tmp/escape-{t}.txt")]), "absolute path"),
    "symlink": (lambda t: _tar_gz([_file("manifest.json"),
                                   _link("results/x", tarfile.SYMTYPE, "/etc/passwd")]),
                "is a link"),
    "hard link": (lambda t: _tar_gz([_file("manifest.json"),
                                     _link("results/x", tarfile.LNKTYPE, "manifest.json")]),
                  "is a link"),
    "stray top level": (lambda t: _tar_gz([_file("manifest.json"), _file("secrets/x")]),
                        "not part of a submission"),
    "duplicate": (lambda t: _tar_gz([_file("manifest.json"), _file("results/a"),
                                     _file("results/a")]), "appears twice"),
    "no manifest": (lambda t: _tar_gz([_file("results/a")]), "no manifest.json"),
    "1 GB declared": (lambda t: _declared(1 << 30), "declares 1,073,741,824 bytes"),
}


@pytest.mark.parametrize("case", BAD_ARCHIVES)
def test_bad_archives_are_rejected_and_never_extracted_outside(tmp_path: Path,
                                                                case: str) -> None:
    build, reason = BAD_ARCHIVES[case]
    token = os.urandom(4).hex()
    path = tmp_path / "bad.tar.gz"
    path.write_bytes(build(token))
    into = tmp_path / "deep" / "into"
    into.mkdir(parents=True)
    with pytest.raises(Rejected, match=reason):
        unpack(path, into)
    outside = [Path(tempfile.gettempdir()) / f"escape-{token}.txt",
               tmp_path / f"escape-{token}.txt", tmp_path / "deep" / f"escape-{token}.txt"]
    assert not any(p.exists() for p in outside)
    assert not (into / "results" / "big.csv").exists()


def test_limits_on_total_size_and_member_count(tmp_path: Path) -> None:
    path = tmp_path / "many.tar.gz"
    path.write_bytes(_tar_gz([_file("manifest.json"),
                              *(_file(f"results/{i}", b"y" * 100) for i in range(5))]))
    with pytest.raises(Rejected, match="over 3 members"):
        unpack(path, tmp_path / "a", Limits(members=3))
    with pytest.raises(Rejected, match="add up to over"):
        unpack(path, tmp_path / "b", Limits(total_bytes=300))
    with pytest.raises(Rejected, match="MiB a submission may be"):
        unpack(path, tmp_path / "c", Limits(archive_bytes=10))


def test_pack_unpack_and_the_manifest_catch_any_change(tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "results").mkdir(parents=True)
    (source / "results" / "t.csv").write_text("a,b\n1,2\n")
    (source / "answers.toml").write_text("[student]\nid = \"s\"\n")
    files = [("answers.toml", source / "answers.toml"), ("results/t.csv",
                                                         source / "results" / "t.csv")]
    listing = tmp_path / "manifest.json"
    listing.write_text(json.dumps(manifest.build(files, {"run_id": "r"}, {"id": "s"})))
    archive = tmp_path / "s.tar.gz"
    pack(archive, [("manifest.json", listing), *files])
    into = tmp_path / "into"
    into.mkdir()
    assert sorted(unpack(archive, into)) == ["answers.toml", "manifest.json", "results/t.csv"]
    assert manifest.read(into)[1] == []
    (into / "results" / "t.csv").write_text("a,b\n1,3\n")
    (into / "extra.txt").write_text("")
    (into / "answers.toml").unlink()
    assert manifest.read(into)[1] == [
        "extra.txt is in the archive but not in the manifest",
        "answers.toml is in the manifest but not in the archive",
        "results/t.csv changed after it was packed (SHA-256 differs)"]


# -- integrity --------------------------------------------------------------------------

@pytest.mark.parametrize("experiment", ["sweep", "blocking", "semantics"])
def test_recomputed_summaries_match_an_honest_run(experiment: str) -> None:
    run = load_run(CLASS_RUN)
    again = registry()[experiment].recompute(run)
    assert len(again) >= len(run.points(experiment)), "a point gave nothing again"
    assert integrity.unreadable(again) == []
    assert integrity.against_raw(experiment, run.table(experiment), again) == []
    assert integrity.against_points(experiment, run.path, run.table(experiment)) == []
    assert integrity.missing_raw(experiment, run.path) == []


def test_an_edited_value_disagrees_with_the_raw_records(tmp_path: Path) -> None:
    folder = copy_run(CLASS_RUN, tmp_path)
    blocking = registry()["blocking"]
    frame = pd.read_csv(folder / "blocking.csv")
    edit = ((frame["target"] == "go/goroutines") & (frame["phase"] == "inline")
            & (frame["stream"] == "ping") & (frame["metric"] == "latency_p99"))
    frame.loc[edit, "value"] = frame.loc[edit, "value"] / 10
    frame.to_csv(folder / "blocking.csv", index=False)
    edited = load_run(folder)
    problems = integrity.against_raw("blocking", edited.table("blocking"),
                                     blocking.recompute(edited))
    assert len(problems) == 1 and "go/goroutines" in problems[0]
    assert "phase=inline" in problems[0] and "latency_p99" in problems[0]


def test_raw_records_of_another_format_are_said_to_be_unreadable(tmp_path: Path) -> None:
    folder = copy_run(CLASS_RUN, tmp_path)
    raw = next((folder / "blocking" / "raw").glob("*.pacer.csv"))
    raw.write_text(raw.read_text().replace("ready_ns,", "", 1))  # an older pacer's columns
    problems = integrity.unreadable(registry()["blocking"].recompute(load_run(folder)))
    assert problems and "cannot be read again" in problems[0]


def test_a_table_is_checked_against_its_point_files() -> None:
    run = load_run(CLASS_RUN)
    edited = run.table("sweep").copy()
    edited.loc[edited.index[0], "value"] += 1
    assert "a row its point files do not" in integrity.against_points("sweep", run.path,
                                                                      edited)[0]
    assert integrity.against_points("sweep", run.path, edited.iloc[1:]) == [
        f"sweep.csv has {len(edited) - 1} rows; its point files have {len(edited)}"]


def test_raw_files_are_found_only_inside_the_run(tmp_path: Path) -> None:
    folder = copy_run(CLASS_RUN, tmp_path)
    assert integrity.raw_file(folder, "blocking", "../../run", "json") is None
    point = next((folder / "blocking" / "points").glob("*.json"))
    data = json.loads(point.read_text())
    data["info"]["raw"] = "../../../etc/passwd"
    point.write_text(json.dumps(data))
    assert "names the raw file ../../../etc/passwd" in integrity.missing_raw(
        "blocking", folder)[0]


# -- submitting -------------------------------------------------------------------------

def _answers(path: Path, student: str = "s1") -> Path:
    path.write_text(f'[student]\nid = "{student}"\nname = "A"\n[answers]\n')
    return path


def test_an_incomplete_run_is_refused_with_why(tmp_path: Path) -> None:
    folder = copy_run(CLASS_RUN, tmp_path, status="running", experiments=["sweep"],
                      conformance={})
    report = tmp_path / "index.html"
    report.write_text("<html></html>")
    with pytest.raises(LabError) as refused:
        submit(folder, _answers(tmp_path / "a.toml"), report, tmp_path / "out",
               load_questions(), list(registry()))
    message = str(refused.value)
    assert "status is 'running'" in message and "--resume" in message
    others = [name for name in registry() if name != "sweep"]
    assert f"did not run {', '.join(others)}" in message
    assert "no conformance table" in message
    packed = submit(folder, tmp_path / "a.toml", report, tmp_path / "out", load_questions(),
                    list(registry()), allow_incomplete=True)
    assert packed.archive.exists() and any("incomplete run" in w for w in packed.warnings)
    with pytest.raises(LabError, match="student.id is empty"):
        submit(folder, _answers(tmp_path / "b.toml", ""), report, tmp_path / "out",
               load_questions(), list(registry()), allow_incomplete=True)


# -- the class report -------------------------------------------------------------------

def test_csv_cells_cannot_become_spreadsheet_formulas() -> None:
    assert _csv_cell("=HYPERLINK(\"x\")") == "'=HYPERLINK(\"x\")"
    assert _csv_cell("-1") == "'-1" and _csv_cell("ok") == "ok"


def test_outliers_are_far_from_the_class_in_robust_units() -> None:
    values = [(f"s{i}", 100.0 + i) for i in range(8)] + [("odd", 400.0)]
    assert robust_outliers(values) == ["odd"]
    assert robust_outliers(values[:4]) == []
    assert not math.isnan(sum(v for _, v in values))


def test_a_submission_of_garbage_is_graded_or_rejected_never_raised(tmp_path: Path) -> None:
    from lab.assignment.grade import grade

    run_id = "20990101-000000-abcd"
    files = {"answers.toml": '[student]\nid = "g"\n[answers]\nsweep-ping-go = "12"\n',
             f"results/{run_id}/run.json": json.dumps({"schema_version": 1, "run_id": run_id,
                                                        "status": "complete", "machine": 7}),
             f"results/{run_id}/blocking.csv": "target,metric,value\nx,latency_p99,[]\n,,\n",
             f"results/{run_id}/sweep.csv": "\x00\x01 not a table",
             f"results/{run_id}/blocking/points/x.json": '{"rows": 3, "info": {"raw": "/"}}',
             "report/index.html": "<html>"}
    paths = []
    for name, text in files.items():
        path = tmp_path / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append((name, path))
    listing = tmp_path / "manifest.json"
    listing.write_text(json.dumps(manifest.build(paths, {"run_id": run_id}, {"id": "g"})))
    archive = tmp_path / "g.tar.gz"
    pack(archive, [("manifest.json", listing), *paths])
    graded = grade(archive, load_questions(), EXPERIMENTS, list(registry()))
    assert graded.rejected or graded.flags
    if not graded.rejected:
        assert "schema" in graded.flags and not graded.trusted
