"""The meeting's pictures (no GL): what the chamber screens and the panels show, and what makes
them change. Fails on main 5dfeb41: there were no such pictures (the speaker screen was an image
baked into the chamber asset: "The floor is open.", "Speaking time: 00:00")."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from views import plenary

from vrdiplomacy.render import meeting_art as art
from vrdiplomacy.scene.hud import ACK_S, CHAIR_KEYS
from vrdiplomacy.session.meeting_view import MeetingView, QueueEntry


def _rgb(px: np.ndarray, x: int, y: int) -> tuple[int, int, int]:
    return tuple(int(v) for v in px[y, x, :3])  # type: ignore[return-value]


def test_speaker_screen_shows_the_speakers_real_flag() -> None:
    """Fails on main 2f3c005: the plate was a flat patch of the delegation's colour."""
    view = plenary()
    px = art.speaker_screen(view)
    assert px.shape == (576, 1024, 4)
    # France: blue at the hoist, white in the middle, red at the fly (the flag is 4:3 at x 32..211)
    blue, white, red = _rgb(px, 60, 180), _rgb(px, 121, 180), _rgb(px, 185, 180)
    assert blue[2] > 100 and blue[0] < 60 and min(white) > 230 and red[0] > 200 and red[2] < 80
    other = art.speaker_screen(replace(view, speaker=QueueEntry(3, "Ms. Keiko Tanaka", "JPN")))
    # Japan: a red disc on white
    assert min(_rgb(other, 45, 125)) > 230 and _rgb(other, 121, 179)[0] > 150 and _rgb(other, 121, 179)[1] < 60
    assert not np.array_equal(px[100:280, 240:720], other[100:280, 240:720])  # the name changed too


def test_a_delegation_without_a_flag_gets_a_plate_in_its_colour() -> None:
    view = replace(plenary(), speaker=QueueEntry(3, "Mx. Nobody", "Atlantis"))
    px = art.speaker_screen(view)
    assert _rgb(px, 50, 125) == art.delegation_style("Atlantis")[1]  # inside the plate, left of the code


def test_time_left_is_mm_ss_and_red_once_overrun() -> None:
    assert art.fmt_time(134.9) == "02:14" and art.fmt_time(-12.3) == "-00:12" and art.fmt_time(0) == "00:00"
    ok = art.speaker_clock(plenary(remaining=134.4))
    over = art.speaker_clock(plenary(remaining=-12.3))
    x0, y0, x1, y1 = art.CLOCK_BOX
    assert ok.shape == (y1 - y0, x1 - x0, 4)

    def reds(p: np.ndarray) -> int:
        c = p[..., :3].astype(int)
        return int(np.sum((c[..., 0] > 180) & (c[..., 1] < 110) & (c[..., 2] < 110)))

    assert reds(ok) == 0 and reds(over) > 500
    # the full screen carries the same clock in its box
    full = art.speaker_screen(plenary(remaining=-12.3))
    assert np.array_equal(full[y0:y1, x0:x1], over)
    # an untimed turn or an open floor has no clock
    assert art.clock_key(replace(plenary(), speaking_time_s=0.0)) is None
    assert art.clock_key(replace(plenary(), speaker=None)) is None


def test_the_list_shows_five_and_counts_the_rest() -> None:
    seven = plenary()
    five = plenary(queue_from=2)
    a, b = art.speaker_screen(seven), art.speaker_screen(five)
    assert not np.array_equal(a[300:320, 800:1000], b[300:320, 800:1000])  # "+2 more" only on the first
    assert art.speaker_screen_key(seven) != art.speaker_screen_key(replace(seven, queue=seven.queue[:6]))
    empty = art.speaker_screen(MeetingView())
    assert not np.array_equal(empty[330:500], a[330:500])


def test_keys_change_only_with_what_each_picture_shows() -> None:
    v = plenary(remaining=134.4)
    later = replace(v, time=v.time + 0.5, remaining_s=133.9)
    assert art.speaker_screen_key(later) == art.speaker_screen_key(v)  # the clock ticks in its own texture
    assert art.clock_key(later) != art.clock_key(v)
    assert art.agenda_screen_key(later) == art.agenda_screen_key(v)
    assert art.participants_key(later) == art.participants_key(v)
    assert replace(v, time=v.time + 0.3).screen_key() == v.screen_key()
    assert art.agenda_screen_key(replace(v, agenda_index=2)) != art.agenda_screen_key(v)


