"""Starting a log, and adopting one made before signer state existed.

Both are the only moments the signer's state is written from something other
than its own seal: an empty tree it signs itself, or, once, the newest
checkpoint of a ledger that ``verify --full`` has just checked.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import cast

from sqlalchemy import Table, func, insert, select
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError, LedgerIntegrityError
from scaleguard.ledger.canonical import format_time
from scaleguard.ledger.merkle import EMPTY_ROOT
from scaleguard.ledger.note import NoteSigner
from scaleguard.store.ledger.census import start_census
from scaleguard.store.ledger.frontier import SignedTree, empty_tree, signed_tree, stored_frontier
from scaleguard.store.ledger.signer import check_extends, latest_row
from scaleguard.store.ledger.state import SignerState, write_state
from scaleguard.store.tables import LedgerCheckpointRow, LedgerEntryRow

__all__ = ["adopt", "start_log"]

_ENTRIES = cast(Table, LedgerEntryRow.__table__)
_CHECKPOINTS = cast(Table, LedgerCheckpointRow.__table__)


def start_log(tx: Session, signer: NoteSigner, state_path: Path) -> SignedTree:
    """Sign the empty tree for a ledger that has no entries and no checkpoints yet."""
    entries = int(tx.execute(select(func.count()).select_from(_ENTRIES)).scalar_one())
    checkpoints = int(tx.execute(select(func.count()).select_from(_CHECKPOINTS)).scalar_one())
    if entries or checkpoints:
        raise LedgerError(
            f"this ledger already has {entries} entries and {checkpoints} checkpoints; a new "
            "key cannot vouch for entries it never signed",
            hint="restore the original keys folder (ledger.key and ledger.state) from a backup",
        )
    tree = empty_tree(signer)
    tx.execute(
        insert(_CHECKPOINTS),
        {
            "size": 0,
            "root": EMPTY_ROOT,
            "note": tree.note,
            "created_at": format_time(datetime.now(UTC)),
        },
    )
    write_state(state_path, SignerState(tree))
    start_census(state_path)
    return tree


def adopt(session: Session, signer: NoteSigner, state_path: Path) -> SignedTree:
    """Trust the database's newest checkpoint once, for a log made before signer state.

    Only after the whole ledger verified (the caller runs ``verify --full``):
    the checkpoint must carry the key's signature and the stored tree must give
    its root; its frontier is read from the stored tree.
    """
    if state_path.exists():
        raise LedgerError(
            f"the signer state {state_path} already exists; nothing to adopt",
            hint="adopting is only for workspaces made before scaleguard kept signer state",
        )
    latest = latest_row(session)
    if latest is None:
        raise LedgerError("the ledger has no checkpoint to adopt")
    size, note = latest

    try:
        tree = signed_tree(note, stored_frontier(session, size), signer.verifier)
    except LedgerError as exc:
        raise LedgerIntegrityError(f"cannot adopt: {exc.message}", hint=exc.hint) from None
    check_extends(session, tree)
    write_state(state_path, SignerState(tree))
    return tree
