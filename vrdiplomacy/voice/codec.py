"""Voice codec interface and the Opus implementation (libopus through opuslib).

opuslib and libopus are imported lazily, on the first encoder or decoder, so importing
this module never needs the native library. When libopus is missing the error says how
to get it (Debian/Ubuntu: ``apt install libopus0``; macOS: ``brew install opus``;
Windows: put ``opus.dll`` on PATH).

opuslib's own ctl wrappers for in-band FEC and DTX are broken (they send the wrong
request), so settings go through ``opuslib.api.encoder.encoder_ctl`` with the right
requests, and decoding writes into a preallocated float buffer for speed.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import AudioError, ConfigError

F32 = npt.NDArray[np.float32]
FS = 48000
OPUS_FRAME_MS = (10, 20, 40, 60)
MAX_PACKET = 1275
# OPUS_BANDWIDTH_* values for OPUS_SET_MAX_BANDWIDTH.
BANDWIDTHS = {"nb": 1101, "mb": 1102, "wb": 1103, "swb": 1104, "fb": 1105}
LIBOPUS_HELP = (
    "libopus is not installed: on Debian/Ubuntu run 'apt install libopus0', on macOS "
    "'brew install opus', on Windows put opus.dll (from an Opus release or vcpkg) on PATH"
)


class CodecError(AudioError):
    """A payload could not be decoded, or the codec rejected a setting."""


class Encoder(Protocol):
    frame_samples: int

    def encode(self, pcm: F32) -> bytes: ...

    def set_expected_loss(self, fraction: float) -> None: ...

    def set_bitrate(self, bitrate: int) -> None: ...


class Decoder(Protocol):
    def decode(self, payload: bytes | None, frame_samples: int, fec: bool = False) -> F32: ...

    def packet_samples(self, payload: bytes) -> int: ...


@dataclass
class OpusSettings:
    """Opus encoder settings.

    Fields: ``bitrate`` bits/s (default 32 kb/s); ``frame_ms`` 10/20/40/60 (default 20);
    ``application`` "voip", "audio" or "restricted_lowdelay"; ``complexity`` 0-10;
    ``fec`` in-band forward error correction (LBRR; it only spends bits when the expected
    loss is above zero); ``expected_loss`` the starting packet-loss estimate, 0..1, later
    driven by receiver reports; ``dtx`` discontinuous transmission in silence; ``cbr``
    constant bitrate: every packet the same size, since VBR packet sizes reveal what is
    said (CBR also turns DTX off); ``bandwidth`` the widest audio band coded: "nb" 4 kHz,
    "mb" 6, "wb" 8, "swb" 12, "fb" 20. The default "wb" spends all of 32 kb/s on the SILK
    layer, which in-band FEC protects entirely (in hybrid SWB/FB modes a lost frame's band
    above 8 kHz can only be concealed); it measured better in PESQ-WB under loss.
    """

    bitrate: int = 32000
    frame_ms: int = 20
    application: str = "voip"
    complexity: int = 9
    fec: bool = True
    expected_loss: float = 0.0
    dtx: bool = True
    cbr: bool = False
    bandwidth: str = "wb"

    def with_profile(self, name: str) -> OpusSettings:
        """These settings with the audio band and bitrate of voice profile ``name``
        (:data:`VOICE_PROFILES`)."""
        p = VOICE_PROFILES.get(name)
        if p is None:
            raise ConfigError(f"voice profile must be one of {', '.join(VOICE_PROFILES)}, not '{name}'")
        return replace(self, bandwidth=p.bandwidth, bitrate=p.bitrate)

    def validate(self) -> None:
        if self.frame_ms not in OPUS_FRAME_MS:
            raise ConfigError(f"Opus frame length must be one of {OPUS_FRAME_MS} ms, not {self.frame_ms}")
        if not 6000 <= self.bitrate <= 510000:
            raise ConfigError(f"Opus bitrate must be 6000..510000 b/s, not {self.bitrate}")
        if self.application not in ("voip", "audio", "restricted_lowdelay"):
            raise ConfigError(f"unknown Opus application '{self.application}'")
        if not 0 <= self.complexity <= 10:
            raise ConfigError("Opus complexity must be 0..10")
        if self.bandwidth not in BANDWIDTHS:
            raise ConfigError(f"Opus bandwidth must be one of {', '.join(BANDWIDTHS)}, not '{self.bandwidth}'")
        if not 0.0 <= self.expected_loss <= 1.0:
            raise ConfigError("expected loss must be a fraction 0..1")

    @property
    def frame_samples(self) -> int:
        return FS * self.frame_ms // 1000


@dataclass(frozen=True)
class VoiceProfile:
    """A voice quality profile: the Opus audio ``bandwidth`` and ``bitrate`` (b/s)."""

    bandwidth: str
    bitrate: int
    summary: str


# "full": 48 kHz Opus (hybrid SILK + CELT) up to 20 kHz, so the HRTF's front/back and
# elevation cues (7-11 kHz, KEMAR) reach the ear; at 48 kb/s its 0-8 kHz band scores the
# PESQ-WB of wideband at 32 kb/s (4.52 against 4.53 on the alsa-utils voices) and the
# 9-10 kHz front/back difference after decoding is that of the uncoded voice (7.4 against
# 7.3 dB dry, 4.8 against 4.9 dB with the default room reverb), 23 dB under the voice's
# 0.3-3 kHz level, where wideband leaves that band 65 dB under it (tests/voice/test_fullband.py).
# "low": wideband SILK for poor links.
VOICE_PROFILES = {
    "full": VoiceProfile("fb", 48000, "full band (20 kHz), 48 kb/s: the HRTF's front/back and elevation cues are heard"),
    "low": VoiceProfile("wb", 24000, "wideband (8 kHz), 24 kb/s, for poor links"),
}


def opus_packet_samples(payload: bytes) -> int:
    """Samples per channel at 48 kHz in an Opus packet, read from its TOC byte (and frame
    count byte) as RFC 6716 section 3.1 lays them out; no library call. Raises
    :class:`CodecError` for an empty packet or one that claims more than 120 ms."""
    if not payload:
        raise CodecError("empty Opus payload")
    toc = payload[0]
    code = toc & 0x03
    if code == 0:
        frames = 1
    elif code != 3:
        frames = 2
    elif len(payload) < 2:
        raise CodecError("invalid Opus packet (code 3 without a frame count)")
    else:
        frames = payload[1] & 0x3F
    size = (toc >> 3) & 0x03
    if toc & 0x80:  # CELT-only: 2.5, 5, 10, 20 ms
        per_frame = 120 << size
    elif toc & 0x60 == 0x60:  # hybrid: 10, 20 ms
        per_frame = 960 if toc & 0x08 else 480
    else:  # SILK-only: 10, 20, 40, 60 ms
        per_frame = 2880 if size == 3 else 480 << size
    n = frames * per_frame
    if n <= 0 or n > 5760:
        raise CodecError(f"invalid Opus packet ({frames} frames of {per_frame} samples)")
    return n


def load_opus() -> ModuleType:
    """Import opuslib (and with it libopus), or raise :class:`AudioError` saying how to get it."""
    try:
        import opuslib  # noqa: F401
        import opuslib.api.ctl
        import opuslib.api.decoder
        import opuslib.api.encoder
    except ImportError as e:
        raise AudioError(f"the opuslib Python package is missing ({e}); pip install opuslib") from None
    except Exception as e:  # opuslib raises a bare Exception when libopus is missing
        if "opus" in str(e).lower():
            raise AudioError(LIBOPUS_HELP) from None
        raise AudioError(f"cannot load libopus: {e}") from None
    return opuslib


def opus_version() -> str:
    op = load_opus()
    fn = op.api.libopus.opus_get_version_string
    fn.restype = ctypes.c_char_p
    return str(fn().decode())


class OpusEncoder:
    """Mono 48 kHz Opus encoder."""

    def __init__(self, settings: OpusSettings | None = None) -> None:
        self.settings = s = settings or OpusSettings()
        s.validate()
        op = load_opus()
        self._enc_api = op.api.encoder
        self._ctl = op.api.ctl
        try:
            self._enc = op.Encoder(FS, 1, s.application)
        except Exception as e:
            raise CodecError(f"cannot create an Opus encoder: {e}") from None
        self.frame_samples = s.frame_samples
        st = self._enc.encoder_state
        self._set(self._ctl.set_bitrate, s.bitrate)
        self.bitrate = s.bitrate
        self._set(self._ctl.set_complexity, s.complexity)
        self._set(self._ctl.set_signal, 3001)  # OPUS_SIGNAL_VOICE
        self._set(self._ctl.set_vbr, 0 if s.cbr else 1)
        self._set(self._ctl.set_inband_fec, 1 if s.fec else 0)
        self._set(self._ctl.set_dtx, 1 if (s.dtx and not s.cbr) else 0)
        self._set(self._ctl.set_max_bandwidth, BANDWIDTHS[s.bandwidth])
        self._loss_perc = -1
        self.set_expected_loss(s.expected_loss)
        self.lookahead = int(self._enc_api.encoder_ctl(st, self._ctl.get_lookahead))
        self._buf = (ctypes.c_char * MAX_PACKET)()

    def _set(self, request: Any, value: int) -> None:
        try:
            self._enc_api.encoder_ctl(self._enc.encoder_state, request, int(value))
        except Exception as e:
            raise CodecError(f"Opus rejected a setting: {e}") from None

    def set_expected_loss(self, fraction: float) -> None:
        """Tell the encoder the packet loss to expect (drives how many bits FEC gets)."""
        perc = int(round(min(max(fraction, 0.0), 1.0) * 100))
        if perc != self._loss_perc:
            self._set(self._ctl.set_packet_loss_perc, perc)
            self._loss_perc = perc

    def set_bitrate(self, bitrate: int) -> None:
        """Change the target bitrate (b/s, 6000..510000) between frames."""
        if not 6000 <= bitrate <= 510000:
            raise CodecError(f"Opus bitrate must be 6000..510000 b/s, not {bitrate}")
        if bitrate != self.bitrate:
            self._set(self._ctl.set_bitrate, bitrate)
            self.bitrate = bitrate

    @property
    def expected_loss_perc(self) -> int:
        return self._loss_perc

    def encode(self, pcm: F32) -> bytes:
        """Encode one frame (``frame_samples`` floats in -1..1). Returns at most 2 bytes when
        DTX decides nothing needs sending."""
        x = np.ascontiguousarray(pcm, dtype=np.float32)
        if x.shape != (self.frame_samples,):
            raise CodecError(f"Opus frame must be {self.frame_samples} samples, got {x.shape}")
        n = self._enc_api.libopus_encode_float(
            self._enc.encoder_state,
            x.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
            self.frame_samples,
            self._buf,
            MAX_PACKET,
        )
        if n < 0:
            raise CodecError(f"Opus encoder error {n}")
        return bytes(self._buf[:n])


class OpusDecoder:
    """Mono 48 kHz Opus decoder with packet-loss concealment and in-band FEC decoding."""

    def __init__(self) -> None:
        op = load_opus()
        self._api = op.api.decoder
        try:
            self._dec = op.Decoder(FS, 1)
        except Exception as e:
            raise CodecError(f"cannot create an Opus decoder: {e}") from None
        self._out = np.zeros(5760, dtype=np.float32)
        self._ptr = self._out.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        self._decode_float = self._api.libopus_decode_float
        self._state = self._dec.decoder_state

    def decode(self, payload: bytes | None, frame_samples: int, fec: bool = False) -> F32:
        """Decode ``payload``; ``None`` conceals a lost frame (PLC); ``fec=True`` decodes the
        previous frame from the payload's in-band FEC data (PLC when it has none)."""
        if frame_samples <= 0 or frame_samples > self._out.size:
            raise CodecError(f"bad frame size {frame_samples}")
        data = payload if payload else None
        n = self._decode_float(self._state, data, len(payload) if data else 0, self._ptr, frame_samples, 1 if fec else 0)
        if n < 0:
            raise CodecError(f"Opus could not decode a packet (error {n})")
        out = self._out[:n].copy()
        if n < frame_samples:
            out = np.concatenate([out, np.zeros(frame_samples - n, dtype=np.float32)])
        return out

    def packet_samples(self, payload: bytes) -> int:
        """Samples per channel in a packet at 48 kHz, from its TOC byte(s)."""
        return opus_packet_samples(payload)

    def reset(self) -> None:
        self._dec.reset_state()
