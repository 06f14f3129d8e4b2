"""The rules a workspace applies under a framework's ``ID@VERSION``: the ones it first used.

Recording refuses a workspace document whose content changed under a version
already used (:func:`scaleguard.store.repo.record_framework`). What only reads
a framework must not apply such a document either: the external review a
report owes, the duties an incident's legal clocks follow, when the next Risk
Report is due and the thresholds the console shows would all change with an
edit nobody recorded. Those computations take the framework through
:func:`applied_framework`, which refuses it the same way; the page that shows
a framework shows it with :func:`framework_standing`'s warning instead.

The first use is read from rows the ledger's key signed, none missing, so
deleting its record refuses rather than lets the edited document through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from scaleguard.errors import ConflictError
from scaleguard.store import repo
from scaleguard.store.ledger.scopes import kind_scope
from scaleguard.workspace.rowcheck import check_rows

if TYPE_CHECKING:
    from scaleguard.framework.loader import LoadedFramework
    from scaleguard.store.records import FrameworkUse
    from scaleguard.workspace.workspace import Workspace

__all__ = [
    "FrameworkStanding",
    "applied_framework",
    "first_digests",
    "framework_standing",
    "refuse_changed",
    "standing_among",
]


@dataclass(frozen=True)
class FrameworkStanding:
    """A framework document as it is now, against the uses this workspace recorded under
    its ``ID@VERSION``: what a reader of the document needs to know before comparing it
    with the decisions recorded under that name."""

    ref: str
    digest: str
    builtin: bool
    #: The digest first used under this ref and when (None: never used here).
    first_digest: str | None
    first_used: str | None
    #: Every digest recorded under this ref, oldest first.
    recorded: tuple[str, ...]

    @property
    def changed_in_place(self) -> bool:
        """A document of the workspace's own whose rules are not those first used under its
        version: recording under it is refused, and decisions under it applied other rules."""
        return not self.builtin and self.first_digest not in (None, self.digest)

    @property
    def earlier_encodings(self) -> tuple[str, ...]:
        """For a built-in framework: digests of encodings shipped with an earlier scaleguard
        that decisions under this version applied."""
        return tuple(d for d in self.recorded if d != self.digest) if self.builtin else ()


def framework_standing(ws: Workspace, fw: LoadedFramework) -> FrameworkStanding:
    """How ``fw`` stands against the framework uses recorded here, read from rows the
    ledger's key signed, none missing: deleting the record of a first use must not hide
    that a document was changed under the same version."""
    return standing_among(fw, _checked_uses(ws))


def first_digests(ws: Workspace) -> dict[str, str]:
    """The digest first used under each ``ID@VERSION`` here, from signed rows, none missing."""
    first: dict[str, str] = {}
    for use in sorted(_checked_uses(ws), key=lambda u: (u.loaded_at, u.id)):
        first.setdefault(use.ref, use.digest)
    return first


def _checked_uses(ws: Workspace) -> list[FrameworkUse]:
    with ws.store.read() as s:
        check_rows(s, ws, [kind_scope("framework")], "list the framework uses")
        return repo.framework_uses(s)


def standing_among(fw: LoadedFramework, uses: Sequence[FrameworkUse]) -> FrameworkStanding:
    """:func:`framework_standing` against ``uses`` the caller read and checked itself."""
    mine = sorted((u for u in uses if u.ref == fw.ref), key=lambda u: (u.loaded_at, u.id))
    first = mine[0] if mine else None
    return FrameworkStanding(
        ref=fw.ref,
        digest=fw.digest,
        builtin=fw.origin.startswith("builtin:"),
        first_digest=first.digest if first else None,
        first_used=first.loaded_at if first else None,
        recorded=tuple(u.digest for u in mine),
    )


def applied_framework(ws: Workspace, framework: str | LoadedFramework) -> LoadedFramework:
    """The framework whose rules a computation may apply (a name is looked up with
    :meth:`Library.get`); ConflictError when it is the workspace's own document changed
    under a version this workspace already used."""
    fw = ws.library().get(framework) if isinstance(framework, str) else framework
    refuse_changed(ws, fw, framework_standing(ws, fw))
    return fw


def refuse_changed(ws: Workspace, fw: LoadedFramework, standing: FrameworkStanding) -> None:
    """ConflictError when ``standing`` says ``fw`` changed under its version."""
    if not standing.changed_in_place:
        return
    first = standing.first_digest or ""
    origin = ws.relative(Path(fw.origin))
    raise ConflictError(
        f"{fw.ref} ({origin}) is not the {fw.ref} this workspace first used on "
        f"{(standing.first_used or '')[:10]} (sha256 {first[:12]}, now {fw.digest[:12]}): "
        "its rules changed under the same version, so nothing may apply them",
        hint="restore the document as it was first used, or give the changed one a new "
        "version (its framework: version: field) and name that version",
    )
