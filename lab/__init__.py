"""The Async Runtime Lab orchestrator: targets, backends, load, experiments, results."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES_DIR = ROOT / "runtimes"
LOADGEN_DIR = ROOT / "loadgen"
RESULTS_DIR = ROOT / "results"
REPORTS_DIR = ROOT / "reports"
