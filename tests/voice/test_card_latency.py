"""Mouth-to-ear latency with the sound card counted (issue 16): file devices that model a
10 ms card's block queue and converters."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.voice.codec import OpusSettings
from vrdiplomacy.voice.devices import CardModel, CardModelInput, CardModelOutput, WavInput, WavOutput, read_wav, write_wav
from vrdiplomacy.voice.latency import mouth_to_ear
from vrdiplomacy.voice.sender import SenderSettings

FS = 48000


def test_card_model_delays_capture_and_playback(tmp_path: Path) -> None:
    card = CardModel()  # 10 ms periods, two queued, 1.5 ms converters each way
    assert card.input_delay == 72 and card.output_delay == 2 * 480 + 72
    x = np.zeros(4800, np.float32)
    x[100] = 0.5
    write_wav(tmp_path / "in.wav", x)
    mic = CardModelInput(WavInput(tmp_path / "in.wav"), card)
    got = np.concatenate([mic.read(480) for _ in range(10)])
    assert int(np.argmax(got)) == 100 + card.input_delay
    out = CardModelOutput(WavOutput(tmp_path / "out.wav", channels=2), card)
    for k in range(10):
        out.write(x[k * 480:(k + 1) * 480])
    out.close()
    heard = read_wav(tmp_path / "out.wav")
    assert heard.size == x.size + card.output_delay  # closing plays out the queue
    assert int(np.argmax(np.abs(heard))) == 100 + card.output_delay
    assert card.round_trip_ms == pytest.approx(23.0)


def test_mouth_to_ear_with_the_card_within_80_ms(speech: np.ndarray) -> None:
    """The client's default chain (loudspeakers: WebRTC echo canceller and noise suppressor;
    full-band Opus) with a 10 ms card on both ends: p95 over 0.5 s windows <= 80 ms (measured
    78.4 ms, median 75.5; the chain's delay is 74.5 ms on this clock, where packets arrive on
    a playback callback; 28.4 ms on headphones without the card, the figure main 3e2635d
    reported). The real-time figures are tools/bench/voice_latency_udp.py's."""
    x = np.tile(speech, 2)[: FS * 16]
    full = OpusSettings().with_profile("full")
    lags = mouth_to_ear(x, SenderSettings(opus=full, headphones=False), CardModel(), network_ms=0.0)
    assert len(lags) >= 20
    assert np.percentile(lags, 95) <= 80.0
    bare = mouth_to_ear(x[: FS * 6], SenderSettings(opus=full, headphones=True), None, network_ms=0.0)
    card = mouth_to_ear(x[: FS * 6], SenderSettings(opus=full, headphones=True), CardModel(), network_ms=0.0)
    assert np.median(card) - np.median(bare) == pytest.approx(CardModel().round_trip_ms, abs=1.0)
