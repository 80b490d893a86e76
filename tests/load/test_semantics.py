"""The semantics probes on both backends: every probe behaves as its lesson says, natively
and in its runtime's image; an altered expectation is reported as a mismatch, not waved
through; `lab.run semantics` reports it all, and says which runtime has no probes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from lab import ROOT
from lab.backends.selection import docker_engine_status
from lab.experiments.semantics.measure import run_probe
from lab.experiments.semantics.probes import load_probes
from lab.experiments.semantics.verdict import AS_EXPECTED, NOT_APPLICABLE, UNEXPECTED
from lab.targets import Runtime, discover
from tests.deployments import Deployment, backend_for, ensure_built, required

RUNTIMES = {t.runtime.name: t.runtime for t in discover() if load_probes(t.runtime.folder)}
# The one probe allowed not to apply: asyncio's eager task factory is new in Python 3.12.
MAY_NOT_APPLY = {("native", "python", "eager-task")} if sys.version_info < (3, 12) else set()


def _marks(backend: str, runtime: Runtime | None = None) -> list:
    if backend == "docker":
        answers, why = docker_engine_status()
        must = required("LAB_REQUIRE_DOCKER")
        return [pytest.mark.docker, *([pytest.mark.skip(reason=why)]
                                      if not answers and not must else [])]
    tool = runtime.toolchain[0] if runtime else "{python}"
    missing = tool != "{python}" and shutil.which(tool) is None
    return [pytest.mark.skip(reason=f"native toolchain '{tool}' is not installed")] \
        if missing and not required("LAB_REQUIRE_NATIVE") else []


def _probe_params(backends: list[str]) -> list:
    params = []
    for backend in backends:
        for name, runtime in sorted(RUNTIMES.items()):
            probes = load_probes(runtime.folder)
            assert probes is not None
            params += [pytest.param((backend, name, p.id), id=f"{backend}-{name}-{p.id}",
                                    marks=_marks(backend, runtime)) for p in probes.probes]
    return params


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Both backends, or the one --backend names."""
    wanted = metafunc.config.getoption("--backend")
    backends = [b for b in ("native", "docker") if wanted in ("all", b)]
    if "probe_case" in metafunc.fixturenames:
        metafunc.parametrize("probe_case", _probe_params(backends))
    elif "backend_name" in metafunc.fixturenames:
        metafunc.parametrize("backend_name", [pytest.param(b, id=b, marks=_marks(b))
                                              for b in backends])


def test_each_probe_behaves_as_its_lesson_says(probe_case: tuple[str, str, str]) -> None:
    backend, runtime, probe_id = probe_case
    target = ensure_built(Deployment(backend, runtime))
    probe = load_probes(target.runtime.folder).get(probe_id)
    run, verdict = run_probe(backend_for(backend), target.runtime, probe)
    output = f"\n--- stdout\n{run.stdout}--- stderr\n{run.stderr}"
    if (backend, runtime, probe_id) in MAY_NOT_APPLY:
        assert verdict.verdict == NOT_APPLICABLE, verdict.explanation + output
        assert "3.12" in verdict.explanation
    else:
        assert verdict.verdict == AS_EXPECTED, verdict.explanation + output
    assert run.timed_out == (probe.outcome == "deadline")


def test_an_altered_expectation_is_reported_as_a_mismatch(backend_name: str) -> None:
    target = ensure_built(Deployment(backend_name, "python"))
    probes = load_probes(target.runtime.folder)
    create_task = probes.get("create-task")
    first, second, third, *rest = create_task.expected
    swapped = replace(create_task, expected=(first, third, second, *rest))
    _, verdict = run_probe(backend_for(backend_name), target.runtime, swapped)
    assert verdict.verdict == UNEXPECTED
    assert verdict.explanation == f"line 2 is '{second}' where '{third}' was expected"

    finishes = replace(probes.get("threading-lock"), outcome="exit", deadline_s=1.0)
    run, verdict = run_probe(backend_for(backend_name), target.runtime, finishes)
    assert run.timed_out and verdict.verdict == UNEXPECTED
    assert verdict.explanation == "it should have finished, but the 1 s deadline killed it"


