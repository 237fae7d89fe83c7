"""Audio devices behind one small interface: sound cards through sounddevice (PortAudio,
imported lazily) and WAV files for tests and the headless demo.

Device names: ``default``; ``file:PATH.wav`` (input: read, resampled to 48 kHz and mixed
to mono; output: written as 16-bit PCM); a sound card's index or a part of its name.

File devices can model a sound card's latency (:class:`CardModel`): the output's block
queue (a newly written block plays after the periods already queued) and the converters'
and driver's delay on both sides, as delay lines on the file's time axis, so that a
mouth-to-ear measurement over files counts what a real card adds.
"""

from __future__ import annotations

import logging
import math
import wave
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import AssetError, AudioError, ConfigError

log = logging.getLogger(__name__)
F32 = npt.NDArray[np.float32]
FS = 48000
FILE_PREFIX = "file:"


class InputDevice(Protocol):
    name: str
    fs: int

    def read(self, n: int) -> F32 | None:
        """The next ``n`` mono samples, or None at the end of a file."""
        ...

    def close(self) -> None: ...


class OutputDevice(Protocol):
    name: str
    fs: int
    channels: int

    def write(self, block: npt.ArrayLike) -> None: ...

    def close(self) -> None: ...


# ---------------------------------------------------------------- WAV files


