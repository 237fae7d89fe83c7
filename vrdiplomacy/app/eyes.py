"""Eye images of a headless session, drawn in their own thread (own EGL context).

Each image shows the meeting as the session saw it when the image was asked for: the chamber's
live screens (speaker, time left, the next five on the list, agenda, phase) and the interface
panels a headset shows beside the view; :attr:`EyePainter.shown` keeps, per image, the head pose
and what the speaker screen showed (the demo's summary lists it, so the images can be checked)."""

from __future__ import annotations

import logging
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vrdiplomacy.errors import ConfigError, PlatformError

log = logging.getLogger("vrdiplomacy.demo")

MAX_FAILED_IN_A_ROW = 5
"""Eye images that may fail one after another before the renderer thread gives up."""


class EyePainter:
    """Renders eye images in its own thread (its own EGL context), one frame at a time: a frame
    asked for while the previous one is still drawing is skipped, so a slow software renderer
    never holds up the session or the end of the demo."""

    def __init__(self, scene: Any, seat: Any, size: tuple[int, int], out: Path, panels: bool = True) -> None:
        import queue
        import threading

        # llvmpipe (software GL) would take every core for a frame a second and starve the voice
        # path; one rendering thread is plenty at this size (no effect on hardware drivers)
        os.environ.setdefault("LP_NUM_THREADS", "1")
        self.scene, self.seat, self.size, self.out = scene, seat, size, out
        self.panels = panels
        self.shown: list[dict[str, Any]] = []  # per image written: its head pose and speaker screen
        self.redraws: dict[str, int] = {}  # texture redraws per live screen and panel, at the end
        self.jobs: queue.Queue[Any] = queue.Queue(maxsize=1)
        self.images: list[Path] = []
        self.frame_s: list[float] = []
        self.skipped = 0
        self.failed = 0  # images that raised while drawing or writing (each logged; see errors)
        self.errors: list[str] = []  # the first few of those errors, as text, for the summary
        self._failed_in_a_row = 0
        self._current: int | None = None  # the image being drawn now
        self.stalled = False  # True: an image was still drawing when the session closed
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._busy = threading.Event()
        self._thread = threading.Thread(target=self._main, name="vrd-eyes", daemon=True)
        self._thread.start()

    def wait_ready(self, timeout: float = 60.0) -> None:
        if not self._ready.wait(timeout):
            raise PlatformError(f"the renderer did not start within {timeout:g} s")
        if self.error is not None:
            raise self.error

    def submit(self, k: int, head: Any, avatars: list[Any], meeting: Any = None) -> bool:
        """Ask for image ``k`` (``meeting``: the session's MeetingView, None: no live screens or
        panels); False (and counted in ``skipped``) when the previous one is still drawing."""
        if self._busy.is_set() or self.jobs.full():
            self.skipped += 1
            return False
        self._busy.set()
        self.jobs.put((k, head, avatars, meeting))
        return True

    def close(self, timeout: float = 10.0) -> list[Path]:
        try:
            self.jobs.put(None, timeout=timeout)
        except Exception:
            log.warning("the renderer is still busy; leaving it")
            return list(self.images)
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.stalled = True
            log.warning("the renderer was still drawing image %s %g s after the end; leaving it", self._current, timeout)
        return list(self.images)

    def _main(self) -> None:
        from vrdiplomacy.render.frames import views_for
        from vrdiplomacy.render.renderer import Renderer
        from vrdiplomacy.scene.hud import MeetingOverlay
        from vrdiplomacy.session.meeting_view import MeetingView

        try:
            r = Renderer()
        except BaseException as e:
            self.error = e
            self._ready.set()
            return
        try:
            targets = [r.create_target(*self.size), r.create_target(*self.size)]
            self.scene.avatars = []
            # scene upload, shader compilation and the first drawing of every screen and panel
            # (with the imports they make) happen here, before the session's threads start
            head = self.seat.eye_pose()
            self.scene.meeting = MeetingOverlay(MeetingView(), head if self.panels else None, stereo=True)
            r.render(self.scene, views_for(head, self.size, stereo=True, fov_deg=90.0), targets)
            r.finish()
            self.scene.meeting = None
            if r.meeting is not None:
                r.meeting.forget()
            self._ready.set()
            while (job := self.jobs.get()) is not None:
                self._current = job[0]
                try:
                    self._draw(r, targets, *job)
                    self._failed_in_a_row = 0
                except Exception as e:  # noqa: BLE001 -- one bad frame: counted, reported, the next one tried
                    self._frame_failed(job[0], e)
                finally:
                    self._current = None
                    self._busy.clear()
        except BaseException as e:  # reported by the summary; the session goes on
            self.error = e
            self.errors.append(f"renderer stopped: {type(e).__name__}: {e}")
            log.warning("rendering failed: %s", e, exc_info=True)
        finally:
            self._ready.set()
            r.close()

    def _draw(self, r: Any, targets: list[Any], k: int, head: Any, avatars: list[Any], meeting: Any) -> None:
        from vrdiplomacy.render.frames import stereo_side_by_side, views_for
        from vrdiplomacy.scene.hud import MeetingOverlay

        c0 = time.perf_counter()
        self.scene.avatars = avatars
        self.scene.meeting = None if meeting is None else \
            MeetingOverlay(meeting, head if self.panels else None, stereo=True)
        r.render(self.scene, views_for(head, self.size, stereo=True, fov_deg=90.0), targets)
        image = stereo_side_by_side(r.read_pixels(targets[0]), r.read_pixels(targets[1]))
        path = self.out / f"eyes_{k:02d}.png"
        save_png(image, path)
        self.images.append(path)
        if meeting is not None and r.meeting is not None:
            self.redraws = dict(r.meeting.redraws)
            self.shown.append(shown_record(path, head, meeting))
        self.frame_s.append(time.perf_counter() - c0)

    def _frame_failed(self, k: int, e: Exception) -> None:
        """Image ``k`` could not be drawn or written: counted in :attr:`failed`, its error kept
        (the first few, for the summary) and logged with its traceback; after
        ``MAX_FAILED_IN_A_ROW`` failures in a row the renderer gives up (:attr:`error`)."""
        self.failed += 1
        self._failed_in_a_row += 1
        if len(self.errors) < 5:
            self.errors.append(f"image {k}: {type(e).__name__}: {e}")
        log.warning("eye image %d failed: %s", k, e, exc_info=self.failed == 1)
        if self._failed_in_a_row >= MAX_FAILED_IN_A_ROW:
            raise PlatformError(f"{self._failed_in_a_row} eye images in a row failed; the last: {e}") from e


def shown_record(path: Path, head: Any, view: Any) -> dict[str, Any]:
    """What image ``path`` shows of the meeting: the head pose it was drawn from and the speaker
    screen's content (speaker, time, the list, agenda item, phase), as JSON-ready data."""
    return {
        "image": str(path),
        "time": round(float(view.time), 3),
        "head": {"position": [float(v) for v in head.position], "orientation": [float(v) for v in head.orientation]},
        "speaker": None if view.speaker is None else asdict(view.speaker),
        "speaking_time_s": float(view.speaking_time_s),
        "remaining_s": float(view.remaining_s),
        "queue": [asdict(q) for q in view.queue],
        "agenda": list(view.agenda),
        "agenda_index": int(view.agenda_index),
        "phase": view.phase,
    }


def save_png(image: Any, path: Path) -> None:
    """A quick PNG (fast compression: the session runs beside it)."""
    from PIL import Image

    try:
        Image.fromarray(image[..., :3].copy()).save(path, compress_level=1)
    except OSError as e:
        raise ConfigError(f"{path}: cannot write ({e.strerror or e})") from None
