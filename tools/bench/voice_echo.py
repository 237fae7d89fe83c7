#!/usr/bin/env python3
"""Echo cancellation figures (tools/bench/voice_echo.py): ERLE table, path change, double talk,
far-end-only frames the transmit gate still sends; for WebRTC AEC3 (through livekit) and
our own canceller, on the tuning material and on the held-out one.

    nice .venv/bin/python tools/bench/voice_echo.py [--backend webrtc builtin] [--quick]
        [--residual-db 0 --no-align]   # AEC3 alone, as on d7a55a9
        [--no-keeper]                  # no linear canceller beside AEC3, as on 5dfeb41
    nice .venv/bin/python tools/bench/voice_echo.py --double-talk   # only the double-talk
        table: near-end frames sent through the sender, PESQ-WB and segmental SNR of what was
        sent, far-end-only frames sent, echo sent after a path change; AEC3 alone vs with the
        keeper (and the residual echo suppressor its filter drives, unless --no-suppressor);
        tuning, held-out and second held-out material (about 6 minutes)
    nice .venv/bin/python tools/bench/voice_echo.py --recovery   # only the same-delay room
        changes (rooms 5-7 on tuning voices, each material's other room; about 10 s)
    ... --double-talk --explained-db 0   # the residual gate's linear evidence from the share
        the linear canceller left alone (as on abdf91c), not checked against its expected residual
    ... --double-talk --sets held-out-3   # the third held-out set (espeak-ng talkers, a 0.6 s
        reverberation, echo paths -4 / +2 dB); also for --recovery
    ... --double-talk --sets tuning tuning-2 held-out held-out-2 held-out-3 held-out-4 [--talk-at 10]
        [--before]   # all six materials (tuning-2: long reverberation, a loud echo; held-out-4: built
        with it, measured once); the near end from 10 s on (a settled echo path); --before: the
        keeper as on main 2f3c005 (no looser trust for a settled filter)
    ... --erle --sets ...   # the ERLE table (delays 10-200 ms, each material's paths and 0 dB)
    ... --no-suppressor   # any table without the per-band residual echo suppressor (as on main c54bfe1)
    ... --mature 0   # the keeper as on main f0920d4: double talk detected on a filter trusted a
        moment ago
    ... --erle --sets held-out-5   # the fifth held-out set (six languages, image-source rooms)
    ... --recovery --mature-change 0.5   # the keeper as on main 74f1de2: after a changed path,
        double talk on a filter trusted again through 0.5 s of far-end sound (not 1.5 s)
    ... --recovery --no-probe   # no probe filter at double-talk onsets (as on main cec504b)
    ... --recovery --no-double-talk   # the keeper's double-talk detection off: on echo alone, what a
        perfect detector gives (with --double-talk: what it costs the talker)

The simulation is :mod:`vrdiplomacy.voice.echosim` (rooms of exponentially decaying noise,
Debian alsa-utils voices). ``--quick`` measures fewer delays.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from vrdiplomacy.voice import echosim as es  # noqa: E402
from vrdiplomacy.voice.apm import webrtc_available  # noqa: E402

SETS = es.SETS


def fmt(v: float | None, nd: int = 1) -> str:
    if v is None:
        return "-"
    if math.isinf(v):
        return ">5"
    return f"{v:.{nd}f}"


def override(change: Callable[[es.AecSettings], es.AecSettings]) -> None:
    """Every chain measured below gets its settings through ``change`` (after earlier overrides)."""
    base = es.settings

    def changed(*a: Any, **k: Any) -> es.AecSettings:
        return change(base(*a, **k))
    es.settings = changed  # type: ignore[assignment]


def linear(s: es.AecSettings, **fields: Any) -> es.AecSettings:
    """``s`` with its keeper's :class:`LinearSettings` ``fields`` replaced."""
    return dataclasses.replace(s, linear=dataclasses.replace(s.linear, **fields))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--backend", nargs="+", default=["webrtc", "builtin"], choices=("webrtc", "builtin"))
    ap.add_argument("--quick", action="store_true", help="delays 10, 100, 200 ms only")
    ap.add_argument("--residual-db", type=float, default=None,
                    help="residual echo gate target after AEC3 (0: off, as before; default: AecSettings')")
    ap.add_argument("--no-align", action="store_true", help="no delay alignment before AEC3 (as before)")
    ap.add_argument("--no-keeper", action="store_true", help="no linear canceller beside AEC3 (as on 5dfeb41)")
    ap.add_argument("--double-talk", action="store_true", help="only the double-talk table (keeper off vs on)")
    ap.add_argument("--recovery", action="store_true",
                    help="only the same-delay room changes of the double-talk table (keeper off vs on)")
    ap.add_argument("--sets", nargs="+", default=["tuning", "held-out", "held-out-2"], choices=sorted(SETS),
                    help="materials of the --double-talk and --recovery tables (held-out-3: espeak-ng talkers, "
                         "long-reverb rooms; apt install espeak-ng)")
    ap.add_argument("--erle", action="store_true",
                    help="only the ERLE table of the --sets materials (delays 10-200 ms, their echo paths and 0 dB; "
                         "the chain with the keeper), with its lowest value per material")
    ap.add_argument("--talk-at", type=float, default=4.0,
                    help="--double-talk: the near end starts talking this many seconds into the call (4: while the "
                         "cancellers still converge, as before; 10: on a settled echo path)")
    ap.add_argument("--before", action="store_true",
                    help="the keeper as on main 2f3c005: no looser trust for a settled filter "
                         "(LinearSettings.settled_trust_db = trust_db)")
    ap.add_argument("--no-suppressor", action="store_true",
                    help="no per-band residual echo suppressor after AEC3 and the keeper (AecSettings.suppressor, "
                         "as on main c54bfe1)")
    ap.add_argument("--mature", type=float, default=None,
                    help="LinearSettings.mature_s: double talk only on a filter trusted through this much far-end "
                         "sound (0: as on main f0920d4; default: LinearSettings')")
    ap.add_argument("--mature-change", type=float, default=None,
                    help="LinearSettings.mature_change_s: after a changed echo path, double talk only on a filter "
                         "trusted again through this much far-end sound (0.5: as on main 74f1de2; default: "
                         "LinearSettings')")
    ap.add_argument("--no-probe", action="store_true",
                    help="no probe filter at double-talk onsets (LinearSettings.probe_ms = 0, as on main cec504b)")
    ap.add_argument("--no-double-talk", action="store_true",
                    help="the keeper's double-talk detection off (LinearSettings.dt_ratio_db = 200 dB): on echo alone "
                         "(--erle, --recovery) a perfect detector; with --double-talk, what it would cost the talker")
    ap.add_argument("--explained-db", type=float, default=None,
                    help="AecSettings.residual_explained_db for every chain measured (0: the linear share "
                         "alone, as on abdf91c; default: AecSettings')")
    args = ap.parse_args()
    if args.explained_db is not None:
        override(lambda s: dataclasses.replace(s, residual_explained_db=args.explained_db))
    if args.before:  # no looser trust for a settled filter
        override(lambda s: linear(s, settled_trust_db=s.linear.trust_db))
    if args.no_suppressor:
        override(lambda s: dataclasses.replace(s, suppressor=dataclasses.replace(s.suppressor, enabled=False)))
    if args.mature is not None:
        override(lambda s: linear(s, mature_s=args.mature))
    if args.mature_change is not None:
        override(lambda s: linear(s, mature_change_s=args.mature_change))
    if args.no_probe:
        override(lambda s: linear(s, probe_ms=0.0))
    if args.no_double_talk:
        override(lambda s: linear(s, dt_ratio_db=200.0))
    sets = tuple(SETS[n] for n in args.sets)
    if args.recovery:
        return recovery_table(sets) if webrtc_available() else 1
    if args.erle:
        return erle_table(sets) if webrtc_available() else 1
    if args.double_talk:
        return double_talk_table((10, 100, 200) if args.quick else (10, 50, 100, 200), sets, args.talk_at)
    align = not args.no_align
    keeper = not args.no_keeper
    delays = (10, 100, 200) if args.quick else (10, 50, 100, 150, 200)
    gains = (-10, 0)
    for backend in args.backend:
        if backend == "webrtc" and not webrtc_available():
            print("webrtc: livekit is not installed (pip install livekit); skipped")
            continue
        make = es.factory(backend, args.residual_db, align, keeper)
        for m in (es.TUNING, es.HELD_OUT):
            t0 = time.perf_counter()
            print(f"\n== {backend}, {m.name} material (far: {', '.join(m.far)}; near: {', '.join(m.near)}; "
                  f"room T60 {m.room.t60_s:g} s)")
            print("ERLE dB (after the first second)   " + "  ".join(f"{d:>5d} ms" for d in delays))
            for g in gains:
                row = [es.measure_erle(make, m, d, g) for d in delays]
                print(f"  echo path {g:+3d} dB                " + "  ".join(f"{v:8.1f}" for v in row))
            for nd in (40.0, 120.0):
                first, rec = es.measure_path_change(make, m, new_delay_ms=nd)
                print(f"path change (room, delay 40 -> {nd:.0f} ms): ERLE {fmt(first)} dB in the first second, "
                      f"every later 250 ms window >= 25 dB after {fmt(rec, 2)} s")
            fresh = [es.measure_fresh_convergence(make, m, d) for d in (5.0, 40.0, 120.0)]
            print("a fresh canceller on the new room (as if re-created at the change), delay 5 / 40 / 120 ms: every later "
                  "250 ms window >= 25 dB after " + " / ".join(fmt(v, 2) for v in fresh) + " s")
            dt = es.measure_double_talk(make, m)
            print(f"double talk (near about 3 dB over the echo): output level over near speech {dt.level_db:+.1f} dB, "
                  f"band-envelope correlation with the near speech {dt.env_out:.2f} (microphone {dt.env_mic:.2f}), "
                  f"PESQ-WB {fmt(dt.pesq_out, 2)} (microphone {fmt(dt.pesq_mic, 2)}), ERLE in the 2 s after {dt.erle_after:.1f} dB")
            for g in (-10, 0):
                gf = es.measure_gate(m, backend, gain_db=g, residual_db=args.residual_db, align=align, keeper=keeper)
                print(f"transmit gate, echo path {g:+d} dB: far-end-only frames sent {100 * gf.far_only_sent:.1f} % "
                      f"of {gf.far_only_frames}; near-end speech frames sent {100 * gf.near_sent:.0f} % of {gf.near_frames} "
                      f"({100 * gf.near_kept_sent:.0f} % of the {gf.near_kept_frames} that the canceller let through); "
                      f"not sent: muted by the canceller {gf.lost_canceller}, by the residual gate {gf.lost_gate}, "
                      f"flagged echo {gf.lost_echo_flag}, VAD {gf.lost_vad}; sent signal's band-envelope correlation "
                      f"with the near speech {gf.sent_env:.2f} (microphone {gf.mic_env:.2f})")
            for g in (-10, 0):
                gf = es.measure_gate(m, backend, gain_db=g, change_at_s=6.0, residual_db=args.residual_db, align=align,
                                     keeper=keeper)
                print(f"transmit gate, echo path {g:+d} dB, path change at 6 s (room, delay 80 -> 140 ms): far-end-only "
                      f"frames sent {100 * gf.far_only_sent:.1f} % of {gf.far_only_frames}, "
                      f"{100 * gf.settled_sent:.1f} % from 1 s after the change")
            print(f"CPU per 20 ms frame: {es.cpu_ms_per_frame(make, m):.2f} ms")
            print(f"({time.perf_counter() - t0:.0f} s)")
    return 0


