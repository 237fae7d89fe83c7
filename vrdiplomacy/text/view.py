"""What a joint-text panel shows (plain data, hashable: a panel is redrawn only when it changes).

:class:`DraftView` is built by the session (:meth:`vrdiplomacy.session.drafting.SessionDrafting.view`)
and drawn by :mod:`vrdiplomacy.render.text_panel`: the draft as runs of plain and bracketed text
(each bracket with its owner), the carets of the members editing it (their delegation, its
colour on the panel) and, on this client, the line being typed in the desktop's edit mode.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Run:
    """A stretch of the draft: plain (``bracket`` "") or bracketed, owned by ``owner``."""

    text: str
    bracket: str = ""
    owner: str = ""


@dataclass(frozen=True)
class Caret:
    """A member's caret at character ``index``: ``code`` its delegation (drawn in its colour), ``mine`` ours."""

    code: str
    index: int
    mine: bool = False


@dataclass(frozen=True)
class DraftView:
    """doc: the document's id; runs: its text; carets: the editors' cursors; typing: the line being
    typed here (None: not in edit mode); version: the document's digest; editors: updates merged."""

    doc: str
    runs: tuple[Run, ...] = ()
    carets: tuple[Caret, ...] = ()
    typing: str | None = None
    version: str = ""
    merged: int = 0

    @property
    def text(self) -> str:
        return "".join(r.text for r in self.runs)

    def render(self) -> str:
        """The draft as diplomats read it: bracketed runs in square brackets."""
        return "".join(f"[{r.text}]" if r.bracket else r.text for r in self.runs)
