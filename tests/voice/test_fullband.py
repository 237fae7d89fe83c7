"""Full-band voice: the HRTF's front/back cue survives the codec (issue 16)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import welch

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.voice.codec import VOICE_PROFILES, OpusDecoder, OpusEncoder, OpusSettings
from vrdiplomacy.voice.hrtf import load_kemar
from vrdiplomacy.voice.spatial import SpatialSettings, Spatializer

FS, F = 48000, 960


def through_codec(x: np.ndarray, s: OpusSettings) -> np.ndarray:
    enc, dec = OpusEncoder(s), OpusDecoder()
    out = []
    for i in range(0, x.size - F + 1, F):
        p = enc.encode(x[i:i + F])
        out.append(dec.decode(p, F) if len(p) > 2 else np.zeros(F, np.float32))
    return np.concatenate(out)


def heard(x: np.ndarray, position: tuple[float, float, float]) -> np.ndarray:
    """What the listener at the origin, looking ahead (-z), hears of a voice at ``position``."""
    sp = Spatializer(load_kemar(), SpatialSettings(block=F))
    return np.concatenate([sp.render(Pose(), {1: (position, x[i:i + F])}) for i in range(0, x.size - F + 1, F)])


def band_db(stereo: np.ndarray, lo: float, hi: float) -> np.ndarray:
    f, p = welch(stereo, FS, nperseg=2048, axis=0)
    return 10 * np.log10(p[(f >= lo) & (f < hi)].mean(axis=0) + 1e-30)


def front_back(x: np.ndarray) -> tuple[float, float]:
    """(front minus back level in 9-10 kHz relative to 0.3-3 kHz, left ear, in dB; the 9-10 kHz
    level relative to the 0.3-3 kHz level of the voice ahead, in dB)."""
    front, back = heard(x, (0.0, 0.0, -2.0)), heard(x, (0.0, 0.0, 2.0))
    ref = band_db(front, 300, 3000) - band_db(back, 300, 3000)
    diff = band_db(front, 9000, 10000) - band_db(back, 9000, 10000) - ref
    level = band_db(front, 9000, 10000) - band_db(front, 300, 3000)
    return float(diff[0]), float(level[0])


@pytest.fixture(scope="module")
def voice(speech: np.ndarray) -> np.ndarray:
    return speech[: FS * 6].astype(np.float32)


def test_front_and_back_differ_after_the_full_band_codec(voice: np.ndarray) -> None:
    """A voice behind sounds different from one ahead in the 9-10 kHz band (KEMAR's front/back
    cue), in the decoded audio of the default (full) profile; fails on main 3e2635d, whose
    wideband Opus leaves nothing above 8 kHz."""
    uncoded, _ = front_back(voice)
    coded, level = front_back(through_codec(voice, OpusSettings().with_profile("full")))
    assert abs(uncoded) >= 3.0
    assert abs(coded) >= 3.0 and abs(coded - uncoded) < 1.5
    assert level > -40.0  # the band is there to be heard, not a difference between two silences


def test_wideband_profile_loses_the_cue_band(voice: np.ndarray) -> None:
    _, level = front_back(through_codec(voice, OpusSettings().with_profile("low")))
    assert level < -50.0


def test_profiles() -> None:
    full = OpusSettings().with_profile("full")
    assert (full.bandwidth, full.bitrate) == ("fb", 48000)
    low = OpusSettings(fec=False).with_profile("low")
    assert low.bandwidth == "wb" and low.bitrate < full.bitrate and low.fec is False
    assert set(VOICE_PROFILES) == {"full", "low"}
    with pytest.raises(ConfigError):
        OpusSettings().with_profile("hifi")
