"""Run a session's network side in a background thread, for apps whose frame loop is blocking.

:class:`SessionThread` owns an asyncio event loop in its own thread and runs there: an
in-process relay on loopback (:class:`~vrdiplomacy.net.relay_server.EmbeddedRelay`) when no
relay address is given, ``bots`` simulated delegates (:mod:`vrdiplomacy.session.bots`), and the
user's :class:`~vrdiplomacy.session.runtime.DelegateSession`. The frame loop (window, headset,
headless renderer) stays on the calling thread: it sets the user's pose through a
:class:`~vrdiplomacy.session.runtime.HeldPose` (or passes a scripted source) and reads the room
with :meth:`SessionThread.call` (the function runs on the loop's thread, between events).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from vrdiplomacy.errors import VrdError
from vrdiplomacy.net.client_io import PayloadSealer
from vrdiplomacy.scene.layout import Layout
from vrdiplomacy.session.bots import Bot, BotMotion, BotPlan, ScheduledSpeech
from vrdiplomacy.session.runtime import DelegateSession, PoseSource, SessionSettings
from vrdiplomacy.voice.codec import OpusSettings
from vrdiplomacy.voice.devices import InputDevice, OutputDevice
from vrdiplomacy.voice.hrtf import HrtfSet, default_hrtf
from vrdiplomacy.voice.sender import SenderSettings

log = logging.getLogger("vrdiplomacy.session")
T = TypeVar("T")


@dataclass
class RelayAddress:
    """Where the relay is: ``host``, ``port`` and its certificate ``fingerprint`` (SHA-256 hex)."""

    host: str
    port: int
    fingerprint: str


@dataclass
class HostReport:
    """What ran: the relay's counters (embedded relay only), each bot's sent figures, and the
    user's session (its stats, room state and listening counters), read on the loop's thread
    just before everything stopped."""

    relay: dict[str, int] = field(default_factory=dict)
    bots: list[dict[str, Any]] = field(default_factory=list)
    user: dict[str, Any] = field(default_factory=dict)


class SessionThread:
    """``start()`` connects everything (raising the first error), ``stop()`` ends it and reports."""

    def __init__(self, layout: Layout, user: SessionSettings, pose_source: PoseSource,
                 bots: list[BotPlan] | None = None, relay: RelayAddress | None = None,
                 mic: InputDevice | None = None, speakers: OutputDevice | None = None,
                 sealer: PayloadSealer | None = None) -> None:
        self.layout = layout
        self.user_settings = user
        self.sealer = sealer  # e.g. a SecureRoom: the user's media and events are end-to-end encrypted
        self.pose_source = pose_source
        self.plans = bots or []
        self.relay_address = relay
        self.mic, self.speakers = mic, speakers
        self.session: DelegateSession | None = None
        self.bots: list[Bot] = []
        self.relay: Any = None
        self.report = HostReport()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._stop: asyncio.Event | None = None
        self._error: BaseException | None = None

    # ------------------------------------------------------------ caller's thread

    def start(self, timeout: float = 30.0) -> None:
        self._thread = threading.Thread(target=self._main, name="vrd-session", daemon=True)
        self._thread.start()
        try:
            self._ready.result(timeout)
        except concurrent.futures.TimeoutError:
            self.stop()
            raise VrdError(f"the session did not start within {timeout:g} s") from None
        except BaseException:
            self.stop()
            raise

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Run ``fn()`` on the session's thread and return its result."""
        loop = self._loop
        if loop is None or not loop.is_running():
            raise VrdError("the session is not running")
        fut: concurrent.futures.Future[T] = concurrent.futures.Future()

        def job() -> None:
            try:
                fut.set_result(fn())
            except BaseException as e:  # handed to the caller
                fut.set_exception(e)

        loop.call_soon_threadsafe(job)
        return fut.result(timeout)

    def failed(self) -> BaseException | None:
        """Why the session died, if it did."""
        if self._error is not None:
            return self._error
        if self.session is not None and self._loop is not None and self._loop.is_running():
            try:
                return self.call(lambda: self.session.failed() if self.session else None)
            except VrdError:
                return None
        return None

    def stop(self, timeout: float = 15.0) -> HostReport:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and loop.is_running():
            loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("the session thread did not stop within %.0f s", timeout)
        return self.report

    # ------------------------------------------------------------ session thread

    def _main(self) -> None:
        try:
            asyncio.run(self._run())
        except BaseException as e:
            self._error = e
            if not self._ready.done():
                self._ready.set_exception(e)

    async def _run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        hrtf = default_hrtf()
        addr = self.relay_address
        tasks: list[asyncio.Task[None]] = []
        try:
            if addr is None:
                from vrdiplomacy.net.relay_server import EmbeddedRelay

                self.relay = EmbeddedRelay(layouts={self.layout.scene: self.layout}, default_layout=self.layout)
                await self.relay.__aenter__()
                addr = RelayAddress(self.relay.host, self.relay.port, self.relay.fingerprint)
            for plan in self.plans:
                tasks.append(await self._start_bot(plan, addr, hrtf))
            self.session = DelegateSession(addr.host, addr.port, addr.fingerprint, self.user_settings, self.layout,
                                           self.pose_source, self.mic, self.speakers, self.sealer, hrtf=hrtf)
            await self.session.start()
            self._ready.set_result(None)
            await self._stop.wait()
            self._collect()
        finally:
            for t in tasks:
                t.cancel()
            for t in tasks:
                try:
                    await t
                except asyncio.CancelledError:
                    pass
                except Exception as e:  # a bot's gesture task failed: report, keep stopping
                    log.warning("bot task failed: %s", e)
            if self.session is not None:
                await self.session.stop()
            for b in self.bots:
                await b.session.stop()
            if self.relay is not None:
                await self.relay.__aexit__(None, None, None)

    async def _start_bot(self, plan: BotPlan, addr: RelayAddress, hrtf: HrtfSet) -> asyncio.Task[None]:
        bot, task = await start_bot(plan, addr, self.layout, self.user_settings.room, hrtf)
        self.bots.append(bot)
        return task

    def _collect(self) -> None:
        r = self.report
        if self.relay is not None:
            r.relay = self.relay.server.core.counters.as_dict()
        r.bots.extend(bot_report(b) for b in self.bots)
        s = self.session
        if s is not None:
            now = s.now
            r.user = {"seconds": now, "stats": vars(s.stats).copy(), "state": s.state.counters.as_dict(),
                      "members": s.state.summary(now),
                      "listen": s.mix.counters.as_dict() if s.mix else {},
                      "heard_blocks": dict(s.mix.heard_blocks) if s.mix else {},
                      "block": s.s.block,
                      "gesture_log": list(s.state.gesture_log),
                      "security": s.security.report(),
                      "e2ee": _e2ee_report(self.sealer),
                      "meeting": s.meeting_report(),
                      "client": s.client.core.counters.as_dict() if s.client else {}}


