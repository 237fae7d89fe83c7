"""Every decoder of untrusted bytes or files, fed hostile input: only the project's own errors come out.

For each wire decoder the module builds valid encodings through the real encoders (``__bytes__``),
then feeds the decoder every truncation of them, bit flips, overwritten bytes, length fields set to
0 / 0xFF.. / 0x80.., spliced and extended copies, and plain random bytes (seeded, so a failure
reproduces). What may come out is a :class:`~vrdiplomacy.errors.VrdError` (ProtocolError,
CryptoError, ...) or a decoded message; never IndexError, struct.error, ValueError, KeyError,
UnicodeDecodeError, OverflowError, MemoryError, RecursionError or TypeError, and no decoder may
spend long on one input (a length field that makes a parser allocate or loop before it checks the
data present shows up as a slow input). The file loaders a user hands us (glb scenes, layouts,
delegations, user config, gesture mapping, exhibits, recordings, identity files, invitations) get
structurally damaged files: members of the wrong JSON/TOML type, missing members, non-UTF-8 bytes.

Bounded for CI (the whole module in a few seconds); ``tools/bench``-style larger campaigns ran
by hand with the same mutators (see the helper's report).
"""

from __future__ import annotations

import copy
import gzip
import json
import math
import random
import struct
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from mutators import mutate

from vrdiplomacy.errors import ConfigError, ProtocolError, VrdError

ROOT = Path(__file__).resolve().parents[1]
SEED = 20261207
PER_DECODER = 450  # random mutations per decoder (plus every truncation of each short sample)
SLOW_INPUT_S = 0.25  # one input may not take longer than this (a hang or a huge allocation)


# ------------------------------------------------------------------ inputs


def inputs(rng: random.Random, samples: list[bytes], n: int) -> Iterable[bytes]:
    for s in samples:
        if len(s) <= 600:
            for cut in range(len(s)):
                yield s[:cut]
        else:
            for cut in sorted(rng.sample(range(len(s)), 100)):
                yield s[:cut]
    for _ in range(n):
        s = rng.choice(samples)
        for _ in range(rng.randint(1, 3)):
            s = mutate(rng, s)
        yield s


def hammer(name: str, decode: Callable[[bytes], Any], samples: list[bytes], n: int = PER_DECODER,
           canonical: Callable[[Any], bytes] | None = None) -> int:
    """Feed ``decode`` the samples, then damaged copies; fail on any foreign exception or slow input.
    ``canonical``: the encoder, when the format has one encoding per message (then a decoded
    damaged input must re-encode to exactly its bytes)."""
    for s in samples:  # the samples themselves decode (and round-trip where canonical)
        obj = decode(s)
        if canonical is not None:
            assert canonical(obj) == s, f"{name}: a valid sample does not round-trip"
    rng = random.Random(f"{SEED}:{name}")
    count = 0
    for data in inputs(rng, samples, n):
        count += 1
        t0 = time.perf_counter()
        try:
            obj = decode(data)
        except VrdError:
            pass
        except BaseException as e:
            raise AssertionError(f"{name}: {type(e).__name__} ({e}) on input {data.hex()}") from e
        else:
            if canonical is not None:
                assert canonical(obj) == data, f"{name}: {data.hex()} decodes but re-encodes differently"
        took = time.perf_counter() - t0
        if took > SLOW_INPUT_S:  # a busy machine, or the input: time it again alone (the best of 3)
            took = min(_time_one(decode, data) for _ in range(3))
            assert took < SLOW_INPUT_S, f"{name}: {took:.2f} s on one input of {len(data)} bytes ({data[:64].hex()}...)"
    return count


def _time_one(decode: Callable[[bytes], Any], data: bytes) -> float:
    t0 = time.perf_counter()
    try:
        decode(data)
    except VrdError:
        pass
    return time.perf_counter() - t0


# ------------------------------------------------------------------ valid material


@pytest.fixture(scope="module")
def certs() -> tuple[bytes, bytes]:
    return make_certs()


