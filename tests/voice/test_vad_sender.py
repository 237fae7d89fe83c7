from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.codec import OpusSettings
from vrdiplomacy.voice.sender import SenderSettings, VoiceSender
from vrdiplomacy.voice.vad import TransmitGate, VoiceActivity

FS, F = 48000, 960


def frames(x: np.ndarray) -> list[np.ndarray]:
    return [x[i:i + F] for i in range(0, x.size - F + 1, F)]


def test_vad_speech_silence_and_steady_noise(speech: np.ndarray) -> None:
    vad = VoiceActivity()
    assert not any(vad.update(np.zeros(F, np.float32)) for _ in range(20))
    rng = np.random.default_rng(0)
    noise = (0.03 * rng.standard_normal(FS * 4)).astype(np.float32)  # a loud fan switched on
    decisions = [vad.update(f) for f in frames(noise)]
    assert decisions[0]  # a sudden sound is taken for speech at first
    assert not any(decisions[-50:])  # within ~2.5 s the floor adapted: steady noise is not speech
    x = speech[: FS * 3]
    loud = [f for f in frames(x) if np.sqrt(np.mean(f ** 2)) > 0.05]
    vad2 = VoiceActivity()
    voiced = [vad2.update(f) for f in frames(x)]
    assert loud and sum(voiced) >= len(loud)


def test_push_to_talk_and_mute(speech: np.ndarray) -> None:
    g = TransmitGate("ptt")
    f = speech[FS // 2: FS // 2 + F]
    assert g.decide(f)[0] is False
    g.set_ptt(True)
    assert g.decide(f)[0] is True
    g.muted = True
    assert g.decide(f)[0] is False
    g.muted = False
    g.set_ptt(False)
    tail = [g.decide(f)[0] for _ in range(15)]
    assert tail[0] and not tail[-1]  # a short tail after release, then silence
    with pytest.raises(ConfigError):
        TransmitGate("sometimes")


def test_sender_packets_and_mute(speech: np.ndarray) -> None:
    s = VoiceSender(5)
    pk = [p for f in frames(speech[: FS * 3]) for p in s.capture(f)]
    assert pk and all(p.speaker == 5 for p in pk)
    assert [p.sequence for p in pk] == list(range(len(pk)))
    assert all(b.timestamp > a.timestamp for a, b in zip(pk, pk[1:]))
    assert pk[0].start and pk[0].level < 127
    s.set_muted(True)
    assert [p for f in frames(speech[FS * 3: FS * 5]) for p in s.capture(f)] == []


def test_cbr_continuous_hides_speech(speech: np.ndarray) -> None:
    s = VoiceSender(1, SenderSettings(opus=OpusSettings(cbr=True), transmit="continuous"))
    x = np.concatenate([np.zeros(FS, np.float32), speech[: FS * 2]])
    pk = [p for f in frames(x) for p in s.capture(f)]
    assert len(pk) == len(frames(x))  # a packet every frame, speech or not
    assert {len(p.payload) for p in pk} == {80}


def test_sender_cancels_echo_on_loudspeakers() -> None:
    rng = np.random.default_rng(5)
    far = (0.1 * rng.standard_normal(FS * 4)).astype(np.float32)
    h = np.zeros(400)
    h[200] = 0.3
    mic = np.convolve(far, h)[: far.size].astype(np.float32)
    s = VoiceSender(1, SenderSettings(headphones=False, transmit="continuous"))
    energy_in, energy_out = 0.0, 0.0
    for i in range(0, far.size, 480):
        s.playback(far[i:i + 480])
        s.capture(mic[i:i + 480])
        if i > FS * 2:
            energy_in += float(np.sum(mic[i:i + 480] ** 2))
    assert s.aec is not None
    clean = s.aec.process(mic[-FS:], far[-FS:])  # a converged canceller removes the echo
    energy_out = float(np.sum(clean ** 2))
    assert 10 * np.log10(float(np.sum(mic[-FS:] ** 2)) / energy_out) > 20.0
