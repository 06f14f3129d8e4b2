"""Durable copies of evidence files: the stored bytes are the ones that hashed right."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest

from scaleguard.workspace.files import copy_if_unchanged


def _source(tmp_path: Path, size: int = 3 * 1024 * 1024 + 17) -> tuple[Path, bytes, str]:
    data = os.urandom(size)
    path = tmp_path / "log.json"
    path.write_bytes(data)
    return path, data, hashlib.sha256(data).hexdigest()


def _refuse(*_: object) -> int:
    raise OSError(errno.EXDEV, "cross-device")


_REAL_COPY = getattr(os, "copy_file_range", None)


def _short(src: int, dst: int, count: int) -> int:
    """Copies one part, then reports nothing copied, as some file systems do."""
    if _REAL_COPY is None or os.lseek(dst, 0, os.SEEK_CUR) > 0:
        return 0
    return int(_REAL_COPY(src, dst, min(count, 1024 * 1024)))


@pytest.mark.parametrize("kernel", ["native", "refused", "short"])
def test_the_copy_is_the_file_whatever_the_route(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    if kernel == "refused":
        monkeypatch.setattr(os, "copy_file_range", _refuse, raising=False)
    elif kernel == "short":
        monkeypatch.setattr(os, "copy_file_range", _short, raising=False)
    source, data, sha = _source(tmp_path)
    target = tmp_path / "objects" / "ab" / sha
    assert copy_if_unchanged(source, target, expected_sha256=sha)
    assert target.read_bytes() == data
    assert target.stat().st_mode & 0o777 == 0o444
    assert not list(target.parent.glob(".tmp-*"))


@pytest.mark.parametrize("kernel", ["native", "refused"])
def test_a_file_that_no_longer_hashes_right_is_not_stored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kernel: str
) -> None:
    if kernel == "refused":
        monkeypatch.setattr(os, "copy_file_range", _refuse, raising=False)
    source, data, sha = _source(tmp_path)
    source.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))  # changed after it was read
    target = tmp_path / "objects" / "ab" / sha
    assert not copy_if_unchanged(source, target, expected_sha256=sha)
    assert not target.exists()
    assert not list(target.parent.glob(".tmp-*"))


def test_an_empty_file_is_copied(tmp_path: Path) -> None:
    source = tmp_path / "empty.csv"
    source.write_bytes(b"")
    sha = hashlib.sha256(b"").hexdigest()
    target = tmp_path / "objects" / sha
    assert copy_if_unchanged(source, target, expected_sha256=sha)
    assert target.read_bytes() == b""
