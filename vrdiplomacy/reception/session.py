"""The client's side of a reception (used by :class:`~vrdiplomacy.session.runtime.DelegateSession`).

A guest learns where it is (:class:`~vrdiplomacy.reception.wire.ReceptionStatus`: the hall, its
place in the greeting line, or its place in the waiting area) and who was greeted; each change is
one log line. A host keeps the greeting line (:class:`~vrdiplomacy.reception.wire.GreetingLine`),
sets the capacity again after every (re)connection, greets the next guest, and makes
announcements: it takes the floor (in a reception only hosts may), so the relay forwards its voice
to every guest in the hall whatever the distance, and every client plays the floor holder at
rostrum level; ``announce_wav`` plays a WAV file as its microphone for that time
(:class:`AnnounceInput`) and gives the floor back when the file has been sent.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vrdiplomacy.net import wire
from vrdiplomacy.net.client_types import Connected, RelayNotice
from vrdiplomacy.reception import wire as rw
from vrdiplomacy.reception.exhibits import ExhibitSpec, Narration
from vrdiplomacy.voice.devices import F32, InputDevice, WavInput

log = logging.getLogger("vrdiplomacy.reception")
TAIL_S = 0.4  # seconds the floor is kept after a WAV's last block (the jitter buffers play it out)
GREETED_S = 8.0  # seconds a greeting stays on the head-up card
HUD_NAMES = 3  # names of the greeting line a host's card shows


@dataclass
class ReceptionSettings:
    """``host``: we host (our pass's role); ``capacity``: the capacity we set as host on every
    (re)connection (None: leave it as it is); ``exhibits``: the scene's exhibits with narrations
    (:func:`~vrdiplomacy.reception.exhibits.load_exhibits`), played near each one."""

    host: bool = False
    capacity: int | None = None
    exhibits: list[ExhibitSpec] = field(default_factory=list)


class AnnounceInput:
    """A WAV file played as the microphone, then back to ``after`` (the real microphone, or
    silence); ``on_end`` runs once, when the file has been read."""

    def __init__(self, wav: WavInput, after: InputDevice | None, on_end: Callable[[], None]) -> None:
        self.wav = wav
        self.after = after
        self.on_end: Callable[[], None] | None = on_end
        self.name = getattr(wav, "name", "announcement")

    def read(self, n: int) -> F32 | None:
        block = self.wav.read(n) if self.on_end is not None else None
        if block is not None:
            return block
        if self.on_end is not None:
            end, self.on_end = self.on_end, None
            end()
        if self.after is not None:
            return self.after.read(n)
        return np.zeros(n, dtype=np.float32)

    def close(self) -> None:
        self.wav.close()
        if self.after is not None:
            self.after.close()


@dataclass
class SessionReception:
    """What this client knows of its reception, and a host's actions."""

    s: ReceptionSettings = field(default_factory=ReceptionSettings)
    status: rw.ReceptionStatus | None = None
    line: rw.GreetingLine | None = None
    greeted: list[rw.Greeted] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    announcing_until: float | None = None  # session time the floor is given back (a WAV's end + tail)
    announcements: int = 0
    client: Any = None

    narration: Narration | None = None
    _greet_shown: int = 0  # greetings already put on the card
    _greet_until: float = 0.0

    def attach(self, client: Any, mix: Any = None) -> None:
        """Our relay client (host actions) and listening mix (exhibit narrations, when we hear)."""
        self.client = client
        if self.s.exhibits and mix is not None:
            self.narration = Narration(self.s.exhibits)
            mix.local_sources = self.narration.sources

    def receive(self, ev: object) -> bool:
        """Fold a client event in; True when it was a reception's (nothing else needs it)."""
        if isinstance(ev, rw.ReceptionStatus):
            if self.status is None or (ev.where, ev.position) != (self.status.where, self.status.position):
                log.info("reception: %s", ev.text())
            self.status = ev
            return True
        if isinstance(ev, rw.GreetingLine):
            self.line = ev
            return True
        if isinstance(ev, rw.Greeted):
            self.greeted.append(ev)
            log.info("reception: %s greets %s", ev.host, ev.guest)
            return True
        if isinstance(ev, RelayNotice) and ev.code == rw.NOTICE_RECEPTION:
            self.notices.append(ev.message)
            log.info("reception: %s", ev.message)
            return True
        if isinstance(ev, Connected) and self.s.host and self.s.capacity is not None:
            self._send(rw.ReceptionConfig(self.s.capacity))
        return False

    def hud_lines(self, now: float) -> tuple[str, ...]:
        """What the head-up card shows of the reception (nothing outside one): a guest's place
        ("number 3 of 7 in the waiting area", its number in the greeting line, or the hall); a
        host's greeting line and counts; the latest greeting for ``GREETED_S`` seconds."""
        out: list[str] = []
        st, ln = self.status, self.line
        if ln is not None and self.s.host:
            cap = f"/{ln.capacity}" if ln.capacity else ""
            names = ", ".join(n for _c, n in ln.line[:HUD_NAMES]) or "nobody"
            more = f" (+{len(ln.line) - HUD_NAMES})" if len(ln.line) > HUD_NAMES else ""
            out.append(f"Hall {ln.in_hall}{cap} · waiting {ln.waiting} · greet: {names}{more}")
        elif st is not None:
            if st.where == rw.WAITING:
                out.append(f"Number {st.position} of {st.waiting} in the waiting area")
            elif st.where == rw.LINE:
                out.append(f"Number {st.position} in the line to greet the host")
            else:  # (no count: the relay tells a guest in the hall again only when its place changes)
                out.append("In the reception hall")
        if len(self.greeted) > self._greet_shown:
            self._greet_shown = len(self.greeted)
            self._greet_until = now + GREETED_S
        if self.greeted and now < self._greet_until:
            g = self.greeted[-1]
            me = self.client is not None and g.client_id == getattr(self.client.core, "client_id", None)
            out.append(f"{g.host} greets {'you' if me else g.guest}")
        return tuple(out)

    def _send(self, msg: wire.ControlMessage) -> bool:
        return self.client is not None and bool(self.client.core.send_control(msg))

    # ------------------------------------------------------------ host actions

    def set_capacity(self, capacity: int) -> bool:
        self.s.capacity = capacity
        return self._send(rw.ReceptionConfig(capacity))

    def greet(self, client_id: int = 0) -> bool:
        return self._send(rw.Greet(client_id))

    def line_text(self) -> list[str]:
        """The greeting line and the counts, as a host reads them."""
        ln = self.line
        if ln is None:
            return ["no greeting line yet (are you a host of this reception?)"]
        cap = f" of {ln.capacity}" if ln.capacity else " (no capacity limit)"
        out = [f"in the hall: {ln.in_hall}{cap}; in the waiting area: {ln.waiting}"]
        out.append("greeting line: " + (", ".join(f"{i}. {name}" for i, (_cid, name) in enumerate(ln.line, 1))
                                         or "nobody waiting"))
        return out

    def announce_wav(self, session: Any, path: Path, now: float) -> float:
        """Take the floor and play ``path`` as our microphone; returns its length in seconds. The
        floor goes back ``TAIL_S`` after the file's last block (:meth:`tick`)."""
        wav = WavInput(path)
        seconds = wav.data.size / 48000.0
        previous = session.mic if not isinstance(session.mic, AnnounceInput) else session.mic.after

        def ended() -> None:
            self.announcing_until = session.now + TAIL_S
            session.mic = previous

        self.client.set_floor(True)
        session.mic = AnnounceInput(wav, previous, ended)
        session.mic_ended = False
        self.announcing_until = now + seconds + 30.0  # until the file ends (then the tail)
        self.announcements += 1
        return seconds

    def announce_live(self, take: bool) -> None:
        """Hold (or give back) the floor while the host speaks into its microphone."""
        self.client.set_floor(take)
        self.announcing_until = None

    def tick(self, now: float) -> None:
        """Give the floor back once an announced file has played out."""
        if self.announcing_until is not None and now >= self.announcing_until:
            self.announcing_until = None
            if self.client is not None:
                self.client.set_floor(False)
