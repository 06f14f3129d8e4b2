"""The one error hierarchy of scaleguard.

Every error a user can cause carries its own message and a hint on how to fix
it. The CLI catches :class:`ScaleguardError` once and exits 2 with that text;
web routes map it to a 4xx body. Nothing below this base class should ever
reach a user as a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can.

    ``location`` is ``file:line:column`` for files and a JSON path such as
    ``$.thresholds[2].domain`` for structured input; either may be absent when
    the problem concerns the input as a whole.
    """

    message: str
    hint: str = ""
    file: str | None = None
    line: int | None = None
    column: int | None = None
    path: str | None = None

    @property
    def location(self) -> str:
        if self.file is not None and self.line is not None:
            return f"{self.file}:{self.line}:{self.column or 1}"
        if self.file is not None:
            return self.file
        return self.path or ""

    def render(self) -> str:
        where = self.location
        text = f"{where}: {self.message}" if where else self.message
        if self.path and self.file is not None:
            text += f" (at {self.path})"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        return {
            "message": self.message,
            "hint": self.hint,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "path": self.path,
        }


@dataclass
class ScaleguardError(Exception):
    """Base class: an error the user can understand and act on."""

    message: str
    hint: str = ""
    problems: list[Problem] = field(default_factory=list)

    #: HTTP status for the web layer (0: the class's :attr:`http_status`).
    status: int = 0
    #: The HTTP status of errors of this class.
    http_status: ClassVar[int] = 400
    #: The CLI's exit code: 2 for bad input (most errors); 1 where a check failed.
    exit_code: ClassVar[int] = 2

    def __post_init__(self) -> None:
        if not self.status:
            self.status = self.http_status
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.render()

    def render(self) -> str:
        lines = [self.message]
        lines.extend(p.render() for p in self.problems)
        if self.hint:
            lines.append(f"hint: {self.hint}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        return {
            "ok": False,
            "error": self.message,
            "hint": self.hint,
            "errors": [p.as_dict() for p in self.problems],
            "status": self.status,
        }


class InputError(ScaleguardError):
    """Malformed, truncated, oversized or wrong-typed input."""


class FrameworkError(InputError):
    """A framework document failed to load or validate."""


class NotFoundError(ScaleguardError):
    """A named thing (framework, model, record) does not exist."""

    http_status: ClassVar[int] = 404


class Unauthenticated(ScaleguardError):
    """No credentials, or ones the server does not know (HTTP 401)."""

    http_status: ClassVar[int] = 401


class Forbidden(ScaleguardError):
    """The caller is known but may not do this (HTTP 403)."""

    http_status: ClassVar[int] = 403


class ConflictError(ScaleguardError):
    """The request contradicts what is already recorded (e.g. a second submission)."""

    http_status: ClassVar[int] = 409


class EvidenceError(InputError):
    """An evidence artifact is corrupt, truncated or unrecognised."""


class StoreError(ScaleguardError):
    """The workspace or its database cannot be opened or written."""

    http_status: ClassVar[int] = 500


class WorkspaceError(StoreError):
    """No workspace here, or a broken scaleguard.toml."""


class LedgerError(ScaleguardError):
    """The ledger or a proof/receipt did not verify."""


class LedgerIntegrityError(LedgerError):
    """The ledger in the database does not add up (it was tampered with or damaged).

    Unlike bad input, this is a failed check: the CLI exits 1, not 2.
    """

    exit_code: ClassVar[int] = 1
