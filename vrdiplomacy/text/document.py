"""A joint draft: one paragraph of text with bracketed passages, merged by a kept CRDT.

The document is a :mod:`pycrdt` ``Doc`` (Yrs, the Rust port of Yjs: updates from any number of
replicas merge to the same state whatever their order, duplicates included) with:

* ``body`` — a ``Text``; a bracketed passage ("[disputed wording]", as diplomats draft) is a run
  of characters carrying the formatting attribute ``{"bracket": id}``. Text typed inside a
  bracket joins it (Yjs formatting semantics), so a bracket follows concurrent edits.
* ``brackets`` — a ``Map`` from bracket id to its owner (the delegation that opened it, who alone
  may resolve it through this API) and who opened it.

Positions in this API are characters (Python string indices); pycrdt's ``Text`` counts UTF-8
bytes, so every position is converted (:meth:`JointText._at`) — an edit never splits a character
(splitting "🌊" made replicas diverge before this conversion; tests/text keep such characters).

Brackets do not nest: opening one over text that is already bracketed is refused. Rendering puts
"[" and "]" around each bracketed run (:meth:`JointText.render`). Every local change returns its
CRDT update (bytes) for the room; :meth:`JointText.apply` merges a peer's, or holds it until
what it builds on has merged (updates arrive in any order).
"""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from pycrdt import Assoc, Doc, Map, StickyIndex, Text

from vrdiplomacy.errors import ConfigError, ProtocolError
from vrdiplomacy.text import yupdate

MAX_HELD = 1024  # peers' updates held per document until what they build on arrives
MAX_HELD_BYTES = 4 * 1024 * 1024


@dataclass(frozen=True)
class Bracket:
    """A bracketed passage: its id, owner, and the text it holds now (``start``..``end`` in the body)."""

    id: str
    owner: str
    text: str
    start: int
    end: int


