"""The signer's census: how many entries of each kind, about each subject, it signed.

The row check (:mod:`scaleguard.store.ledger.rows`) proves that every row a
decision reads is a signed entry. On its own it cannot prove that no signed
row is *missing*: a database administrator who deletes the evaluation result
that crossed a threshold leaves only rows that verify, and finding every
entry about a model would mean reading the whole ledger. So the signer also
counts what it signs, by ``(kind, subject)`` (the subject is the record's
``model``, or the field :data:`SUBJECT_FIELD` names for other kinds: ``customer``
for usage contracts, the incident for an incident event...; ``None`` when it has none),
and a decision compares the rows it read with those counts: fewer rows than
the signer signed is a deleted row, and the decision refuses.

Where the counts live, and why they can be trusted
--------------------------------------------------
In ``keys/ledger.census``, beside the key and the signer state, where the
database administrator cannot write. It is a *cache*: every count in it can
be recomputed from the ledger entries and checked against the signed root, and
that is what happens whenever the file is missing, behind, or unreadable:
the entries in the uncounted range are read, hashed, and their leaves must
extend the stored frontier at the counted size to the root the signer signed
(and that frontier must fold to the root the file recorded at that size). By
collision resistance of the RFC 9162 hashes, counts computed that way are
counts of the signed entries; a deleted or edited entry in the range stops
the count (and with it every decision) with :class:`LedgerIntegrityError`.

Because it is a cache, the file is written without ``fsync``: a line lost in
a crash is counted again from the database. Format, one JSON line per signed
tree after a header line::

    scaleguard-ledger-census/1 <digest of the subject fields>
    {"from":0,"size":3,"root":"<base64>","add":[["model",null,1],["evidence","m",2]]}
    {"from":3,"size":4,"root":"<base64>","add":[["decision","m",1]]}

Each line adds the counts of the entries ``from <= index < size`` to the
line before it (the first line starts from the empty tree) and records the
root of the tree of ``size`` entries. A writer appends its line only when the
file ends exactly where its entries begin; otherwise the next reader counts
the gap from the database. An incomplete last line (a crash) is ignored and
cut off by the next append; any other line that does not add up makes the
reader start again from the database, and the file is rewritten.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import json
import os
import tempfile
import threading
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from scaleguard.errors import LedgerError, LedgerIntegrityError
from scaleguard.ledger.merkle import EMPTY_ROOT, HASH_SIZE, leaf_hashes
from scaleguard.ledger.note import Checkpoint
from scaleguard.store.ledger.frontier import extend, fold, stored_frontier
from scaleguard.store.ledger.state import locked
from scaleguard.store.tables import LedgerEntryRow

__all__ = [
    "CENSUS",
    "Census",
    "CensusKey",
    "CensusLog",
    "Counted",
    "census_key",
    "census_path",
    "check_count",
    "pending_tally",
    "start_census",
]

#: ``tx.info`` key under which the append paths list the :func:`census_key` of every
#: entry the transaction appended, in the order of
#: :data:`~scaleguard.store.ledger.signer.APPENDED`.
CENSUS = "scaleguard.ledger.census"
#: Size past which the next append rewrites the file as one line.
COMPACT_BYTES = 1 << 22
#: Entries read per statement when counting from the database.
_CHUNK = 20_000
#: Censuses kept in memory by tree size, for snapshots older than the file.
_HISTORY = 64

#: A record's kind and subject.
CensusKey = tuple[str, str | None]

#: The record field that names what an entry of a kind is about (``model`` otherwise):
#: what the reads that must see every such row select by.
SUBJECT_FIELD = {
    "usage-contract": "customer",
    "usage-screen": "band",
    "usage-review": "screen_id",
    "usage-appeal": "screen_id",
    "usage-appeal-decision": "appeal_id",
    # incidents and noncompliance reports by their own id, their events by what they are about
    "incident": "id",
    "incident-event": "incident_id",
    "nc-report": "id",
    "nc-event": "report_id",
    # Risk Reports by their own id, what is recorded about one by its report, reviewers
    # and their declared interests by the reviewer's name
    "risk-report": "id",
    "report-redaction": "report_id",
    "report-submission": "report_id",
    "report-publication": "report_id",
    "report-reviewer-edition": "report_id",
    "reviewer": "name",
    "reviewer-interest": "reviewer",
    "review-assignment": "report_id",
    "review-access": "report_id",
    "review-comment": "report_id",
    "review-statement": "report_id",
    "review-response": "report_id",
    # roadmap goals by their goal id, and their updates by the goal they update, so a goal
    # asked for by its id is counted with its updates
    "roadmap-goal": "goal",
    "roadmap-update": "goal",
}


def _header() -> bytes:
    """The file's first line: the format and a digest of :data:`SUBJECT_FIELD`, so that a
    file counted under other subject fields (an older scaleguard) is counted again."""
    fields = json.dumps(sorted(SUBJECT_FIELD.items()), separators=(",", ":")).encode("utf-8")
    return b"scaleguard-ledger-census/1 " + hashlib.sha256(fields).hexdigest()[:16].encode() + b"\n"


HEADER = _header()
_ENTRIES = cast(Table, LedgerEntryRow.__table__)
HINT = (
    "a signed ledger entry or record row was deleted or changed; run "
    "'scaleguard ledger verify --full' and restore the database from a backup"
)


def census_key(kind: str, record: Mapping[str, Any]) -> CensusKey:
    """What the census counts an entry of ``kind`` recording ``record`` under."""
    subject = record.get(SUBJECT_FIELD.get(kind, "model"))
    if isinstance(subject, str):
        return kind, subject
    if type(subject) is int:
        return kind, str(subject)  # a row id: counted under its decimal text
    return kind, None


def census_path(state_path: Path) -> Path:
    """``keys/ledger.census`` beside ``keys/ledger.state``."""
    return state_path.with_name(state_path.stem + ".census")


def pending_tally(info: Mapping[Any, Any]) -> Counter[CensusKey]:
    """What the transaction whose ``info`` this is appended and has not had signed yet."""
    return Counter(info.get(CENSUS, ()))


@dataclass(frozen=True)
class Census:
    """The counts of the signed tree of ``size`` entries with root ``root``.

    Immutable: :meth:`plus` shares every kind's counts it does not change.
    """

    size: int = 0
    root: bytes = EMPTY_ROOT
    kinds: Mapping[str, Mapping[str | None, int]] = field(default_factory=dict)

    def count(self, kind: str, subjects: Iterable[str | None] | None = None) -> int:
        """Entries of ``kind`` about any of ``subjects`` (about anything when None)."""
        found = self.kinds.get(kind)
        if not found:
            return 0
        if subjects is None:
            return sum(found.values())
        return sum(found.get(s, 0) for s in subjects)

    def subjects(self, kind: str) -> Iterable[str | None]:
        """Every subject entries of ``kind`` were signed about."""
        return self.kinds.get(kind, {}).keys()

    def plus(self, delta: Mapping[CensusKey, int], size: int, root: bytes) -> Census:
        """This census with ``delta`` added, as the census of the tree ``(size, root)``."""
        kinds = dict(self.kinds)
        copied: set[str] = set()
        for (kind, subject), n in delta.items():
            if kind not in copied:
                kinds[kind] = dict(kinds.get(kind, {}))
                copied.add(kind)
            counts = cast(dict[str | None, int], kinds[kind])
            counts[subject] = counts.get(subject, 0) + n
        return Census(size, root, kinds)

    def items(self) -> list[tuple[str, str | None, int]]:
        """Every ``(kind, subject, count)``, in a stable order."""
        return [
            (kind, subject, n)
            for kind in sorted(self.kinds)
            for subject, n in sorted(self.kinds[kind].items(), key=lambda i: _order(i[0]))
        ]


EMPTY = Census()


@dataclass(frozen=True)
class Counted:
    """The signed entries a scope must hold every one of: those of ``kind`` about
    ``subjects`` (about anything when None), as the signer's census counts them."""

    kind: str
    subjects: tuple[str | None, ...] | None = None

    def expected(self, census: Census, pending: Mapping[CensusKey, int]) -> int:
        """Entries signed in ``census`` plus those the checking transaction appended."""
        signed = census.count(self.kind, self.subjects)
        if not pending:
            return signed
        if self.subjects is None:
            return signed + sum(n for (kind, _), n in pending.items() if kind == self.kind)
        return signed + sum(pending.get((self.kind, s), 0) for s in self.subjects)