def _invoke(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    done = subprocess.run([sys.executable, "-m", "invoke", *args], cwd=ROOT,
                          env={**os.environ, "COLUMNS": "200", **env}, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def _run_and_report(tmp_path: Path, targets: str, backend: str,
                    env: dict[str, str] | None = None) -> tuple[Path, str]:
    env = {"LAB_RESULTS_DIR": str(tmp_path / "results"),
           "LAB_REPORTS_DIR": str(tmp_path / "reports"), **(env or {})}
    _invoke("lab.run", "semantics", "--profile", "quick", "--target", targets, "--backend",
            backend, env=env)
    (folder,) = (tmp_path / "results").iterdir()
    _invoke("lab.report", "--run-id", folder.name, env=env)
    return folder, (tmp_path / "reports" / folder.name / "index.html").read_text()


def _copy_python(root: Path, name: str, probes: bool) -> Path:
    folder = root / name
    shutil.copytree(ROOT / "runtimes" / "python", folder, ignore=shutil.ignore_patterns(
        "__pycache__", *([] if probes else ["probes"])))
    toml = folder / "runtime.toml"
    toml.write_text(toml.read_text().replace('name = "python"', f'name = "{name}"', 1))
    return folder


def test_lab_run_semantics_reports_mismatches_and_runtimes_without_probes(
        tmp_path: Path) -> None:
    """Natively: copies of the python runtime with one wrong expectation, without probes
    and with a malformed probes file, beside the real one; each is reported for what it is."""
    altered = _copy_python(tmp_path / "runtimes", "pywrong", probes=True) / "probes"
    truth = "2 script: got a coroutine object; its body has not run"
    myth = "2 script: the body ran at the call"
    toml = altered / "probes.toml"
    toml.write_text(toml.read_text().replace(f'"{truth}"', f'"{myth}"'))
    _copy_python(tmp_path / "runtimes", "pybare", probes=False)
    broken = _copy_python(tmp_path / "runtimes", "pybroken", probes=True) / "probes"
    (broken / "probes.toml").write_text('language = "Python"\n[[probes]]\nid = "x"\n')
    folder, html = _run_and_report(
        tmp_path, "python/asyncio,pywrong/asyncio,pybare/asyncio,pybroken/asyncio", "native",
        {"LAB_RUNTIMES_PATH": str(tmp_path / "runtimes")})

    (failure,) = [json.loads(p.read_text()) for p in (folder / "semantics" / "failures").iterdir()]
    assert failure["target"] == "pybroken/asyncio"
    assert failure["reason"] == "pybroken/probes/probes.toml probe 1: 'source' must be a string, " \
                                "got None"

    rows = (folder / "semantics.csv").read_text()
    assert "pybare/asyncio" in rows and "probes_declared" in rows
    assert "pywrong/coroutine-inert did not behave as its lesson says: line 2 is " \
           f"&#39;{truth}&#39; where &#39;{myth}&#39; was expected" in html
    assert "No probes for pybare: skipped" in html
    assert "probes as expected" in html
    assert 'class="trace level-bad"' in html  # the mismatched trace is highlighted
    good = len(load_probes(RUNTIMES["python"].folder).probes) - len(MAY_NOT_APPLY)
    assert f"Python asyncio (runtime python, native backend): {good} of {good} probe runs " \
           "behaved as expected" in html
    assert "hangs by design, and its deadline detected it" in html


def test_lab_run_semantics_on_each_backend_produces_the_section(backend_name: str,
                                                                tmp_path: Path) -> None:
    targets = "go/goroutines,node/event-loop,python/asyncio,rust/tokio"
    folder, html = _run_and_report(tmp_path, targets, backend_name)
    points = [json.loads(p.read_text()) for p in (folder / "semantics" / "points").glob("*")]
    verdicts = {(p["rows"][0]["runtime"], p["info"]["probe"]["id"]): p["info"]["verdict"]
                for p in points}
    chosen = {name.split("/")[0] for name in targets.split(",")}
    expected = {(name, p.id) for name, r in RUNTIMES.items() if name in chosen
                for p in load_probes(r.folder).probes}
    assert set(verdicts) == expected
    assert {k for k, v in verdicts.items() if v != AS_EXPECTED} == {
        (r, p) for b, r, p in MAY_NOT_APPLY if b == backend_name}
    assert "When does async code run?" in html and "probes as expected" in html
    meta = json.loads((folder / "run.json").read_text())
    assert meta["status"] == "complete" and meta["backend"]["backend"] == backend_name
