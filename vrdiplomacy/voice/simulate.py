"""Simulated voice path for measurements: sender -> simulated network -> receiver.

Runs in simulated time, block by block, as a real client would: the microphone delivers
a block at the end of its capture time; packets cross a :class:`NetSim`; the receiver
plays a block out at the same instant. The received audio is put on the input's time
axis, the mouth-to-ear delay is found by cross-correlation, and the output is time-aligned
with the input. Receiver reports drive the sender's plan (loss hint, redundant copies)
every ``report_s``.
"""

from __future__ import annotations

import glob
import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import AssetError
from vrdiplomacy.voice.devices import read_wav
from vrdiplomacy.voice.netsim import NetSim, NetSimSettings
from vrdiplomacy.voice.receiver import ReceiverSettings, VoiceReceiver
from vrdiplomacy.voice.sender import SenderSettings, VoiceSender

F32 = npt.NDArray[np.float32]
FS = 48000
ALSA_SOUNDS = "/usr/share/sounds/alsa"


def alsa_speech(max_files: int = 8) -> F32:
    """Real recorded speech: Debian alsa-utils' channel announcements, concatenated
    (Front_Center, Front_Left, ... without Noise.wav), 48 kHz mono."""
    files = sorted(f for f in glob.glob(f"{ALSA_SOUNDS}/*.wav") if "Noise" not in f)[:max_files]
    if not files:
        raise AssetError(f"no speech recordings in {ALSA_SOUNDS} (Debian: apt install alsa-utils)")
    return np.concatenate([read_wav(f) for f in files]).astype(np.float32)


def delay_by_xcorr(ref: npt.ArrayLike, out: npt.ArrayLike, max_lag: int) -> int:
    """Lag (samples, 0..max_lag) at which ``out`` best matches ``ref``."""
    from scipy.signal import correlate

    r = np.asarray(ref, dtype=np.float64)
    o = np.asarray(out, dtype=np.float64)
    c = correlate(o, r, mode="full", method="fft")
    zero = r.size - 1
    seg = c[zero : zero + max_lag + 1]
    return int(np.argmax(seg))


def pesq_wb(ref: npt.ArrayLike, deg: npt.ArrayLike, fs: int = FS) -> float | None:
    """PESQ-WB (ITU-T P.862.2) at 16 kHz, or None when the pesq package is not installed."""
    try:
        from pesq import pesq
    except ImportError:
        return None
    from scipy.signal import resample_poly

    g = math.gcd(fs, 16000)
    r = resample_poly(np.asarray(ref, dtype=np.float64), 16000 // g, fs // g)
    d = resample_poly(np.asarray(deg, dtype=np.float64), 16000 // g, fs // g)
    n = min(r.size, d.size)
    return float(pesq(16000, r[:n], d[:n], "wb"))


@dataclass
class SimResult:
    """Outcome of a simulated run: ``output`` time-aligned with the input; ``latency_ms``
    mouth-to-ear (cross-correlation); packet counters; jitter-buffer delay figures."""

    output: F32
    latency_ms: float
    sent: int
    network_lost: int
    late: int
    fec: int
    plc: int
    recovered: int
    waited: int
    accelerated_ms: float
    expanded_ms: float
    buffer_mean_ms: float
    buffer_p95_ms: float
    expected_loss_perc: int
    sent_bytes: int
    red_bytes: int
    copies: tuple[int, ...]
    counters: dict[str, int] = field(default_factory=dict)

    @property
    def lost(self) -> int:
        """Frames that never played from their own packet (network loss plus late)."""
        return self.network_lost + self.late


def run(
    pcm: npt.ArrayLike,
    sender: SenderSettings | None = None,
    net: NetSimSettings | None = None,
    seed: int = 0,
    receiver: ReceiverSettings | None = None,
    block: int = 480,
    report_s: float = 0.5,
) -> SimResult:
    x = np.asarray(pcm, dtype=np.float32).reshape(-1)
    snd = VoiceSender(1, sender)
    rcv = VoiceReceiver(receiver)
    sim = NetSim(net, seed)
    tail = int(0.5 * FS) + int(sim.s.base_s * FS) + int(4 * sim.s.jitter_ms / 1000 * FS)
    nblocks = int(math.ceil((x.size + tail) / block))
    out = np.zeros((nblocks + 1) * block, dtype=np.float32)
    next_report = report_s
    for k in range(nblocks):
        t = (k + 1) * block / FS
        blk = x[k * block : (k + 1) * block]
        if blk.size < block:
            blk = np.concatenate([blk, np.zeros(block - blk.size, dtype=np.float32)])
        for pkt in snd.capture(blk):
            sim.send(bytes(pkt), t)
        for arrival, data in sim.receive(t):
            rcv.receive(data, arrival)
        blocks = rcv.pull(t, block)
        if blocks:
            out[(k + 1) * block : (k + 2) * block] = sum(blocks.values())
        if t >= next_report and 1 in rcv.speakers():
            snd.on_report(rcv.report(1), 2, t)
            next_report += report_s
    lag = delay_by_xcorr(x, out, int(0.6 * FS) + int(sim.s.base_s * FS) + int(4 * sim.s.jitter_ms / 1000 * FS))
    aligned = out[lag : lag + x.size]
    if aligned.size < x.size:
        aligned = np.concatenate([aligned, np.zeros(x.size - aligned.size, dtype=np.float32)])
    st = rcv.jitter_buffer(1).stats if 1 in rcv.speakers() else None
    buf = np.array(st.buffer_ms) if st and st.buffer_ms else np.zeros(1)
    enc_loss = getattr(snd.encoder, "expected_loss_perc", int(round(snd.expected_loss * 100)))
    return SimResult(
        output=aligned.astype(np.float32),
        latency_ms=lag / FS * 1000.0,
        sent=snd.sent,
        network_lost=sim.stats.lost,
        late=st.late if st else 0,
        fec=st.fec if st else 0,
        plc=st.plc if st else 0,
        recovered=st.recovered if st else 0,
        waited=st.waited if st else 0,
        accelerated_ms=rcv.counters.accelerated / FS * 1e3,
        expanded_ms=rcv.counters.expanded / FS * 1e3,
        buffer_mean_ms=float(buf.mean()),
        buffer_p95_ms=float(np.percentile(buf, 95)),
        expected_loss_perc=int(enc_loss),
        sent_bytes=snd.sent_bytes,
        red_bytes=snd.red_bytes,
        copies=snd.copies,
        counters={"malformed": rcv.counters.malformed, "undecodable": rcv.counters.undecodable},
    )