def _e2ee_report(sealer: object) -> dict[str, object]:
    """Frames verified from other members and every drop by reason, for a secured room's sealer
    (:class:`~vrdiplomacy.net.secure.SecureRoom`); empty for a plain room."""
    drops = getattr(sealer, "drop_counts", None)
    session = getattr(sealer, "session", None)
    if drops is None or session is None:
        return {}
    return {"verified": session.frames_verified, "dropped": {k: v for k, v in sorted(drops().items()) if v}}


async def start_bot(plan: BotPlan, addr: RelayAddress, layout: Layout, room: str,
                    hrtf: HrtfSet | None = None) -> tuple[Bot, asyncio.Task[None]]:
    """Connect one bot and start its gesture script; returns the bot and that task."""
    settings = SessionSettings(plan.identity, plan.seat.seat_id, room, hear=False, track_poses=False,
                               sender=SenderSettings(opus=OpusSettings().with_profile("full")))
    speech = ScheduledSpeech(plan.clip[1], plan.speak_at)
    holder: list[BotMotion] = []
    session = DelegateSession(addr.host, addr.port, addr.fingerprint, settings, layout,
                              lambda t: holder[0](t), speech, None, hrtf=hrtf)
    holder.append(BotMotion(plan, session.state, speech))
    await session.start()
    bot = Bot(plan, session, holder[0])
    return bot, asyncio.create_task(bot.run_gestures(), name=f"{plan.identity}-gestures")


