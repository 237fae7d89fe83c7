"""Periodic rekeying over the relay (the 15-minute interval shortened): new generations reach
every member and speech keeps flowing across them."""

from __future__ import annotations

import asyncio

from vrdiplomacy.crypto.session import SessionConfig
from vrdiplomacy.net import wire
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import KeysChanged, SecureSettings

from harness import Pki, codes_agree, member, until


def test_periodic_rekey_keeps_speech_flowing_and_code_stable() -> None:
    async def main() -> None:
        pki = Pki()
        fast = SecureSettings(session=SessionConfig(rekey_interval_s=0.4))
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0", settings=fast) as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "fr", "s1", settings=fast) as fr:
                await until(lambda: codes_agree([ch, fr]), 10, "keyed")
                await until(lambda: fr.client.core.media_ready, 5, "media")
                code = fr.secure.code
                gen0 = fr.secure.session.generation
                frames = [b"rekey-frame-%04d" % i for i in range(100)]
                for f in frames:  # 2 s at 50 Hz: about 5 rotations
                    fr.client.send_voice(wire.level_byte(-20, True), f)
                    await asyncio.sleep(0.02)
                await asyncio.sleep(0.3)
                assert fr.secure.session.generation - gen0 >= 3
                gens = [e.generation for e in ch.other if isinstance(e, KeysChanged) and e.name == "France"]
                assert len(gens) >= 4 and gens == sorted(gens)
                assert fr.secure.code == ch.secure.code == code  # the code follows the roster, not the rotation
                assert len(set(ch.voice) & set(frames)) >= 90, ch.secure.drop_counts()

    asyncio.run(main())