# An ECDSA ministry root (scope: any country) and an Ed25519 "chair" delegation certificate it issued,
# both made once at t = 1_750_000_000 by vrdiplomacy.crypto.identity (create_ministry_root,
# create_delegation_request, issue_delegation) and stored, so that every run mutates the same bytes.
ROOT_DER = bytes.fromhex(
    "308201ca30820170a00302010202144e121252bea9f3b7a988fe571a0935427d2fd452300a06082a8648ce3d0403023038310b30"
    "090603550406130246523111300f060355040a0c084d696e69737472793116301406035504030c0d4d696e697374727920726f6f"
    "74301e170d3235303631353135303134305a170d3335303631333135303134305a3038310b30090603550406130246523111300f"
    "060355040a0c084d696e69737472793116301406035504030c0d4d696e697374727920726f6f743059301306072a8648ce3d0201"
    "06082a8648ce3d030107034200045ea9a872745d920849ba8a26919bde11938e86f7de97238d7f8382a37e0dede189885686d9b1"
    "f1a33c08d2a7f612d5bb26c9b5718aa89aaf93f6b47b0fa9cf63a358305630120603551d130101ff040830060101ff020100300e"
    "0603551d0f0101ff040403020106301d0603551d0e04160414d1c9b6c7a2830cca961d4edb8adab6918f4c757130110603551d1e"
    "040a3008a0063004a4023000300a06082a8648ce3d0403020348003045022071b7051c70383858fd620fef82cf72b3c4fb567653"
    "691e3bbfbd40e16fec29ac022100f90e153c439b632725873a46a15041c9ae4f0b8f0098c457d962da708a7bc3c2"
)
CERT_DER = bytes.fromhex(
    "308201b130820156a0030201020214116fe325c537b74260b700cf9cfeeaa73813158c300a06082a8648ce3d0403023038310b30"
    "090603550406130246523111300f060355040a0c084d696e69737472793116301406035504030c0d4d696e697374727920726f6f"
    "74301e170d3235303631353135303134305a170d3236303631353135303134305a3030310b30090603550406130246523111300f"
    "06035504030c0844656c6567617465310e300c060355040c0c056368616972302a300506032b657003210036dea102f8635d87ee"
    "4af1b2c2a84c39d774ff38fe2c7d1d76ba645879795cb2a3753073300c0603551d130101ff04023000300e0603551d0f0101ff04"
    "040302078030130603551d25040c300a06082b06010505070302301d0603551d0e041604148d504ad4714b02e39eea45017454df"
    "65f1645d1d301f0603551d23041830168014d1c9b6c7a2830cca961d4edb8adab6918f4c7571300a06082a8648ce3d0403020349"
    "003046022100e4b18906a36550f5e78ddd48d9a9a2006b7f9d9f12761b7a76d09c0e708ec7ff022100a56ede7014c51db8de10ca"
    "3abbc03a11fa7b914a15b63e2442e620aa2cf94048"
)


def make_certs() -> tuple[bytes, bytes]:
    """(an ECDSA ministry root, an Ed25519 delegation certificate), DER."""
    return ROOT_DER, CERT_DER


