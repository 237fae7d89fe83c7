"""Fixtures of the live room tests (helpers: roomlive.py)."""

from __future__ import annotations

import glob
import sys
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.scene.layout import Layout, load_layout
from vrdiplomacy.voice.devices import read_wav
from vrdiplomacy.voice.simulate import ALSA_SOUNDS

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="session")
def chamber() -> Layout:
    return load_layout("chamber")


@pytest.fixture(scope="session")
def voices() -> dict[str, np.ndarray]:
    """Distinct recorded utterances by name (Front_Center, Rear_Left, ...), 48 kHz mono."""
    files = sorted(glob.glob(f"{ALSA_SOUNDS}/*.wav"))
    if not files:
        pytest.skip(f"no recorded speech in {ALSA_SOUNDS} (apt install alsa-utils)")
    return {Path(f).stem: read_wav(f) for f in files if "Noise" not in f}


