"""A trustee's key shares on disk, so a trustee whose client restarts can still decrypt.

One file per ceremony a client is a trustee in: ``<folder>/<ceremony id, hex>-<index>.trustee``
holding :meth:`~vrdiplomacy.ballot.ceremony.Trustee.secrets_bytes` (its polynomial, the secret
of the key its shares are sealed to, and its key share once the ceremony is done). The folder is
made user-only (0700) and every file is written user-only (0600) through a temporary file and a
rename, so a crash leaves the old file or the new one, never half of one. The ceremony id is a
hash of the vote's whole manifest (vote id with its meeting-session nonce included), so a file
can only ever serve the vote it was made for. A file is removed once the vote is tallied: the
share is of no further use and is secret.

A file that cannot be read or is damaged is reported (:class:`~vrdiplomacy.ballot.ceremony.CeremonyError`),
never half-used; a file another user can read is refused the same way.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from vrdiplomacy.ballot.ceremony import CeremonyError, Trustee

SUFFIX = ".trustee"
MAX_FILE = 4096


class TrusteeStore:
    """Trustee secrets by (ceremony id, trustee index) in ``folder`` (created user-only on first save)."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def path(self, ceremony: bytes, index: int) -> Path:
        return self.folder / f"{ceremony.hex()}-{index}{SUFFIX}"

    def save(self, t: Trustee) -> Path:
        """Write ``t``'s secrets (again: after its key share is known) user-only; returns the file."""
        self.folder.mkdir(parents=True, exist_ok=True)
        os.chmod(self.folder, 0o700)
        path = self.path(t.ceremony, t.index)
        tmp = path.with_name(path.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)  # an old temporary file of other permissions
            os.write(fd, t.secrets_bytes())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        return path

    def load(self, ceremony: bytes, index: int) -> Trustee | None:
        """The trustee kept for this ceremony and index, None if there is none."""
        path = self.path(ceremony, index)
        try:
            st = path.stat()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise CeremonyError(f"cannot read the trustee key file {path}: {e.strerror}") from None
        if stat.S_IMODE(st.st_mode) & 0o077:
            raise CeremonyError(f"the trustee key file {path} is readable by others (mode "
                                f"{stat.S_IMODE(st.st_mode):o}): refused")
        if st.st_size > MAX_FILE:
            raise CeremonyError(f"the trustee key file {path} is {st.st_size} bytes: not one")
        try:
            data = path.read_bytes()
        except OSError as e:
            raise CeremonyError(f"cannot read the trustee key file {path}: {e.strerror}") from None
        t = Trustee.from_secrets(data)
        if t.ceremony != ceremony or t.index != index:
            raise CeremonyError(f"the trustee key file {path} is another ceremony's")
        return t

    def forget(self, ceremony: bytes, index: int) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path(ceremony, index).unlink()
