"""Start the backend a :class:`~vrdiplomacy.xr.backend.BackendSettings` names.

Kept apart from :mod:`vrdiplomacy.xr.backend` (the interface every backend imports), so the
interface does not import its implementations. ``auto`` tries OpenXR and falls back to the
desktop window with one log line saying why; with neither it says what to use instead.
"""

from __future__ import annotations

import logging

from vrdiplomacy.errors import PlatformError
from vrdiplomacy.platform.detect import has_display, no_display_reason
from vrdiplomacy.xr.backend import Backend, BackendSettings

log = logging.getLogger("vrdiplomacy.xr")


def create_backend(settings: BackendSettings) -> Backend:
    """Start the backend ``settings.mode`` names; ``auto`` falls back as the module says."""
    mode = settings.mode
    if mode == "xr":
        from vrdiplomacy.xr.openxr_backend import OpenXrBackend

        return OpenXrBackend(settings)
    if mode == "desktop":
        from vrdiplomacy.xr.desktop import DesktopBackend

        return DesktopBackend(settings)
    if mode == "offscreen":
        from vrdiplomacy.xr.offscreen import OffscreenBackend

        return OffscreenBackend(settings)
    from vrdiplomacy.xr.openxr_backend import OpenXrBackend

    try:
        return OpenXrBackend(settings)
    except PlatformError as e:
        if not settings.fallback:
            raise PlatformError(f"OpenXR is unavailable and --no-fallback was given: {e}") from None
        why = str(e)
    if not has_display():
        raise PlatformError(
            f"OpenXR is unavailable ({why}) and {no_display_reason()}: "
            "use --mode offscreen, or 'vrdiplomacy qa run SCRIPT' for a scripted headless session"
        )
    log.warning("OpenXR unavailable (%s); falling back to desktop mode", why)
    from vrdiplomacy.xr.desktop import DesktopBackend

    try:
        return DesktopBackend(settings)
    except PlatformError as e:
        raise PlatformError(
            f"OpenXR is unavailable ({why}) and the desktop window failed ({e}): "
            "use --mode offscreen, or 'vrdiplomacy qa run SCRIPT'"
        ) from None
