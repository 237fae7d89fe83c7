"""Minutes from a verified record (sans-I/O: a :class:`~vrdiplomacy.record.verify.Verified` in,
text out): Markdown for people, JSON for programs. Only a record that verified is exported."""

from __future__ import annotations

import datetime as dt
import json

from vrdiplomacy.record.entry import Entry, Party
from vrdiplomacy.record.verify import Verified

FORMATS = ("md", "json")


def utc(us: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(us / 1e6, dt.timezone.utc)


def who(p: Party, verified: str = "") -> str:
    """A party as the minutes name it ("—" for nobody); ``verified`` "0" marks the relay's word."""
    if not p.name:
        return "—"
    return p.label() + (" (unverified)" if verified == "0" else "")


def _cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ").replace("\r", " ")


def markdown(v: Verified) -> str:
    """Minutes: title, room, date, who kept the record, then one table row per entry, in order
    (number, time UTC, who, what)."""
    h = v.header
    start = utc(h.created_us)
    lines = [
        f"# Minutes of the meeting in room {h.room}",
        "",
        f"- Room: {h.room}" + (f" (relay {h.relay})" if h.relay else ""),
        f"- Date: {start:%Y-%m-%d} (times in UTC)",
        (f"- Record kept by: {v.name} ({v.fingerprint})"
         + (f", certificate issued by {v.ministry}" if v.trusted else ", certificate not checked against a trusted root")),
        (f"- Record: {h.record_id.hex()}, {len(v.entries)} entries, chain and signatures verified; last entry hash "
         f"{v.head.hex()}"),
        "",
        "| # | Time | Who | What |",
        "|---:|---|---|---|",
    ]
    for e in v.entries:
        t = utc(e.time_us)
        day = "" if t.date() == start.date() else f"{t:%Y-%m-%d} "
        lines.append(f"| {e.seq} | {day}{t:%H:%M:%S} | {_cell(who(e.actor, e.get('actor.verified')))} | {_cell(e.text)} |")
    return "\n".join(lines) + "\n"


def _party(p: Party) -> dict[str, str] | None:
    return None if not p.name else {"name": p.name, "delegation": p.delegation}


def entry_json(e: Entry) -> dict[str, object]:
    return {"seq": e.seq, "time": utc(e.time_us).isoformat(timespec="microseconds"), "kind": e.kind,
            "actor": _party(e.actor), "subject": _party(e.subject), "text": e.text, "data": dict(e.data),
            "hash": e.hash().hex()}


def as_json(v: Verified) -> str:
    h = v.header
    doc = {"room": h.room, "relay": h.relay, "record_id": h.record_id.hex(),
           "created": utc(h.created_us).isoformat(timespec="seconds"),
           "signer": {"name": v.name, "fingerprint": v.fingerprint, "trusted_root": v.trusted, "ministry": v.ministry},
           "head": v.head.hex(), "entries": [entry_json(e) for e in v.entries]}
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render(v: Verified, fmt: str) -> str:
    return markdown(v) if fmt == "md" else as_json(v)
