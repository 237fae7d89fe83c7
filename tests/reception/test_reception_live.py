"""A scripted reception over a real relay on 127.0.0.1 (TLS, UDP, real Opus, file-backed audio):
passes at the door (reused, forged, none), capacity and the waiting area, the greeting line in
the relay's order through the host's control socket, and an announcement measured on every
guest's output audio, beyond the audible radius that limits ordinary voices."""

from __future__ import annotations

import asyncio
import wave
from pathlib import Path

import numpy as np
import pytest

from vrdiplomacy.app.meeting_control import MeetingControl, send_command
from vrdiplomacy.errors import VrdError
from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.net.interest import InterestSettings
from vrdiplomacy.net.relay_server import EmbeddedRelay
from vrdiplomacy.net.relay_state import RelaySettings
from vrdiplomacy.reception import wire as rw
from vrdiplomacy.reception.control import ReceptionCommand, execute
from vrdiplomacy.reception.passes import PassAdmission, ReceptionPass
from vrdiplomacy.reception.session import ReceptionSettings
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings
from vrdiplomacy.voice.devices import WavInput, WavOutput

SPEECH = Path("/usr/share/sounds/alsa/Front_Center.wav")
FS = 48000
ROOM = "embassy"
HOST_AT = (0.0, 1.6, -3.0)  # the embassy's reception point
NEAR_AT = (1.5, 1.6, -3.0)  # 1.5 m from the host: within the audible radius (3 m)
FAR_AT = (-8.0, 1.6, 3.0)  # 10 m away, far beyond it


async def _until(cond, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not cond():
        assert loop.time() < end, "timed out"
        await asyncio.sleep(0.02)


def _rms(path: Path, t0: float, t1: float) -> float:
    with wave.open(str(path), "rb") as w:
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2).astype(np.float64) / 32768.0
    seg = x[int(t0 * FS):int(t1 * FS)]
    return float(np.sqrt(np.mean(seg ** 2))) if seg.size else 0.0


