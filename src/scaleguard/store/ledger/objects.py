"""Evidence files against the digests their ledger entries hold.

An evidence entry records the SHA-256 of the raw artifact it was read from
(``artifact_sha256``). That digest is signed; the ``artifacts`` table and the
files under ``objects/`` are not, so ``verify --full`` re-derives what it can:
every cited artifact must have its row and its file, the file must hash to the
digest, the row must say the file's size and its canonical place
(``objects/ab/cdef…``), and no row may exist that no evidence entry cites.
The row's ``original_name`` and ``format`` are display labels, not covered.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.expression import type_coerce
from sqlalchemy.sql.sqltypes import NullType

from scaleguard.store.tables import ArtifactRow

_ARTIFACTS = cast(Table, ArtifactRow.__table__)
_CHUNK = 1 << 20

#: ``add(index, table, row, message)`` of a verification report.
Add = Callable[[int | None, str, str, str], None]


def object_path(objects: Path, sha256: str) -> Path:
    """Where the artifact with this digest is stored (as the workspace lays it out)."""
    return objects / sha256[:2] / sha256[2:]


def file_digest(path: Path) -> tuple[str, int] | None:
    """SHA-256 hex and size of a regular file; None if it is missing or unreadable."""
    try:
        if not path.is_file():
            return None
        digest, size = hashlib.sha256(), 0
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError:
        return None
    return digest.hexdigest(), size


def check_objects(
    session: Session,
    cited: Mapping[str, int],
    objects: Path,
    add: Add,
    progress: Callable[[int, int], None] | None = None,
) -> int:
    """Check every artifact row and every cited file; returns how many files were hashed.

    ``progress(done, total)`` is called after each cited file."""
    rows: dict[str, tuple[object, object]] = {}
    query = select(
        type_coerce(_ARTIFACTS.c.sha256, NullType()),
        type_coerce(_ARTIFACTS.c.size, NullType()),
        type_coerce(_ARTIFACTS.c.stored_path, NullType()),
    )
    for sha, size, stored_path in session.execute(query):
        key = str(sha)
        rows[key] = (size, stored_path)
        if key not in cited:
            add(
                None,
                "artifacts",
                f"sha256 {key[:16]}",
                "no evidence entry cites this artifact (the row was inserted or its sha256 "
                "was edited)",
            )
    hashed = 0
    for sha, index in sorted(cited.items(), key=lambda item: item[1]):
        where = f"sha256 {sha[:16]}"
        path = object_path(objects, sha)
        row = rows.get(sha)
        if row is None:
            add(index, "artifacts", where, "the artifact this evidence cites has no row")
        else:
            size, stored_path = row
            expected = f"{objects.name}/{sha[:2]}/{sha[2:]}"
            if stored_path != expected:
                add(
                    index,
                    "artifacts",
                    where,
                    f"stored_path is {str(stored_path)[:80]!r}, not {expected!r}",
                )
        found = file_digest(path)
        hashed += 1
        if progress is not None:
            progress(hashed, len(cited))
        if found is None:
            add(index, "objects", str(path.relative_to(objects.parent)), "the file is missing")
            continue
        digest, length = found
        if digest != sha:
            add(
                index,
                "objects",
                str(path.relative_to(objects.parent)),
                f"the file's SHA-256 is {digest}, not the {sha} its evidence entry recorded: "
                "it was overwritten",
            )
        elif row is not None and row[0] != length:
            add(index, "artifacts", where, f"size is {row[0]!r} but the file has {length} bytes")
    return hashed
