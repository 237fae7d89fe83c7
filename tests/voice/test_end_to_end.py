"""File device -> sender -> packet bytes -> receiver -> spatializer (talker on the listener's
right) -> WAV out: the talker is heard, on the right."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vrdiplomacy.voice.devices import WavInput, WavOutput, read_wav
from vrdiplomacy.voice.loopback import LoopbackSettings, run_loopback
from vrdiplomacy.voice.simulate import delay_by_xcorr


def test_speech_reaches_the_listener_from_the_right(tmp_path: Path, speech_file: str) -> None:
    out_path = tmp_path / "heard.wav"
    inp = WavInput(speech_file)
    out = WavOutput(out_path)
    res = run_loopback(inp, out, LoopbackSettings(azimuth_deg=90.0, distance=2.0))
    out.close()
    assert res.packets > 20
    import wave

    with wave.open(str(out_path)) as w:
        raw = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2).astype(np.float32) / 32768
    left, right = raw[:, 0], raw[:, 1]
    ild = 10 * np.log10(np.sum(right ** 2) / np.sum(left ** 2))
    assert ild > 3.0  # louder in the right ear (speech energy is mostly low, where ILD is small)
    from scipy.signal import butter, sosfilt

    hp = butter(4, 3000, "high", fs=48000, output="sos")
    ild_high = 10 * np.log10(np.sum(sosfilt(hp, right) ** 2) / np.sum(sosfilt(hp, left) ** 2))
    assert ild_high > 10.0  # and much louder above 3 kHz, where the head shadows the left ear
    x = read_wav(speech_file)
    lag = delay_by_xcorr(x, right, 48000 // 4)
    seg = right[lag:lag + x.size]
    env = lambda s: np.convolve(np.abs(s), np.ones(960) / 960, "same")  # noqa: E731
    assert np.corrcoef(env(x[: seg.size]), env(seg))[0, 1] > 0.8  # it is the talker's speech
    assert 20 <= lag / 48 <= 80  # mouth-to-ear in ms: framing, look-ahead and the buffer