def wire_decoders(certs: tuple[bytes, bytes]) -> list[tuple[str, Callable[[bytes], Any], list[bytes]]]:
    from vrdiplomacy.ballot import ceremony as ce
    from vrdiplomacy.ballot import group as g
    from vrdiplomacy.ballot import proofs as zk
    from vrdiplomacy.ballot import wire as bw
    from vrdiplomacy.ballot.election import EncryptedBallot, Manifest
    from vrdiplomacy.crypto.admission import Invitation
    from vrdiplomacy.crypto.hpke_dist import KeyDistribution, SealedKey
    from vrdiplomacy.crypto.packet import Packet, RelayView, StreamType
    from vrdiplomacy.crypto.roster import Roster, RosterEntry, parse_fingerprint
    from vrdiplomacy.crypto.roster_seal import (
        AuthorityKey,
        SealedEntry,
        SealedRoster,
        Succession,
    )
    from vrdiplomacy.crypto.sframe import SFrameHeader
    from vrdiplomacy.crypto.signing import FrameSignature, SignedEvent
    from vrdiplomacy.gestures.events import GestureEvent
    from vrdiplomacy.gestures.handshake import HandshakeMessage, Kind
    from vrdiplomacy.gestures.types import Gesture, Hand
    from vrdiplomacy.meeting import wire as mw
    from vrdiplomacy.net import federation_wire as fw
    from vrdiplomacy.net import wire, wire_spaces
    from vrdiplomacy.net import wire_media as wm
    from vrdiplomacy.net.pose import PoseDecoder
    from vrdiplomacy.net.presence import MemberPresence
    from vrdiplomacy.net.secure_wire import Kind as SKind
    from vrdiplomacy.net.secure_wire import SecureMessage
    from vrdiplomacy.reception import wire as rw
    from vrdiplomacy.reception.fed_wire import ReceptionRecord
    from vrdiplomacy.reception.passes import ReceptionPass
    from vrdiplomacy.record.entry import NOBODY, Entry, Party, RecordHeader
    from vrdiplomacy.session.gestures import HandshakeEnvelope
    from vrdiplomacy.text import wire as tw
    from vrdiplomacy.voice.feedback import LossReport, StreamReport
    from vrdiplomacy.voice.packet import VoicePacket

    _, cert = certs
    sig, h32, rid = bytes(range(64)), bytes(range(32)), b"chamber-1"
    manifest = Manifest("item-4/1", "4", "Adopt L.12?", voters=("France", "Germany"), trustees=("T1", "T2"),
                        threshold=2, closes_at=1765000000.5, chair="Chair")
    ballot = EncryptedBallot("France", (zk.Ciphertext(g.base(1), g.base(2)),), (zk.RangeProof(1, 2, 3, 4),),
                             zk.DleqProof(5, 6))
    entry = RosterEntry(0, "chair", cert, 1, bytes(32), sig)
    roster = Roster(rid, 3, h32, 1_750_000_000_000, 1_750_000_600_000, 1, h32, bytes(32), (entry, entry), cert, sig)
    invitation = Invitation("chamber", cert, bytes(32), h32, "Delegate", "FR", "delegate", "A1", 1_750_000_000,
                            1_750_003_600, bytes(16), sig)
    rpass = ReceptionPass("hall", cert, "Guest", "guest", bytes(32), 1_750_000_000, 1_750_003_600, bytes(16), sig)
    ctl = [wire.Hello("delegate-fr", "seat-03", "chamber", b"T" * 20, 5, 9, 2, b"INV"), wire.Join("chamber", "A1", b"I"),
           wire.Leave(), wire.Event(7, b'{"g":"nod"}'), wire.Ping(1), wire.Floor(True), wire.Proof(sig),
           wire.Welcome(0x0A0B0C0D, b"T" * 20, h32, 7390, 9, 5, 2, 2000, True, 4),
           wire.Presence(0x01020304, wire.PRESENT, "delegate-fr", "seat-03"), wire.RoomEvent(5, 6, b"x"), wire.Ack(3),
           wire.Pong(2), wire.FloorState(4), wire.Error(3, "seat taken"), wire.RosterEnd(2), wire.Challenge(h32),
           wire.Notice(1, "refused"), wire_spaces.Place("", "fr", "en"), wire_spaces.Placed(3, wire_spaces.parse_space_option("bilateral:FRA+DEU")),
           wire_spaces.SpaceEvent(b"se"), wire_spaces.SpaceEventIn(3, b"se"), rw.ReceptionConfig(30), rw.Greet(4),
           rw.ReceptionStatus(1, 2, 30, 4, 5), rw.GreetingLine(2, 3, 30, [(4, "Guest"), (5, "Gäst")]),
           rw.Greeted(4, "Guest", "Host")]
    votes = [bw.Open(manifest), bw.Close("item-4/1"), bw.RecordedCast("item-2/1", "France", 2), bw.Cast("v", ballot),
             bw.Partial("v", 2, ((g.base(3), zk.DleqProof(7, 8)),)),
             bw.Commit("v", ce.Commitment(1, (g.base(4),), (zk.SchnorrProof(9, 10),), g.base(5))),
             bw.Shares("v", 1, ((2, bytes(range(80))),))]
    header = RecordHeader(bytes(range(16)), "chamber", "127.0.0.1:7443", 1796601600_000000, cert)
    rec_entry = Entry(1, 1796601601_250000, "joined", Party("France", "FR"), NOBODY, "France joined — ok",
                      (("actor.role", "head"),), h32, sig)
    reports = (StreamReport(7, 0.1, 0.05, 0.02, 2.0, 12.5, 80.0), StreamReport(9, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0))
    mframe = mw.MeetingFrame(mw.MeetingHeader(1, 5, 180, 1234), bytes(mw.MeetingAction(1, 5, 180, b"agenda")))
    return [
        ("net.wire control", wire.parse_control, [bytes(m) for m in ctl]),
        ("ballot.wire", bw.parse, [bytes(m) for m in votes]),
        ("ballot.election Manifest", Manifest.parse, [bytes(manifest)]),
        ("ballot.election EncryptedBallot", EncryptedBallot.parse, [bytes(ballot)]),
        ("ballot.proofs Ciphertext", zk.Ciphertext.parse, [bytes(zk.Ciphertext(g.base(1), g.base(2)))]),
        ("ballot.proofs DleqProof", zk.DleqProof.parse, [bytes(zk.DleqProof(5, 6))]),
        ("ballot.proofs RangeProof", zk.RangeProof.parse, [bytes(zk.RangeProof(1, 2, 3, 4))]),
        ("ballot.proofs SchnorrProof", zk.SchnorrProof.parse, [bytes(zk.SchnorrProof(9, 10))]),
        ("crypto.admission Invitation", Invitation.parse, [bytes(invitation)]),
        ("crypto.admission Invitation armour", Invitation.from_armored, [invitation.armored()]),
        ("reception.passes ReceptionPass", ReceptionPass.parse, [bytes(rpass)]),
        ("crypto.hpke_dist KeyDistribution", KeyDistribution.parse,
         [bytes(KeyDistribution(rid, 3, 1, 2, 1, 1, h32, (SealedKey(0, b"s" * 80), SealedKey(1, b"t" * 80)), sig))]),
        ("crypto.packet Packet", Packet.parse, [bytes(Packet(StreamType.VOICE, b"body")),
                                                bytes(Packet(StreamType.KEYS, b"k" * 40))]),
        ("crypto.packet RelayView", RelayView.parse, [bytes(Packet(StreamType.POSE, bytes(SFrameHeader(0x1234, 77))
                                                                   + b"x" * 20))]),
        ("crypto.roster RosterEntry", RosterEntry.parse, [bytes(entry)]),
        ("crypto.roster Roster", Roster.parse, [bytes(roster)]),
        ("crypto.roster parse_fingerprint", parse_fingerprint, [h32.hex().encode(), b"AB:" * 31 + b"CD"]),
        ("crypto.roster_seal SealedRoster", SealedRoster.parse,
         [bytes(SealedRoster(rid, 2, 1_750_000_000_000, h32, ((h32[:8], b"k" * 48),), b"c" * 60, sig))]),
        ("crypto.roster_seal AuthorityKey", AuthorityKey.parse,
         [bytes(AuthorityKey(rid, 1, 1, bytes(32), cert, 1_750_000_000_000, (h32,), sig))]),
        ("crypto.roster_seal SealedEntry", SealedEntry.parse, [bytes(SealedEntry(rid, h32, 1, b"s" * 90))]),
        ("crypto.roster_seal Succession", Succession.parse, [bytes(Succession(rid, h32, cert, sig))]),
        ("crypto.sframe SFrameHeader", SFrameHeader.parse,
         [bytes(SFrameHeader(k, c)) for k, c in ((0, 0), (7, 7), (8, 8), (0x1234, 2**40), (2**63, 2**64 - 1))]),
        ("crypto.signing FrameSignature", FrameSignature.parse,
         [bytes(FrameSignature(rid, 3, 0x12, 100, (h32[:16], h32[16:]), sig))]),
        ("crypto.signing SignedEvent", SignedEvent.parse,
         [bytes(SignedEvent(3, 7, 2, h32, 1, 9, 1_750_000_000_000, b"event body", sig))]),
        ("gestures.events GestureEvent", GestureEvent.parse,
         [bytes(GestureEvent(Gesture.NOD, Hand.NONE, "start", 1.5, 0.9)),
          bytes(GestureEvent(Gesture.POINT, Hand.RIGHT, "end", 2.0, 0.7, "seat-03", 1.2))]),
        ("gestures.handshake HandshakeMessage", HandshakeMessage.parse,
         [bytes(HandshakeMessage(Kind.OFFER, 7, 3000)), bytes(HandshakeMessage(Kind.DONE, 7))]),
        ("session.gestures HandshakeEnvelope", HandshakeEnvelope.parse,
         [bytes(HandshakeEnvelope(5, HandshakeMessage(Kind.ACCEPT, 7)))]),
        ("meeting.wire MeetingHeader", mw.MeetingHeader.parse, [bytes(mw.MeetingHeader(1, 5, 180, 1234))]),
        ("meeting.wire MeetingAction", mw.MeetingAction.parse, [bytes(mw.MeetingAction(1, 5, 180, b"agenda"))]),
        ("meeting.wire MeetingFrame", lambda d: mw.MeetingFrame.parse(d).action(), [bytes(mframe)]),
        ("meeting.wire Snapshot", mw.Snapshot.parse,
         [bytes(mw.Snapshot(9, 3, 1, 5000, 180000, 120000, 77, 2, 1, ((3, 0), (4, 1)), (5,), ("one", "deux — 2"),
                            ((3, 1),)))]),
        ("net.federation_wire", lambda d: [c.parse(d) for c in (fw.MediaBatch, fw.PresenceMsg, fw.PlaceMsg,
                                                                fw.SpaceEventMsg, fw.FloorMsg, fw.EventRecord,
                                                                fw.Alive) if _quiet(c.parse, d)],
         [bytes(fw.MediaBatch(1, 2, b"entries", 99)), bytes(fw.PresenceMsg(1, 1, 5, "delegate", "A1", "head")),
          bytes(fw.PlaceMsg(1, 5, "plenary", "fr", "en")), bytes(fw.SpaceEventMsg(1, 5, b"ev")),
          bytes(fw.FloorMsg(1, 5)), bytes(fw.EventRecord(5, 9, b"payload")), bytes(fw.Alive(1, "node-1"))]),
        ("net.presence MemberPresence", MemberPresence.parse, [bytes(MemberPresence(5, "seat-03"))]),
        ("net.secure_wire SecureMessage", SecureMessage.parse,
         [bytes(SecureMessage(SKind.ROSTER, 7, 1, 3, b"chunk" * 10))]),
        ("net.wire_media", _media, [bytes(wm.MediaHeader(wm.DG_VOICE, 5, 9)) + bytes(wm.VoiceFrame(200, 3, b"v" * 40)),
                                    bytes(wm.MediaHeader(wm.DG_POSE, 5, 10))
                                    + bytes(wm.PoseFrame(True, 4, (1, 160, -3), b"p" * 26))]),
        ("net.wire_media bundle", wm.parse_bundle, [bytes(wm.BundleEntry(wm.DG_VOICE, 5, b"v" * 30))
                                                    + bytes(wm.BundleEntry(wm.DG_POSE, 6, b"p" * 20))]),
        ("net.pose PoseDecoder delta", _pose, _POSE_SAMPLES[1:2]),
        ("net.pose PoseDecoder key", lambda d: PoseDecoder().decode(d), [_POSE_SAMPLES[0], _POSE_SAMPLES[2]]),
        ("reception.fed_wire ReceptionRecord", ReceptionRecord.parse,
         [bytes(ReceptionRecord(1, 2, 3, 4, "tok", "Gäst", "AB:CD", "guest", 1, 0, 12.5))]),
        ("record.entry RecordHeader", RecordHeader.parse, [bytes(header)]),
        ("record.entry Entry", Entry.parse, [bytes(rec_entry)]),
        ("text.wire", tw.parse, [bytes(tw.Update("doc", 3, b"\x01\x02u")), bytes(tw.Sync("doc", b"\x00", True)),
                                 bytes(tw.SyncReply("doc", b"\x00\x00")), bytes(tw.Part("doc", 4, 0, 2, b"part")),
                                 bytes(tw.Cursor("doc", 12, True))]),
        ("voice.feedback LossReport", LossReport.parse, [bytes(LossReport(reports))]),
        ("voice.feedback StreamReport", StreamReport.unpack, [reports[0].pack()]),
        ("voice.packet VoicePacket", VoicePacket.parse,
         [bytes(VoicePacket(7, 960, 3, 40, b"o" * 60)), bytes(VoicePacket(8, 1920, 3, 40, b"o" * 60, 0x11,
                                                                           ((7, b"r" * 30),)))]),
    ]


