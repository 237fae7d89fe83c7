from __future__ import annotations

import glob

import numpy as np
import pytest

from vrdiplomacy.voice.simulate import ALSA_SOUNDS, alsa_speech


@pytest.fixture(scope="session")
def speech() -> np.ndarray:
    """Real recorded speech (Debian alsa-utils), 48 kHz mono."""
    if not glob.glob(f"{ALSA_SOUNDS}/*.wav"):
        pytest.skip(f"no recorded speech in {ALSA_SOUNDS} (apt install alsa-utils)")
    return alsa_speech()


@pytest.fixture(scope="session")
def speech_file() -> str:
    files = sorted(glob.glob(f"{ALSA_SOUNDS}/Front_Center.wav"))
    if not files:
        pytest.skip(f"no recorded speech in {ALSA_SOUNDS} (apt install alsa-utils)")
    return files[0]
