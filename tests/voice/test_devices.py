from __future__ import annotations

import wave
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.errors import AssetError, AudioError, ConfigError
from vrdiplomacy.voice.devices import WavInput, list_devices, open_input, open_output, read_wav, write_wav


def test_wav_roundtrip_and_resampling(tmp_path: Path) -> None:
    t = np.arange(44100) / 44100
    x = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)
    p = tmp_path / "tone44k.wav"
    with wave.open(str(p), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes((np.repeat(x[:, None], 2, axis=1) * 32767).astype("<i2").tobytes())
    y = read_wav(p)
    assert abs(y.size - 48000) <= 1
    spec = np.abs(np.fft.rfft(y))
    assert abs(np.argmax(spec) * 48000 / y.size - 1000) < 2


def test_file_devices(tmp_path: Path, speech_file: str) -> None:
    inp = open_input("file:" + speech_file)
    assert isinstance(inp, WavInput)
    blocks = []
    while (b := inp.read(960)) is not None:
        blocks.append(b)
    assert sum(b.size for b in blocks) >= inp.data.size
    out_path = tmp_path / "o.wav"
    out = open_output(f"file:{out_path}")
    for b in blocks:
        out.write(np.stack([b, -b], axis=1))
    out.close()
    back = read_wav(out_path)  # mixed to mono: left + right cancel
    assert np.max(np.abs(back)) < 1e-3
    with wave.open(str(out_path)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 48000)


def test_bad_files_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    with pytest.raises(AssetError):
        read_wav(bad)
    with pytest.raises(AssetError, match="not found"):
        open_input(f"file:{tmp_path / 'missing.wav'}")
    with pytest.raises(ConfigError):
        open_input("file:")
    write_wav(tmp_path / "ok.wav", np.zeros(10))


def test_no_sound_card_is_reported_clearly() -> None:
    devs = list_devices()
    if devs.cards:
        pytest.skip("this machine has sound cards")
    assert "no sound card" in devs.problem or "PortAudio" in devs.problem
    with pytest.raises(AudioError, match="file:"):
        open_output("default")
