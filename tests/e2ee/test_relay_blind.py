"""Over the real relay on loopback: the relay application sees none of the speech, gestures,
text or poses of a secured room, while members receive all of it and agree on the room code."""

from __future__ import annotations

import asyncio
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_io import connect
from vrdiplomacy.net.pose import PoseEncoder
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import RoomCodeChanged, RosterChanged, hud_lines
from vrdiplomacy.scene.math3d import Pose

from harness import Pki, RelayTap, codes_agree, member, until

SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")
SENTENCE = b"The delegation of France proposes to amend article 12 of the draft resolution on fisheries."
GESTURES = [b"raise_hand:request-to-speak", b"nod:agree-with-chair", b"thumbs_up:support-amendment"]
CONTROL = b"CONTROL-PLAINTEXT sent by an unsecured client: the tap must see this sentence"


def opus_frames() -> list[bytes]:
    if not SPEECH.exists():
        pytest.skip(f"{SPEECH} is missing (install alsa-utils)")
    from vrdiplomacy.voice.codec import OpusEncoder, OpusSettings
    from vrdiplomacy.voice.devices import read_wav

    pcm = read_wav(SPEECH)
    enc = OpusEncoder(OpusSettings(dtx=False))
    n = enc.settings.frame_samples if hasattr(enc, "settings") else 320
    frames = [enc.encode(np.ascontiguousarray(pcm[i : i + n])) for i in range(0, len(pcm) - n, n)]
    return [f for f in frames if len(f) > 8]


def windows(data: bytes, n: int = 8) -> list[bytes]:
    """Distinctive n-byte substrings (at least 5 different byte values)."""
    return [data[i : i + n] for i in range(len(data) - n + 1) if len(set(data[i : i + n])) >= 5]


def poses() -> list[Pose]:
    return [Pose.from_yaw((0.4 + 0.01 * i, 1.6, -0.7), 0.05 * i) for i in range(30)]


def test_relay_sees_no_plaintext_and_members_get_everything() -> None:
    frames = opus_frames()
    assert len(frames) > 50

    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay:
            tap = RelayTap(relay)
            try:
                async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "seat-0") as ch, \
                        member(relay, pki.root, pki.identity("France", "head"), "fr", "seat-1") as fr, \
                        member(relay, pki.root, pki.identity("Germany", "head", "DE"), "de", "seat-2") as de, \
                        connect(relay.host, relay.port, relay.fingerprint, "plain", "seat-9", room="annex") as plain:
                    ms = [ch, fr, de]
                    await until(lambda: codes_agree(ms), 15, "the same room code on 3 clients")
                    code3 = fr.secure.code
                    assert code3 is not None and len(code3.replace(" ", "")) == 30
                    assert hud_lines(code3)[1:] == [" ".join(code3.split()[:3]), " ".join(code3.split()[3:])]
                    await until(lambda: all(m.client.core.media_ready for m in ms), 5, "media paths")
                    plain.send_event(CONTROL)

                    for i, f in enumerate(frames):
                        assert fr.client.send_voice(wire.level_byte(-18, True), f)
                        if i % 3 == 0:
                            fr.client.send_pose(poses()[(i // 3) % 30])
                        await asyncio.sleep(0.004)
                    for g in GESTURES:
                        fr.client.send_event(g, stream="gesture")
                    fr.client.send_event(SENTENCE, stream="room")
                    fr.client.send_event(b"vote:yes:resolution-7", stream="vote")
                    fr.client.send_event(b"floor:request", stream="floor")
                    await until(lambda: len(de.events) >= 6 and len(ch.events) >= 6 and len(de.voice) >= len(frames) * 0.9,
                                10, "everything at the receivers",
                                lambda: f"de {len(de.events)} events {len(de.voice)} voice, chair {len(ch.events)} events; "
                                        f"{relay.server.core.counters}; de drops {de.secure.drop_counts()}")
                    await asyncio.sleep(0.2)

                    # the members got it all, opened and attributed to the verified sender
                    assert set(de.voice) <= set(frames) and len(set(de.voice)) >= len(frames) * 0.9
                    assert set(ch.voice) <= set(frames) and len(set(ch.voice)) >= len(frames) * 0.9
                    assert de.poses >= 2 and ch.poses >= 2  # without a layout only pose keyframes reach everyone
                    got = [(e.stream, e.payload, e.verified_sender) for e in de.events]
                    for g in GESTURES:
                        assert ("gesture", g, "France") in got
                    assert ("room", SENTENCE, "France") in got
                    assert ("vote", b"vote:yes:resolution-7", "France") in got
                    assert ("floor", b"floor:request", "France") in got
                    assert ("room", SENTENCE, "France") in [(e.stream, e.payload, e.verified_sender) for e in fr.events]
                    assert de.client.payload_rejected == 0 and de.secure.drop_counts().get("auth", 0) == 0

                    # UI events: the roster and code changes were announced
                    assert any(isinstance(e, RosterChanged) and e.version == 2 for e in de.other)
                    assert [e.code for e in de.other if isinstance(e, RoomCodeChanged)][-1] == code3

                    # a fourth member joins: the code changes, and is again the same everywhere
                    async with member(relay, pki.root, pki.identity("Italy", "head", "IT"), "it", "seat-3") as it:
                        await until(lambda: codes_agree(ms + [it]), 15, "the same room code on 4 clients")
                        assert it.secure.code != code3
                    await until(lambda: codes_agree(ms), 15, "the code after the fourth member left")
                    assert fr.secure.code not in (code3, None)
                    assert fr.secure.roster is not None and fr.secure.roster.version == 4

                    plaintexts = frames + GESTURES + [SENTENCE, b"vote:yes:resolution-7", b"floor:request"]
                    enc = PoseEncoder()
                    pose_payloads = [enc.encode(p, None, None)[0] for p in [poses()[(i // 3) % 30] for i in range(0, len(frames), 3)]]
            finally:
                tap.close()

        seen = tap.chunks
        assert sum(len(c) for c in seen) > 50_000
        assert sum(1 for _, t, _ in tap.uplink if t == wire.DG_VOICE) >= len(frames)
        blob = b"\x00".join(seen)
        assert CONTROL in blob  # the tap does see plaintext when there is any
        grams: set[bytes] = set()
        for c in seen:
            grams.update(c[i : i + 8] for i in range(len(c) - 7))
        for p in plaintexts:
            assert p not in blob
            leaked = [w for w in windows(p) if w in grams]
            assert not leaked, f"{len(leaked)} 8-byte pieces of {p[:16]!r}... visible to the relay"
        pose_windows = [w for p in pose_payloads for w in windows(p)]
        assert len(pose_windows) > 50
        assert not [w for w in pose_windows if w in grams]

    asyncio.run(main())
