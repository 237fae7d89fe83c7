"""The federation tests' in-memory NATS (:class:`test_federation_core.Bus`) with the reception
stream too: one list of records for all rooms, numbered in arrival order (as JetStream's
``VRD_RECEPTION``), each delivered in order to every node serving its room, and read from the
first (or from where the node stopped) when a node opens the room, before the room is synced."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "federation"))

from test_federation_core import Bus

from vrdiplomacy.reception import fed_wire as fwr


class RcBus(Bus):
    def __init__(self, *pumps: Any) -> None:
        super().__init__(*pumps)
        self.records: list[tuple[str, bytes]] = []  # (room token, record), stream order
        self.msg_ids: set[str] = set()
        self.defer_sync = False
        self.hold_kinds: set[int] = set()  # records of these kinds wait (JetStream slow) until release_held()
        self.held: list[tuple[str, Any]] = []
        self.deferred: list[Any] = []
        for p in pumps:
            self._wrap(p)

    def add(self, pump: Any) -> None:
        """A node joins (a restarted relay process: a fresh core on the same streams)."""
        self.pumps.append(pump)
        self.opened[id(pump.relay)] = set()
        self._wrap(pump)

    def _wrap(self, pump: Any) -> None:
        core = pump.relay
        synced = core.fed_synced

        def fed_synced(key: str, now: float) -> None:
            fr = core._fed_rooms.get(key)
            if fr is not None:
                self._replay(core, fr.token, now)
            if self.defer_sync:  # the room's event stream not read to its tail yet
                self.deferred.append(lambda: synced(key, pump.now))
            else:
                synced(key, now)

        core.fed_synced = fed_synced

    def _replay(self, core: Any, token: str, now: float) -> None:
        for seq, (tok, data) in enumerate(self.records, 1):
            if tok == token and seq > core.reception_applied(token):
                core.reception_fed_in(token, seq, data, now)

    def step(self, dt: float = 0.0) -> None:
        for i in range(10):
            super().step(dt if i == 0 else 0.0)
            moved = False
            for p in self.pumps:
                for token, rec in p.relay.reception_fed_take() + self._unheld():
                    moved = True
                    if rec.kind in self.hold_kinds:
                        self.held.append((token, rec))
                        continue
                    if rec.msg_id() in self.msg_ids:
                        continue
                    self.msg_ids.add(rec.msg_id())
                    self.records.append((token, bytes(rec)))
                    seq = len(self.records)
                    for q in self.pumps:
                        if token in self.opened[id(q.relay)]:
                            q.relay.reception_fed_in(token, seq, bytes(rec), q.now)
            if not moved:
                break

    def _unheld(self) -> list[tuple[str, Any]]:
        if self.hold_kinds:
            return []
        out, self.held = self.held, []
        return out

    def release_sync(self) -> None:
        deferred, self.deferred = self.deferred, []
        for f in deferred:
            f()

    def kinds(self) -> list[str]:
        return [fwr.KINDS[fwr.ReceptionRecord.parse(d).kind] for _t, d in self.records]
