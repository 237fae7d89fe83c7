"""Load a script of ``tools/`` as a module: the tests that check a bench, a proxy or a build script
import it by path (``tools/`` is no package). Put on ``sys.path`` by tests/conftest.py."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[1]


def load_tool(path: str, name: str) -> ModuleType:
    """``tools/<path>`` as module ``name``, executed once a session (later calls get the same
    module). It is in ``sys.modules`` while it runs: its dataclasses look their module up."""
    mod = sys.modules.get(name)
    if mod is not None:
        return mod
    spec = importlib.util.spec_from_file_location(name, REPO / "tools" / path)
    assert spec is not None and spec.loader is not None, f"no tools/{path}"
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        del sys.modules[name]  # a failed import is tried again, not half-kept
        raise
    return mod
