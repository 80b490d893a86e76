"""Where the report tests' example runs are, and how to get a writable copy of one.

The runs under tests/fixtures/runs/ are real runs trimmed to three targets
(tests/fixtures/trim_run.py); tests copy them to tmp_path before changing anything.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from lab.experiments import registry
from lab.results import open_run

FIXTURES = Path(__file__).parent.parent / "fixtures"
RUNS = FIXTURES / "runs"
QUICK_RUN = RUNS / "20261130-103127-ece8"      # lab.all --profile quick: every experiment
SWEEP_RUN = RUNS / "20261130-103213-331c"      # the sweep's standard profile, 2 repetitions
V1_RUN = FIXTURES / "v1_run" / "20261128-043805-ac8a"   # a run of results schema 1
READINESS_RUN = RUNS / "20261130-105057-0f7f"  # readiness, standard profile, docker
PARALLEL_RUN = RUNS / "20261130-114109-7ce5"   # parallel, standard, 4 targets
THREADPOOL_RUN = RUNS / "20261130-114411-90a3"  # threadpool, standard, 3 targets
OLD_SCHEMA_RUN = FIXTURES / "old_schema_run" / "20240101-000000-0000"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync"]
def copy_run(source: Path, tmp_path: Path, **meta_changes: object) -> Path:
    """A writable copy of a fixture run, with run.json fields changed."""
    target = tmp_path / "results" / source.name
    shutil.copytree(source, target)
    if meta_changes:
        meta = json.loads((target / "run.json").read_text())
        meta.update(meta_changes)
        (target / "run.json").write_text(json.dumps(meta, indent=2))
    return target


def add_tokio_failure(folder: Path, detail: str = "") -> None:
    """Record, through the lab's own writer, a blocking session of rust/tokio that failed."""
    open_run(folder.name, folder.parent).save_failure("blocking", "rust_tokio_default_r0", {
        "target": "rust/tokio", "variant": "default", "repetition": 0,
        "reason": "server stopped answering after phase=inline", "detail": detail, "at": 0})

# Every registered experiment: what the report and lab.compare analyse a run with.
EXPERIMENTS = list(registry().values())
