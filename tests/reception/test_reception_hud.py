"""What a reception's guest sees on the head-up card of the client people run (``LiveClient``,
as ``vrdiplomacy join`` and the headset loop use it), with real sessions over an in-process
relay: a guest beyond capacity reads its number in the waiting area, a greeted guest reads the
greeting, the host reads the line.

Fails on main 94bf7c4 and on 877af11: the place and the greetings went to the log only."""

from __future__ import annotations

import time

from PIL import Image, ImageDraw

from vrdiplomacy.app.client import ClientOptions, LiveClient
from vrdiplomacy.input.frame import InputFrame
from vrdiplomacy.net.client_core import ClientSettings
from vrdiplomacy.reception.passes import PassAdmission, ReceptionPass
from vrdiplomacy.reception.session import ReceptionSettings
from vrdiplomacy.render.hud import BODY_PX, HUD_WIDTH_PX, PAD, _shrink, rasterize_hud
from vrdiplomacy.scene.layout import load_layout
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import Scene
from vrdiplomacy.session.host import RelayAddress, SessionThread
from vrdiplomacy.session.runtime import HeldPose, SessionSettings

ROOM = "embassy"


class _Frame:
    def __init__(self, inp: InputFrame) -> None:
        self.input, self.index = inp, 0


def test_waiting_place_and_greetings_on_the_hud(pki) -> None:  # type: ignore[no-untyped-def]
    layout = load_layout(ROOM)
    hk, hc = pki.host
    head = Pose.from_yaw((0.0, 1.6, -3.0), 0.0)
    host_adm = PassAdmission(ReceptionPass.create(ROOM, hc, hk, "Ambassador", pki.now, role="host", guest_cert=hc), hk)

    def settings(name: str, adm: PassAdmission, host: bool = False) -> SessionSettings:
        return SessionSettings(name, "", room=ROOM, hear=False, client=ClientSettings(admission=adm),
                               reception=ReceptionSettings(host=host, capacity=1 if host else None))

    host = SessionThread(layout, settings("Ambassador", host_adm, host=True), HeldPose(head))
    host.start()
    threads = [host]
    try:
        relay = RelayAddress(host.relay.host, host.relay.port, host.relay.fingerprint)
        cards: dict[str, LiveClient] = {}
        t0 = time.monotonic()

        def card(name: str) -> tuple[str, ...]:
            c = cards[name]
            c.on_frame(_Frame(InputFrame(time.monotonic() - t0, head)))
            assert c.scene.hud is not None
            return c.scene.hud.lines

        def until(name: str, text: str) -> tuple[str, ...]:
            end = time.monotonic() + 10
            while True:
                lines = card(name)
                if any(text in line for line in lines):
                    return lines
                assert time.monotonic() < end, f"{name}'s card never showed {text!r}: {lines}"
                time.sleep(0.05)

        cards["Ambassador"] = LiveClient(host, HeldPose(head), Scene(ROOM), None, ClientOptions())
        for name in ("Ada", "Bea", "Cem"):
            g = SessionThread(layout, settings(name, PassAdmission(ReceptionPass.create(ROOM, hc, hk, name, pki.now))),
                              HeldPose(head), relay=relay)
            g.start()
            threads.append(g)
            cards[name] = LiveClient(g, HeldPose(head), Scene(ROOM), None, ClientOptions())
        until("Ada", "Number 1 in the line to greet the host")
        until("Bea", "Number 1 of 2 in the waiting area")
        cem = until("Cem", "Number 2 of 2 in the waiting area")
        host_card = until("Ambassador", "Hall 1/1 · waiting 2 · greet: Ada")
        host.call(lambda: host.session.reception.greet())
        until("Ada", "Ambassador greets you")
        until("Bea", "Ambassador greets Ada")  # heard in the waiting area too
        # legible on the card as drawn: no reception line shrinks below 2/3 of the body size
        draw = ImageDraw.Draw(Image.new("RGBA", (HUD_WIDTH_PX, 100)))
        for line in (*cem[1:], *host_card[1:]):
            assert _shrink(draw, line, BODY_PX, HUD_WIDTH_PX - 2 * PAD).size >= BODY_PX * 2 // 3, line
        assert rasterize_hud(cem, insecure=True).shape[0] > 0
    finally:
        for t in reversed(threads):
            t.stop()
