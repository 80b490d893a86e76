"""Target discovery: runtime.toml files become targets; bad files say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.targets import discover, load_runtime, select

VALID = """
name = "toy"
description = "a toy runtime"
toolchain = ["true"]
build = [["true", "step"]]
build_env = { A = "1" }

[knobs.WORKERS]
description = "workers"
default = "CPUs"

[models.loop]
description = "one loop"
command = ["{python}", "-m", "toy"]
knobs = []
executors = 1

[models.pool]
description = "a pool"
command = ["./pool"]
knobs = ["WORKERS"]
executors = "WORKERS"
"""


def write_runtime(root: Path, text: str, name: str = "toy") -> Path:
    folder = root / "runtimes" / name
    folder.mkdir(parents=True)
    (folder / "runtime.toml").write_text(text)
    return root / "runtimes"


def test_a_runtime_folder_becomes_targets(tmp_path: Path) -> None:
    targets = discover(write_runtime(tmp_path, VALID))
    assert [t.name for t in targets] == ["toy/loop", "toy/pool"]
    loop, pool = targets
    assert loop.command_with("/usr/bin/python3") == ["/usr/bin/python3", "-m", "toy"]
    assert loop.runtime.build_steps == (("true", "step"),)
    assert loop.runtime.build_env == {"A": "1"}
    assert pool.knobs["WORKERS"].description == "workers"
    assert loop.executors_for({}) == 1
    assert pool.executors_for({"WORKERS": 4}) == 4


@pytest.mark.parametrize(("broken", "message"), [
    ('description = "a toy runtime"', "missing 'description'"),
    ('knobs = ["WORKERS"]\nexecutors = "WORKERS"', "not declared under [knobs]"),
    ("executors = 1\n", "executors must be"),
    ('command = ["./pool"]', "expected a non-empty list"),
    ("[models.loop]", "not valid TOML"),
])
def test_a_broken_runtime_toml_names_the_problem(tmp_path: Path, broken: str,
                                                 message: str) -> None:
    replacements = {
        'description = "a toy runtime"': "",
        'knobs = ["WORKERS"]\nexecutors = "WORKERS"': 'knobs = ["NOPE"]\nexecutors = "NOPE"',
        "executors = 1\n": 'executors = "many"\n',
        'command = ["./pool"]': "command = []",
        "[models.loop]": "[models.loop",
    }
    text = VALID.replace(broken, replacements[broken], 1)
    with pytest.raises(LabError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_runtime(write_runtime(tmp_path, text) / "toy" / "runtime.toml")


DESIGN_TARGETS = {
    "node/event-loop", "node/cluster", "go/goroutines", "rust/tokio",
    "rust/tokio-current-thread", "python/fork", "python/prefork", "python/threaded",
    "python/threadpool", "python/select", "python/poll", "python/epoll-lt", "python/epoll-et",
    "python/asyncio", "python/uvloop"}


def test_the_repository_declares_every_design_target() -> None:
    assert {t.name for t in discover()} == DESIGN_TARGETS
    for target in discover():
        assert target.description and target.command
        assert (target.runtime.folder / "Dockerfile").exists(), target.runtime.name
        assert (target.runtime.folder / "README.md").exists(), target.runtime.name


def test_select_by_runtime_target_and_list() -> None:
    available = discover()
    assert {t.name for t in select("go", available)} == {"go/goroutines"}
    assert [t.name for t in select("go/goroutines,go", available)] == ["go/goroutines"]
    assert select(None, available) == available


def test_an_unknown_target_suggests_close_names() -> None:
    with pytest.raises(LabError) as failure:
        select("go/goroutine")
    assert "go/goroutines" in failure.value.hint
