"""Loss feedback: the report wire format, when listeners report, how a speaker's plan follows,
and that a stream with copies survives loss that plain concealment does not."""

from __future__ import annotations

import numpy as np
import pytest

from vrdiplomacy.errors import ConfigError, ProtocolError
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.voice.codec import OpusSettings
from vrdiplomacy.voice.feedback import AdaptSettings, LossAdapter, LossReport, Plan, ReportScheduler, StreamReport
from vrdiplomacy.voice.jitter import JitterBuffer, JitterSettings
from vrdiplomacy.voice.packet import FLAG_FEC, FLAG_RED, FLAG_START, FLAG_VOICE, VoicePacket
from vrdiplomacy.voice.sender import SenderSettings, VoiceSender

FS, F = 48000, 960
# tag 'L', version 1, one entry: speaker 7, loss 25/256, late 3/256, residual 1/256, burst 1.5,
# jitter 12.3 ms, delay 60 ms
VECTOR = bytes.fromhex("4c0101" + "00000007" + "19" + "03" + "01" + "0f" + "007b" + "003c")


def test_report_vector_roundtrip() -> None:
    r = LossReport.parse(VECTOR)
    (e,) = r.entries
    assert e.speaker == 7 and e.loss == 25 / 256 and e.late == 3 / 256 and e.residual == 1 / 256
    assert e.burst == 1.5 and abs(e.jitter_ms - 12.3) < 1e-9 and e.delay_ms == 60
    assert bytes(r) == VECTOR
    assert LossReport.looks_like(VECTOR) and not LossReport.looks_like(b"\x01\x00")


@pytest.mark.parametrize("bad", [b"", VECTOR[:2], VECTOR[:-1], VECTOR + b"\x00", b"\x4c\x02" + VECTOR[2:],
                                 b"\x4c\x01\x00", b"\x4c\x01\x02" + VECTOR[3:]])
def test_malformed_reports_are_rejected(bad: bytes) -> None:
    with pytest.raises(ProtocolError):
        LossReport.parse(bad)


def test_scheduler_is_silent_without_loss_and_reports_changes() -> None:
    sch = ReportScheduler()
    clean = [StreamReport(3)]
    assert all(sch.due(t * 0.02, clean) is None for t in range(1000))  # a loss-free room sends nothing
    lossy = [StreamReport(3, loss=0.1, burst=1.2)]
    first = sch.due(20.0, lossy)
    assert first is not None and first.entries[0].speaker == 3
    assert sch.due(20.5, lossy) is None  # at most one a second
    assert sch.due(21.5, lossy) is None  # unchanged: only the refresh is due, after refresh_s
    assert sch.due(24.1, lossy) is not None
    assert sch.due(25.2, [StreamReport(3, loss=0.0)]) is not None  # the loss ended: say so once
    assert sch.due(30.0, [StreamReport(3, loss=0.0)]) is None


def test_adapter_follows_the_worst_listener_and_forgets_silent_ones() -> None:
    ad = LossAdapter(AdaptSettings(expire_s=5.0))
    assert ad.plan(0.0) == Plan()
    ad.on_report(1, StreamReport(9, loss=0.02), 0.0)
    assert ad.plan(0.0).copies == (1,)
    ad.on_report(2, StreamReport(9, loss=0.15), 1.0)
    assert ad.plan(1.0).copies == (1, 2, 3)
    ad.on_report(2, StreamReport(9, loss=0.05), 2.0)
    assert ad.plan(2.0).copies == (1, 2)
    ad.on_report(3, StreamReport(9, loss=0.04, burst=3.0), 2.0)  # bursts need deeper copies
    assert ad.plan(2.0).copies == (1, 2, 3)
    assert ad.plan(7.5) == Plan()  # every report expired
    ad.on_report(1, StreamReport(9, loss=0.005), 8.0)  # below red_from: in-band FEC only
    assert ad.plan(8.0) == Plan(0.005, ())
    with pytest.raises(ConfigError):
        LossAdapter(AdaptSettings(red_from=0.1, red2_from=0.05))


def _frames(x: np.ndarray) -> list[np.ndarray]:
    return [x[i:i + F] for i in range(0, x.size - F + 1, F)]


