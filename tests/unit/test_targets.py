"""Target discovery: runtime.toml files become targets; bad files say what is wrong."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.backends.native import toolchain_problem
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
kind = "event-loop"
readiness = "select"
mechanism = "one thread runs every handler"
max_connections = 1024
max_connections_reason = "FD_SETSIZE"

[models.pool]
description = "a pool"
command = ["./pool"]
knobs = ["WORKERS"]
executors = "WORKERS"
kind = "process-pool"
pool_knob = "WORKERS"
readiness = "blocking"
mechanism = "each worker owns a connection"
variants = { blocking = [{ WORKERS = "2" }] }
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
    assert (loop.kind, loop.readiness, loop.max_connections()) == ("event-loop", "select", 1024)
    assert pool.is_pool and pool.pool_knob == "WORKERS" and not pool.serves_all_at_once(2)
    assert loop.serves_all_at_once(1000) and not loop.serves_all_at_once(1100)
    assert pool.variants_for("blocking") == ({"WORKERS": "2"},)
    assert pool.variants_for("sweep") == ()
    assert loop.facts()["mechanism"] == "one thread runs every handler"


@pytest.mark.parametrize(("broken", "message"), [
    ('description = "a toy runtime"', "missing 'description'"),
    ('knobs = ["WORKERS"]\nexecutors = "WORKERS"', "not declared under [knobs]"),
    ("executors = 1\n", "executors must be"),
    ('command = ["./pool"]', "expected a non-empty list"),
    ("[models.loop]", "not valid TOML"),
    ('kind = "event-loop"', "'kind' must be one of"),
    ('pool_knob = "WORKERS"\n', "needs 'pool_knob'"),
    ('variants = { blocking = [{ WORKERS = "2" }] }', "are not knobs of this model"),
    ('max_connections_reason = "FD_SETSIZE"', "missing 'max_connections_reason'"),
])
def test_a_broken_runtime_toml_names_the_problem(tmp_path: Path, broken: str,
                                                 message: str) -> None:
    replacements = {
        'description = "a toy runtime"': "",
        'knobs = ["WORKERS"]\nexecutors = "WORKERS"': 'knobs = ["NOPE"]\nexecutors = "NOPE"',
        "executors = 1\n": 'executors = "many"\n',
        'command = ["./pool"]': "command = []",
        "[models.loop]": "[models.loop",
        'kind = "event-loop"': 'kind = "magic"',
        'pool_knob = "WORKERS"\n': "",
        'variants = { blocking = [{ WORKERS = "2" }] }':
            'variants = { blocking = [{ NOPE = "2" }] }',
        'max_connections_reason = "FD_SETSIZE"': "",
    }
    text = VALID.replace(broken, replacements[broken], 1)
    with pytest.raises(LabError, match=message.replace("[", r"\[").replace("]", r"\]")):
        load_runtime(write_runtime(tmp_path, text) / "toy" / "runtime.toml")


def test_native_optional_says_why_a_toolchain_may_be_missing(tmp_path: Path) -> None:
    _, [loop, _pool] = load_runtime(write_runtime(tmp_path, VALID) / "toy" / "runtime.toml")
    assert loop.runtime.native_optional is None
    text = VALID.replace('build_env', 'native_optional = "no package"\nbuild_env', 1)
    _, [loop, _pool] = load_runtime(write_runtime(tmp_path, text, "toy2") / "toy2" / "runtime.toml")
    assert loop.runtime.native_optional == "no package"
    with pytest.raises(LabError, match="'native_optional' must be a str"):
        load_runtime(write_runtime(tmp_path, text.replace('"no package"', "1"), "toy3")
                     / "toy3" / "runtime.toml")


@pytest.mark.parametrize(("toolchain", "problem"), [
    ('["true"]', None),
    ('["no-such-compiler", "--version"]', "'no-such-compiler' for toy is not installed"),
    ('["sh", "-c", "echo no JDK 21 found >&2; exit 1"]', "no JDK 21 found"),
    ('["false"]', "`false` exited with status 1"),
])
def test_a_toolchain_that_fails_is_a_missing_toolchain(tmp_path: Path, toolchain: str,
                                                       problem: str | None) -> None:
    """The toolchain command runs in the runtime's folder; its own words say what is missing."""
    text = VALID.replace('toolchain = ["true"]', f"toolchain = {toolchain}")
    runtime, _ = load_runtime(write_runtime(tmp_path, text) / "toy" / "runtime.toml")
    found = toolchain_problem(runtime)
    assert found is None if problem is None else problem in (found or ""), found