def double_talk_table(delays: tuple[int, ...], sets: tuple[es.Material, ...], talk_at_s: float = 4.0) -> int:
    """Near end talking 3 s into far-end speech, through the real sender (voice activity,
    loudspeakers): per material, echo delay and echo path, the share of near-end speech
    frames sent, PESQ-WB and segmental SNR of what was sent (frames not sent are silence)
    against the clean near speech, and the share of far-end-only frames sent; AEC3 alone
    (as on 5dfeb41) and with the keeper (the default). Then per material and path the
    seconds of far-end-only audio sent in the first second after an echo path change."""
    if not webrtc_available():
        print("webrtc: livekit is not installed (pip install livekit); nothing to measure")
        return 1
    print(f"near end talking from {talk_at_s:g} s into the call")
    print("material  delay  path   near sent %     PESQ-WB sent (mic)     seg SNR dB sent (mic)  far-only sent %")
    print("                        AEC3  +keeper   AEC3  +keeper          AEC3  +keeper          AEC3  +keeper")
    for m in sets:
        for d in delays:
            for g in m.gains:
                a = es.measure_gate(m, "webrtc", delay_ms=d, gain_db=g, keeper=False, talk_at_s=talk_at_s)
                b = es.measure_gate(m, "webrtc", delay_ms=d, gain_db=g, keeper=True, talk_at_s=talk_at_s)
                print(f"{m.name:9s} {d:4d} ms {g:+4.0f} dB  {100 * a.near_sent:4.0f}  {100 * b.near_sent:5.0f}     "
                      f"{fmt(a.sent_pesq, 2):>5s} {fmt(b.sent_pesq, 2):>6s} ({fmt(b.mic_pesq, 2)})   "
                      f"{a.sent_snr:5.1f} {b.sent_snr:6.1f} ({b.mic_snr:4.1f})    "
                      f"{100 * a.far_only_sent:5.1f} {100 * b.far_only_sent:6.1f}", flush=True)
    print("echo path change at 6 s (room, delay 80 -> 140 ms), near end silent: far-end-only audio sent in the first "
          "second after it (s), and far-end-only frames sent from 1 s after it (%)")
    for m in sets:
        for g in m.gains:
            a = es.measure_gate(m, "webrtc", gain_db=g, change_at_s=6.0, keeper=False)
            b = es.measure_gate(m, "webrtc", gain_db=g, change_at_s=6.0, keeper=True)
            print(f"{m.name:9s} path {g:+4.0f} dB: AEC3 {a.change_sent_s:.2f} s / {100 * a.settled_sent:.1f} %, "
                  f"+keeper {b.change_sent_s:.2f} s / {100 * b.settled_sent:.1f} %", flush=True)
    recovery_table(sets)
    for k in (False, True):
        cpu = es.cpu_ms_per_frame(es.factory("webrtc", keeper=k), sets[0])
        print(f"CPU per 20 ms frame, AEC3 chain {'with' if k else 'without'} the keeper: {cpu:.2f} ms")
    return 0


