"""A bilateral room inside an end-to-end encrypted room (each delegate its own DelegateSession and
SecureRoom over real TLS and UDP): the room stays keyed for everyone, France's sealed gesture in the
bilateral room reaches Germany attributed to the verified France member, and Italy in the plenary
receives nothing of it, shows no France or Germany avatar and raises no security alert."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parents[1] / "e2ee"))

from harness import Pki, until

from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import SecureRoom
from vrdiplomacy.net.wire_spaces import bilateral
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings


def _seat(layout: Layout, delegation: str) -> str:
    return next(s.seat_id for s in layout.seats if s.delegation == delegation)


def test_bilateral_room_in_a_secured_room(chamber: Layout) -> None:
    room = bilateral("FRA", "DEU")

    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay(layouts={"chamber": chamber}, default_layout=chamber) as relay:
            people: dict[str, DelegateSession] = {}
            try:
                for name, role, cc, deleg in (("Chair", "chair", "CH", "CHE"), ("France", "head", "FR", "FRA"),
                                              ("Germany", "head", "DE", "DEU"), ("Italy", "head", "IT", "ITA")):
                    seat = chamber.seat(_seat(chamber, deleg))
                    sec = SecureRoom("chamber", pki.identity(name, role, cc), [pki.root])
                    s = DelegateSession(relay.host, relay.port, relay.fingerprint,
                                        SessionSettings(name, seat.seat_id, hear=False), chamber,
                                        HeldPose(seat.eye_pose()), None, None, sealer=sec)
                    await s.start()
                    people[name] = s
                fr, de, it = people["France"], people["Germany"], people["Italy"]
                await until(lambda: all(s.sealer.member and s.sealer.code for s in people.values())  # type: ignore[union-attr]
                            and len({s.sealer.code for s in people.values()}) == 1, 20, "the room keyed")  # type: ignore[union-attr]
                await until(lambda: all(sum(1 for m in s.state.members.values() if m.client_id) == 3 for s in people.values()),
                            10, "everyone states its relay id")
                seen = {n: len(s.security.alerts) for n, s in people.items()}
                fr.rooms.move(room)
                de.rooms.move(room)
                await until(lambda: fr.rooms.space == room and de.rooms.space == room, 5, "both in the bilateral room")
                await asyncio.sleep(0.7)  # the others refresh who is where (every 0.5 s)
                before = len(it.state.gesture_log)
                fr.send_gesture("nod")
                await until(lambda: any(g == "nod" for _t, _k, g, _p in de.state.gesture_log), 5, "Germany sees the nod")
                await asyncio.sleep(0.5)
                (entry,) = [e for e in de.state.gesture_log if e[2] == "nod"]
                assert de.state.members[entry[1]].identity == "France"  # the verified member, not a relay label
                assert len(it.state.gesture_log) == before  # Italy received nothing of it
                shown_it = {a.delegation for a in it.state.avatars(it.now)}
                shown_de = {a.delegation for a in de.state.avatars(de.now)}
                assert "France" not in shown_it and "Germany" not in shown_it and "Chair" in shown_it
                assert shown_de == {"France"}
                # (media the relay forwarded just before France's move may still arrive after Italy learnt of
                # it: Italy's client drops those, counted in rooms.counters.other_space)
                # the room stays one keyed room, and nobody's card raises an alert about it
                assert len({s.sealer.code for s in people.values()}) == 1  # type: ignore[union-attr]
                for n, s in people.items():
                    new = [text for _t, text in list(s.security.alerts)[seen[n]:]]
                    assert not [t for t in new if "not verified" in t or "alert" in t.lower()], (n, new)
                    assert not s.state.unverified()
                # France comes back: Italy sees it again
                fr.rooms.move("")
                await until(lambda: "France" in {a.delegation for a in it.state.avatars(it.now)}, 5, "France back")
                assert np.isfinite(it.now)
            finally:
                for s in people.values():
                    await s.stop()

    asyncio.run(main())
