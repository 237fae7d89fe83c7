"""Two delegates through a real relay on loopback: A's recorded speech reaches B's ears, from A's side."""

from __future__ import annotations

import asyncio
import math
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.scene.layout import Layout, Seat, load_layout
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings
from vrdiplomacy.voice.devices import WavInput, WavOutput, read_wav

SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")
FS = 48000


def _right_neighbour(layout: Layout, listener: Seat) -> Seat | None:
    """The nearest seat that lies to the listener's right (mostly sideways, 0.5 to 3 m away)."""
    y = math.radians(listener.yaw_deg)
    right = np.array([math.cos(y), 0.0, -math.sin(y)])
    best = None
    for s in layout.seats:
        d = np.subtract(s.position, listener.position)
        dist = float(np.linalg.norm(d))
        if s is listener or not 0.5 < dist < 3.0 or float(d @ right) / dist < 0.8:
            continue
        if best is None or dist < best[0]:
            best = (dist, s)
    return None if best is None else best[1]


def _seat_pair(layout: Layout) -> tuple[Seat, Seat]:
    """(listener, speaker): the default seat's row neighbours, the speaker on the listener's right."""
    first = layout.seat(layout.default_seat)
    for b in sorted(layout.seats, key=lambda s: float(np.linalg.norm(np.subtract(s.position, first.position)))):
        a = _right_neighbour(layout, b)
        if a is not None:
            return b, a
    raise AssertionError("the chamber layout has no two seats side by side")


def _envelope(x: np.ndarray, hop: int = 960) -> np.ndarray:
    n = x.size // hop
    return np.sqrt(np.mean(x[: n * hop].reshape(n, hop).astype(np.float64) ** 2, axis=1))


async def _talk(tmp: Path, layout: Layout, a_seat: Seat, b_seat: Seat, seconds: float) -> tuple[DelegateSession, DelegateSession]:
    async with EmbeddedRelay(layouts={layout.scene: layout}, default_layout=layout) as relay:
        b_out = WavOutput(tmp / "b_heard.wav")
        b = DelegateSession(relay.host, relay.port, relay.fingerprint, SessionSettings("delegate-b", b_seat.seat_id),
                            layout, HeldPose(b_seat.eye_pose()), None, b_out)
        a = DelegateSession(relay.host, relay.port, relay.fingerprint,
                            SessionSettings("delegate-a", a_seat.seat_id, hear=False),
                            layout, HeldPose(a_seat.eye_pose()), WavInput(SPEECH), None)
        await b.start()
        await a.start()
        await asyncio.sleep(seconds)
        await a.stop()
        await b.stop()
        return a, b


@pytest.mark.skipif(not SPEECH.is_file(), reason="needs alsa-utils' recorded speech (apt install alsa-utils)")
def test_speech_reaches_the_listener_from_the_speakers_side(tmp_path: Path) -> None:
    layout = load_layout("chamber")
    b_seat, a_seat = _seat_pair(layout)
    a, b = asyncio.run(_talk(tmp_path, layout, a_seat, b_seat, 3.0))

    assert a.stats.voice_sent > 50  # 1.4 s of speech in 20 ms frames
    members = {m.identity: m for m in b.state.members.values()} | {m.identity: m for m in b.state.left_members.values()}
    assert "delegate-a" in members and members["delegate-a"].voice_frames >= a.stats.voice_sent * 0.9
    assert members["delegate-a"].poses > 10
    assert b.mix is not None and b.mix.counters.spoofed == 0

    heard = read_wav_stereo(tmp_path / "b_heard.wav")
    assert heard.shape[0] >= int(2.5 * FS)
    left, right = heard[:, 0], heard[:, 1]
    rms_l = float(np.sqrt(np.mean(left.astype(np.float64) ** 2)))
    rms_r = float(np.sqrt(np.mean(right.astype(np.float64) ** 2)))
    assert rms_r > 1e-3, "B heard nothing"
    diff_db = 20 * math.log10(rms_r / max(rms_l, 1e-9))
    print(f"right - left = {diff_db:.1f} dB")
    assert diff_db > 3.0

    # B's output follows A's speech: 50 ms envelopes correlate at the mouth-to-ear delay
    src = read_wav(SPEECH)
    mono = heard.mean(axis=1)
    e_src = _envelope(src, 2400)
    best, best_lag = -1.0, 0
    for lag in range(0, mono.size - src.size, 240):  # 5 ms steps
        c = float(np.corrcoef(e_src, _envelope(mono[lag : lag + src.size], 2400))[0, 1])
        if c > best:
            best, best_lag = c, lag
    print(f"envelope correlation {best:.2f} at {best_lag / FS * 1000:.0f} ms")
    # (0.65 to 0.8 here; a busy machine makes the jitter buffer stretch and skip, which blurs it)
    assert best > 0.5
    # within a conversational delay (the search starts at lag 0; 50 ms envelopes make the lag coarse)
    assert best_lag / FS < 1.0


def read_wav_stereo(path: Path) -> np.ndarray:
    import wave

    with wave.open(str(path), "rb") as w:
        assert w.getnchannels() == 2 and w.getframerate() == FS
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2).astype(np.float32) / 32768.0
