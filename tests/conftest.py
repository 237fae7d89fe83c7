"""Fixtures for every test.

Each test gets its own user state folder (``XDG_STATE_HOME``): relays started with their default
state directory get a fresh certificate and resume secret, and ``join`` keeps its resume tokens
there. Without this, a relay on a port an earlier test used is, to a later ``join``, the same
relay restarted, and that ``join`` resumes the earlier test's session (a stale client id in the
room). Subprocesses inherit it through the environment. The cache (built runtimes, Monado) stays
shared.

Also the one offscreen EGL renderer of the GL tests (tests/render, tests/screens), opened once a
session (Mesa llvmpipe is enough).
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# A test run started in the background of a non-interactive shell inherits SIGINT ignored, and so
# would every child it starts: the tests that stop a child with SIGINT (Ctrl+C) would then wait in
# vain. Children of a process with a handler installed start with the default disposition.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

# tests/toolscripts.py (tools/ scripts loaded as modules) imports from every test folder; appended,
# so that no folder of tests/ shadows an installed module
if str(Path(__file__).resolve().parent) not in sys.path:
    sys.path.append(str(Path(__file__).resolve().parent))


@pytest.fixture(autouse=True)
def _own_state_folder(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    state = tmp_path_factory.mktemp("state")
    monkeypatch.setenv("XDG_STATE_HOME", str(state))
    return state


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


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked ``timing`` (a whole command's frame rate or latency, against a target) run
    first: later in a full run the earlier tests' leftovers (threads, sockets, page cache churn)
    share the two cores, and a window that draws 18-20 fps alone drew 13-15 in place."""
    items.sort(key=lambda item: item.get_closest_marker("timing") is None)  # stable: the rest keep their order
