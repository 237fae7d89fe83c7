"""The joint text over the real relay in a secured room: an in-process delegation writes, another
brackets through ``vrdiplomacy text edit`` (a separate process), an observer reads with ``text show``
and may not edit; the chair's follower keeps the document on disk, and a restarted client that made
an edit offline merges it back."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "e2ee"))

from harness import Pki, codes_agree, member, until

from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.errors import ConfigError
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.text.document import JointText
from vrdiplomacy.text.live import TextJob, run_text_live

DRAFT = "The Assembly urges all States to protect fisheries."


async def cli(relay: EmbeddedRelay, folder: Path, seat: str, *args: str) -> str:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "vrdiplomacy", "text", *args, "--relay", f"{relay.host}:{relay.port}",
        "--fingerprint", relay.fingerprint, "--seat", seat, "--dir", str(folder), "--root", str(folder / "ministry.crt"),
        "--timeout", "30", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return f"rc={proc.returncode}\n" + out.decode()


def test_joint_text_in_a_secured_room(tmp_path: Path) -> None:
    state = tmp_path / "chair.ydoc"

    async def main() -> tuple[str, str, str]:
        pki = Pki()
        folders = {}
        for name, role, cc in (("Germany", "head", "DE"), ("Brazil", "observer", "BR")):
            li = pki.identity(name, role, cc)
            d = folders[name] = tmp_path / name
            d.mkdir()
            ident.write_private_key(d / "delegation.key", li.signing_key, None)
            ident.write_file(d / "delegation.crt", ident.cert_pem(li.certificate), 0o644)
            ident.write_file(d / "ministry.crt", ident.cert_pem(pki.root), 0o644)
        async with EmbeddedRelay() as relay:  # noqa: SIM117 (the members need the relay)
            async with member(relay, pki.root, pki.identity("Chair", "chair", "CH"), "Chair", "seat-0") as ch, \
                    member(relay, pki.root, pki.identity("France", "head"), "France", "seat-1") as fr:
                await until(lambda: codes_agree([ch, fr]), 20, "two members keyed")
                for x in (ch, fr):
                    assert x.task is not None
                    x.task.cancel()
                follower = asyncio.create_task(run_text_live(ch.client, ch.secure, "Chair",
                                                             TextJob("L.12", follow=True, state=state), lambda s: None))
                await run_text_live(fr.client, fr.secure, "France", TextJob("L.12", ("append", DRAFT), settle=0.5),
                                    lambda s: None)
                bracketed = await cli(relay, folders["Germany"], "seat-2", "edit", "L.12", "--bracket", "33", "50")
                shown = await cli(relay, folders["Brazil"], "seat-3", "show", "L.12")
                refused = await cli(relay, folders["Brazil"], "seat-3", "edit", "L.12", "--append", " FORGED")
                await asyncio.sleep(0.3)
                follower.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await follower
                return bracketed, shown, refused

    bracketed, shown, refused = asyncio.run(main())
    want = "The Assembly urges all States to [protect fisheries]."
    assert bracketed.startswith("rc=0") and want in bracketed, bracketed
    saved = JointText()
    saved.apply(state.read_bytes())
    assert saved.render() == want  # the chair's copy on disk has every merged edit
    assert shown.startswith("rc=0") and want in shown and "Germany#1] Germany: protect fisheries" in shown, shown
    assert "rc=2" in refused and "Brazil may not edit the text" in refused, refused


def test_an_offline_edit_merges_after_a_restart(tmp_path: Path) -> None:
    """France's client saves its copy (``--state``), crashes, edits offline after a restart from the
    file, and asks the room again (:meth:`TextCore.join`): both sides end with both edits."""
    from test_document import pump

    from vrdiplomacy.text.core import TextCore
    from vrdiplomacy.text.live import save_state

    state = tmp_path / "france.ydoc"
    names = ("France", "Germany")
    fr, de = (TextCore(n, lambda s: s in names) for n in names)
    fr.insert("L.12", 0, DRAFT)
    pump({"France": fr, "Germany": de})
    save_state(state, fr.doc("L.12").snapshot())
    del fr  # the crash
    de.insert("L.12", 0, "Recalling its resolution 77/1, ")  # Germany goes on while France is away
    de.data_to_send()  # ... and nobody is there to receive it but Germany itself
    fr2 = TextCore("France", lambda s: s in names)
    fr2.load("L.12", state.read_bytes())
    fr2.insert("L.12", len(DRAFT), " It calls for a moratorium.")  # offline: lost in transit
    fr2.data_to_send()
    fr2.join("L.12")
    pump({"France": fr2, "Germany": de})
    want = "Recalling its resolution 77/1, " + DRAFT + " It calls for a moratorium."
    assert fr2.doc("L.12").text() == de.doc("L.12").text() == want


def test_large_documents_travel_in_parts() -> None:
    """A sync of a document larger than one sealed event (~8 KB) is split and reassembled."""
    from test_document import pump

    from vrdiplomacy.text import wire
    from vrdiplomacy.text.core import TextCore

    names = ("France", "Germany")
    fr, de = (TextCore(n, lambda s: s in names) for n in names)
    for i in range(60):
        fr.insert("L.12", len(fr.doc("L.12").text()), f"Operative paragraph {i}: the Assembly decides to act. " * 4)
    fr.data_to_send()  # Germany missed all of it
    de.join("L.12")
    sent: list[bytes] = []
    orig = fr.data_to_send

    def spy() -> list[tuple[str, bytes]]:
        out = orig()
        sent.extend(p for _s, p in out)
        return out

    fr.data_to_send = spy  # type: ignore[method-assign]
    pump({"France": fr, "Germany": de})
    assert len(fr.doc("L.12").text()) > 12_000 and de.doc("L.12").text() == fr.doc("L.12").text()
    assert sent and all(len(p) <= wire.MAX_EVENT for p in sent) and any(p[2] == wire.PART for p in sent)


def test_an_observer_may_not_edit() -> None:
    from vrdiplomacy.text.core import TextCore

    core = TextCore("Brazil", lambda name: name != "Brazil")
    with pytest.raises(ConfigError, match="may not edit"):
        core.insert("d", 0, "x")
