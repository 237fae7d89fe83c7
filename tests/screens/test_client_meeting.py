"""The live client (what ``join``, the demo's window and ``qa`` run each frame) hands the
session's MeetingView to the scene: the screens and panels are drawn from it, and a gesture the
delegate sends is acknowledged on the panel. Real sessions over an in-process relay.
Fails on main 5dfeb41: the client set no meeting on the scene (nothing showed the list, the
delegate's place on it, or that a raised hand had been sent)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from vrdiplomacy.app.client import ClientOptions, LiveClient
from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.render import meeting_art as art
from vrdiplomacy.scene.hud import MeetingOverlay
from vrdiplomacy.scene.math3d import Pose


class _Frame:
    def __init__(self, inp: InputFrame, views: int) -> None:
        self.input, self.index, self.views = inp, 0, [None] * views


@pytest.mark.gl
def test_raised_hand_is_listed_acknowledged_and_drawn(renderer: Any) -> None:
    from vrdiplomacy.render.frames import views_for
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
            client = LiveClient(a, held, scene, None, ClientOptions(key_hold=0.5, recognize=False))
            t0 = time.monotonic()

            def frame(keys: frozenset[str] = frozenset(), views: int = 1) -> None:
                client.on_frame(_Frame(InputFrame(time.monotonic() - t0, a_head, keys=keys), views))

            deadline = time.monotonic() + 10
            while not b.call(lambda: any(m.identity == "a" for m in b.session.state.members.values())):
                assert time.monotonic() < deadline
                frame()
                time.sleep(0.05)
            frame()
            overlay = scene.meeting
            assert isinstance(overlay, MeetingOverlay) and overlay.head is not None and not overlay.stereo
            assert overlay.view.my_place is None and art.ack_text(overlay.view) is None
            assert any(p.name == "b" for p in overlay.view.participants)
            frame(frozenset({"raise_hand"}))
            assert [(e.gesture.value, e.phase) for e in client.sent] == [("raise_hand", "start")]
            deadline = time.monotonic() + 5
            while scene.meeting.view.my_place != 1:  # our own hand comes back through the relay
                assert time.monotonic() < deadline
                time.sleep(0.05)
                frame(views=2)
            v = scene.meeting.view
            assert [q.name for q in v.queue] == ["a"] and scene.meeting.stereo
            assert art.ack_text(v) == "Raise hand sent"
            # the renderer draws what the client set: the status panel with the acknowledgement
            target = renderer.create_target(320, 180)
            views = views_for(Pose(np.asarray(a_head.position), a_head.orientation), (320, 180), stereo=False)
            renderer.render(scene, views, [target])
            layer = renderer.meeting
            assert layer is not None and layer.view is v
            status = layer.pictures["status"].pixels
            assert status is not None and np.array_equal(status, art.status_panel(v))
        finally:
            a.stop()
    finally:
        b.stop()
