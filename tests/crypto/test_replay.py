"""The per-KID sliding replay window against a plain reference model."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from vrdiplomacy.crypto.sframe import ReplayWindow


@given(ctrs=st.lists(st.integers(0, 2000), max_size=300), size=st.sampled_from([1, 8, 64, 256]))
def test_window_matches_reference(ctrs: list[int], size: int) -> None:
    w = ReplayWindow(size)
    seen: set[int] = set()
    highest = -1
    for c in ctrs:
        if c > highest:
            expected = None
        elif highest - c >= size:
            expected = "too_old"
        else:
            expected = "replay" if c in seen else None
        assert w.check(c) == expected
        if expected is None:
            w.update(c)
            seen.add(c)
            highest = max(highest, c)


def test_every_replay_and_old_counter_rejected() -> None:
    w = ReplayWindow(256)
    for c in range(10_000):
        assert w.check(c) is None
        w.update(c)
    assert all(w.check(c) == "replay" for c in range(10_000 - 256, 10_000))
    assert all(w.check(c) == "too_old" for c in range(0, 10_000 - 256))
    assert w.check(10_000) is None