def _quiet(parse: Callable[[bytes], Any], d: bytes) -> bool:
    try:
        parse(d)
    except ProtocolError:
        return False
    return True


def _media(d: bytes) -> Any:
    from vrdiplomacy.net import wire_media as wm
    h = wm.MediaHeader.parse(d)
    body = d[wm.MEDIA_HEADER_SIZE:]
    return (wm.VoiceFrame if h.type == wm.DG_VOICE else wm.PoseFrame).parse(body)


def _pose_samples() -> list[bytes]:
    """A keyframe with both hands, then delta frames against it (the older delta coding)."""
    import numpy as np

    from vrdiplomacy.net.pose import PoseEncoder
    from vrdiplomacy.scene.math3d import Pose
    enc = PoseEncoder(key_interval=4, deltas=True)
    q = np.array([0.0, 0.38, 0.0, 0.92])
    out = []
    for i in range(3):
        head = Pose(np.array([0.1 * i, 1.6, -0.2]), q / np.linalg.norm(q))
        hand = Pose(np.array([0.3, 1.2 + 0.01 * i, -0.4]), np.array([0.0, 0.0, 0.0, 1.0]))
        out.append(enc.encode(head, hand, hand)[0])
    return out


_POSE_SAMPLES = _pose_samples()


def _pose(d: bytes) -> Any:
    """A damaged delta frame after its valid keyframe (so that the delta has its base)."""
    from vrdiplomacy.net.pose import PoseDecoder
    dec = PoseDecoder()
    dec.decode(_POSE_SAMPLES[0])
    return dec.decode(d)


