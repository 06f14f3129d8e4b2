"""Batched appends: ``append_records`` stores what ``append_record`` one by one stores."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from scaleguard.store import Store, Tx, ensure_schema, repo
from scaleguard.store.ledger.signer import APPENDED
from scaleguard.store.tables import LedgerEntryRow, LedgerNodeRow

AT = datetime(2026, 5, 1, 9, 30, 0, 123456, tzinfo=UTC)

_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**53) + 1, 2**53 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=6,
)
_item = st.tuples(
    st.sampled_from(["fact", "note", "usage-screen"]),
    # NUL and lone surrogates are refused (see the test below)
    st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=6),
    st.dictionaries(st.text(max_size=5), _values, max_size=4),
)
#: A prefix appended one by one, then batches (a batch of one may go through append_record).
_plan = st.tuples(
    st.integers(0, 40),
    st.lists(st.tuples(st.booleans(), st.lists(_item, max_size=40)), max_size=6),
)


class _Rollback(Exception):
    """Raised to roll a transaction back after reading what it wrote."""


@pytest.fixture
def store(migrated_url: str) -> Iterator[Store]:
    """scaleguard's schema at head, in a database of the test's own (see migrated_url)."""
    s = Store(migrated_url)
    ensure_schema(s, create=False)
    yield s
    s.dispose()


def _snapshot(tx: Tx) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]], list[Any]]:
    entries = [
        (r.idx, r.kind, r.subject, r.created_at, bytes(r.data), bytes(r.leaf_hash))
        for r in tx.execute(select(LedgerEntryRow.__table__).order_by(LedgerEntryRow.idx))
    ]
    nodes = [
        (r.level, r.idx, bytes(r.hash))
        for r in tx.execute(
            select(LedgerNodeRow.__table__).order_by(LedgerNodeRow.level, LedgerNodeRow.idx)
        )
    ]
    return entries, nodes, list(tx.info.get(APPENDED, []))


def _run(store: Store, prefix: int, batches: list[tuple[bool, list[Any]]], batched: bool) -> Any:
    seen: list[Any] = []
    try:
        with store.write() as tx:
            for i in range(prefix):
                repo.append_record(tx, "note", "p", {"i": i}, at=AT)
            for single, items in batches:
                if batched and not (single and len(items) == 1):
                    indices = repo.append_records(tx, items, at=AT)
                else:
                    indices = [repo.append_record(tx, k, s, r, at=AT) for k, s, r in items]
                seen.append(indices)
            seen.append(_snapshot(tx))
            raise _Rollback
    except _Rollback:
        pass
    return seen


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(plan=_plan)
def test_batched_appends_store_the_same_rows_and_nodes(
    store: Store, plan: tuple[int, list[tuple[bool, list[Any]]]]
) -> None:
    prefix, batches = plan
    one_by_one = _run(store, prefix, batches, batched=False)
    batched = _run(store, prefix, batches, batched=True)
    assert batched == one_by_one
    entries, nodes, appended = batched[-1]
    assert [e[0] for e in entries] == list(range(len(entries)))
    assert appended == [(e[0], e[5]) for e in entries]
    assert len(nodes) == 2 * len(entries) - bin(len(entries)).count("1")  # every complete subtree
    with store.read() as s:  # both rolled back
        assert s.execute(select(LedgerEntryRow.idx)).first() is None


def test_a_batch_continues_a_committed_tree(store: Store) -> None:
    """The tree's right edge before the batch is read from the database."""
    with store.write() as tx:
        for i in range(13):
            repo.append_record(tx, "note", "p", {"i": i}, at=AT)
    items: list[Any] = [("note", "b", {"i": i}) for i in range(21)]
    one_by_one = _run(store, 0, [(True, [it]) for it in items], batched=False)
    batched = _run(store, 0, [(False, items)], batched=True)
    assert batched[-1] == one_by_one[-1]
    assert len(batched[-1][1]) == 2 * 34 - bin(34).count("1")


@pytest.mark.parametrize("subject", ["\ud800", "ok\udfff", "a\x00b"])
@pytest.mark.parametrize("batched", [False, True])
def test_text_no_database_can_store_is_refused_and_nothing_is_written(
    store: Store, subject: str, batched: bool
) -> None:
    """A lone surrogate (JSON input can spell ``\\ud800``) or a NUL in an entry's subject is
    bad input on both backends: a clear InputError before the driver sees it, and the whole
    write rolls back."""
    from scaleguard.errors import InputError

    with pytest.raises(InputError, match=r"surrogate|NUL") as caught, store.write() as tx:
        repo.append_record(tx, "note", "fine", {"i": 0}, at=AT)
        if batched:
            repo.append_records(tx, [("note", "fine", {"i": 1}), ("note", subject, {})], at=AT)
        else:
            repo.append_record(tx, "note", subject, {"i": 1}, at=AT)
    assert caught.value.hint
    with store.read() as s:
        assert s.execute(select(LedgerEntryRow.idx)).first() is None
