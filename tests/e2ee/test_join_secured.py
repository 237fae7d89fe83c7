"""``vrdiplomacy join --root ...``: the delegate's own client joins a secured room, its media is
end-to-end encrypted, and the card in its view shows the same room code as the chair's client."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.secure import RoomCodeChanged

from harness import Pki, member, until

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.gl
def test_join_a_secured_room_shows_the_chairs_room_code(tmp_path: Path) -> None:
    async def main() -> tuple[str, str, int, Path]:
        pki = Pki()
        de = pki.identity("Germany", "head", "DE")
        ident.write_private_key(tmp_path / "delegation.key", de.signing_key, None)
        ident.write_file(tmp_path / "delegation.crt", ident.cert_pem(de.certificate), 0o644)
        ident.write_file(tmp_path / "ministry.crt", ident.cert_pem(pki.root), 0o644)
        shot = tmp_path / "view.png"
        async with EmbeddedRelay() as relay:
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "chair", "B1", room="bilateral") as ch:
                await until(lambda: ch.secure.code is not None, 10, "the chair keyed")
                env = {k: v for k, v in os.environ.items() if k != "DISPLAY"}
                env.update(PYOPENGL_PLATFORM="egl", EGL_PLATFORM="surfaceless", PYTHONPATH=str(ROOT))
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "vrdiplomacy", "join", "--mode", "offscreen", "--scene", "bilateral",
                    "--size", "800x450", "--duration", "12", "--relay", f"{relay.host}:{relay.port}",
                    "--fingerprint", relay.fingerprint, "--seat", "A1", "--dir", str(tmp_path),
                    "--root", str(tmp_path / "ministry.crt"), "--screenshot", str(shot),
                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=str(ROOT), env=env)
                out, _ = await asyncio.wait_for(proc.communicate(), 120)
                codes = {e.roster_version: e.code for e in ch.other if isinstance(e, RoomCodeChanged)}
                return out.decode(), codes, proc.returncode or 0, shot

    out, codes, rc, shot = asyncio.run(main())
    assert rc == 0, out
    assert "as Germany at seat A1 (offscreen mode, end-to-end encrypted)" in out, out
    assert "HUD: Roster v" in out and "joined: Chair (CH), Germany (DE)" in out, out
    m = re.search(r"room code at the end: (.+?) \(roster v(\d+), (\d+) members; (\d+) security alerts\)", out)
    assert m and m.group(3) == "2" and m.group(4) == "0", out
    # the end-of-session summary of the end-to-end layer: frames verified, and no drop from an honest room
    v = re.search(r"end-to-end: (\d+) frames from other members verified; nothing dropped", out)
    assert v and int(v.group(1)) > 0, out  # the chair's signed frames, each verified
    code = codes.get(int(m.group(2)), "")
    assert code and m.group(1) == code, (codes, out)  # the chair's client shows the same code
    groups = code.split()
    # the card showed the very code the chair's client shows for the roster with both members
    assert f"HUD: Room code | {' '.join(groups[:3])} | {' '.join(groups[3:])}" in out, out
    img = np.asarray(Image.open(shot))[..., :3].astype(int)
    h, w = img.shape[:2]
    lower = img[h // 2:, w // 4: 3 * w // 4]
    card = (lower.max(axis=2) < 60) & (lower[..., 2] >= lower[..., 0])  # the dark blue-grey card
    text = lower.min(axis=2) > 180  # white digits on it
    assert card.mean() > 0.05 and text.sum() > 50, (card.mean(), text.sum())
