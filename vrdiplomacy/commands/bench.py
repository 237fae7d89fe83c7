"""``vrdiplomacy bench voice``: measure voice quality, latency and loss over a simulated network."""

from __future__ import annotations

import argparse
import logging
import time

from vrdiplomacy.errors import ConfigError

log = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCH", title="benchmarks")
    v = sub.add_parser(
        "voice",
        help="send a WAV file through encoder, simulated network, jitter buffer and decoder",
        description="Send speech through the Opus encoder, a simulated network (seeded loss, bursts, "
        "jitter, reordering), the adaptive jitter buffer and the decoder; write the received audio "
        "time-aligned with the input and print latency, late and lost counts and PESQ-WB.",
    )
    v.add_argument("--input", metavar="SPEECH.wav",
                   help="input speech (any rate, mixed to mono; default: Debian's alsa-utils recordings)")
    v.add_argument("--output", metavar="OUT.wav", help="write the received audio here, aligned with the input")
    v.add_argument("--loss", type=float, default=0.0, help="packet loss rate 0..1 (default 0)")
    v.add_argument("--burst", type=float, default=1.0, help="mean loss-burst length in packets (default 1: independent losses)")
    v.add_argument("--jitter-ms", type=float, default=0.0, help="delay standard deviation in ms (default 0)")
    v.add_argument("--delay-ms", type=float, default=None, help="mean one-way delay in ms (default 3 x jitter)")
    v.add_argument("--reorder", type=float, default=0.0, help="fraction of packets held back 30 ms (default 0)")
    v.add_argument("--seed", type=int, default=1, help="random seed of the network simulation (default 1)")
    v.add_argument("--bitrate", type=int, default=32000, help="Opus bitrate in b/s (default 32000)")
    v.add_argument("--frame-ms", type=int, default=20, choices=(10, 20, 40, 60), help="Opus frame length in ms (default 20)")
    v.add_argument("--bandwidth", default="wb", choices=("nb", "mb", "wb", "swb", "fb"),
                   help="widest audio band Opus codes (default wb)")
    v.add_argument("--cbr", action="store_true", help="constant bitrate (packet sizes reveal nothing)")
    v.add_argument("--no-fec", action="store_true", help="turn Opus in-band FEC off")
    v.add_argument("--transmit", default="vad", choices=("vad", "continuous"),
                   help="vad: send only while voice is detected (default); continuous: send every frame")
    v.add_argument("--no-pesq", action="store_true", help="skip PESQ-WB")


def run(args: argparse.Namespace) -> int:
    if getattr(args, "bench", None) != "voice":
        raise ConfigError("choose a benchmark: vrdiplomacy bench voice --help")
    from vrdiplomacy.voice import simulate
    from vrdiplomacy.voice.codec import OpusSettings
    from vrdiplomacy.voice.devices import read_wav, write_wav
    from vrdiplomacy.voice.netsim import NetSimSettings
    from vrdiplomacy.voice.sender import SenderSettings

    if args.output:  # checked before the run: else the run's result was lost to a traceback at the end
        from vrdiplomacy.app.paths import check_writable

        check_writable(args.output, "--output")
    x = read_wav(args.input) if args.input else simulate.alsa_speech()
    if x.size < 4800:
        raise ConfigError("input is shorter than 0.1 s")
    opus = OpusSettings(bitrate=args.bitrate, frame_ms=args.frame_ms, fec=not args.no_fec, cbr=args.cbr,
                        bandwidth=args.bandwidth)
    opus.validate()
    transmit = "continuous" if args.cbr else args.transmit
    net = NetSimSettings(loss=args.loss, burst=args.burst, jitter_ms=args.jitter_ms,
                         base_delay_ms=args.delay_ms, reorder=args.reorder)
    net.validate()
    src = args.input or "alsa-utils speech"
    print(f"voice bench: {src}, {x.size / 48000:.1f} s; Opus {args.bitrate / 1000:g} kb/s "
          f"{'CBR' if args.cbr else 'VBR'}, {args.frame_ms} ms, {args.bandwidth}, FEC {'off' if args.no_fec else 'on'}")
    print(f"network: loss {args.loss * 100:.1f} % (mean burst {args.burst:g}), jitter sigma {args.jitter_ms:g} ms, "
          f"delay {net.base_s * 1000:g} ms, reorder {args.reorder * 100:g} %, seed {args.seed}")
    t0 = time.perf_counter()
    r = simulate.run(x, SenderSettings(opus=opus, transmit=transmit), net, seed=args.seed)
    dt = time.perf_counter() - t0
    kbps = r.sent_bytes * 8 / max(r.sent * args.frame_ms / 1000, 1e-9) / 1000
    print(f"packets: sent {r.sent} (payload {kbps:.1f} kb/s), lost in network {r.network_lost}, late {r.late}, "
          f"rebuilt by FEC {r.fec}, from copies {r.recovered}, concealed {r.plc}, "
          f"time-stretched -{r.accelerated_ms:.0f}/+{r.expanded_ms:.0f} ms")
    print(f"latency: mouth-to-ear {r.latency_ms:.1f} ms (cross-correlation); jitter buffer mean "
          f"{r.buffer_mean_ms:.1f} ms, p95 {r.buffer_p95_ms:.1f} ms; encoder expected loss {r.expected_loss_perc} %")
    if not args.no_pesq:
        score = simulate.pesq_wb(x, r.output)
        print("PESQ-WB: " + (f"{score:.3f}" if score is not None else "not measured (pip install pesq)"))
    if args.output:
        write_wav(args.output, r.output)
        print(f"wrote {args.output} ({r.output.size / 48000:.1f} s, aligned with the input)")
    log.debug("simulated in %.1f s", dt)
    return 0
