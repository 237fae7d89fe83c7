"""The link to the relay as people are told it, and remote avatars when poses stop (sans-I/O).

Fails on main 3e2635d: a heartbeat timeout was reported as "relay closed the connection", and no
card line or log line said the link was down, back, or lost; avatars froze in full colour when
poses stopped and disappeared while their member was away.
"""

from __future__ import annotations

import numpy as np

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import ClientCore, Connected, Disconnected, MemberUpdate, ReconnectFailed, RelayError
from vrdiplomacy.net.client_io import PoseUpdate
from vrdiplomacy.net.pose import PoseSample
from vrdiplomacy.scene.avatars import AWAY_GREY, delegation_color
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.link import LinkStatus
from vrdiplomacy.session.state import RoomState


def _welcomed(core: ClientCore, now: float) -> None:
    core.connect(now)
    core.to_send(now)
    w = wire.Welcome(client_id=7, resume_token=b"t" * 16, media_key=bytes(32), udp_port=7400, epoch=1, room_seq=0,
                     acked_seq=0, heartbeat_ms=2000, resumed=False)
    core.receive(w.frame(), now)


def test_a_heartbeat_timeout_is_reported_as_one_not_as_the_relay_closing() -> None:
    core = ClientCore("a", "s1", "room")
    _welcomed(core, 0.0)
    assert core.state == "connected"
    while (ev := core.next_event()) is not None:
        pass
    t = core.timer()
    assert t is not None
    now = 0.0
    while not core.want_close:  # silence: pings go unanswered until the link is declared dead
        now = core.timer() or now + 1
        core.handle_timer(now)
    core.connection_lost(now + 0.01, "relay closed the connection", "closed")  # what the adapter then sees
    evs = []
    while (ev := core.next_event()) is not None:
        evs.append(ev)
    (d,) = [e for e in evs if isinstance(e, Disconnected)]
    assert d.cause == "heartbeat" and d.reason.startswith("heartbeat timeout: no word from the relay for 6.")
    assert 6.0 <= d.silent_s < 6.5
    core.connection_lost(now + 1, "refused: nothing accepts connections at x:1", "refused")  # the next attempt
    assert [e for e in iter(core.next_event, None)] == [ReconnectFailed("refused: nothing accepts connections at x:1", "refused", 1)]


def test_link_status_card_and_messages_through_an_outage() -> None:
    link = LinkStatus()
    link.apply(Connected(7, False, 1), 0.0)
    assert link.hud_lines(1.0) == ((), False) and link.next_message() is None
    link.apply(Disconnected("heartbeat timeout: no word from the relay for 6.1 s", "heartbeat", 6.1), 8.0)
    assert link.state == "reconnecting"
    assert link.next_message() == "reconnecting… (heartbeat timeout: no word from the relay for 6.1 s)"
    assert link.hud_lines(8.5) == (("Reconnecting…", "link lost: heartbeat timeout"), True)
    link.apply(ReconnectFailed("no answer from x:1 within 5 s", "timeout", 1), 13.0)
    assert link.state == "reconnecting"  # a blackout: attempts time out, not yet "lost"
    link.apply(Connected(7, True, 1), 14.0)
    assert link.next_message() == "reconnected after 12.1 s"  # counted from the last word from the relay
    assert link.hud_lines(15.0) == (("Reconnected after 12.1 s",), False)
    assert link.hud_lines(30.0) == ((), False)


