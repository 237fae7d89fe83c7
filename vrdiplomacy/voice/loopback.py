"""The whole voice path in one process, for ``audio loopback``, the headless demo and tests:
input device -> VoiceSender -> packet bytes -> VoiceReceiver -> Spatializer (the talker
placed around the listener) -> Mixer/limiter -> output device.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.voice.devices import InputDevice, OutputDevice
from vrdiplomacy.voice.hrtf import HrtfSet, head_direction
from vrdiplomacy.voice.mixer import Mixer
from vrdiplomacy.voice.receiver import VoiceReceiver
from vrdiplomacy.voice.sender import SenderSettings, VoiceSender
from vrdiplomacy.voice.spatial import SpatialSettings, Spatializer

FS = 48000


@dataclass
class LoopbackSettings:
    """``azimuth_deg`` where the talker sits, clockwise from ahead (90 = right);
    ``distance`` metres; ``block`` samples per device block; ``seconds`` stop after this
    long (None: at the end of a file input); ``realtime`` pace blocks by the clock (for
    sound cards; files run as fast as possible); ``sender`` settings."""

    azimuth_deg: float = 90.0
    distance: float = 2.0
    block: int = 960
    seconds: float | None = None
    realtime: bool = False
    sender: SenderSettings = field(default_factory=SenderSettings)


@dataclass
class LoopbackResult:
    blocks: int
    packets: int
    bytes_sent: int


def run_loopback(
    inp: InputDevice,
    out: OutputDevice,
    settings: LoopbackSettings | None = None,
    hrtf: HrtfSet | None = None,
    progress: Callable[[float], None] | None = None,
) -> LoopbackResult:
    s = settings or LoopbackSettings()
    sender = VoiceSender(7, s.sender)
    receiver = VoiceReceiver()
    spat = Spatializer(hrtf, SpatialSettings(block=s.block))
    mixer = Mixer()
    listener = Pose()
    talker = head_direction(s.azimuth_deg) * s.distance
    t0 = time.monotonic()
    blocks = packets = 0
    ended_at: int | None = None
    limit = None if s.seconds is None else int(s.seconds * FS / s.block)
    # Block k of the microphone is complete at (k + 1) blocks; what is computed then plays
    # during the next block. The output starts with one block of silence so that the
    # written file shares the input's time axis.
    out.write(np.zeros((s.block, 2), dtype=np.float32))
    while True:
        now = (blocks + 1) * s.block / FS
        if limit is not None and blocks >= limit:
            break
        mic = inp.read(s.block) if ended_at is None else None
        if mic is None:
            ended_at = blocks if ended_at is None else ended_at
            mic = np.zeros(s.block, dtype=np.float32)
            if blocks - ended_at > int(0.5 * FS / s.block):  # let the buffers drain
                break
        for pkt in sender.capture(mic):
            receiver.receive(bytes(pkt), now)
            packets += 1
        voices = receiver.pull(now, s.block)
        stereo = spat.render(listener, {k: (talker, v) for k, v in voices.items()})
        block = mixer.mix([stereo], s.block)
        sender.playback(block)
        out.write(block)
        blocks += 1
        if progress is not None and blocks % 50 == 0:
            progress(now)
        if s.realtime:
            lag = t0 + blocks * s.block / FS - time.monotonic()
            if lag > 0:
                time.sleep(lag)
    return LoopbackResult(blocks, packets, sender.sent_bytes)
