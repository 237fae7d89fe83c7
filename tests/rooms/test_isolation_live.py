"""Closed-door bilateral room and informal lounge through a real relay: their speech, poses and
gestures stay inside (measured on the output audio of a plenary delegate sitting next to them),
and a delegate of a third delegation who asks to enter the bilateral room is refused.

Fails on main 5dfeb41: there are no spaces within a room (no Place message), so the plenary
delegate 1.2 m from France hears its bilateral talk at full level."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from roomlive import FS, Delegate, energy_db, run, run_room, talk_file

from vrdiplomacy.net.wire_spaces import ERR_PLACE_REFUSED, bilateral
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.session.rooms import RoomsSettings

SILENT_TILL = 3.8  # s: bilateral and lounge talk happen before, plenary speech after


def _seat(layout: Layout, delegation: str) -> str:
    return next(s.seat_id for s in layout.seats if s.delegation == delegation)


def test_bilateral_room_and_lounge_are_inaudible_outside(tmp_path: Path, chamber: Layout,
                                                           voices: dict[str, np.ndarray]) -> None:
    bil = bilateral("FRA", "DEU")
    fra, deu, gab, irl, cub = (_seat(chamber, d) for d in ("FRA", "DEU", "GAB", "IRL", "CUB"))
    plenary_speaker = _seat(chamber, "GHA")
    mic_a = talk_file(tmp_path, "a", [0.3, voices["Front_Center"]])
    mic_l = talk_file(tmp_path, "l", [0.3, voices["Rear_Left"]])
    mic_s = talk_file(tmp_path, "s", [SILENT_TILL + 0.2, voices["Side_Left"]])

    async def body(relay):  # type: ignore[no-untyped-def]
        # P (Gabon) sits 1.2 m from France and 1 m from Ireland: without isolation it hears both loudly
        p = Delegate(relay, chamber, tmp_path, "p-gab", gab)
        b = Delegate(relay, chamber, tmp_path, "b-deu", deu, rooms=RoomsSettings(space=bil))
        l2 = Delegate(relay, chamber, tmp_path, "l2-cub", cub, rooms=RoomsSettings(space="lounge"))
        intruder = Delegate(relay, chamber, tmp_path, "x-cub", _seat(chamber, "ITA"), hear=False,
                            rooms=RoomsSettings(space=bil))
        a = Delegate(relay, chamber, tmp_path, "a-fra", fra, mic_a, hear=False, rooms=RoomsSettings(space=bil))
        l1 = Delegate(relay, chamber, tmp_path, "l1-irl", irl, mic_l, hear=False, rooms=RoomsSettings(space="lounge"))
        s = Delegate(relay, chamber, tmp_path, "s-gha", plenary_speaker, mic_s, hear=False)
        ds = [p, b, l2, intruder, a, l1, s]
        for d in ds:
            await d.session.start()
        await asyncio.sleep(1.0)
        a.session.send_gesture("nod")  # a gesture in the bilateral room
        l1.session.send_gesture("wave")
        s.session.send_gesture("thumbs_up")  # and one in the plenary
        await asyncio.sleep(SILENT_TILL + 2.0 - 1.0)
        seen = {d.name: d.cid for d in ds}
        # what P and B show: avatar ids of the crowd each renders
        shown = {d.name: set(d.session.state.avatars(d.session.now).ids.tolist()) for d in (p, b)}
        for d in reversed(ds):
            await d.session.stop()
        return ds, seen, shown, relay.server.core.space_stats()

    ds, cid, shown, relay_stats = run(run_room(chamber, body))
    p, b, l2, intruder, a, l1, _s = ds
    split = int(SILENT_TILL * FS)
    heard_p, heard_b, heard_l2 = p.heard(), b.heard(), l2.heard()
    inside_b = energy_db(heard_b[:split])
    inside_l2 = energy_db(heard_l2[:split])
    outside = energy_db(heard_p[:split])
    plenary = energy_db(heard_p[split:])
    print(f"bilateral participant {inside_b:.1f} dB, lounge participant {inside_l2:.1f} dB, outside listener "
          f"{outside:.1f} dB during their talk; outside listener {plenary:.1f} dB during plenary speech")
    print("relay:", relay_stats)
    assert inside_b > -70 and inside_l2 > -70  # the participants hear each other
    assert inside_b - outside >= 60 and inside_l2 - outside >= 60
    assert plenary > -70  # and the outside listener is not deaf: it hears the plenary
    assert energy_db(heard_b[split:]) < inside_b - 60  # nor do the bilateral room's members hear the plenary

    # nothing of the bilateral room or the lounge reached P: voice, poses, gestures
    pm = {**p.session.state.left_members, **p.session.state.members}
    for who in (a, b, l1, l2):
        m = pm[cid[who.name]]
        assert m.voice_frames == 0 and m.poses == 0 and not m.gestures, (who.name, m)
        assert cid[who.name] not in shown["p-gab"]  # no avatar in the plenary
    assert p.session.rooms.counters.other_space == 0  # the relay sent nothing P had to drop
    assert p.session.mix is not None and set(p.session.mix.heard_energy) == {cid["s-gha"]}
    assert pm[cid["s-gha"]].gestures == ["thumbs_up"]
    # inside, they hear and see each other's gestures
    bs = {**b.session.state.left_members, **b.session.state.members}
    bm = bs[cid["a-fra"]]
    assert bm.voice_frames > 50 and bm.poses > 5 and bm.gestures == ["nod"]  # far apart: keyframes only, 2 Hz
    assert {**l2.session.state.left_members, **l2.session.state.members}[cid["l1-irl"]].gestures == ["wave"]
    assert shown["p-gab"] >= {cid["s-gha"], cid["x-cub"]}
    assert cid["a-fra"] in shown["b-deu"] and not shown["b-deu"] & {cid["s-gha"], cid["p-gab"], cid["l1-irl"]}

    # the intruder (Italy) asked for the Franco-German room: refused with one line, left in the plenary
    r = intruder.session.rooms
    assert r.counters.refused >= 1 and r.space == ""
    assert r.refusal.startswith("the bilateral room DEU-FRA is closed to all but delegations DEU and FRA")
    c = relay_stats["counters"]
    assert c["places_refused"] >= 1 and c["voice_withheld"] > 100 and c["keyframes_withheld"] > 0
    assert relay_stats["counters"]["places"] >= 4
    assert ERR_PLACE_REFUSED == 20