def check_count(
    table: str,
    counted: Counted | None,
    rows: int,
    census: Census,
    pending: Mapping[CensusKey, int],
) -> None:
    """``rows`` rows of ``table`` were read for what ``counted`` says: exactly as many as
    the signer signed (plus what the checking transaction appended), else refuse."""
    if counted is None:
        return
    expected = counted.expected(census, pending)
    if rows == expected:
        return
    about = (
        ""
        if counted.subjects is None
        else " about " + ", ".join("(none)" if s is None else repr(s) for s in counted.subjects)
    )
    signed = f"{expected} {counted.kind!r} entr{'y' if expected == 1 else 'ies'}{about}"
    if rows < expected:
        gone = expected - rows
        raise LedgerIntegrityError(
            f"{table}: the ledger's key signed {signed}, but the database holds {rows} of "
            f"their rows: {gone} signed row{'s were' if gone > 1 else ' was'} deleted",
            hint=HINT,
        )
    raise LedgerIntegrityError(
        f"{table}: the database holds {rows} rows for the {signed} the ledger's key signed: "
        "rows were copied",
        hint=HINT,
    )


# -- the file --------------------------------------------------------------------------


def _line(start: int, census: Census, delta: Iterable[tuple[str, str | None, int]]) -> bytes:
    body = {
        "from": start,
        "size": census.size,
        "root": base64.b64encode(census.root).decode("ascii"),
        "add": [[k, s, n] for k, s, n in delta],
    }
    return json.dumps(body, separators=(",", ":")).encode("utf-8") + b"\n"


