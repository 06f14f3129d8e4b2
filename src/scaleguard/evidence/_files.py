"""Reading artifact bytes once, bounded, and hashing exactly what gets parsed.

Readers parse the bytes returned here rather than reopening the path, so the
SHA-256 stored with the evidence is the hash of the content that produced it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from scaleguard.errors import EvidenceError, Problem

MIB = 1024 * 1024
LOG_LIMIT = 200 * MIB
CSV_LIMIT = 50 * MIB


def read_bounded(path: Path, limit: int, kind: str) -> bytes:
    """Read ``path`` whole, refusing files larger than ``limit`` bytes."""
    name = str(path)
    try:
        size = path.stat().st_size
        if size > limit:
            raise _too_big(name, size, limit, kind)
        with path.open("rb") as handle:
            # read(n) allocates n bytes up front: ask for the size the file has, not
            # the limit, and read on only if it grew since stat (still bounded).
            data = handle.read(size + 1)
            if len(data) > size:
                data += handle.read(limit + 1 - len(data))
    except EvidenceError:
        raise
    except FileNotFoundError:
        raise EvidenceError(
            f"{name}: no such file", hint="check the path; globs must be expanded by the shell"
        ) from None
    except IsADirectoryError:
        raise EvidenceError(
            f"{name}: is a directory, not an evidence file",
            hint="pass the log files inside it, e.g. logs/*.eval",
        ) from None
    except OSError as exc:
        raise EvidenceError(
            f"{name}: cannot be read ({exc.strerror or exc})",
            hint="check that the file exists and is readable",
        ) from None
    if len(data) > limit:
        raise _too_big(name, len(data), limit, kind)
    return data


def _too_big(name: str, size: int, limit: int, kind: str) -> EvidenceError:
    return EvidenceError(
        f"{name}: {size / MIB:.1f} MiB is larger than the {limit // MIB} MiB limit for {kind}",
        hint="split the results into smaller files, or ingest only the runs you need",
    )


class DuplicateKeyError(ValueError):
    """A JSON object names the same key twice (json.loads would keep only the last)."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise DuplicateKeyError(
                f"the key {shorten(key, 80)!r} appears twice in one JSON object; which value "
                "counts would be a guess"
            )
        out[key] = value
    return out


def strict_json(text: str | bytes) -> Any:
    """``json.loads`` that refuses duplicate keys (DuplicateKeyError, a ValueError)."""
    return json.loads(text, object_pairs_hook=_no_duplicates)


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def shorten(text: str, limit: int = 300) -> str:
    """Trim third-party error text so a message stays readable."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


@contextmanager
def validating(name: str) -> Iterator[None]:
    """Construct evidence models inside; validation failures become an EvidenceError."""
    try:
        yield
    except ValidationError as exc:
        problems = [
            Problem(
                message=str(err["msg"]),
                file=name,
                path="$." + ".".join(str(part) for part in err["loc"]) if err["loc"] else None,
            )
            for err in exc.errors()[:20]
        ]
        raise EvidenceError(
            f"{name}: the values read from this artifact are not valid evidence",
            hint="fix the listed values at their source and ingest the artifact again",
            problems=problems,
        ) from None