def test_participants_panel_has_one_row_each_with_state_chips() -> None:
    v = plenary()
    px = art.participants_panel(v)
    assert px.shape[1] == art.PANEL_WIDTH and px.shape[0] == 76 + 44 * len(v.participants) + 16
    c = px[..., :3].astype(int)
    row = lambda i: c[72 + i * 44: 72 + (i + 1) * 44, 90:]  # noqa: E731  (right of the flag)
    red = lambda r: int(np.sum((r[..., 0] > 200) & (r[..., 1] < 100) & (r[..., 2] < 100)))  # noqa: E731
    blue = lambda r: int(np.sum((r[..., 2] > 180) & (r[..., 0] < 80)))  # noqa: E731
    green = lambda r: int(np.sum((r[..., 1] > 170) & (r[..., 0] < 100) & (r[..., 2] < 140)))  # noqa: E731
    assert red(row(4)) > 100 and red(row(3)) == 0  # Mrs. Okafor is muted, Dr. Rivera is not
    assert blue(row(2)) > 100 and blue(row(4)) < 30  # Ms. Tanaka's hand is raised
    dot = lambda i: c[72 + i * 44: 72 + (i + 1) * 44, :45]  # noqa: E731  (the state dot)
    assert green(dot(1)) > 50 and green(dot(0)) == 0  # Mr. Moreau speaks
    many = replace(v, participants=v.participants * 3)
    tall = art.participants_panel(many)
    assert tall.shape[0] == 76 + 44 * art.MAX_PARTICIPANT_ROWS + 36 + 16  # capped, "+10 more"


def test_status_acknowledges_the_gesture_for_a_few_seconds() -> None:
    v = plenary(time=100.0, sent_at=98.5)
    assert art.ack_text(v) == "Raise hand sent"
    assert art.ack_text(replace(v, time=98.5 + ACK_S + 0.1)) is None
    assert art.ack_text(replace(v, last_sent_gesture="thumbs_up", last_sent_at=99.0)) == "Thumbs up sent"
    with_ack = art.status_panel(v)
    without = art.status_panel(replace(v, time=110.0))
    assert with_ack.shape[0] == without.shape[0] + 52
    band = with_ack[..., :3].astype(int)
    assert int(np.sum((band[..., 1] > 70) & (band[..., 1] < 100) & (band[..., 0] < 40))) > 5000  # the green band
    assert art.status_key(v) != art.status_key(replace(v, time=110.0))


def test_chair_keys_are_listed_only_for_the_chair() -> None:
    delegate, chair = plenary(), plenary(chair=True)
    d, c = art.status_panel(delegate), art.status_panel(chair)
    no_ack = art.status_panel(replace(delegate, last_sent_gesture=None))
    assert c.shape[0] >= no_ack.shape[0] + 40 * len(CHAIR_KEYS)
    assert d.shape[0] < c.shape[0]
    # the key caps: light squares down the left edge, one per key
    caps = c[-40 * len(CHAIR_KEYS) - 40:, 28:62, :3].astype(int)
    assert int(np.sum(caps.min(axis=2) > 215)) > 300 * len(CHAIR_KEYS)
    assert art.status_key(delegate) != art.status_key(replace(delegate, chair_controls=True))


def test_unknown_delegations_get_a_stable_colour() -> None:
    name, rgb = art.delegation_style("Atlantis")
    assert name == "Atlantis" and rgb == art.delegation_style("Atlantis")[1]
    assert art.delegation_style("fra")[0] == "France"
    assert art.delegation_style("France")[1] == art.delegation_style("FRA")[1]


def test_odd_values_draw_instead_of_crashing() -> None:
    odd = replace(plenary(), remaining_s=float("nan"), speaking_time_s=float("inf"))
    assert art.fmt_time(float("nan")) == "--:--" and art.fmt_time(1e12) == "99:59"
    assert art.speaker_clock(odd).shape[2] == 4 and art.clock_key(odd) is not None
    long_name = QueueEntry(5, "A" * 300 + " \u202e\U0001f600", "", "unknown_kind")
    weird = replace(plenary(), speaker=long_name, queue=(long_name,) * 9, agenda=("x" * 500,), agenda_index=7,
                    phase="made_up_phase", notices=("n" * 400,) * 5, last_sent_gesture="made_up", last_sent_at=99.9)
    for draw in (art.speaker_screen, art.agenda_screen, art.participants_panel, art.status_panel):
        assert draw(weird).dtype == np.uint8
    assert art.ack_text(weird) == "Made up sent"
    assert art.speaker_screen(replace(weird, speaking_time_s=float("nan"))).shape == (576, 1024, 4)