# formats with one encoding per message: whatever decodes re-encodes to the very same bytes (the others
# have a padding, a prefix parse, a quantised field or a non-minimal integer form the RFC allows)
CANONICAL = {
    "net.wire control", "ballot.wire", "ballot.election Manifest", "ballot.election EncryptedBallot",
    "ballot.proofs Ciphertext", "ballot.proofs DleqProof", "ballot.proofs RangeProof", "ballot.proofs SchnorrProof",
    "crypto.admission Invitation", "reception.passes ReceptionPass", "crypto.hpke_dist KeyDistribution",
    "crypto.packet Packet", "crypto.roster RosterEntry", "crypto.roster Roster", "crypto.roster_seal SealedRoster",
    "crypto.roster_seal AuthorityKey", "crypto.roster_seal SealedEntry", "crypto.roster_seal Succession",
    "crypto.signing FrameSignature", "gestures.events GestureEvent", "gestures.handshake HandshakeMessage",
    "session.gestures HandshakeEnvelope", "meeting.wire MeetingAction", "meeting.wire Snapshot",
    "net.presence MemberPresence", "net.secure_wire SecureMessage", "reception.fed_wire ReceptionRecord",
    "record.entry RecordHeader", "record.entry Entry", "text.wire", "voice.packet VoicePacket",
}