def _order(subject: str | None) -> tuple[bool, str]:
    return subject is not None, subject or ""


def _delta_items(delta: Mapping[CensusKey, int]) -> list[tuple[str, str | None, int]]:
    ordered = sorted(delta.items(), key=lambda i: (i[0][0], _order(i[0][1])))
    return [(kind, subject, n) for (kind, subject), n in ordered]


class _Unusable(Exception):
    """A complete line of the file that does not add up: count again from the database."""


@dataclass(frozen=True)
class _Line:
    start: int
    size: int
    root: bytes
    delta: Counter[CensusKey]


def _parse(raw: bytes, size_before: int) -> _Line:
    """One line of the file, which must continue a census of ``size_before`` entries."""
    try:
        value = json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise _Unusable from None
    if not isinstance(value, dict) or set(value) != {"from", "size", "root", "add"}:
        raise _Unusable
    start, size, root, add = value["from"], value["size"], value["root"], value["add"]
    if type(start) is not int or type(size) is not int or start != size_before or size < start:
        raise _Unusable
    try:
        digest = base64.b64decode(root, validate=True) if isinstance(root, str) else b""
    except (binascii.Error, ValueError):
        raise _Unusable from None
    if len(digest) != HASH_SIZE or not isinstance(add, list):
        raise _Unusable
    delta: Counter[CensusKey] = Counter()
    for item in add:
        if not (isinstance(item, list) and len(item) == 3):
            raise _Unusable
        kind, subject, n = item
        if not isinstance(kind, str) or not (subject is None or isinstance(subject, str)):
            raise _Unusable
        if type(n) is not int or n <= 0:
            raise _Unusable
        delta[(kind, subject)] += n
    if sum(delta.values()) != size - start:
        raise _Unusable
    return _Line(start, size, digest, delta)


