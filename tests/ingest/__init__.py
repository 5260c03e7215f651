"""Unit tests of app.ingest (parse, normalize, urls): pure functions, no database."""

import sys
from pathlib import Path

# `pytest tests/ingest` from the repository root does not put the root on sys.path
# (the project is not installed into the venv); make `import app` work either way.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)
