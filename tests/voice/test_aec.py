from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.voice.aec import EchoCanceller

FS = 48000


def echo_path(seed: int = 1) -> np.ndarray:
    """Synthetic room: 4 ms loudspeaker-to-microphone delay, 15 ms exponential decay,
    echo 10 dB below the loudspeaker signal."""
    rng = np.random.default_rng(seed)
    n, d0 = int(0.08 * FS), int(0.004 * FS)
    h = np.zeros(n)
    h[d0:] = rng.standard_normal(n - d0) * np.exp(-np.arange(n - d0) / (0.015 * FS))
    return h * np.sqrt(0.1 / np.sum(h ** 2))


def erle(mic: np.ndarray, out: np.ndarray) -> float:
    return 10 * np.log10(np.sum(mic ** 2) / np.sum(out ** 2))


def test_cancels_echo_of_noise() -> None:
    rng = np.random.default_rng(2)
    far = 0.1 * rng.standard_normal(FS * 4)
    mic = np.convolve(far, echo_path())[: far.size] + 1e-4 * rng.standard_normal(far.size)
    out = EchoCanceller().process(mic, far)
    assert erle(mic[FS * 2:], out[FS * 2:]) > 20.0


def test_cancels_echo_of_speech(speech: np.ndarray) -> None:
    far = speech[: FS * 8].astype(np.float64)
    far = far[: far.size // 240 * 240]
    rng = np.random.default_rng(3)
    mic = np.convolve(far, echo_path())[: far.size] + 1e-4 * rng.standard_normal(far.size)
    out = EchoCanceller().process(mic, far)
    assert erle(mic[FS * 4:], out[FS * 4:]) > 15.0


def test_double_talk_keeps_near_speech_and_filter(speech: np.ndarray) -> None:
    far = speech[: FS * 8].astype(np.float64)
    near = np.zeros_like(far)
    seg = speech[FS * 8: FS * 10].astype(np.float64)
    near[FS * 4: FS * 4 + seg.size] = seg  # the local user talks over the far end
    rng = np.random.default_rng(4)
    mic = np.convolve(far, echo_path())[: far.size] + near + 1e-4 * rng.standard_normal(far.size)
    out = EchoCanceller().process(mic, far)
    talk = slice(FS * 4, FS * 6)
    c = np.corrcoef(out[talk], near[talk])[0, 1]
    assert c > 0.95  # the near-end talker passes through
    after = slice(FS * 6, FS * 8)
    echo_only = mic[after] - near[after]
    assert erle(echo_only, out[after]) > 12.0  # and the filter did not diverge


def test_input_must_be_whole_blocks() -> None:
    with pytest.raises(ConfigError):
        EchoCanceller().process(np.zeros(100), np.zeros(100))
