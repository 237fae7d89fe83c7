"""Golden-image cases shared by the tests and tools/update_goldens.py.

A case is a scene, its avatars and the views to draw, at 160x90 per eye. The ``test_*`` cases use
the procedural scene of :mod:`scene_builder` (the renderer alone); the others the shipped scenes.
``test_gestures`` poses some of the test scene's delegates (raised hands, thumbs up, applause,
a nod) with their icons above the head, seen from the rostrum. ``hud_secured`` and
``hud_unsecured`` put the head-up card in front of the rostrum view at 320x180, legible: the
room code on the usual dark card, and the amber "not end-to-end encrypted" card with its open
padlock and its reason.
``closeup_speaking`` and
``closeup_listening`` are one seated delegate's head and shoulders, face on, in a portrait's light: speaking (halo on,
jaw open) and listening (silent, eyes turned to a speaker on their right), each with the name
tag the roster gives them. The shipped scenes carry stand-in name tags on every delegate
(:func:`~vrdiplomacy.scene.avatars.sample_tags`). The bilateral room serves any pair of
delegations (its seats name none); the case seats France on side A (the camera's side) across
from Japan (:data:`BILATERAL_SIDES`), as a roster would. The embassy, seen from inside its
reception hall (the exhibits on the far wall, the buffet), has guests of a dozen delegations in
small conversation circles 2-4 m from the camera (:data:`EMBASSY_CIRCLES`, one speaking in each),
the layout's gatherings farther off, and the host by the flag at the lounge doorway.
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

from scene_builder import build_test_scene  # noqa: E402

from vrdiplomacy.render.frames import stereo_side_by_side, views_for  # noqa: E402
from vrdiplomacy.render.room_flags import bilateral_sides, dress_flags  # noqa: E402
from vrdiplomacy.scene.avatars import (  # noqa: E402
    assign_gestures,
    avatar_at,
    delegation_color,
    populate_avatars,
    roster_tag,
    sample_tags,
    without_viewer,
)
from vrdiplomacy.scene.crowd import Crowd  # noqa: E402
from vrdiplomacy.scene.layout import Layout  # noqa: E402
from vrdiplomacy.scene.math3d import Pose  # noqa: E402
from vrdiplomacy.scene.model import Avatar, Fov, Light, Scene, View  # noqa: E402

GOLDEN_DIR = HERE / "golden"
SIZE = (160, 90)
ASSET_SCENES = ("chamber", "bilateral", "embassy")
HUD_CASES = ("hud_secured", "hud_unsecured")
HUD_SIZE = (320, 180)
CLOSEUPS = ("closeup_speaking", "closeup_listening")
CASES = ("test_overview_stereo", "test_rostrum", "test_gestures", *HUD_CASES, *CLOSEUPS, *ASSET_SCENES)
BILATERAL_SIDES = {"A": "FRA", "B": "JPN"}  # the bilateral case's delegations, by side (the room's seats name none)
EMBASSY_EYE = (3.0, 1.65, 3.2)
EMBASSY_YAW = 32.0
# the reception's near guests, in the camera's frame (x to the right, z ahead, metres): small
# conversation circles 2-4 m away, open towards the camera (the far and side places taken, so
# faces and profiles show), each guest of a delegation of its own; angles from the side facing
# the camera, one speaking in each circle
EMBASSY_CIRCLES: tuple[tuple[tuple[float, float], float, tuple[float, ...], tuple[str, ...]], ...] = (
    ((-1.45, 3.7), 0.62, (105.0, 185.0, 262.0), ("BRA", "KEN", "IND")),
    ((1.5, 3.3), 0.5, (150.0, 250.0), ("CAN", "KOR")),
    ((0.1, 6.2), 0.75, (80.0, 150.0, 215.0, 330.0), ("MEX", "NGA", "SWE", "EGY")),
)
EMBASSY_HOST = ((3.9, 6.3), 20.0)  # the host, by the flag at the lounge doorway, turned towards the room
EMBASSY_HOST_DELEGATION = "FRA"  # the embassy's country in the case (its host's delegation and its flags)
GESTURE_CASE = ["raise_hand", "thumbs_up", "applause", "raise_hand", "nod", "thumbs_down", "wave"]


def closeup(speaking: float, speaker_x: float | None = 1.2, face_id: int = 3, with_tag: bool = False
            ) -> tuple[Scene, list[View]]:
    """One seated delegate at the origin facing the camera (+Z), head and shoulders, speaking at
    ``speaking``; another (off screen, at ``speaker_x`` to the camera's left) speaks when ``speaker_x``
    is set and ``speaking`` is 0, so the eyes turn to it. ``with_tag``: the delegate has a name tag
    and the view takes in the head, the halo and the tag (the goldens); else the face fills it."""
    # a portrait's light: a warm key from above and to the camera's left, a cool rim from behind,
    # before a deep blue-grey backdrop
    scene = Scene("closeup", lights=[Light("directional", (1.0, 0.95, 0.88), 1.7, direction=(0.35, -0.55, -1.0)),
                                     Light("directional", (0.75, 0.82, 1.0), 0.8, direction=(-0.6, -0.3, 1.0))],
                  ambient=(0.30, 0.31, 0.34), clear_color=(0.045, 0.055, 0.075, 1.0))
    me = avatar_at(face_id, "KEN", (0.0, 0.0, 0.0), 180.0)
    me.head = Pose(me.head.position.copy(), Pose.from_yaw((0, 0, 0), 180.0).orientation)
    me.speaking = speaking
    avatars = [me]
    if speaker_x is not None:
        other = avatar_at(face_id + 1, "SEN", (-speaker_x, 0.0, 0.6), 90.0)
        other.speaking = 0.0 if speaking > 0.0 else 0.8
        avatars.append(other)
    crowd = Crowd.from_avatars(avatars)
    if with_tag:
        crowd.set_tag(0, roster_tag("A. Wanjiru", "KEN", "Ambassador", verified=True))
    crowd.look_at_speaker()
    scene.avatars = crowd
    if with_tag:  # a head-and-shoulders portrait: the name tag and halo above, the tie and lapels below
        eye = (0.0, float(me.head.position[1]) + 0.02, 1.25)
        return scene, [View(Pose.from_yaw(eye, 0.0), Fov.symmetric(46.0, SIZE[0] / SIZE[1]))]
    eye = (0.0, float(me.head.position[1]) - 0.07, 1.0)
    return scene, [View(Pose.from_yaw(eye, 0.0), Fov.symmetric(34.0, SIZE[0] / SIZE[1]))]


def build_case(name: str) -> tuple[Scene, Layout, list[View]]:
    """The scene (avatars populated) and views of golden case ``name``."""
    if name in HUD_CASES:
        from vrdiplomacy.scene.hud import place_hud

        scene, layout = build_test_scene()
        populate_avatars(scene, layout, speakers=2)
        views = views_for(layout.view("rostrum"), HUD_SIZE, stereo=False)
        if name == "hud_secured":
            lines: tuple[str, ...] = ("Room code", "48213 90577 12093", "55810 76342 01928")
        else:
            lines = ("Not end-to-end encrypted", "the relay's host can listen")
        scene.hud = place_hud(views[0].pose, lines, distance=0.6, drop=0.05, width=0.5, insecure=name == "hud_unsecured")
        return scene, layout, views
    if name in CLOSEUPS:
        scene, views = closeup(0.9 if name == "closeup_speaking" else 0.0, with_tag=True)
        return scene, Layout(scene.name, ""), views
    if name.startswith("test_"):
        scene, layout = build_test_scene()
        populate_avatars(scene, layout, speakers=2)
        if name == "test_gestures":
            assign_gestures(scene.avatars, GESTURE_CASE, every=2)
        view = "overview" if name == "test_overview_stereo" else "rostrum"
        return scene, layout, views_for(layout.view(view), SIZE, stereo=name.endswith("stereo"))
    from vrdiplomacy.scene.assets import load_scene

    scene, layout = load_scene(name)
    populate_avatars(scene, layout, speakers=3, guests=24 if name == "embassy" else 0)
    if name == "bilateral":  # the delegations meeting here come from the case, as from a roster
        for avatar, seat in zip(scene.avatars, sorted(layout.seats, key=lambda s: s.index)):
            avatar.delegation = BILATERAL_SIDES[seat.side]
            avatar.color = delegation_color(avatar.delegation)
        # and the side flags show theirs, as the client dresses them from who is seated on each side
        dress_flags(scene, layout, bilateral_sides(layout, scene.avatars))
    if name == "embassy":  # the host's flags: the country of the host the case receives guests with
        dress_flags(scene, layout, {"host": EMBASSY_HOST_DELEGATION})
    viewpoint = layout.view(None)  # a delegate's seat
    avatars = scene.avatars
    if name == "embassy":  # in the reception hall, facing the exhibits on the far wall, the guests and the buffet
        viewpoint = dataclasses.replace(layout.view("reception"), position=EMBASSY_EYE,
                                        yaw_deg=EMBASSY_YAW, pitch_deg=-4.0, fov_deg=80.0)
        avatars = embassy_guests(avatars)
    # as `vrdiplomacy render` does (and guests keep a polite distance from the camera)
    avatars = without_viewer(avatars, viewpoint.position, radius=2.4 if name == "embassy" else 0.45)
    crowd = Crowd.from_avatars(avatars)
    crowd.look_at_speaker()
    scene.avatars = sample_tags(crowd)
    if name == "embassy":
        crowd.set_tag(len(crowd) - 1, roster_tag("E. Moreau", EMBASSY_HOST_DELEGATION, "Ambassador, host", verified=True))
    return scene, layout, views_for(viewpoint, SIZE, stereo=False)


def embassy_guests(gathered: list[Avatar]) -> list[Avatar]:
    """The reception golden's guests: the layout's gatherings more than 5.5 m from the camera,
    the near conversation circles of :data:`EMBASSY_CIRCLES` and the host (last)."""
    eye = np.array([EMBASSY_EYE[0], EMBASSY_EYE[2]])
    t = math.radians(EMBASSY_YAW)
    right, ahead = np.array([math.cos(t), -math.sin(t)]), np.array([-math.sin(t), -math.cos(t)])

    def world(x: float, z: float) -> npt.NDArray[np.float64]:
        return eye + x * right + z * ahead

    out = [a for a in gathered if a.seated or float(np.linalg.norm(a.root.position[[0, 2]] - eye)) > 5.5]
    next_id = 100
    for k, ((cx, cz), r, angles, codes) in enumerate(EMBASSY_CIRCLES):
        centre = world(cx, cz)
        for j, (ang, code) in enumerate(zip(angles, codes)):
            a = math.radians(ang)
            p = world(cx + r * math.sin(a), cz - r * math.cos(a))
            yaw = math.degrees(math.atan2(p[0] - centre[0], p[1] - centre[1])) + 9.0 * ((j * 7 + k) % 3 - 1)
            guest = avatar_at(next_id, code, (p[0], 0.0, p[1]), yaw, seated=False)
            guest.speaking = 0.7 if j == 1 else 0.0
            out.append(guest)
            next_id += 1
    (hx, hz), turn = EMBASSY_HOST
    p = world(hx, hz)
    out.append(avatar_at(next_id + (1 - next_id % 3) % 3, EMBASSY_HOST_DELEGATION, (p[0], 0.0, p[1]), EMBASSY_YAW + 180.0 + turn,
                         seated=False))  # hands clasped in front (stance 1)
    return out


def render_views(renderer: Any, scene: Scene, views: list[View]) -> npt.NDArray[np.uint8]:
    """Render ``views`` (one, or a stereo pair side by side) into fresh targets and read them back."""
    cache = getattr(renderer, "_golden_targets", None)
    if cache is None:
        cache = renderer._golden_targets = {}
    key = HUD_SIZE if scene.hud is not None else SIZE
    targets = cache.get(key)
    if targets is None:
        targets = cache[key] = [renderer.create_target(*key), renderer.create_target(*key)]
    renderer.upload(scene)
    renderer.render(scene, views, targets[: len(views)])
    images = [renderer.read_pixels(t) for t in targets[: len(views)]]
    return stereo_side_by_side(*images) if len(images) == 2 else images[0]


def render_case(renderer: Any, name: str, mutate: Callable[[Scene], None] | None = None) -> npt.NDArray[np.uint8]:
    scene, _layout, views = build_case(name)
    if mutate is not None:
        mutate(scene)
    return render_views(renderer, scene, views)