class JointText:
    """One document (see the module docstring). ``client_id`` pins the CRDT replica id (tests)."""

    def __init__(self, client_id: int | None = None) -> None:
        self.doc = Doc() if client_id is None else Doc(client_id=client_id)
        self.doc["body"] = self.body = Text()
        self.doc["brackets"] = self.meta = Map()
        self._held: deque[tuple[bytes, yupdate.Needs, object]] = deque()  # (update, needs, tag)
        self._held_bytes = 0

    # ------------------------------------------------------------ reading

    def text(self) -> str:
        """The plain text, without bracket marks."""
        return str(self.body)

    def runs(self) -> list[tuple[str, str | None]]:
        """``(text, bracket id or None)`` runs in order."""
        out: list[tuple[str, str | None]] = []
        for chunk, attrs in self.body.diff():
            bid = (attrs or {}).get("bracket")
            if not isinstance(bid, str):  # a peer's update may carry any value: only a text id names a bracket
                bid = None
            s = str(chunk)
            if out and out[-1][1] == bid:
                out[-1] = (out[-1][0] + s, bid)
            else:
                out.append((s, bid))
        return out

    def render(self) -> str:
        """The text as diplomats read it: bracketed passages in square brackets."""
        return "".join(f"[{s}]" if bid else s for s, bid in self.runs())

    def brackets(self) -> list[Bracket]:
        out, pos = [], 0
        for s, bid in self.runs():
            if bid:
                out.append(Bracket(bid, self.owner(bid), s, pos, pos + len(s)))
            pos += len(s)
        return out

    def owner(self, bracket_id: str) -> str:
        raw = self.meta.get(bracket_id)
        if raw is None:
            return ""
        try:
            return str(json.loads(str(raw)).get("owner", ""))
        except (ValueError, AttributeError, RecursionError):
            return ""

    def state_vector(self) -> bytes:
        return self.doc.get_state()

    def may_have_news(self, state_vector: bytes) -> bool:
        """Whether the replica at ``state_vector`` (Yjs v1: varuint count, then varuint client and
        clock pairs) may hold changes this one has not merged. A state vector counts insertions
        only: a replica that holds any item may have deleted some we still show, with the same
        vector as ours, so only an empty replica surely has nothing for us (a malformed vector
        counts as having news)."""
        theirs = _decode_sv(bytes(state_vector))
        return theirs is None or any(clock > 0 for clock in theirs.values())

    def digest(self) -> str:
        """SHA-256 of the rendered text with the owners (a version's fingerprint)."""
        owners = {b.id: b.owner for b in self.brackets()}
        return hashlib.sha256((self.render() + json.dumps(owners, sort_keys=True)).encode()).hexdigest()[:16]

    # ------------------------------------------------------------ local edits (each returns its update)

    def _change(self, fn: Callable[[], None]) -> bytes:
        before = self.doc.get_state()
        with self.doc.transaction():
            fn()
        return self.doc.get_update(before)

    def _at(self, text: str, index: int) -> int:
        """The UTF-8 byte offset pycrdt uses for character ``index`` of ``text``."""
        return len(text[:index].encode())

    def insert(self, index: int, s: str) -> bytes:
        t = self.text()
        if not 0 <= index <= len(t):
            raise ConfigError(f"position {index} is outside the text (0..{len(t)})")
        at = self._at(t, index)
        return self._change(lambda: self.body.insert(at, s))

    def delete(self, start: int, end: int) -> bytes:
        t = self.text()
        if not 0 <= start <= end <= len(t):
            raise ConfigError(f"range {start}..{end} is outside the text (0..{len(t)})")
        a, b = self._at(t, start), self._at(t, end)
        return self._change(lambda: self.body.__delitem__(slice(a, b)))

    def bracket(self, start: int, end: int, bracket_id: str, owner: str) -> bytes:
        """Put ``start..end`` in brackets owned by ``owner``."""
        t = self.text()
        if not 0 <= start < end <= len(t):
            raise ConfigError(f"range {start}..{end} is outside the text (0..{len(t)})")
        if bracket_id in self.meta:
            raise ConfigError(f"bracket {bracket_id!r} exists")
        if any(b.start < end and start < b.end for b in self.brackets()):
            raise ConfigError("brackets do not nest or overlap")

        def go() -> None:
            self.meta[bracket_id] = json.dumps({"owner": owner})
            self.body.format(self._at(t, start), self._at(t, end), {"bracket": bracket_id})
        return self._change(go)

    def resolve(self, bracket_id: str, by: str, keep: bool = True) -> bytes:
        """Remove a bracket (only its owner may): keep its text plain, or delete it (``keep=False``)."""
        b = next((b for b in self.brackets() if b.id == bracket_id), None)
        if b is None:
            raise ConfigError(f"no bracket {bracket_id!r}")
        if by != b.owner:
            raise ConfigError(f"bracket {bracket_id!r} belongs to {b.owner}, not {by}")

        t = self.text()
        a, z = self._at(t, b.start), self._at(t, b.end)

        def go() -> None:
            if keep:
                self.body.format(a, z, {"bracket": None})
            else:
                del self.body[a:z]
            del self.meta[bracket_id]
        return self._change(go)

    # ------------------------------------------------------------ merging

    def apply(self, update: bytes, tag: object = None, merged: Callable[[object], None] | None = None) -> bool:
        """Merge a peer's update (idempotent) once this replica holds everything it builds on:
        now (returns True), or else it is held (False) and merges when an update that completes
        it does. ``merged(tag)`` is called for each update as it merges: this one, then the held
        ones it unblocks, in that order. Yrs's own store for such updates lost or misplaced items
        when several waited at once (:mod:`vrdiplomacy.text.yupdate`), so it never gets one."""
        update = bytes(update)
        need = yupdate.needs(update)  # ProtocolError: malformed, not held
        if not need.ready(self._have()):
            self._hold(update, need, tag)
            return False
        self._merge(update)
        if merged is not None:
            merged(tag)
        self._retry(merged)
        return True

    def held(self) -> int:
        """Updates waiting for what they build on."""
        return len(self._held)

    def _have(self) -> dict[int, int]:
        return _decode_sv(self.doc.get_state()) or {}

    def _merge(self, update: bytes) -> None:
        try:
            self.doc.apply_update(update)
        except Exception as e:  # pycrdt raises plain ValueError/RuntimeError on a malformed update
            raise ProtocolError(f"malformed text update: {e}") from e

    def _hold(self, update: bytes, need: yupdate.Needs, tag: object) -> None:
        self._held.append((update, need, tag))
        self._held_bytes += len(update)
        while len(self._held) > MAX_HELD or self._held_bytes > MAX_HELD_BYTES:  # the oldest go: a
            self._held_bytes -= len(self._held.popleft()[0])  # resync brings what they carried

    def _retry(self, merged: Callable[[object], None] | None) -> None:
        progress = True
        while progress and self._held:
            progress = False
            for entry in list(self._held):
                if not entry[1].ready(self._have()):
                    continue
                self._held.remove(entry)
                self._held_bytes -= len(entry[0])
                try:
                    self._merge(entry[0])
                except ProtocolError:
                    continue  # one Yrs refuses although it reads as whole: dropped
                progress = True
                if merged is not None:
                    merged(entry[2])

    def diff_since(self, state_vector: bytes) -> bytes:
        """What a replica at ``state_vector`` lacks."""
        try:
            return self.doc.get_update(bytes(state_vector))
        except Exception as e:
            raise ProtocolError(f"malformed state vector: {e}") from e

    # ------------------------------------------------------------ a local caret that follows edits

    def anchor(self, index: int) -> StickyIndex | None:
        """Our own caret at character ``index`` as a Yjs relative position (it stays after the
        character before it whatever peers insert or delete around it); None at the start of the
        text. Made from this replica only: pycrdt aborts on some positions (the end of a text
        with the other association, a malformed encoding), so none is ever decoded from a peer."""
        t = self.text()
        index = max(0, min(index, len(t)))
        if index == 0:
            return None
        return self.body.sticky_index(self._at(t, index), Assoc.BEFORE)

    def anchor_index(self, anchor: StickyIndex | None) -> int:
        """The character position of :meth:`anchor`'s result now."""
        if anchor is None:
            return 0
        at = anchor.get_index()
        return len(self.text().encode()[:max(0, at)].decode("utf-8", errors="ignore"))

    def snapshot(self) -> bytes:
        """The whole document as one update (to save, or to send a newcomer)."""
        return self.doc.get_update()


def _decode_sv(data: bytes) -> dict[int, int] | None:
    """A Yjs v1 state vector as {client: clock}; None when malformed."""
    pos = 0

    def varuint() -> int:
        nonlocal pos
        value = shift = 0
        while True:
            if pos >= len(data) or shift > 63:
                raise ValueError("truncated")
            b = data[pos]
            pos += 1
            value |= (b & 0x7F) << shift
            if b < 0x80:
                return value
            shift += 7

    try:
        n = varuint()
        if n > len(data):
            return None
        out = {}
        for _ in range(n):
            client = varuint()
            out[client] = varuint()
    except ValueError:
        return None
    return out if pos == len(data) else None
