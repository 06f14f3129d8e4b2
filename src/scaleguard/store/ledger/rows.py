"""Check record rows against their signed ledger entries before anything relies on them.

Quick verification looks only at the newest entries, and a full one is too
slow to run before every decision; yet a decision reads rows from anywhere in
history. So before a decision is recorded, every row it can read is checked
on its own: its entry bytes are rebuilt from the row (the same canonical JSON
the row was recorded as), hashed to a leaf, and that leaf must be proven
(RFC 9162 inclusion proof) in the tree whose root the signer signed. The proof
hashes come from the database, but a proof only verifies against the signed
root if the row is exactly what was signed, so nothing stored is trusted.

Doing that for the ~3,000 rows a decision reads (the whole registry) costs
tens of milliseconds, so a process proves each row once and afterwards only
shows, cheaply, that the rows are still the ones it proved:

* The rows a decision reads are a few *scopes*: a table and a condition (the
  whole registry; one model's evidence, attestations, facts, determinations
  and overrides). A scope is *unchanged* when every stored value of every row,
  with the same ids in the same order, is what the process proved:

  - SQLite (in-process, so reading is cheap and no digest SQLite can compute
    is cheaper) reads the rows as the driver returns them and compares them
    with the rows it proved, in memory. Python equality of driver values is
    exact for text, bytes and NULL; numbers compare by value, so 1 and 1.0 or
    0.0 and -0.0 are equal, and so are they in the signed record: canonical
    JSON (RFC 8785) writes a number by its value. A column's affinity makes
    SQLite keep one of the two anyway.
  - PostgreSQL (a round trip per statement) computes for every scope, in one
    statement, the SHA-256 of an injective text encoding of its rows in id
    order: ``quote_nullable`` of each column (text quoted, NULL distinct) and
    the exact IEEE bytes (``float8send``) of floating point columns. Equal
    digests mean equal stored values (SHA-256 collision resistance).
* A changed scope is read in full (on PostgreSQL in one statement that also
  returns each row's encoding), so what is remembered next is exactly the rows
  proven, from one snapshot. A row remembered under a scope but missing now was deleted
  (record tables are append-only): the decision refuses. Other rows are
  proven as before; a rebuilt leaf is remembered by the exact row values
  (``repr``), and an (index, leaf) pair proven in one signed tree stays proven
  in every later signed tree shown (RFC 9162 consistency proof, against both
  signed roots, from the stored hashes) to extend it. When a later signed
  tree cannot be shown to extend it, everything remembered is dropped.

What is *not* re-read once proven: stored subtree hashes and entry bytes. A
proof is a fact about the signed root, not about the table it was read from:
rewriting a hash or an entry afterwards cannot change what was proven, and
cannot make any edited row pass (its leaf is not in the signed tree). Such a
rewrite that leaves every row intact changes no input of a decision;
``scaleguard ledger verify`` reports it. A rewrite of the stored tree's right
edge is refused before any of this, by the signer's check that the stored
root is the signed one.

Inside a write transaction, a row that transaction recorded itself is not
covered by any signature yet; it is accepted only if its rebuilt leaf is the
one the transaction appended at its index (kept in memory for the signer, who
signs exactly those before the commit), so a trigger that edits it is caught.
A scope holding such a row is not remembered as proven.

So a warm process refuses every edit a cold one refuses that changes a row a
decision reads, and also a deleted row it had read (a cold process cannot
know a row is missing; ``verify --full`` finds it). It keeps deciding, on
signed rows only, where a cold process could not build a proof from a
damaged hash that no row depends on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import false, or_
from sqlalchemy.orm import Session

from scaleguard.errors import InputError, LedgerError, LedgerIntegrityError
from scaleguard.ledger.canonical import canonical_json
from scaleguard.ledger.merkle import (
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from scaleguard.ledger.note import Checkpoint
from scaleguard.ledger.recheck import RECORD_TABLES, row_record
from scaleguard.store import repo
from scaleguard.store.ledger.census import Census, Counted, check_count, pending_tally
from scaleguard.store.ledger.scopes import HINT, checked_tokens, pg_read, processed
from scaleguard.store.ledger.scopes import Scope as Scope
from scaleguard.store.ledger.scopes import ScopeKey as ScopeKey
from scaleguard.store.ledger.scopes import scope_tokens as scope_tokens
from scaleguard.store.ledger.signer import APPENDED
from scaleguard.store.ledger.tree import with_nodes
from scaleguard.store.tables import metadata

KIND_OF_TABLE = {table: (kind, column) for kind, (table, column) in RECORD_TABLES.items()}


_MEMO_LIMIT = 500_000
#: (table, repr of the row values) -> the leaf hash of the entry rebuilt from them
_leaf_memo: dict[tuple[str, str], bytes] = {}


@dataclass
class _Seen:
    """A scope's rows as last proven: their token (SQLite: the driver's rows;
    PostgreSQL: the digest of their encoding) and their ids."""

    token: object
    ids: frozenset[int]


@dataclass
class _Proven:
    """What one process proved about one database, in the signed tree (size, root)."""

    size: int = 0
    root: bytes = b""
    leaves: set[tuple[int, bytes]] = field(default_factory=set)
    scopes: dict[ScopeKey, _Seen] = field(default_factory=dict)

    def advance(self, session: Session, signed: Checkpoint) -> None:
        """Keep what was proven only if ``signed`` provably extends the tree it was proven in."""
        if (signed.size, signed.root) == (self.size, self.root):
            return
        keep = False
        if self.leaves and 0 < self.size <= signed.size:
            try:
                proof = with_nodes(
                    session, lambda src: consistency_proof(self.size, signed.size, src)
                )
                verify_consistency(self.size, signed.size, self.root, signed.root, proof)
                keep = True
            except LedgerError:
                keep = False
        if not keep:
            self.leaves = set()
            self.scopes = {}
        self.size, self.root = signed.size, signed.root


#: (database URL, log origin) -> what this process proved there
_proven_by_db: dict[tuple[str, str], _Proven] = {}


def _proven_for(session: Session, signed: Checkpoint) -> _Proven:
    key = (str(session.connection().engine.url), signed.origin)
    found = _proven_by_db.get(key)
    if found is None:
        if len(_proven_by_db) >= 16:
            _proven_by_db.clear()
        found = _proven_by_db[key] = _Proven()
    found.advance(session, signed)
    return found


def forget() -> None:
    """Drop everything proven in this process (the next check proves every row again)."""
    _proven_by_db.clear()
    _leaf_memo.clear()


def _leaf(table: str, values: Mapping[str, Any]) -> bytes:
    key = (table, repr(tuple(values.items())))
    found = _leaf_memo.get(key)
    if found is None:
        found = leaf_hash(rebuilt_entry(table, values))
        if len(_leaf_memo) >= _MEMO_LIMIT:
            _leaf_memo.clear()
        _leaf_memo[key] = found
    return found


@dataclass(frozen=True)
class RowCheck:
    """How many rows were checked, how many were read and proven again, and the tree size;
    ``recorded`` of the rows are entries the checking transaction itself appended."""

    rows: int
    size: int
    reread: int = 0
    recorded: int = 0


def appended_leaves(session: Session) -> dict[int, bytes]:
    """The ``(index -> leaf hash)`` of the entries ``session``'s write transaction appended
    and will sign before it commits (none for a read session).

    Kept in memory by the writer (:data:`~scaleguard.store.ledger.signer.APPENDED`),
    never read from the database, so they can stand in for the signature those
    rows do not have yet.
    """
    return dict(session.info.get(APPENDED, ()))


def rebuilt_entry(table: str, values: Mapping[str, Any]) -> bytes:
    """The entry bytes a row of ``table`` was recorded as (InputError if it cannot be)."""
    kind, time_column = KIND_OF_TABLE[table]
    moment = values.get(time_column)
    if not isinstance(moment, str):
        raise InputError(f"{time_column} is {type(moment).__name__}, not text")
    record = row_record(values, time_column)
    return canonical_json({"kind": kind, "record": record, "time": moment})


def _prove(
    session: Session,
    signed: Checkpoint,
    proven: _Proven,
    rows: Iterable[tuple[str, Mapping[str, Any]]],
    appended: Mapping[int, bytes],
) -> tuple[int, int]:
    """Prove every ``(table, row values)`` in ``signed``, or as an entry this transaction
    appended (``appended``: index -> leaf); returns how many rows there were, and how many
    of them were this transaction's own."""
    items: list[tuple[str, Mapping[str, Any], int, bytes]] = []
    own = 0
    for table, values in rows:
        where = f"{table} row id {values.get('id')}"
        index = values.get("ledger_index")
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise LedgerIntegrityError(f"{where} has no valid ledger index ({index!r})", hint=HINT)
        if index >= signed.size and index not in appended:
            raise LedgerIntegrityError(
                f"{where} claims ledger entry {index}, which no signed checkpoint covers "
                f"(the signer's latest covers {signed.size}): it was written without the key",
                hint=HINT,
            )
        try:
            leaf = _leaf(table, values)
        except InputError as exc:
            raise LedgerIntegrityError(
                f"{where} (ledger entry {index}) cannot be the record it was: {exc.message}",
                hint=HINT,
            ) from None
        if index >= signed.size:
            # recorded by this very transaction, to be signed when it commits: the row must
            # be exactly the entry the writer made (not what a trigger made of it since)
            if appended[index] != leaf:
                raise LedgerIntegrityError(
                    f"{where} does not match the ledger entry {index} this transaction "
                    "recorded: the row was changed after it was written (a trigger?)",
                    hint=HINT,
                )
            own += 1
            continue
        items.append((table, values, index, leaf))
    checked = len(items) + own
    items = [it for it in items if (it[2], it[3]) not in proven.leaves]
    if not items:
        return checked, own
    try:
        proofs = with_nodes(
            session, lambda src: [inclusion_proof(i, signed.size, src) for _, _, i, _ in items]
        )
    except LedgerError as exc:
        raise LedgerIntegrityError(
            f"cannot prove the rows a decision reads: {exc.message}", hint=HINT
        ) from None
    for (table, values, index, leaf), proof in zip(items, proofs, strict=True):
        try:
            verify_inclusion(leaf, index, signed.size, proof, signed.root)
        except LedgerError:
            raise LedgerIntegrityError(
                f"{table} row id {values.get('id')} does not match its signed ledger entry "
                f"{index}: the row (or the entry) was changed after it was recorded",
                hint=HINT,
            ) from None
        proven.leaves.add((index, leaf))
    return checked, own


