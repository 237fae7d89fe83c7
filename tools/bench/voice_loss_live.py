#!/usr/bin/env python3
"""PESQ-WB of speech received in a live session over a real relay with loss injected by
tools/faultproxy.py, beside plain libopus at the same loss (tools/bench/voice_loss_live.py).

    .venv/bin/python tools/bench/voice_loss_live.py [--seeds 1 2] [--set tune|held-out|both] [--quick]

Setup per condition: an in-process relay (EmbeddedRelay, TLS + UDP on 127.0.0.1), a
FaultProxy on 127.0.0.2 with the relay's port numbers, two DelegateSessions that connect
through it (the same code ``vrdiplomacy join`` runs): a speaker whose microphone is the
speech clip, and a listener that hears it. Impairments apply to the uplink (client to
relay) only, so the speaker's voice crosses exactly one lossy hop; the listener's loss
reports travel as room events (TCP: loss does not apply to it, jitter and delay do).
The listener's decoded voice is tapped before spatialization (ListenerMix.on_voice),
aligned with the source by cross-correlation, resampled to 16 kHz and scored with
PESQ-WB (pesq package, ITU-T P.862.2).

Stalls: the machine running the bench may starve the process (the event loop then wakes
late and audio ticks come in bursts, which looks like network jitter to the jitter
buffer); each run counts its event-loop wake-ups later than 30 ms ("stalls", per seed in
the table) so a score hit by the machine rather than by the network shows as such.

The clip plays twice: the first pass lets the listener measure the loss and the
speaker's plan settle (about 1 s of speech); both passes are scored, the table's main
figure is the second ("warm"). Speech: Debian alsa-utils' recordings; the tuning set is
Front_Center, Front_Left, Front_Right and Rear_Center, the held-out set (never used while
tuning) Rear_Left, Rear_Right, Side_Left and Side_Right, with other network seeds.

"plain libopus": the same clip, the same encoder settings (32 kb/s VBR, wideband,
complexity 9, 20 ms) with in-band FEC and the loss hint set to the true loss, sent
continuously through the same loss model (faultproxy's Direction); a lost frame is
decoded from the next packet's FEC when that arrived, else concealed (Opus PLC).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, AsyncIterator

import numpy as np
import numpy.typing as npt

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from vrdiplomacy.net.relay_server import EmbeddedRelay  # noqa: E402
from vrdiplomacy.scene.layout import load_layout  # noqa: E402
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings  # noqa: E402
from vrdiplomacy.voice.codec import OpusDecoder, OpusEncoder, OpusSettings  # noqa: E402
from vrdiplomacy.voice.devices import read_wav  # noqa: E402
from vrdiplomacy.voice.simulate import delay_by_xcorr, pesq_wb  # noqa: E402

F32 = npt.NDArray[np.float32]
FS = 48000
ALSA = Path("/usr/share/sounds/alsa")
TUNE = ("Front_Center", "Front_Left", "Front_Right", "Rear_Center")
HELD_OUT = ("Rear_Left", "Rear_Right", "Side_Left", "Side_Right")
# label, loss, mean burst, jitter sigma (s), target
CONDITIONS = [
    ("0 %", 0.0, 1.0, 0.0, 4.3),
    ("5 % random", 0.05, 1.0, 0.0, 3.9),
    ("10 % random", 0.10, 1.0, 0.0, 3.5),
    ("20 % random", 0.20, 1.0, 0.0, 3.0),
    ("10 %, bursts of 3", 0.10, 3.0, 0.0, 3.0),
    ("20 ms jitter, no loss", 0.0, 1.0, 0.020, 4.0),
]


def _faultproxy() -> ModuleType:
    """``tools/faultproxy.py`` (a script, not part of the package), imported from the tools folder."""
    if str(ROOT / "tools") not in sys.path:
        sys.path.insert(0, str(ROOT / "tools"))
    return importlib.import_module("faultproxy")


def speech(names: tuple[str, ...]) -> F32:
    """The named alsa-utils recordings, concatenated (48 kHz mono)."""
    return np.concatenate([read_wav(ALSA / f"{n}.wav") for n in names]).astype(np.float32)


class ArrayInput:
    """A microphone that plays an array once, then ends."""

    def __init__(self, data: F32) -> None:
        self.data = data
        self.pos = 0

    def read(self, n: int) -> F32 | None:
        if self.pos >= self.data.size:
            return None
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        if out.size < n:
            out = np.concatenate([out, np.zeros(n - out.size, dtype=np.float32)])
        return out.copy()

    def close(self) -> None:
        self.pos = self.data.size


@dataclass
class LiveResult:
    """PESQ-WB of the cold (first) and warm (second) pass, and what the path did."""

    cold: float
    warm: float
    stats: dict[str, float]


STALL_S = 0.03  # the event loop woke this much later than asked: the machine stalled the process


async def _watch_loop(lags: list[float]) -> None:
    """Record how late the event loop wakes from 5 ms sleeps (CPU starvation shows here)."""
    loop = asyncio.get_running_loop()
    while True:
        t = loop.time()
        await asyncio.sleep(0.005)
        lags.append(max(0.0, loop.time() - t - 0.005))


def _score(ref: F32, out: F32, max_lag: int) -> float:
    lag = delay_by_xcorr(ref, out, max_lag)
    seg = out[lag : lag + ref.size]
    if seg.size < ref.size:
        seg = np.concatenate([seg, np.zeros(ref.size - seg.size, dtype=np.float32)])
    s = pesq_wb(ref, seg)
    if s is None:
        raise RuntimeError("the pesq package is not installed: pip install pesq")
    return s


async def _live(clip: F32, loss: float, burst: float, jitter: float, seed: int,
                settle: float) -> tuple[F32, dict[str, float]]:
    for attempt in range(5):
        try:
            return await _live_once(clip, loss, burst, jitter, seed, settle)
        except _PortTaken:
            continue  # another program holds 127.0.0.2 at the relay's ephemeral port: new relay
    raise RuntimeError("could not find a relay port whose twin on 127.0.0.2 is free")


class _PortTaken(Exception):
    pass


@contextlib.asynccontextmanager
async def _closing(proxy: Any) -> AsyncIterator[Any]:
    try:
        yield proxy
    finally:
        await proxy.close()


async def _live_once(clip: F32, loss: float, burst: float, jitter: float, seed: int,
                     settle: float) -> tuple[F32, dict[str, float]]:
    fp = _faultproxy()
    layout = load_layout("chamber")
    seats = layout.seats
    a_seat, b_seat = seats[0], seats[1]
    src = np.concatenate([clip, clip])
    heard: list[tuple[float, F32]] = []
    async with EmbeddedRelay(layouts={layout.scene: layout}, default_layout=layout) as relay:
        up = fp.Faults(loss=loss, burst=burst, jitter=jitter)
        proxy = fp.FaultProxy((relay.host, relay.port), up=up, down=fp.Faults(), seed=seed)
        try:
            await proxy.start()
        except OSError as e:
            await proxy.close()
            raise _PortTaken() from e
        async with _closing(proxy):
            host, port = proxy.listen
            b = DelegateSession(host, port, relay.fingerprint, SessionSettings("listener", b_seat.seat_id), layout,
                                HeldPose(b_seat.eye_pose()), None, None)
            a = DelegateSession(host, port, relay.fingerprint,
                                SessionSettings("speaker", a_seat.seat_id, hear=False), layout,
                                HeldPose(a_seat.eye_pose()), None, None)
            await b.start()
            assert b.mix is not None
            b.mix.on_voice = lambda spk, now, mono: heard.append((now, mono.copy()))
            await a.start()
            lags: list[float] = []
            watch = asyncio.create_task(_watch_loop(lags))
            await asyncio.sleep(settle)  # both are in the room, and past their start-up work, before the first word
            a.mic = ArrayInput(src)
            a.mic_ended = False
            await asyncio.sleep(src.size / FS + 0.8)
            watch.cancel()
            await a.stop()
            await b.stop()
            rcv = b.mix.receiver
            jb = rcv.jitter_buffer(rcv.speakers()[0]) if rcv.speakers() else None
            snd = a.sender
            assert snd is not None
            stats = {
                "sent": float(snd.sent), "kbps": snd.sent_bytes * 8 / max(1e-9, snd.sent * 0.02) / 1000,
                "copies": float(len(snd.copies)), "reports": float(b.mix.counters.reports_sent),
                "applied": float(a.stats.loss_reports.get("applied", 0)),
                "dropped": float(proxy.stats()["up"]["dropped"]),
                "late_blocks": float(b.stats.late_blocks + a.stats.late_blocks),
                "stall_ms": max(lags, default=0.0) * 1e3,
                "stalls": float(sum(1 for v in lags if v > STALL_S)),
            }
            if jb is not None:
                st = jb.stats
                stats.update(recovered=st.recovered, fec=st.fec, plc=st.plc, late=st.late, waited=st.waited,
                             buffer_ms=float(np.median(st.buffer_ms)) if st.buffer_ms else 0.0,
                             accelerated_ms=rcv.counters.accelerated / FS * 1e3,
                             expanded_ms=rcv.counters.expanded / FS * 1e3)
    if not heard:
        return np.zeros(src.size, dtype=np.float32), stats
    t_end = max(t for t, _ in heard)
    out = np.zeros(int(math.ceil(t_end * FS)) + 2 * FS, dtype=np.float32)
    for t, mono in heard:
        i = int(round(t * FS))
        out[i : i + mono.size] += mono
    return out, stats


def live(clip: F32, loss: float, burst: float, jitter: float, seed: int, settle: float = 1.5) -> LiveResult:
    """One live session: the clip twice through relay and proxy; PESQ-WB of both passes.
    ``settle``: seconds both delegates sit in the room before the speaker starts."""
    out, stats = asyncio.run(_live(clip, loss, burst, jitter, seed, settle))
    # the speaker's microphone starts about ``settle`` s after the listener's clock; find the clip
    src = np.concatenate([clip, clip])
    lag = delay_by_xcorr(src, out, min(out.size - 1, int((settle + 2.5) * FS)))
    got = out[lag:]
    cold = _score(clip, got[: clip.size + FS // 2], FS // 2)
    warm = _score(clip, got[clip.size - FS // 4 :], FS // 2)
    stats["m2e_ms"] = float("nan")
    return LiveResult(cold, warm, stats)


def warm_up() -> None:
    """One short session first: a process's first session pays for one-time work (library
    loading, first decodes and renders) that stalls its event loop; a client pays it once."""
    live(speech(("Front_Center",)), 0.05, 1.0, 0.0, 0, settle=0.5)


def plain_opus(clip: F32, loss: float, burst: float, seed: int) -> float:
    """PESQ-WB of plain libopus (FEC at the true loss hint, PLC otherwise) at the same loss."""
    fp = _faultproxy()
    d = fp.Direction(fp.Faults(loss=loss, burst=burst), seed * 2 + 1)
    enc = OpusEncoder(OpusSettings(expected_loss=loss, dtx=False))
    dec = OpusDecoder()
    n = enc.frame_samples
    x = np.concatenate([clip, np.zeros(-clip.size % n + n, dtype=np.float32)])
    pkts = [enc.encode(x[i : i + n]) for i in range(0, x.size, n)]
    arrived = [d.datagram_delay() is not None for _ in pkts]
    out = []
    for k, p in enumerate(pkts):
        if arrived[k]:
            out.append(dec.decode(p, n))
        elif k + 1 < len(pkts) and arrived[k + 1]:
            out.append(dec.decode(pkts[k + 1], n, fec=True))
        else:
            out.append(dec.decode(None, n))
    y = np.concatenate(out)
    return _score(clip, y, FS // 10)


def cpu_per_frame(clip: F32, frames: int = 500) -> dict[str, float]:
    """Thread CPU time per 20 ms frame (microseconds): the sender without and with three
    copies, the receiver (parse, jitter buffer, decode) without and with copies, and one
    WSOLA accelerate / expand of a decoded speech frame."""
    from vrdiplomacy.voice.feedback import Plan
    from vrdiplomacy.voice.receiver import VoiceReceiver
    from vrdiplomacy.voice.sender import SenderSettings, VoiceSender
    from vrdiplomacy.voice.stretch import accelerate, expand

    n = 960
    x = np.concatenate([clip] * (frames * n // clip.size + 1))[: frames * n]
    out: dict[str, float] = {}
    for label, copies in (("plain", ()), ("3 copies", (1, 2, 3))):
        snd = VoiceSender(1, SenderSettings(opus=OpusSettings(dtx=False), transmit="continuous"))
        snd.apply(Plan(0.0, copies))
        t0 = time.thread_time()
        pkts = [bytes(p) for i in range(frames) for p in snd.capture(x[i * n : (i + 1) * n])]
        out[f"send, {label}"] = (time.thread_time() - t0) / frames * 1e6
        rcv = VoiceReceiver()
        t0 = time.thread_time()
        for i, p in enumerate(pkts):
            if i % 10 != 3:  # 10 % loss: copies (when there) fill in
                rcv.receive(p, i * 0.02 + 0.001)
            rcv.pull(i * 0.02 - 0.06, n)
        out[f"receive, {label}"] = (time.thread_time() - t0) / len(pkts) * 1e6
    frames_pcm = [x[i * n : (i + 1) * n] for i in range(0, frames, 5)]
    t0 = time.thread_time()
    for f in frames_pcm:
        accelerate(f)
        expand(f)
    out["accelerate + expand"] = (time.thread_time() - t0) / len(frames_pcm) * 1e6
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=None)
    ap.add_argument("--set", choices=("tune", "held-out", "both"), default="both")
    ap.add_argument("--conditions", type=int, nargs="+", default=None, help="indices into the table (0..5)")
    ap.add_argument("--cpu", action="store_true", help="only measure CPU time per frame")
    a = ap.parse_args()
    if a.cpu:
        for k, v in cpu_per_frame(speech(TUNE)).items():
            print(f"{k:24s} {v:7.0f} us per 20 ms frame")
        return 0
    sets = {"tune": (TUNE, a.seeds or [1, 2]), "held-out": (HELD_OUT, a.seeds or [11, 12])}
    chosen = ["tune", "held-out"] if a.set == "both" else [a.set]
    conds = [CONDITIONS[i] for i in a.conditions] if a.conditions else CONDITIONS
    ok = True
    warm_up()
    for name in chosen:
        files, seeds = sets[name]
        clip = speech(files)
        print(f"\n{name} set: {', '.join(files)} ({clip.size / FS:.1f} s, played twice), seeds {seeds}")
        print(f"{'condition':24s} {'per seed (stalls)':>22s} {'live warm':>9s} {'cold':>6s} {'libopus':>8s} {'target':>7s} {'kb/s':>5s} "
              f"{'copies':>6s} {'rec':>4s} {'fec':>4s} {'plc':>4s} {'late':>4s} {'buf ms':>6s} {'-/+ ms':>9s}")
        for label, loss, burst, jitter, target in conds:
            t0 = time.perf_counter()
            res = [live(clip, loss, burst, jitter, s) for s in seeds]
            ref = [plain_opus(clip, loss, burst, s) for s in seeds]
            warm = float(np.mean([r.warm for r in res]))
            cold = float(np.mean([r.cold for r in res]))
            st = res[-1].stats
            mark = "" if warm >= target else " MISS"
            ok &= warm >= target
            per = " ".join(f"{r.warm:.2f}({r.stats['stalls']:.0f})" for r in res)
            print(f"{label:24s} {per:>22s} {warm:9.2f} {cold:6.2f} {np.mean(ref):8.2f} {'>=' + format(target, '.1f') + mark:>7s} "
                  f"{st['kbps']:5.0f} {st['copies']:6.0f} {st.get('recovered', 0):4.0f} {st.get('fec', 0):4.0f} "
                  f"{st.get('plc', 0):4.0f} {st.get('late', 0):4.0f} {st.get('buffer_ms', 0):6.0f} "
                  f"{st.get('accelerated_ms', 0):4.0f}/{st.get('expanded_ms', 0):<4.0f}"
                  f"  ({time.perf_counter() - t0:.0f} s)", flush=True)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
