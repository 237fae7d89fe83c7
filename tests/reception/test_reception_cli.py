"""``vrdiplomacy reception`` as the host uses it: invite (one-time and keyed passes), show (a
valid and an altered pass), client actions with no client running, and ``join --pass`` checks."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from vrdiplomacy.cli import main
from vrdiplomacy.commands import join as join_cmd
from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import ConfigError, CryptoError
from vrdiplomacy.reception.passes import ReceptionPass, read_pass


def _folder(tmp: Path, member: tuple[object, object]) -> Path:
    key, cert = member
    d = tmp / "host"
    ident.write_private_key(d / "delegation.key", key, None)  # type: ignore[arg-type]
    ident.write_file(d / "delegation.crt", ident.cert_pem(cert), 0o644)  # type: ignore[arg-type]
    return d


def test_invite_show_and_refusals(pki, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    host = _folder(tmp_path, pki.host)
    assert main(["reception", "invite", "--room", "embassy", "--guest", "Ms. Ada Lovelace", "--dir", str(host),
                 "-o", str(tmp_path / "ada.pass")]) == 0
    assert "one-time code" in capsys.readouterr().out
    ada = read_pass(tmp_path / "ada.pass")
    assert (ada.guest_name, ada.role, ada.keyed, ada.room) == ("Ms. Ada Lovelace", "guest", False, "embassy")
    assert main(["reception", "invite", "--host", "--dir", str(host), "-o", str(tmp_path / "host.pass")]) == 0
    me = read_pass(tmp_path / "host.pass")
    assert me.role == "host" and me.keyed and me.guest_name == "Sweden"
    assert main(["reception", "show", str(tmp_path / "ada.pass")]) == 0
    assert "signature: valid" in capsys.readouterr().out
    # an altered pass: show says INVALID (and exits 1), no traceback
    raw = bytearray(bytes(ada))
    raw[raw.find(b"Ada"):raw.find(b"Ada") + 3] = b"Eve"
    (tmp_path / "eve.pass").write_bytes(ReceptionPass.parse(bytes(raw)).armored())
    assert main(["reception", "show", str(tmp_path / "eve.pass")]) == 1
    assert "INVALID" in capsys.readouterr().out
    # a delegate's certificate cannot host
    dele = _folder(tmp_path / "d", pki.delegate)
    assert main(["reception", "invite", "--guest", "X", "--dir", str(dele), "-o", str(tmp_path / "x.pass")]) != 0
    assert "only a host or chair" in capsys.readouterr().err
    # a host action with no running client: one line saying so
    assert main(["reception", "greet-next", "--control", str(tmp_path / "none.sock")]) != 0
    assert "no running client" in capsys.readouterr().err


def _join_args(p: Path, **kw: object) -> argparse.Namespace:
    base: dict[str, object] = {"reception_pass": p, "capacity": None, "root": None, "invite": None, "dir": None,
                               "key": None, "passphrase_file": None}
    base.update(kw)
    return argparse.Namespace(**base)


def test_join_pass_checks(pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hk, hc = pki.host
    (tmp_path / "g.pass").write_bytes(ReceptionPass.create("embassy", hc, hk, "Guest", pki.now).armored())
    adm, settings = join_cmd._reception(_join_args(tmp_path / "g.pass"), "embassy")  # type: ignore[misc]
    assert adm.invitation.guest_name == "Guest" and not settings.host
    with pytest.raises(CryptoError, match="reception in room 'embassy', not 'chamber'"):
        join_cmd._reception(_join_args(tmp_path / "g.pass"), "chamber")
    with pytest.raises(ConfigError, match="for the reception's host"):
        join_cmd._reception(_join_args(tmp_path / "g.pass", capacity=10), "embassy")
    host = _folder(tmp_path, pki.host)
    (tmp_path / "h.pass").write_bytes(ReceptionPass.create("embassy", hc, hk, "Host", pki.now, role="host",
                                                           guest_cert=hc).armored())
    adm, settings = join_cmd._reception(_join_args(tmp_path / "h.pass", capacity=150, dir=host), "embassy")  # type: ignore[misc]
    assert settings.host and settings.capacity == 150 and adm.key is not None
    # --exhibits without a pass: narrations near the scene's exhibits, no reception
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.voice.devices import write_wav

    write_wav(tmp_path / "n.wav", [0.1] * 4800)
    (tmp_path / "ex.toml").write_text('[[exhibit]]\nid = "highlands"\nnarration = "n.wav"\n')
    adm, settings = join_cmd._reception(_join_args(None, exhibits=tmp_path / "ex.toml"), "embassy",  # type: ignore[misc]
                                        load_layout("embassy"))
    assert adm is None and [e.exhibit_id for e in settings.exhibits] == ["highlands"]
