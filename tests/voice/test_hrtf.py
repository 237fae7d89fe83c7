from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.errors import AssetError
from vrdiplomacy.voice.hrtf import KEMAR_ASSET, SYSTEM_SOFA, hrtf_from_sofa, load_hrtf, load_kemar, read_sofa


def test_shipped_kemar_set_with_citation() -> None:
    h = load_kemar()
    assert h.fs == 48000 and h.directions.shape == (710, 3) and h.hrir.shape == (710, 2, 256)
    assert "Gardner" in h.citation and "Martin" in h.citation
    readme = (KEMAR_ASSET.parent / "README.md").read_text()
    assert "Gardner" in readme and "1994" in readme


def test_interpolation_weights_are_barycentric() -> None:
    h = load_kemar()
    rng = np.random.default_rng(0)
    d = rng.standard_normal((200, 3)).astype(np.float32)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    idx, w = h.weights(d)
    assert np.all(w >= 0) and np.allclose(w.sum(axis=1), 1.0, atol=1e-5)
    approx = np.einsum("sk,skc->sc", w, h.directions[idx])
    approx /= np.linalg.norm(approx, axis=1, keepdims=True)
    assert np.degrees(np.arccos(np.clip(np.sum(approx * d, axis=1), -1, 1))).max() < 0.1


@pytest.mark.skipif(not SYSTEM_SOFA.is_file(), reason="libmysofa1's KEMAR SOFA file is not installed")
def test_system_sofa_matches_shipped_copy() -> None:
    raw = read_sofa(SYSTEM_SOFA)
    assert raw.ir.shape == (710, 2, 512) and raw.fs == 44100.0
    fresh = hrtf_from_sofa(SYSTEM_SOFA)
    shipped = load_kemar()
    assert np.allclose(fresh.hrir, shipped.hrir, atol=1e-5)
    assert np.array_equal(fresh.delay, shipped.delay)


def test_truncated_or_missing_files_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(KEMAR_ASSET.read_bytes()[:5000])
    with pytest.raises(AssetError):
        load_hrtf(bad)
    with pytest.raises(AssetError, match="not found"):
        load_hrtf(tmp_path / "none.npz")
    with pytest.raises(AssetError):
        read_sofa(tmp_path / "none.sofa")
