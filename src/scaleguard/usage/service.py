"""Workspace operations of the usage screen: contracts, screening with audit, review, appeals.

The CLI and the HTTP server call these; no logic lives only in a command or
a route.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaleguard.errors import ConflictError, InputError
from scaleguard.usage import store as usage_store
from scaleguard.usage.contracts import (
    ContractDocument,
    LoadedContract,
    RefusedContract,
    load_contract_bytes,
)
from scaleguard.usage.loader import LoadedPolicy, load_policy, read_file
from scaleguard.workspace.rowcheck import check_rows, refusal

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scaleguard.usage.judge import Judge
    from scaleguard.usage.screen import Screener, ScreenResult
    from scaleguard.workspace.workspace import Workspace


SCREEN_BATCH = 32


@dataclass(frozen=True)
class ContractOutcome:
    record: usage_store.ContractRecord
    refused: RefusedContract | None


def add_contract(
    ws: Workspace,
    path: Path,
    *,
    policy: LoadedPolicy | None = None,
    by: str,
    today: date | None = None,
) -> ContractOutcome:
    """Validate a contract and record it: accepted, or refused with its problems.

    A refused contract is recorded too (the attempt itself is evidence), and
    then the refusal is raised to the caller.
    """
    policy = policy or load_policy()
    data = read_file(path)
    try:
        loaded = load_contract_bytes(data, str(path), policy, today=today)
    except RefusedContract as exc:
        import hashlib

        customer, version = _identity(data)
        with ws.store.write() as tx:
            record = usage_store.add_contract(
                tx,
                customer=customer,
                version=version,
                policy=policy.ref,
                status="refused",
                digest=hashlib.sha256(data).hexdigest(),
                document=None,
                problems=[p.as_dict() for p in exc.problems],
                by=by,
            )
        return ContractOutcome(record, exc)
    c = loaded.contract
    with ws.store.write() as tx:
        for earlier in usage_store.contracts(tx, c.customer):
            if earlier.version == c.version and earlier.status == "accepted":
                if earlier.digest == loaded.digest:
                    return ContractOutcome(earlier, None)
                raise ConflictError(
                    f"contract {loaded.ref} was already recorded with different content",
                    hint="give the changed contract a new version",
                )
        record = usage_store.add_contract(
            tx,
            customer=c.customer,
            version=c.version,
            policy=policy.ref,
            status="accepted",
            digest=loaded.digest,
            document=loaded.doc.model_dump(mode="json"),
            problems=None,
            by=by,
        )
    return ContractOutcome(record, None)


def _identity(data: bytes) -> tuple[str, str]:
    """Best-effort customer and version of a refused contract, for its record."""
    import yaml

    try:
        raw = yaml.safe_load(data)
        contract = raw.get("contract", {}) if isinstance(raw, dict) else {}
        customer = str(contract.get("customer", "unknown"))[:200]
        version = str(contract.get("version", "unknown"))[:200]
    except Exception:  # any unreadable document is recorded as unknown
        return "unknown", "unknown"
    return customer, version


def checked_contract(session: Session, ws: Workspace, customer: str) -> usage_store.ContractRecord:
    """The customer's latest accepted contract row, after every contract row of the customer
    was shown to be exactly what the ledger's key signed (a row edited, added or deleted
    without the key is refused with LedgerIntegrityError, as decisions refuse theirs)."""
    check_rows(session, ws, [usage_store.contract_scope(customer)], f"use customer {customer!r}")
    return usage_store.current_contract(session, customer)


def check_contracts(ws: Workspace) -> None:
    """Check every contract row against the ledger (serve-screen does, before it listens)."""
    with ws.store.read() as s:
        check_rows(s, ws, [usage_store.contract_scope(None)], "use the recorded contracts")


def contract_list(ws: Workspace) -> list[usage_store.ContractRecord]:
    """Every contract version submitted, accepted or refused, oldest first: each row what the
    ledger's key signed and none it signed missing (LedgerIntegrityError otherwise)."""
    with ws.store.read() as s:
        check_rows(s, ws, [usage_store.contract_scope(None)], "list the contracts")
        return usage_store.contracts(s)


def contract_from_record(
    record: usage_store.ContractRecord, customer: str, policy: LoadedPolicy
) -> LoadedContract:
    """A checked contract row, re-validated against ``policy``."""
    import json

    assert record.document is not None
    doc = ContractDocument.model_validate(record.document)
    return load_contract_bytes(
        json.dumps(doc.model_dump(mode="json")),
        f"contract {customer}@{record.version}",
        policy,
        check_expiry=False,
    )


def customer_contract(ws: Workspace, customer: str, policy: LoadedPolicy) -> LoadedContract:
    """The customer's latest accepted contract, checked against the ledger and re-validated
    against ``policy``."""
    with ws.store.read() as s:
        record = checked_contract(s, ws, customer)
    return contract_from_record(record, customer, policy)