def bot_report(b: Bot) -> dict[str, Any]:
    st = b.session.stats
    return {"identity": b.plan.identity, "seat": b.plan.seat.seat_id, "delegation": b.plan.seat.delegation,
            "clip": b.plan.clip[0], "voice_packets_sent": st.voice_sent, "poses_sent": st.poses_sent,
            "gestures_sent": st.gestures_sent, "late_audio_blocks": st.late_blocks}


class RoomProcess:
    """The relay and the bots in a child process (their own interpreter: the app's frame loop
    and its session do not share a lock or a core with them, as on a real network).

    ``start()`` starts the relay and returns its address; ``start_bots()`` seats the bots (their
    scripts' clocks start then); ``stop()`` ends the room and returns (relay counters, bot reports)."""

    def __init__(self, scene: str, bots: int, viewer_seat: str | None) -> None:
        self.scene, self.n, self.viewer_seat = scene, bots, viewer_seat
        self._proc: Any = None
        self._conn: Any = None

    def start(self, timeout: float = 30.0) -> RelayAddress:
        import multiprocessing as mp

        ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._proc = ctx.Process(target=_room_main, args=(child, self.scene, self.n, self.viewer_seat),
                                 name="vrd-room", daemon=True)
        self._proc.start()
        child.close()
        if not self._conn.poll(timeout):
            self.stop()
            raise VrdError(f"the relay and bots did not start within {timeout:g} s")
        msg = self._conn.recv()
        if msg[0] != "ready":
            self.stop()
            raise VrdError(f"the relay and bots failed to start: {msg[1]}")
        return RelayAddress(msg[1], msg[2], msg[3])

    def start_bots(self, timeout: float = 30.0) -> None:
        self._conn.send(("go",))
        if not self._conn.poll(timeout):
            raise VrdError(f"the bots did not join within {timeout:g} s")
        msg = self._conn.recv()
        if msg[0] != "started":
            raise VrdError(f"the bots failed to join: {msg[1]}")

    def stop(self, timeout: float = 15.0) -> tuple[dict[str, int], list[dict[str, Any]]]:
        relay: dict[str, int] = {}
        bots: list[dict[str, Any]] = []
        if self._proc is None:
            return relay, bots
        try:
            self._conn.send(("stop",))
            if self._conn.poll(timeout):
                msg = self._conn.recv()
                if msg[0] == "report":
                    relay, bots = msg[1], msg[2]
        except (OSError, EOFError):
            pass
        self._proc.join(timeout)
        if self._proc.is_alive():
            self._proc.terminate()
            self._proc.join(5.0)
        self._proc = None
        return relay, bots


def _room_main(conn: Any, scene: str, n: int, viewer_seat: str | None) -> None:
    try:
        asyncio.run(_room(conn, scene, n, viewer_seat))
    except BaseException as e:  # reported to the parent, which raises it as one line
        try:
            conn.send(("error", f"{type(e).__name__}: {e}"))
        except OSError:
            pass


async def _room(conn: Any, scene: str, n: int, viewer_seat: str | None) -> None:
    from vrdiplomacy.net.relay_server import EmbeddedRelay
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.session.bots import plan_bots

    layout = load_layout(scene)
    plans = plan_bots(layout, n, viewer_seat)
    hrtf = default_hrtf()
    loop = asyncio.get_running_loop()
    inbox: asyncio.Queue[str] = asyncio.Queue()
    loop.add_reader(conn.fileno(), lambda: inbox.put_nowait(conn.recv()[0]))
    async with EmbeddedRelay(layouts={layout.scene: layout}, default_layout=layout) as relay:
        addr = RelayAddress(relay.host, relay.port, relay.fingerprint)
        bots: list[Bot] = []
        tasks: list[asyncio.Task[None]] = []
        try:
            conn.send(("ready", addr.host, addr.port, addr.fingerprint))
            if await inbox.get() == "go":
                for plan in plans:
                    bot, task = await start_bot(plan, addr, layout, layout.scene, hrtf)
                    bots.append(bot)
                    tasks.append(task)
                conn.send(("started",))
                await inbox.get()
            loop.remove_reader(conn.fileno())
            report = ("report", relay.server.core.counters.as_dict(), [bot_report(b) for b in bots])
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for b in bots:
                await b.session.stop()
    conn.send(report)
