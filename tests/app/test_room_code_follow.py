"""``vrdiplomacy identity room-code --follow`` prints each roster, key and code change once.

Fails on main 3e2635d: every event came twice, once printed and once as the secure room's log
line on stderr."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2ee"))

from harness import Pki, codes_agree, member, until  # noqa: E402

from vrdiplomacy.crypto import identity as ident  # noqa: E402
from vrdiplomacy.net.relay_server import EmbeddedRelay  # noqa: E402


def test_follow_prints_each_event_once(tmp_path: Path) -> None:
    async def main() -> tuple[str, str]:
        pki = Pki()
        de = pki.identity("Germany", "head", "DE")
        ident.write_private_key(tmp_path / "delegation.key", de.signing_key, None)
        ident.write_file(tmp_path / "delegation.crt", ident.cert_pem(de.certificate), 0o644)
        ident.write_file(tmp_path / "ministry.crt", ident.cert_pem(pki.root), 0o644)
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "s0") as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "fr", "s1") as fr:
                await until(lambda: codes_agree([ch, fr]), 10, "two members keyed")
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "vrdiplomacy", "identity", "room-code", "--relay", f"{relay.host}:{relay.port}",
                    "--fingerprint", relay.fingerprint.upper(), "--seat", "s2", "--dir", str(tmp_path),
                    "--root", str(tmp_path / "ministry.crt"), "--follow",
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})
                assert proc.stdout is not None
                got = b""
                while b"room code:" not in got:
                    got += await asyncio.wait_for(proc.stdout.readline(), 30)
                await asyncio.sleep(0.5)
                proc.send_signal(signal.SIGINT)
                out, err = await asyncio.wait_for(proc.communicate(), 30)
                return (got + out).decode(), err.decode()

    out, err = asyncio.run(main())
    lines = [x for x in out.splitlines() if x.strip()]
    assert any(x.startswith("Roster v2: 3 members") for x in lines) and any(x.startswith("room code:") for x in lines)
    assert len(lines) == len(set(lines)), out
    assert "Roster v2" not in err and "New encryption keys" not in err, err
