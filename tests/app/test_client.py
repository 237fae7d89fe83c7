"""The live client's frame callback, with a real session over an in-process relay: a desktop
gesture key is held for ``key_hold`` seconds and goes through the session's recognizer, the H key
offers a handshake; frames are placed in the scene; controller hands reach the recognizer as
controller state.

Fails on main 3e2635d: there was no ``vrdiplomacy.app``; ``join``'s frame callback sent keys
through a private helper of ``commands/demo.py`` that skipped the recognizer and the handshake
consent flow.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from vrdiplomacy.app.client import ClientOptions, LiveClient, for_recognizer, place_frame
from vrdiplomacy.input.frame import ControllerState, HandFrame, HandJoints, InputFrame
from vrdiplomacy.scene.math3d import Pose


class _Frame:
    def __init__(self, inp: InputFrame, index: int = 0) -> None:
        self.input, self.index = inp, index


def test_place_frame_moves_head_joints_and_controller_poses() -> None:
    origin = Pose.from_yaw(np.array([10.0, 0.0, 5.0], np.float32), 90.0)
    j = HandJoints()
    j.positions[:] = (0.0, 1.0, -0.5)
    j.valid[:] = True
    ctl = ControllerState(active=True, grip=Pose(np.array([0.0, 1.0, -0.5], np.float32)))
    placed = place_frame(origin, InputFrame(1.0, Pose(np.array([0.0, 1.6, 0.0], np.float32)),
                                            HandFrame("articulated", j), HandFrame("controller", None, ctl)))
    # yaw 90 degrees turns -Z (forward) into -X
    assert np.allclose(placed.head.position, (10.0, 1.6, 5.0), atol=1e-5)
    assert np.allclose(placed.left.joints.positions[0], (9.5, 1.0, 5.0), atol=1e-5)
    assert np.allclose(placed.right.controller.grip.position, (9.5, 1.0, 5.0), atol=1e-5)
    assert place_frame(None, placed) is placed


def test_controller_hands_reach_the_recognizer_as_controller_state() -> None:
    ctl = ControllerState(active=True, trigger=1.0, squeeze=1.0, grip=Pose())
    f = InputFrame(0.0, Pose(), HandFrame("articulated", HandJoints()), HandFrame("controller", HandJoints(), ctl))
    r = for_recognizer(f)
    assert r.right.joints is None and r.right.controller is ctl and r.left.joints is f.left.joints


def test_keys_are_held_and_sent_and_h_offers_a_handshake() -> None:
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.scene.model import Scene
    from vrdiplomacy.session.host import SessionThread
    from vrdiplomacy.session.runtime import HeldPose, SessionSettings

    layout = load_layout("bilateral")
    a_seat, b_seat = layout.seats[0], layout.seats[1]
    b_head = b_seat.eye_pose()
    # B sits 0.7 m in front of A's hand: within reach for H
    a_head = Pose.from_yaw(np.asarray(b_head.position, np.float32) + np.array([0.0, 0.0, 1.0], np.float32), 0.0)
    b = SessionThread(layout, SessionSettings("b", b_seat.seat_id, layout.scene, hear=False), HeldPose(b_head))
    b.start()
    try:
        from vrdiplomacy.session.host import RelayAddress

        relay = RelayAddress(b.relay.host, b.relay.port, b.relay.fingerprint)
        held = HeldPose(a_head)
        a = SessionThread(layout, SessionSettings("a", a_seat.seat_id, layout.scene, hear=False), held, relay=relay)
        a.start()
        try:
            scene = Scene("bilateral")
            client = LiveClient(a, held, scene, None, ClientOptions(key_hold=0.5))
            t0 = time.monotonic()

            def frame(keys: frozenset[str] = frozenset()) -> None:
                client.on_frame(_Frame(InputFrame(time.monotonic() - t0, a_head, keys=keys)))

            deadline = time.monotonic() + 10
            while not b.call(lambda: any(m.identity == "a" for m in b.session.state.members.values())):
                assert time.monotonic() < deadline
                frame()
                time.sleep(0.05)
            frame(frozenset({"thumbs_up"}))
            sent = list(client.sent)
            assert [(e.gesture.value, e.phase) for e in sent] == [("thumbs_up", "start")]
            for _ in range(3):  # still held: no second start
                frame()
                assert client.sent == []
            time.sleep(0.6)
            frame()
            assert [(e.gesture.value, e.phase) for e in client.sent] == [("thumbs_up", "end")]
            frame(frozenset({"handshake"}))
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                frame()
                states = b.call(lambda: [hs.state.value for hs in b.session.gestures.handshakes.values()])
                if states == ["invited"]:
                    break
                time.sleep(0.05)
            assert states == ["invited"]  # B sees the offer; it completes only if B offers too
            assert any("you offered" in n for _, n in client.news)
            got = b.call(lambda: [(g, ph) for _, _, g, ph in b.session.state.gesture_log])
            assert ("thumbs_up", "start") in got and ("thumbs_up", "end") in got and ("handshake", "start") in got
            assert scene.avatars and any(av.delegation for av in scene.avatars)  # B's avatar for the renderer
        finally:
            a.stop()
    finally:
        b.stop()


def test_the_card_says_which_room_and_channel_we_are_in() -> None:
    """Listening to an interpretation channel (or away from the plenary) is on the card, so a
    delegate who hears French instead of the floor sees why. Fails on main 94bf7c4 (the rooms'
    status line was built but never shown)."""
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.scene.model import Scene
    from vrdiplomacy.session.host import SessionThread
    from vrdiplomacy.session.rooms import RoomsSettings
    from vrdiplomacy.session.runtime import HeldPose, SessionSettings

    layout = load_layout("chamber")
    seat = layout.seats[0]
    held = HeldPose(seat.eye_pose())
    t = SessionThread(layout, SessionSettings("a", seat.seat_id, layout.scene, hear=False, rooms=RoomsSettings(listen="fr")),
                      held)
    t.start()
    try:
        client = LiveClient(t, held, Scene("chamber"), None, ClientOptions(log_hud=True))
        client.on_frame(_Frame(InputFrame(0.0, seat.eye_pose())))
        assert "Plenary - listening: fr" in client._last_lines
    finally:
        t.stop()
