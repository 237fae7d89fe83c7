"""The procedure's wire format (stored byte vectors) and state machine (pure functions)."""

from __future__ import annotations

import random

import pytest

from vrdiplomacy.crypto.roster import ROLE_RANK
from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.meeting import wire as w
from vrdiplomacy.meeting.procedure import POINT_OF_ORDER, REPLY, SPEAKER, Procedure
from vrdiplomacy.meeting.roles import (
    PERMISSIONS,
    ROLES,
    may,
    permission_table,
    role_index,
)

A = w.MeetingAction
CHAIR, FR, DE, JP, BR, OBS = 1, 2, 3, 4, 5, 6


def meeting() -> Procedure:
    p = Procedure()
    p.apply(CHAIR, A(w.CLAIM_ROLE, value=role_index("chair")), 1000)
    p.apply(OBS, A(w.CLAIM_ROLE, value=role_index("observer")), 1000)
    return p


# ---------------------------------------------------------------- wire vectors


def test_action_vectors() -> None:
    grant = A(w.GRANT, 7, 90000)
    assert bytes(grant).hex() == "060000000700015f900000"
    assert bytes(grant.header(0x01020304)).hex() == "4d01060102030400015f900000000000000000"
    agenda = A(w.AGENDA, w.NOBODY, 1, "Adoption\nClimaté".encode())
    assert bytes(agenda).hex() == "0bffffffff00000001001141646f7074696f6e0a436c696d6174c3a9"
    assert A.parse(bytes.fromhex("0bffffffff00000001001141646f7074696f6e0a436c696d6174c3a9")) == agenda
    assert agenda.text == "Adoption\nClimaté"
    h = w.MeetingHeader(w.MUTE, 0xAABBCCDD, 0, 1765000000123)
    assert bytes(h).hex() == "4d0109aabbccdd000000000000019af232b27b"
    assert w.MeetingHeader.parse(bytes.fromhex("4d0109aabbccdd000000000000019af232b27b")) == h


def test_snapshot_vector() -> None:
    s = w.Snapshot(42, 3, 1, 1000, 5000, 60000, 1500, 2, 0, ((5, 0), (6, 2)), (9,), ("A", "B"), ((3, 8),))
    raw = ("0000002a000000030000000100000000000003e8000013880000ea6000000000000005dc0000000201000200000005000000"
           "000602000100000009000200014100014200010000000308")
    assert bytes(s).hex() == raw
    assert w.Snapshot.parse(bytes.fromhex(raw)) == s
    with pytest.raises(ProtocolError):
        w.Snapshot.parse(bytes.fromhex(raw)[:-1])
    with pytest.raises(ProtocolError):
        w.Snapshot.parse(bytes.fromhex(raw) + b"\x00")


def test_frames_header_must_match_the_signed_action() -> None:
    a = A(w.GRANT, 7, 90000)
    frame = w.MeetingFrame(a.header(5).stamped(10), bytes(a))
    assert w.MeetingFrame.parse(bytes(frame)).action() == a
    lying = w.MeetingFrame(w.MeetingHeader(w.GRANT, 5, 1, 10), bytes(a))  # the header says another time
    with pytest.raises(ProtocolError, match="does not match"):
        lying.action()


@pytest.mark.parametrize("data", [b"", b"\x4d", b"\x4d\x01", bytes.fromhex("4d0263") + bytes(16),
                                  bytes.fromhex("4d01ee") + bytes(16), b"\x01" * 19])
def test_malformed_headers_raise(data: bytes) -> None:
    with pytest.raises(ProtocolError):
        w.MeetingHeader.parse(data)


def test_random_bytes_never_crash_the_parsers() -> None:
    rng = random.Random(5)
    for _ in range(3000):
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(40)))
        for parse in (w.MeetingHeader.parse, A.parse, w.Snapshot.parse, lambda d: w.MeetingFrame.parse(d).action()):
            try:
                parse(data)
            except ProtocolError:
                pass


# ---------------------------------------------------------------- roles


def test_roles_table_and_roster_ranks_agree() -> None:
    assert list(ROLE_RANK) == list(ROLES)  # one order of roles
    assert [r for r, perms in permission_table() if "ask_floor" in perms] == ["delegate", "head", "host", "chair"]
    assert not may("observer", "ask_floor") and not may("guest", "speak") and may("secretariat", "agenda")
    assert not may("secretariat", "chair") and may("chair", "chair") and not may("chair", "vote")
    assert set(PERMISSIONS) == set(ROLES)


