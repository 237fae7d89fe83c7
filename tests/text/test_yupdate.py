"""Updates that arrive before what they build on: held by the replica, merged whole once they can.

pycrdt 0.14.13 (Yrs 0.28) parks such an update in its own "pending" store; with two parked at
once, the one that completes them merged and one of the two was lost for good: base "abcd", then
one writer's "x" at 0, "y" at 0 and "z" at 3, delivered y, z, x, rendered "xazbcd" instead of
"yxazbcd" (and the three-replica run of seed 2469 ended with three texts)."""

from __future__ import annotations

import itertools
import random

import pytest
from mutators import mutate
from pycrdt import Doc, Text

from vrdiplomacy.errors import ProtocolError
from vrdiplomacy.text import wire, yupdate
from vrdiplomacy.text.core import TextCore
from vrdiplomacy.text.document import JointText


def writer() -> tuple[JointText, list[bytes]]:
    a = JointText(1)
    return a, [a.insert(0, "abcd"), a.insert(0, "x"), a.insert(0, "y"), a.insert(3, "z")]


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
def test_one_writers_updates_merge_in_any_order(order: tuple[int, ...]) -> None:
    a, ups = writer()
    b = JointText(2)
    for i in order:
        b.apply(ups[i])
    assert b.render() == a.render() == "yxazbcd"
    assert b.held() == 0 and b.state_vector() == a.state_vector()


def test_an_update_is_held_until_what_it_builds_on_merges_then_in_order() -> None:
    _a, ups = writer()
    b, seen = JointText(2), []
    assert b.apply(ups[0], "base", seen.append)
    assert not b.apply(ups[2], "y", seen.append)  # builds on "x"
    assert not b.apply(ups[3], "z", seen.append)  # follows "y" in its author's clock
    assert b.held() == 2 and b.render() == "abcd" and seen == ["base"]
    assert b.apply(ups[1], "x", seen.append)
    assert seen == ["base", "x", "y", "z"] and b.held() == 0 and b.render() == "yxazbcd"


def test_a_held_update_is_credited_to_its_own_author() -> None:
    names = ("France", "Germany", "Brazil")
    cores = {n: TextCore(n, lambda s: s in names) for n in names}
    cores["France"].insert("L.12", 0, "abcd")
    first = [p for _s, p in cores["France"].data_to_send()]
    for n in ("Germany", "Brazil"):
        for p in first:
            cores[n].receive(p, "France", 1.0)
    cores["France"].insert("L.12", 4, " efgh")
    fr = [p for _s, p in cores["France"].data_to_send()]
    for p in fr:
        cores["Germany"].receive(p, "France", 2.0)
    cores["Germany"].insert("L.12", 9, " ij")  # builds on France's second edit
    de = [p for _s, p in cores["Germany"].data_to_send()]
    br = cores["Brazil"]
    for p in de:
        br.receive(p, "Germany", 3.0)  # before France's second edit
    assert br.doc("L.12").text() == "abcd" and br.counters.merged == 1
    for p in fr:
        br.receive(p, "France", 4.0)
    assert br.doc("L.12").text() == "abcd efgh ij" == cores["Germany"].doc("L.12").text()
    assert [(h.author, h.seq, h.at) for h in br.history["L.12"]] == \
        [("France", 1, 1.0), ("France", 2, 4.0), ("Germany", 1, 4.0)]
    assert br.counters.merged == 3 and br.counters.malformed == 0


def test_needs_reads_what_an_update_builds_on() -> None:
    _a, ups = writer()
    n = yupdate.needs(ups[2])  # "y" (clock 5) before "x" (clock 4)
    assert n.groups == [(1, 5, 6)] and n.needs == {1: 5}
    assert not n.ready({1: 4}) and n.ready({1: 5}) and n.ready({1: 9})
    d = Doc()
    d["body"] = body = Text()
    body += "🌊é"
    assert yupdate.needs(d.get_update()).groups[0][1:] == (0, 3)  # clocks count UTF-16 units
    del body[0:4]
    assert yupdate.needs(d.get_update()).needs == {d.client_id: 2}  # the delete set


def test_malformed_updates_are_protocol_errors_and_never_held() -> None:
    _a, ups = writer()
    rng = random.Random(7)
    d = JointText(2)
    for i in range(3000):
        junk = mutate(rng, rng.choice(ups))
        try:
            yupdate.needs(junk)
        except ProtocolError:
            with pytest.raises(ProtocolError):
                d.apply(junk)
    core = TextCore("fr", lambda who: True)
    core.receive(bytes(wire.Update("d", 1, ups[0] + b"\x00")), "de")  # trailing bytes
    assert core.counters.malformed == 1 and "d" not in core.docs
