from __future__ import annotations

import numpy as np

from vrdiplomacy.voice.jitter import JitterBuffer, JitterSettings
from vrdiplomacy.voice.packet import FLAG_START, FLAG_VOICE, VoicePacket

FS, F = 48000, 960


def pkt(seq: int, level: int = 20, start: bool = False) -> VoicePacket:
    flags = FLAG_VOICE | (FLAG_START if start else 0)
    return VoicePacket(seq & 0xFFFF, (seq * F) & 0xFFFFFFFF, 1, level, b"\x78\x01", flags)


def drive(jb: JitterBuffer, arrivals: dict[int, float], until: float, block: float = 0.02) -> list[tuple[float, str, int]]:
    """Push packets at their arrival times and pop one frame per 20 ms tick."""
    events = sorted((t, s) for s, t in arrivals.items())
    played: list[tuple[float, str, int]] = []
    i = 0
    t = 0.0
    while t < until:
        while i < len(events) and events[i][0] <= t:
            jb.push(pkt(events[i][1], start=events[i][1] == 0), F, events[i][0])
            i += 1
        p = jb.pop(t)
        if p is not None:
            seq = (p.packet.timestamp // F) if p.packet is not None else -1
            played.append((t, p.kind, seq))
        t += block
    return played


def test_steady_stream_plays_every_packet_in_order() -> None:
    jb = JitterBuffer()
    arrivals = {s: s * 0.02 + 0.021 + 0.0005 * (s % 3) for s in range(100)}
    played = drive(jb, arrivals, 2.5)
    seqs = [s for _, k, s in played if k == "packet"]
    assert seqs == list(range(100))
    assert jb.stats.late == 0 and jb.stats.fec == 0


def test_reordered_packets_play_in_order() -> None:
    jb = JitterBuffer(JitterSettings(min_delay_ms=30))
    arrivals = {s: s * 0.02 + 0.01 for s in range(50)}
    arrivals[10], arrivals[11] = arrivals[11] + 0.005, arrivals[10]
    seqs = [s for _, k, s in drive(jb, arrivals, 1.5) if k == "packet"]
    assert seqs == list(range(50))


def test_lost_frame_is_rebuilt_from_next_packets_fec() -> None:
    jb = JitterBuffer(JitterSettings(min_delay_ms=25))
    arrivals = {s: s * 0.02 + 0.005 for s in range(30) if s != 12}
    played = drive(jb, arrivals, 1.0)
    kinds = {seq: k for _, k, seq in played}
    assert kinds[13] in ("fec", "packet")
    fec = [(k, s) for _, k, s in played if k == "fec"]
    assert fec == [("fec", 13)]  # frame 12 rebuilt from packet 13's FEC data
    assert jb.stats.fec == 1 and jb.stats.plc >= 0


def test_late_packet_is_counted_and_dropped_and_a_second_one_grows_the_delay() -> None:
    jb = JitterBuffer()
    arrivals = {s: s * 0.02 + 0.001 for s in range(40)}
    arrivals[20] += 0.08  # 80 ms late
    drive(jb, arrivals, 1.2)
    assert jb.stats.late == 1
    assert jb.target_offset() < 0.03  # one spike is not the link's jitter: no 80 ms delay
    jb = JitterBuffer()
    arrivals = {s: s * 0.02 + 0.001 for s in range(60)}
    arrivals[20] += 0.08
    arrivals[35] += 0.08  # a second spike
    drive(jb, arrivals, 1.6)
    assert jb.stats.late == 2
    assert jb.target_offset() > 0.05  # the buffer now covers that delay


def test_target_tracks_high_percentile_of_jitter() -> None:
    rng = np.random.default_rng(3)
    jb = JitterBuffer()
    delays = 0.06 + rng.normal(0, 0.02, 1500).clip(-0.06, None)
    arrivals = {s: s * 0.02 + float(d) for s, d in enumerate(delays)}
    drive(jb, arrivals, 1500 * 0.02 + 0.5)
    received = jb.stats.received + jb.stats.late
    assert jb.stats.late / received <= 0.02
    spread = jb.target_offset() - (min(d for d in delays[-250:]))
    assert 0.03 < spread < 0.15


def test_duplicates_and_overflow_are_counted() -> None:
    jb = JitterBuffer(JitterSettings(max_packets=4))
    assert jb.push(pkt(0, start=True), F, 0.0) == "ok"
    assert jb.push(pkt(0), F, 0.001) == "duplicate"
    for s in range(1, 6):
        jb.push(pkt(s), F, 0.0)
    assert jb.stats.overflow >= 1 and jb.buffered <= 4


def test_stream_goes_idle_and_restarts_after_silence() -> None:
    jb = JitterBuffer()
    arrivals = {s: s * 0.02 + 0.005 for s in range(10)}
    arrivals.update({s: s * 0.02 + 0.005 for s in range(60, 70)})
    played = drive(jb, arrivals, 1.8)
    assert jb.stats.starts == 2
    assert [s for _, k, s in played if k == "packet"] == list(range(10)) + list(range(60, 70))


def test_sequence_and_timestamp_wrap() -> None:
    jb = JitterBuffer()
    base = 0xFFFF - 5
    t = 0.0
    out = []
    for i in range(12):
        s = base + i
        p = VoicePacket(s & 0xFFFF, (0xFFFFFFFF - 5 * F + 1 + i * F) & 0xFFFFFFFF, 1, 20, b"\x78\x01",
                        FLAG_VOICE | (FLAG_START if i == 0 else 0))
        jb.push(p, F, t + 0.001)
        r = jb.pop(t + 0.004)
        if r is not None:
            out.append(r.kind)
        t += 0.02
    assert jb.stats.late == 0 and out.count("packet") >= 10
