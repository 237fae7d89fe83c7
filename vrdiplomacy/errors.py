"""The one exception hierarchy of vrdiplomacy.

Every error the program reports to a user derives from :class:`VrdError`. The CLI
catches it and prints ``error: <message>`` on one line with a non-zero exit code,
never a traceback.
"""

from __future__ import annotations


class VrdError(Exception):
    """Base class of every error vrdiplomacy reports to its user."""

    exit_code: int = 1


class ConfigError(VrdError):
    """A setting, argument or configuration file is invalid."""

    exit_code = 2


class AssetError(VrdError):
    """An asset (glTF, texture, layout) is missing, truncated or malformed."""


class RenderError(VrdError):
    """The GL context or the renderer failed."""


class PlatformError(VrdError):
    """A platform (EGL, window, display, audio device, XR runtime) is unavailable."""


class XrError(PlatformError):
    """The OpenXR runtime refused or lost the session."""


class AudioError(PlatformError):
    """Audio devices or the codec library failed."""


class ProtocolError(VrdError):
    """A wire message is malformed. Protocol cores count and drop these."""


class CryptoError(VrdError):
    """Authentication, decryption, signature or key checks failed."""


class GoldenMismatch(VrdError):
    """A rendered image differs from its golden image."""
