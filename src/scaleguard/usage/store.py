"""Usage records in the workspace database: the only queries on the usage tables.

Every write appends the row's ledger entry in the same transaction (one
record, one entry), so ``scaleguard ledger verify`` covers contracts, screen
decisions, reviews and appeals like every other record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from scaleguard.errors import NotFoundError
from scaleguard.ledger.canonical import format_time
from scaleguard.store import Tx
from scaleguard.store.repo import _create, _next_id, _record_value, _to, append_records, now
from scaleguard.store.tables_usage import (
    UsageAppealDecisionRow,
    UsageAppealRow,
    UsageContractRow,
    UsageReviewRow,
    UsageScreenRow,
)


@dataclass(frozen=True)
class ContractRecord:
    id: int
    customer: str
    version: str
    policy: str
    status: str
    digest: str
    document: Mapping[str, Any] | None
    problems: tuple[Any, ...] | None
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class ScreenRecord:
    id: int
    request_id: str
    customer: str | None
    contract: str | None
    policy: str
    policy_digest: str
    model_sha256: str
    input_sha256: str
    input_text: str | None
    band: str
    clause: str | None
    score: float | None
    decided_by: str
    result: Mapping[str, Any]
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class ReviewRecord:
    id: int
    screen_id: int
    decision: str
    reason: str
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class AppealRecord:
    id: int
    screen_id: int
    reason: str
    created_at: str
    created_by: str
    ledger_index: int


@dataclass(frozen=True)
class AppealDecisionRecord:
    id: int
    appeal_id: int
    outcome: str
    reason: str
    created_at: str
    created_by: str
    ledger_index: int


# -- contracts --------------------------------------------------------------------


def add_contract(
    tx: Tx,
    *,
    customer: str,
    version: str,
    policy: str,
    status: str,
    digest: str,
    document: Mapping[str, Any] | None,
    problems: Sequence[Mapping[str, Any]] | None,
    by: str,
) -> ContractRecord:
    return _create(
        tx,
        UsageContractRow,
        ContractRecord,
        "usage-contract",
        f"{customer}@{version}",
        {
            "customer": customer,
            "version": version,
            "policy": policy,
            "status": status,
            "digest": digest,
            "document": dict(document) if document is not None else None,
            "problems": [dict(p) for p in problems] if problems is not None else None,
            "created_by": by,
        },
    )


def contracts(session: Session, customer: str | None = None) -> list[ContractRecord]:
    query = select(UsageContractRow).order_by(UsageContractRow.id)
    if customer is not None:
        query = query.where(UsageContractRow.customer == customer)
    return [_to(ContractRecord, r) for r in session.scalars(query)]


def current_contract(session: Session, customer: str) -> ContractRecord:
    """The latest accepted contract of ``customer``; NotFoundError when there is none."""
    accepted = [c for c in contracts(session, customer) if c.status == "accepted"]
    if not accepted:
        known = sorted({c.customer for c in contracts(session) if c.status == "accepted"})
        raise NotFoundError(
            f"no accepted contract for customer {customer!r}",
            hint=("customers with contracts: " + ", ".join(known))
            if known
            else "add one with 'scaleguard usage contracts add FILE'",
        )
    return accepted[-1]


# -- screen decisions -------------------------------------------------------------


def add_screens(tx: Tx, items: Sequence[Mapping[str, Any]], *, by: str) -> list[ScreenRecord]:
    """Insert many screen rows and their ledger entries in one transaction."""
    if not items:
        return []
    moment = now()
    first_id = _next_id(tx, UsageScreenRow)
    values = []
    for offset, item in enumerate(items):
        values.append({"id": first_id + offset, **item, "created_by": by})
    records = [{k: _record_value(v) for k, v in v.items()} for v in values]
    indices = append_records(
        tx,
        [("usage-screen", str(v["request_id"]), r) for v, r in zip(values, records, strict=True)],
        at=moment,
    )
    rows = [
        {**v, "created_at": format_time(moment), "ledger_index": idx}
        for v, idx in zip(values, indices, strict=True)
    ]
    tx.execute(insert(UsageScreenRow.__table__), rows)  # type: ignore[arg-type]
    return [ScreenRecord(**row) for row in rows]


def screens(
    session: Session, *, band: str | None = None, limit: int | None = None
) -> list[ScreenRecord]:
    query = select(UsageScreenRow).order_by(UsageScreenRow.id)
    if band is not None:
        query = query.where(UsageScreenRow.band == band)
    if limit is not None:
        query = query.limit(limit)
    return [_to(ScreenRecord, r) for r in session.scalars(query)]


def screen_by_id(session: Session, ident: str) -> ScreenRecord:
    """A screen by its number or its request id."""
    query = select(UsageScreenRow)
    query = (
        query.where(UsageScreenRow.id == int(ident))
        if ident.isdigit()
        else query.where(UsageScreenRow.request_id == ident)
    )
    row = session.scalars(query).first()
    if row is None:
        raise NotFoundError(
            f"no screen decision {ident!r}",
            hint="give the number shown by 'scaleguard usage review list' or a request id",
        )
    return _to(ScreenRecord, row)


# -- reviews and appeals ------------------------------------------------------------


def add_review(tx: Tx, screen: ScreenRecord, decision: str, reason: str, by: str) -> ReviewRecord:
    return _create(
        tx,
        UsageReviewRow,
        ReviewRecord,
        "usage-review",
        screen.request_id,
        {"screen_id": screen.id, "decision": decision, "reason": reason, "created_by": by},
    )


def reviews(session: Session) -> dict[int, ReviewRecord]:
    return {
        r.screen_id: _to(ReviewRecord, r)
        for r in session.scalars(select(UsageReviewRow).order_by(UsageReviewRow.id))
    }


def add_appeal(tx: Tx, screen: ScreenRecord, reason: str, by: str) -> AppealRecord:
    return _create(
        tx,
        UsageAppealRow,
        AppealRecord,
        "usage-appeal",
        screen.request_id,
        {"screen_id": screen.id, "reason": reason, "created_by": by},
    )


def appeals(session: Session) -> list[AppealRecord]:
    return [
        _to(AppealRecord, r)
        for r in session.scalars(select(UsageAppealRow).order_by(UsageAppealRow.id))
    ]


def appeal_by_id(session: Session, appeal_id: int) -> AppealRecord:
    row = session.get(UsageAppealRow, appeal_id)
    if row is None:
        raise NotFoundError(
            f"no appeal {appeal_id}", hint="list them with 'scaleguard usage appeals list'"
        )
    return _to(AppealRecord, row)


def add_appeal_decision(
    tx: Tx, appeal: AppealRecord, outcome: str, reason: str, by: str
) -> AppealDecisionRecord:
    return _create(
        tx,
        UsageAppealDecisionRow,
        AppealDecisionRecord,
        "usage-appeal-decision",
        str(appeal.id),
        {"appeal_id": appeal.id, "outcome": outcome, "reason": reason, "created_by": by},
    )


def appeal_decisions(session: Session) -> dict[int, AppealDecisionRecord]:
    return {
        r.appeal_id: _to(AppealDecisionRecord, r)
        for r in session.scalars(select(UsageAppealDecisionRow))
    }
