"""Finding 12 (relay half): a plain ``join`` without ``--root`` was let into a secured room; France
was never told an unencrypted participant was there.

The relay now refuses a client without an invitation that asks for a secured room's name, with a
one-line reason, and tells the secured room's members (a ``RelayNotice`` event, which the HUD
shows). A secured client never shares a room with an unsecured one. Fails on main 3e2635d: the
plain client's session was accepted into the very room the delegations were in."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_core import RelayNotice
from vrdiplomacy.net.client_io import RelayConnectError, connect
from vrdiplomacy.net.relay_server import EmbeddedRelay

from attacks.secured import admitted, invite
from harness import Pki, until

ROOT = Path(__file__).resolve().parents[3]
REASON = "room 'chamber' is end-to-end encrypted: join with an invitation from its chair (--invite FILE)"


def test_a_plain_client_is_refused_and_the_members_are_told() -> None:
    async def main() -> None:
        pki = Pki()
        chair = pki.identity("Chair", "chair", "CH")
        fr = pki.identity("France", "head", "FR")
        async with EmbeddedRelay() as relay:
            async with admitted(relay, pki, chair, invite(chair, chair, "chair"), "Chair", "B1") as ch, \
                    admitted(relay, pki, fr, invite(chair, fr, "head"), "France", "A1") as fm:
                await until(lambda: ch.secure.code is not None and ch.secure.code == fm.secure.code, 15, "room keyed")
                with pytest.raises(RelayConnectError) as e:
                    async with connect(relay.host, relay.port, relay.fingerprint, "visitor", "A2", room="chamber"):
                        pass
                assert str(e.value) == f"relay refused the session: {REASON}"
                await until(lambda: any(isinstance(x, RelayNotice) for x in fm.other), 5, "France told")
                for m in (ch, fm):
                    (n,) = [x for x in m.other if isinstance(x, RelayNotice)]
                    assert n.code == wire.NOTICE_UNSECURED_REFUSED
                    assert n.alert_text() == ("Relay notice: a client without an invitation asked to join room 'chamber' "
                                              "and was refused")
                assert {m.identity for m in fm.client.core.members.values()} == {"Chair", "France"}

    asyncio.run(main())


def test_secured_and_plain_clients_never_share_a_room() -> None:
    """A plain client that was in 'chamber' before the chair opened the secured 'chamber' stays in a
    separate room: neither side sees the other, and the secured members are told it exists."""
    async def main() -> None:
        pki = Pki()
        chair = pki.identity("Chair", "chair", "CH")
        async with EmbeddedRelay() as relay:
            async with connect(relay.host, relay.port, relay.fingerprint, "early", "A9", room="chamber") as early:
                async with admitted(relay, pki, chair, invite(chair, chair, "chair"), "Chair", "B1") as ch:
                    await until(lambda: any(isinstance(x, RelayNotice) for x in ch.other), 5, "notice")
                    (n,) = [x for x in ch.other if isinstance(x, RelayNotice)]
                    assert n.code == wire.NOTICE_PLAIN_NAMESAKE and "1 unencrypted participants" in n.message
                    await asyncio.sleep(0.3)
                    assert {m.identity for m in ch.client.core.members.values()} == {"Chair"}
                    assert {m.identity for m in early.core.members.values()} == {"early"}

    asyncio.run(main())


@pytest.mark.gl
def test_plain_join_command_gets_the_one_line_reason(tmp_path: Path) -> None:
    """``vrdiplomacy join`` without --root into the secured room exits with the relay's reason on one line."""
    async def main() -> tuple[int, str]:
        pki = Pki()
        chair = pki.identity("Chair", "chair", "CH")
        async with EmbeddedRelay() as relay:
            async with admitted(relay, pki, chair, invite(chair, chair, "chair", room="bilateral"), "Chair", "B1",
                                room="bilateral") as ch:
                env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
                env.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless", PYTHONPATH=str(ROOT))
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--scene", "bilateral",
                    "--size", "160x90", "--duration", "3", "--relay", f"{relay.host}:{relay.port}",
                    "--fingerprint", relay.fingerprint, "--seat", "A1",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=str(ROOT), env=env)
                out, _ = await asyncio.wait_for(proc.communicate(), 120)
                await until(lambda: any(isinstance(x, RelayNotice) for x in ch.other), 5, "chair told")
                return proc.returncode or 0, out.decode()

    rc, out = asyncio.run(main())
    assert rc == 1, out
    assert out.strip().splitlines()[-1] == f"error: relay refused the session: {REASON.replace('chamber', 'bilateral')}"
