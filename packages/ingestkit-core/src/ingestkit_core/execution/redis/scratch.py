"""A worker's private scratch folder, and the sweep of folders that dead workers left.

Inline content is written under the folder while its job runs, and a worker removes
the folder when it stops. A worker killed outright (``kill -9``, the OOM killer, a
lost machine's restart) cannot, so each worker holds an exclusive lock on an owner file
in its folder for as long as it lives — the kernel drops the lock when the process
ends, however it ends — and every worker that starts in the same base folder removes
the folders whose lock it can take: those of workers that are gone.

Locks are ``flock`` locks. Where there are none (Windows), folders are still private
and removed on a clean stop, but not swept.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PREFIX = "ingestkit-worker-"
OWNER = "owner.lock"


class Scratch:
    """This worker's folder under ``base`` (default: the system's temporary folder).

    Creating one first removes the folders of workers that died in the same base.
    """

    def __init__(self, base: Path | None = None) -> None:
        if base is not None:
            base.mkdir(parents=True, exist_ok=True)
        base = base or Path(tempfile.gettempdir())
        self.swept = sweep(base)
        """Folders of dead workers removed on the way in."""
        self.path = Path(tempfile.mkdtemp(prefix=PREFIX, dir=base))
        self._owner: int | None = None
        try:
            self._owner = _hold(self.path)
        except BaseException:
            shutil.rmtree(self.path, ignore_errors=True)
            raise

    def close(self) -> None:
        """Remove the folder (the lock goes after it, so no sweep races the removal)."""
        shutil.rmtree(self.path, ignore_errors=True)
        if self._owner is not None:
            os.close(self._owner)
            self._owner = None


def _hold(folder: Path) -> int | None:
    """Lock the folder's owner file for this process's lifetime; its descriptor.

    The file is locked under a temporary name and then renamed, so that a sweep never
    finds an owner file that nobody holds yet.
    """
    if fcntl is None:
        return None
    pending = folder / f".{OWNER}.{os.getpid()}"
    descriptor = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        os.write(descriptor, f"{os.getpid()}\n".encode())
        os.replace(pending, folder / OWNER)
    except BaseException:
        os.close(descriptor)
        raise
    return descriptor


def sweep(base: Path) -> list[Path]:
    """Remove the scratch folders under ``base`` whose worker is gone; the ones removed.

    A folder is left alone when it is not a real folder of this user, has no owner file
    (one being created, or not a worker's) or its owner still holds the lock.
    """
    if fcntl is None:
        return []
    removed = []
    for folder in base.glob(PREFIX + "*"):
        try:
            info = os.lstat(folder)
        except OSError:
            continue
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
            continue
        try:
            descriptor = os.open(folder / OWNER, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue  # its worker is alive
        try:
            shutil.rmtree(folder, ignore_errors=True)
        finally:
            os.close(descriptor)
        removed.append(folder)
    return removed