def read_wav(path: str | Path, fs: int = FS) -> F32:
    """Read a PCM WAV file (8/16/24/32-bit) as float32 mono at ``fs``."""
    p = Path(path)
    try:
        with wave.open(str(p), "rb") as w:
            ch, width, rate, n = w.getnchannels(), w.getsampwidth(), w.getframerate(), w.getnframes()
            raw = w.readframes(n)
    except FileNotFoundError:
        raise AssetError(f"{p}: WAV file not found") from None
    except (wave.Error, EOFError, OSError) as e:
        raise AssetError(f"{p}: not a readable PCM WAV file ({e})") from None
    if ch < 1 or rate <= 0:
        raise AssetError(f"{p}: bad WAV header")
    frames = len(raw) // (width * ch)
    raw = raw[: frames * width * ch]
    if width == 1:
        x = (np.frombuffer(raw, np.uint8).astype(np.float32) - 128.0) / 128.0
    elif width == 2:
        x = np.frombuffer(raw, "<i2").astype(np.float32) / 32768.0
    elif width == 3:
        b = np.frombuffer(raw, np.uint8).reshape(-1, 3)
        v = (b[:, 0].astype(np.int32) | (b[:, 1].astype(np.int32) << 8) | (b[:, 2].astype(np.int32) << 16))
        v = np.where(v >= 1 << 23, v - (1 << 24), v)
        x = v.astype(np.float32) / float(1 << 23)
    elif width == 4:
        x = np.frombuffer(raw, "<i4").astype(np.float32) / float(1 << 31)
    else:
        raise AssetError(f"{p}: unsupported sample width {width * 8} bits")
    x = x.reshape(-1, ch).mean(axis=1)
    if rate != fs:
        from scipy.signal import resample_poly

        g = math.gcd(rate, fs)
        x = resample_poly(x, fs // g, rate // g).astype(np.float32)
    return np.ascontiguousarray(x, dtype=np.float32)


def write_wav(path: str | Path, data: npt.ArrayLike, fs: int = FS) -> None:
    """Write float samples (n,) or (n, channels) in -1..1 as 16-bit PCM WAV."""
    x = np.asarray(data, dtype=np.float32)
    if x.ndim == 1:
        x = x[:, None]
    pcm = (np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2")
    try:
        with wave.open(str(path), "wb") as w:
            w.setnchannels(x.shape[1])
            w.setsampwidth(2)
            w.setframerate(fs)
            w.writeframes(pcm.tobytes())
    except OSError as e:
        raise AudioError(f"{path}: cannot write WAV file ({e})") from None


class WavInput:
    """A WAV file as a microphone. ``loop`` restarts at the end instead of ending."""

    def __init__(self, path: str | Path, fs: int = FS, loop: bool = False) -> None:
        self.path = Path(path)
        self.name = FILE_PREFIX + str(path)
        self.fs = fs
        self.loop = loop
        self.data = read_wav(path, fs)
        self.pos = 0

    def read(self, n: int) -> F32 | None:
        if self.pos >= self.data.size:
            if not self.loop or self.data.size == 0:
                return None
            self.pos = 0
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        if out.size < n:
            if self.loop and self.data.size:
                reps = int(math.ceil((n - out.size) / self.data.size)) + 1
                extra = np.tile(self.data, reps)[: n - out.size]
                self.pos = n - out.size
                return np.concatenate([out, extra])
            out = np.concatenate([out, np.zeros(n - out.size, dtype=np.float32)])
        return out.copy()

    def close(self) -> None:
        self.pos = self.data.size


class WavOutput:
    """A WAV file as loudspeakers/headphones, written incrementally (16-bit PCM)."""

    def __init__(self, path: str | Path, fs: int = FS, channels: int = 2) -> None:
        self.path = Path(path)
        self.name = FILE_PREFIX + str(path)
        self.fs = fs
        self.channels = channels
        try:
            self._w: wave.Wave_write | None = wave.open(str(self.path), "wb")
        except OSError as e:
            raise AudioError(f"{self.path}: cannot write WAV file ({e})") from None
        self._w.setnchannels(channels)
        self._w.setsampwidth(2)
        self._w.setframerate(fs)
        self.frames = 0

    def write(self, block: npt.ArrayLike) -> None:
        if self._w is None:
            raise AudioError(f"{self.path}: output already closed")
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            x = np.repeat(x.mean(axis=1, keepdims=True), self.channels, axis=1)
        self._w.writeframes((np.clip(x, -1.0, 1.0) * 32767.0).round().astype("<i2").tobytes())
        self.frames += x.shape[0]

    def close(self) -> None:
        if self._w is not None:
            self._w.close()
            self._w = None


# ---------------------------------------------------------------- card latency model


@dataclass(frozen=True)
class CardModel:
    """The latency a sound card adds, for file devices.

    ``period`` samples per hardware period (480: a 10 ms card); ``periods`` periods queued
    in the output buffer ahead of a newly written block (ALSA/PortAudio keep two or three);
    ``adc_ms`` and ``dac_ms`` converter filters, driver and USB/HDA transfer on the capture
    and the playback side. The capture period itself needs no model: a block is read when
    its last sample has been captured, as a file is read at the end of each tick.
    Defaults: a 10 ms card with two periods queued and 1.5 ms each way (typical delta-sigma
    converter group delay plus transfer)."""

    period: int = 480
    periods: int = 2
    adc_ms: float = 1.5
    dac_ms: float = 1.5
    fs: int = FS

    @property
    def input_delay(self) -> int:
        return int(round(self.adc_ms * self.fs / 1000.0))

    @property
    def output_delay(self) -> int:
        return self.periods * self.period + int(round(self.dac_ms * self.fs / 1000.0))

    @property
    def round_trip_ms(self) -> float:
        """What the card adds to mouth-to-ear, in ms."""
        return 1000.0 * (self.input_delay + self.output_delay) / self.fs


class CardModelInput:
    """An input device (a WAV file) seen through a card's capture latency: every sample comes
    ``model.input_delay`` samples later (the first ones are silence)."""

    def __init__(self, inner: InputDevice, model: CardModel | None = None) -> None:
        self.inner = inner
        self.model = m = model or CardModel()
        self.name = f"{inner.name} (card model: {m.round_trip_ms:.1f} ms round trip)"
        self.fs = inner.fs
        self._held = np.zeros(m.input_delay, dtype=np.float32)
        self._ended = False

    def read(self, n: int) -> F32 | None:
        if not self._ended:
            x = self.inner.read(n)
            if x is None:
                self._ended = True
            else:
                self._held = np.concatenate([self._held, np.asarray(x, dtype=np.float32).reshape(-1)])
        if self._ended and self._held.size == 0:
            return None
        out, self._held = self._held[:n], self._held[n:]
        if out.size < n:
            out = np.concatenate([out, np.zeros(n - out.size, dtype=np.float32)])
        return out

    def close(self) -> None:
        self.inner.close()


class CardModelOutput:
    """An output device (a WAV file) seen through a card's playback latency: a block written
    now is heard ``model.output_delay`` samples later (the queue starts full of silence, as a
    card's buffer is primed when the stream starts); closing plays out what is queued."""

    def __init__(self, inner: OutputDevice, model: CardModel | None = None) -> None:
        self.inner = inner
        self.model = model or CardModel()
        self.name = inner.name
        self.fs = inner.fs
        self.channels = inner.channels
        self._queue = np.zeros((self.model.output_delay, inner.channels), dtype=np.float32)

    def write(self, block: npt.ArrayLike) -> None:
        x = np.asarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[1] != self.channels:
            x = np.repeat(x.mean(axis=1, keepdims=True), self.channels, axis=1)
        self._queue = np.concatenate([self._queue, x])
        n = x.shape[0]
        self.inner.write(self._queue[:n])
        self._queue = self._queue[n:]

    def close(self) -> None:
        if self._queue.size:
            self.inner.write(self._queue)
            self._queue = self._queue[:0]
        self.inner.close()


# ---------------------------------------------------------------- sound cards


def load_sounddevice() -> ModuleType:
    """Import sounddevice (and PortAudio), or raise :class:`AudioError` saying how to get it."""
    try:
        import sounddevice
    except ImportError:
        raise AudioError("the sounddevice package is missing: pip install sounddevice") from None
    except OSError:
        raise AudioError(
            "PortAudio is not installed: on Debian/Ubuntu run 'apt install libportaudio2' "
            "(macOS: 'brew install portaudio'; Windows wheels include it)"
        ) from None
    return sounddevice


@dataclass
class CardDevice:
    """A sound card device as listed by PortAudio."""

    index: int
    name: str
    hostapi: str
    max_input: int
    max_output: int
    default_rate: float


@dataclass
class DeviceList:
    """What ``audio devices`` shows: sound ``cards``, the ``problem`` if none could be
    listed, the default input and output indices."""

    cards: list[CardDevice] = field(default_factory=list)
    problem: str = ""
    default_input: int | None = None
    default_output: int | None = None


def list_devices() -> DeviceList:
    try:
        sd = load_sounddevice()
    except AudioError as e:
        return DeviceList(problem=str(e))
    try:
        raw: Any = sd.query_devices()
        apis: Any = sd.query_hostapis()
    except Exception as e:  # PortAudio errors are plain exceptions
        return DeviceList(problem=f"PortAudio could not list devices ({e})")
    cards = [
        CardDevice(i, str(d["name"]), str(apis[d["hostapi"]]["name"]), int(d["max_input_channels"]),
                   int(d["max_output_channels"]), float(d["default_samplerate"]))
        for i, d in enumerate(raw)
    ]
    out = DeviceList(cards=cards)
    if not cards:
        out.problem = "no sound card found (PortAudio lists no devices)"
        return out
    try:
        di, do = sd.default.device
        out.default_input = int(di) if di is not None and int(di) >= 0 else None
        out.default_output = int(do) if do is not None and int(do) >= 0 else None
    except Exception:
        pass
    return out


def _find_card(spec: str, want_input: bool) -> int | None:
    devs = list_devices()
    kind = "input" if want_input else "output"
    if not devs.cards:
        raise AudioError(f"{devs.problem or 'no sound card found'}; use a WAV file device, e.g. file:speech.wav")
    usable = [c for c in devs.cards if (c.max_input if want_input else c.max_output) > 0]
    if spec in ("", "default"):
        if not usable:
            raise AudioError(f"no {kind} device found; use a WAV file device, e.g. file:out.wav")
        return None
    if spec.isdigit():
        idx = int(spec)
        if any(c.index == idx for c in usable):
            return idx
        raise AudioError(f"no {kind} device with index {idx} (see 'vrdiplomacy audio devices')")
    hits = [c for c in usable if spec.lower() in c.name.lower()]
    if not hits:
        raise AudioError(f"no {kind} device matching '{spec}' (see 'vrdiplomacy audio devices')")
    return hits[0].index


class CardInput:
    """Microphone through PortAudio, 48 kHz mono float32, blocking reads."""

    def __init__(self, spec: str = "default", fs: int = FS, block: int = 480) -> None:
        sd = load_sounddevice()
        idx = _find_card(spec, True)
        try:
            self._st = sd.InputStream(samplerate=fs, channels=1, dtype="float32", blocksize=block,
                                      device=idx, latency="low")
            self._st.start()
        except Exception as e:
            raise AudioError(f"cannot open input device '{spec}': {e}") from None
        self.name = spec
        self.fs = fs
        self.overflows = 0

    def read(self, n: int) -> F32 | None:
        data, overflowed = self._st.read(n)
        self.overflows += int(bool(overflowed))
        return np.asarray(data, dtype=np.float32).reshape(-1)

    def close(self) -> None:
        self._st.stop()
        self._st.close()


class CardOutput:
    """Loudspeakers/headphones through PortAudio, 48 kHz stereo float32, blocking writes."""

    def __init__(self, spec: str = "default", fs: int = FS, channels: int = 2, block: int = 480) -> None:
        sd = load_sounddevice()
        idx = _find_card(spec, False)
        try:
            self._st = sd.OutputStream(samplerate=fs, channels=channels, dtype="float32", blocksize=block,
                                       device=idx, latency="low")
            self._st.start()
        except Exception as e:
            raise AudioError(f"cannot open output device '{spec}': {e}") from None
        self.name = spec
        self.fs = fs
        self.channels = channels
        self.underflows = 0

    def write(self, block: npt.ArrayLike) -> None:
        x = np.ascontiguousarray(block, dtype=np.float32)
        if x.ndim == 1:
            x = np.repeat(x[:, None], self.channels, axis=1)
        self.underflows += int(bool(self._st.write(x)))

    def close(self) -> None:
        self._st.stop()
        self._st.close()


def open_input(spec: str, fs: int = FS, loop: bool = False) -> InputDevice:
    """Open ``file:PATH.wav`` or a sound card input (``default``, index, part of a name)."""
    if spec.startswith(FILE_PREFIX):
        path = spec[len(FILE_PREFIX):]
        if not path:
            raise ConfigError("file: device needs a path, e.g. file:speech.wav")
        return WavInput(path, fs, loop=loop)
    return CardInput(spec, fs)


def open_output(spec: str, fs: int = FS, channels: int = 2) -> OutputDevice:
    """Open ``file:PATH.wav`` or a sound card output (``default``, index, part of a name)."""
    if spec.startswith(FILE_PREFIX):
        path = spec[len(FILE_PREFIX):]
        if not path:
            raise ConfigError("file: device needs a path, e.g. file:out.wav")
        return WavOutput(path, fs, channels)
    return CardOutput(spec, fs, channels)