def test_sender_carries_copies_and_marks_fec_only_when_written(speech: np.ndarray) -> None:
    s = VoiceSender(9, SenderSettings(opus=OpusSettings(dtx=False), transmit="continuous"))
    pk = [p for f in _frames(speech[: FS]) for p in s.capture(f)]
    assert not any(p.flags & (FLAG_FEC | FLAG_RED) for p in pk)  # no loss reported: nothing extra
    s.on_report(StreamReport(9, loss=0.06), reporter=4, now=1.0)
    s.on_report(StreamReport(5, loss=0.5), reporter=4, now=1.0)  # about someone else: ignored
    assert s.copies == (1, 2)
    pk = [p for f in _frames(speech[FS: 2 * FS]) for p in s.capture(f)]
    for prev2, prev, p in zip(pk, pk[1:], pk[2:]):
        assert p.flags & FLAG_RED and not p.flags & FLAG_FEC  # copies replace in-band FEC
        assert dict(p.redundancy) == {1: prev.payload, 2: prev2.payload}  # byte for byte
        assert VoicePacket.parse(bytes(p)) == p
    s.on_report(StreamReport(9, loss=0.03), reporter=4, now=2.0)
    assert s.copies == (1, 2)  # hysteresis: a loss hovering near a threshold does not toggle depth
    s.on_report(StreamReport(9, loss=0.02), reporter=4, now=3.0)
    assert s.copies == (1,)
    s.tick(30.0)  # the listener went quiet: its report expired
    p = s.capture(speech[2 * FS + F: 2 * FS + 2 * F])[0]
    assert not p.flags & (FLAG_FEC | FLAG_RED) and s.encoder.expected_loss_perc == 0
    s.on_report(StreamReport(9, loss=0.008), reporter=4, now=31.0)  # light loss: in-band FEC only
    p = s.capture(speech[2 * FS: 2 * FS + F])[0]
    assert p.flags & FLAG_FEC and not p.redundancy and s.encoder.expected_loss_perc == 1


def _pkt(seq: int, copies: tuple[int, ...] = (), start: bool = False) -> VoicePacket:
    red = tuple((d, bytes([0x78, seq - d & 0xFF])) for d in copies if seq - d >= 0)
    flags = FLAG_VOICE | (FLAG_START if start else 0) | (FLAG_RED if red else 0)
    return VoicePacket(seq, seq * F, 1, 20, bytes([0x78, seq & 0xFF]), flags, red)


def _drive(jb: JitterBuffer, copies: tuple[int, ...], lost: set[int], n: int = 130) -> dict[int, str]:
    """Two talkspurts (frames 0-39 and 60-129) every 20 ms, arriving 1 ms after they are sent;
    pop one frame per 20 ms. Returns how each frame played (a payload's second byte names its
    frame, copies included)."""
    played: dict[int, str] = {}
    for k in range(n + 10):
        t = k * 0.02
        if k < n and k not in lost and not 40 <= k < 60:
            jb.push(_pkt(k, copies, start=k in (0, 60)), F, t + 0.001)
        p = jb.pop(t + 0.002)
        if p is not None and p.kind == "packet" and p.packet is not None:
            played[p.packet.payload[1]] = "packet"
    return played


def test_jitter_buffer_plays_lost_frames_from_copies_and_holds_only_for_them() -> None:
    lost = {30, 31, 75, 90, 91, 110}
    jb = JitterBuffer(JitterSettings())
    played = _drive(jb, (1, 2), lost)
    # once the loss shows, the next talkspurt starts two frames deeper: later losses (even two in
    # a row) play exactly from the copies
    assert all(played.get(k) == "packet" for k in (75, 90, 91, 110)), played
    assert jb.stats.recovered >= 4 and jb.hold_frames() == 2
    # the same loss on a stream without copies or FEC: nothing to wait for, no hold
    bare = JitterBuffer(JitterSettings())
    _drive(bare, (), lost)
    assert bare.loss_fraction() > 0.04 and bare.hold_frames() == 0
    assert bare.target_offset() < jb.target_offset() - 0.019  # the floor covers one of the two frames


def test_session_applies_only_reports_about_itself_from_someone_else(speech: np.ndarray) -> None:
    from vrdiplomacy.session.audio import ListenerMix, apply_loss_report

    # In a secured room ``me`` and the reporter are roster member indices (the key that opened the
    # signed room event), while the sender stamps its relay client id: the entry is matched by key.
    snd = VoiceSender(1234, SenderSettings(opus=OpusSettings(dtx=False), transmit="continuous"))
    about_me = bytes(LossReport((StreamReport(5, loss=0.2), StreamReport(2, loss=0.07))))
    assert apply_loss_report(snd, 2, 5, about_me, 1.0) == "applied" and snd.copies == (1, 2)
    assert apply_loss_report(snd, 2, 2, about_me, 1.0) == "other"  # our own report
    assert apply_loss_report(snd, 3, 5, about_me, 1.0) == "other"  # about others only
    assert apply_loss_report(snd, 2, 5, about_me[:-1], 1.0) == "malformed"

    # A listener whose stream from speaker 7 loses every 8th packet reports it (and only then).
    mix = ListenerMix()
    src = VoiceSender(7, SenderSettings(opus=OpusSettings(dtx=False), transmit="continuous"))
    sent = [p for f in _frames(speech[: 3 * FS]) for p in src.capture(f)]
    reports = []
    for k, p in enumerate(sent):
        now = k * 0.02
        if k % 8 != 5 or k < 60:
            mix.receive(7, bytes(p), now + 0.005)
        mix.render(now, Pose(), {})
        rep = mix.loss_report(now)
        if rep is not None:
            reports.append((now, rep))
    assert reports and all(t >= 1.2 for t, _ in reports)  # nothing while the stream was clean
    (e,) = reports[-1][1].entries
    assert e.speaker == 7 and 0.04 < e.loss < 0.16 and mix.counters.reports_sent == len(reports)