def erle_table(sets: tuple[es.Material, ...]) -> int:
    """ERLE (after the first second, 8 s of far-end speech) of the AEC3 chain with the keeper,
    per material, echo path (its own and 0 dB) and delay; the lowest per material."""
    delays = (10, 50, 100, 150, 200)
    make = es.factory("webrtc")
    print("material      path   " + "  ".join(f"{d:>4d} ms" for d in delays) + "   (ERLE dB)")
    for m in sets:
        low = math.inf
        for g in sorted(set(m.gains) | {0.0}):
            row = [es.measure_erle(make, m, d, g) for d in delays]
            low = min(low, *row)
            print(f"{m.name:12s} {g:+4.0f} dB " + "  ".join(f"{v:7.1f}" for v in row), flush=True)
        print(f"{m.name:12s} lowest {low:.1f} dB (room T60 {m.room.t60_s:g} s)", flush=True)
    return 0


TUNING_ROOMS = (es.Room(5, 0.35, direct=0.25), es.Room(6, 0.3, direct=0.15), es.Room(7, 0.4, direct=0.3))


def recovery_table(sets: tuple[es.Material, ...] = (es.TUNING, es.HELD_OUT, es.HELD_OUT_2)) -> int:
    """Echo path changes at the same delay (40 ms, -6 -> -3 dB), AEC3 alone and with the keeper:
    to further rooms (rooms 5-7 on the tuning voices, a material's own ``rooms`` on its voices),
    then to each material's own other room."""
    print("the same delay, another room (40 ms, -6 -> -3 dB): ERLE in the first second (dB) and seconds until "
          "every later 250 ms window keeps >= 25 dB")
    cases = []
    for m in sets:
        for r in (TUNING_ROOMS if m is es.TUNING else m.rooms):
            cases.append((f"{m.name} voices, room seed {r.seed} (T60 {r.t60_s:g} s)", dataclasses.replace(m, other_room=r)))
    cases += [(f"{m.name}, its other room (seed {m.other_room.seed})", m) for m in sets]
    for label, m in cases:
        fa, ra = es.measure_path_change(es.factory("webrtc", keeper=False), m, new_delay_ms=40.0)
        fb, rb = es.measure_path_change(es.factory("webrtc", keeper=True), m, new_delay_ms=40.0)
        print(f"{label}: AEC3 {fa:.1f} dB / {fmt(ra, 2)} s, +keeper {fb:.1f} dB / {fmt(rb, 2)} s", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
