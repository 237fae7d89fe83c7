"""Durable room events in the sans-I/O relay core (a mixin of :class:`~vrdiplomacy.net.relay_core.RelayCore`).

Delivery is at-least-once from the relay and exactly-once, in order, at the client:

* Each room has a :class:`RoomLog`: a random ``log_id`` naming its sequence space, the last
  ``room_seq`` handed out, the newest ``event_history`` events, and per sender client id the
  highest client sequence number stored (so a client re-sending an event the relay stored but
  never acknowledged is not stored twice, even across a relay restart).
* The log's storage is injected (:class:`EventStore`): the core reports every change to it and
  never waits; the adapter (:mod:`vrdiplomacy.net.event_log`, a journal file in the relay's state
  directory) writes and ``fsync``-s the change *before* it releases any control bytes the core
  produced after it, so an :class:`~vrdiplomacy.net.wire.Ack` means "stored durably" and no client
  ever sees a ``room_seq`` a restarted relay could hand out again. :class:`MemoryEventStore`
  keeps the "durable" part in memory (core tests), with an explicit :meth:`MemoryEventStore.sync`
  to model a crash between store and fan-out.
* After a restart the relay loads every log; a client resuming (with its resume token) names the
  ``log_id`` and last ``room_seq`` it received, and the relay replays what followed from the
  history. A log nobody resumes into within ``resume_grace`` is dropped, like the sessions it
  belonged to; an emptied room's log is dropped with the room.
"""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from vrdiplomacy.net import wire


@dataclass(frozen=True)
class StoredEvent:
    """One room event as stored: its room sequence number, the sender's relay client id and
    client sequence number, and the opaque payload (end-to-end sealed in a secured room)."""

    room_seq: int
    sender: int
    client_seq: int
    payload: bytes

    def message(self) -> wire.RoomEvent:
        return wire.RoomEvent(self.room_seq, self.sender, self.payload)


@dataclass
class RoomLog:
    """The event log of one room (``key`` as in :func:`~vrdiplomacy.net.relay_state.room_key`)."""

    key: str
    log_id: int
    seq: int = 0
    history: deque[StoredEvent] = field(default_factory=deque)
    client_seqs: dict[int, int] = field(default_factory=dict)

    def append(self, sender: int, client_seq: int, payload: bytes) -> StoredEvent:
        self.seq += 1
        ev = StoredEvent(self.seq, sender, client_seq, payload)
        self.history.append(ev)
        if client_seq > self.client_seqs.get(sender, 0):
            self.client_seqs[sender] = client_seq
        return ev

    def add(self, ev: StoredEvent) -> None:
        """Add a stored event read back from storage (one already there is ignored)."""
        if ev.room_seq <= self.seq:
            return
        self.seq = max(self.seq, ev.room_seq)
        self.history.append(ev)
        if ev.client_seq > self.client_seqs.get(ev.sender, 0):
            self.client_seqs[ev.sender] = ev.client_seq


def new_log_id() -> int:
    return secrets.randbits(32) or 1


class EventStore(Protocol):
    """Where room logs are kept. Calls come in the core's order; none may block on I/O (the
    adapter writes and syncs them before it releases the core's output)."""

    def load(self, history: int) -> dict[str, RoomLog]:
        """The logs stored so far (at most ``history`` events each)."""
        ...

    def created(self, log: RoomLog) -> None: ...

    def appended(self, log: RoomLog, ev: StoredEvent) -> None: ...

    def dropped(self, key: str) -> None: ...


class MemoryEventStore:
    """An :class:`EventStore` in memory: changes become durable at :meth:`sync` (or at once with
    ``auto_sync``); :meth:`load` returns copies of the durable part, as a restarted relay reads it."""

    def __init__(self, auto_sync: bool = True, keep: int = 4096) -> None:
        self.auto_sync = auto_sync
        self.keep = keep  # newest events kept per log
        self.durable: dict[str, tuple[int, int, deque[StoredEvent]]] = {}  # key -> (log id, seq base, events)
        self.pending: list[tuple[str, str, object]] = []

    def load(self, history: int) -> dict[str, RoomLog]:
        out: dict[str, RoomLog] = {}
        for key, (log_id, base, events) in self.durable.items():
            log = RoomLog(key, log_id, base, deque(maxlen=history))
            for ev in events:
                log.add(ev)
            out[key] = log
        return out

    def created(self, log: RoomLog) -> None:
        self._op("created", log.key, (log.log_id, log.seq))

    def appended(self, log: RoomLog, ev: StoredEvent) -> None:
        self._op("appended", log.key, ev)

    def dropped(self, key: str) -> None:
        self._op("dropped", key, None)

    def _op(self, kind: str, key: str, arg: object) -> None:
        self.pending.append((kind, key, arg))
        if self.auto_sync:
            self.sync()

    def sync(self) -> None:
        for kind, key, arg in self.pending:
            if kind == "created":
                log_id, base = arg  # type: ignore[misc]
                self.durable[key] = (log_id, base, deque(maxlen=self.keep))
            elif kind == "appended" and key in self.durable:
                self.durable[key][2].append(arg)  # type: ignore[arg-type]
            elif kind == "dropped":
                self.durable.pop(key, None)
        self.pending.clear()

    def crash(self) -> None:
        """Forget what was not synced (the process died before the fsync)."""
        self.pending.clear()


class RelayEvents:
    """Room event logs, storage, replay and dedupe of the relay core."""

    events_store: EventStore
    _send: Callable[..., None]

    def _init_events(self, store: EventStore | None, history: int) -> None:
        self.events_store = store if store is not None else MemoryEventStore()
        self._history = history
        # logs read back at start that no room claimed yet, and when they are given up
        self._dormant: dict[str, RoomLog] = self.events_store.load(history)
        self._dormant_deadline: float | None = None

    def waiting_logs(self) -> list[RoomLog]:
        """Logs read back at start that no room has claimed yet (their members may still resume)."""
        return list(self._dormant.values())

    def _room_log(self, key: str) -> RoomLog:
        """The log for a room being created: the stored one after a restart, else a new one."""
        log = self._dormant.pop(key, None)
        if log is None:
            log = RoomLog(key, new_log_id(), 0, deque(maxlen=self._history))
            self.events_store.created(log)
        return log

    def _drop_log(self, key: str) -> None:
        self.events_store.dropped(key)

    def _logged_client_seq(self, client_id: int, logs: list[RoomLog]) -> int:
        """The highest client sequence number of ``client_id`` stored in any of ``logs``."""
        return max((log.client_seqs.get(client_id, 0) for log in logs), default=0)

    def _store_event(self, log: RoomLog, sender: int, client_seq: int, payload: bytes) -> StoredEvent:
        ev = log.append(sender, client_seq, payload)
        self.events_store.appended(log, ev)
        return ev

    def _replay(self, conn: object, log: RoomLog, after: int, now: float) -> tuple[int, int]:
        """Send the stored events after ``after``; returns (replayed, missing: fell out of the history)."""
        n = 0
        first = log.history[0].room_seq if log.history else log.seq + 1
        for ev in log.history:
            if ev.room_seq > after:
                self._send(conn, ev.message(), now)
                n += 1
        return n, max(0, min(first, log.seq + 1) - after - 1)

    def _expire_dormant(self, now: float, grace: float) -> None:
        if not self._dormant:
            return
        if self._dormant_deadline is None:
            self._dormant_deadline = now + grace
        elif now >= self._dormant_deadline:
            for key in list(self._dormant):
                del self._dormant[key]
                self.events_store.dropped(key)
