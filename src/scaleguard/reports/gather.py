"""Read what a Risk Report needs from a workspace, in one consistent pass.

Drafting first reads the models covered and their ancestors (the generations
the charts compare, :func:`checked_generations`) and brings the determinations
of every generation up to date (through
:func:`scaleguard.decisions.service.determine`, which records only what
changed), so every number in the report is a ledger record. Then it reads, in
one snapshot and as of the coverage date: the determinations with their
intervals and overrides, the safeguards attested, the decisions taken in the
period and the roadmap's report card; the framework's threat models come
from the framework.

What the report shows is frozen into its own signed content, so every row
read is first proven to be what the ledger's key signed, none missing, in the
session it is read in (:func:`scaleguard.reports.rowcheck.drafting_scopes`);
and before anything is recorded, every row drafting will read, so a refused
draft records nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from scaleguard.decisions import service
from scaleguard.decisions.engine import is_required
from scaleguard.errors import InputError
from scaleguard.framework.loader import LoadedFramework
from scaleguard.reports.inputs import (
    DecisionInfo,
    DeterminationInfo,
    DomainInfo,
    IndicatorInfo,
    ModelInfo,
    ReportInputs,
    SafeguardInfo,
    ThresholdInfo,
)
from scaleguard.reports.period import Period
from scaleguard.reports.rowcheck import drafting_scopes, registry_scope
from scaleguard.reports.store import record_date
from scaleguard.roadmap.grading import report_card
from scaleguard.roadmap.model import ReportCard
from scaleguard.roadmap.store import read_goals
from scaleguard.store import repo
from scaleguard.store.records import Determination, Model
from scaleguard.workspace.rowcheck import check_rows
from scaleguard.workspace.workspace import Workspace

if TYPE_CHECKING:
    from scaleguard.decisions.service import ThresholdStatus

#: Each model generation's name and the status of every threshold for it.
Statuses = Sequence[tuple[str, Sequence["ThresholdStatus"]]]


def generations(session: Session, covered: Sequence[str]) -> list[ModelInfo]:
    """The covered models and their ancestors, oldest generation first.

    A model's generation is its depth in the ``parent`` chain (a model without
    a parent is generation 1); ties are broken by effective compute, then name.
    """
    chosen: dict[str, Model] = {}
    depth: dict[str, int] = {}

    def chain(name: str) -> list[Model]:
        out: list[Model] = []
        seen: set[str] = set()
        current: Model | None = repo.model(session, name)
        while current is not None and current.name not in seen:
            seen.add(current.name)
            out.append(current)
            current = repo.find_model(session, current.parent) if current.parent else None
        return out

    for name in covered:
        lineage = chain(name)
        for i, m in enumerate(reversed(lineage), start=1):
            chosen[m.name] = m
            depth[m.name] = i
    order = sorted(
        chosen.values(), key=lambda m: (depth[m.name], m.effective_compute or 0.0, m.name)
    )
    return [
        ModelInfo(
            name=m.name,
            developer=m.developer or "",
            status=m.status,
            released_on=m.released_on,
            effective_compute=m.effective_compute,
            parent=m.parent,
            safeguards_level=m.safeguards_level,
            generation=depth[m.name],
            covered=m.name in covered,
        )
        for m in order
    ]


def checked_generations(ws: Workspace, models: Sequence[str], refusing: str) -> list[ModelInfo]:
    """The covered ``models`` (each one of the developer's own) and their ancestors, read
    from the proven registry; before returning, every row drafting will read about them
    is proven too (LedgerIntegrityError "refusing to ``refusing``: ..." otherwise), so a
    draft that is refused has recorded nothing."""
    with ws.store.read() as s:
        check_rows(s, ws, [registry_scope()], refusing)
        for name in models:
            if not repo.model(s, name).own:
                raise InputError(
                    f"{name!r} is not one of this developer's models (own = false)",
                    hint="a Risk Report covers the developer's own models",
                )
        lineage = generations(s, models)
        names = [m.name for m in lineage]
        check_rows(
            s,
            ws,
            lambda census: drafting_scopes(s, census, names, models, planning=True),
            refusing,
        )
    return lineage


def _determinations(statuses: Statuses) -> list[DeterminationInfo]:
    out: list[DeterminationInfo] = []
    for model, rows in statuses:
        for st in rows:
            override = st.override
            for d in sorted(st.determinations, key=lambda d: (d.indicator_id or "", d.id)):
                out.append(
                    DeterminationInfo(
                        model=model,
                        threshold_id=st.threshold_id,
                        indicator_id=d.indicator_id,
                        state=d.state,
                        estimate=d.estimate,
                        low=d.low,
                        high=d.high,
                        method=d.method,
                        evidence_ids=tuple(d.evidence_ids),
                        determination_id=d.id,
                        ledger_index=d.ledger_index,
                        override_state=override.state if override else None,
                        override_by=override.author if override else None,
                        override_reason=override.justification if override else None,
                    )
                )
    return out


def _indicator_names(ws: Workspace, fw: LoadedFramework) -> dict[str, tuple[str, str | None]]:
    """Indicator id -> (metric, task), from the framework and then the workspace config."""
    names: dict[str, tuple[str, str | None]] = {}
    for t in fw.doc.thresholds:
        for ind in t.indicators:
            names[ind.id] = (ind.metric, ind.task)
    for cfg in ws.config.indicators:
        names[cfg.id] = (cfg.metric, cfg.task)
    return names


def _thresholds(
    ws: Workspace,
    fw: LoadedFramework,
    statuses: Statuses,
    dets: Sequence[DeterminationInfo],
) -> list[ThresholdInfo]:
    names = _indicator_names(ws, fw)
    params: dict[tuple[str, str], IndicatorInfo] = {}
    by_id: dict[int, Determination] = {
        d.id: d for _, rows in statuses for st in rows for d in st.determinations
    }
    for d in dets:
        if d.indicator_id is None or d.determination_id is None or d.state == "missing":
            continue
        record = by_id.get(d.determination_id)
        if record is None:
            continue
        p = record.params
        metric, task = names.get(d.indicator_id, (d.indicator_id, None))
        params[(d.threshold_id, d.indicator_id)] = IndicatorInfo(
            id=d.indicator_id,
            metric=metric,
            task=task,
            comparator=str(p.get("comparator", ">=")),
            threshold=float(p.get("threshold", 0.0)),
            early_warning=(
                float(p["early_warning"]) if p.get("early_warning") is not None else None
            ),
        )
    out = []
    for t in fw.doc.thresholds:
        indicators = tuple(v for (tid, _), v in sorted(params.items()) if tid == t.id)
        out.append(
            ThresholdInfo(
                id=t.id,
                name=t.name,
                domain=t.domain,
                kind=t.kind,
                level=t.level,
                level_label=t.level_label,
                description=t.description,
                response=t.response,
                required_safeguards=tuple(
                    r.standard for r in t.required_safeguards if is_required(r)
                ),
                recommended_safeguards=tuple(
                    r.standard for r in t.required_safeguards if not is_required(r)
                ),
                ambiguity_policy=t.ambiguity_policy or fw.doc.framework.ambiguity_policy,
                indicators=indicators,
            )
        )
    return out


def roadmap_card(session: Session, as_of: date) -> ReportCard | None:
    """The Frontier Safety Roadmap's report card as of ``as_of``; None without goals
    (read unchecked: :func:`gather` proves the roadmap's rows first)."""
    goals = read_goals(session)
    return report_card(goals, as_of) if goals else None


def gather(
    ws: Workspace,
    fw: LoadedFramework,
    *,
    period: Period,
    lineage: Sequence[ModelInfo],
    coverage_date: date,
    drafted_on: date,
    by: str,
    refusing: str,
) -> ReportInputs:
    """Everything the report shows about the model generations ``lineage``
    (:func:`checked_generations`), every row of it proven against the signed ledger in
    the snapshot it is read from (LedgerIntegrityError "refusing to ``refusing``: ...")."""
    if not any(m.covered for m in lineage):
        raise InputError(
            "a Risk Report needs at least one model", hint="name them: --models aurora-2,aurora-3"
        )
    names = [m.name for m in lineage]
    for name in names:
        service.determine(ws, name, fw.ref, by=by)  # records what changed, from checked rows
    covered = [m.name for m in lineage if m.covered]
    standards = {st.id: st.name for st in fw.doc.safeguard_standards}
    with ws.store.read() as s:
        check_rows(
            s,
            ws,
            lambda census: drafting_scopes(s, census, names, covered, planning=False),
            refusing,
        )
        statuses = [(name, service.status(ws, name, fw, s)) for name in names]
        safeguards = [
            SafeguardInfo(
                model=a.model,
                standard=a.standard,
                standard_name=standards.get(a.standard, a.standard),
                attested_by=a.attested_by,
                evidence_url=a.evidence_url,
                attested_on=record_date(a.created_at),
                ledger_index=a.ledger_index,
            )
            for name in covered
            for a in sorted(repo.attested_standards(s, name).values(), key=lambda a: a.standard)
            if record_date(a.created_at) <= coverage_date
        ]
        last_day = min(period.end, coverage_date)
        decisions = [
            DecisionInfo(
                id=d.id,
                decided_on=record_date(d.created_at),
                model=d.model,
                action=d.action,
                outcome=d.outcome,
                framework_ref=d.framework_ref,
                ledger_index=d.ledger_index,
                summary=str(d.record.get("summary", "")),
            )
            for d in repo.decisions(s)
            if period.start <= record_date(d.created_at) <= last_day
        ]
        card = roadmap_card(s, coverage_date)
    dets = _determinations(statuses)
    thresholds = _thresholds(ws, fw, statuses, dets)
    developers = sorted({m.developer for m in lineage if m.covered and m.developer})
    return ReportInputs(
        developer=", ".join(developers) or ws.name,
        period=period.label,
        period_start=period.start,
        period_end=period.end,
        coverage_date=coverage_date,
        drafted_on=drafted_on,
        framework_ref=fw.ref,
        framework_title=fw.doc.framework.title,
        framework_ambiguity_policy=fw.doc.framework.ambiguity_policy,
        confidence=ws.config.determinations.confidence,
        models=tuple(lineage),
        domains=tuple(
            DomainInfo(d.id, d.name, d.status, d.description) for d in fw.doc.risk_domains
        ),
        thresholds=tuple(thresholds),
        determinations=tuple(dets),
        safeguards=tuple(safeguards),
        standard_names=standards,
        decisions=tuple(decisions),
        roadmap=card,
        roadmap_note=None
        if card
        else "No Frontier Safety Roadmap goal is recorded in this workspace.",
    )
