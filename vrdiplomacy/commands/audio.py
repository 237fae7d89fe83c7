"""``vrdiplomacy audio``: list audio devices, play a spatial test sound, run the voice loopback."""

from __future__ import annotations

import argparse
import logging
import math

import numpy as np

from vrdiplomacy.errors import ConfigError

log = logging.getLogger(__name__)
DEVICE_HELP = "device: 'default', an index or part of a name from 'audio devices', or file:PATH.wav"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audio", metavar="ACTION", title="actions")
    sub.add_parser("devices", help="list sound cards and the WAV file devices",
                   description="List sound cards (through PortAudio) and how to use WAV files instead.")
    t = sub.add_parser("test", help="play a tone that circles your head, to check left/right",
                       description="Play a short tone that circles the listener once (binaural), "
                       "starting ahead and turning to the right.")
    t.add_argument("--output", default="default", help=DEVICE_HELP + " (default: default)")
    t.add_argument("--seconds", type=float, default=4.0, help="length (default 4)")
    lb = sub.add_parser("loopback", help="run your voice through the whole voice path back to you",
                        description="Capture, echo cancellation, voice activity, Opus, packets, jitter "
                        "buffer, decoding, spatializer and limiter, all in one process: hear yourself "
                        "as a delegate sitting at --azimuth.")
    lb.add_argument("--input", default="default", help="microphone " + DEVICE_HELP + " (default: default)")
    lb.add_argument("--output", default="default", help="headphones/speakers " + DEVICE_HELP + " (default: default)")
    lb.add_argument("--azimuth", type=float, default=90.0, help="talker direction, degrees clockwise from ahead (default 90: your right)")
    lb.add_argument("--distance", type=float, default=2.0, help="talker distance in metres (default 2)")
    lb.add_argument("--seconds", type=float, default=None, help="stop after this long (default: end of file / 10 s)")
    lb.add_argument("--speakers", action="store_true", help="you use loudspeakers: turn echo cancellation on")
    lb.add_argument("--transmit", default="vad", choices=("vad", "continuous"),
                    help="vad: send only while voice is detected (default); continuous: send every frame")


def _devices() -> int:
    from vrdiplomacy.voice.devices import list_devices

    d = list_devices()
    if d.cards:
        print("sound cards:")
        for c in d.cards:
            marks = []
            if c.index == d.default_input:
                marks.append("default input")
            if c.index == d.default_output:
                marks.append("default output")
            extra = f"  [{', '.join(marks)}]" if marks else ""
            print(f"  {c.index:3d}  {c.name}  ({c.hostapi}; in {c.max_input}, out {c.max_output}, "
                  f"{c.default_rate:g} Hz){extra}")
    else:
        print(f"no sound card: {d.problem or 'none found'}")
    print("file devices (always available):")
    print("  file:PATH.wav   as --input: reads speech from a WAV file (resampled to 48 kHz mono)")
    print("                  as --output: writes 48 kHz stereo 16-bit WAV")
    from vrdiplomacy.voice.apm import INSTALL_HELP, webrtc_available

    print("microphone processing (loudspeakers): " + (
        "WebRTC AEC3 echo canceller, noise suppression and high-pass" if webrtc_available()
        else f"the built-in echo canceller only (WebRTC audio processing is missing: {INSTALL_HELP})"))
    return 0


def _check_file_device(device: str, option: str) -> None:
    """A ``file:PATH.wav`` output must be writable before the audio runs."""
    from vrdiplomacy.app.paths import check_writable
    from vrdiplomacy.voice.devices import FILE_PREFIX

    if device.startswith(FILE_PREFIX):
        check_writable(device[len(FILE_PREFIX):], option)


def _test(args: argparse.Namespace) -> int:
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.voice.devices import open_output
    from vrdiplomacy.voice.hrtf import head_direction
    from vrdiplomacy.voice.mixer import Mixer
    from vrdiplomacy.voice.spatial import Spatializer

    if args.seconds <= 0:
        raise ConfigError("--seconds must be positive")
    _check_file_device(args.output, "--output")
    out = open_output(args.output)
    spat = Spatializer()
    mixer = Mixer()
    block, fs = 960, 48000
    n = int(args.seconds * fs / block)
    t = np.arange(block) / fs
    try:
        for k in range(n):
            az = 360.0 * k / n
            tone = 0.3 * np.sin(2 * np.pi * 440.0 * (t + k * block / fs)) * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t))
            stereo = spat.render(Pose(), {0: (head_direction(az) * 1.5, tone.astype(np.float32))})
            out.write(mixer.mix([stereo], block))
    finally:
        out.close()
    print(f"played {n * block / fs:.1f} s to {out.name} using {spat.hrtf.name}")
    if spat.hrtf.citation:
        print(f"HRTF: {spat.hrtf.citation}")
    return 0


def _loopback(args: argparse.Namespace) -> int:
    from vrdiplomacy.voice.devices import FILE_PREFIX, open_input, open_output
    from vrdiplomacy.voice.loopback import LoopbackSettings, run_loopback
    from vrdiplomacy.voice.sender import SenderSettings

    realtime = not (args.input.startswith(FILE_PREFIX) and args.output.startswith(FILE_PREFIX))
    seconds = args.seconds if args.seconds is not None else (None if args.input.startswith(FILE_PREFIX) else 10.0)
    if seconds is not None and (seconds <= 0 or not math.isfinite(seconds)):
        raise ConfigError("--seconds must be positive")
    _check_file_device(args.output, "--output")
    inp = open_input(args.input)
    try:
        out = open_output(args.output)
    except Exception:
        inp.close()
        raise
    s = LoopbackSettings(azimuth_deg=args.azimuth, distance=args.distance, seconds=seconds, realtime=realtime,
                         sender=SenderSettings(headphones=not args.speakers, transmit=args.transmit))
    try:
        r = run_loopback(inp, out, s, progress=lambda t: log.debug("%.1f s", t))
    finally:
        inp.close()
        out.close()
    print(f"loopback: {r.blocks * 960 / 48000:.1f} s from {inp.name} to {out.name}, {r.packets} packets, "
          f"{r.bytes_sent * 8 / max(r.packets * 0.02, 1e-9) / 1000:.1f} kb/s while talking")
    return 0


def run(args: argparse.Namespace) -> int:
    action = getattr(args, "audio", None)
    if action == "devices":
        return _devices()
    if action == "test":
        return _test(args)
    if action == "loopback":
        return _loopback(args)
    raise ConfigError("choose an action: vrdiplomacy audio {devices,test,loopback} (see --help)")