def build_screener(
    *,
    policy: LoadedPolicy,
    contract: LoadedContract | None = None,
    judge: Judge | None = None,
    threads: int = 1,
) -> Screener:
    from scaleguard.usage.embed import load_embedder
    from scaleguard.usage.screen import Screener

    return Screener(policy, load_embedder(threads=threads), contract, judge=judge)


def screen_and_record(
    ws: Workspace | None,
    screener: Screener,
    texts: Sequence[str],
    *,
    by: str,
    progress: Callable[[int], None] | None = None,
) -> list[ScreenResult]:
    """Screen a batch and (in a workspace) write one audit row per decision.

    Nothing is recorded unless every text was screened (a bad text fails the batch).
    """
    from scaleguard.usage.audit import record_screens

    results: list[ScreenResult] = []
    for start in range(0, len(texts), SCREEN_BATCH):
        chunk = list(texts[start : start + SCREEN_BATCH])
        results.extend(screener.screen_many(chunk, first_index=start))
        if progress is not None:
            progress(len(chunk))
    if ws is not None:
        retain = bool(screener.contract and screener.contract.contract.retain_text)
        record_screens(ws.store, results, texts, retain=retain, by=by)
    return results


# -- human review and appeals --------------------------------------------------------
#
# Every rule below (the review band, "already reviewed", only blocks are appealed, one open
# appeal, who may decide an appeal) reads screen, review and appeal rows that anyone who can
# write the database could edit. So each action first proves, in its own transaction, the rows
# of the screen it acts on (:func:`screen_history`), and refuses if one is not what the ledger's
# key signed. Record rows are never deleted, and a row that is missing can leave the rows
# left over in a state no honest sequence of actions produces (an appeal against a screen
# that was never blocked): that is refused too.


@dataclass(frozen=True)
class ScreenHistory:
    """One screen decision and what people did about it, every row checked against the ledger."""

    screen: usage_store.ScreenRecord
    review: usage_store.ReviewRecord | None
    appeals: tuple[usage_store.AppealRecord, ...]
    decisions: Mapping[int, usage_store.AppealDecisionRecord]

    @property
    def band(self) -> str:
        """The band after human review: the reviewer's decision, else the screen's."""
        return self.review.decision if self.review is not None else self.screen.band

    def open_appeals(self) -> list[usage_store.AppealRecord]:
        return [a for a in self.appeals if a.id not in self.decisions]


def screen_history(session: Session, ws: Workspace, screen_id: int, refusing: str) -> ScreenHistory:
    """Screen ``screen_id``, its review, its appeals and their decisions, after every one of
    those rows was proven to be what the ledger's key signed (LedgerIntegrityError, "refusing
    to ``refusing``", when one is not, or when a row is evidently missing)."""
    check_rows(session, ws, usage_store.history_scopes(screen_id), refusing)
    screen = usage_store.screen_by_id(session, str(screen_id))
    reviews = usage_store.reviews_of(session, screen_id)
    appeals = tuple(usage_store.appeals_of(session, screen_id))
    scope = usage_store.appeal_decision_scope([a.id for a in appeals])
    check_rows(session, ws, [scope], refusing)  # the appeals are checked: so are their ids
    history = ScreenHistory(
        screen,
        reviews[0] if reviews else None,
        appeals,
        usage_store.appeal_decisions_of(session, screen_id),
    )
    problem = _history_problem(history, len(reviews))
    if problem is not None:
        raise refusal(refusing, problem)
    return history


def _history_problem(history: ScreenHistory, reviews: int) -> str | None:
    """What in a screen's signed rows no honest sequence of actions leaves (a row deleted
    since), or None."""
    screen = history.screen
    if reviews > 1:
        return f"screen {screen.id} has {reviews} reviews; a screen is reviewed once"
    if history.appeals and history.band != "block":
        first = history.appeals[0]
        if screen.band == "review" and history.review is None:
            return (
                f"screen {screen.id} was held for review and appeal {first.id} contests it, "
                "but no review of it is recorded: its usage_reviews row was deleted"
            )
        return (
            f"appeal {first.id} contests screen {screen.id}, which is not blocked "
            f"({history.band}); only blocks are appealed"
        )
    return _undecided_before(history.appeals, history.decisions)


def _undecided_before(
    appeals: Sequence[usage_store.AppealRecord], decisions: Mapping[int, object]
) -> str | None:
    """An appeal left without a decision though a later one against the same screen was
    filed (an appeal is filed only when none is open), or None."""
    last: dict[int, usage_store.AppealRecord] = {}
    for later in appeals:
        earlier = last.get(later.screen_id)
        if earlier is not None and earlier.id not in decisions:
            return (
                f"appeal {earlier.id} against screen {later.screen_id} has no decision, yet "
                f"appeal {later.id} was filed after it (one appeal is open at a time): its "
                "usage_appeal_decisions row was deleted"
            )
        last[later.screen_id] = later
    return None


