"""``vrdiplomacy identity room-code`` joins the room over the relay and prints the same code as
the other members' clients (and the HUD lines show it)."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import RoomCodeChanged, hud_lines

from harness import Pki, codes_agree, member, until


def test_cli_prints_the_code_the_members_see(tmp_path: Path) -> None:
    async def main() -> None:
        pki = Pki()
        de = pki.identity("Germany", "head", "DE")
        ident.write_private_key(tmp_path / "delegation.key", de.signing_key, None)
        ident.write_file(tmp_path / "delegation.crt", ident.cert_pem(de.certificate), 0o644)
        ident.write_file(tmp_path / "ministry.crt", ident.cert_pem(pki.root), 0o644)
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "fr", "s1") as fr:
                await until(lambda: codes_agree([ch, fr]), 10, "two members keyed")
                two = fr.secure.code
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "vrdiplomacy", "identity", "room-code", "--relay", f"{relay.host}:{relay.port}",
                    "--fingerprint", relay.fingerprint, "--room", "chamber", "--seat", "s2", "--dir", str(tmp_path),
                    "--root", str(tmp_path / "ministry.crt"), "--wait", "20",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
                    env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
                )
                out, err = await asyncio.wait_for(proc.communicate(), 30)
                assert proc.returncode == 0, err.decode()
                text = out.decode()
                assert "as Germany" in text
                # the code France and the chair showed while Germany (the CLI) was in the room
                with_cli = [e.code for m in (fr, ch) for e in m.other if isinstance(e, RoomCodeChanged) and e.roster_version == 2]
                assert len(with_cli) == 2 and with_cli[0] == with_cli[1] != two
                code = with_cli[0]
                assert f"room code: {code}   (roster v2, 3 members)" in text, text
                assert hud_lines(code) == ["Room code", " ".join(code.split()[:3]), " ".join(code.split()[3:])]

    asyncio.run(main())


def test_cli_errors_are_one_line(tmp_path: Path) -> None:
    import subprocess

    r = subprocess.run([sys.executable, "-m", "vrdiplomacy", "identity", "room-code", "--relay", "nowhere",
                        "--fingerprint", "00", "--dir", str(tmp_path), "--root", str(tmp_path / "none.crt")],
                       capture_output=True, text=True, timeout=60,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])})
    assert r.returncode != 0
    assert r.stderr.strip().startswith("error:") and len(r.stderr.strip().splitlines()) == 1, r.stderr