def test_every_runtime_folder_is_complete() -> None:
    """Whatever runtimes exist: each declares its facts, a Dockerfile and a README."""
    targets = discover()
    assert len({t.runtime.name for t in targets}) >= 4
    for target in targets:
        assert target.description and target.command and target.mechanism
        assert (target.runtime.folder / "Dockerfile").exists(), target.runtime.name
        assert (target.runtime.folder / "README.md").exists(), target.runtime.name


def test_extra_runtime_folders_join_discovery(tmp_path: Path, monkeypatch) -> None:
    extra = write_runtime(tmp_path, VALID)
    monkeypatch.setenv("LAB_RUNTIMES_PATH", str(extra))
    names = {t.name for t in discover()}
    assert {"toy/loop", "toy/pool"} <= names and "go/goroutines" in names


def test_two_runtimes_of_one_name_are_refused(tmp_path: Path, monkeypatch) -> None:
    extra = write_runtime(tmp_path, VALID.replace('name = "toy"', 'name = "go"'))
    monkeypatch.setenv("LAB_RUNTIMES_PATH", str(extra))
    with pytest.raises(LabError, match="two runtimes are called 'go'"):
        discover()


def test_select_by_runtime_target_and_list() -> None:
    available = discover()
    assert {t.name for t in select("go", available)} == {"go/goroutines"}
    assert [t.name for t in select("go/goroutines,go", available)] == ["go/goroutines"]
    assert select(None, available) == available


def test_an_unknown_target_suggests_close_names() -> None:
    with pytest.raises(LabError) as failure:
        select("go/goroutine")
    assert "go/goroutines" in failure.value.hint


def test_offload_pools_and_a_pool_probe_are_facts(tmp_path: Path) -> None:
    mechanism = 'mechanism = "each worker owns a connection"'
    text = VALID.replace(mechanism, mechanism + '''
offload_pools = { "/hash" = "WORKERS" }
pool_probe = { path = "/fs", knob = "WORKERS", description = "a read on the pool" }''')
    _, [loop, pool] = load_runtime(write_runtime(tmp_path, text) / "toy" / "runtime.toml")
    assert loop.offload_pools == {} and loop.pool_probe is None
    assert pool.offload_pools == {"/hash": "WORKERS"}
    assert pool.pool_probe is not None and pool.pool_probe.path == "/fs"
    assert pool.facts()["offload_pools"] == {"/hash": "WORKERS"}
    assert pool.facts()["pool_probe"]["knob"] == "WORKERS"


@pytest.mark.parametrize(("line", "message"), [
    ('offload_pools = { "/ping" = "WORKERS" }', "offload_pools: '/ping'"),
    ('offload_pools = { "/hash" = "NOPE" }', "offload_pools: '/hash'"),
    ('pool_probe = { path = "/fs", knob = "NOPE", description = "x" }', "pool_probe: path"),
    ('pool_probe = { path = "/fs", knob = "WORKERS" }', "missing 'description'"),
])
def test_bad_pool_facts_name_the_problem(tmp_path: Path, line: str, message: str) -> None:
    text = VALID.replace('mechanism = "each worker owns a connection"',
                         f'mechanism = "each worker owns a connection"\n{line}')
    with pytest.raises(LabError, match=message):
        load_runtime(write_runtime(tmp_path, text) / "toy" / "runtime.toml")


def test_every_offload_pool_is_a_knob_of_its_model() -> None:
    """The lab's own runtimes: a pool for /hash where SPEC section 6 says offload=1 uses one."""
    targets = {t.name: t for t in discover()}
    assert targets["node/event-loop"].offload_pools["/hash"] == "UV_THREADPOOL_SIZE"
    assert targets["go/goroutines"].offload_pools == {}
    for target in targets.values():
        assert set(target.offload_pools.values()) <= set(target.knob_names), target.name
