from __future__ import annotations

import numpy as np

from vrdiplomacy.voice.codec import OpusSettings
from vrdiplomacy.voice.receiver import VoiceReceiver
from vrdiplomacy.voice.sender import SenderSettings, VoiceSender

FS, F = 48000, 960


def _packets(speaker: int, x: np.ndarray, fec: bool = True) -> list[bytes]:
    s = VoiceSender(speaker, SenderSettings(opus=OpusSettings(expected_loss=0.1 if fec else 0.0, fec=fec, dtx=False),
                                            transmit="continuous"))
    return [bytes(p) for i in range(0, x.size - F + 1, F) for p in s.capture(x[i:i + F])]


def _play(rcv: VoiceReceiver, streams: dict[int, list[bytes]], drop: set[int] = frozenset()):
    n = max(len(v) for v in streams.values())
    out: dict[int, list[np.ndarray]] = {k: [] for k in streams}
    for k in range(n + 10):
        now = (k + 1) * F / FS
        for spk, pk in streams.items():
            if k < len(pk) and k not in drop:
                rcv.receive(pk[k], now - 0.019)
        for spk, block in rcv.pull(now, F).items():
            out[spk].append(block)
    return {k: np.concatenate(v) if v else np.zeros(0) for k, v in out.items()}


def test_malformed_and_garbage_packets_are_counted_not_fatal() -> None:
    rcv = VoiceReceiver()
    assert rcv.receive(b"", 0.0) == "malformed"
    assert rcv.receive(b"V\x01" + b"\x00" * 11 + b"\xff\xff\xff", 0.0) == "undecodable"
    assert rcv.counters.malformed == 1 and rcv.counters.undecodable == 1
    assert rcv.pull(0.1, 480) == {}


def test_speakers_are_kept_apart(speech: np.ndarray) -> None:
    x = speech[: FS * 2]
    tone = (0.3 * np.sin(2 * np.pi * 300 * np.arange(FS * 2) / FS)).astype(np.float32)
    rcv = VoiceReceiver()
    out = _play(rcv, {1: _packets(1, x), 2: _packets(2, tone)})
    assert set(out) == {1, 2}
    t = out[2][FS // 2: FS]
    spec = np.abs(np.fft.rfft(t))
    assert abs(np.argmax(spec) * FS / t.size - 300) < 5  # speaker 2 is the tone, not the speech


def test_fec_recovers_lost_frames_better_than_plc(speech: np.ndarray) -> None:
    from vrdiplomacy.voice.simulate import delay_by_xcorr, pesq_wb

    x = speech[: FS * 5]
    drop = set(range(20, 240, 8))

    def quality(fec: bool) -> tuple[float, int]:
        rcv = VoiceReceiver()
        got = _play(rcv, {1: _packets(1, x, fec)}, drop)[1]
        lag = delay_by_xcorr(x, got, FS // 5)
        score = pesq_wb(x, got[lag:lag + x.size])
        assert score is not None
        return score, rcv.jitter_buffer(1).stats.fec

    with_fec, rebuilt = quality(True)
    without, _ = quality(False)
    # Every loss after the first (which reveals that the link loses packets and makes the
    # buffer hold one frame for FEC; its 20 ms floor may already cover the first) is rebuilt
    # from the next packet.
    assert rebuilt >= len(drop) - 1
    assert with_fec > without + 0.3


def test_report_reflects_loss(speech: np.ndarray) -> None:
    x = speech[: FS * 3]
    rcv = VoiceReceiver()
    _play(rcv, {1: _packets(1, x)}, drop=set(range(0, 150, 10)))
    rep = rcv.report(1, 99)
    assert 0.07 < rep.loss < 0.13
