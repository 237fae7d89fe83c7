"""GLSL sources from the ``shaders/`` directory, with a tiny ``#include "file"`` preprocessor.

Looked up in ``$VRD_SHADER_DIR``, then ``shaders/`` (the source checkout's, or the installed
wheel's copy: :func:`vrdiplomacy.resources.data_root`).
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from vrdiplomacy.errors import RenderError
from vrdiplomacy.resources import data_root

_INCLUDE = re.compile(r'^\s*#include\s+"([^"]+)"\s*$', re.MULTILINE)


def shader_dirs() -> list[Path]:
    dirs = []
    if os.environ.get("VRD_SHADER_DIR"):
        dirs.append(Path(os.environ["VRD_SHADER_DIR"]))
    dirs.append(data_root("shaders"))
    return dirs


def _find(name: str) -> Path:
    for d in shader_dirs():
        p = d / name
        if p.is_file():
            return p
    raise RenderError(f"shader '{name}' not found in {', '.join(str(d) for d in shader_dirs())}")


@lru_cache(maxsize=None)
def load_shader(name: str) -> str:
    """The source of ``name`` with includes expanded (one level deep is all we use; cycles fail)."""
    return _expand(name, ())


def _expand(name: str, stack: tuple[str, ...]) -> str:
    if name in stack:
        raise RenderError(f"shader include cycle: {' -> '.join(stack + (name,))}")
    text = _find(name).read_text(encoding="utf-8")
    return _INCLUDE.sub(lambda m: _expand(m.group(1), stack + (name,)), text)