# ---------------------------------------------------------------- the state machine


def test_hands_queue_in_order_and_points_of_order_jump() -> None:
    p = meeting()
    for k, t in ((FR, 1001), (DE, 1002), (JP, 1003)):
        assert p.apply(k, A(w.REQUEST), t)
    assert not p.apply(FR, A(w.REQUEST), 1004)  # asking twice keeps the first place
    assert p.apply(BR, A(w.RIGHT_OF_REPLY), 1005)
    assert p.apply(JP, A(w.POINT_OF_ORDER), 1006)
    assert p.apply(DE, A(w.POINT_OF_ORDER), 1007)
    assert p.queue == [(JP, POINT_OF_ORDER), (DE, POINT_OF_ORDER), (BR, REPLY), (FR, SPEAKER), (DE, SPEAKER),
                       (JP, SPEAKER)]
    assert p.position(DE) == 2
    assert p.apply(DE, A(w.WITHDRAW), 1008)
    assert p.queue == [(JP, POINT_OF_ORDER), (BR, REPLY), (FR, SPEAKER), (JP, SPEAKER)]


def test_unauthorised_actions_change_nothing_and_are_counted() -> None:
    p = meeting()
    p.apply(FR, A(w.REQUEST), 1001)
    before = p.state_key()
    assert not p.apply(OBS, A(w.REQUEST), 1002)  # an observer may not ask
    assert not p.apply(FR, A(w.GRANT), 1003)  # a delegate may not chair
    assert not p.apply(DE, A(w.MUTE, FR), 1004)
    assert not p.apply(FR, A(w.PHASE, value=2), 1005)
    assert not p.apply(CHAIR, A(w.GRANT, OBS), 1006)  # nor can the chair give an observer the floor
    assert not p.apply(OBS, A(w.CLAIM_ROLE, value=role_index("chair")), 1007)  # a claimed role is fixed
    assert p.state_key() == before
    assert p.ignored["not_permitted"] == 4 and p.ignored["subject_not_permitted"] == 1 and p.ignored["role_fixed"] == 1


def test_the_timer_passes_the_floor_at_the_deadline_whoever_looks_when() -> None:
    p = meeting()
    for k in (FR, DE, JP):
        p.apply(k, A(w.REQUEST), 1001)
    p.apply(CHAIR, A(w.SET_TIME, value=60_000), 1002)
    p.apply(CHAIR, A(w.GRANT), 2000)
    assert (p.speaker, p.deadline_ms) == (FR, 62_000)
    shown = p.at(125_000)  # nobody acted for two minutes: the screens show Japan, 60 s - 3 s left
    assert shown.speaker == JP and shown.granted_ms == 122_000 and shown.remaining_ms(125_000) == 57_000
    assert p.speaker == FR  # looking changes nothing
    # two clients: one looks (advances) at odd times, the other never; the same actions give the same state
    q = meeting()
    for k in (FR, DE, JP):
        q.apply(k, A(w.REQUEST), 1001)
    q.apply(CHAIR, A(w.SET_TIME, value=60_000), 1002)
    q.apply(CHAIR, A(w.GRANT), 2000)
    for t in (61_000, 70_000, 100_000):
        q.at(t)
    p.apply(BR, A(w.REQUEST), 130_000)  # Brazil asks after Germany's turn ended
    q.apply(BR, A(w.REQUEST), 130_000)
    assert p.state_key() == q.state_key()
    assert p.speaker == JP and p.queue == [(BR, SPEAKER)]
    notes = [(n.kind, n.actor, n.subject, n.at_ms) for n in p.drain_notes() if n.kind == "floor_granted"]
    assert notes == [("floor_granted", CHAIR, FR, 2000), ("floor_granted", None, DE, 62_000),
                     ("floor_granted", None, JP, 122_000)]