def test_a_refused_reconnect_or_a_long_outage_is_a_lost_connection_with_its_first_cause() -> None:
    link = LinkStatus()
    link.apply(Connected(7, False, 1), 0.0)
    link.apply(Disconnected("relay closed the connection", "closed", 0.0), 5.0)
    link.apply(ReconnectFailed("refused: nothing accepts connections at x:1", "refused", 1), 5.1)
    assert link.state == "lost"
    assert link.hud_lines(6.0) == (("Connection lost: relay closed the connection", "still retrying"), True)
    msgs = list(iter(link.next_message, None))
    assert msgs == ["reconnecting… (relay closed the connection)", "connection lost: relay closed the connection "
                    "(refused: nothing accepts connections at x:1; still retrying)"]
    slow = LinkStatus()
    slow.apply(Connected(7, False, 1), 0.0)
    slow.apply(Disconnected("heartbeat timeout: no word from the relay for 6.0 s", "heartbeat", 6.0), 10.0)
    assert slow.hud_lines(18.0)[0][0] == "Reconnecting…"
    assert slow.hud_lines(19.1)[0] == ("Connection lost: heartbeat timeout", "still retrying")  # 15 s since the last word
    refused = LinkStatus()
    refused.apply(Connected(7, False, 1), 0.0)
    refused.apply(RelayError(wire.ERR_SEAT_TAKEN, "seat taken", True), 1.0)
    assert refused.hud_lines(2.0) == (("Connection lost: refused by the relay: seat taken",), True)


def _seated() -> tuple[RoomState, int]:
    layout = load_layout("chamber")
    st = RoomState(layout)
    st.apply(Connected(7, False, 1), 0.0)
    st.apply(MemberUpdate(9, "delegate-x", layout.seats[3].seat_id, "present"), 0.0)
    return st, 9


def _pose(seq: int, x: float) -> PoseUpdate:
    head = Pose(np.array([x, 1.5, 2.0], np.float32))
    right = Pose(np.array([x + 0.2, 1.2, 1.8], np.float32))
    return PoseUpdate(9, PoseSample(seq, True, head, None, right))


def test_an_avatar_whose_poses_stop_moves_on_briefly_then_holds_and_fades() -> None:
    st, cid = _seated()
    st.apply(_pose(1, 1.0), 0.00)
    st.apply(_pose(2, 1.05), 0.05)  # 1 m/s along x
    a = st.avatars(0.05)[0]
    colour = delegation_color(st.members[cid].delegation)
    assert np.allclose(a.head.position, (1.05, 1.5, 2.0), atol=1e-5) and np.allclose(a.color, colour)
    a = st.avatars(0.25)[0]  # poses lost: it keeps moving at its last velocity
    assert np.allclose(a.head.position, (1.25, 1.5, 2.0), atol=1e-4)
    assert np.allclose(a.right.pose.position, (1.45, 1.2, 1.8), atol=1e-4)
    held = st.avatars(0.8)[0]  # then holds after extrapolate_s (0.3 s)
    assert np.allclose(held.head.position, (1.35, 1.5, 2.0), atol=1e-4)
    assert np.allclose(st.avatars(2.0)[0].head.position, held.head.position)
    half = st.avatars(1.05)[0].color  # fading: halfway to grey 1 s after the last pose
    assert all(min(c, g) - 1e-6 <= h <= max(c, g) + 1e-6 for c, h, g in zip(colour, half, AWAY_GREY))
    assert not np.allclose(half, colour) and not np.allclose(half, AWAY_GREY)
    assert np.allclose(st.avatars(1.6)[0].color, AWAY_GREY)
    st.apply(_pose(40, 0.0), 2.0)  # back (a gap too long for a velocity): exact, full colour, still
    a = st.avatars(2.2)[0]
    assert np.allclose(a.head.position, (0.0, 1.5, 2.0)) and np.allclose(a.color, colour)


def test_a_member_whose_link_is_down_is_shown_away() -> None:
    st, cid = _seated()
    st.apply(_pose(1, 1.0), 0.0)
    name = st.avatars(0.0)[0].delegation
    st.apply(MemberUpdate(cid, "delegate-x", st.members[cid].seat, "away"), 1.0)
    (a,) = st.avatars(1.0)
    assert a.delegation == name + " (away)" and np.allclose(a.color, AWAY_GREY) and a.speaking == 0.0
    assert st.positions() == {}  # no voice from there
    st.apply(MemberUpdate(cid, "delegate-x", st.members[cid].seat, "present"), 2.0)
    assert st.avatars(2.0)[0].delegation == name