@pytest.mark.skipif(not SPEECH.is_file(), reason="needs alsa-utils' recorded speech (apt install alsa-utils)")
def test_scripted_reception(pki, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    layout = load_layout(ROOM)
    hk, hc = pki.host
    host_pass = PassAdmission(ReceptionPass.create(ROOM, hc, hk, "Ambassador of Sweden", pki.now, role="host",
                                                   guest_cert=hc), hk)
    codes = {n: PassAdmission(ReceptionPass.create(ROOM, hc, hk, n, pki.now)) for n in ("Ada", "Bea", "Cem")}
    # a relay that forwards ordinary voices only within the audible radius (no last-N): an
    # announcement must reach the far guest through the floor alone
    relay_settings = RelaySettings(interest=InterestSettings(last_n=0))

    def session(name: str, adm: PassAdmission, at: tuple[float, float, float], hear: bool = True,
                host: bool = False) -> DelegateSession:
        s = SessionSettings(name, "", room=ROOM, hear=hear, client=ClientSettings(admission=adm),
                            reception=ReceptionSettings(host=host, capacity=2 if host else None))
        out = WavOutput(tmp_path / f"{name}.wav") if hear else None
        return DelegateSession(relay.host, relay.port, relay.fingerprint, s, layout, HeldPose(Pose.from_yaw(at, 0.0)),
                               None, out)

    async def refused(adm: PassAdmission | None) -> str:
        s = SessionSettings("intruder", "", room=ROOM, hear=False, client=ClientSettings(admission=adm),
                            connect_timeout=5.0)
        d = DelegateSession(relay.host, relay.port, relay.fingerprint, s, layout, HeldPose(Pose.from_yaw(HOST_AT, 0.0)))
        with pytest.raises(VrdError) as e:
            await d.start()
        await d.stop()
        return str(e.value)

    async def scenario() -> dict[str, object]:
        out: dict[str, object] = {}
        host = session("host", host_pass, HOST_AT, hear=False, host=True)
        await host.start()
        await _until(lambda: host.reception.line is not None and host.reception.line.capacity == 2)
        guests = {}
        for name, at in (("Ada", NEAR_AT), ("Bea", FAR_AT), ("Cem", NEAR_AT)):  # arrival order
            g = guests[name] = session(name, codes[name], at)
            await g.start()
            await _until(lambda g=g: g.reception.status is not None)
        out["where"] = {n: (g.reception.status.where, g.reception.status.position) for n, g in guests.items()}
        # the door: a used one-time pass, a forged one, none
        out["reused"] = await refused(codes["Ada"])
        raw = bytearray(bytes(codes["Bea"].invitation))
        raw[raw.find(b"Bea"):raw.find(b"Bea") + 3] = b"Eve"
        out["forged"] = await refused(PassAdmission(ReceptionPass.parse(bytes(raw))))
        out["none"] = await refused(None)
        # the greeting line, through the host's control socket as 'vrdiplomacy reception greet-next' sends it
        ctl = MeetingControl(host, tmp_path / "host.sock")
        await ctl.start()
        out["line"] = [n for _c, n in host.reception.line.line]
        answers = []
        for _ in range(3):
            answers.append(await asyncio.to_thread(send_command, ctl.path, ReceptionCommand("greet"), 10.0))  # type: ignore[arg-type]
        out["answers"] = answers
        await _until(lambda: len(guests["Bea"].reception.greeted) == 2)
        out["heard_names"] = [(x.guest, x.host) for x in guests["Bea"].reception.greeted]
        # an ordinary voice (no floor): the near guest hears the host, the far one does not
        host.mic, host.mic_ended = WavInput(SPEECH), False
        t_plain = {n: g.now for n, g in guests.items()}
        await asyncio.sleep(SPEECH.stat().st_size / (2 * FS) + 0.6)
        t_plain_end = {n: g.now for n, g in guests.items()}
        # an announcement (a WAV as the host's voice, the floor held meanwhile): every guest in the hall hears it
        ok, line = await execute(host, {"op": "announce", "data": str(SPEECH)})
        out["announce"] = (ok, line)
        t_ann = {n: g.now for n, g in guests.items()}
        await _until(lambda: host.reception.announcing_until is None and host.state.floor == 0, 10.0)
        t_ann_end = {n: g.now + 0.3 for n, g in guests.items()}
        await asyncio.sleep(0.3)
        # Ada leaves: Cem enters from the waiting area and joins the greeting line
        await guests["Ada"].stop()
        await _until(lambda: guests["Cem"].reception.status.where != rw.WAITING)
        out["cem_after"] = (guests["Cem"].reception.status.where, guests["Cem"].reception.status.position)
        await _until(lambda: [n for _c, n in host.reception.line.line] == ["Cem"])
        await ctl.close()
        for g in guests.values():
            await g.stop()
        await host.stop()
        out["windows"] = (t_plain, t_plain_end, t_ann, t_ann_end)
        return out

    async def main() -> dict[str, object]:
        nonlocal relay
        state = tmp_path / "relay-state"
        async with EmbeddedRelay(state, relay_settings, {ROOM: layout}, layout) as r:
            relay = r
            out = await scenario()
        # the relay restarts on its state folder: the used passes stay used, the reception stays a reception
        async with EmbeddedRelay(state, relay_settings, {ROOM: layout}, layout) as r:
            relay = r
            out["after_restart"] = (await refused(codes["Bea"]), await refused(None))
        return out

    relay = None  # type: ignore[assignment]
    out = asyncio.run(main())
    # capacity 2: Ada and Bea in the hall (the line, in arrival order), Cem first in the waiting area
    assert out["where"] == {"Ada": (rw.LINE, 1), "Bea": (rw.LINE, 2), "Cem": (rw.WAITING, 1)}
    assert "already used (by Ada" in str(out["reused"])
    assert "signature does not verify" in str(out["forged"])
    assert "is a reception: enter with the pass" in str(out["none"])
    assert out["line"] == ["Ada", "Bea"]
    answers = out["answers"]
    assert answers[0][0] and "greeted Ada" in answers[0][1]  # type: ignore[index]
    assert answers[1][0] and "greeted Bea" in answers[1][1]  # type: ignore[index]
    assert not answers[2][0] and "nobody is waiting" in answers[2][1]  # type: ignore[index]
    assert out["heard_names"] == [("Ada", "Ambassador of Sweden"), ("Bea", "Ambassador of Sweden")]
    assert out["announce"][0]  # type: ignore[index]
    assert out["cem_after"] == (rw.LINE, 1)
    reused, plain = out["after_restart"]  # type: ignore[misc]
    assert "already used (by Bea" in reused and "is a reception" in plain
    t_plain, t_plain_end, t_ann, t_ann_end = out["windows"]  # type: ignore[misc]
    rms = {n: (_rms(tmp_path / f"{n}.wav", t_plain[n], t_plain_end[n]), _rms(tmp_path / f"{n}.wav", t_ann[n], t_ann_end[n]))
           for n in ("Ada", "Bea", "Cem")}
    print("output RMS (ordinary voice, announcement):", {n: (f"{a:.4f}", f"{b:.4f}") for n, (a, b) in rms.items()})
    # an ordinary voice: heard near, not 10 m away; nothing reaches the waiting area
    assert rms["Ada"][0] > 5e-3 and rms["Bea"][0] < rms["Ada"][0] / 10
    # the announcement: every guest in the hall hears it at a like level, the far one included
    assert rms["Ada"][1] > 5e-3 and rms["Bea"][1] > 5e-3 and rms["Bea"][1] > rms["Ada"][1] / 4
    # the waiting area has its own audio
    assert rms["Cem"][0] < 1e-3 and rms["Cem"][1] < 1e-3
