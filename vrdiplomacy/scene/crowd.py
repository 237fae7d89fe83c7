"""Avatars as struct-of-arrays (numpy, no GL): what the renderer packs into its instance buffer
with a handful of vectorized copies, whatever the number of avatars.

A :class:`Crowd` holds one row per avatar in parallel arrays (poses, speaking level, hand
visibility and shapes, colour, placard label, gesture icon, the point the eyes look at). The
session (:meth:`vrdiplomacy.session.state.RoomState.avatars`) fills one per frame; scene code and
tests that prefer objects still use :class:`~vrdiplomacy.scene.model.Avatar` lists, which
:meth:`Crowd.from_avatars` converts and iterating a crowd gives back (copies, read only).

Names (placard labels, hand shapes, gesture icons) are small integer indices into tables
(:attr:`Crowd.names`, :data:`SHAPE_NAMES`, :data:`GESTURES`) so a frame has no per-avatar strings.

A row can also carry a name tag (:class:`Tag`: the person's name, delegation, role and whether
the signed roster verified them), shown on a small card above the head: :meth:`Crowd.set_tag`.
The tag joins the row's label (one entry of :attr:`Crowd.names`, see :func:`tag_label`), so it
costs nothing per frame either.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from vrdiplomacy.errors import ConfigError
from vrdiplomacy.scene.math3d import Pose
from vrdiplomacy.scene.model import RGB, Avatar, HandPose

GESTURES = ("raise_hand", "lower_hand", "nod", "head_shake", "thumbs_up", "thumbs_down", "wave", "applause",
            "point", "open_palms", "handshake")
# hand shape names a crowd row can hold (index = the stored value); unknown names store as "open"
SHAPE_NAMES = ("open", "raised", "relaxed", "pinch", "flat", "fist", "grip", "point", "thumbs_up", "thumbs_down")
_SHAPE_INDEX = {n: i for i, n in enumerate(SHAPE_NAMES)}
_GESTURE_INDEX = {n: i for i, n in enumerate(GESTURES)}
ROOT, HEAD, LEFT, RIGHT = range(4)  # the pose rows of Crowd.pose


TAG_SEP = "\x1e"  # joins a placard text and its tag's fields into one label (never in a name)


@dataclass(frozen=True)
class Tag:
    """Who an avatar is, from the roster: ``name`` (the identity), ``delegation``, ``role`` (a title
    such as "Ambassador"; may be empty) and ``verified`` (the signed roster vouches for all three)."""

    name: str
    delegation: str
    role: str = ""
    verified: bool = False


def tag_label(placard: str, tag: Tag) -> str:
    """The label text of a row with placard text ``placard`` and name tag ``tag`` (what
    :attr:`Crowd.names` holds for it; :func:`split_label` reverses it)."""
    fields = (placard, tag.name, tag.delegation, tag.role, "1" if tag.verified else "0")
    return TAG_SEP.join(f.replace(TAG_SEP, " ") for f in fields)


def split_label(label: str) -> tuple[str, Tag | None]:
    """(placard text, tag or None) of a label made by :func:`tag_label` (or a plain placard text)."""
    if TAG_SEP not in label:
        return label, None
    parts = label.split(TAG_SEP)
    if len(parts) != 5:
        return parts[0], None
    return parts[0], Tag(parts[1], parts[2], parts[3], parts[4] == "1")


def _f32(n: int, *shape: int) -> npt.NDArray[np.float32]:
    return np.zeros((n, *shape), np.float32)


@dataclass(eq=False)
class Crowd:
    """``n`` avatars, one row each. ``pose[i, k]`` is (x, y, z, qx, qy, qz, qw) of pose ``k``
    (:data:`ROOT` seat/feet origin, :data:`HEAD`, :data:`LEFT`/:data:`RIGHT` hand centre) in
    scene coordinates; ``label[i]`` indexes :attr:`names` (the placard text); ``shape[i]`` the
    left and right hand shapes in :data:`SHAPE_NAMES`; ``gesture[i]`` the icon in
    :data:`GESTURES` (-1 none); ``look[i]`` the scene point the eyes turn to (NaN: straight ahead);
    ``blink[i]`` 1 while the eyelids are shut (see :func:`blinks`)."""

    ids: npt.NDArray[np.int64]
    pose: npt.NDArray[np.float32]
    speaking: npt.NDArray[np.float32]
    visible: npt.NDArray[np.bool_]
    seated: npt.NDArray[np.bool_]
    color: npt.NDArray[np.float32]
    label: npt.NDArray[np.int32]
    shape: npt.NDArray[np.int8]
    gesture: npt.NDArray[np.int16]
    look: npt.NDArray[np.float32]
    blink: npt.NDArray[np.float32]
    names: list[str] = field(default_factory=list)
    _label_index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def empty(cls, n: int) -> Crowd:
        """``n`` rows: identity poses, silent, hands visible, seated, grey, label 0, no icon, eyes ahead."""
        if n < 0:
            raise ConfigError(f"a crowd needs n >= 0, got {n}")
        pose = _f32(n, 4, 7)
        pose[:, :, 6] = 1.0
        return cls(ids=np.arange(n, dtype=np.int64), pose=pose, speaking=_f32(n), visible=np.ones((n, 2), np.bool_),
                   seated=np.ones(n, np.bool_), color=np.full((n, 3), 0.3, np.float32), label=np.zeros(n, np.int32),
                   shape=np.zeros((n, 2), np.int8), gesture=np.full(n, -1, np.int16),
                   look=np.full((n, 3), np.nan, np.float32), blink=_f32(n), names=[])

    def __len__(self) -> int:
        return int(self.ids.shape[0])

    def label_of(self, name: str) -> int:
        """The index of placard text ``name`` in :attr:`names`, added when new (a dict lookup: one
        tag per person makes as many labels as rows)."""
        i = self._label_index.get(name)
        if i is not None and i < len(self.names) and self.names[i] == name:
            return i
        try:
            i = self.names.index(name)
        except ValueError:
            self.names.append(name)
            i = len(self.names) - 1
        self._label_index[name] = i
        return i

    def set_tag(self, i: int, tag: Tag | None) -> None:
        """Give row ``i`` the name tag ``tag`` (None: none), keeping its placard text."""
        placard, _old = split_label(self.names[int(self.label[i])] if self.names else "")
        self.label[i] = self.label_of(tag_label(placard, tag) if tag is not None else placard)

    def tag(self, i: int) -> Tag | None:
        """Row ``i``'s name tag, or None."""
        return split_label(self.names[int(self.label[i])])[1] if self.names else None

    def has_tag(self) -> npt.NDArray[np.bool_]:
        """(n,) whether each row has a name tag (vectorized over the label table)."""
        if not self.names:
            return np.zeros(len(self), np.bool_)
        table = np.array([TAG_SEP in name for name in self.names], np.bool_)
        return table[self.label]

    def set_row(self, i: int, a: Avatar) -> None:
        """Row ``i`` from an :class:`Avatar` (its placard text joins :attr:`names`)."""
        p = self.pose[i]
        for k, pz in enumerate((a.root, a.head, a.left.pose, a.right.pose)):
            p[k, 0:3] = pz.position
            p[k, 3:7] = pz.orientation
        self.ids[i] = a.avatar_id
        self.speaking[i] = a.speaking
        self.visible[i] = (a.left.visible, a.right.visible)
        self.seated[i] = a.seated
        self.color[i] = a.color
        self.label[i] = self.label_of(a.delegation)
        self.shape[i] = (_SHAPE_INDEX.get(a.left.shape, 0), _SHAPE_INDEX.get(a.right.shape, 0))
        self.gesture[i] = _GESTURE_INDEX.get(a.gesture_icon, -1) if a.gesture_icon else -1

    @classmethod
    def from_avatars(cls, avatars: Sequence[Avatar]) -> Crowd:
        """A crowd with the avatars' rows, in order (a Python loop: for scene set-up, not per frame)."""
        c = cls.empty(len(avatars))
        for i, a in enumerate(avatars):
            c.set_row(i, a)
        return c

    def avatar(self, i: int) -> Avatar:
        """Row ``i`` as a new :class:`Avatar` (a copy: changing it leaves the crowd as it is)."""
        p = self.pose[i]

        def pose(k: int) -> Pose:
            return Pose(p[k, 0:3].copy(), p[k, 3:7].copy())

        g = int(self.gesture[i])
        color: RGB = (float(self.color[i, 0]), float(self.color[i, 1]), float(self.color[i, 2]))
        return Avatar(avatar_id=int(self.ids[i]), delegation=split_label(self.names[int(self.label[i])])[0] if self.names else "",
                      root=pose(ROOT), head=pose(HEAD),
                      left=HandPose(pose(LEFT), SHAPE_NAMES[int(self.shape[i, 0])], bool(self.visible[i, 0])),
                      right=HandPose(pose(RIGHT), SHAPE_NAMES[int(self.shape[i, 1])], bool(self.visible[i, 1])),
                      color=color, speaking=float(self.speaking[i]), gesture_icon=GESTURES[g] if g >= 0 else None,
                      seated=bool(self.seated[i]))

    def __iter__(self) -> Iterator[Avatar]:
        return (self.avatar(i) for i in range(len(self)))

    def __eq__(self, other: object) -> bool:
        """Equal to another crowd or a list of avatars with the same rows (labels compared as text)."""
        if isinstance(other, list | tuple):
            other = Crowd.from_avatars(other)
        if not isinstance(other, Crowd):
            return NotImplemented
        if len(self) != len(other):
            return False
        same = all(np.array_equal(getattr(self, f), getattr(other, f), equal_nan=f == "look")
                   for f in ("ids", "pose", "speaking", "visible", "seated", "color", "shape", "gesture", "look", "blink"))
        return same and [self.names[i] for i in self.label] == [other.names[i] for i in other.label]

    __hash__ = None  # type: ignore[assignment]

    def __getitem__(self, i: int) -> Avatar:
        if not -len(self) <= i < len(self):
            raise IndexError(f"crowd row {i} out of range ({len(self)} rows)")
        return self.avatar(i % len(self))

    def look_at_speaker(self) -> int:
        """Turn every other avatar's eyes to the loudest speaker's head; returns its row (-1: nobody speaks,
        then the eyes look ahead)."""
        n = len(self)
        if n == 0:
            return -1
        k = int(np.argmax(self.speaking))
        if self.speaking[k] <= 0.0:
            self.look[:] = np.nan
            return -1
        self.look[:] = self.pose[k, HEAD, 0:3]
        self.look[k] = np.nan  # the speaker looks ahead
        return k


BLINK_PERIOD_S = 4.0  # mean time between blinks
BLINK_S = 0.15  # how long the lids stay shut


def blinks(now: float, ids: npt.NDArray[np.int64]) -> npt.NDArray[np.float32]:
    """1.0 for the avatars (by id) whose eyes are shut at ``now``, else 0.0: every avatar blinks for
    :data:`BLINK_S` once per 3.2 .. 4.8 s (its own period and phase, from its id), never in step."""
    i = ids.astype(np.float64)
    period = BLINK_PERIOD_S * (0.8 + 0.4 * ((i * 0.618034) % 1.0))
    phase = (i * 0.754877) % 1.0 * period
    return (((now + phase) % period) < BLINK_S).astype(np.float32)