def _folded(base: Census, lines: Sequence[_Line]) -> Census:
    """``base`` with every line added, copying each kind's counts once (not once a line)."""
    kinds = {kind: dict(counts) for kind, counts in base.kinds.items()}
    for line in lines:
        for (kind, subject), n in line.delta.items():
            counts = kinds.setdefault(kind, {})
            counts[subject] = counts.get(subject, 0) + n
    last = lines[-1]
    return Census(last.size, last.root, kinds)


def _write_whole(path: Path, census: Census) -> None:
    """Replace the file with one line holding all of ``census`` (no fsync: it is a cache)."""
    data = HEADER + _line(0, census, census.items())
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
        os.replace(name, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise


def start_census(state_path: Path) -> None:
    """The census of a new log: nothing signed yet (written with the signer's first state)."""
    with contextlib.suppress(OSError):
        _write_whole(census_path(state_path), EMPTY)


class CensusLog:
    """``keys/ledger.census`` for one signer: read incrementally, appended after commits."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.Lock()
        #: The census at the end of the file as far as it was read, and where reading stopped.
        self._census: Census | None = None
        self._file: tuple[int, int] | None = None  # (device, inode) read
        self._offset = 0
        self._history: dict[int, Census] = {}

    # -- reading -------------------------------------------------------------------

    def _reset(self) -> None:
        self._census, self._file, self._offset = None, None, 0
        self._history.clear()

    def _remember(self, census: Census) -> None:
        if len(self._history) >= _HISTORY:
            del self._history[min(self._history)]
        self._history[census.size] = census

    def _refresh(self) -> None:
        """Read what was appended since the last read (everything, if the file was replaced)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            self._census, self._file, self._offset = None, None, 0
            return
        try:
            st = os.fstat(fd)
            ident = (st.st_dev, st.st_ino)
            if ident != self._file or st.st_size < self._offset:
                self._census, self._file, self._offset = None, ident, 0
            if st.st_size == self._offset and self._census is not None:
                return
            os.lseek(fd, self._offset, os.SEEK_SET)
            chunks = []
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
        finally:
            os.close(fd)
        pos = 0
        census = self._census
        if census is None:
            if not data.startswith(HEADER):
                self._census, self._offset = None, st.st_size  # unusable: counted again, rewritten
                return
            pos, census = len(HEADER), EMPTY
        lines: list[_Line] = []
        size = census.size
        try:
            while (end := data.find(b"\n", pos)) >= 0:
                lines.append(_parse(data[pos:end], size))
                size = lines[-1].size
                pos = end + 1
        except _Unusable:
            self._census, self._offset = None, st.st_size
            return
        if len(lines) > _HISTORY:  # only the newest are kept one by one
            census = _folded(census, lines[:-_HISTORY])
            lines = lines[-_HISTORY:]
        for line in lines:
            census = census.plus(line.delta, line.size, line.root)
            self._remember(census)
        self._census, self._offset = census, self._offset + pos

    def at(self, session: Session, signed: Checkpoint) -> Census:
        """The census of the signed tree ``signed``, counting from the database what the
        file does not hold yet (checked against ``signed``'s root; see the module doc)."""
        with self._mutex:
            self._refresh()
            found = self._history.get(signed.size)
            if found is not None and found.root == signed.root:
                return found
            if found is not None:
                self._reset()  # a file about another tree than this log's: count afresh
            base = max(
                (c for c in self._history.values() if c.size <= signed.size),
                key=lambda c: c.size,
                default=EMPTY,
            )
            census = count_from(session, base, signed)
            self._remember(census)
            self._save(base, census)
            return census

    def _save(self, base: Census, census: Census) -> None:
        """Keep what was counted, when it continues the file (or there is no usable file)."""
        with contextlib.suppress(OSError), locked(self.path):
            self._refresh()
            if self._census is None:
                _write_whole(self.path, census)
                self._reset()
            elif self._census.size == base.size and census.size > base.size:
                self._append(_line(base.size, census, _difference(census, base)), census)

    # -- writing -------------------------------------------------------------------

    def record(self, start: int, census_size: int, root: bytes, keys: Sequence[CensusKey]) -> None:
        """After a commit: the entries ``start <= index < census_size`` (of ``keys``) were signed
        in the tree with ``root``. Appended only when the file ends at ``start``."""
        if not keys:
            return
        with self._mutex, contextlib.suppress(OSError), locked(self.path):
            self._refresh()
            current = self._census
            if current is None or current.size != start:
                return
            census = current.plus(Counter(keys), census_size, root)
            if self._offset >= COMPACT_BYTES:
                _write_whole(self.path, census)
                self._reset()
                return
            self._append(_line(start, census, _delta_items(Counter(keys))), census)

    def _append(self, line: bytes, census: Census) -> None:
        """Append ``census``'s line after the last complete one (cutting off a torn tail);
        called under the file lock, right after :meth:`_refresh`."""
        fd = os.open(self.path, os.O_WRONLY)
        try:
            if os.fstat(fd).st_size != self._offset:
                os.ftruncate(fd, self._offset)  # bytes of a line a crash left incomplete
            os.lseek(fd, self._offset, os.SEEK_SET)
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self._census, self._offset = census, self._offset + len(line)
        self._remember(census)


def _difference(after: Census, before: Census) -> list[tuple[str, str | None, int]]:
    out = []
    for kind, subject, n in after.items():
        old = before.kinds.get(kind, {}).get(subject, 0)
        if n > old:
            out.append((kind, subject, n - old))
    return out


# -- counting from the database ---------------------------------------------------------


def _refuse(message: str) -> LedgerIntegrityError:
    return LedgerIntegrityError(f"cannot count the entries the signer signed: {message}", hint=HINT)


def _key_of(idx: int, data: bytes) -> CensusKey:
    try:
        entry = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        raise _refuse(f"ledger entry {idx} is not JSON") from None
    kind = entry.get("kind") if isinstance(entry, dict) else None
    record = entry.get("record") if isinstance(entry, dict) else None
    if not isinstance(kind, str) or not isinstance(record, dict):
        raise _refuse(f"ledger entry {idx} is not a record entry")
    return census_key(kind, record)


def count_from(session: Session, base: Census, signed: Checkpoint) -> Census:
    """``base`` plus the entries ``base.size <= index < signed.size`` read from the database,
    which must give ``signed``'s root from the stored tree at ``base``'s size."""
    if signed.size < base.size:
        raise _refuse(f"asked for {signed.size} entries, below the {base.size} counted")
    try:
        frontier = stored_frontier(session, base.size) if base.size else ()
    except LedgerError as exc:
        raise _refuse(exc.message) from None
    if fold(frontier) != base.root:
        raise _refuse(f"the stored tree at size {base.size} is not the tree the signer signed")
    delta: Counter[CensusKey] = Counter()
    size = base.size
    while size < signed.size:
        stop = min(size + _CHUNK, signed.size)
        query = (
            select(_ENTRIES.c.idx, _ENTRIES.c.data)
            .where(_ENTRIES.c.idx >= size, _ENTRIES.c.idx < stop)
            .order_by(_ENTRIES.c.idx)
        )
        blobs: list[bytes] = []
        for idx, data in session.execute(query):
            if idx != size + len(blobs):
                raise _refuse(f"ledger entry {size + len(blobs)} is missing")
            if not isinstance(data, bytes | bytearray | memoryview):
                raise _refuse(f"ledger entry {idx} does not hold bytes")
            blob = bytes(data)
            delta[_key_of(idx, blob)] += 1
            blobs.append(blob)
        if size + len(blobs) != stop:
            raise _refuse(f"ledger entry {size + len(blobs)} is missing")
        frontier = extend(frontier, size, leaf_hashes(blobs))
        size = stop
    if fold(frontier) != signed.root:
        raise _refuse(
            f"entries {base.size} to {signed.size - 1} are not the entries the signer signed"
        )
    return base.plus(delta, signed.size, signed.root)
