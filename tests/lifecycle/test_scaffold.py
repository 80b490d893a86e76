"""lab.new-runtime: a scaffolded runtime is discovered, builds, and answers /ping natively;
its runtime.toml holds every field of SPEC section 10."""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from lab import ROOT
from lab.backends.native import NativeBackend, toolchain_problem
from lab.cpus import default_cpu_sets
from lab.errors import LabError
from lab.scaffold import LANGUAGES, scaffold
from lab.targets import discover

SPEC_FIELDS = {"name", "description", "toolchain", "build", "build_env", "native_optional",
               "knobs", "command", "executors", "kind", "readiness", "mechanism",
               "variants", "pool_knob", "max_connections", "max_connections_reason",
               "availability"}


def get(host: str, port: int, path: str) -> tuple[int, str, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=5)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, response.getheader("Content-Type", ""), response.read()
    finally:
        conn.close()


@pytest.fixture
def runtimes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "runtimes"
    folder.mkdir()
    monkeypatch.setenv("LAB_RUNTIMES_PATH", str(folder))
    return folder


@pytest.mark.parametrize("language", ["python", "c", "go", "java"])
def test_a_scaffolded_runtime_builds_and_answers_ping(language: str, runtimes: Path) -> None:
    folder = scaffold(f"my-{language}", language, runtimes)
    target = next(t for t in discover() if t.runtime.name == f"my-{language}")
    assert target.model == LANGUAGES[language].model
    text = (folder / "runtime.toml").read_text()
    missing = [f for f in SPEC_FIELDS if not re.search(rf"^[#\s]*(\[)?{f}(\s*=|\.)", text, re.M)]
    assert not missing, f"SPEC section 10 fields missing: {missing}"
    assert "TODO" in tomllib.loads(text)["description"]
    assert {"Dockerfile", "README.md", ".gitignore"} <= {p.name for p in folder.iterdir()}
    assert "FROM ${BASE_IMAGE}" in (folder / "Dockerfile").read_text()
    problem = toolchain_problem(target.runtime)
    if problem and target.runtime.native_optional:
        pytest.skip(f"{problem} ({target.runtime.native_optional})")
    assert problem is None, problem
    backend = NativeBackend(default_cpu_sets())
    backend.build(target.runtime)
    with backend.serve(target) as server:
        assert get(server.host, server.port, "/ping") == (200, "text/plain; charset=utf-8",
                                                          b"pong")
        status, content_type, _ = get(server.host, server.port, "/nope")
        assert (status, content_type) == (404, "application/json")


def test_the_scaffolder_refuses_what_it_cannot_make(runtimes: Path) -> None:
    with pytest.raises(LabError, match="no skeleton for 'cobol'"):
        scaffold("mine", "cobol", runtimes)
    with pytest.raises(LabError, match="cannot name a runtime"):
        scaffold("../escape", "python", runtimes)
    with pytest.raises(LabError, match="exists already"):
        scaffold("go", "go", runtimes)
    scaffold("mine", "python", runtimes)
    with pytest.raises(LabError, match="already exists"):
        scaffold("mine", "python", runtimes)


def test_the_task_prints_the_next_steps(runtimes: Path, tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "invoke", "lab.new-runtime", "mine",
                           "--language", "c", "--into", str(runtimes)], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "lab.verify --target mine" in done.stderr
    assert "export LAB_RUNTIMES_PATH" not in done.stderr  # it is on the path already
    elsewhere = subprocess.run([sys.executable, "-m", "invoke", "lab.new-runtime", "other",
                                "--language", "go", "--into", str(tmp_path / "elsewhere")],
                               cwd=ROOT, capture_output=True, text=True)
    unwrapped = "".join(elsewhere.stderr.split())  # rich folds long lines, even in a word
    assert f"exportLAB_RUNTIMES_PATH={tmp_path / 'elsewhere'}" in unwrapped
    assert (runtimes / "mine" / "server.c").is_file()
    again = subprocess.run([sys.executable, "-m", "invoke", "lab.new-runtime", "mine",
                            "--language", "c", "--into", str(runtimes)], cwd=ROOT,
                           capture_output=True, text=True)
    assert again.returncode == 1 and "already exists" in again.stderr
    assert "Traceback" not in again.stderr
