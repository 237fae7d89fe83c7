"""A session whose audio fell behind keeps answering the frame loop (issue: the Monado gesture flake).

``join``'s frame loop calls into the session's thread every frame (``SessionThread.call``, 5 s
timeout) to run the gesture recognizer. On a busy machine the session thread gets no CPU for a
while, so audio blocks fall due; ``DelegateSession._audio`` worked the whole backlog off in one
go, holding the event loop for seconds: input frames stopped (a handshake held out for 6 s was
seen in two frames and recognized too late or never), and a stall past 5 s ended ``join`` with a
TimeoutError (CI under load: tests/xr/test_monado_gestures.py, controller run).
"""

from __future__ import annotations

import time

from vrdiplomacy.scene.assets import load_scene
from vrdiplomacy.session.host import SessionThread
from vrdiplomacy.session.runtime import HeldPose, SessionSettings


def test_an_audio_backlog_does_not_hold_the_session_loop() -> None:
    """The session's thread is held for 2 s (about 100 audio blocks fall due) and each block then
    costs 15 ms, as on a loaded machine. Calls made while the backlog is worked off are answered
    within a few blocks, never after the whole backlog; every block is still processed.
    Fails on main 452f8cc: one call waited for the whole backlog (about 1.5 s)."""
    _, layout = load_scene("bilateral")
    seat = layout.seat("A1")
    host = SessionThread(layout, SessionSettings("a1", "A1", layout.scene, hear=False), HeldPose(seat.eye_pose()))
    host.start()  # with its own relay on 127.0.0.1, on the session's thread
    try:
        s = host.session
        assert s is not None
        real = s._block

        def busy_block(t: float, zeros: object) -> None:  # a loaded machine: a 20 ms block costs 15 ms
            time.sleep(0.015)
            real(t, zeros)  # type: ignore[arg-type]

        host.call(lambda: setattr(s, "_block", busy_block))
        blocks0 = host.call(lambda: s.stats.blocks)
        host.call(lambda: time.sleep(2.0), timeout=10.0)  # the session's thread gets no time for 2 s
        waits = []
        end = time.monotonic() + 1.0
        while time.monotonic() < end:
            t0 = time.perf_counter()
            host.call(lambda: None, timeout=10.0)
            waits.append(time.perf_counter() - t0)
            time.sleep(0.01)
        assert max(waits) < 0.5, f"a call waited {max(waits):.2f} s for the audio backlog ({len(waits)} calls)"
        host.call(lambda: setattr(s, "_block", real))
        deadline = time.monotonic() + 30.0  # every block of those 3 s is processed, none skipped
        while host.call(lambda: s.stats.blocks) - blocks0 < 150 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert host.call(lambda: s.stats.blocks) - blocks0 >= 150
    finally:
        host.stop()
