"""The vocabulary of facts that commitment conditions may name.

A conditional commitment ("delay if we are in the lead") is only checkable if
the facts it mentions have a fixed meaning and a known way to be established.
Built-in facts are derived by the decision engine from the workspace (the model
registry, determinations, attestations); a framework may declare extra facts,
which must then be asserted in the workspace with a source. Naming a fact that
is neither built in nor declared is a validation error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FactType = Literal["boolean", "number"]


@dataclass(frozen=True)
class FactSpec:
    name: str
    type: FactType
    description: str
    derived_from: str


BUILTIN_FACTS: dict[str, FactSpec] = {
    spec.name: spec
    for spec in (
        FactSpec(
            "competitor_released_comparable",
            "boolean",
            "Another developer has publicly released a model whose capability in the "
            "domains at stake is comparable to (within the comparability margin of) or "
            "above the subject model's.",
            "model registry: released models of other developers, per-domain scores",
        ),
        FactSpec(
            "developer_leads",
            "boolean",
            "The subject model is ahead, by more than the comparability margin, of every model "
            "of other developers that is released or in development (registry status planned, "
            "training or internal: one that will soon exist), in the lead domains: those of the "
            "thresholds defining 'highly capable' when the framework defines it, else the "
            "domains at stake.",
            "model registry: the subject against released and in-development competitor models",
        ),
        FactSpec(
            "competitor_without_comparable_safeguards",
            "boolean",
            "A competitor has released a comparable or superior model without safeguards "
            "comparable to those the framework requires.",
            "model registry: competitor models and their recorded safeguard level",
        ),
        FactSpec(
            "all_competitors_strong_safeguards",
            "boolean",
            "Every competitor with a comparable or superior model in the lead domains, released "
            "or in development, is recorded as having strong safeguards (able to make a strong "
            "risk-containment argument); false when there is none.",
            "model registry: competitor models and their recorded safeguard level",
        ),
        FactSpec(
            "competitor_superior_mitigation",
            "boolean",
            "A competitor has a mitigation recorded as a significant improvement on the "
            "developer's analogous mitigation.",
            "workspace facts asserted with a source",
        ),
        FactSpec(
            "highly_capable",
            "boolean",
            "The subject model has crossed a threshold the framework lists under "
            "framework.highly_capable (RSP 3.x: automated R&D); unknown while one is unresolved.",
            "determinations of the subject model (never an assertion)",
        ),
        FactSpec(
            "required_safeguards_met",
            "boolean",
            "Every safeguard standard the framework binds the developer to for the crossed "
            "thresholds is attested for the subject model.",
            "safeguard attestations of the subject model",
        ),
        FactSpec(
            "recommended_safeguards_met",
            "boolean",
            "Every industry-wide recommended safeguard for the crossed thresholds is "
            "attested for the subject model.",
            "safeguard attestations of the subject model",
        ),
        FactSpec(
            "marginal_risk_small",
            "boolean",
            "The developer has recorded an assessment that its own action adds little risk "
            "over what competitors' released models already pose.",
            "workspace facts asserted with a source",
        ),
        FactSpec(
            "risk_not_meaningfully_increased",
            "boolean",
            "An assessment is recorded that an adjustment does not meaningfully increase "
            "the overall risk of severe harm.",
            "workspace facts asserted with a source",
        ),
        FactSpec(
            "adjustment_publicly_acknowledged",
            "boolean",
            "The developer has publicly acknowledged that it is adjusting its safeguards.",
            "workspace facts asserted with a source",
        ),
        FactSpec(
            "safeguards_more_protective_than_competitor",
            "boolean",
            "The developer's safeguards stay more protective than the competitor's that "
            "prompted an adjustment.",
            "workspace facts asserted with a source",
        ),
        FactSpec(
            "effective_compute_multiple",
            "number",
            "Effective compute of the subject model as a multiple of the last "
            "comprehensively assessed model in its lineage.",
            "model registry: effective compute along the lineage",
        ),
        FactSpec(
            "months_since_last_assessment",
            "number",
            "Calendar months since the last comprehensive capability assessment of the "
            "subject model's lineage.",
            "decisions and determinations on record",
        ),
    )
}
