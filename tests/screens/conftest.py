"""The tests/screens helper modules import as top-level modules; the renderer they share is
tests/conftest.py's (one offscreen EGL renderer a session)."""

from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))
