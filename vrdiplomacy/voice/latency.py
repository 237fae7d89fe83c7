"""Mouth-to-ear latency with the sound card counted (sans-I/O, simulated clock).

:func:`window_lags` finds the delay of a played signal behind the spoken one in every
0.5 s window of speech (cross-correlation), so a run gives a distribution, not one figure.
:func:`mouth_to_ear` runs the client's voice chain on file devices behind a
:class:`~vrdiplomacy.voice.devices.CardModel`: 10 ms capture callbacks into the
:class:`~vrdiplomacy.voice.sender.VoiceSender`, packets straight to the
:class:`~vrdiplomacy.voice.receiver.VoiceReceiver` (a clean link of ``network_ms``), 10 ms
playback callbacks into the output file. ``tools/bench/voice_latency_udp.py`` does the same
in real time over UDP.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import numpy.typing as npt

from vrdiplomacy.voice.devices import CardModel, CardModelInput, CardModelOutput, WavInput, WavOutput, read_wav, write_wav
from vrdiplomacy.voice.receiver import VoiceReceiver
from vrdiplomacy.voice.sender import SenderSettings, VoiceSender

FS = 48000
CALLBACK = 480  # 10 ms


def window_lags(spoken: npt.ArrayLike, played: npt.ArrayLike, win: int = FS // 2, max_lag: int = int(0.4 * FS)) -> list[float]:
    """Delay (ms) of ``played`` behind ``spoken`` in every window of ``spoken`` with speech
    (RMS above -40 dBFS) where the match is clear (normalised correlation above 0.3)."""
    from scipy.signal import correlate

    x = np.asarray(spoken, dtype=np.float64)
    y = np.asarray(played, dtype=np.float64)
    lags = []
    for s in range(0, x.size - win - max_lag, win):
        a = x[s:s + win]
        if np.sqrt(np.mean(a**2)) < 0.01:
            continue
        b = y[s:s + win + max_lag]
        if b.size < win + max_lag:
            break
        c = correlate(b, a, mode="valid", method="fft")
        k = int(np.argmax(c))
        if c[k] <= 0.3 * np.sqrt(np.dot(a, a) * np.dot(b[k:k + win], b[k:k + win])):
            continue
        lags.append(1000.0 * k / FS)
    return lags


def mouth_to_ear(spoken: npt.ArrayLike, sender: SenderSettings | None = None, card: CardModel | None = None,
                 network_ms: float = 10.0) -> list[float]:
    """Per-window mouth-to-ear delays (ms) of ``spoken`` through the voice chain and ``card``
    (None: no card model) over a clean link of ``network_ms``."""
    x = np.asarray(spoken, dtype=np.float32).reshape(-1)
    snd = VoiceSender(1, sender)
    rcv = VoiceReceiver()
    net = network_ms / 1000.0
    in_flight: list[tuple[float, bytes]] = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        write_wav(tmp / "mouth.wav", x)
        mic = WavInput(tmp / "mouth.wav")
        ear = WavOutput(tmp / "ear.wav", channels=1)
        mic_dev = CardModelInput(mic, card) if card else mic
        ear_dev = CardModelOutput(ear, card) if card else ear
        ear.write(np.zeros(CALLBACK, np.float32))  # the first callback's block starts one block in
        try:
            for k in range(x.size // CALLBACK + int(0.5 * FS / CALLBACK)):
                t = (k + 1) * CALLBACK / FS
                block = mic_dev.read(CALLBACK)
                for pkt in snd.capture(np.zeros(CALLBACK, np.float32) if block is None else block):
                    in_flight.append((t + net, bytes(pkt)))
                while in_flight and in_flight[0][0] <= t + 1e-9:
                    rcv.receive(in_flight.pop(0)[1], t)
                voices = rcv.pull(t, CALLBACK)
                ear_dev.write(sum(voices.values()) if voices else np.zeros(CALLBACK, np.float32))
        finally:
            ear_dev.close()
            mic_dev.close()
        played = read_wav(tmp / "ear.wav")
    return window_lags(x, played)
