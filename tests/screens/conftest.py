"""One offscreen EGL renderer for the whole tests/screens session (Mesa llvmpipe is enough)."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))


@pytest.fixture(scope="session")
def renderer() -> Iterator[Any]:
    if os.environ.get("PYOPENGL_PLATFORM", "egl") != "egl":
        pytest.skip("offscreen GL tests need PYOPENGL_PLATFORM=egl (bash tools/dev.sh test sets it)")
    from vrdiplomacy.errors import PlatformError

    try:
        from vrdiplomacy.render.renderer import Renderer

        r = Renderer()
    except PlatformError as e:
        pytest.skip(f"no EGL/GL context: {e}")
    yield r
    r.close()
