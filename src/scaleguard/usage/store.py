"""Usage records in the workspace database: the only queries on the usage tables.

Every write appends the row's ledger entry in the same transaction (one
record, one entry), so ``scaleguard ledger verify`` covers contracts, screen
decisions, reviews and appeals like every other record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import Table, false, select
from sqlalchemy.orm import Session

from scaleguard.errors import NotFoundError
from scaleguard.store import Tx
from scaleguard.store.recording import create_record, create_records, first_record, list_records
from scaleguard.store.tables_usage import (
    UsageAppealDecisionRow,
    UsageAppealRow,
    UsageContractRow,
    UsageReviewRow,
    UsageScreenRow,
)

if TYPE_CHECKING:
    from scaleguard.store.ledger.rows import Scope


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
    return create_record(
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
    return list_records(session, UsageContractRow, ContractRecord, customer=customer)


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


def contract_scope(customer: str | None) -> Scope:
    """The contract rows a screen for ``customer`` reads (all of them for ``None``), for
    :func:`scaleguard.store.ledger.rows.check_scopes`."""
    from scaleguard.store.ledger.scopes import kind_scope

    return kind_scope("usage-contract", customer)


# -- screen decisions -------------------------------------------------------------


def add_screens(tx: Tx, items: Sequence[Mapping[str, Any]], *, by: str) -> list[ScreenRecord]:
    """Insert many screen rows and their ledger entries in one go (one time, dense ids)."""
    batch = [(str(item["request_id"]), {**item, "created_by": by}) for item in items]
    return create_records(tx, UsageScreenRow, ScreenRecord, "usage-screen", batch)


def screens(
    session: Session, *, band: str | None = None, limit: int | None = None
) -> list[ScreenRecord]:
    return list_records(session, UsageScreenRow, ScreenRecord, limit=limit, band=band)


def screen_by_id(session: Session, ident: str) -> ScreenRecord:
    """A screen by its number or its request id."""
    where = (
        UsageScreenRow.id == int(ident) if ident.isdigit() else UsageScreenRow.request_id == ident
    )
    found = first_record(session, UsageScreenRow, ScreenRecord, where)
    if found is None:
        raise NotFoundError(
            f"no screen decision {ident!r}",
            hint="give the number shown by 'scaleguard usage review list' or a request id",
        )
    return found


# -- reviews and appeals ------------------------------------------------------------


def add_review(tx: Tx, screen: ScreenRecord, decision: str, reason: str, by: str) -> ReviewRecord:
    return create_record(
        tx,
        UsageReviewRow,
        ReviewRecord,
        "usage-review",
        screen.request_id,
        {"screen_id": screen.id, "decision": decision, "reason": reason, "created_by": by},
    )


def reviews(session: Session) -> dict[int, ReviewRecord]:
    return {r.screen_id: r for r in list_records(session, UsageReviewRow, ReviewRecord)}


def add_appeal(tx: Tx, screen: ScreenRecord, reason: str, by: str) -> AppealRecord:
    return create_record(
        tx,
        UsageAppealRow,
        AppealRecord,
        "usage-appeal",
        screen.request_id,
        {"screen_id": screen.id, "reason": reason, "created_by": by},
    )


def appeals(session: Session) -> list[AppealRecord]:
    return list_records(session, UsageAppealRow, AppealRecord)


def appeal_by_id(session: Session, appeal_id: int) -> AppealRecord:
    found = first_record(session, UsageAppealRow, AppealRecord, id=appeal_id)
    if found is None:
        raise NotFoundError(
            f"no appeal {appeal_id}", hint="list them with 'scaleguard usage appeals list'"
        )
    return found


def add_appeal_decision(
    tx: Tx, appeal: AppealRecord, outcome: str, reason: str, by: str
) -> AppealDecisionRecord:
    return create_record(
        tx,
        UsageAppealDecisionRow,
        AppealDecisionRecord,
        "usage-appeal-decision",
        str(appeal.id),
        {"appeal_id": appeal.id, "outcome": outcome, "reason": reason, "created_by": by},
    )


def appeal_decisions(session: Session) -> dict[int, AppealDecisionRecord]:
    decided = list_records(session, UsageAppealDecisionRow, AppealDecisionRecord)
    return {r.appeal_id: r for r in decided}


# -- one screen's history, and the scopes that check it ------------------------------


def reviews_of(session: Session, screen_id: int) -> list[ReviewRecord]:
    return list_records(session, UsageReviewRow, ReviewRecord, screen_id=screen_id)


def appeals_of(session: Session, screen_id: int) -> list[AppealRecord]:
    return list_records(session, UsageAppealRow, AppealRecord, screen_id=screen_id)


def _appeal_ids_of(screen_id: int) -> Any:
    table = UsageAppealRow.__table__
    return select(table.c.id).where(table.c.screen_id == screen_id)


def appeal_decisions_of(session: Session, screen_id: int) -> dict[int, AppealDecisionRecord]:
    """The decisions of the appeals against screen ``screen_id``, by appeal id."""
    where = UsageAppealDecisionRow.appeal_id.in_(_appeal_ids_of(screen_id))
    decided = list_records(session, UsageAppealDecisionRow, AppealDecisionRecord, where)
    return {r.appeal_id: r for r in decided}


_SCREEN, _REVIEW, _APPEAL = "usage-screen", "usage-review", "usage-appeal"
#: screen id -> the scopes of its history, which keep their SQL
_history_scopes: dict[int, tuple[Scope, ...]] = {}


def history_scopes(screen_id: int) -> tuple[Scope, ...]:
    """Every row a review or an appeal of screen ``screen_id`` reads but the decisions of
    its appeals (:func:`appeal_decision_scope`): the screen, its review and its appeals,
    every one the ledger signed, for :func:`scaleguard.store.ledger.rows.check_scopes`."""
    from scaleguard.store.ledger.census import Counted
    from scaleguard.store.ledger.rows import Scope

    found = _history_scopes.get(screen_id)
    if found is None:
        sc, rv, ap = (
            cast(Table, row.__table__) for row in (UsageScreenRow, UsageReviewRow, UsageAppealRow)
        )
        key, subject = f"screen {screen_id}", (str(screen_id),)
        found = (
            Scope((sc.name, key), sc, (sc.c.id == screen_id,)),
            Scope((rv.name, key), rv, (rv.c.screen_id == screen_id,), Counted(_REVIEW, subject)),
            Scope((ap.name, key), ap, (ap.c.screen_id == screen_id,), Counted(_APPEAL, subject)),
        )
        if len(_history_scopes) >= 1024:
            _history_scopes.clear()
        _history_scopes[screen_id] = found
    return found


def appeal_decision_scope(appeal_ids: Sequence[int]) -> Scope:
    """The decisions of the appeals ``appeal_ids`` (read from checked rows), every one the
    ledger signed."""
    from scaleguard.store.ledger.census import Counted
    from scaleguard.store.ledger.rows import Scope

    de = cast(Table, UsageAppealDecisionRow.__table__)
    ids = tuple(sorted(appeal_ids))
    where = de.c.appeal_id.in_(ids) if ids else false()
    return Scope(
        (de.name, f"appeals {ids}"),
        de,
        (where,),
        Counted("usage-appeal-decision", tuple(str(i) for i in ids)),
    )


@cache
def queue_scopes() -> tuple[Scope, ...]:
    """Every row the review queue reads: the screens held for review, every review and
    every appeal."""
    from scaleguard.store.ledger.census import Counted
    from scaleguard.store.ledger.rows import Scope

    sc, rv, ap = (
        cast(Table, row.__table__) for row in (UsageScreenRow, UsageReviewRow, UsageAppealRow)
    )
    return (
        Scope((sc.name, "held"), sc, (sc.c.band == "review",), Counted(_SCREEN, ("review",))),
        Scope((rv.name, None), rv, (), Counted(_REVIEW)),
        Scope((ap.name, None), ap, (), Counted(_APPEAL)),
    )


@cache
def appeal_list_scopes() -> tuple[Scope, ...]:
    """Every row the list of appeals reads: every appeal and every appeal decision."""
    from scaleguard.store.ledger.census import Counted
    from scaleguard.store.ledger.rows import Scope

    ap, de = (cast(Table, row.__table__) for row in (UsageAppealRow, UsageAppealDecisionRow))
    return (
        Scope((ap.name, None), ap, (), Counted(_APPEAL)),
        Scope((de.name, None), de, (), Counted("usage-appeal-decision")),
    )
