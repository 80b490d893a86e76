"""The semantics experiment's pure parts: the probes file, the verdict, the sessions."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.backends import ProgramRun
from lab.errors import LabError
from lab.experiments.semantics.measure import NO_PROBES, SemanticsSpec, sessions
from lab.experiments.semantics.probes import NOT_APPLICABLE_STATUS, Probe, load_probes
from lab.experiments.semantics.verdict import (
    AS_EXPECTED,
    NOT_APPLICABLE,
    UNEXPECTED,
    difference,
    judge,
)
from lab.targets import discover

PROBES = '''
language = "Toy"

[[probes]]
id = "order"
source = "probe.sh"
command = ["sh", "probe.sh"]
lesson = "Things happen in order."
expected = ["1 first", "2 second"]

[[probes]]
id = "hang"
source = "probe.sh"
command = ["sh", "probe.sh", "hang"]
lesson = "It hangs."
outcome = "deadline"
deadline_s = 2
env = { MODE = "hang" }
expected = ["1 first"]
'''


def _folder(tmp_path: Path, text: str = PROBES) -> Path:
    (tmp_path / "probes").mkdir()
    (tmp_path / "probes" / "probes.toml").write_text(text)
    (tmp_path / "probe.sh").write_text("echo 1 first\n")
    return tmp_path


def _probe(**changes: object) -> Probe:
    fields: dict = {"id": "p", "command": ("x",), "source": "x", "lesson": "l",
                    "expected": ("1 first", "2 second")}
    return Probe(**{**fields, **changes})


def _run(stdout: str = "1 first\n\n2 second\n", returncode: int | None = 0,
         timed_out: bool = False, stderr: str = "") -> ProgramRun:
    return ProgramRun(returncode, stdout, stderr, 0.05, timed_out)


def test_the_probes_file_is_read_with_its_defaults(tmp_path: Path) -> None:
    found = load_probes(_folder(tmp_path))
    assert found is not None and found.language == "Toy"
    order, hang = found.probes
    assert (order.outcome, order.deadline_s, order.env) == ("exit", 10.0, {})
    assert (hang.outcome, hang.deadline_s, hang.env) == ("deadline", 2.0, {"MODE": "hang"})
    assert order.record(tmp_path)["excerpt"] == "echo 1 first"
    assert found.get("hang") is hang
    with pytest.raises(LabError, match="no probe 'nope'"):
        found.get("nope")


def test_a_runtime_without_a_probes_file_has_none(tmp_path: Path) -> None:
    assert load_probes(tmp_path) is None


@pytest.mark.parametrize(("change", "message"), [
    (('language = "Toy"', ""), "'language' must be a string"),
    (('id = "order"', 'id = "Order!"'), "must be lowercase"),
    (('id = "hang"', 'id = "order"'), "probe ids repeat"),
    (('source = "probe.sh"', 'source = "gone.sh"'), "is not a file"),
    (('expected = ["1 first"]', "expected = []"), "'expected' must be a non-empty list"),
    (('command = ["sh", "probe.sh"]', 'command = "sh probe.sh"'), "'command' must be"),
    (('outcome = "deadline"', 'outcome = "crash"'), "'outcome' must be one of"),
    (("deadline_s = 2", "deadline_s = 0"), "'deadline_s' must be a positive number"),
    (('env = { MODE = "hang" }', "env = { MODE = 1 }"), "'env' must be a table of strings"),
    (('lesson = "It hangs."', ""), "'lesson' must be a string"),
    (("[[probes]]", "[[probe]]"), "no \\[\\[probes\\]\\] tables"),
    (('language = "Toy"', 'language = "Toy'), "is not valid TOML"),
])
def test_a_malformed_probes_file_is_an_error_naming_it(tmp_path: Path, change, message) -> None:
    folder = _folder(tmp_path, PROBES.replace(*change))
    with pytest.raises(LabError, match=message) as caught:
        load_probes(folder)
    assert "probes/probes.toml" in caught.value.message


def test_the_expected_trace_with_the_expected_outcome_is_as_expected() -> None:
    verdict = judge(_probe(), _run())
    assert verdict.verdict == AS_EXPECTED and verdict.as_expected == 1.0
    assert verdict.observed == ("1 first", "2 second")
    hung = judge(_probe(outcome="deadline", expected=("1 first",)),
                 _run("1 first\n", None, timed_out=True))
    assert hung.verdict == AS_EXPECTED and "deadline killed it" in hung.explanation


@pytest.mark.parametrize(("run", "why"), [
    (_run("2 second\n1 first\n"), "line 1 is '2 second' where '1 first' was expected"),
    (_run("1 first\n"), "stops after 1 of 2 lines, before '2 second'"),
    (_run("1 first\n2 second\n3 third\n"), "1 line(s) more than expected, from '3 third'"),
    (_run(returncode=1, stderr="boom\nTypeError: x\n"), "exited with status 1 (TypeError: x)"),
    (_run(returncode=None, timed_out=True), "should have finished, but the 10 s deadline"),
])
def test_anything_else_is_unexpected_and_says_why(run: ProgramRun, why: str) -> None:
    verdict = judge(_probe(), run)
    assert verdict.verdict == UNEXPECTED and verdict.as_expected == 0.0
    assert why in verdict.explanation


def test_a_probe_expected_to_hang_that_exits_is_unexpected() -> None:
    verdict = judge(_probe(outcome="deadline", deadline_s=3.0), _run())
    assert verdict.verdict == UNEXPECTED
    assert "should have hung until the 3 s deadline, but it exited with status 0" in \
        verdict.explanation


def test_a_probe_that_does_not_apply_says_why_and_is_not_counted() -> None:
    verdict = judge(_probe(), _run("not applicable: too old\n", NOT_APPLICABLE_STATUS))
    assert verdict.verdict == NOT_APPLICABLE and verdict.as_expected is None
    assert verdict.explanation == "not applicable: too old"


def test_equal_traces_have_no_difference() -> None:
    assert difference(("a", "b"), ("a", "b")) == ""


def test_one_session_per_runtime_with_a_point_per_probe() -> None:
    targets = discover()
    found = sessions(SemanticsSpec(repetitions=2), targets)
    runtimes = {t.runtime.name for t in targets}
    assert len(found) == 2 * len(runtimes)
    assert len({s.target.runtime.name for s in found}) == len(runtimes)
    for session in found:
        probes = load_probes(session.target.runtime.folder)
        ids = [p.as_dict()["probe"] for p in session.points]
        assert ids == ([p.id for p in probes.probes] if probes else [NO_PROBES])


RUNTIMES_WITH_PROBES = sorted({t.runtime.name: t.runtime.folder for t in discover()
                               if load_probes(t.runtime.folder)}.items())


@pytest.mark.parametrize(("runtime", "folder"), RUNTIMES_WITH_PROBES)
def test_every_probe_of_a_runtime_quotes_its_source_and_numbers_its_trace(runtime: str,
                                                                         folder: Path) -> None:
    probes = load_probes(folder)
    assert probes is not None
    for probe in probes.probes:
        assert [line.split()[0] for line in probe.expected] == [
            str(n) for n in range(1, len(probe.expected) + 1)], f"{runtime}/{probe.id}"
        assert (folder / probe.source).read_text().strip()
