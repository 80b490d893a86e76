"""Task wiring: every task is listed, explained, and every option has help text."""

from __future__ import annotations

import subprocess
import sys

import pytest

import tasks
from lab import ROOT

TASK_NAMES = sorted(tasks.namespace.task_names)


def test_the_lab_namespace_has_the_documented_tasks() -> None:
    expected = {"test", "lab.all", "lab.build", "lab.verify", "lab.serve", "lab.targets",
                "lab.sweep", "lab.blocking", "lab.report", "lab.compare", "lab.base",
                "lab.clean", "lab.doctor"}
    assert expected <= set(TASK_NAMES)


@pytest.mark.parametrize("name", TASK_NAMES)
def test_every_task_and_option_is_explained(name: str) -> None:
    task = tasks.namespace[name]
    assert (task.__doc__ or task.body.__doc__ or "").strip(), f"{name} has no docstring"
    for argument in task.get_arguments():
        assert argument.help, f"{name} --{argument.name} has no help text"


def test_invoke_lists_and_explains_tasks() -> None:
    invoke = [sys.executable, "-m", "invoke"]
    listing = subprocess.run([*invoke, "--list"], cwd=ROOT, capture_output=True, text=True)
    assert listing.returncode == 0 and "lab.verify" in listing.stdout
    helptext = subprocess.run([*invoke, "--help", "lab.verify"], cwd=ROOT, capture_output=True,
                              text=True)
    assert helptext.returncode == 0 and "--backend" in helptext.stdout


def test_a_user_mistake_is_a_message_not_a_traceback() -> None:
    result = subprocess.run([sys.executable, "-m", "invoke", "lab.verify", "--target", "nope"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 1
    assert "unknown target 'nope'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_loading_the_tasks_leaves_pandas_and_scipy_for_later() -> None:
    """Every task starts by loading tasks.py; pandas and scipy (2.6 s of the 3.4 s it once
    took, a window where Ctrl-C was lost) load only where a task uses them."""
    probe = ("import sys, tasks; print(sorted(m for m in ('pandas', 'scipy') "
             "if m in sys.modules))")
    loaded = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                            text=True, check=True).stdout.strip()
    assert loaded == "[]"