def test_wire_decoders_raise_only_project_errors(certs: tuple[bytes, bytes]) -> None:
    """Every wire decoder, about 27 000 damaged inputs: only VrdError, and a canonical format's
    decoded message re-encodes to its input. A fingerprint in bytes that is not UTF-8 raised
    UnicodeDecodeError, a short stream report struct.error, a manifest whose secret flag was 0x19
    decoded (as True) and a reception record with trailing bytes decoded: fails on main 68e45bd."""
    t0 = time.perf_counter()
    total = 0
    for name, decode, samples in wire_decoders(certs):
        t1 = time.perf_counter()
        total += hammer(name, decode, samples, canonical=bytes if name in CANONICAL else None)
        print(f"{name}: {time.perf_counter() - t1:.3f} s")
    took = time.perf_counter() - t0
    assert total > 25_000
    print(f"{total} inputs in {took:.2f} s")


# ------------------------------------------------------------------ files a user hands us

HOSTILE: list[Any] = ["x", "", 5, -1, 0, 10**30, 1e308, float("nan"), float("inf"), [], [1], ["x"], {}, {"a": 1}, True,
                      "f\u00b2", "\u0000", [[[]]], -1e308]


def damage(obj: Any, rng: random.Random, hostile: list[Any]) -> Any:
    """``obj`` (JSON-like) with 1-3 members replaced by a value of another type, removed, or added."""
    obj = copy.deepcopy(obj)
    for _ in range(rng.randint(1, 3)):
        path, cur = [], obj
        while isinstance(cur, (dict, list)) and cur and rng.random() < 0.8:
            k = rng.choice(list(cur)) if isinstance(cur, dict) else rng.randrange(len(cur))
            path.append(k)
            cur = cur[k]
        if not path:
            return copy.deepcopy(rng.choice(hostile))
        parent = obj
        for k in path[:-1]:
            parent = parent[k]
        r = rng.random()
        if r < 0.6:
            parent[path[-1]] = copy.deepcopy(rng.choice(hostile))
        elif r < 0.8:
            del parent[path[-1]]
        elif isinstance(parent, dict):
            parent["unknown"] = copy.deepcopy(rng.choice(hostile))
    return obj


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else ("inf" if v == math.inf else "-inf" if v == -math.inf else repr(v))
    if isinstance(v, (int, str)):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return "{" + ", ".join(f"{json.dumps(str(k))} = {_toml_value(x)}" for k, x in v.items()) + "}"


def to_toml(d: Any) -> str:
    """A TOML document for ``d`` (top-level tables as [sections], lists of tables as [[arrays]])."""
    if not isinstance(d, dict):
        return f"x = {_toml_value(d)}\n"
    head, tail = [], []
    for k, v in d.items():
        key = json.dumps(str(k))
        if isinstance(v, dict):
            tail.append(f"[{key}]\n" + "".join(f"{json.dumps(str(a))} = {_toml_value(b)}\n" for a, b in v.items()))
        elif isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            tail += [f"[[{key}]]\n" + "".join(f"{json.dumps(str(a))} = {_toml_value(b)}\n" for a, b in x.items())
                     for x in v]
        else:
            head.append(f"{key} = {_toml_value(v)}\n")
    return "".join(head + tail)


def file_campaign(name: str, load: Callable[[Path], Any], write: Callable[[Path, random.Random], None], path: Path,
                  n: int) -> None:
    rng = random.Random(f"{SEED}:{name}")
    t0 = time.perf_counter()
    for _ in range(n):
        write(path, rng)
        try:
            load(path)
        except VrdError:
            pass
        except BaseException as e:
            raise AssertionError(f"{name}: {type(e).__name__} ({e}) on {path.read_bytes()[:300]!r}") from e
    print(f"{name}: {n} files in {time.perf_counter() - t0:.2f} s")


def _jsonl(objs: Any) -> str:
    return "\n".join(json.dumps(o) for o in objs) + "\n" if isinstance(objs, list) else json.dumps(objs)


def _glb(gltf: dict[str, Any], bin_chunk: bytes) -> bytes:
    j = json.dumps(gltf).encode()
    j += b" " * (-len(j) % 4)
    body = struct.pack("<II", len(j), 0x4E4F534A) + j + struct.pack("<II", len(bin_chunk), 0x004E4942) + bin_chunk
    return struct.pack("<III", 0x46546C67, 2, 12 + len(body)) + body


