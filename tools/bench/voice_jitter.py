#!/usr/bin/env python3
"""Speech quality and delay under jitter, in simulation (tools/bench/voice_jitter.py).

    .venv/bin/python tools/bench/voice_jitter.py [--seeds 1-20] [--jitter-ms 20]
        [--set tuning|held-out|both] [--set-jitter percentile=98 window=250 ...]

Each run sends two recordings (played twice) through the full sender -> simulated network
(:mod:`vrdiplomacy.voice.netsim`: normally distributed extra delay clipped at zero, as
``tools/faultproxy.py`` adds it) -> jitter buffer -> decoder path
(:mod:`vrdiplomacy.voice.simulate`), with loss reports driving the sender, and scores the
second pass (the buffer has seen the link for one pass; the live test
``tests/voice/test_loss_live.py`` scores the same pass) with PESQ-WB. It also counts, in the
second pass, the events a listener hears: packets late for their playout, and stretched
speech frames (quieter than -60 dBov frames are pauses and not counted).

The tuning set is the pair the live test uses (Front_Left + Rear_Center); the held-out pair
(Front_Right + Side_Left) and seeds past 20 were not used to choose the defaults.
``--set-jitter`` overrides :class:`~vrdiplomacy.voice.jitter.JitterSettings` fields, so a
change can be compared with the defaults in one sitting.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vrdiplomacy.voice import jitter, simulate  # noqa: E402
from vrdiplomacy.voice.devices import read_wav  # noqa: E402
from vrdiplomacy.voice.netsim import NetSimSettings  # noqa: E402
from vrdiplomacy.voice.receiver import ReceiverSettings  # noqa: E402

ALSA = Path("/usr/share/sounds/alsa")
SETS = {"tuning": ("Front_Left", "Rear_Center"), "held-out": ("Front_Right", "Side_Left")}
FS = 48000
PAUSE_LEVEL = 60  # -dBov: frames at least this quiet are pauses


class Events:
    """Counts late packets and stretched speech frames, with their times, by wrapping one
    jitter buffer class's methods for the length of a run."""

    def __init__(self) -> None:
        self.log: list[tuple[float, str]] = []
        self._pop = jitter.JitterBuffer.pop
        self._push = jitter.JitterBuffer.push

    def __enter__(self) -> Events:
        ev, pop, push = self, self._pop, self._push

        def counted_pop(jb: jitter.JitterBuffer, t: float, lead: float = 0.0, block: float | None = None) -> jitter.Playout | None:
            e = jb._buf.get(jb.next_ts)
            level = e.packet.level if e is not None else None
            p = pop(jb, t, lead, block)
            if p is not None and p.stretch and level is not None and level < PAUSE_LEVEL:
                ev.log.append((t, p.stretch))
            return p

        def counted_push(jb: jitter.JitterBuffer, packet: Any, samples: int, now: float) -> str:
            r = push(jb, packet, samples, now)
            if r == "late":
                ev.log.append((now, "late"))
            return r

        jitter.JitterBuffer.pop = counted_pop  # type: ignore[method-assign]
        jitter.JitterBuffer.push = counted_push  # type: ignore[method-assign]
        return self

    def __exit__(self, *exc: object) -> None:
        jitter.JitterBuffer.pop = self._pop  # type: ignore[method-assign]
        jitter.JitterBuffer.push = self._push  # type: ignore[method-assign]


def second_pass_score(clip: np.ndarray, out: np.ndarray) -> float:
    """PESQ-WB of the second pass, found by cross-correlation from a quarter second early."""
    seg = out[clip.size - FS // 4 :]
    lag = simulate.delay_by_xcorr(clip, seg, FS // 2)
    seg = seg[lag : lag + clip.size]
    seg = np.concatenate([seg, np.zeros(clip.size - seg.size, dtype=np.float32)])
    s = simulate.pesq_wb(clip, seg)
    if s is None:
        raise SystemExit("the pesq package is not installed: pip install pesq")
    return s


def _override(pairs: list[str]) -> dict[str, Any]:
    fields = {f.name: f.type for f in dataclasses.fields(jitter.JitterSettings)}
    out: dict[str, Any] = {}
    for p in pairs:
        name, _, value = p.partition("=")
        if name not in fields:
            raise SystemExit(f"--set-jitter: no field {name!r} (fields: {', '.join(fields)})")
        kind = str(fields[name])
        out[name] = value.lower() in ("1", "true", "yes") if kind == "bool" else int(value) if kind == "int" else float(value)
    return out


def _seeds(text: str) -> list[int]:
    lo, _, hi = text.partition("-")
    return list(range(int(lo), int(hi or lo) + 1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", default="1-20", help="network seeds, FIRST-LAST (default 1-20)")
    ap.add_argument("--jitter-ms", type=float, default=20.0, help="delay standard deviation (default 20)")
    ap.add_argument("--set", choices=("tuning", "held-out", "both"), default="both")
    ap.add_argument("--set-jitter", nargs="*", default=[], metavar="FIELD=VALUE",
                    help="override jitter buffer settings (e.g. percentile=98 window=250)")
    a = ap.parse_args()
    over = _override(a.set_jitter)
    rs = ReceiverSettings()
    rs = dataclasses.replace(rs, jitter=dataclasses.replace(rs.jitter, **over))
    seeds = _seeds(a.seeds)
    names = list(SETS) if a.set == "both" else [a.set]
    print(f"jitter {a.jitter_ms:g} ms (clipped normal), seeds {seeds[0]}-{seeds[-1]}, settings "
          f"{over or 'defaults'}")
    print(f"{'set':9s} {'PESQ mean':>9s} {'min':>5s} {'< 4.0':>5s} {'late/pass':>9s} {'stretch/pass':>12s} {'m2e ms':>7s}")
    for name in names:
        if not all((ALSA / f"{n}.wav").is_file() for n in SETS[name]):
            print(f"{name}: needs alsa-utils' recordings in {ALSA}")
            return 1
        clip = np.concatenate([read_wav(ALSA / f"{n}.wav") for n in SETS[name]]).astype(np.float32)
        x = np.concatenate([clip, clip])
        t_pass = clip.size / FS
        scores, late, stretched, m2e = [], 0, 0, []
        for seed in seeds:
            with Events() as ev:
                r = simulate.run(x, None, NetSimSettings(jitter_ms=a.jitter_ms, base_delay_ms=0.0), seed=seed, receiver=rs)
            scores.append(second_pass_score(clip, r.output))
            second = [k for t, k in ev.log if t_pass - 0.2 < t < 2 * t_pass]
            late += sum(1 for k in second if k == "late")
            stretched += sum(1 for k in second if k != "late")
            m2e.append(r.latency_ms)
        n = len(seeds)
        print(f"{name:9s} {np.mean(scores):9.3f} {min(scores):5.2f} {sum(s < 4.0 for s in scores):5d} "
              f"{late / n:9.2f} {stretched / n:12.2f} {np.mean(m2e):7.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
