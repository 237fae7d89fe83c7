"""The relay's side of the procedure in the sans-I/O core (fake clock, no sockets): role checks
with a one-line notice, stamps, the floor holder following grants and the timer, a muted
member's voice dropped, malformed frames refused, and the procedure rebuilt after a restart."""

from __future__ import annotations

import sys
from pathlib import Path

from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.meeting.roles import role_index
from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import FloorChanged, RelayNotice, RoomEventReceived
from vrdiplomacy.net.relay_core import RelayCore
from vrdiplomacy.net.relay_events import MemoryEventStore
from vrdiplomacy.net.relay_meeting import NOTICE_MEETING_REFUSED

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "net"))
from netpump import SECRET, Peer, Pump, lounge_layout  # noqa: E402


def act(p: Peer, action: int, target: int = 0, value: int = 0) -> None:
    a = mw.MeetingAction(action, target or mw.NOBODY, value)
    p.core.send_event(bytes(a.header(target)) + bytes(a))


def frames(p: Peer) -> list[mw.MeetingHeader]:
    return [mw.MeetingHeader.parse(e.payload) for e in p.events if isinstance(e, RoomEventReceived)
            and mw.looks_like(e.payload)]


def notices(p: Peer) -> list[str]:
    return [e.message for e in p.events if isinstance(e, RelayNotice) and e.code == NOTICE_MEETING_REFUSED]


def room_of(pm: Pump) -> object:
    return next(iter(pm.relay.rooms.values()))


def test_relay_checks_stamps_and_routes() -> None:
    pm = Pump()
    chair, fr, de, obs = (pm.add(n, f"s{i}") for i, n in enumerate(("chair", "france", "germany", "observer")))
    pm.run(0.3)
    act(chair, mw.CLAIM_ROLE, value=role_index("chair"))
    act(obs, mw.CLAIM_ROLE, value=role_index("observer"))
    pm.run(0.1)
    act(obs, mw.REQUEST)  # refused: the observer's claimed role
    act(fr, mw.REQUEST)
    act(de, mw.REQUEST)
    act(fr, mw.GRANT)  # refused: not the chair
    pm.run(0.1)
    assert notices(obs) == ["request refused: a member with the role observer may not do that (needs the "
                            "'ask_floor' permission)"]
    assert notices(fr) == ["grant refused: a member with the role delegate may not do that (needs the 'chair' "
                           "permission)"]
    assert [h.action for h in frames(de)] == [mw.CLAIM_ROLE, mw.CLAIM_ROLE, mw.REQUEST, mw.REQUEST]
    stamps = [h.stamp_ms for h in frames(de)]
    assert all(s > 0 for s in stamps) and stamps == sorted(stamps)  # the relay's clock, never backwards
    assert not obs.core.reliable.unacked and not fr.core.reliable.unacked  # refused, yet acknowledged
    # the chair's grant: the relay's floor holder follows it, then the timer
    act(chair, mw.GRANT, value=2000)
    pm.run(0.1)
    fid, did = fr.core.client_id, de.core.client_id
    assert room_of(pm).floor == fid and pm.of(de, FloorChanged)[-1].holder == fid  # type: ignore[attr-defined]
    pm.run(2.0)
    assert room_of(pm).floor == did  # the floor passed at the deadline, without anyone acting
    # a delegate cannot take the floor itself any more
    fr.core.set_floor(True)
    pm.run(0.1)
    assert room_of(pm).floor == did and pm.relay.meeting_counters["floor_refused"] == 1
    # mute: the relay drops the voice
    act(chair, mw.MUTE, did)
    pm.run(0.1)
    assert did in pm.relay._silenced
    sent = pm.relay.counters.voice_forwarded
    for _ in range(10):
        de.core.send_voice(wire.level_byte(-20, True), b"\x01" * 40)
        pm.step(0.02)
    assert pm.relay.counters.voice_forwarded == sent and pm.relay.meeting_counters["voice_dropped"] == 10
    # a malformed header is refused with a notice, never stored
    n = room_of(pm).log.seq  # type: ignore[attr-defined]
    de.core.send_event(bytes([mw.TAG, mw.VERSION, 0xEE]) + bytes(16))
    pm.run(0.1)
    assert room_of(pm).log.seq == n and notices(de)[-1].startswith("malformed procedure action")  # type: ignore[attr-defined]


def test_a_restarted_relay_rebuilds_the_procedure_from_its_stored_log() -> None:
    store = MemoryEventStore()
    relay = RelayCore(SECRET, layouts={"plenary": lounge_layout()}, epoch=7, events=store)
    pm = Pump(relay)
    chair, fr, de = (pm.add(n, f"s{i}") for i, n in enumerate(("chair", "france", "germany")))
    pm.run(0.3)
    act(chair, mw.CLAIM_ROLE, value=role_index("chair"))
    act(fr, mw.REQUEST)
    act(de, mw.REQUEST)
    pm.run(0.1)
    act(chair, mw.GRANT, value=60_000)
    act(chair, mw.MUTE, de.core.client_id)
    pm.run(0.2)
    before = pm.relay.meeting_state(room_of(pm).key)  # type: ignore[attr-defined]
    assert before is not None
    want = before.state_key()
    pm.relay = RelayCore(SECRET, layouts={"plenary": lounge_layout()}, epoch=8, events=store)  # kill -9, restart
    for p in (chair, fr, de):
        pm.drop(p, notify_relay=False)
    pm.run(0.2)
    for p in (chair, fr, de):
        pm.connect(p)
    pm.run(0.5)
    after = pm.relay.meeting_state(room_of(pm).key)  # type: ignore[attr-defined]
    assert after is not None and after.state_key() == want
    assert room_of(pm).floor == fr.core.client_id and de.core.client_id in pm.relay._silenced
    assert pm.relay.meeting_counters["restored"] == 1
