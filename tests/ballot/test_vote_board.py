"""The chamber's vote board (render/vote_board.py): legible golden images of a recorded vote (one
light per delegation, its initial inside) and a secret ballot (totals only), a failed secret
ballot naming its absent trustees, a recorded vote closed at its deadline (who did not vote) that
ran before this client joined (restated, confirmed), what the lights mean, and the agenda screen
turning into the board while a vote is on.

Fails on main 94bf7c4: there was no vote board (``vrdiplomacy.render.vote_board`` did not exist).
Regenerate the goldens after a deliberate change: ``VRD_UPDATE_GOLDENS=1 pytest tests/ballot/test_vote_board.py``."""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vrdiplomacy.ballot.view import VoteBoardView
from vrdiplomacy.render import meeting_art as art
from vrdiplomacy.render.golden import Tolerance, compare, load_png
from vrdiplomacy.render.vote_board import (
    ROWS,
    agenda_or_vote,
    agenda_or_vote_key,
    vote_board,
)
from vrdiplomacy.session.meeting_view import MeetingView

GOLDEN = Path(__file__).resolve().parent / "golden"
NAMES = ("France", "Germany", "Italy", "Japan", "Brazil", "Kenya", "Canada", "India", "Mexico", "Norway")
CHOICES = ("yes", "no", "yes", "abstain", "yes", "yes", "no", "abstain", "yes")
RECORDED = VoteBoardView("item-4/1", "4", "Adopt draft resolution L.12 on climate finance as orally revised?",
                         ("yes", "no", "abstain"), False, "tallied", NAMES, 9, tuple(zip(NAMES, CHOICES)), (5, 2, 2), True)
SECRET = VoteBoardView("item-4/2", "4", "Refer the draft to the drafting committee?", ("yes", "no", "abstain"), True,
                       "tallied", NAMES[:3], 3, (), (2, 1, 0), True)
FAILED = replace(SECRET, stage="failed", counts=None, verified=False, cast=2, not_voted=("Italy",),
                 failure="tally failed: 1 of 2 partial decryptions needed; trustees France, Germany absent")
LATE = replace(RECORDED, voters=NAMES[:4], lights=tuple(zip(NAMES[:3], CHOICES)), counts=(2, 1, 0), cast=3,
               not_voted=("Japan",), restated_by="Chair", confirmed_by=("France", "Germany"))
TIGHT = Tolerance(channel=8, max_fraction=0.002, mean=0.3)  # the same font and Pillow: only rounding may differ


def _light(px: np.ndarray, i: int) -> tuple[int, int, int]:
    col, row = divmod(i, ROWS)
    x, cy = 32 + col * 256, 212 + row * 36
    return tuple(int(v) for v in px[cy - 7, x + 5, :3])  # inside the light, clear of its letter


@pytest.mark.parametrize("name,view", [("vote_recorded", RECORDED), ("vote_secret", SECRET), ("vote_failed", FAILED),
                                       ("vote_late", LATE)])
def test_vote_board_matches_golden(name: str, view: VoteBoardView) -> None:
    px = vote_board(view)
    path = GOLDEN / f"{name}.png"
    if os.environ.get("VRD_UPDATE_GOLDENS"):
        Image.fromarray(px[..., :3]).save(path, optimize=True)
    compare(px, load_png(path), name, TIGHT)


def test_lights_say_each_delegations_vote_and_a_secret_ballot_has_none() -> None:
    px = vote_board(RECORDED)
    assert _light(px, 0) == art.GREEN[:3] and _light(px, 1) == art.RED[:3] and _light(px, 3) == art.AMBER[:3]
    assert _light(px, 9) not in (art.GREEN[:3], art.RED[:3], art.AMBER[:3])  # Norway has not voted
    # a secret ballot shows totals only: who the voters are changes no pixel
    assert np.array_equal(vote_board(SECRET), vote_board(replace(SECRET, voters=("Chile", "Ghana", "Peru"))))
    # a recorded one names them
    assert not np.array_equal(px, vote_board(replace(RECORDED, voters=("Chile", *NAMES[1:]))))
    # before the tally: the count of ballots only, no result
    open_ = vote_board(replace(RECORDED, stage="open", counts=None, verified=False))
    assert not np.array_equal(open_[300:480, 560:], px[300:480, 560:])


def test_the_agenda_screen_shows_the_board_while_a_vote_is_on() -> None:
    v = MeetingView(agenda=("Opening", "Climate finance"), agenda_index=1, phase="voting")
    assert np.array_equal(agenda_or_vote(v), art.agenda_screen(v))
    with_vote = replace(v, vote=RECORDED)
    assert np.array_equal(agenda_or_vote(with_vote), vote_board(RECORDED))
    assert agenda_or_vote_key(v) != agenda_or_vote_key(with_vote)
    # a ballot coming in changes what the screen depends on (its texture is redrawn)
    assert agenda_or_vote_key(with_vote) != agenda_or_vote_key(replace(v, vote=replace(RECORDED, cast=10)))
