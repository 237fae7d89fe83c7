"""Child processes in the end-to-end tests: whatever a scenario does, none outlives it."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Sequence
from typing import Any, Protocol


class Killable(Protocol):
    def kill(self) -> None: ...


def run_then_kill(scenario: Coroutine[Any, Any, Any], procs: Sequence[Killable]) -> None:
    """Run ``scenario``; then, passed or failed, kill every process in ``procs`` (the list the
    scenario appends to as it starts them)."""
    try:
        asyncio.run(scenario)
    finally:
        for p in procs:
            p.kill()
