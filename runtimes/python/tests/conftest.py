"""Make `lab_server` importable when pytest runs from the repository root.

(`python -m unittest discover -s tests` from runtimes/python needs no help: `-m` puts the
current directory on sys.path.)"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
