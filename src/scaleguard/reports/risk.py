"""Overall risk per risk domain: a documented, conservative summary rule.

This is a headline derived from the determinations, not a substitute for the
report's analysis. For each domain of the framework, over every threshold in
the domain and every model the report covers, take the most severe current
state (an override replaces the computed state), ranked

    below < missing < alert < ambiguous < crossed

so that missing evidence is never read as "low". An ambiguous state counts as
crossed when the framework (or the threshold) says ambiguity is treated as
crossed. The level is then:

* ``high``      - crossed, and some required safeguard of a crossed threshold
  is not attested for a model that crossed it;
* ``elevated``  - crossed with every required safeguard attested, or ambiguous;
* ``moderate``  - alert (inside the early-warning band);
* ``unknown``   - some threshold has no evidence, and nothing is worse;
* ``low``       - every threshold has evidence and all are below;
* ``not assessed`` - the framework excludes the domain, or it has no thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass

from scaleguard.determinations.state import State, severity
from scaleguard.reports.inputs import DeterminationInfo, ReportInputs

_KNOWN = frozenset(s.value for s in State)

LEVELS = ("low", "unknown", "moderate", "elevated", "high", "not assessed")


@dataclass(frozen=True)
class DomainRisk:
    domain: str
    name: str
    level: str
    worst_state: str | None
    reasons: tuple[str, ...]


def _state(d: DeterminationInfo, treat_ambiguous_as_crossed: bool) -> str:
    state = d.effective_state
    if state not in _KNOWN:
        state = "missing"
    if state == "ambiguous" and treat_ambiguous_as_crossed:
        return "crossed"
    return state


def domain_risks(inputs: ReportInputs) -> list[DomainRisk]:
    """The risk level of every domain of the framework, in framework order."""
    covered = {m.name for m in inputs.covered}
    attested = {(s.model, s.standard) for s in inputs.safeguards}
    out: list[DomainRisk] = []
    for domain in inputs.domains:
        thresholds = [t for t in inputs.thresholds if t.domain == domain.id]
        if domain.status == "excluded":
            out.append(
                DomainRisk(
                    domain.id, domain.name, "not assessed", None, ("excluded by the framework",)
                )
            )
            continue
        if not thresholds:
            out.append(
                DomainRisk(
                    domain.id,
                    domain.name,
                    "not assessed",
                    None,
                    ("the framework sets no thresholds",),
                )
            )
            continue
        worst = "below"
        reasons: list[str] = []
        unmet: list[str] = []
        for t in thresholds:
            policy = t.ambiguity_policy or inputs.framework_ambiguity_policy
            as_crossed = policy == "treat_as_crossed"
            for model in sorted(covered):
                dets = [
                    d for d in inputs.determinations if d.model == model and d.threshold_id == t.id
                ]
                states = [_state(d, as_crossed) for d in dets] or ["missing"]
                state = max(states, key=severity)
                if severity(state) > severity(worst):
                    worst = state
                if state != "below":
                    reasons.append(f"{model}: {t.name} is {state}")
                if state == "crossed":
                    missing = [s for s in t.required_safeguards if (model, s) not in attested]
                    unmet.extend(f"{model} lacks {s}" for s in missing)
        level = {
            "below": "low",
            "missing": "unknown",
            "alert": "moderate",
            "ambiguous": "elevated",
            "crossed": "high" if unmet else "elevated",
        }[worst]
        if worst == "crossed":
            reasons.append(
                "required safeguards not attested: " + "; ".join(unmet)
                if unmet
                else "every required safeguard of the crossed thresholds is attested"
            )
        if worst == "below":
            reasons.append("every threshold has evidence and all are below")
        out.append(DomainRisk(domain.id, domain.name, level, worst, tuple(reasons)))
    return out