# -- scopes: the rows a decision reads, and how they are shown unchanged ------------


def check_scopes(
    session: Session, signed: Checkpoint, scopes: Sequence[Scope], census: Census | None = None
) -> RowCheck:
    """Every row of every scope must be a signed entry of ``signed`` (see the module doc),
    or, in a write transaction, an entry that transaction appended (:func:`appended_leaves`).

    With ``census`` (the signer's counts for ``signed``,
    :mod:`scaleguard.store.ledger.census`), a scope that says what it counts
    (:class:`Counted`) must also hold *every* such signed entry's row: a
    deleted row is refused, by a process that never saw it too.

    A scope holding such a row is not remembered as proven: the transaction may
    still roll back, and its row would then look deleted to the next check.

    Every table the scopes read must be the plain stored table scaleguard created
    (:mod:`~scaleguard.store.ledger.relations`): a view, a row-security policy or an
    inheritance child could show this check the signed rows and the caller's later
    reads others. On PostgreSQL the transaction then checks again, when its work is
    done, that it read nothing else.
    """
    if not scopes:
        return RowCheck(0, signed.size)
    if census is not None and (census.size, census.root) != (signed.size, signed.root):
        raise ValueError("the census must be the signed tree's")
    sqlite = session.connection().dialect.name == "sqlite"
    proven = _proven_for(session, signed)
    appended = appended_leaves(session)
    pending = pending_tally(session.info) if census is not None and appended else {}
    checked = reread = recorded = 0
    for scope, token in zip(scopes, checked_tokens(session, scopes), strict=True):
        seen = proven.scopes.get(scope.key)
        if seen is not None and seen.token == token:
            if census is not None:
                check_count(scope.table.name, scope.counted, len(seen.ids), census, pending)
            checked += len(seen.ids)
            continue
        if sqlite:
            rows = processed(session, scope.table, token)  # type: ignore[arg-type]
        else:
            token, rows = pg_read(session, scope)
        ids = frozenset(int(values["id"]) for _, values in rows)
        if seen is not None and not seen.ids <= ids:
            gone = min(seen.ids - ids)
            raise LedgerIntegrityError(
                f"{scope.table.name} row id {gone} was deleted (or moved out of what a "
                "decision reads) after this process checked it: record rows are never deleted",
                hint=HINT,
            )
        count, own = _prove(session, signed, proven, rows, appended)
        if census is not None:
            check_count(scope.table.name, scope.counted, len(ids), census, pending)
        checked += count
        reread += count
        recorded += own
        if not own:
            proven.scopes[scope.key] = _Seen(token, ids)
    return RowCheck(checked, signed.size, reread, recorded)


