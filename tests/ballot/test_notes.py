"""Vote events become the record's notes; a secret vote's notes carry no choice."""

from __future__ import annotations

from pump import room

from vrdiplomacy.ballot.election import Manifest
from vrdiplomacy.ballot.notes import meeting_notes


def notes_of(secret: bool) -> list:  # type: ignore[type-arg]
    voters = ("France", "Germany")
    r = room(["France", "Germany", "T1", "T2"])
    m = Manifest("v1", "3", "Adopt?", secret=secret, voters=voters, trustees=("T1", "T2") if secret else (),
                 threshold=2 if secret else 0, chair="Chair")
    r.cores["Chair"].open(m)
    r.pump()
    r.cores["France"].cast("v1", "yes")
    r.cores["Germany"].cast("v1", "no")
    r.pump()
    r.cores["Chair"].close("v1")
    r.pump()
    keys = {"Chair": 0, "France": 1, "Germany": 2, "T1": 3, "T2": 4}
    return [n for e in r.events["France"] for n in meeting_notes(r.cores["France"], e, 5.0, keys.get)]


def test_recorded_vote_notes_name_each_choice() -> None:
    notes = notes_of(secret=False)
    assert [n.kind for n in notes] == ["vote_opened", "vote_cast", "vote_cast", "vote_closed", "vote_result"]
    assert notes[1].text == "France voted yes" and notes[1].actor == 1 and ("choice", "yes") in notes[1].data
    assert notes[-1].text == "result of vote v1: yes 1, no 1, abstain 0"


def test_secret_vote_notes_carry_no_choice() -> None:
    notes = notes_of(secret=True)
    kinds = [n.kind for n in notes]
    assert kinds[:2] == ["vote_opened", "vote_ready"] and kinds[-2:] == ["vote_closed", "vote_result"]
    casts = [n for n in notes if n.kind == "vote_cast"]
    assert [n.text for n in casts] == ["France cast a secret ballot", "Germany cast a secret ballot"]
    assert all(k != "choice" for n in casts for k, _ in n.data)
    assert "yes 1, no 1" in notes[-1].text