def test_file_loaders_refuse_damaged_files_with_project_errors(tmp_path: Path, certs: tuple[bytes, bytes]) -> None:
    """A layout with a list where an object belongs, a glb whose "asset" is a number, a config whose
    [controller] is a string, a mapping or exhibits file in Latin-1: each is refused with one line
    naming the file. All of these crashed with AttributeError/TypeError/ValueError/UnicodeDecodeError:
    fails on main 68e45bd."""
    from vrdiplomacy import config as cfg
    from vrdiplomacy.crypto.admission import read_invitation
    from vrdiplomacy.crypto.identity import load_certificate
    from vrdiplomacy.gestures import mapping, record
    from vrdiplomacy.reception.exhibits import load_exhibits
    from vrdiplomacy.scene import assets, delegations, layout

    def text_writer(seed: Any, dump: Callable[[Any], str], hostile: list[Any]) -> Callable[[Path, random.Random], None]:
        def write(p: Path, rng: random.Random) -> None:
            raw = dump(damage(seed, rng, hostile)).encode()
            p.write_bytes(mutate(rng, raw) if rng.random() < 0.2 else raw)
        return write

    toml_hostile = HOSTILE
    lay_seed = json.loads((ROOT / "assets/layouts/bilateral.json").read_text())
    file_campaign("layout", layout.load_layout, text_writer(lay_seed, json.dumps, HOSTILE), tmp_path / "l.json", 300)
    deleg = json.loads((ROOT / "assets/data/delegations.json").read_text())
    file_campaign("delegations", delegations.load_delegations, text_writer(deleg, json.dumps, HOSTILE),
                  tmp_path / "d.json", 150)
    user = {"controller": {"index_axis": "trigger", "thumb_down": ["primary"], "touch_curl": 0.3,
                           "buttons": {"primary": "thumbs_up"}},
            "desktop": {"keys": {"h": "wave", "F5": "nod"}}, "client": {"key_hold": 2.5}}
    file_campaign("config", cfg.load_user_config, text_writer(user, to_toml, toml_hostile), tmp_path / "c.toml", 300)
    del user["client"]
    file_campaign("mapping", mapping.load_mapping, text_writer(user, to_toml, toml_hostile), tmp_path / "m.toml", 300)
    lay = layout.load_layout("bilateral")
    ex = {"exhibit": [{"id": lay.exhibits[0].exhibit_id if lay.exhibits else "x", "radius_m": 2.0}]}
    file_campaign("exhibits", lambda p: load_exhibits(p, lay), text_writer(ex, to_toml, toml_hostile),
                  tmp_path / "e.toml", 150)
    with gzip.open(ROOT / "tests/data/gestures/neg_00_articulated.jsonl.gz", "rt") as f:
        lines = [json.loads(line) for line in f.read().split("\n")[:5] if line.strip()]
    file_campaign("recording", record.read_recording,
                  text_writer(lines, _jsonl, HOSTILE),
                  tmp_path / "r.jsonl", 150)

    glb = (ROOT / "assets/bilateral.glb").read_bytes()
    gltf, bin_chunk = assets.read_glb_chunks(glb, "bilateral.glb")

    def write_glb(p: Path, rng: random.Random) -> None:
        if rng.random() < 0.3:
            b = bytearray(glb[:rng.randrange(len(glb))] if rng.random() < 0.3 else glb)
            for _ in range(rng.randint(1, 6)):
                b[rng.randrange(min(len(b), 4096))] = rng.randrange(256)
            p.write_bytes(bytes(b))
        else:
            p.write_bytes(_glb(damage(gltf, rng, HOSTILE), bin_chunk))

    file_campaign("glb", assets.load_glb, write_glb, tmp_path / "g.glb", 80)

    from vrdiplomacy.crypto.identity import cert_pem, load_der_certificate
    pem = cert_pem(load_der_certificate(certs[1]))
    file_campaign("certificate", load_certificate, lambda p, rng: p.write_bytes(mutate(rng, pem)), tmp_path / "c.pem",
                  200)
    from vrdiplomacy.crypto.admission import Invitation
    armour = Invitation("chamber", certs[1], bytes(32), bytes(32), "Delegate", "FR", "delegate", "A1", 1_750_000_000,
                        1_750_003_600, bytes(16), bytes(64)).armored()
    file_campaign("invitation", read_invitation, lambda p, rng: p.write_bytes(mutate(rng, armour)), tmp_path / "i.inv",
                  200)


@pytest.mark.parametrize("text", ['{"action": "speak", "value": 1e400}', '[' * 100_000, '{"action": 5, "value": []}',
                                  '"x"', '{"action": "speak", "value": "9' + '9' * 5000 + '"}'])
