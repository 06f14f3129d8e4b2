"""Assemble a Risk Report's content from gathered inputs: pure, deterministic.

The same inputs always give the same content (stable ordering, fixed number
formats), which is what makes every edition byte-reproducible. Section ids
are fixed names plus framework threshold ids; see :data:`SECTION_IDS`.
"""

from __future__ import annotations

from scaleguard.reports.inputs import DeterminationInfo, ReportInputs, ThresholdInfo
from scaleguard.reports.model import (
    BulletList,
    Chart,
    ChartPoint,
    Paragraph,
    ReportContent,
    ReportMeta,
    Section,
    Table,
)
from scaleguard.reports.risk import domain_risks
from scaleguard.roadmap.model import GRADE_LABELS, GRADES, ReportCard

#: Top-level sections, in order; threat models and capabilities have one
#: subsection per threshold, ``threat-models.<threshold id>`` and
#: ``capabilities.<threshold id>``.
SECTION_IDS = (
    "summary",
    "scope",
    "threat-models",
    "capabilities",
    "safeguards",
    "decisions",
    "roadmap",
    "overall-risk",
)
NONE = "—"


def num(value: float | None) -> str:
    """Numbers as reports print them: three decimals, or three significant digits if large."""
    if value is None:
        return NONE
    if abs(value) >= 1000:
        return f"{value:.3g}"
    return f"{value:.3f}"


