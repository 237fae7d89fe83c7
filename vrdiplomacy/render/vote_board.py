"""The chamber's vote board (Pillow, no GL), like the General Assembly's.

While a vote is on (from its opening until :data:`~vrdiplomacy.session.votes.BOARD_HOLD_S`
after its result) the agenda wall screen shows it instead of the agenda
(:func:`agenda_or_vote`): the question and agenda item, the kind of vote, the ballots cast out of
those eligible, then the result this client verified (every proof checked on this client):

* a **recorded vote** has one light per delegation, green (yes), red (no), yellow (abstain), grey
  (not yet voted), in the manifest's order, two columns of up to :data:`ROWS` each (the rest counted);
* a **secret ballot** shows who may vote only as a count: no light, no name, only the totals.

Same font and palette as the other screens (:mod:`vrdiplomacy.render.meeting_art`; golden
images: tests/ballot/golden/).
"""

from __future__ import annotations

from vrdiplomacy.ballot.view import VoteBoardView
from vrdiplomacy.render import meeting_art as art
from vrdiplomacy.render.fonts import ui_font
from vrdiplomacy.session.meeting_view import MeetingView

LIGHTS = {"yes": art.GREEN, "no": art.RED, "abstain": art.AMBER}
OTHER_LIGHTS = (art.TEAL, art.GOLD, (170, 120, 220, 255), (230, 120, 170, 255), art.SOFT)
NOT_VOTED = (70, 84, 108, 255)
ROWS = 8
STAGE_TEXT = {"ceremony": "Preparing the trustees' key", "open": "Voting open", "closed": "Voting closed: counting",
              "tallied": "Result verified", "failed": "Vote failed"}


def light_colour(view: VoteBoardView, option: str) -> art.RGBA:
    if option in LIGHTS:
        return LIGHTS[option]
    i = view.options.index(option) if option in view.options else 0
    return OTHER_LIGHTS[i % len(OTHER_LIGHTS)]


def _wrap(draw: object, text: str, size: int, width: int, lines: int) -> list[str]:
    """``text`` in at most ``lines`` lines of ``width`` px (the last cut with "…")."""
    font = ui_font(size)
    out: list[str] = []
    words = text.split()
    cur = ""
    for w in words:
        nxt = f"{cur} {w}".strip()
        if draw.textlength(nxt, font=font) <= width or not cur:  # type: ignore[attr-defined]
            cur = nxt
        else:
            out.append(cur)
            cur = w
    if cur:
        out.append(cur)
    if len(out) > lines:
        out = out[:lines]
        out[-1] = out[-1].rstrip() + " …"
    return out


