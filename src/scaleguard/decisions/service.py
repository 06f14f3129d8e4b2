"""Determinations and decisions against a workspace: gather, compute, record.

This is the adapter around the pure core: it reads evidence, attestations and
the registry from the store, calls :mod:`scaleguard.determinations.assess` and
:mod:`scaleguard.decisions.engine`, and appends what it computed as records
(each with its ledger entry). The CLI and any other edge call these functions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from scaleguard.actor import acting_user
from scaleguard.decisions.engine import decide as evaluate_decision
from scaleguard.decisions.loosening import Loosened, judged, loosened, refusal
from scaleguard.decisions.model import (
    AssertedFact,
    Attestation,
    Decision,
    DecisionInput,
    Finding,
    RegistryModel,
)
from scaleguard.determinations.assess import Assessment, EvidencePoint, IndicatorSpec, assess
from scaleguard.determinations.state import severity
from scaleguard.errors import InputError, NotFoundError
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import ACTIONS, Action
from scaleguard.ledger.note import Checkpoint
from scaleguard.store import repo
from scaleguard.store.db import Tx
from scaleguard.store.ledger.rows import OVERRIDING, PLANNING, check_decision_inputs
from scaleguard.store.ledger.signer import APPENDED
from scaleguard.store.ledger.tree import ledger_size
from scaleguard.store.recording import to_record
from scaleguard.store.records import Determination, Override
from scaleguard.store.tables import ModelRow, ModelScoreRow
from scaleguard.workspace.workspace import Workspace

STATES: tuple[str, ...] = ("below", "alert", "ambiguous", "crossed")


def default_actor(by: str | None) -> str:
    """``by``, else the actor every record names: :func:`scaleguard.actor.acting_user`."""
    return acting_user(by)


@dataclass(frozen=True)
class ThresholdStatus:
    """Where one threshold stands for a model: determinations, and any override in force."""

    threshold_id: str
    name: str
    kind: str
    determinations: tuple[Determination, ...]
    override: Override | None

    @property
    def finding(self) -> Finding:
        current = _worst_determination(self.determinations)
        if self.override is not None:
            return Finding(
                self.threshold_id,
                self.override.state,  # type: ignore[arg-type]
                estimate=current.estimate if current else None,
                low=current.low if current else None,
                high=current.high if current else None,
                indicator=current.indicator_id if current else None,
                evidence_ids=current.evidence_ids if current else (),
                determination_id=current.id if current else None,
                override_by=self.override.author,
                override_reason=self.override.justification,
            )
        if current is None or current.state == "missing":
            return Finding(self.threshold_id, "missing")
        return Finding(
            self.threshold_id,
            current.state,  # type: ignore[arg-type]
            estimate=current.estimate,
            low=current.low,
            high=current.high,
            indicator=current.indicator_id,
            evidence_ids=current.evidence_ids,
            determination_id=current.id,
        )


def _worst_determination(items: Sequence[Determination]) -> Determination | None:
    if not items:
        return None
    return max(items, key=lambda d: severity(d.state))


def _indicator_specs(ws: Workspace) -> list[IndicatorSpec]:
    from scaleguard.workspace.vocabulary import check_indicators

    if ws.config.indicators:
        text = ws.config_path.read_text(encoding="utf-8", errors="replace")
        check_indicators(ws.config.indicators, ws.library(), text, ws.relative(ws.config_path))
    return [
        IndicatorSpec(
            id=ind.id,
            thresholds=tuple(ind.thresholds),
            metric=ind.metric,
            comparator=ind.comparator,
            threshold=ind.threshold,
            early_warning=ind.early_warning,
            task=ind.task,
            framework=ind.framework,
            origin="workspace",
        )
        for ind in ws.config.indicators
    ]


def _same(d: Determination, a: Assessment) -> bool:
    return (
        d.state == a.state
        and d.indicator_id == a.indicator_id
        and d.evidence_ids == (a.evidence_id,)
        and d.estimate == a.interval.estimate
        and d.low == a.interval.low
        and d.high == a.interval.high
        and d.method == a.interval.method
        and d.params.get("evidence_basis") == a.basis
    )


def inputs_digest(
    fw: LoadedFramework,
    points: Sequence[EvidencePoint],
    specs: Sequence[IndicatorSpec],
    params: dict[str, Any],
) -> str:
    """What a set of determinations rests on: the evidence rows, the framework's
    content, the workspace's indicator mapping and the estimation parameters.

    Recorded with each determination; a run whose inputs have this digest
    again may skip the assessment. Any change to any of them gives another
    digest (``repr`` is exact for the text, numbers and tuples involved).
    """
    h = hashlib.sha256()
    h.update(f"{fw.ref}\n{fw.digest}\n{sorted(params.items())!r}\n".encode())
    for spec in specs:
        h.update(repr(spec).encode() + b"\n")
    h.update(b"evidence\n")
    for p in points:
        h.update(repr(p).encode() + b"\n")
    return h.hexdigest()


def _plan(
    ws: Workspace, model: str, fw: LoadedFramework, session: Session | None = None
) -> list[dict[str, Any]]:
    """The determinations :func:`determine` would record (none when nothing changed),
    read in ``session`` when given (e.g. the snapshot whose rows were just checked)."""
    if session is None:
        with ws.store.read() as s:
            return _plan(ws, model, fw, s)
    cfg = ws.config.determinations
    repo.model(session, model)
    evidence = repo.evidence_for_model(session, model)
    points = [to_record(EvidencePoint, e) for e in evidence]
    history = [d for d in repo.determinations(session, model) if d.framework_ref == fw.ref]
    specs = _indicator_specs(ws)
    params = {"resamples": cfg.resamples, "confidence": cfg.confidence, "seed": cfg.seed}
    digest = inputs_digest(fw, points, specs, params)
    if history and history[-1].params.get("inputs_digest") == digest:
        # the latest record was written by a run over exactly these inputs, which
        # reconciled every threshold: assessing again would record nothing
        return []
    results = assess(
        fw,
        points,
        specs,
        resamples=cfg.resamples,
        confidence=cfg.confidence,
        seed=cfg.seed,
    )
    pending: list[dict[str, Any]] = []
    loosening: list[Loosened] = []
    for t in fw.doc.thresholds:
        found = results.get(t.id, [])
        mine = [d for d in history if d.threshold_id == t.id]
        if not found:
            latest = mine[-1] if mine else None
            if latest is None or latest.state != "missing":
                pending.append(
                    {
                        "threshold_id": t.id,
                        "state": "missing",
                        "method": "none",
                        "params": {
                            "reason": "no evidence matches any indicator of this threshold",
                            "inputs_digest": digest,
                        },
                    }
                )
            continue
        for a in found:
            previous = [d for d in mine if d.indicator_id == a.indicator_id]
            if previous and _same(previous[-1], a):
                continue
            recorded = {
                **params,
                "n": a.interval.n,
                "comparator": a.indicator.comparator,
                "threshold": a.indicator.threshold,
                "early_warning": a.indicator.early_warning,
                "indicator_origin": a.indicator.origin,
                "evidence_basis": a.basis,
                "inputs_digest": digest,
            }
            if previous and loosened(previous[-1], a, evidence):
                loosening.append(Loosened(t.id, previous[-1], a, recorded))
            pending.append(
                {
                    "threshold_id": t.id,
                    "indicator_id": a.indicator_id,
                    "state": a.state,
                    "method": a.interval.method,
                    "estimate": a.interval.estimate,
                    "low": a.interval.low,
                    "high": a.interval.high,
                    "evidence_ids": (a.evidence_id,),
                    "params": recorded,
                }
            )
    if loosening:
        # the overrides that may answer them are checked with the plan (PLANNING)
        overs = [o for o in repo.overrides(session, model) if o.framework_ref == fw.ref]
        unjudged = [item for item in loosening if not judged(overs, item)]
        if unjudged:
            raise refusal(model, fw.ref, unjudged)
    return pending


def _checked_plan(
    ws: Workspace, model: str, fw: LoadedFramework, session: Session
) -> list[dict[str, Any]]:
    """:func:`_plan` in ``session``, and when it would record anything, a check in that same
    snapshot that the rows it was planned from (the model's evidence and determinations)
    are rows the ledger signed: forged evidence never becomes a signed determination.

    A plan that records nothing is not checked (nothing rests on it; a workspace
    without the key can still show its status), so the check costs only runs that write.
    """
    pending = _plan(ws, model, fw, session)
    if pending:
        _check(ws, session, ws.signed_checkpoint(session), model, PLANNING)
    return pending


def _check(
    ws: Workspace,
    session: Session,
    signed: Checkpoint,
    model: str,
    tables: Sequence[str] | None = None,
) -> None:
    """The rows about ``model`` (of ``tables``) are the signed entries, all of them: none
    edited (the row check), none deleted (the signer's census)."""
    check_decision_inputs(session, signed, model, tables, ws.census(session, signed))


def _appended(tx: Tx) -> int:
    """How many ledger entries ``tx`` has appended so far (every record write appends one)."""
    return len(tx.info.get(APPENDED, ()))


def _record(
    tx: Tx, model: str, fw: LoadedFramework, actor: str, pending: list[dict[str, Any]]
) -> None:
    for fields in pending:
        repo.add_determination(tx, model=model, framework_ref=fw.ref, created_by=actor, **fields)


def determine(
    ws: Workspace, model: str, framework: str | None = None, *, by: str | None = None
) -> tuple[LoadedFramework, list[ThresholdStatus]]:
    """Assess every threshold of ``framework`` for ``model`` and record what changed.

    Idempotent: a determination identical to the latest on record for the same
    threshold and indicator is not recorded again. A threshold without evidence
    is recorded as ``missing`` (once), so the record shows it was looked for.
    The framework's first use is recorded with the determinations, in one transaction.
    """
    fw, origin = ws.resolve_framework(framework)
    actor = default_actor(by)
    with ws.store.read() as s:
        seen = ledger_size(s)
        pending = _checked_plan(ws, model, fw, s)
        known = repo.framework_use(s, fw.digest) is not None
    if pending or not known:  # else nothing to record: no write lock, no commit
        with ws.store.write() as tx:
            if ledger_size(tx) != seen:
                # another writer committed since the snapshot: plan on what is recorded now
                pending = _checked_plan(ws, model, fw, tx)
            repo.record_framework(tx, ref=fw.ref, digest=fw.digest, origin=origin)
            _record(tx, model, fw, actor, pending)
    return fw, status(ws, model, fw)


def status(
    ws: Workspace, model: str, fw: LoadedFramework, session: Session | None = None
) -> list[ThresholdStatus]:
    """The current determinations (latest per indicator) and overrides, per threshold
    (read in ``session`` when given, e.g. the transaction that just recorded some, whose
    caller checked them).

    Read on its own, the rows are checked first (LedgerIntegrityError when one was edited
    or deleted): what ``determine`` prints and the console shows is what the ledger signed
    (in a copy without the key, what its newest checkpoint signed)."""
    if session is None:
        with ws.store.read() as s:
            _check(ws, s, ws.signed_checkpoint(s), model, OVERRIDING)
            return status(ws, model, fw, s)
    dets = [d for d in repo.determinations(session, model) if d.framework_ref == fw.ref]
    overs = [o for o in repo.overrides(session, model) if o.framework_ref == fw.ref]
    out = []
    for t in fw.doc.thresholds:
        latest: dict[str | None, Determination] = {}
        for d in dets:
            if d.threshold_id == t.id:
                latest[d.indicator_id] = d
        current = tuple(latest.values())
        # 'missing' is only current when no indicator has produced anything since
        if any(d.state != "missing" for d in current):
            current = tuple(d for d in current if d.state != "missing")
        head = _worst_determination(current)
        override = None
        for o in overs:
            if o.threshold_id != t.id:
                continue
            # an override answers the determination it saw; newer evidence retires it
            if o.supersedes_determination_id == (head.id if head else None):
                override = o
        out.append(ThresholdStatus(t.id, t.name, t.kind, current, override))
    return out


def override(
    ws: Workspace,
    model: str,
    threshold: str,
    state: str,
    *,
    by: str,
    justification: str,
    framework: str | None = None,
) -> Override:
    """Record a human override of the current determination: a new record, never an edit."""
    if state not in STATES:
        raise InputError(f"unknown state {state!r}", hint=f"use one of: {', '.join(STATES)}")
    if not justification.strip():
        raise InputError("an override needs a justification", hint='add --why "..."')
    fw, origin = ws.resolve_framework(framework)
    ids = {t.id for t in fw.doc.thresholds}
    if threshold not in ids:
        raise NotFoundError(
            f"{fw.ref} has no threshold {threshold!r}", hint=f"known: {', '.join(sorted(ids))}"
        )
    with ws.store.read() as s:
        repo.model(s, model)
    with ws.store.write() as tx:  # the framework's first use and the override, together
        # the determination it answers is the one current when it is recorded, read
        # under the write lock: one another writer recorded meanwhile is not skipped;
        # and only from rows the ledger signed, checked in the snapshot it is read from
        _check(ws, tx, ws.signed_checkpoint(tx), model, OVERRIDING)
        current = next(st for st in status(ws, model, fw, tx) if st.threshold_id == threshold)
        head = _worst_determination(current.determinations)
        repo.record_framework(tx, ref=fw.ref, digest=fw.digest, origin=origin)
        return repo.add_override(
            tx,
            model=model,
            framework_ref=fw.ref,
            threshold_id=threshold,
            state=state,
            author=by,
            justification=justification,
            supersedes_determination_id=head.id if head else None,
        )


def parse_action(text: str) -> Action:
    action = text.replace("-", "_")
    if action not in ACTIONS:
        raise InputError(
            f"unknown action {text!r}",
            hint="use train, deploy-internal, deploy-external or release-weights",
        )
    return action


_registry_cache: dict[tuple[str, bytes, int, int], tuple[RegistryModel, ...]] = {}


def _registry(s: Session, subject_name: str) -> tuple[list[RegistryModel], RegistryModel | None]:
    """The registry as decision inputs: every model and its latest scores.

    It is the largest read of a decision, so it is read column-wise and kept
    per process. The cache key is sound because models and scores are
    append-only (the database refuses UPDATE and DELETE on them): the largest
    ids of the two tables identify their whole content.
    """
    conn = s.connection()
    top_model = conn.execute(select(func.max(ModelRow.id))).scalar() or 0
    top_score = conn.execute(select(func.max(ModelScoreRow.id))).scalar() or 0
    key = (str(conn.engine.url), repo.database_identity(s), int(top_model), int(top_score))
    models = _registry_cache.get(key)
    if models is None:
        models = _read_registry(s)
        # one entry per database (its newest content), a few databases per process
        for stale in [k for k in _registry_cache if k[:2] == key[:2]]:
            del _registry_cache[stale]
        if len(_registry_cache) >= 8:
            _registry_cache.clear()
        _registry_cache[key] = models
    subject = next((m for m in models if m.name == subject_name), None)
    return [m for m in models if m.name != subject_name], subject


def _read_registry(s: Session) -> tuple[RegistryModel, ...]:
    conn = s.connection()
    by_model: dict[str, dict[str, float]] = {}
    score_sources: dict[str, list[str]] = {}
    latest: dict[tuple[str, str], tuple[float, str | None]] = {}
    score_rows = conn.execute(
        select(
            ModelScoreRow.model, ModelScoreRow.domain, ModelScoreRow.score, ModelScoreRow.source
        ).order_by(ModelScoreRow.id)
    )
    for name, dom, score, source in score_rows:
        latest[(name, dom)] = (score, source)
    for (name, dom), (score, source) in latest.items():
        by_model.setdefault(name, {})[dom] = score
        if source:
            score_sources.setdefault(name, []).append(source)
    registry: list[RegistryModel] = []
    model_rows = conn.execute(
        select(
            ModelRow.name,
            ModelRow.developer,
            ModelRow.own,
            ModelRow.status,
            ModelRow.released_on,
            ModelRow.safeguards_level,
            ModelRow.sources,
        ).order_by(ModelRow.id)
    )
    for name, developer, own, status_, released_on, level, sources in model_rows:
        entry = RegistryModel(
            name=name,
            developer=developer or "",
            own=bool(own),
            released=status_ == "released" or released_on is not None,
            released_on=released_on,
            scores=by_model.get(name, {}),
            safeguards_level=level or "unknown",
            sources=tuple(sources or ()) + tuple(score_sources.get(name, ())),
            status=status_,
        )
        registry.append(entry)
    return tuple(registry)


def gather(
    s: Session, ws: Workspace, model: str, action: Action, fw: LoadedFramework, as_of: dt.date
) -> DecisionInput:
    """Everything a decision needs, read in one snapshot."""
    subject_row = repo.model(s, model)
    registry, subject = _registry(s, subject_row.name)
    assert subject is not None
    attested = {
        std: Attestation(std, a.attested_by, a.evidence_url, a.ledger_index)
        for std, a in repo.attested_standards(s, model).items()
    }
    asserted = {
        name: AssertedFact(name, f.value, f.source, f.asserted_by, f.ledger_index)
        for name, f in repo.current_facts(s, model).items()
        if isinstance(f.value, bool | int | float)
    }
    findings = {st.threshold_id: st.finding for st in status(ws, model, fw, s)}
    return DecisionInput(
        model=subject,
        action=action,
        findings=findings,
        attested=attested,
        others=tuple(registry),
        asserted=asserted,
        as_of=as_of,
    )


@dataclass(frozen=True)
class DecisionResult:
    decision: Decision
    decision_id: int
    ledger_index: int
    comparison: Decision | None = None
    comparison_id: int | None = None


def decide(
    ws: Workspace,
    model: str,
    action: str,
    *,
    framework: str | None = None,
    compare: str | None = None,
    as_of: dt.date | None = None,
    by: str | None = None,
) -> DecisionResult:
    """Determine, decide and record; with ``compare``, the same facts under another framework."""
    act = parse_action(action)
    day = as_of or dt.datetime.now(dt.UTC).date()
    actor = default_actor(by)
    fw, origin = ws.resolve_framework(framework)
    other_fw: LoadedFramework | None = None
    other_origin = ""
    if compare is not None:
        other_fw, other_origin = ws.resolve_framework(compare)
    decision: Decision | None = None
    other: Decision | None = None

    def evaluate(session: Session) -> tuple[Decision, Decision | None]:
        decided = evaluate_decision(fw, gather(session, ws, model, act, fw, day))
        if other_fw is None:
            return decided, None
        return decided, evaluate_decision(other_fw, gather(session, ws, model, act, other_fw, day))

    def checked_plans(
        session: Session, signed: Checkpoint
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every row read must be what the ledger signed; plans come from exactly those rows."""
        _check(ws, session, signed, model)
        mine = _plan(ws, model, fw, session)
        if other_fw is None or other_fw.ref == fw.ref:
            return mine, []  # the same framework twice: record its findings once
        return mine, _plan(ws, model, other_fw, session)

    # one snapshot, checked and planned outside the write lock
    with ws.store.read() as s:
        seen = ledger_size(s)
        signed = ws.signed_checkpoint(s)
        pending, other_pending = checked_plans(s, signed)
        if not pending and not other_pending:
            # nothing new to record first: decide on the snapshot just checked, so the
            # write transaction below only appends (and holds the write lock briefly)
            decision, other = evaluate(s)
    # one write transaction: the frameworks' first use, the determinations the
    # decision rests on and the decision are recorded (and signed) together or not at all
    with ws.store.write() as tx:
        checked_at = -1  # how many entries tx had appended when its inputs were checked in it
        if ledger_size(tx) != seen:
            # another writer committed since the snapshot (new evidence, say): the
            # decision must rest on what is recorded before it, so check and plan again
            signed = ws.signed_checkpoint(tx)
            pending, other_pending = checked_plans(tx, signed)
            checked_at = _appended(tx)
            decision = None
        repo.record_framework(tx, ref=fw.ref, digest=fw.digest, origin=origin)
        if other_fw is not None:
            repo.record_framework(tx, ref=other_fw.ref, digest=other_fw.digest, origin=other_origin)
        if decision is None:
            _record(tx, model, fw, actor, pending)
            if other_fw is not None:
                _record(tx, model, other_fw, actor, other_pending)
            tx.flush()
            # The decision is evaluated in this transaction, so what it reads is checked
            # here, after the writes above and whatever they set off (a trigger editing
            # a fact): rows this transaction recorded must be the entries it appended,
            # every other row a signed one. The transaction reads one snapshot and
            # nothing writes between this check and the evaluation (Store.write). Every
            # write above appends an entry: none since the check above, nothing to redo.
            if _appended(tx) != checked_at:
                _check(ws, tx, signed, model)
            decision, other = evaluate(tx)
        row = repo.add_decision(
            tx,
            model=model,
            action=act,
            framework_ref=fw.ref,
            compare_ref=other_fw.ref if other_fw else None,
            outcome=decision.outcome,
            record=decision.model_dump(mode="json"),
            created_by=actor,
        )
        other_row = None
        if other is not None and other_fw is not None:
            other_row = repo.add_decision(
                tx,
                model=model,
                action=act,
                framework_ref=other_fw.ref,
                compare_ref=fw.ref,
                outcome=other.outcome,
                record=other.model_dump(mode="json"),
                created_by=actor,
            )
    return DecisionResult(
        decision=decision,
        decision_id=row.id,
        ledger_index=row.ledger_index,
        comparison=other,
        comparison_id=other_row.id if other_row else None,
    )
