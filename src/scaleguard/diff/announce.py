"""Silent edits: which changes no changelog entry of the newer document announces.

A changelog note may name the elements it announces (``changes: [{summary,
elements: [...]}]``). A change of a diff ``A → B`` is *announced* when a note of
B's changelog, in an entry for a version after A's and up to B's, names the
element (its id in A or in B). Only one framework's versions are compared this
way: across frameworks, or when B is not later than A, nothing is unannounced.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable

from scaleguard.diff.model import Change
from scaleguard.framework.model import ChangeNote, FrameworkDocument

_PIECE = re.compile(r"\d+|[A-Za-z]+")


def version_key(version: str) -> tuple[tuple[int, int, str], ...]:
    """Order of version labels: numbers compare as numbers ("3.10" after "3.9").

    A word sorts before any number, so a label such as "beta" comes before "1.0".
    """
    return tuple(
        (1, int(p), "") if p.isdigit() else (0, 0, p.casefold()) for p in _PIECE.findall(version)
    )


def announced_elements(a: FrameworkDocument, b: FrameworkDocument) -> frozenset[str] | None:
    """Ids announced by B's changelog for the versions after A up to B; None when moot."""
    if a.framework.id != b.framework.id:
        return None
    lo, hi = version_key(a.framework.version), version_key(b.framework.version)
    if hi <= lo:
        return None
    ids: set[str] = set()
    for entry in b.changelog:
        if lo < version_key(entry.version) <= hi:
            for note in entry.changes:
                if isinstance(note, ChangeNote):
                    ids.update(note.elements)
    return frozenset(ids)


def _exempt(c: Change) -> bool:
    """Changes that are never edits of the framework's commitments.

    Labels and provenance (``element.metadata``: names, cited sections, the version's own
    number, date and sources) change with every version and every encoding; facts are
    scaleguard's vocabulary for conditions, which are compared on their own.
    """
    return c.rule == "element.metadata" or c.family == "facts"


def mark_unannounced(changes: Iterable[Change], announced: frozenset[str] | None) -> list[Change]:
    out: list[Change] = []
    for c in changes:
        if announced is None or _exempt(c):
            out.append(c)
            continue
        ids = {i for i in (c.id, c.old_id, c.new_id) if i is not None}
        out.append(dataclasses.replace(c, unannounced=not (ids & announced)))
    return out
