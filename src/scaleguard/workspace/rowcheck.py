"""One way for every capability to rely only on rows the ledger's key signed, all of them.

Decisions, usage review, incidents and Risk Reports read record rows that anyone
who can write the database can edit, insert or delete. Before relying on them,
each proves the exact rows it is about to read, in the same transaction
(:func:`scaleguard.store.ledger.rows.check_scopes`), and that none the key
signed for them is missing (the signer's census,
:mod:`scaleguard.store.ledger.census`). A failure is the workspace's fault, not
the caller's: the refusal says what was refused and carries HTTP status 500.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from scaleguard.errors import LedgerIntegrityError

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scaleguard.store.ledger.census import Census
    from scaleguard.store.ledger.rows import Scope
    from scaleguard.workspace.workspace import Workspace

__all__ = ["check_rows", "refusal"]

HINT = "run 'scaleguard ledger verify --full' and restore the database from a backup"


def refusal(refusing: str, message: str, hint: str = "") -> LedgerIntegrityError:
    """LedgerIntegrityError "refusing to ``refusing``: ``message``", HTTP status 500."""
    refused = LedgerIntegrityError(f"refusing to {refusing}: {message}", hint=hint or HINT)
    refused.status = 500  # the server's database, not the caller, is at fault
    return refused


def check_rows(
    session: Session,
    ws: Workspace,
    scopes: Sequence[Scope] | Callable[[Census], Sequence[Scope]],
    refusing: str,
) -> None:
    """Every row of ``scopes`` must be what the ledger's key signed (or, in a write
    transaction, what it appended), and every row it signed for them must be there; else
    :func:`refusal` "refusing to ``refusing``: …".

    ``scopes`` may be a function of the signer's census that gives them, for scopes
    that must also look for subjects the database no longer holds any row about
    (:func:`scaleguard.store.ledger.rows.decision_scopes`).
    """
    from scaleguard.store.ledger.rows import check_scopes

    if not callable(scopes) and not scopes:
        return
    try:
        signed = ws.signed_checkpoint(session)
        census = ws.census(session, signed)
        chosen = scopes(census) if callable(scopes) else scopes
        check_scopes(session, signed, chosen, census)
    except LedgerIntegrityError as exc:
        raise refusal(refusing, exc.message, exc.hint) from None
