"""Finding 10 (roster half): members chose their own room role; an observer's certificate was
shown as chair.

Now the room role comes from the certificate and the authority: the lower of the certificate's role
and the invitation's (the ``admit`` policy's answer), never what the member's entry asks; ``chair``
and ``host`` only for the room authority. A roster that lists anyone above its certificate, or a
second chair, does not verify.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from vrdiplomacy.errors import CryptoError

sys.path.insert(0, str(Path(__file__).parent))
from group_helpers import NOW, Ministry, entry, session, sign  # noqa: E402


def test_an_observer_asking_to_be_chair_is_listed_as_observer() -> None:
    """fails on main 3e2635d: the roster listed the observer as "chair", as its entry asked."""
    from harness import Pki, codes_agree, member, until

    from vrdiplomacy.net.relay_server import EmbeddedRelay
    from vrdiplomacy.net.secure import RosterChanged, SecureSettings

    async def main() -> None:
        pki = Pki()
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                    member(relay, pki.root, pki.identity("Press", "observer", "FR"), "press", "o1",
                           settings=SecureSettings(role="chair")) as press, \
                    member(relay, pki.root, pki.identity("Germany", "head", "DE"), "de", "s2",
                           settings=SecureSettings(role="chair")) as de:
                await until(lambda: codes_agree([ch, press, de]), 15, "keyed")
                roles = {m.identity.name: m.role for m in de.secure.roster.members.values()}  # type: ignore[union-attr]
                assert roles == {"Chair": "chair", "Press": "observer", "Germany": "head"}
                shown = [e for e in de.other if isinstance(e, RosterChanged)][-1]
                assert "Press (FR), observer" in shown.members.values()
                assert not [v for v in shown.members.values() if v.endswith("chair") and not v.startswith("Chair")]

    asyncio.run(main())


def test_the_invitation_role_caps_the_certificate_role() -> None:
    """fails on main 3e2635d: the admit policy could only say yes or no; the member's asked role
    was listed."""
    from harness import Pki, codes_agree, member, until

    from vrdiplomacy.crypto.identity import VerifiedIdentity, fingerprint
    from vrdiplomacy.net.relay_server import EmbeddedRelay
    from vrdiplomacy.net.secure import SecureSettings

    def invited(ident: VerifiedIdentity) -> str:
        return {"Germany": "advisor", "Spain": "observer"}.get(ident.name, "head")

    async def main() -> None:
        pki = Pki()
        chair = pki.identity("Chair", "chair", "CH")
        pin = fingerprint(chair.certificate)  # the room authority, as the invitations name it
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, chair, "chair", "s0", admit=invited, authority=pin) as ch, \
                    member(relay, pki.root, pki.identity("Germany", "head", "DE"), "de", "s1",
                           settings=SecureSettings(role="head"), authority=pin) as de, \
                    member(relay, pki.root, pki.identity("Spain", "chair", "ES"), "es", "s2", authority=pin) as es:
                await until(lambda: codes_agree([ch, de, es]), 15, "keyed")
                roles = {m.identity.name: m.role for m in es.secure.roster.members.values()}  # type: ignore[union-attr]
                assert roles == {"Chair": "chair", "Germany": "advisor", "Spain": "observer"}
                assert not es.secure.is_chair  # a chair certificate that is not the room authority

    asyncio.run(main())


def test_a_roster_listing_a_member_above_its_certificate_does_not_verify() -> None:
    """fails on main 3e2635d: the chair's signature was the only check on roles."""
    fr = Ministry("Ministere des Affaires etrangeres", "FR")
    roots = [fr.root]
    ck, cc = fr.issue("Chair", "CH", "chair")
    alice = session(fr, roots, "Alice", "FR")
    press = session(fr, roots, "Press", "FR", role="observer")
    vice = session(fr, roots, "Vice", "FR", role="chair")
    for bad in ([entry(alice, 0, "head"), entry(press, 1, "chair")],
                [entry(alice, 0, "head"), entry(press, 1, "delegate")],
                [entry(alice, 0, "head"), entry(vice, 2, "chair")]):  # a second chair
        with pytest.raises(CryptoError, match="certificate says observer|not the room authority"):
            alice.install_roster(sign(ck, cc, bad, NOW), NOW)
        assert alice.roster is None
    ok = alice.install_roster(sign(ck, cc, [entry(alice, 0, "head"), entry(press, 1, "observer"), entry(vice, 2, "delegate")], NOW), NOW)
    assert {m.role for m in ok.members.values()} == {"head", "observer", "delegate"}
