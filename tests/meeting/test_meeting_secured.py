"""The procedure in a secured room: actions are end-to-end sealed and signed, attributed to the
verified roster member; roles are the chair-signed roster's (clients) and the authority-signed
invitation's (relay). An observer's forged floor request is refused by the relay; through a relay
double that forwards it unchecked, every client ignores it (counted) and no state changes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import time
from pathlib import Path

from meetnet import seat_of, until

from vrdiplomacy.crypto.admission import Admission, Invitation, self_admission
from vrdiplomacy.meeting import wire as mw
from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import SecureRoom, SecureSettings
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2ee"))
from harness import Pki

PEOPLE = (("Chair", "chair", "CH", "CHE"), ("France", "head", "FR", "FRA"), ("Germany", "delegate", "DE", "DEU"),
          ("Observer", "observer", "NO", "NOR"))


async def _run() -> dict[str, object]:
    layout = load_layout("chamber")
    pki = Pki()
    ids = {name: pki.identity(name, role, cc) for name, role, cc, _ in PEOPLE}
    chair_id = ids["Chair"]
    out: dict[str, object] = {}
    async with EmbeddedRelay(layouts={layout.scene: layout}, default_layout=layout) as relay:
        core = relay.server.core
        sess: dict[str, DelegateSession] = {}
        async with contextlib.AsyncExitStack() as stack:
            for name, role, _cc, deleg in PEOPLE:
                me = ids[name]
                seat = seat_of(layout, deleg)
                adm = (self_admission(chair_id.certificate, chair_id.signing_key, "chamber", time.time()) if role == "chair"
                       else Admission(Invitation.create("chamber", chair_id.certificate, chair_id.signing_key,
                                                        me.certificate, role, time.time(), seat, 1.0), me.signing_key))
                sec = SecureRoom("chamber", me, [pki.root], SecureSettings(role=adm.role), authority=adm.invitation)
                s = DelegateSession(relay.host, relay.port, relay.fingerprint,
                                    SessionSettings(name.lower(), seat, hear=False, client=ClientSettings(admission=adm)),
                                    layout, HeldPose(layout.seat(seat).eye_pose()), None, None, sealer=sec)
                await s.start()
                stack.push_async_callback(s.stop)
                sess[name] = s
            everyone = list(sess.values())

            def ready() -> bool:
                return all(len(s.meeting.roles or {}) == 4 and s.state.me >= 0 and
                           all(m.client_id for m in s.state.members.values()) for s in everyone)

            await until(ready, 30, "the roster verified and every member's relay handle stated")
            key = {n: next(k for k, r in sess["Chair"].meeting.roles.items() if sess["Chair"].member_name(k) in
                           (n.lower(), n)) if n != "Chair" else sess["Chair"].state.me for n in sess}
            roles = sess["France"].meeting.roles
            assert roles is not None and roles[key["Observer"]] == "observer" and roles[key["Chair"]] == "chair"
            F, G, O = key["France"], key["Germany"], key["Observer"]

            def queues() -> list[list[int]]:
                return [[k for k, _ in s.meeting.procedure.queue] for s in everyone]

            sess["France"].send_gesture("raise_hand", "start", "right")
            await until(lambda: queues() == [[F]] * 4, 10, "France's sealed request folded by all", queues)
            assert all(s.meeting.counters["wrong_stream"] == 0 for s in everyone)

            # the observer asks anyway: the relay knows its role from the invitation and refuses
            sess["Observer"].meeting_act(mw.REQUEST)
            await until(lambda: bool(sess["Observer"].meeting.refusals), 5, "the relay's refusal")
            out["refusal"] = sess["Observer"].meeting.refusals[-1]
            assert core.meeting_counters["refused_role"] == 1

            # a relay that does not check (a double of the core's hook): every client ignores it
            real = core._meeting_event

            def unchecked(conn: object, s: object, payload: bytes, now: float) -> bytes:
                if not mw.looks_like(payload):
                    return payload
                h = mw.MeetingHeader.parse(payload)
                return bytes(h.stamped(core._wall_ms(now) + 1)) + payload[mw.HEADER_SIZE:]

            core._meeting_event = unchecked  # type: ignore[method-assign]
            before = {id(s): s.meeting.counters["ignored"] for s in everyone}
            sess["Observer"].meeting_act(mw.REQUEST)
            sess["Observer"].meeting_act(mw.GRANT, subject=O)  # and grants itself the floor
            await until(lambda: all(s.meeting.counters["ignored"] >= before[id(s)] + 2 for s in everyone), 5,
                        "every client ignored the observer's forged actions")
            core._meeting_event = real  # type: ignore[method-assign]
            assert queues() == [[F]] * 4 and all(s.meeting.procedure.speaker is None for s in everyone)
            assert all(s.meeting.procedure.ignored["not_permitted"] >= 2 for s in everyone)

            # the chair's sealed grant and mute: folded by all, routed by the relay
            sess["Chair"].meeting_act("grant", value=60_000)
            sess["Chair"].meeting_act("mute", subject=G)
            await until(lambda: all(s.meeting.procedure.speaker == F and G in s.meeting.procedure.muted
                                    for s in everyone), 10, "the grant and mute everywhere")
            f_cid, g_cid = sess["France"].client.client_id, sess["Germany"].client.client_id
            room = next(iter(core.rooms.values()))
            await until(lambda: room.floor == f_cid, 5, "the relay's floor holder")
            assert g_cid in core._silenced and f_cid not in core._silenced
            # the agenda's text is sealed: the relay sees the header (action, item number), not the text
            sess["Chair"].meeting_act("agenda", value=0, data="Confidential item on sanctions")
            await until(lambda: all(s.meeting.procedure.agenda == ("Confidential item on sanctions",)
                                    for s in everyone), 10, "the agenda everywhere")
            stored = b"".join(e.payload for e in room.log.history)
            assert b"sanctions" not in stored and b"Confidential" not in stored
            assert len({s.meeting.procedure.state_key() for s in everyone}) == 1
            out["view"] = sess["Germany"].meeting_view(sess["Germany"].now)
            out["secured_rejected"] = [s.client.payload_rejected for s in everyone]
    return out


def test_secured_meeting_roles_and_forged_requests() -> None:
    out = asyncio.run(_run())
    print(out["refusal"])
    view = out["view"]
    assert view.speaker is not None and view.speaker.name == "France"  # type: ignore[attr-defined]
    assert view.me is not None and view.me.muted and view.me.role == "delegate"  # type: ignore[attr-defined]
    assert "The chair muted you" in view.notices  # type: ignore[attr-defined]
