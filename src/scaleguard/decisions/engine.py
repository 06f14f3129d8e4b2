"""Evaluate a requested action under a framework: the scaling decision, explained.

Rules, in order (documented in docs/decisions.md):

1. Each capability threshold is *crossed*, *below* or *unresolved*. Ambiguous
   determinations follow the framework's ambiguity policy; missing evidence is
   unresolved, never below (fail closed).
2. Each commitment that governs the action is a rule. Its trigger fires on
   crossed thresholds (optionally only where required or recommended safeguards
   are not attested); it is *unknown* when it would fire if an unresolved
   threshold turned out crossed.
3. Binding rules apply when they fire. Conditional rules apply when they fire
   and their condition holds; an unknown condition counts as holding for a
   restrictive rule and as failing for a relaxing one. Discretionary rules,
   goals and recommendations are reported, never applied.
4. A rule applied only because something was unknown is capped at ``delay``:
   the answer is "not yet, find out", not a final pause.
5. The outcome is the most severe applied effect; with none, ``proceed``, or
   ``proceed_with_conditions`` when anything is unmet, missing or obligatory.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from scaleguard.decisions.facts import CompetitorCache, FactValue, derive_facts, safeguards_fact
from scaleguard.decisions.model import (
    SEVERITY,
    Attestation,
    Counterfactual,
    Decision,
    DecisionInput,
    FactOut,
    Finding,
    Outcome,
    RuleOut,
    SafeguardOut,
    State,
    ThresholdOut,
    Treatment,
    Trigger,
)
from scaleguard.framework.conditions import Truth, describe, evaluate, facts_named
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import Commitment, RequiredSafeguard, SafeguardStandard, Threshold

_SEVERITY_NAMES = {v: k for k, v in SEVERITY.items()}


def is_required(req: RequiredSafeguard) -> bool:
    """Binding, developer-side requirements block; industry recommendations do not."""
    return req.force == "binding" and req.scope != "industry_wide"


def is_recommended(req: RequiredSafeguard) -> bool:
    """Recommendations (industry-wide or not). Goals, discretionary and conditional
    safeguards are neither required nor recommended: reported as conditions only."""
    return req.force == "recommendation"


@dataclass
class _Eval:
    outcome: Outcome
    thresholds: list[ThresholdOut]
    rules: list[RuleOut]
    facts: dict[str, FactValue]
    triggered: list[Threshold]
    unresolved: list[Threshold]
    conditions: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    #: rules set aside by a relaxing rule whose condition holds: rule id -> relaxing rule id
    set_aside: dict[str, str] = field(default_factory=dict)


def decide(fw: LoadedFramework, inp: DecisionInput) -> Decision:
    """The decision for ``inp`` under ``fw``, with explanation and counterfactuals."""
    cache: CompetitorCache = {}
    base = _evaluate(fw, inp, {}, cache=cache)
    deciding = _deciding_rules(base)
    return Decision(
        framework=fw.ref,
        framework_digest=fw.digest,
        model=inp.model.name,
        action=inp.action,
        as_of=inp.as_of.isoformat() if inp.as_of else None,
        outcome=base.outcome,
        summary=_summary(fw, inp, base, deciding),
        deciding_rules=[r.commitment for r in deciding],
        conditions=base.conditions,
        missing=base.missing,
        facts=[
            FactOut(name=f.name, value=f.value, basis=f.basis, sources=list(f.sources))
            for f in sorted(base.facts.values(), key=lambda f: f.name)
        ],
        thresholds=base.thresholds,
        rules=base.rules,
        what_would_change=_counterfactuals(fw, inp, base, cache),
    )


def _evaluate(
    fw: LoadedFramework,
    inp: DecisionInput,
    fact_overrides: dict[str, bool | None],
    *,
    explain: bool = True,
    cache: CompetitorCache | None = None,
) -> _Eval:
    """One evaluation; ``explain=False`` skips building the per-threshold explanation
    (the counterfactual search needs only the outcome)."""
    doc = fw.doc
    standards = {s.id: s for s in doc.safeguard_standards}
    thresholds_out: list[ThresholdOut] = []
    triggered: list[Threshold] = []
    unresolved: list[Threshold] = []
    missing: list[str] = []
    conditions: list[str] = []

    for t in doc.thresholds:
        finding = inp.findings.get(t.id) or Finding(t.id, "missing")
        treated, reason = _treat(fw, t, finding)
        if treated == "crossed":
            triggered.append(t)
        elif treated == "unresolved":
            unresolved.append(t)
            if finding.state == "missing":
                missing.append(f"{t.id}: no evidence for this threshold")
        if finding.state == "alert" and treated == "below":
            conditions.append(f"{t.id} is inside its early-warning band: plan the next assessment")
        if not explain:
            continue
        required = [_safeguard_out(req, standards, inp.attested) for req in t.required_safeguards]
        thresholds_out.append(
            ThresholdOut(
                id=t.id,
                name=t.name,
                domain=t.domain,
                kind=t.kind,
                state=finding.state,
                treated_as=treated,
                reason=reason,
                estimate=finding.estimate,
                low=finding.low,
                high=finding.high,
                indicator=finding.indicator,
                evidence_ids=list(finding.evidence_ids),
                override_by=finding.override_by,
                required=required,
            )
        )

    req_unmet = _unmet(triggered, inp.attested, required=True)
    rec_unmet = _unmet(triggered, inp.attested, required=False)
    domains = _domains(triggered or unresolved)
    highly_capable, lead_domains = _highly_capable(fw, triggered, unresolved)
    # nothing known is never "met": unresolved thresholds make these facts unknown
    req_met, req_basis = safeguards_fact(
        req_unmet, _unmet(unresolved, inp.attested, required=True), "required"
    )
    rec_met, rec_basis = safeguards_fact(
        rec_unmet, _unmet(unresolved, inp.attested, required=False), "recommended"
    )
    facts = derive_facts(
        inp,
        domains,
        doc.framework.comparability_margin,
        required_met=req_met,
        recommended_met=rec_met,
        required_basis=req_basis,
        recommended_basis=rec_basis,
        cache=cache,
        highly_capable=highly_capable,
        lead_domains=lead_domains,
    )
    for name, value in fact_overrides.items():
        facts[name] = FactValue(name, value, "assumed for this what-if")
    values = {name: f.value for name, f in facts.items()}

    governing = [c for c in doc.commitments if inp.action in c.applies_to]
    relaxed: dict[str, str] = {}
    for c in governing:
        if c.outcome == "relax_safeguards" and c.force == "conditional":
            fired, _ = _trigger(c, triggered, unresolved, standards, inp.attested)
            cond = fw.conditions.get(c.id)
            if fired == "fired" and cond is not None and evaluate(cond, values) is Truth.TRUE:
                for target in c.relaxes:
                    relaxed[target] = c.id

    rules: list[RuleOut] = []
    severity = 0
    for c in governing:
        rule = _rule(fw, c, triggered, unresolved, standards, inp.attested, facts, relaxed)
        rules.append(rule)
        if rule.applied and rule.effect in SEVERITY:
            severity = max(severity, SEVERITY[rule.effect])
        elif rule.applied:
            conditions.append(f"{c.id}: {c.name}")

    for t in triggered:
        for req in t.required_safeguards:
            # every unattested safeguard of a crossed threshold is named, whatever its
            # force: a goal or recommendation never blocks, but it is never silent either
            if req.standard not in inp.attested:
                name = standards[req.standard].name
                conditions.append(f"{t.id}: {req.force} {name} ({req.standard}) is not attested")
    if missing and severity < SEVERITY["proceed_with_conditions"]:
        conditions.append("evidence is missing for some thresholds (see 'missing')")
    outcome = _SEVERITY_NAMES[severity]
    if outcome == "proceed" and conditions:
        outcome = "proceed_with_conditions"
    return _Eval(
        outcome=outcome,  # type: ignore[arg-type]
        thresholds=thresholds_out,
        rules=rules,
        facts=facts,
        triggered=triggered,
        unresolved=unresolved,
        conditions=_dedupe(conditions),
        missing=missing,
        set_aside={rid: by for rid, by in relaxed.items() if rid in {c.id for c in governing}},
    )


def _treat(fw: LoadedFramework, t: Threshold, f: Finding) -> tuple[Treatment, str]:
    override = f" (override by {f.override_by}: {f.override_reason})" if f.override_by else ""
    if t.kind != "threshold":
        return "not a trigger", f"a {t.kind}: reported, it does not trigger safeguards" + override
    interval = ""
    if f.low is not None and f.high is not None and f.estimate is not None:
        interval = f" (estimate {f.estimate:.3g}, interval {f.low:.3g}–{f.high:.3g})"
    if f.state == "crossed":
        return "crossed", "the evidence crosses the threshold" + interval + override
    if f.state in ("below", "alert"):
        band = " but inside the early-warning band" if f.state == "alert" else ""
        return "below", f"the evidence is below the threshold{band}" + interval + override
    if f.state == "ambiguous":
        policy = t.ambiguity_policy or fw.doc.framework.ambiguity_policy
        where = ""
        src = fw.doc.framework.ambiguity_source
        if src is not None:
            where = f" ({src.section})"
        if policy == "treat_as_crossed":
            return "crossed", (
                "the interval straddles the threshold and the framework says to act as "
                f"though it were crossed{where}" + interval + override
            )
        return "unresolved", (
            "the interval straddles the threshold and the framework leaves ambiguity to "
            "review: resolve it with more evidence or an override" + interval + override
        )
    return "unresolved", "no evidence for this threshold: it cannot be treated as below"


def _safeguard_out(
    req: RequiredSafeguard,
    standards: dict[str, SafeguardStandard],
    attested: dict[str, Attestation],
) -> SafeguardOut:
    std = standards[req.standard]
    att = attested.get(req.standard)
    return SafeguardOut(
        standard=req.standard,
        name=std.name,
        kind=std.kind,
        force=req.force,
        scope=req.scope,
        attested=att is not None,
        attested_by=att.attested_by if att else None,
        evidence_url=att.evidence_url if att else None,
    )


def _unmet(
    thresholds: Iterable[Threshold],
    attested: dict[str, Attestation],
    *,
    required: bool,
    kinds: Iterable[str] = (),
    standards: dict[str, SafeguardStandard] | None = None,
) -> list[tuple[str, str]]:
    kinds = set(kinds)
    out = []
    for t in thresholds:
        for req in t.required_safeguards:
            wanted = is_required(req) if required else is_recommended(req)
            if not wanted or req.standard in attested:
                continue
            if kinds and standards is not None and standards[req.standard].kind not in kinds:
                continue
            out.append((t.id, req.standard))
    return out


def _highly_capable(
    fw: LoadedFramework, triggered: list[Threshold], unresolved: list[Threshold]
) -> tuple[FactValue | None, list[str] | None]:
    """The fact ``highly_capable`` from the framework's own definition, and the domains
    where "such a model" is compared with competitors' (None: the framework has no
    definition, so the fact is not derived and the lead is measured where thresholds
    are crossed)."""
    decl = fw.doc.framework.highly_capable
    if decl is None:
        named = any("highly_capable" in facts_named(c) for c in fw.conditions.values())
        if not named:
            return None, None
        return FactValue(
            "highly_capable",
            None,
            "the framework names highly_capable in a condition but does not define it "
            "(framework.highly_capable), so it is unknown",
        ), None
    defining = [t for t in fw.doc.thresholds if t.id in decl.thresholds]
    where = f"{decl.source.section} — {fw.source_url(decl.source)}"
    crossed = [t.id for t in triggered if t.id in decl.thresholds]
    open_ = [t.id for t in unresolved if t.id in decl.thresholds]
    names = ", ".join(decl.thresholds)
    if crossed:
        value: bool | None = True
        basis = (
            f"{', '.join(crossed)} is crossed; the framework defines a highly capable "
            f"model as one crossing {names}"
        )
    elif open_:
        value = None
        basis = (
            f"{', '.join(open_)} is unresolved (evidence missing or ambiguous), so whether "
            f"the model is highly capable in the framework's sense ({names}) is unknown"
        )
    else:
        value = False
        basis = (
            f"{names} is not crossed, so the model is not highly capable in the framework's sense"
        )
    fact = FactValue("highly_capable", value, f"{basis} ({where})")
    return fact, _domains(defining)


def _domains(thresholds: Iterable[Threshold]) -> list[str]:
    out: list[str] = []
    for t in thresholds:
        if t.domain not in out:
            out.append(t.domain)
    return out


def _in_scope(c: Commitment, t: Threshold) -> bool:
    if t.kind != "threshold":
        return False
    if c.trigger.thresholds and t.id not in c.trigger.thresholds:
        return False
    return not (c.trigger.domains and t.domain not in c.trigger.domains)


def _trigger(
    c: Commitment,
    triggered: list[Threshold],
    unresolved: list[Threshold],
    standards: dict[str, SafeguardStandard],
    attested: dict[str, Attestation],
) -> tuple[Trigger, str]:
    when = c.trigger.when
    if when == "always":
        return "fired", "applies whenever this action is taken"
    crossed = [t for t in triggered if _in_scope(c, t)]
    open_ = [t for t in unresolved if _in_scope(c, t)]
    if when == "threshold_crossed":
        if crossed:
            return "fired", "crossed: " + ", ".join(t.id for t in crossed)
        if open_:
            return "unknown", "unresolved: " + ", ".join(t.id for t in open_)
        return "not fired", "no threshold in its scope is crossed"
    required = when == "required_safeguards_unmet"
    what = "required" if required else "recommended"
    kinds = c.trigger.safeguard_kinds
    unmet = _unmet(crossed, attested, required=required, kinds=kinds, standards=standards)
    if unmet:
        return "fired", f"{what} safeguards not attested: " + ", ".join(
            f"{s} (for {t})" for t, s in unmet
        )
    maybe = _unmet(open_, attested, required=required, kinds=kinds, standards=standards)
    if maybe:
        return "unknown", (
            "would fire if an unresolved threshold is crossed: "
            + ", ".join(f"{s} (for {t}) not attested" for t, s in maybe)
        )
    if crossed:
        return "not fired", f"every {what} safeguard of the crossed thresholds is attested"
    return "not fired", "no threshold in its scope is crossed"


def _rule(
    fw: LoadedFramework,
    c: Commitment,
    triggered: list[Threshold],
    unresolved: list[Threshold],
    standards: dict[str, SafeguardStandard],
    attested: dict[str, Attestation],
    facts: dict[str, FactValue],
    relaxed: dict[str, str],
) -> RuleOut:
    values = {name: f.value for name, f in facts.items()}
    fired, detail = _trigger(c, triggered, unresolved, standards, attested)
    cond = fw.conditions.get(c.id)
    truth = evaluate(cond, values) if cond is not None else None
    cond_text = describe(cond) if cond is not None else None
    source = f"{c.source.section} — {fw.source_url(c.source)}"
    effect: str | None = c.outcome
    applied = False
    restrictive = c.outcome is not None and c.outcome != "relax_safeguards"

    if c.id in relaxed:
        reason = f"set aside by {relaxed[c.id]}, whose condition holds"
    elif c.force in ("discretionary", "goal", "recommendation"):
        verb = {
            "discretionary": "left to the developer's judgment",
            "goal": "a goal",
            "recommendation": "a recommendation",
        }[c.force]
        reason = f"{verb}: reported, not applied"
        if truth is not None:
            reason += f"; its condition is {truth.value}"
    elif fired == "not fired":
        reason = f"does not fire: {detail}"
    elif c.force == "binding" or truth is Truth.TRUE or (truth is Truth.UNKNOWN and restrictive):
        applied = True
        reason = f"fires: {detail}"
        if c.force == "conditional":
            reason += f"; condition {cond_text} is {truth.value if truth else '?'}"
            if truth is Truth.UNKNOWN:
                reason += " (unknown facts count as holding for a restrictive rule: fail closed)"
        uncertain = fired == "unknown" or truth is Truth.UNKNOWN
        if uncertain and effect in SEVERITY and SEVERITY[effect] > SEVERITY["delay"]:
            effect = "delay"
            reason += "; capped at delay until the unknowns are resolved"
    else:
        reason = (
            f"fires ({detail}) but its condition {cond_text} is {truth.value if truth else '?'}"
        )
        if cond is not None:
            reason += ": " + "; ".join(_explain_fact(name, facts) for name in facts_named(cond))
    return RuleOut(
        commitment=c.id,
        name=c.name,
        kind=c.kind,
        force=c.force,
        scope=c.scope,
        source=source,
        trigger=fired if c.outcome is not None or c.trigger.when != "always" else "n/a",
        trigger_detail=detail,
        condition=cond_text,
        condition_value=truth.value if truth is not None else None,
        applied=applied,
        effect=effect if applied else None,
        reason=reason,
    )


def _explain_fact(name: str, facts: dict[str, FactValue]) -> str:
    fact = facts.get(name)
    if fact is None:
        return f"{name} is unknown (nothing establishes it)"
    return f"{name} is {_fmt(fact.value)} because {fact.basis}"


def _fmt(value: bool | float | None) -> str:
    return (
        "unknown"
        if value is None
        else str(value).lower()
        if isinstance(value, bool)
        else f"{value:g}"
    )


def _deciding_rules(ev: _Eval) -> list[RuleOut]:
    if SEVERITY[ev.outcome] >= SEVERITY["delay"]:
        return [r for r in ev.rules if r.applied and r.effect == ev.outcome]
    # Nothing blocks: the deciding rules are those that fired but did not apply
    # because a condition failed or another rule set them aside.
    return [
        r
        for r in ev.rules
        if not r.applied
        and r.trigger == "fired"
        and r.force in ("conditional", "binding")
        and (r.condition_value == "false" or r.commitment in ev.set_aside)
    ]


def _summary(fw: LoadedFramework, inp: DecisionInput, ev: _Eval, deciding: list[RuleOut]) -> str:
    head = (
        f"{ev.outcome.replace('_', ' ').upper()}: {inp.action.replace('_', ' ')} "
        f"of {inp.model.name} under {fw.ref}"
    )
    if deciding:
        parts = []
        for r in deciding:
            label = f"{r.commitment} ({r.force}, {r.scope.replace('_', '-')})"
            cond = fw.conditions.get(r.commitment)
            why = (
                "; ".join(_explain_fact(n, ev.facts) for n in facts_named(cond))
                if cond is not None
                else r.trigger_detail
            )
            if r.applied:
                parts.append(f"{label} applies: {why}")
            elif r.commitment in ev.set_aside:
                parts.append(f"{label} does not apply: {r.reason}")
            else:
                parts.append(f"{label} does not apply: {why}")
        return head + ". " + ". ".join(parts) + "."
    if ev.missing:
        return head + " — evidence missing: " + "; ".join(ev.missing)
    if not ev.triggered:
        return head + " — no capability threshold is crossed"
    return head + " — every rule that fires is satisfied"


def _counterfactuals(
    fw: LoadedFramework,
    inp: DecisionInput,
    base: _Eval,
    cache: CompetitorCache,
) -> list[Counterfactual]:
    out: dict[str, Outcome] = {}

    def attempt(change: str, new_inp: DecisionInput, overrides: dict[str, bool | None]) -> None:
        # what-ifs change attestations, findings or facts, never the registry: the
        # comparable-competitor cache stays valid whenever the model is the same
        same = new_inp.model is inp.model and new_inp.others is inp.others
        outcome = _evaluate(
            fw, new_inp, overrides, explain=False, cache=cache if same else None
        ).outcome
        if outcome != base.outcome and change not in out:
            out[change] = outcome

    unmet = sorted(
        {
            req.standard
            for t in base.triggered + base.unresolved
            for req in t.required_safeguards
            if req.standard not in inp.attested
        }
    )
    for std in unmet:
        att = dict(inp.attested)
        att[std] = Attestation(std, "(what-if)", "")
        attempt(
            f"attest safeguard standard {std} for {inp.model.name}", replace(inp, attested=att), {}
        )
    if len(unmet) > 1:
        att = dict(inp.attested)
        for std in unmet:
            att[std] = Attestation(std, "(what-if)", "")
        attempt(
            "attest every missing safeguard standard: " + ", ".join(unmet),
            replace(inp, attested=att),
            {},
        )
    for t in base.unresolved + base.triggered:
        states: tuple[State, ...] = ("below", "crossed")
        for state in states:
            current = inp.findings.get(t.id)
            if current is not None and current.state == state:
                continue
            findings = dict(inp.findings)
            findings[t.id] = Finding(t.id, state)
            attempt(f"new evidence showing {t.id} {state}", replace(inp, findings=findings), {})
    named: list[str] = []
    for r in base.rules:
        cond = fw.conditions.get(r.commitment)
        if cond is not None:
            named.extend(n for n in facts_named(cond) if n not in named)
    for name in named:
        known = base.facts.get(name)
        value = known.value if known else None
        for alt in (True, False):
            if value is alt or not isinstance(value, bool | None):
                continue
            attempt(f"{name} were {str(alt).lower()}", inp, {name: alt})
    return [Counterfactual(change=k, outcome=v) for k, v in out.items()]


def _dedupe(items: list[str]) -> list[str]:
    seen: list[str] = []
    for item in items:
        if item not in seen:
            seen.append(item)
    return seen
