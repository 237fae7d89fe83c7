"""The joint draft: brackets with owners, character positions, merging, history and permissions."""

from __future__ import annotations

import pytest

from vrdiplomacy.errors import ConfigError, ProtocolError
from vrdiplomacy.text import wire
from vrdiplomacy.text.core import TextCore
from vrdiplomacy.text.document import JointText

DRAFT = "The Assembly urges all States to reduce catches by 40 percent."


def test_brackets_render_and_follow_concurrent_edits() -> None:
    fr, de = JointText(), JointText()
    de.apply(fr.insert(0, DRAFT))
    at = DRAFT.index("by 40 percent")
    u1 = fr.bracket(at, at + len("by 40 percent"), "fr-1", "France")
    u2 = de.insert(DRAFT.index("reduce"), "significantly ")  # concurrent, before the bracket
    fr.apply(u2)
    de.apply(u1)
    assert fr.render() == de.render() == \
        "The Assembly urges all States to significantly reduce catches [by 40 percent]."
    (b,) = de.brackets()
    assert (b.id, b.owner, b.text) == ("fr-1", "France", "by 40 percent")
    fr.apply(de.insert(b.start + 3, "at least "))  # typed inside the bracket joins it
    assert fr.brackets()[0].text == "by at least 40 percent"


def test_only_the_owner_resolves_and_brackets_do_not_overlap() -> None:
    d = JointText()
    d.insert(0, DRAFT)
    d.bracket(4, 12, "fr-1", "France")
    with pytest.raises(ConfigError, match="overlap"):
        d.bracket(10, 20, "de-1", "Germany")
    with pytest.raises(ConfigError, match="belongs to France"):
        d.resolve("fr-1", "Germany")
    d.resolve("fr-1", "France", keep=False)
    assert d.render() == "The  urges all States to reduce catches by 40 percent."
    with pytest.raises(ConfigError):
        d.insert(999, "x")


def test_positions_are_characters_even_beyond_the_basic_plane() -> None:
    """pycrdt counts UTF-8 bytes; our API counts characters (an edit never splits "🌊")."""
    a, b = JointText(), JointText()
    b.apply(a.insert(0, "a🌊b"))
    b.apply(a.insert(2, "X"))
    a.apply(b.delete(1, 2))
    assert a.text() == b.text() == "aXb"
    a.apply(a.insert(1, "é🌊"))
    a.bracket(1, 3, "x", "France")
    assert a.render() == "a[é🌊]Xb"


def test_malformed_updates_are_protocol_errors() -> None:
    d = JointText()
    for junk in (b"", b"\x01", b"garbage", bytes(100)):
        try:
            d.apply(junk)
        except ProtocolError:
            pass
    assert d.text() == ""


def pump(cores: dict[str, TextCore], extra: list[tuple[str, bytes]] | None = None) -> None:
    queue = list(extra or [])
    while True:
        for n, c in cores.items():
            queue.extend((n, p) for _s, p in c.data_to_send())
        if not queue:
            return
        sender, payload = queue.pop(0)
        for c in cores.values():
            c.receive(payload, sender, 7.0)


def test_history_names_each_author_and_outsiders_are_dropped() -> None:
    allowed = {"France", "Germany"}
    cores = {n: TextCore(n, lambda s: s in allowed) for n in ("France", "Germany", "Observer")}
    cores["France"].insert("L.12", 0, DRAFT)
    pump(cores)
    cores["Germany"].insert("L.12", 0, "Recalling its resolution 77/1, ")
    pump(cores)
    with pytest.raises(ConfigError):
        cores["Observer"].insert("L.12", 0, "x")
    outsider = JointText()
    outsider.apply(cores["Observer"].docs["L.12"].snapshot())
    pump(cores, [("Observer", bytes(wire.Update("L.12", 1, outsider.insert(0, "FORGED "))))])
    texts = {c.docs["L.12"].text() for c in cores.values()}
    assert texts == {"Recalling its resolution 77/1, " + DRAFT}
    for c in cores.values():
        assert [(h.author, h.seq) for h in c.history["L.12"]] == [("France", 1), ("Germany", 1)]
        assert c.counters.not_allowed == 1


def test_removing_someone_elses_bracket_is_reported_on_every_other_replica() -> None:
    names = ("France", "Germany", "Brazil")
    cores = {n: TextCore(n, lambda s: s in names) for n in names}
    cores["France"].insert("d", 0, DRAFT)
    pump(cores)
    bid = cores["France"].bracket("d", 0, 12)
    pump(cores)
    # Germany's client bypasses the API check (a modified client) and resolves France's bracket
    forged = cores["Germany"].docs["d"].resolve(bid, "France", keep=False)
    pump(cores, [("Germany", bytes(wire.Update("d", 99, forged)))])
    for c in (cores["France"], cores["Brazil"]):  # the forger's own modified client reports nothing
        assert c.counters.violations == 1
        ev = [e for e in iter(c.next_event, None) if e.kind == "violation"]
        assert ev and ev[0].who == "Germany" and "France's bracket" in ev[0].detail
    assert len({c.docs["d"].render() for c in cores.values()}) == 1


