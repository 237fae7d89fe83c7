"""Finding 10 (invitation half): members chose their own room role (an observer certificate was
shown as chair).

Roles now come from the certificate and the room authority: the chair's invitation names the role,
never above what the member's certificate allows (an observer is never invited as chair), the relay
admits with that role, and a member's client claims that role, not one it picks. Fails on main
3e2635d: main has no invitations, so nothing bounded the role a member claimed."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from pathlib import Path

import pytest

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto.admission import Admission
from vrdiplomacy.errors import CryptoError
from vrdiplomacy.net.client_io import RelayConnectError, connect
from vrdiplomacy.net.relay_server import EmbeddedRelay

from attacks.secured import admitted, invite
from harness import Pki, until

ROOT = Path(__file__).resolve().parents[3]


def test_an_observer_certificate_is_never_invited_above_its_role() -> None:
    pki = Pki()
    chair = pki.identity("Chair", "chair", "CH")
    obs = pki.identity("Observer", "observer", "CH")
    head = pki.identity("France", "head", "FR")
    for role in ("chair", "host", "head", "delegate", "advisor", "interpreter"):
        with pytest.raises(CryptoError, match=f"an observer certificate cannot be invited as {role}"):
            invite(chair, obs, role)
    assert invite(chair, obs, "observer").role == "observer"
    assert [r for r in ident.ROLES if r in ident.grantable_roles("head")] == ["head", "delegate", "advisor", "interpreter", "observer"]
    with pytest.raises(CryptoError, match="cannot be invited as chair"):
        invite(chair, head, "chair")
    # only a chair or host certificate can be a room authority at all
    with pytest.raises(CryptoError, match="only a chair or host certificate can invite"):
        invite(head, obs, "observer")


def test_the_invite_command_refuses_on_one_line(tmp_path: Path) -> None:
    def cli(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "vrdiplomacy", "identity", *a], capture_output=True, text=True,
                              cwd=str(ROOT), env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"})

    sec, chair, obs = tmp_path / "sec", tmp_path / "chair", tmp_path / "obs"
    assert cli("init", "ministry", "--name", "Secretariat", "--country", "CH", "--dir", str(sec)).returncode == 0
    for d, name, role in ((chair, "Chair", "chair"), (obs, "Observer", "observer")):
        assert cli("init", "delegation", "--name", name, "--country", "CH", "--dir", str(d)).returncode == 0
        assert cli("issue", str(d / "delegation.csr"), "--ca-dir", str(sec), "--role", role).returncode == 0
    r = cli("invite", "--room", "chamber", "--member", str(obs / "delegation.crt"), "--role", "chair", "--dir", str(chair),
            "--root", str(sec / "ministry.crt"), "-o", str(tmp_path / "obs.invite"))
    assert r.returncode == 1 and r.stderr.strip() == ("error: an observer certificate cannot be invited as chair: its "
                                                      "certificate allows observer")
    assert not (tmp_path / "obs.invite").exists()
    r = cli("invite", "--room", "chamber", "--member", str(obs / "delegation.crt"), "--role", "observer", "--seat", "G1",
            "--dir", str(chair), "--root", str(sec / "ministry.crt"), "-o", str(tmp_path / "obs.invite"))
    assert r.returncode == 0, r.stderr
    shown = cli("show", str(tmp_path / "obs.invite")).stdout
    assert "role              observer" in shown and "seat              G1" in shown and "member            Observer (CH)" in shown
    assert ident.fingerprint(ident.load_certificate(chair / "delegation.crt")) in shown  # the room authority


def test_the_relay_admits_with_the_authoritys_role_only() -> None:
    async def main() -> None:
        pki = Pki()
        chair = pki.identity("Chair", "chair", "CH")
        obs = pki.identity("Observer", "observer", "CH")
        async with EmbeddedRelay() as relay:
            async with admitted(relay, pki, chair, invite(chair, chair, "chair"), "Chair", "B1"):
                good = invite(chair, obs, "observer")
                # the observer edits its invitation to say chair: the authority's signature breaks
                forged = dataclasses.replace(good.invitation, role="chair", _cache={})
                with pytest.raises(RelayConnectError, match="signature does not verify"):
                    async with connect(relay.host, relay.port, relay.fingerprint, "Observer", "G1", room="chamber",
                                       admission=Admission(forged, obs.signing_key)):
                        pass
                async with admitted(relay, pki, obs, good, "I am the chair", "G1") as om:
                    await until(lambda: om.secure.member, 15, "observer in the roster")
                    roles = {s.identity: s.role for s in relay.server.core.sessions.values()}
                    assert roles == {"Chair": "chair", "Observer": "observer"}
                    assert om.secure.role == "observer"  # what its client claims in the roster

    asyncio.run(main())
