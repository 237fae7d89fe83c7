"""Moving between rooms during a session, through a real relay: a delegate walks from the plenary
into the lounge and back, and hears the lounge only while in it; the plenary hears it again after."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
from roomlive import Delegate, run, run_room, talk_file

from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.session.rooms import RoomsSettings


def test_a_delegate_moves_into_the_lounge_and_back(tmp_path: Path, chamber: Layout,
                                                   voices: dict[str, np.ndarray]) -> None:
    seats = [s.seat_id for s in chamber.seats]
    talk = np.concatenate([voices["Front_Center"], voices["Rear_Left"], voices["Side_Right"], voices["Front_Left"]])
    mic = talk_file(tmp_path, "lounge", [0.2, talk])

    async def body(relay):  # type: ignore[no-untyped-def]
        mover = Delegate(relay, chamber, tmp_path, "mover", seats[10])
        stay = Delegate(relay, chamber, tmp_path, "stay", seats[11])
        lounge = Delegate(relay, chamber, tmp_path, "lounge", seats[12], mic, hear=False,
                          rooms=RoomsSettings(space="lounge"))
        for d in (mover, stay, lounge):
            await d.session.start()
        mix = mover.session.mix
        assert mix is not None
        heard: list[int] = []

        async def phase(seconds: float) -> None:
            before = mix.heard_blocks.get(lounge.cid, 0)
            await asyncio.sleep(seconds)
            heard.append(mix.heard_blocks.get(lounge.cid, 0) - before)

        await phase(1.2)  # in the plenary: the lounge is inaudible
        mover.session.rooms.move("lounge")
        await asyncio.sleep(0.3)
        in_lounge = mover.session.rooms.space
        await phase(1.5)
        assert stay.session.state.members[mover.cid].state == "elsewhere"  # gone from the plenary's view
        mover.session.rooms.move("")
        await asyncio.sleep(0.3)
        await phase(1.2)
        back = stay.session.state.members[mover.cid].state
        for d in (lounge, stay, mover):
            await d.session.stop()
        return heard, in_lounge, back, stay.session.mix.heard_energy.get(lounge.cid, 0.0)  # type: ignore[union-attr]

    heard, in_lounge, back, stay_heard = run(run_room(chamber, body))
    print(f"lounge voice blocks heard by the mover: plenary {heard[0]}, lounge {heard[1]}, plenary again {heard[2]}")
    assert in_lounge == "lounge"
    assert heard[0] == 0 and heard[1] > 40 and heard[2] == 0  # 1.5 s in the lounge: 75 blocks of 20 ms
    assert back == "present"  # the plenary sees the mover again
    assert stay_heard == 0.0
