"""The nats-py side of federated receptions (sans-I/O part: :mod:`vrdiplomacy.reception.relay_fed`),
driven by :class:`~vrdiplomacy.net.federation_io.FederationLink`.

One JetStream stream, ``VRD_RECEPTION`` (subjects ``vrd.reception.*``, file storage, the
federation's replicas, a 2-minute de-duplication window), holds every reception's records. The
node writes its records in order, up to ``WINDOW`` awaiting acknowledgement at once (its one NATS
connection keeps their order), each with a ``Nats-Msg-Id`` (a record re-sent after a NATS node
failure is stored once), retrying one that got no acknowledgement until JetStream has it (only
then may two of a node's records land out of their order; the records are written so that this
changes no outcome but a guest's place in the line). When the node opens
a room it reads that room's records with an ordered consumer (filtered on the room's subject)
from the first it has not applied, and waits until it has read up to the last one before the
room counts as opened; a room without a reception costs one "last record" lookup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import TYPE_CHECKING, Any

from vrdiplomacy.reception import fed_wire as fwr

if TYPE_CHECKING:
    from vrdiplomacy.net.federation_io import FederationLink

log = logging.getLogger("vrdiplomacy.reception")
WINDOW = 64  # records awaiting JetStream's acknowledgement at once


class ReceptionLink:
    """Reception records between one relay node's core and JetStream."""

    def __init__(self, link: FederationLink) -> None:
        self.link = link
        self.core = link.core
        self._queue: asyncio.Queue[tuple[str, fwr.ReceptionRecord]] = asyncio.Queue()
        self._publisher: asyncio.Task[None] | None = None
        self._subs: dict[str, Any] = {}  # room token -> ordered consumer subscription
        self.retries = 0

    async def start(self) -> None:
        await self._ensure_stream()
        self._publisher = asyncio.create_task(self._publish())

    async def close(self) -> None:
        if self._publisher is not None:
            self._publisher.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._publisher
        for sub in self._subs.values():
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
        self._subs.clear()

    def take(self) -> None:
        """The core's records to write (called by the link's pump on every wake-up)."""
        for item in self.core.reception_fed_take():
            self._queue.put_nowait(item)

    async def _ensure_stream(self) -> None:
        from nats.js.api import StorageType, StreamConfig
        from nats.js.errors import NotFoundError

        js = self.link.js
        try:
            await js.stream_info(fwr.STREAM)
        except NotFoundError:
            cfg = StreamConfig(name=fwr.STREAM, subjects=[fwr.subject("*")], storage=StorageType.FILE,
                               num_replicas=self.link.opts.federation.replicas, duplicate_window=120.0)
            try:
                await js.add_stream(cfg)
            except Exception:  # noqa: BLE001 - another node made it meanwhile
                await js.stream_info(fwr.STREAM)

    async def _publish(self) -> None:
        """Write the queued records: up to ``WINDOW`` at once (one NATS connection keeps their
        order), then any that got no acknowledgement again, one by one, until stored."""
        while True:
            batch = [await self._queue.get()]
            while len(batch) < WINDOW and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            done = await asyncio.gather(*(self._put(t, r) for t, r in batch), return_exceptions=True)
            for (token, rec), ok in zip(batch, done, strict=True):
                delay = 0.05
                while ok is not True:
                    self.retries += 1
                    log.info("reception record %s not stored yet (%s); retrying", fwr.KINDS[rec.kind], ok)
                    if "stream not found" in str(ok).lower():
                        with contextlib.suppress(Exception):
                            await self._ensure_stream()
                    await asyncio.sleep(delay)
                    delay = min(0.5, delay * 2)
                    try:
                        ok = await self._put(token, rec)
                    except Exception as e:  # noqa: BLE001 - not stored yet: retried (its outcome waits for it)
                        ok = e  # type: ignore[assignment]

    async def _put(self, token: str, rec: fwr.ReceptionRecord) -> bool:
        await self.link.js.publish(fwr.subject(token), bytes(rec), timeout=1.0, stream=fwr.STREAM,
                                   headers={"Nats-Msg-Id": rec.msg_id()})
        return True

    async def open(self, token: str) -> None:
        """Read room ``token``'s records on from the first not applied, up to the last one now."""
        from nats.js.api import ConsumerConfig, DeliverPolicy
        from nats.js.errors import NotFoundError

        if token in self._subs:
            return
        js = self.link.js
        loop = asyncio.get_running_loop()
        try:
            last = int((await js.get_last_msg(fwr.STREAM, fwr.subject(token))).seq)
        except NotFoundError:
            last = 0
        start = self.core.reception_applied(token) + 1
        caught_up = asyncio.Event()
        if last < start:
            caught_up.set()

        async def on_record(msg: Any) -> None:
            seq = msg.metadata.sequence.stream
            self.core.reception_fed_in(token, seq, msg.data, loop.time())
            if seq >= last:
                caught_up.set()
            self.link.flush()

        cfg = ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
        sub = await js.subscribe(fwr.subject(token), cb=on_record, stream=fwr.STREAM, ordered_consumer=True,
                                 idle_heartbeat=0.5, config=cfg)
        try:
            await asyncio.wait_for(caught_up.wait(), 5.0)
        except TimeoutError:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
            raise
        self._subs[token] = sub

    async def leave(self, token: str) -> None:
        sub = self._subs.pop(token, None)
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()