def vote_board(view: VoteBoardView, phase: str = "voting") -> art.Pixels:
    """The vote board picture (the chamber screen's 1024 x 576)."""
    w, h = art.SCREEN_SIZE
    img, draw = art._image(art.SCREEN_SIZE, art.SCREEN_BG)
    kind = "SECRET BALLOT" if view.secret else "RECORDED VOTE"
    draw.rectangle((0, 0, w - 1, 84), fill=art.BAR)
    draw.text((32, 43), "VOTE", font=ui_font(44, bold=True), fill=art.WHITE, anchor="lm")
    art._text(draw, (w - 32, 43), f"{kind} · ITEM {view.item}", 30, (210, 228, 250, 255), 620, anchor="rm")
    y = 116
    for line in _wrap(draw, view.question, 34, w - 64, 2):
        draw.text((32, y), line, font=ui_font(34), fill=art.WHITE, anchor="lm")
        y += 42
    # the right column: count, then the verified result
    x0 = 560 if not view.secret else 32
    top = 212
    if not view.secret:
        _lights(draw, view, top)
    draw.text((x0, top), "BALLOTS CAST", font=ui_font(24), fill=art.DIM, anchor="lm")
    draw.text((x0, top + 44), f"{view.cast} / {view.eligible}", font=ui_font(48), fill=art.WHITE, anchor="lm")
    if view.counts is not None:
        ry = top + 100
        draw.text((x0, ry), "RESULT", font=ui_font(24), fill=art.DIM, anchor="lm")
        art._check(draw, x0 + 118, ry, 22, art.GREEN)
        draw.text((x0 + 152, ry), "verified", font=ui_font(24), fill=art.GREEN, anchor="lm")
        total = max(sum(view.counts), 1)
        bar_w = (w - 32 - x0) - 200
        for i, (opt, n) in enumerate(zip(view.options, view.counts)):
            cy = ry + 46 + i * 44
            if cy > 486:
                break
            art._text(draw, (x0, cy), opt.capitalize(), 30, art.WHITE, 130)
            draw.rectangle((x0 + 140, cy - 14, x0 + 140 + bar_w, cy + 14), fill=(24, 44, 78, 255))
            if n:
                draw.rectangle((x0 + 140, cy - 14, x0 + 140 + max(4, round(bar_w * n / total)), cy + 14),
                               fill=light_colour(view, opt))
            draw.text((w - 32, cy), str(n), font=ui_font(32), fill=art.WHITE, anchor="rm")
    if view.stage == "failed":
        ry = top + 100
        draw.text((x0, ry), "NO RESULT", font=ui_font(24), fill=art.RED, anchor="lm")
        for i, line in enumerate(_wrap(draw, view.failure or "the vote failed", 26, w - 32 - x0, 4)):
            draw.text((x0, ry + 44 + i * 34), line, font=ui_font(26), fill=art.WHITE, anchor="lm")
    notes = []
    if view.not_voted:
        notes.append("Did not vote: " + ", ".join(view.not_voted))
    if view.restated_by:
        notes.append(f"From before you joined: restated by {view.restated_by}, "
                     + (f"confirmed by {', '.join(view.confirmed_by)}" if view.confirmed_by else "not yet confirmed"))
    draw.rectangle((0, 506, w - 1, h - 1), fill=art.BAR)
    bar_y = 526 if notes else 541  # with notes: the stage above them, both in the bar
    draw.text((32, bar_y), STAGE_TEXT.get(view.stage, view.stage).upper(), font=ui_font(26 if notes else 28), fill=art.WHITE,
              anchor="lm")
    art._text(draw, (w - 32, bar_y), f"vote {view.label}", 24, (170, 200, 235, 255), 420, anchor="rm")
    if notes:
        warn = bool(view.restated_by) and not view.confirmed_by
        art._text(draw, (32, 558), " · ".join(notes), 19, art.AMBER if warn else (210, 228, 250, 255), w - 64, smallest=12)
    return art._pixels(img)


def _lights(draw: object, view: VoteBoardView, top: int) -> None:
    """One light per delegation, two columns of :data:`ROWS`."""
    chosen = dict(view.lights)
    shown = view.voters[: 2 * ROWS]
    for i, name in enumerate(shown):
        col, row = divmod(i, ROWS)
        x, cy = 32 + col * 256, top + row * 36
        opt = chosen.get(name)
        fill = light_colour(view, opt) if opt is not None else NOT_VOTED
        draw.ellipse((x, cy - 12, x + 24, cy + 12), fill=fill, outline=(236, 234, 226, 255), width=2)  # type: ignore[attr-defined]
        if opt is not None:  # the option's initial in the light: readable without telling red from green
            draw.text((x + 12, cy + 1), opt[:1].upper(), font=ui_font(16), fill=(16, 22, 34, 255), anchor="mm")  # type: ignore[attr-defined]
        art._text(draw, (x + 36, cy), name, 24, art.WHITE if opt is not None else art.DIM, 200, smallest=14)  # type: ignore[arg-type]
    if len(view.voters) > len(shown):
        more = len(view.voters) - len(shown)
        voted = sum(1 for v in view.voters[len(shown):] if v in chosen)
        draw.text((32, top + ROWS * 36), f"+{more} more ({voted} voted)", font=ui_font(22), fill=art.DIM, anchor="lm")  # type: ignore[attr-defined]


def agenda_or_vote_key(view: MeetingView) -> tuple[object, ...]:
    vote = getattr(view, "vote", None)
    return ("vote", vote.key()) if vote is not None else ("agenda", art.agenda_screen_key(view))


def agenda_or_vote(view: MeetingView) -> art.Pixels:
    """The agenda screen, or the vote board while a vote is on."""
    vote = getattr(view, "vote", None)
    return vote_board(vote, view.phase) if vote is not None else art.agenda_screen(view)