def test_meeting_control_command_malformed_json_is_a_protocol_error(text: str) -> None:
    """A local control client's line of bad JSON (a value of 1e400, nesting past the recursion
    limit) is refused as ProtocolError; 1e400 raised OverflowError and deep nesting RecursionError:
    fails on main 68e45bd."""
    from vrdiplomacy.app.meeting_control import MeetingCommand
    from vrdiplomacy.reception.control import is_reception
    with pytest.raises(ProtocolError):
        MeetingCommand.decode(text.encode())
    assert is_reception(text.encode()) is None


def test_config_section_of_the_wrong_type_is_a_config_error(tmp_path: Path) -> None:
    """``controller = "x"`` and ``[desktop]`` given as a number crashed load_user_config with
    ValueError/TypeError: fails on main 68e45bd."""
    from vrdiplomacy import config as cfg
    for text in ('controller = "x"\n', 'desktop = 5\n', '[controller]\nthumb_down = 3\n',
                 '[controller]\nbuttons = 4\n', '[desktop.keys]\n"f\u00b2" = "nod"\n'):
        p = tmp_path / "c.toml"
        p.write_text(text, encoding="utf-8")
        with pytest.raises(ConfigError, match=str(p).replace("\\", "\\\\") + "|controller|desktop|key"):
            cfg.load_user_config(p)


def test_a_certificate_with_an_unknown_x509_version_is_a_crypto_error(certs: tuple[bytes, bytes], tmp_path: Path) -> None:
    """A certificate whose version field says 5 (one byte changed) raised cryptography's
    InvalidVersion, which is no ValueError, through every certificate loader: a roster from the
    relay whose signer certificate is so damaged escaped the client's CryptoError handling, as did
    an invitation's authority certificate and a record's signer: fails on main 68e45bd."""
    from vrdiplomacy.crypto.admission import Invitation
    from vrdiplomacy.crypto.identity import load_certificate, load_der_certificate
    from vrdiplomacy.crypto.roster import Roster, verify_roster
    from vrdiplomacy.errors import CryptoError
    from vrdiplomacy.record.entry import RecordHeader
    from vrdiplomacy.record.verify import verify_rows

    root_der, cert = certs
    at = cert.find(bytes.fromhex("a003020102"))  # [0] EXPLICIT INTEGER 2: X.509 v3
    assert at > 0
    bad = cert[:at] + bytes.fromhex("a003020105") + cert[at + 5:]
    with pytest.raises(CryptoError, match="malformed DER certificate"):
        load_der_certificate(bad)
    (tmp_path / "c.der").write_bytes(bad)
    with pytest.raises(CryptoError, match="not an X.509 certificate"):
        load_certificate(tmp_path / "c.der")
    roster = Roster(b"chamber-1", 0, bytes(32), 1_750_000_000_000, 1_750_000_600_000, 1, bytes(32), bytes(32), (), bad,
                    bytes(64))
    with pytest.raises(VrdError):
        verify_roster(Roster.parse(bytes(roster)), [load_der_certificate(root_der)], 1_750_000_001.0)
    inv = Invitation("chamber", bad, bytes(32), bytes(32), "Delegate", "FR", "delegate", "A1", 1_750_000_000,
                     1_750_003_600, bytes(16), bytes(64))
    with pytest.raises(CryptoError, match="malformed"):
        Invitation.parse(bytes(inv)).check(1_750_000_001.0)
    with pytest.raises(VrdError, match="malformed"):
        verify_rows(RecordHeader(bytes(16), "chamber", "relay", 1_750_000_000_000_000, bad), [])


def test_a_record_whose_signer_name_is_a_bit_string_is_refused(certs: tuple[bytes, bytes]) -> None:
    """The signer certificate's common name re-tagged as a BIT STRING: cryptography raises TypeError
    when the subject is read, and record verification read it before any check (found by the
    certificate campaign): fails on main 68e45bd."""
    from vrdiplomacy.crypto.identity import load_der_certificate
    from vrdiplomacy.record.entry import RecordHeader
    from vrdiplomacy.record.verify import verify_rows

    root_der, cert = certs
    cn = cert.find(bytes.fromhex("0603550403"), cert.find(bytes.fromhex("0603550403")) + 1)  # the subject's CN
    b = bytearray(cert)
    b[cn + 5], b[cn + 7] = 0x03, 0  # UTF8String "Delegate" -> BIT STRING, 0 unused bits
    header = RecordHeader(bytes(16), "chamber", "relay", 1_750_000_000_000_000, bytes(b))
    with pytest.raises(VrdError):
        verify_rows(header, [], [load_der_certificate(root_der)])