#: (model, the evidence names it takes) -> its scopes, which keep their compiled SQL
_scopes_memo: dict[tuple[str, tuple[str, ...]], list[Scope]] = {}
_SCOPES_KEPT = 256


def _evidence_names(session: Session, model: str, census: Census | None) -> tuple[str, ...]:
    """The evidence model names a decision about ``model`` reads: those the database holds
    and, with a census, those the signer signed evidence about (rows of a name whose every
    row was deleted are still looked for) and those this transaction recorded."""
    suffix = "/" + model
    found = {n for n in repo.evidence_model_names(session) if n == model or n.endswith(suffix)}
    if census is not None:
        signed = set(census.subjects("evidence")) | {
            s for k, s in pending_tally(session.info) if k == "evidence"
        }
        found |= {n for n in signed if n is not None and (n == model or n.endswith(suffix))}
    return tuple(sorted(found))


def decision_scopes(session: Session, model: str, census: Census | None = None) -> list[Scope]:
    """Every row a decision about ``model`` reads: the registry (all models and scores),
    the frameworks, and the model's evidence (as :func:`repo.evidence_for_model` finds
    it), attestations, facts (its own and workspace-wide), determinations and overrides."""
    t = metadata.tables
    ev, fa, at, de, ov = (
        t["evidence"],
        t["facts"],
        t["attestations"],
        t["determinations"],
        t["overrides"],
    )
    names = _evidence_names(session, model, census)
    found = _scopes_memo.get((model, names))
    if found is None:
        mine: tuple[str | None, ...] = (model,)
        found = [
            Scope(("models", None), t["models"], (), Counted("model")),
            Scope(("model_scores", None), t["model_scores"], (), Counted("model-score")),
            Scope(("frameworks_loaded", None), t["frameworks_loaded"], (), Counted("framework")),
            Scope(
                ("evidence", model),
                ev,
                (ev.c.model.in_(names) if names else false(),),
                Counted("evidence", names),
            ),
            Scope(
                ("attestations", model), at, (at.c.model == model,), Counted("attestation", mine)
            ),
            Scope(
                ("facts", model),
                fa,
                (or_(fa.c.model == model, fa.c.model.is_(None)),),
                Counted("fact", (model, None)),
            ),
            Scope(
                ("determinations", model),
                de,
                (de.c.model == model,),
                Counted("determination", mine),
            ),
            Scope(("overrides", model), ov, (ov.c.model == model,), Counted("override", mine)),
        ]
        if len(_scopes_memo) >= _SCOPES_KEPT:
            _scopes_memo.clear()
        _scopes_memo[(model, names)] = found
    return list(found)


#: The scopes a determination is planned from (:func:`scaleguard.decisions.service.determine`).
PLANNING = ("evidence", "determinations", "overrides")
#: The scopes an override reads to find the determination it answers.
OVERRIDING = ("determinations", "overrides")


def check_decision_inputs(
    session: Session,
    signed: Checkpoint,
    model: str,
    tables: Sequence[str] | None = None,
    census: Census | None = None,
) -> RowCheck:
    """Check every row a decision about ``model`` reads against ``signed``
    (:func:`check_scopes`), and with ``census`` that none is missing; only the scopes of
    ``tables`` (e.g. :data:`PLANNING`) when given."""
    scopes = decision_scopes(session, model, census)
    if tables is not None:
        scopes = [scope for scope in scopes if scope.key[0] in tables]
    return check_scopes(session, signed, scopes, census)
