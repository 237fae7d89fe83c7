"""Finding 12 of issue 12 (client half): a plain client (``join`` without ``--root``) in a secured
room. The relay used to let it in, and France's card went on showing the room code, as if the
room were secured, while an unencrypted participant listened. Now every secured client's card says
"1 participant not verified" with the name the relay gives, in the alert colour, for as long as
the plain client is there, and shows the room code again once it has left. Nobody's words or
gestures are shown under its name, and no member is accused of forging keys. Fails on main
3e2635d (the card shows the room code with the plain client present).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings
from vrdiplomacy.voice.devices import WavInput

from attacks.evil_relay import avatars_by_name, keyed, secured_session
from harness import Pki, until

SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")


def card(s: DelegateSession) -> tuple[tuple[str, ...], bool]:
    return s.security.hud_lines(s.now)


@pytest.mark.skipif(not SPEECH.exists(), reason="needs the ALSA sample speech file")
def test_a_plain_client_in_a_secured_room_is_on_every_card() -> None:
    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay:
            ch = await secured_session(relay, pki, "Chair", "chair", "CH", "s0", (0.0, 1.2, -2.0))
            fr = await secured_session(relay, pki, "France", "head", "FR", "s1", (-1.0, 1.2, 0.0))
            members = [ch, fr]
            plain = None
            try:
                await until(lambda: keyed(members), 15, "the room keyed")
                # each member states its relay handle once the roster settles: then nobody is unverified
                await until(lambda: all(not card(s)[1] for s in members), 5, "the members verified",
                            lambda: str([card(s) for s in members]))
                assert card(fr)[0][0] != "1 participant not verified"  # roster news, then the code
                # a plain `join` (no --root): no end-to-end layer, talking and raising its hand
                plain = DelegateSession(relay.host, relay.port, relay.fingerprint, SessionSettings("Observer", "s9", hear=False),
                                        None, HeldPose(Pose(np.array((1.0, 1.2, 0.0), np.float32))), WavInput(SPEECH, loop=True))
                await plain.start()
                plain.send_gesture("raise_hand", "start", "right")
                await until(lambda: all(card(s)[0][0] == "1 participant not verified" for s in members), 5,
                            "the plain client on every card", lambda: str([card(s) for s in members]))
                seen: list[tuple[tuple[str, ...], bool]] = []
                for _ in range(20):  # it stays on the card (no timed banner) while the plain client is there
                    await asyncio.sleep(0.1)
                    seen.extend(card(s) for s in members)
                assert all(lines[0] != "Room code" for lines, _red in seen), "a card showed the room code"
                lines, red = card(fr)
                assert red and lines[:2] == ("1 participant not verified", "relay says: Observer")
                for s in members:
                    assert "Observer" not in " ".join(avatars_by_name(s)), "an unverified participant got an avatar"
                    assert not any(g[2] == "raise_hand" for g in s.state.gesture_log)
                    assert not any("forged" in text for _t, text in s.security.alerts), s.security.alerts
                assert fr.client.payload_rejected > 0  # its plaintext was refused, not shown
                await plain.stop()
                plain = None
                await until(lambda: all(card(s)[0][0] != "1 participant not verified" for s in members), 5,
                            "the card once the plain client left")
                await until(lambda: card(fr)[0][0] == "Room code", 10, "the room code back")
            finally:
                if plain is not None:
                    await plain.stop()
                for s in members:
                    await s.stop()

    asyncio.run(main())
