"""Workspace operations of the usage screen: contracts, screening with audit, review, appeals.

The CLI and the HTTP server call these; no logic lives only in a command or
a route.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaleguard.errors import ConflictError, InputError, LedgerIntegrityError
from scaleguard.usage import store as usage_store
from scaleguard.usage.contracts import (
    ContractDocument,
    LoadedContract,
    RefusedContract,
    load_contract_bytes,
)
from scaleguard.usage.loader import LoadedPolicy, load_policy, read_file

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from scaleguard.store.ledger.rows import Scope
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
    _check(session, ws, usage_store.contract_scope(customer), f"customer {customer!r}")
    return usage_store.current_contract(session, customer)


def check_contracts(ws: Workspace) -> None:
    """Check every contract row against the ledger (serve-screen does, before it listens)."""
    with ws.store.read() as s:
        _check(s, ws, usage_store.contract_scope(None), "the recorded contracts")


def _check(session: Session, ws: Workspace, scope: Scope, what: str) -> None:
    from scaleguard.store.ledger.rows import check_scopes

    try:
        signed = ws.signed_checkpoint(session)
        check_scopes(session, signed, [scope], ws.census(session, signed))
    except LedgerIntegrityError as exc:
        refused = LedgerIntegrityError(
            f"refusing to use {what}: {exc.message}",
            hint=exc.hint or "run 'scaleguard ledger verify --full'",
        )
        refused.status = 500  # the server's database, not the caller, is at fault
        raise refused from None


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


def review_queue(ws: Workspace) -> list[usage_store.ScreenRecord]:
    """Undecided reviews, most severe first: red lines, then higher scores, then oldest."""
    with ws.store.read() as s:
        decided = usage_store.reviews(s)
        waiting = [r for r in usage_store.screens(s, band="review") if r.id not in decided]
    return sorted(waiting, key=lambda r: (not r.result.get("red_line"), -(r.score or 0.0), r.id))


def decide_review(
    ws: Workspace, ident: str, decision: str, reason: str, *, by: str
) -> usage_store.ReviewRecord:
    if decision not in ("allow", "block"):
        raise InputError(f"unknown decision {decision!r}", hint="use --allow or --block")
    if not reason.strip():
        raise InputError("a review decision needs a reason", hint='add --why "…"')
    with ws.store.write() as tx:
        screen = usage_store.screen_by_id(tx, ident)
        if screen.band != "review":
            raise ConflictError(
                f"screen {screen.id} was decided automatically ({screen.band}); "
                "only the review band is decided by people",
                hint="contest a block with 'scaleguard usage appeal'",
            )
        if screen.id in usage_store.reviews(tx):
            raise ConflictError(f"screen {screen.id} has already been reviewed")
        return usage_store.add_review(tx, screen, decision, reason.strip(), by)


def final_band(ws: Workspace, screen: usage_store.ScreenRecord) -> str:
    with ws.store.read() as s:
        review = usage_store.reviews(s).get(screen.id)
    return review.decision if review else screen.band


def appeal(ws: Workspace, ident: str, reason: str, *, by: str) -> usage_store.AppealRecord:
    if not reason.strip():
        raise InputError("an appeal needs a reason", hint='add --why "…"')
    with ws.store.write() as tx:
        screen = usage_store.screen_by_id(tx, ident)
        review = usage_store.reviews(tx).get(screen.id)
        band = review.decision if review else screen.band
        if band != "block":
            raise ConflictError(
                f"screen {screen.id} is not blocked ({band}); only blocks can be appealed"
            )
        for earlier in usage_store.appeals(tx):
            if earlier.screen_id == screen.id and earlier.id not in usage_store.appeal_decisions(
                tx
            ):
                raise ConflictError(f"screen {screen.id} already has an open appeal ({earlier.id})")
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
        record = usage_store.appeal_by_id(tx, appeal_id)
        if record.id in usage_store.appeal_decisions(tx):
            raise ConflictError(f"appeal {appeal_id} has already been decided")
        screen = usage_store.screen_by_id(tx, str(record.screen_id))
        review = usage_store.reviews(tx).get(screen.id)
        if review is not None and review.created_by == by:
            raise ConflictError(
                f"{by} reviewed screen {screen.id}; an appeal is decided by someone else",
                hint="ask another reviewer to decide the appeal",
            )
        if record.created_by == by:
            raise ConflictError(f"{by} filed appeal {appeal_id} and cannot decide it")
        return usage_store.add_appeal_decision(tx, record, outcome, reason.strip(), by)


def as_dict(value: Any) -> dict[str, Any]:
    import dataclasses

    return dict(dataclasses.asdict(value))