def test_time_up_with_nobody_waiting_opens_the_floor_and_revoke_yield_mute() -> None:
    p = meeting()
    p.apply(FR, A(w.REQUEST), 1001)
    p.apply(CHAIR, A(w.GRANT, value=5000), 2000)
    assert p.at(7000).speaker is None
    p.apply(DE, A(w.REQUEST), 8000)
    assert p.speaker is None and p.queue == [(DE, SPEAKER)]  # the floor was open when Germany asked
    p.apply(CHAIR, A(w.GRANT, DE), 9000)
    assert not p.apply(FR, A(w.YIELD), 9001)  # only the speaker yields
    p.apply(CHAIR, A(w.MUTE, DE), 9002)
    assert DE in p.muted and not p.apply(CHAIR, A(w.MUTE, DE), 9003)
    p.apply(CHAIR, A(w.REVOKE), 9004)
    assert p.speaker is None
    p.apply(CHAIR, A(w.UNMUTE, DE), 9005)
    assert not p.muted
    assert not p.apply(CHAIR, A(w.GRANT), 9006)  # nobody waiting
    kinds = [n.kind for n in p.drain_notes()]
    assert kinds.count("statement_ended") == 2 and "floor_open" in kinds and "floor_revoked" in kinds


def test_agenda_phase_and_snapshot_restore() -> None:
    p = meeting()
    p.apply(CHAIR, A(w.AGENDA, value=0, data=b"Opening\nClimate finance\n\nAOB\n"), 1001)
    assert p.agenda == ("Opening", "Climate finance", "AOB") and p.agenda_index == 0
    assert p.apply(CHAIR, A(w.AGENDA_ITEM, value=2), 1002) and not p.apply(CHAIR, A(w.AGENDA_ITEM, value=3), 1003)
    assert p.apply(CHAIR, A(w.PHASE, value=3), 1004) and p.phase == "drafting"
    assert not p.apply(CHAIR, A(w.PHASE, value=99), 1005)
    p.apply(FR, A(w.REQUEST), 1006)
    p.apply(DE, A(w.REQUEST), 1007)
    p.apply(CHAIR, A(w.GRANT, value=30_000), 1008)
    p.apply(CHAIR, A(w.MUTE, DE), 1009)
    q = Procedure()
    q.restore(w.Snapshot.parse(bytes(p.snapshot(17))))
    assert q.state_key() == p.state_key() and q.role(CHAIR) == "chair" and q.role(OBS) == "observer"
    p.apply(CHAIR, A(w.CLEAR, DE), 1010)  # Germany left: cleared from the list
    q.apply(CHAIR, A(w.CLEAR, DE), 1010)
    assert p.state_key() == q.state_key() and p.queue == []


def test_roles_from_a_roster_ignore_claims() -> None:
    roster = {CHAIR: "chair", FR: "head", OBS: "observer"}
    p = Procedure(lambda k: roster.get(k, "guest"))
    assert not p.apply(OBS, A(w.CLAIM_ROLE, value=role_index("chair")), 1000)
    assert not p.apply(OBS, A(w.REQUEST), 1001) and p.apply(FR, A(w.REQUEST), 1002)
    assert not p.apply(99, A(w.REQUEST), 1003)  # not in the roster: a guest
    assert p.ignored["roles_from_roster"] == 1 and p.ignored["not_permitted"] == 2


def test_a_plain_rooms_header_must_name_the_actions_subject() -> None:
    """In a room without end-to-end encryption member keys are relay client ids: a header that
    routes another member than the action names (the relay would give the floor to one, the
    clients to another) is ignored and counted."""
    from vrdiplomacy.session.meeting import MeetingSession

    ms = MeetingSession(None)
    ms.me = 5
    claim = A(w.CLAIM_ROLE, value=role_index("chair"))
    assert ms.receive(CHAIR, 1, bytes(w.MeetingFrame(claim.header().stamped(100), bytes(claim))), 100)
    grant = A(w.GRANT, FR, 30_000)
    lying = w.MeetingFrame(grant.header(DE).stamped(101), bytes(grant))
    assert not ms.receive(CHAIR, 2, bytes(lying), 101)
    assert ms.counters["target_mismatch"] == 1 and ms.procedure.speaker is None
    unstamped = w.MeetingFrame(grant.header(FR), bytes(grant))  # never through a relay
    assert not ms.receive(CHAIR, 3, bytes(unstamped), 102) and ms.counters["unstamped"] == 1
    honest = w.MeetingFrame(grant.header(FR).stamped(103), bytes(grant))
    assert ms.receive(CHAIR, 4, bytes(honest), 103) and ms.procedure.speaker == FR
