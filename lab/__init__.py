"""The Async Runtime Lab orchestrator: targets, backends, load, experiments, results."""

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNTIMES_DIR = ROOT / "runtimes"
LOADGEN_DIR = ROOT / "loadgen"
# Where runs and reports go; LAB_RESULTS_DIR / LAB_REPORTS_DIR move them (tests use this).
RESULTS_DIR = Path(os.environ.get("LAB_RESULTS_DIR", ROOT / "results"))
REPORTS_DIR = Path(os.environ.get("LAB_REPORTS_DIR", ROOT / "reports"))
# Image names are <namespace>/<runtime>; another namespace keeps two checkouts of the lab
# on one engine from rebuilding each other's images.
IMAGE_NAMESPACE = os.environ.get("LAB_IMAGE_NAMESPACE", "async-runtime-lab")
