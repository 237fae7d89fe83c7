"""Editing the joint text from the desktop window: E opens the edit mode (keys then type: no
gesture, no walking, Escape leaves the mode rather than the app), Enter inserts the line at the
caret; through the live client (what ``join`` runs each frame) the line reaches the other
delegate's session over a real relay, and both clients' meeting views carry the draft, the typed
line and the editor's caret for the chamber screen. Fails on main 94bf7c4: there was no edit mode."""

from __future__ import annotations

import time
from typing import Any

import glfw
import numpy as np

from vrdiplomacy.app.client import ClientOptions, LiveClient
from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.render.text_panel import draft_screen
from vrdiplomacy.xr.desktop import GESTURE_KEYS, DesktopBackend


def _backend() -> Any:
    """The desktop backend's key handling, without a window (the callbacks GLFW would call)."""
    b = DesktopBackend.__new__(DesktopBackend)
    b.glfw = glfw
    b._pending_keys, b._typing, b._skip_char, b._exit = set(), None, False, False
    b._key_codes = {getattr(glfw, k): g for k, g in GESTURE_KEYS.items()}
    return b


def test_the_edit_key_turns_keys_into_typing() -> None:
    b = _backend()
    P = glfw.PRESS

    def key(k: int, action: int = P) -> None:
        b._on_key(None, k, 0, action, 0)

    def typ(s: str) -> None:
        for ch in s:
            b._on_char(None, ord(ch))

    key(glfw.KEY_E)
    typ("e")  # the E that opened the mode is not typed
    assert b._pending_keys == {"draft_edit"} and b._typing == ""
    b._pending_keys.clear()
    key(glfw.KEY_1)  # a gesture key types while editing
    typ("1 urges all Statess")
    key(glfw.KEY_BACKSPACE)
    key(glfw.KEY_BACKSPACE, glfw.REPEAT)
    typ("s")
    assert b._typing == "1 urges all States" and not b._pending_keys
    key(glfw.KEY_ENTER)
    assert b._pending_keys == {"draft_line:1 urges all States"} and b._typing == ""
    key(glfw.KEY_ESCAPE)
    assert "draft_end" in b._pending_keys and b._typing is None and not b._exit
    b._pending_keys.clear()
    key(glfw.KEY_1)  # out of the mode: the gesture again
    typ("1")
    assert b._pending_keys == {"raise_hand"}


class _Frame:
    def __init__(self, inp: InputFrame) -> None:
        self.input, self.index, self.views = inp, 0, [None]


def test_a_typed_line_reaches_the_other_delegate_and_both_screens() -> None:
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.scene.model import Scene
    from vrdiplomacy.session.host import RelayAddress, SessionThread
    from vrdiplomacy.session.runtime import HeldPose, SessionSettings

    layout = load_layout("bilateral")
    a_seat, b_seat = layout.seats[0], layout.seats[1]
    b = SessionThread(layout, SessionSettings("b", b_seat.seat_id, layout.scene, hear=False), HeldPose(b_seat.eye_pose()))
    b.start()
    try:
        relay = RelayAddress(b.relay.host, b.relay.port, b.relay.fingerprint)
        a_head = a_seat.eye_pose()
        held = HeldPose(a_head)
        a = SessionThread(layout, SessionSettings("a", a_seat.seat_id, layout.scene, hear=False), held, relay=relay)
        a.start()
        try:
            scene = Scene("bilateral")
            client = LiveClient(a, held, scene, None, ClientOptions(recognize=False))
            t0 = time.monotonic()

            def frame(*keys: str) -> None:
                client.on_frame(_Frame(InputFrame(time.monotonic() - t0, a_head, keys=frozenset(keys))))

            def until(pred: Any, what: str) -> None:
                deadline = time.monotonic() + 10
                while not pred():
                    assert time.monotonic() < deadline, what
                    frame()
                    time.sleep(0.02)

            until(lambda: b.call(lambda: any(m.identity == "a" for m in b.session.state.members.values())), "a joined")
            frame("draft_edit")
            frame("draft_text:The Assembly")
            v = scene.meeting.view.draft
            assert v is not None and v.typing == "The Assembly" and [c.mine for c in v.carets] == [True]
            frame("draft_line:The Assembly urges all States", "draft_text:")
            frame("draft_line:to protect fisheries.", "draft_text:")
            want = "The Assembly urges all States to protect fisheries."
            until(lambda: b.call(lambda: b.session.drafting.core.doc("draft").text()) == want, "b has the lines")
            until(lambda: b.call(lambda: any(not c.mine for c in b.session.meeting_view(b.session.now).draft.carets)),
                  "a's caret on b's screen")
            bv = b.call(lambda: b.session.meeting_view(b.session.now).draft)
            assert bv.text == want and bv.typing is None and bv.carets[0].index == len(want)
            assert b.call(lambda: [h.author for h in b.session.drafting.history() if h.kind == "edit"]) == ["a", "a"]
            assert not client.sent  # the typed keys made no gesture
            assert any("Inserted" in n for _t, n in client.news)
            # the screen shows it: a's panel differs from b's by the typing line and a's own caret
            frame("draft_text:significantly")
            av = scene.meeting.view.draft
            assert av.text == want and av.typing == "significantly"
            assert not np.array_equal(draft_screen(av), draft_screen(bv))
            frame("draft_end")
            assert scene.meeting.view.draft.typing is None
        finally:
            a.stop()
    finally:
        b.stop()
