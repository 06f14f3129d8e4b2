"""Batched record creation stores what creating the records one by one stores.

``create_rows`` (used by evidence ingest, model and roadmap imports and the
usage audit) must give the same ids, ledger indices, entry bytes, subtree
hashes, rows and order as ``create_record`` called once per item at the same
time, on SQLite and PostgreSQL, and must write nothing when an item is bad.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Table, select

from scaleguard.errors import InputError
from scaleguard.store import Evidence, Fact, Model, ModelScore, Store, Tx, ensure_schema, repo
from scaleguard.store.ledger.signer import APPENDED
from scaleguard.store.params import _walk, check_params, check_value
from scaleguard.store.recording import (
    NewRecord,
    create_record,
    create_records,
    create_rows,
    record_from,
)
from scaleguard.store.tables import (
    Base,
    EvidenceRow,
    FactRow,
    LedgerEntryRow,
    LedgerNodeRow,
    ModelRow,
    ModelScoreRow,
)
from scaleguard.store.tables_usage import UsageScreenRow
from scaleguard.usage.store import ScreenRecord

AT = datetime(2026, 5, 1, 9, 30, 0, 123456, tzinfo=UTC)
SHA = "ab" * 32
CLASSES: dict[type[Base], type[Any]] = {
    ModelRow: Model,
    ModelScoreRow: ModelScore,
    EvidenceRow: Evidence,
    FactRow: Fact,
    UsageScreenRow: ScreenRecord,
}
TABLES = (LedgerEntryRow, LedgerNodeRow, ModelRow, ModelScoreRow, EvidenceRow, FactRow)


class _Rollback(Exception):
    """Raised to roll a transaction back after reading what it wrote."""


@pytest.fixture
def store(migrated_url: str) -> Iterator[Store]:
    """scaleguard's schema at head, in a database of the test's own (see migrated_url)."""
    s = Store(migrated_url)
    ensure_schema(s, create=False)
    with s.write() as tx:  # a committed prefix: ids and indices must continue from it
        repo.add_artifact(
            tx, sha256=SHA, size=1, format="inspect-eval", original_name="a", stored_path="o/a"
        )
        repo.add_model(tx, name="base", own=True, status="planned", created_by="t")
        repo.add_fact(tx, name="prefix", value=1, source="https://s", asserted_by="t")
    yield s
    s.dispose()


def _model(name: str, parent: str | None) -> NewRecord:
    return repo.new_model(
        name=name,
        own=False,
        status="released",
        created_by="t",
        parent=parent,
        released_on=date(2026, 1, 2),
        sources=("https://example.org/m",),
    )


def _item(kind: str, n: int, models: list[str]) -> NewRecord:
    """A record of ``kind``; models named in scores exist in the prefix or earlier."""
    if kind == "model":
        name = f"m{n}"
        item = _model(name, models[n % len(models)] if n % 2 else None)
        models.append(name)
        return item
    if kind == "score":
        model = models[n % len(models)]
        return repo.new_score(model=model, domain=f"d{n}", score=n / 7, source=None, created_by="t")
    if kind == "evidence":
        return repo.new_evidence(
            model=f"provider/m{n}",
            task="t",
            metric="accuracy",
            value=n / 3,
            artifact_sha256=SHA,
            format="inspect-eval",
            ingested_by="t",
            sample_scores=[0.0, 1.0] * (n % 3),
            run={"seed": n},
        )
    values = {"name": f"f{n}", "value": n, "model": None, "source": "https://s", "asserted_by": "t"}
    return NewRecord(FactRow, "fact", f"f{n}", values)


def _snapshot(tx: Tx) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for table in TABLES:
        t: Table = table.__table__  # type: ignore[assignment]
        query = select(t).order_by(*t.primary_key.columns)
        out[t.name] = [
            tuple(bytes(v) if isinstance(v, memoryview) else v for v in r)
            for r in tx.execute(query)
        ]
    out["appended"] = list(tx.info.get(APPENDED, []))
    return out


def _run(store: Store, items: list[NewRecord], batched: bool) -> tuple[list[Any], dict[str, Any]]:
    made: list[Any] = []
    seen: dict[str, Any] = {}
    try:
        with store.write() as tx:
            if batched:
                made = [
                    record_from(CLASSES[i.table], row)
                    for i, row in zip(items, create_rows(tx, items, at=AT), strict=True)
                ]
            else:
                made = [
                    create_record(
                        tx,
                        i.table,
                        CLASSES[i.table],
                        i.kind,
                        i.subject,
                        i.values,
                        time_column=i.time_column,
                        at=AT,
                    )
                    for i in items
                ]
            seen = _snapshot(tx)
            raise _Rollback
    except _Rollback:
        pass
    return made, seen


_kinds = st.lists(st.sampled_from(["model", "score", "evidence", "fact"]), max_size=25)


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(kinds=_kinds)
def test_a_batch_stores_what_one_by_one_stores(store: Store, kinds: list[str]) -> None:
    models = ["base"]
    items = [_item(kind, n, models) for n, kind in enumerate(kinds)]
    one_made, one = _run(store, items, batched=False)
    batch_made, batch = _run(store, items, batched=True)
    assert batch_made == one_made
    assert batch == one
    with store.read() as s:
        prefix = repo.ledger_size(s)
    entries = batch["ledger_entries"]
    assert [e[0] for e in entries] == list(range(len(entries)))  # dense, continuing the prefix
    assert len(entries) == prefix + len(items)
    assert [m.ledger_index for m in batch_made] == list(range(prefix, prefix + len(items)))


def test_children_before_parents_in_the_batch_order_still_insert(store: Store) -> None:
    """Scores of a model created later in the same batch: rows go in foreign-key order."""
    items = [
        repo.new_score(model="base", domain="cyber", score=0.5, source=None, created_by="t"),
        _model("child", "base"),
        repo.new_score(model="child", domain="bio", score=0.25, source=None, created_by="t"),
        _model("grandchild", "child"),
    ]
    one_made, one = _run(store, items, batched=False)
    batch_made, batch = _run(store, items, batched=True)
    assert batch == one and batch_made == one_made
    assert [type(m).__name__ for m in batch_made] == ["ModelScore", "Model", "ModelScore", "Model"]
    assert [m.id for m in batch_made] == [1, 2, 2, 3]


def test_create_records_matches_the_usage_audit_rows(store: Store) -> None:
    items = [
        (
            f"req-{n}",
            {
                "request_id": f"req-{n}",
                "customer": None,
                "contract": None,
                "policy": "p",
                "policy_digest": "d" * 64,
                "model_sha256": "e" * 64,
                "input_sha256": f"{n:064x}",
                "input_text": None,
                "band": "allow",
                "clause": None,
                "score": 0.125 * n,
                "decided_by": "model",
                "result": {"band": "allow", "n": n},
                "created_by": "audit",
            },
        )
        for n in range(5)
    ]
    with store.write() as tx:
        made = create_records(tx, UsageScreenRow, ScreenRecord, "usage-screen", items, at=AT)
    assert [m.id for m in made] == [1, 2, 3, 4, 5]
    with store.read() as s:
        entries = repo.ledger_entries(s, made[0].ledger_index)
    assert [e.subject for e in entries] == [f"req-{n}" for n in range(5)]
    assert [e.idx for e in entries] == [m.ledger_index for m in made]


@pytest.mark.parametrize("bad", ["nan", "nul"])
def test_a_bad_item_writes_nothing(store: Store, bad: str) -> None:
    """NaN cannot be canonical JSON; NUL text is refused by the store for both backends."""
    items = [_item("fact", 0, []), _item("fact", 1, [])]
    if bad == "nan":
        items.append(NewRecord(FactRow, "fact", "x", {**items[0].values, "value": float("nan")}))
    else:
        items.append(NewRecord(FactRow, "fact", "x\x00y", dict(items[0].values)))
    with store.read() as s:
        before = repo.ledger_size(s), len(repo.facts(s))
    with pytest.raises(InputError), store.write() as tx:
        create_rows(tx, items)
    with store.read() as s:
        assert (repo.ledger_size(s), len(repo.facts(s))) == before


# -- the store's parameter check, batch fast path ---------------------------------------

_scalar = (
    st.none()
    | st.booleans()
    | st.integers(-(2**64), 2**64)
    | st.floats(allow_nan=False)
    | st.binary(max_size=4)
    | st.text(alphabet="ab\x00", max_size=3)
)
_cell = _scalar | st.lists(_scalar, max_size=2) | st.dictionaries(st.text(max_size=2), _scalar)
_params = st.one_of(
    st.lists(st.lists(_cell, min_size=2, max_size=2).map(tuple), max_size=5),
    st.lists(st.dictionaries(st.sampled_from("abc"), _cell), max_size=3),
    st.lists(_cell, max_size=3).map(tuple),
    st.dictionaries(st.sampled_from("abc"), _cell),
)


def _reference(params: Any) -> bool:
    try:
        for value in _walk(params):
            check_value(value)
    except InputError:
        return False
    return True


@settings(max_examples=300, deadline=None)
@given(params=_params, many=st.booleans())
def test_the_parameter_check_refuses_exactly_what_walking_every_value_refuses(
    params: Any, many: bool
) -> None:
    try:
        check_params(params, many)
        passed = True
    except InputError:
        passed = False
    assert passed == _reference(params)
