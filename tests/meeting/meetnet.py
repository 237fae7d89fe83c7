"""Helpers for meeting tests over a real relay on loopback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import numpy as np

from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.meeting.roles import role_index
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.session.runtime import DelegateSession


async def until(pred: Callable[[], bool], timeout: float = 10.0, what: str = "condition",
                state: Callable[[], object] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}" + (f" ({state()})" if state else ""))
        await asyncio.sleep(0.01)


def seat_of(layout: Layout, delegation: str) -> str:
    return next(s.seat_id for s in layout.seats if s.delegation == delegation)


def claim(s: DelegateSession, role: str) -> None:
    s.meeting_act(mw.CLAIM_ROLE, value=role_index(role))


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2))) if x.size else 0.0
