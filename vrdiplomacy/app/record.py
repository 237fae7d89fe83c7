"""What ``vrdiplomacy record`` runs: the secretariat's recording node, ``verify`` and ``export``.

The node (:func:`keep`) is a real member of the room: a silent
:class:`~vrdiplomacy.session.runtime.DelegateSession` (no microphone, no loudspeakers, it neither
hears voices nor tracks poses) joined with the secretariat's delegation certificate; in a
secured room it is admitted by its invitation like anyone else and reads the room through the
verified roster. Every :data:`poll_s` it asks the :class:`~vrdiplomacy.record.observe.Observer`
what changed, numbers, chains and signs each note (:class:`~vrdiplomacy.record.entry.Chain`)
with its delegation key, stores it (:class:`~vrdiplomacy.record.store.RecordStore`: COMMIT with
``synchronous=FULL``) and only then prints ``acknowledged N kind: text``. Restarted on the same
file it checks the whole record, then continues the chain after a ``record_resumed`` entry.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509

from vrdiplomacy.config import user_dirs
from vrdiplomacy.crypto import identity as ident
from vrdiplomacy.crypto.session import LocalIdentity
from vrdiplomacy.errors import VrdError
from vrdiplomacy.record.entry import (
    NOBODY,
    Chain,
    Entry,
    Note,
    Party,
    RecordError,
    RecordHeader,
)
from vrdiplomacy.record.minutes import render
from vrdiplomacy.record.observe import Observer, ObserveSettings
from vrdiplomacy.record.store import RecordStore
from vrdiplomacy.record.verify import Verified, verify_rows

log = logging.getLogger("vrdiplomacy.record")


@dataclass
class KeepOptions:
    """The recording node: ``relay`` (a RelayAddress), ``room``, the ``seat`` it takes (not one of
    the layout's delegate seats), the record file ``out``, who it is (``me``: certificate and key;
    ``name`` its certificate name), ``secured`` (a :class:`~vrdiplomacy.app.join.SecuredJoin` for
    an end-to-end encrypted room, None for a plain one), ``duration`` seconds (0: until Ctrl+C or
    SIGTERM), ``poll_s`` how often it looks at the room, ``observe`` what it writes down."""

    relay: Any
    room: str
    out: Path
    me: LocalIdentity
    name: str
    seat: str = "secretariat"
    secured: Any = None
    duration: float = 0.0
    poll_s: float = 0.05
    observe: ObserveSettings = field(default_factory=ObserveSettings)


def now_us() -> int:
    return time.time_ns() // 1000


def _own(me: LocalIdentity, name: str) -> Party:
    v = me.certificate.subject.get_attributes_for_oid(x509.oid.NameOID.COUNTRY_NAME)
    return Party(name, str(v[0].value) if v else "")


def open_record(opts: KeepOptions) -> tuple[RecordStore, Chain, Note]:
    """The record file (new, or an existing one checked and continued), its chain, and the note
    that starts this run (``record_opened`` or ``record_resumed``)."""
    der = ident.cert_der(opts.me.certificate)
    me, relay = _own(opts.me, opts.name), f"{opts.relay.host}:{opts.relay.port}"
    mode = ("secured", "1" if opts.secured is not None else "0")
    if not opts.out.exists():
        opts.out.parent.mkdir(parents=True, exist_ok=True)
        header = RecordHeader(os.urandom(16), opts.room, relay, now_us(), der)
        store = RecordStore.create(opts.out, header)
        return store, Chain(header, opts.me.signing_key), Note(
            now_us(), "record_opened", me, NOBODY, f"Record opened by {me.label()} in room {opts.room}",
            (("room", opts.room), ("relay", relay), mode))
    store = RecordStore.open(opts.out)
    why = None
    if store.header.certificate != der:
        why = f"{opts.out} is kept with another certificate: record into a new file"
    elif store.header.room != opts.room:
        why = f"{opts.out} records room '{store.header.room}', not '{opts.room}': record into a new file"
    else:
        try:
            checked = verify_rows(store.header, store.rows())
        except RecordError as e:
            why = f"cannot continue {opts.out}: {e}"
    if why is not None:
        store.close()
        raise RecordError(why)
    last = checked.entries[-1] if checked.entries else None
    kept = len(checked.entries)
    return store, Chain(store.header, opts.me.signing_key, last), Note(
        now_us(), "record_resumed", me, NOBODY,
        f"Record resumed by {me.label()} after an interruption ({kept} entries kept)",
        (("room", opts.room), ("relay", relay), mode, ("kept", str(kept))))


class Keeper:
    """Stores notes as entries and acknowledges each one after its COMMIT (``ack`` prints it)."""

    def __init__(self, store: RecordStore, chain: Chain, ack: Callable[[Entry], None]) -> None:
        self.store, self.chain, self.ack = store, chain, ack
        self.acknowledged = 0

    def write(self, note: Note) -> Entry:
        e = self.chain.next(note)
        self.store.append(e)  # raises RecordError: the node stops (the chain cannot go on past a lost entry)
        self.acknowledged += 1
        self.ack(e)
        return e


def _print_ack(e: Entry) -> None:
    print(f"acknowledged {e.seq} {e.kind}: {e.text}", flush=True)


def keep(opts: KeepOptions) -> int:
    """Run the recording node until its duration ends or it is told to stop. A new record file
    that never got an entry (the relay could not be reached) is removed again."""
    created = not opts.out.exists()
    store, chain, first = open_record(opts)
    keeper = Keeper(store, chain, _print_ack)
    try:
        return asyncio.run(_keep(opts, keeper, first))
    finally:
        store.close()
        if created and keeper.acknowledged == 0:
            for suffix in ("", "-wal", "-shm", "-journal"):
                with contextlib.suppress(OSError):
                    Path(f"{opts.out}{suffix}").unlink()


async def _keep(opts: KeepOptions, keeper: Keeper, first: Note) -> int:
    from vrdiplomacy.net.secure import SecureRoom, SecureSettings
    from vrdiplomacy.scene.layout import load_layout
    from vrdiplomacy.scene.math3d import Pose
    from vrdiplomacy.session.runtime import DelegateSession, HeldPose, SessionSettings

    layout, head = None, Pose()
    with contextlib.suppress(VrdError):  # a room that is no scene of ours: delegations come from names
        layout = load_layout(opts.room)
        vp = layout.view()  # the node's avatar stands at the scene's default viewpoint
        head = Pose.from_yaw(vp.position, vp.yaw_deg)
    settings = SessionSettings(identity=opts.name, seat=opts.seat, room=opts.room, pose_hz=1.0, hear=False,
                               track_poses=False)
    # the resume token in the user's state folder: a node restarted after a crash gets its seat back at once
    settings.client = dataclasses.replace(settings.client, resume_dir=user_dirs().state)
    sealer = None
    if opts.secured is not None:
        s = opts.secured
        role = s.admission.role if s.admission is not None else None
        sealer = SecureRoom(opts.room, s.me, s.roots, SecureSettings(role=role), authority=s.authority)
        settings = dataclasses.replace(settings, client=dataclasses.replace(settings.client, admission=s.admission))
    session = DelegateSession(opts.relay.host, opts.relay.port, opts.relay.fingerprint, settings, layout,
                              HeldPose(head), sealer=sealer)
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    drain = session.drain_meeting_notes  # the meeting procedure's notes

    def country(key: int) -> str | None:
        if not isinstance(sealer, SecureRoom):
            return None
        m = sealer.members().get(key)
        return None if m is None else m.country

    def initial() -> list[str]:  # the verified roster when the node was admitted, itself excluded
        if not isinstance(sealer, SecureRoom):
            return []
        return [m.fingerprint for i, m in sealer.members().items() if i != sealer.session.index]

    observe = opts.observe if sealer is None else dataclasses.replace(opts.observe, settle_s=0.0)
    observer = Observer(observe, procedure_notes=True, country=country,
                        resumed=first.kind == "record_resumed", initial=initial)
    me = _own(opts.me, opts.name)
    if not await _start(session, stop):
        log.info("stopped before the room was reached: nothing recorded")
        return 0
    keeper.write(dataclasses.replace(first, time_us=now_us()))  # record_opened / _resumed, once in the room
    try:
        log.info("recording room %s on %s:%d into %s as %s (%s)", opts.room, opts.relay.host, opts.relay.port, opts.out,
                 opts.name, "end-to-end encrypted room, members named by their verified certificates" if sealer
                 else "room NOT end-to-end encrypted: names are the relay's word")
        t0_us = now_us() - int(session.now * 1e6)
        end = time.monotonic() + opts.duration if opts.duration else None
        reason = "stopped"
        while not stop.is_set():
            err = session.failed()
            if err is not None:
                raise err
            notes = drain()
            ready = sealer is None or bool(sealer.member)  # a secured room: once a verified roster lists us
            for note in observer.observe(session.state, session.gestures.floor, notes, now_us(), t0_us, ready):
                keeper.write(note)
            if end is not None and time.monotonic() >= end:
                reason = "duration over"
                break
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(stop.wait(), opts.poll_s)
        keeper.write(Note(now_us(), "record_closed", me, NOBODY, f"Record closed by {me.label()} ({reason})"))
    finally:
        await session.stop()
    e = keeper.chain
    print(f"record: {e.seq} entries in {opts.out}; {keeper.acknowledged} acknowledged in this run; last entry hash "
          f"{e.head.hex()}", flush=True)
    return 0


async def _start(session: Any, stop: asyncio.Event) -> bool:
    """Connect the session unless told to stop first (a relay that keeps the seat waiting)."""
    starting = asyncio.ensure_future(session.start())
    stopping = asyncio.ensure_future(stop.wait())
    await asyncio.wait({starting, stopping}, return_when=asyncio.FIRST_COMPLETED)
    stopping.cancel()
    if starting.done():
        starting.result()  # raises what the connection failed of
        return True
    starting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await starting
    await session.stop()
    return False


# --------------------------------------------------------------------------- verify / export


def verify_file(path: Path, roots: Sequence[x509.Certificate] | None = None) -> Verified:
    """Check a record file (see :mod:`vrdiplomacy.record.verify`); raises RecordError."""
    with RecordStore.open(path, readonly=True) as store:
        return verify_rows(store.header, store.rows(), roots)


def export_file(path: Path, fmt: str, roots: Sequence[x509.Certificate] | None = None) -> str:
    """The minutes of a record that verifies, as ``fmt`` ("md" or "json")."""
    return render(verify_file(path, roots), fmt)


def keeper_identity(cert_path: Path, key_path: Path, passphrase: bytes | None,
                    roots: Sequence[x509.Certificate] | None) -> tuple[LocalIdentity, str]:
    """The node's certificate and key (checked to belong together, and with ``roots`` to chain to
    one of them) and the certificate's name."""
    from vrdiplomacy.errors import ConfigError
    from vrdiplomacy.record.verify import cert_name

    cert = ident.load_certificate(cert_path)
    key = ident.load_private_key(key_path, passphrase)
    name = cert_name(cert)
    if roots is not None:
        name = ident.verify_certificate(cert, roots, time.time()).name
    pub = cert.public_key()
    if not hasattr(pub, "public_bytes_raw") or key.public_key().public_bytes_raw() != pub.public_bytes_raw():
        raise ConfigError(f"the key {key_path} does not belong to the certificate {cert_path}")
    return LocalIdentity(cert, key), name
