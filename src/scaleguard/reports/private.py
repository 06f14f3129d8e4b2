"""Where reviewer (unredacted) editions live, and how they are committed to.

The public ``reports/`` folder is meant to be published whole. A reviewer
edition is never written there: it goes to ``reviewer-editions/`` (mode
0700, files 0600) and is recorded under its own ledger entry kind,
``report-reviewer-edition``. Writing one into ``reports/`` is refused.

The record of a reviewer edition holds no plain hash of its bytes: a hash of
deterministic content is an oracle for guessing a redacted value. It holds
``SHA-256("scaleguard.commitment.v1" NUL salt NUL bytes)`` instead, with a
random 32-byte salt per report kept in ``reviewer-editions/report-ID.salt``
(0600). A reviewer given the edition and the salt can check the commitment;
anyone else cannot test guesses against it.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from scaleguard.errors import InputError
from scaleguard.workspace.files import atomic_write
from scaleguard.workspace.workspace import Workspace

REVIEWER_DIR = "reviewer-editions"
PUBLIC_DIR = "reports"
_DOMAIN = b"scaleguard.commitment.v1\0"


def reviewer_dir(ws: Workspace) -> Path:
    """The private folder, created (or tightened) to mode 0700."""
    folder = ws.root / REVIEWER_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def check_private_target(ws: Workspace, path: Path) -> None:
    """Refuse to write an unredacted edition into the public folder."""
    public = (ws.root / PUBLIC_DIR).resolve()
    target = path.expanduser().resolve()
    if target == public or public in target.parents:
        raise InputError(
            f"{path} is inside the public {PUBLIC_DIR}/ folder; a reviewer edition is never "
            "written there",
            hint=f"leave out --output (it goes to {REVIEWER_DIR}/) or choose a private folder",
        )


def write_private(path: Path, data: bytes) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    atomic_write(path, data, mode=0o600)


def report_salt(ws: Workspace, report_id: int) -> bytes:
    """The report's commitment salt, created once (32 random bytes, 0600)."""
    path = reviewer_dir(ws) / f"report-{report_id}.salt"
    if path.is_file():
        text = path.read_text(encoding="ascii", errors="replace").strip()
        try:
            salt = bytes.fromhex(text)
        except ValueError:
            salt = b""
        if len(salt) != 32:
            raise InputError(
                f"{path} is not a 64-digit hex salt",
                hint="restore it from backup; without it earlier commitments cannot be checked",
            )
        return salt
    salt = secrets.token_bytes(32)
    atomic_write(path, salt.hex().encode() + b"\n", mode=0o600)
    return salt


def commitment(salt: bytes, data: bytes) -> str:
    """Salted SHA-256 commitment to ``data`` (hex)."""
    return hashlib.sha256(_DOMAIN + salt + b"\0" + data).hexdigest()