def test_wire_vectors_and_malformed_input() -> None:
    vectors = [
        (wire.Update("L.12", 3, b"\x01\x02"), ("54010100044c2e313200000003" "00000002" "0102")),
        (wire.Sync("L.12", b"\x00", answer=True), ("54010200044c2e3132" "01" "00000001" "00")),
        (wire.SyncReply("L.12", b"\xaa\xbb"), ("54010300044c2e3132" "00000002" "aabb")),
    ]
    for msg, hexed in vectors:
        assert bytes(msg).hex() == hexed and wire.parse(bytes.fromhex(hexed)) == msg
        data = bytes.fromhex(hexed)
        for n in range(len(data)):
            with pytest.raises(ProtocolError):
                wire.parse(data[:n])
        with pytest.raises(ProtocolError):
            wire.parse(data + b"\x00")
    c = TextCore("France", lambda s: True)
    for junk in (b"\x54\x01\x09\x00\x01d", b"\x54\x02\x01", bytes.fromhex("54010100014400000001000000030102ff")):
        c.receive(junk, "Germany")
    assert c.counters.malformed == 3 and not c.docs


def test_cursors_are_awareness_of_editors_only_and_joining_does_not_flood() -> None:
    """A cursor message (ephemeral, never in the CRDT) is kept per editor, an observer's is dropped;
    its bytes are fixed. Empty clients asking for a document get no answers from empty peers (30
    bots joining a room sent 30 x 30 syncs before), while a peer with text answers with it."""
    cur = wire.Cursor("L.12", 42, editing=True)
    assert bytes(cur).hex() == "54010500044c2e3132" "01" "0000002a" and wire.parse(bytes(cur)) == cur
    for n in range(len(bytes(cur))):
        with pytest.raises(ProtocolError):
            wire.parse(bytes(cur)[:n])
    allowed = {"France", "Germany"}
    names = ("France", "Germany", "Observer", "Brazil")
    cores = {n: TextCore(n, lambda s: s in allowed) for n in names}
    cores["Germany"].set_cursor("L.12", 3)
    (payload,) = cores["Germany"].cursors_to_send()
    cores["France"].receive(payload, "Germany", 5.0)
    cores["France"].receive(bytes(wire.Cursor("L.12", 1)), "Observer", 5.0)
    assert {n: (c.index, c.at) for n, c in cores["France"].cursors.items()} == {"Germany": (3, 5.0)}
    assert cores["France"].counters.not_allowed == 1 and not cores["France"].docs.get("L.12", JointText()).text()
    for c in cores.values():
        c.join("L.12")
    sent = 0
    queue = [(n, p) for n, c in cores.items() for _s, p in c.data_to_send()]
    while queue:
        sender, p = queue.pop(0)
        sent += 1
        for n, c in cores.items():
            c.receive(p, sender)
            queue.extend((n, q) for _s, q in c.data_to_send())
    assert sent == len(names)  # each one's own question, nothing more
    cores["France"].insert("L.12", 0, DRAFT)
    cores["France"].data_to_send()  # lost in transit: the late joiner must ask for it
    late = TextCore("Late", lambda s: s in allowed)
    late.join("L.12")
    pump({**cores, "Late": late})
    assert late.doc("L.12").text() == DRAFT


@pytest.mark.parametrize("mark", [{"x": 1}, 5, ["b1"], True])
def test_a_peer_update_whose_bracket_mark_is_not_an_id_is_merged_as_plain_text(mark: object) -> None:
    """A well-formed CRDT update from a peer whose text carries ``{"bracket": {...}}`` (or a number,
    a list) instead of a bracket id: receiving it raised TypeError out of pycrdt when the client
    listed the brackets: fails on main 68e45bd. Now the text merges, unbracketed, and editing goes on."""
    from pycrdt import Doc, Map, Text

    hostile = Doc()
    hostile["body"] = body = Text()
    hostile["brackets"] = meta = Map()
    body += "abc"
    meta["b1"] = '{"owner": "' + "[" * 5000 + '"}'
    body.format(0, 2, {"bracket": mark})
    me = TextCore("fr", lambda who: True, client_id=9)
    me.insert("d", 0, "hi ")
    me.receive(bytes(wire.Update("d", 1, hostile.get_update())), "eve", 0.0)
    doc = me.doc("d")
    assert sorted(doc.text()) == sorted("hi abc") and doc.brackets() == []
    assert me.counters.merged == 1 and me.counters.malformed == 0
    me.bracket("d", 0, 2)
    assert [b.owner for b in me.doc("d").brackets()] == ["fr"]
