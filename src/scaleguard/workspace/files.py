"""Durable file writes: a temp file in the target folder, fsync, then ``os.replace``.

A reader sees the old file or the complete new one, never a torn write, and
after a crash at worst a ``.tmp-*`` file is left behind. The folder itself is
fsynced after the rename so the new name survives a power loss too. This
costs two fsyncs per file, which is the point for evidence and config.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

CHUNK = 1024 * 1024


def fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - some filesystems cannot open folders
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


@contextlib.contextmanager
def _temp_beside(target: Path) -> Iterator[tuple[BinaryIO, Path]]:
    fd, name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
    temp = Path(name)
    try:
        with os.fdopen(fd, "wb") as handle:
            yield handle, temp
    finally:
        temp.unlink(missing_ok=True)


def atomic_write(target: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write ``data`` to ``target`` so that it is either absent/old or complete and durable."""
    with _temp_beside(target) as (handle, temp):
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())
        os.chmod(temp, mode)
        os.replace(temp, target)
    fsync_dir(target.parent)


def copy_if_unchanged(source: Path, target: Path, *, expected_sha256: str) -> bool:
    """Copy ``source`` to ``target`` durably if its bytes hash to ``expected_sha256``.

    Returns False, writing nothing, when they do not: the file changed after
    it was read and checked, so what would be stored is not what was parsed.
    What is hashed is the copy itself, read back before it takes its name, so
    the stored file is the one that matched. The copy is read-only (0444):
    stored evidence is never edited.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    with _temp_beside(target) as (handle, temp), source.open("rb") as src:
        handle.flush()
        if not _kernel_copy(src, handle):
            handle.seek(0)
            handle.truncate()
            src.seek(0)
            while chunk := src.read(CHUNK):
                handle.write(chunk)
            handle.flush()
        os.fsync(handle.fileno())
        with temp.open("rb") as copy:
            if hashlib.file_digest(copy, "sha256").hexdigest() != expected_sha256:
                return False
        os.chmod(temp, 0o444)
        os.replace(temp, target)
    fsync_dir(target.parent)
    return True


def _kernel_copy(src: BinaryIO, dst: BinaryIO) -> bool:
    """Copy ``src`` to the empty ``dst`` inside the kernel (``copy_file_range``).

    For a large log this is several times quicker than moving its bytes through
    Python. False when the platform or the file systems cannot, or a copy
    stops short: the caller then copies in chunks (the hash of the copy
    decides, either way).
    """
    copy_range = getattr(os, "copy_file_range", None)
    if copy_range is None:
        return False
    size = os.fstat(src.fileno()).st_size
    done = 0
    try:
        while done < size:
            step = copy_range(src.fileno(), dst.fileno(), size - done)
            if step <= 0:
                return False
            done += step
    except OSError:  # EXDEV, EINVAL, ENOSYS, EOPNOTSUPP: not here
        return False
    return True
