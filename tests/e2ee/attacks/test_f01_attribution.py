"""Finding 1 of issue 12: the relay decided who said or did what.

A malicious relay (the real relay core, see ``evil_relay.py``) delivers France's sealed voice,
poses and raised hand to Germany stamped with the Chair's relay client id. Germany's client must
show them as France's (the member whose key opened them): the gesture icon over France's avatar,
the speaking halo on France's, France first in the floor queue, and nothing on the Chair's; and
its card must say what the relay did. Fails on main 3e2635d (the icon and the halo appear over
the Chair, who is queued for the floor).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.voice.devices import WavInput

from attacks.evil_relay import EvilRelay, avatars_by_name, keyed, secured_session
from harness import Pki, until

SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")
CHAIR, FRANCE, GERMANY = (0.0, 1.2, -2.0), (-1.0, 1.2, 0.0), (1.0, 1.2, 0.0)


@pytest.mark.skipif(not SPEECH.exists(), reason="needs the ALSA sample speech file")
def test_relay_relabelling_france_as_the_chair_shows_france() -> None:
    async def main() -> None:
        pki = Pki()
        async with EvilRelay() as relay:
            ch = await secured_session(relay, pki, "Chair", "chair", "CH", "s0", CHAIR)
            fr = await secured_session(relay, pki, "France", "head", "FR", "s1", FRANCE)
            de = await secured_session(relay, pki, "Germany", "head", "DE", "s2", GERMANY)
            everyone = [ch, fr, de]
            try:
                await until(lambda: keyed([s for s in everyone]), 15, "the room keyed")
                await until(lambda: {"Chair", "France"} <= set(avatars_by_name(de)), 10, "Germany sees both",
                            lambda: str(list(avatars_by_name(de))))
                # the attack: France's frames and events reach Germany stamped as the Chair's
                relay.relabel_everywhere(fr.client.client_id, ch.client.client_id, except_to=[ch.client.client_id])
                await asyncio.sleep(0.3)
                fr.mic = WavInput(SPEECH, loop=True)
                fr.send_gesture("raise_hand", "start", "right")
                await until(lambda: any(g[2] == "raise_hand" for g in de.state.gesture_log), 10, "the raised hand")
                await until(lambda: avatars_by_name(de).get("France") is not None
                            and avatars_by_name(de)["France"].speaking > 0.2, 10, "France's voice",
                            lambda: str({k: a.speaking for k, a in avatars_by_name(de).items()}))
                assert relay.core.relabelled_events >= 1 and relay.core.relabelled_frames >= 3
                view = avatars_by_name(de)
                assert view["France"].gesture_icon == "raise_hand"
                assert view["Chair"].gesture_icon is None, "France's gesture shown over the Chair"
                assert view["Chair"].speaking == 0.0, "France's voice shown as the Chair's"
                # the avatars stand where their own poses put them (the Chair's did not move to France's seat)
                assert np.allclose(view["France"].head.position, FRANCE, atol=0.05)
                assert np.allclose(view["Chair"].head.position, CHAIR, atol=0.05)
                queue = de.gestures.floor.queue
                assert [de.state.members[k].identity for k in queue] == ["France"]
                # ... and Germany's card says what the relay did
                await until(lambda: de.security.security_alerts >= 1, 5, "an alert on Germany's card")
                log = " ".join(text for _t, text in de.security.alerts)
                assert "the relay labelled France's" in log and "as Chair's" in log, log
            finally:
                for s in everyone:
                    await s.stop()

    asyncio.run(main())