def review_queue(ws: Workspace) -> list[usage_store.ScreenRecord]:
    """Undecided reviews, most severe first: red lines, then higher scores, then oldest.

    Every screen held for review, every review and every appeal is checked against the
    ledger first, so no edited row hides a request from the queue or puts one in it."""
    with ws.store.read() as s:
        check_rows(s, ws, usage_store.queue_scopes(), "list the review queue")
        decided = usage_store.reviews(s)
        waiting = [r for r in usage_store.screens(s, band="review") if r.id not in decided]
        appealed = {a.screen_id: a.id for a in usage_store.appeals(s)}
    for screen in waiting:
        if screen.id in appealed:
            raise refusal(
                "list the review queue",
                f"screen {screen.id} was held for review and appeal {appealed[screen.id]} "
                "contests it, but no review of it is recorded: its usage_reviews row was deleted",
            )
    return sorted(waiting, key=lambda r: (not r.result.get("red_line"), -(r.score or 0.0), r.id))


def decide_review(
    ws: Workspace, ident: str, decision: str, reason: str, *, by: str
) -> usage_store.ReviewRecord:
    if decision not in ("allow", "block"):
        raise InputError(f"unknown decision {decision!r}", hint="use --allow or --block")
    if not reason.strip():
        raise InputError("a review decision needs a reason", hint='add --why "…"')
    with ws.store.write() as tx:
        found = usage_store.screen_by_id(tx, ident)
        history = screen_history(tx, ws, found.id, f"review screen {found.id}")
        screen = history.screen
        if screen.band != "review":
            raise ConflictError(
                f"screen {screen.id} was decided automatically ({screen.band}); "
                "only the review band is decided by people",
                hint="contest a block with 'scaleguard usage appeal'",
            )
        if history.review is not None:
            raise ConflictError(f"screen {screen.id} has already been reviewed")
        return usage_store.add_review(tx, screen, decision, reason.strip(), by)


def final_band(ws: Workspace, screen: usage_store.ScreenRecord) -> str:
    """The band of ``screen`` after human review, from rows checked against the ledger."""
    with ws.store.read() as s:
        return screen_history(s, ws, screen.id, f"report screen {screen.id}").band


def appeal(ws: Workspace, ident: str, reason: str, *, by: str) -> usage_store.AppealRecord:
    if not reason.strip():
        raise InputError("an appeal needs a reason", hint='add --why "…"')
    with ws.store.write() as tx:
        found = usage_store.screen_by_id(tx, ident)
        history = screen_history(tx, ws, found.id, f"appeal screen {found.id}")
        screen = history.screen
        if history.band != "block":
            raise ConflictError(
                f"screen {screen.id} is not blocked ({history.band}); only blocks can be appealed"
            )
        opened = history.open_appeals()
        if opened:
            raise ConflictError(f"screen {screen.id} already has an open appeal ({opened[0].id})")
        return usage_store.add_appeal(tx, screen, reason.strip(), by)


def decide_appeal(
    ws: Workspace, appeal_id: int, outcome: str, reason: str, *, by: str
) -> usage_store.AppealDecisionRecord:
    """Uphold or reverse a block; the decider must not be the first reviewer or the appellant."""
    if outcome not in ("uphold", "reverse"):
        raise InputError(f"unknown outcome {outcome!r}", hint="use --uphold or --reverse")
    if not reason.strip():
        raise InputError("an appeal decision needs a reason", hint='add --why "…"')
    with ws.store.write() as tx:
        found = usage_store.appeal_by_id(tx, appeal_id)
        refusing = f"decide appeal {appeal_id}"
        history = screen_history(tx, ws, found.screen_id, refusing)
        # the appeal row as proven with its screen's (the same snapshot: it is among them)
        record = next((a for a in history.appeals if a.id == appeal_id), None)
        if record is None:
            raise refusal(refusing, f"appeal {appeal_id} changed while it was being read")
        if record.id in history.decisions:
            raise ConflictError(f"appeal {appeal_id} has already been decided")
        screen, review = history.screen, history.review
        if review is not None and review.created_by == by:
            raise ConflictError(
                f"{by} reviewed screen {screen.id}; an appeal is decided by someone else",
                hint="ask another reviewer to decide the appeal",
            )
        if record.created_by == by:
            raise ConflictError(f"{by} filed appeal {appeal_id} and cannot decide it")
        return usage_store.add_appeal_decision(tx, record, outcome, reason.strip(), by)


@dataclass(frozen=True)
class AppealStatus:
    appeal: usage_store.AppealRecord
    decision: usage_store.AppealDecisionRecord | None


def appeal_list(ws: Workspace) -> list[AppealStatus]:
    """Every appeal and its outcome, after every appeal and decision row was checked
    against the ledger."""
    with ws.store.read() as s:
        check_rows(s, ws, usage_store.appeal_list_scopes(), "list the appeals")
        rows = usage_store.appeals(s)
        decided = usage_store.appeal_decisions(s)
    problem = _undecided_before(rows, decided)
    if problem is not None:
        raise refusal("list the appeals", problem)
    return [AppealStatus(row, decided.get(row.id)) for row in rows]


def as_dict(value: Any) -> dict[str, Any]:
    import dataclasses

    return dict(dataclasses.asdict(value))
