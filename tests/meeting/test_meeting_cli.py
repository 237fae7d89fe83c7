"""``vrdiplomacy meeting`` (a real subprocess) acting through running clients' control sockets,
over a real relay on loopback: a delegate's hand, the chair's grant, a refused grant, status."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from meetnet import claim, seat_of, until

from vrdiplomacy.app.meeting_control import MeetingControl
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings

ROOT = Path(__file__).resolve().parents[2]


async def cli(*args: str) -> tuple[int, str, str]:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = await asyncio.create_subprocess_exec(sys.executable, "-m", "vrdiplomacy", "meeting", *args, cwd=ROOT, env=env,
                                             stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await p.communicate()
    return p.returncode or 0, out.decode().strip(), err.decode().strip()


async def _run(tmp: Path) -> None:
    layout = load_layout("chamber")
    async with EmbeddedRelay(layouts={layout.scene: layout}, default_layout=layout) as relay:
        def mk(name: str, deleg: str) -> DelegateSession:
            seat = seat_of(layout, deleg)
            return DelegateSession(relay.host, relay.port, relay.fingerprint, SessionSettings(name, seat, hear=False),
                                   layout, HeldPose(layout.seat(seat).eye_pose()))

        chair, fra, deu = mk("chair", "CHE"), mk("france", "FRA"), mk("germany", "DEU")
        for s in (chair, fra, deu):
            await s.start()
        await until(lambda: all(len(s.state.members) == 2 for s in (chair, fra, deu)), 10, "all present")
        claim(chair, "chair")
        await until(lambda: all(s.meeting.role(chair.state.me) == "chair" for s in (chair, fra, deu)), 5, "claimed")
        ctl_c, ctl_f = MeetingControl(chair, tmp / "chair.sock"), MeetingControl(fra, tmp / "fr.sock")
        await ctl_c.start()
        await ctl_f.start()
        try:
            rc, out, err = await cli("grant", "--control", str(tmp / "chair.sock"))
            assert rc == 1 and out == "grant: nothing changed (nobody is on the speakers' list)", (out, err)

            # the chair's desktop keys (G, R, M in 'join'): the same actions, one line back
            assert chair.chair_key("chair_grant") == "Nobody is on the speakers' list"
            assert fra.chair_key("chair_grant") == "Only the chair can do that (your role: delegate)"
            deu.send_gesture("raise_hand", "start", "right")  # a raised hand asks for the floor
            await until(lambda: chair.meeting.procedure.queue == [(deu.state.me, 0)], 5, "Germany's hand")
            assert chair.chair_key("chair_grant") == "You gave the floor to DEU"
            await until(lambda: all(x.meeting.procedure.speaker == deu.state.me for x in (fra, chair)), 5,
                        "Germany granted")
            assert chair.chair_key("chair_mute") == "You muted DEU"
            await until(lambda: all(deu.state.me in x.meeting.procedure.muted for x in (fra, chair)), 5, "Germany muted")
            assert chair.chair_key("chair_mute") == "You unmuted DEU"
            await until(lambda: not chair.meeting.procedure.muted, 5, "Germany unmuted")
            assert chair.chair_key("chair_revoke") == "You ended DEU's statement"
            await until(lambda: fra.meeting.procedure.speaker is None and not fra.meeting.procedure.muted, 5,
                        "the floor open again")

            rc, out, err = await cli("raise", "--control", str(tmp / "fr.sock"))
            assert rc == 0 and out.startswith("ok: "), (out, err)
            rc, out, err = await cli("grant", "--control", str(tmp / "fr.sock"))  # France is no chair
            assert rc == 1 and out == "refused: grant needs the 'chair' permission; your role here is delegate"

            rc, out, err = await cli("grant", "--time", "45", "--control", str(tmp / "chair.sock"))
            assert rc == 0 and "speaking: FRA" in out, (out, err)
            await until(lambda: deu.meeting.procedure.speaker == fra.state.me, 5, "the grant at Germany")
            rc, out, err = await cli("mute", "FRA", "--control", str(tmp / "chair.sock"))
            assert rc == 0, (out, err)
            rc, out, err = await cli("agenda", "Opening", "Climate finance", "--control", str(tmp / "chair.sock"))
            assert rc == 0, (out, err)
            rc, out, err = await cli("item", "--item", "2", "--control", str(tmp / "chair.sock"))
            assert rc == 0, (out, err)
            rc, out, err = await cli("phase", "--phase", "negotiation", "--control", str(tmp / "chair.sock"))
            assert rc == 0, (out, err)
            rc, out, err = await cli("mute", "Atlantis", "--control", str(tmp / "chair.sock"))
            assert rc == 1 and "no member 'Atlantis'" in out

            rc, out, err = await cli("status", "--control", str(tmp / "fr.sock"))
            assert rc == 0
            lines = out.splitlines()
            assert lines[0] == "phase: negotiation; agenda item 2: Climate finance", out
            assert lines[1].startswith("speaking: FRA, ") and "of 45 s" in lines[1], out
            assert "muted: " not in out or "FRA" not in out.split("muted: ")[-1]  # France's own line says "you"
            assert "you: delegate" in out

            rc, out, err = await cli("phase", "--phase", "banquet", "--control", str(tmp / "chair.sock"))
            assert rc == 2 and err.startswith("error: phase needs --phase NAME"), err
            rc, out, err = await cli("status", "--control", str(tmp / "nobody.sock"))
            assert rc == 2 and "no running client" in err
        finally:
            await ctl_c.close()
            await ctl_f.close()
            for s in (chair, fra, deu):
                await s.stop()
        assert not (tmp / "chair.sock").exists()


def test_meeting_cli_through_running_clients(tmp_path: Path) -> None:
    asyncio.run(_run(tmp_path))
