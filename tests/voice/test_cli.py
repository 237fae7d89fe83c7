from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.cli import main
from vrdiplomacy.voice.devices import read_wav


def test_audio_devices_lists_file_devices(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audio", "devices"]) == 0
    out = capsys.readouterr().out
    assert "file:PATH.wav" in out
    assert "sound card" in out
    # which echo canceller a delegate on loudspeakers gets (the project installs WebRTC's)
    assert "microphone processing (loudspeakers): WebRTC AEC3 echo canceller" in out


def test_audio_test_writes_a_binaural_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "t.wav"
    assert main(["audio", "test", "--output", f"file:{p}", "--seconds", "1"]) == 0
    assert "Gardner" in capsys.readouterr().out
    with __import__("wave").open(str(p)) as w:
        assert w.getnchannels() == 2 and w.getnframes() == 48000


def test_bench_voice_prints_figures_and_writes_aligned_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], speech_file: str
) -> None:
    out = tmp_path / "out.wav"
    rc = main(["bench", "voice", "--input", speech_file, "--loss", "0.05", "--burst", "1", "--jitter-ms", "20",
               "--seed", "7", "--output", str(out)])
    assert rc == 0
    text = capsys.readouterr().out
    for word in ("mouth-to-ear", "late", "lost in network", "PESQ-WB"):
        assert word in text
    x, y = read_wav(speech_file), read_wav(out)
    assert y.size == x.size
    env = lambda s: np.convolve(np.abs(s), np.ones(960) / 960, "same")  # noqa: E731
    # time-aligned with the input (the jitter buffer re-times speech by whole pitch periods while
    # it grows to the link's jitter, so parts of this 1.4 s clip sit tens of ms off the one lag)
    assert np.corrcoef(env(x), env(y))[0, 1] > 0.7


def test_bad_arguments_are_one_line_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "voice", "--loss", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1
    assert main(["audio", "loopback", "--input", "file:/nonexistent.wav", "--output", "file:/tmp/x.wav"]) != 0
    assert capsys.readouterr().err.startswith("error: ")
