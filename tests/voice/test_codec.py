from __future__ import annotations

import ctypes.util
import sys

import numpy as np
import pytest

from vrdiplomacy.errors import AudioError, ConfigError
from vrdiplomacy.voice.codec import OpusDecoder, OpusEncoder, OpusSettings, load_opus, opus_version


def _tone(n: int, f: float = 440.0, amp: float = 0.3) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * f * np.arange(n) / 48000)).astype(np.float32)


def test_debian_libopus_roundtrip() -> None:
    assert opus_version().startswith("libopus")
    enc, dec = OpusEncoder(), OpusDecoder()
    x = _tone(48000)
    y = np.concatenate([dec.decode(enc.encode(x[i:i + 960]), 960) for i in range(0, 48000, 960)])
    la = enc.lookahead
    c = np.corrcoef(x[: 48000 - la][4800:], y[la:][4800:])[0, 1]
    assert c > 0.9


def test_cbr_packets_all_same_size() -> None:
    enc = OpusEncoder(OpusSettings(cbr=True))
    sizes = {len(enc.encode(x)) for x in (np.zeros(960, np.float32), _tone(960), _tone(960, 3000, 0.9))}
    assert sizes == {80}  # 32 kb/s * 20 ms / 8


def test_expected_loss_setting_reaches_encoder() -> None:
    enc = OpusEncoder()
    enc.set_expected_loss(0.07)
    assert enc.expected_loss_perc == 7
    assert int(enc._enc_api.encoder_ctl(enc._enc.encoder_state, enc._ctl.get_packet_loss_perc)) == 7


def test_invalid_payload_and_settings() -> None:
    dec = OpusDecoder()
    with pytest.raises(AudioError):
        dec.packet_samples(b"\xff\xff\xff")
    with pytest.raises(ConfigError):
        OpusEncoder(OpusSettings(frame_ms=15))
    with pytest.raises(ConfigError):
        OpusEncoder(OpusSettings(bandwidth="ultra"))


def test_missing_libopus_gives_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    saved = {k: v for k, v in sys.modules.items() if k == "opuslib" or k.startswith("opuslib.")}
    for k in saved:
        monkeypatch.delitem(sys.modules, k)
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    try:
        with pytest.raises(AudioError, match="apt install libopus0"):
            load_opus()
    finally:
        for k in [k for k in sys.modules if k == "opuslib" or k.startswith("opuslib.")]:
            del sys.modules[k]
        sys.modules.update(saved)