def interval(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return NONE
    return f"[{num(low)}, {num(high)}]"


def assemble(inputs: ReportInputs) -> ReportContent:
    """The report's content; every section id is unique and stable."""
    meta = ReportMeta(
        title=f"Risk Report {inputs.period} — {inputs.developer}",
        developer=inputs.developer,
        period=inputs.period,
        period_start=inputs.period_start,
        period_end=inputs.period_end,
        coverage_date=inputs.coverage_date,
        drafted_on=inputs.drafted_on,
        framework_ref=inputs.framework_ref,
        framework_title=inputs.framework_title,
        models=tuple(m.name for m in inputs.covered),
    )
    sections = (
        _summary(inputs),
        _scope(inputs),
        _threat_models(inputs),
        _capabilities(inputs),
        _safeguards(inputs),
        _decisions(inputs),
        _roadmap(inputs),
        _overall_risk(inputs),
    )
    return ReportContent(meta=meta, sections=sections)


def _risk_table(inputs: ReportInputs, *, reasons: bool) -> Table:
    columns = ("Domain", "Risk level", "Most severe state") + (("Basis",) if reasons else ())
    rows = []
    for r in domain_risks(inputs):
        row = (r.name, r.level, r.worst_state or NONE)
        rows.append(row + (("; ".join(r.reasons),) if reasons else ()))
    return Table(caption="Overall risk per domain", columns=columns, rows=tuple(rows))


def _summary(inputs: ReportInputs) -> Section:
    names = ", ".join(m.name for m in inputs.covered)
    text = (
        f"This Risk Report of {inputs.developer} covers {len(inputs.covered)} model(s) "
        f"({names}) for the period {inputs.period} ({inputs.period_start.isoformat()} to "
        f"{inputs.period_end.isoformat()}), describing the state of affairs as of the coverage "
        f"date {inputs.coverage_date.isoformat()}. It applies {inputs.framework_title} "
        f"({inputs.framework_ref})."
    )
    return Section(
        id="summary",
        title="Summary",
        blocks=(
            Paragraph(text=text),
            _risk_table(inputs, reasons=False),
            Paragraph(text="Risk levels follow the rule set out under 'Overall risk per domain'."),
        ),
    )


def _scope(inputs: ReportInputs) -> Section:
    rows = tuple(
        (
            m.name,
            m.developer,
            m.status,
            m.released_on.isoformat() if m.released_on else NONE,
            num(m.effective_compute),
            m.parent or NONE,
            m.safeguards_level or NONE,
        )
        for m in inputs.covered
    )
    lineage = " → ".join(m.name for m in inputs.models)
    return Section(
        id="scope",
        title="Models covered and coverage date",
        blocks=(
            Paragraph(
                text=f"Coverage date: {inputs.coverage_date.isoformat()}. Period: "
                f"{inputs.period}. Drafted on {inputs.drafted_on.isoformat()}."
            ),
            Table(
                caption="Models covered",
                columns=(
                    "Model",
                    "Developer",
                    "Status",
                    "Released",
                    "Effective compute",
                    "Parent",
                    "Safeguards level",
                ),
                rows=rows,
            ),
            Paragraph(text=f"Model generations compared in the charts: {lineage}."),
        ),
    )


def _threat_models(inputs: ReportInputs) -> Section:
    domains = {d.id: d for d in inputs.domains}
    subs = []
    for t in inputs.thresholds:
        domain = domains.get(t.domain)
        label = f" ({t.level_label})" if t.level_label else ""
        status = f", {domain.status.replace('_', ' ')}" if domain else ""
        blocks: list[Paragraph | BulletList] = [
            Paragraph(
                text=f"Domain: {domain.name if domain else t.domain}{status}. "
                f"Level {t.level}{label}; kind: {t.kind}."
            )
        ]
        if t.description:
            blocks.append(Paragraph(text=t.description))
        if t.response:
            blocks.append(Paragraph(text=f"If crossed: {t.response}"))
        items = [
            f"Required safeguard: {inputs.standard_names.get(s, s)} ({s})"
            for s in t.required_safeguards
        ] + [
            f"Recommended, not required: {inputs.standard_names.get(s, s)} ({s})"
            for s in t.recommended_safeguards
        ]
        if items:
            blocks.append(BulletList(items=tuple(items)))
        if not t.required_safeguards:
            blocks.append(Paragraph(text="The framework requires no safeguard standard here."))
        subs.append(Section(id=f"threat-models.{t.id}", title=t.name, blocks=tuple(blocks)))
    return Section(
        id="threat-models",
        title="Threat models",
        blocks=(
            Paragraph(
                text=f"Each capability threshold of {inputs.framework_ref} names a threat model: "
                "the capability, the harm it could enable, and what the framework requires "
                "once it is crossed."
            ),
        ),
        sections=tuple(subs),
    )


def _det_row(d: DeterminationInfo) -> tuple[str, ...]:
    override = NONE
    if d.override_state:
        override = f"{d.override_state} by {d.override_by}: {d.override_reason}"
    return (
        d.model,
        d.indicator_id or NONE,
        d.state,
        num(d.estimate),
        interval(d.low, d.high),
        d.method,
        ", ".join(str(i) for i in d.evidence_ids) or NONE,
        NONE if d.ledger_index is None else str(d.ledger_index),
        override,
    )


def _charts(inputs: ReportInputs, t: ThresholdInfo) -> list[Chart]:
    charts = []
    for ind in t.indicators:
        points = []
        for m in inputs.models:
            found = [
                d
                for d in inputs.determinations
                if d.model == m.name and d.threshold_id == t.id and d.indicator_id == ind.id
            ]
            d = found[-1] if found else None
            points.append(
                ChartPoint(
                    label=m.name,
                    estimate=d.estimate if d else None,
                    low=d.low if d else None,
                    high=d.high if d else None,
                    state=d.effective_state if d else "missing",
                    covered=m.covered,
                )
            )
        if not any(p.estimate is not None for p in points):
            continue
        task = f" on {ind.task}" if ind.task else ""
        band = f", early warning {num(ind.early_warning)}" if ind.early_warning is not None else ""
        values = "; ".join(
            f"{p.label} {num(p.estimate)} {interval(p.low, p.high)} {p.state}"
            if p.estimate is not None
            else f"{p.label} no data"
            for p in points
        )
        charts.append(
            Chart(
                id=f"{t.id}--{ind.id}",
                title=f"{t.name}: {ind.metric}{task} across model generations",
                description=f"Indicator {ind.id} ({ind.metric}{task}) per model generation "
                f"against the threshold {ind.comparator} {num(ind.threshold)}{band}. {values}.",
                y_label=ind.metric,
                comparator=ind.comparator,
                threshold=ind.threshold,
                early_warning=ind.early_warning,
                points=tuple(points),
            )
        )
    return charts


def _capabilities(inputs: ReportInputs) -> Section:
    covered = [m.name for m in inputs.covered]
    subs = []
    for t in inputs.thresholds:
        dets = [d for d in inputs.determinations if d.threshold_id == t.id and d.model in covered]
        blocks: list[Paragraph | Table | Chart] = []
        with_data = [d for d in dets if d.state != "missing" or d.override_state]
        if with_data:
            blocks.append(
                Table(
                    caption=f"Determinations: {t.name}",
                    columns=(
                        "Model",
                        "Indicator",
                        "State",
                        "Estimate",
                        "Interval",
                        "Method",
                        "Evidence",
                        "Ledger entry",
                        "Override",
                    ),
                    rows=tuple(_det_row(d) for d in with_data),
                )
            )
        lacking = [m for m in covered if not any(d.model == m for d in with_data)]
        if lacking:
            blocks.append(
                Paragraph(
                    text="No evidence matches an indicator of this threshold for "
                    f"{', '.join(lacking)}; the state is missing, which is never read as below."
                )
            )
        blocks.extend(_charts(inputs, t))
        subs.append(Section(id=f"capabilities.{t.id}", title=t.name, blocks=tuple(blocks)))
    return Section(
        id="capabilities",
        title="Capability determinations",
        blocks=(
            Paragraph(
                text="Each determination places a confidence interval "
                f"({inputs.confidence:.0%}) around the evidence and reads it against the "
                "threshold: below, alert (in the early-warning band), ambiguous (the interval "
                "straddles the threshold) or crossed. A person's override, with its "
                "justification, is shown beside the computed state."
            ),
        ),
        sections=tuple(subs),
    )


def _safeguards(inputs: ReportInputs) -> Section:
    rows = tuple(
        (
            s.model,
            s.standard,
            s.standard_name,
            s.attested_by,
            s.attested_on.isoformat(),
            s.evidence_url,
            str(s.ledger_index),
        )
        for s in inputs.safeguards
    )
    blocks: list[Paragraph | Table | BulletList] = []
    if rows:
        blocks.append(
            Table(
                caption="Safeguard standards attested",
                columns=(
                    "Model",
                    "Standard",
                    "Name",
                    "Attested by",
                    "Attested on",
                    "Evidence",
                    "Ledger entry",
                ),
                rows=rows,
            )
        )
    else:
        blocks.append(Paragraph(text="No safeguard standard is attested for the models covered."))
    attested = {(s.model, s.standard) for s in inputs.safeguards}
    gaps = []
    for t in inputs.thresholds:
        for d in inputs.determinations:
            if d.threshold_id != t.id or d.effective_state != "crossed" or not d.model:
                continue
            if d.model not in {m.name for m in inputs.covered}:
                continue
            for s in t.required_safeguards:
                if (d.model, s) not in attested:
                    gaps.append(f"{d.model}: {t.name} is crossed and {s} is not attested")
    if gaps:
        blocks.append(BulletList(items=tuple(dict.fromkeys(gaps))))
    else:
        blocks.append(
            Paragraph(text="Every safeguard required by a crossed threshold is attested.")
        )
    return Section(id="safeguards", title="Safeguards in place", blocks=tuple(blocks))


def _decisions(inputs: ReportInputs) -> Section:
    if not inputs.decisions:
        return Section(
            id="decisions",
            title="Decisions taken in the period",
            blocks=(Paragraph(text="No scaling decision was recorded in the period."),),
        )
    rows = tuple(
        (
            d.decided_on.isoformat(),
            d.model,
            d.action,
            d.outcome,
            d.framework_ref,
            str(d.id),
            str(d.ledger_index),
        )
        for d in inputs.decisions
    )
    return Section(
        id="decisions",
        title="Decisions taken in the period",
        blocks=(
            Table(
                caption="Scaling decisions",
                columns=(
                    "Date",
                    "Model",
                    "Action",
                    "Outcome",
                    "Framework",
                    "Decision",
                    "Ledger entry",
                ),
                rows=rows,
            ),
            BulletList(items=tuple(f"Decision {d.id}: {d.summary}" for d in inputs.decisions)),
        ),
    )


def _roadmap_blocks(card: ReportCard) -> tuple[Paragraph | Table, ...]:
    columns = ("Area", *(GRADE_LABELS[g] for g in GRADES), "revised less ambitiously")
    areas = tuple(
        (a.label, *(str(a.counts.get(g, 0)) for g in GRADES), str(a.revised_less_ambitiously))
        for a in card.areas
    )
    goals = tuple(
        (
            g.goal,
            g.area,
            g.target.isoformat(),
            g.grade_label,
            "yes" if g.revised_less_ambitiously else "no",
        )
        for g in card.goals
    )
    return (
        Paragraph(
            text=f"The Frontier Safety Roadmap graded as of {card.as_of.isoformat()}: "
            f"{card.total} goal(s), {card.revised_less_ambitiously} revised less ambitiously."
        ),
        Table(caption="Roadmap grades per area", columns=columns, rows=areas),
        Table(
            caption="Roadmap goals",
            columns=("Goal", "Area", "Target", "Grade", "Revised less ambitiously"),
            rows=goals,
        ),
    )


def _roadmap(inputs: ReportInputs) -> Section:
    blocks: tuple[Paragraph | Table, ...]
    if inputs.roadmap is not None and inputs.roadmap.total:
        blocks = _roadmap_blocks(inputs.roadmap)
    else:
        blocks = (
            Paragraph(text=inputs.roadmap_note or "No roadmap goal is recorded in this workspace."),
        )
    return Section(id="roadmap", title="Frontier Safety Roadmap status", blocks=blocks)


def _overall_risk(inputs: ReportInputs) -> Section:
    return Section(
        id="overall-risk",
        title="Overall risk per domain",
        blocks=(
            Paragraph(
                text="For each domain, the most severe current state over its thresholds and the "
                "models covered (below < missing < alert < ambiguous < crossed; an override "
                "replaces the computed state; ambiguous counts as crossed where the framework "
                "says so) gives the level: crossed with a required safeguard not attested is "
                "high; crossed with every required safeguard attested, or ambiguous, is "
                "elevated; alert is moderate; missing evidence is unknown; all below is low."
            ),
            _risk_table(inputs, reasons=True),
        ),
    )
