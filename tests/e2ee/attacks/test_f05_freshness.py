"""Finding 5: no freshness. A relay that withheld the expulsion roster kept the expelled member
receiving keys; a fresh client accepted an old roster that still listed a removed member.

Now every roster carries its issue time and expiry (at most an hour); the authority re-issues it
before it expires (a heartbeat, every quarter of its lifetime); a client alerts when the re-issue is
late, stops sending keys and media when its roster expired, and refuses a stale roster.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

import pytest

from vrdiplomacy.crypto.packet import StreamType
from vrdiplomacy.crypto.session import PacketDropped
from vrdiplomacy.errors import CryptoError

sys.path.insert(0, str(Path(__file__).parent))
from group_helpers import NOW, Ministry, entry, pump, session, sign  # noqa: E402

HOUR = 3600.0


def test_withheld_expulsion_stops_working_at_the_expiry() -> None:
    """fails on main 3e2635d: Bob, who never got the roster without Italy, kept rotating keys to
    Italy forever (Italy opened Bob's voice an hour later)."""
    fr = Ministry("Ministere des Affaires etrangeres", "FR")
    roots = [fr.root]
    ck, cc = fr.issue("Chair", "CH", "chair")
    bob, italy = session(fr, roots, "Bob", "DE"), session(fr, roots, "Italy", "IT")
    r0 = sign(ck, cc, [entry(bob, 0, "head"), entry(italy, 1, "head")], NOW)  # the longest lifetime: 1 h
    for s in (bob, italy):
        s.install_roster(r0, NOW)
    pump([bob, italy], NOW)
    # the chair expels Italy at NOW + 10; the relay withholds that roster from Bob
    later = NOW + HOUR + 1
    with pytest.raises(CryptoError, match="expired"):
        bob.seal(StreamType.VOICE, b"said after the expiry", later)
    assert not [p for p in bob.outgoing(later) if p[1] == StreamType.KEYS], "keys sent to an expired roster"
    opened = 0
    for p in bob.outgoing(later + 1):
        try:
            italy.open(p, later + 1)
            opened += 1
        except PacketDropped:
            pass
    assert opened == 0


def test_a_fresh_client_refuses_an_old_roster_listing_a_removed_member() -> None:
    """fails on main 3e2635d: the two-hour-old roster that still listed Italy was accepted."""
    fr = Ministry("Ministere des Affaires etrangeres", "FR")
    roots = [fr.root]
    ck, cc = fr.issue("Chair", "CH", "chair")
    alice, italy = session(fr, roots, "Alice", "FR"), session(fr, roots, "Italy", "IT")
    old = sign(ck, cc, [entry(alice, 0, "head"), entry(italy, 1, "head")], NOW)
    fresh = session(fr, roots, "Alice", "FR")
    with pytest.raises(CryptoError, match="stale roster"):
        fresh.install_roster(old, NOW + 2 * HOUR)
    assert fresh.roster is None


def test_heartbeat_late_alert_and_withheld_expulsion_over_the_relay() -> None:
    """fails on main 3e2635d (no roster lifetime, no heartbeat, no alert)."""
    from harness import Pki, codes_agree, member, until

    from vrdiplomacy.crypto.session import SessionConfig
    from vrdiplomacy.net import wire
    from vrdiplomacy.net.relay_server import EmbeddedRelay
    from vrdiplomacy.net.secure import SecureSettings, SecurityAlert
    from vrdiplomacy.net.secure_chair import AuthoritySettings
    from vrdiplomacy.net.secure_wire import Kind, SecureMessage
    from vrdiplomacy.errors import ProtocolError

    life = 4.0
    fast = SecureSettings(session=SessionConfig(), authority=AuthoritySettings(lifetime_s=life))

    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay:
            core = relay.server.core
            orig = core._event
            withhold: set[int] = set()

            def _event(conn, s, e, now):  # type: ignore[no-untyped-def]
                """A malicious relay: swallows the chair's roster messages once told to."""
                if s.client_id in withhold:
                    try:
                        kind = SecureMessage.parse(e.payload).kind
                    except ProtocolError:
                        kind = None
                    if kind == Kind.ROSTER:
                        s.last_client_seq = e.client_seq
                        core._send(conn, wire.Ack(e.client_seq), now)
                        return
                orig(conn, s, e, now)

            core._event = _event
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0", settings=fast) as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "fr", "s1", settings=fast) as fr, \
                    member(relay, pki.root, pki.identity("Italy", "head", "IT"), "it", "s2", settings=fast) as it:
                await until(lambda: codes_agree([ch, fr, it]), 15, "keyed")
                await until(lambda: all(m.client.core.media_ready for m in (ch, fr, it)), 5, "media")
                epoch, code, issued = fr.secure.roster.version, fr.secure.code, fr.secure.roster.issued_at  # type: ignore[union-attr]
                # heartbeats: the same epoch re-issued, the code unchanged
                await until(lambda: fr.secure.roster.issued_at > issued + life / 4 - 0.5, 5, "a re-issue")  # type: ignore[union-attr]
                assert fr.secure.roster.version == epoch and fr.secure.code == code  # type: ignore[union-attr]
                assert not [e for e in fr.other if isinstance(e, SecurityAlert)]
                # the relay withholds the chair's rosters, then the chair expels Italy
                withhold.add(ch.client.client_id)
                assert ch.secure.expel("Italy")
                await until(lambda: ch.secure.roster.version == epoch + 1, 2, "the chair's epoch without Italy")  # type: ignore[union-attr]
                # the split shows at once: the chair waits for France's keys of the new epoch
                # ("verifying keys" on its card) while France still shows the old code
                assert ch.secure.code != fr.secure.code == code
                await until(lambda: any(isinstance(e, SecurityAlert) and "no fresh roster" in e.message for e in fr.other),
                            life, "France's late-roster alert")
                await until(lambda: any(isinstance(e, SecurityAlert) and "expired" in e.message for e in fr.other),
                            life, "France's expiry alert")
                assert fr.secure.roster.version == epoch  # type: ignore[union-attr]
                heard = len(it.voice)
                sent = [fr.client.send_voice(wire.level_byte(-20, True), b"after expiry %d" % i) for i in range(10)]
                assert not any(sent), "France sealed voice under an expired roster"
                await asyncio.sleep(0.3)
                assert len(it.voice) == heard
                # the relay lets rosters through again: the next heartbeat brings the epoch without Italy
                withhold.clear()
                await until(lambda: codes_agree([ch, fr]) and fr.secure.roster.version == epoch + 1, 2 * life,  # type: ignore[union-attr]
                            "the epoch without Italy")
                assert "Italy" not in {m.identity.name for m in fr.secure.roster.members.values()}  # type: ignore[union-attr]
                assert not it.secure.member
                t0 = time.monotonic()
                await until(lambda: fr.client.send_voice(wire.level_byte(-20, True), b"back"), 3, "France speaks again")
                assert time.monotonic() - t0 < 3

    asyncio.run(main())
