"""The classification rules: orders, the rule registry, and small rule helpers.

Every finding names the rule that produced it. :data:`RULES` lists them all,
and ``docs/diff.md`` documents each one (a test keeps the two in step). The
helpers here are written so that each rule is antisymmetric: comparing B with A
gives the mirror of comparing A with B (strengthening and weakening swapped).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from scaleguard.diff.model import Classification, FieldChange, Finding, mirror_classification
from scaleguard.framework.durations import Duration

#: binding > conditional > goal > recommendation > discretionary.
FORCE_RANK: dict[str, int] = {
    "binding": 4,
    "conditional": 3,
    "goal": 2,
    "recommendation": 1,
    "discretionary": 0,
}
#: Forces under which a developer is held to something (a removal of these weakens).
COMMITTING_FORCES = frozenset({"binding", "conditional", "goal"})
#: unilateral is strongest; competitor-contingent and industry-wide are both weaker, unordered.
SCOPE_RANK: dict[str, int] = {"unilateral": 1, "competitor_contingent": 0, "industry_wide": 0}
#: What a gate does to the action: stop > delay > proceed with conditions > nothing > relax.
OUTCOME_RANK: dict[str, int] = {
    "not_permitted": 4,
    "pause": 4,
    "delay": 3,
    "proceed_with_conditions": 2,
    "none": 1,
    "relax_safeguards": 0,
}
DOMAIN_STATUS_RANK: dict[str, int] = {"in_scope": 2, "monitored": 1, "excluded": 0}
THRESHOLD_KIND_RANK: dict[str, int] = {"threshold": 2, "checkpoint": 1, "monitored": 0}
AMBIGUITY_RANK: dict[str, int] = {"treat_as_crossed": 1, "needs_review": 0}
RELATION_RANK: dict[str, int] = {"equivalent": 3, "approximate": 2, "recommended": 1, "cites": 0}
#: A trigger "always" fires in every case; the other triggers are not ordered.
TRIGGER_ON_RANK: dict[str, int] = {
    "always": 1,
    "threshold_crossed": 0,
    "required_safeguards_unmet": 0,
    "recommended_safeguards_unmet": 0,
}
#: Commitment kinds that oblige the developer to tell or show someone something.
OBLIGATION_KINDS = frozenset(
    {
        "reporting",
        "external_review",
        "disclosure",
        "roadmap",
        "noncompliance",
        "internal_transparency",
    }
)
GATE_KINDS = frozenset({"development_gate", "deployment_gate"})
STOPPING_OUTCOMES = frozenset({"not_permitted", "pause", "delay"})

REVIEW_BY_HAND = "review by hand"

#: rule id -> (classification in words, when it applies). Rendered in docs/diff.md.
RULES: dict[str, tuple[str, str]] = {
    # presence of whole elements
    "risk_domain.presence": (
        "removed: weakening; added: strengthening; excluded domain: neutral",
        "a risk domain in scope or monitored is coverage",
    ),
    "threshold.presence": ("removed: weakening; added: strengthening", "thresholds are coverage"),
    "threshold.renamed": ("neutral", "paired through legacy_aliases; the id changed"),
    "element.restructured": (
        "neutral",
        "merged_from / split_from pairs the parts with the merged or divided element; "
        "each part is then compared with it field by field",
    ),
    "threshold.lower_bar": (
        "merge: weakening; split: strengthening",
        "parts of a merge or split at a level below the bar the single threshold keeps: "
        "a merge drops that bar, a split adds it",
    ),
    "safeguard_standard.presence": (
        "weakening / strengthening if a threshold binds it, else neutral",
        "a standard only matters when a threshold requires it at binding or conditional force",
    ),
    "commitment.presence": (
        "removed: weakening; added: strengthening; non-binding: neutral; "
        "relax_safeguards: reversed",
        "binding, conditional or goal commitments, and any reporting-type obligation",
    ),
    "cadence.presence": (
        "removed: weakening; added: strengthening; non-binding: neutral",
        "a recurring obligation",
    ),
    "governance_role.presence": ("removed: weakening; added: strengthening", "accountability"),
    "red_line.presence": ("removed: weakening; added: strengthening", "a prohibited use"),
    "external_review.presence": ("removed: weakening; added: strengthening", "outside scrutiny"),
    "fact.presence": ("neutral", "vocabulary only; the conditions using it are compared"),
    # shared element fields
    "element.metadata": (
        "neutral",
        "only labels or provenance changed (name, source, confidence, uncertainty, notes)",
    ),
    "element.description": ("unclear", "definition text changed; review by hand"),
    "field.unrecognised": ("unclear", "a field without a rule changed; review by hand"),
    # framework
    "framework.id": ("neutral", "different frameworks: a cross-framework comparison"),
    "framework.ambiguity_policy": (
        "treat_as_crossed > needs_review",
        "how a straddling confidence interval is treated",
    ),
    "framework.highly_capable": (
        "unclear",
        "the thresholds that define a highly capable model changed; the conditions naming "
        "highly_capable then turn on other thresholds",
    ),
    "framework.comparability_margin": (
        "larger: weakening; smaller: strengthening",
        "a wider margin makes competitors count as comparable more easily and the lead rarer",
    ),
    # risk domains
    "risk_domain.status": ("in_scope > monitored > excluded", "moving down narrows coverage"),
    # thresholds
    "threshold.domain": ("unclear", "the threshold moved to another risk domain"),
    "threshold.kind": ("threshold > checkpoint > monitored", "what crossing it triggers"),
    "threshold.level": (
        "lowered: strengthening; raised: weakening; with changed safeguards: unclear",
        "the same safeguards at a lower level apply earlier",
    ),
    "threshold.ambiguity_policy": (
        "treat_as_crossed > needs_review",
        "compared after applying the framework default",
    ),
    "threshold.response": ("unclear", "response text changed; review by hand"),
    "indicator.presence": (
        "removed: weakening; added: strengthening",
        "fewer measurements watch the threshold",
    ),
    "indicator.threshold": (
        "harder to cross: weakening; easier: strengthening",
        "direction from the comparator",
    ),
    "indicator.early_warning": (
        "later warning: weakening; earlier: strengthening",
        "direction from the comparator; removing the band weakens",
    ),
    "indicator.definition": ("unclear", "task, metric, comparator or description changed"),
    "required_safeguard.presence": (
        "removed: weakening; added: strengthening; non-binding: neutral",
        "binding, conditional or goal safeguards",
    ),
    "required_safeguard.force": (
        "binding > conditional > goal > recommendation > discretionary",
        "a demoted safeguard weakens",
    ),
    "required_safeguard.scope": (
        "unilateral > competitor_contingent / industry_wide",
        "made contingent on others weakens",
    ),
    # safeguard standards
    "safeguard_standard.kind": ("unclear", "the standard changed category"),
    "safeguard_standard.level": ("raised: strengthening; lowered: weakening", "ordinal level"),
    "safeguard_standard.measures": (
        "removed: weakening; added: strengthening",
        "compared as a set; reworded measures read as one removed and one added",
    ),
    "safeguard_standard.specified": (
        "deferred: weakening; specified: strengthening",
        "named but its content deferred",
    ),
    "external_reference.presence": ("neutral", "a cross-reference to an outside scheme"),
    "external_reference.relation": (
        "equivalent > approximate > recommended > cites",
        "how closely the standard matches the outside level",
    ),
    # commitments
    "commitment.force": (
        "binding > conditional > goal > recommendation > discretionary",
        "moving down weakens, up strengthens",
    ),
    "commitment.scope": (
        "unilateral > competitor_contingent / industry_wide",
        "made contingent on others weakens",
    ),
    "commitment.kind": ("unclear", "the commitment changed kind"),
    "commitment.outcome": (
        "not_permitted = pause > delay > proceed_with_conditions > none > relax_safeguards",
        "what the gate does to the action",
    ),
    "commitment.applies_to": (
        "fewer actions: weakening; more: strengthening (reversed for relax_safeguards)",
        "compared as a set",
    ),
    "commitment.trigger": (
        "fires in fewer cases: weakening; more: strengthening (reversed for relax_safeguards)",
        "trigger.when (always is widest) and its threshold, domain and kind lists "
        "(an empty list means no restriction)",
    ),
    "commitment.condition": (
        "added or narrower: weakening; removed or wider: strengthening; otherwise unclear",
        "a condition limits when the commitment applies (reversed for relax_safeguards)",
    ),
    "commitment.relaxes": (
        "more commitments set aside: weakening; fewer: strengthening",
        "for outcome relax_safeguards",
    ),
    # cadences
    "cadence.force": (
        "binding > conditional > goal > recommendation > discretionary",
        "moving down weakens",
    ),
    "cadence.interval": ("longer: weakening; shorter: strengthening", "longest allowed gap"),
    "cadence.min_interval": ("neutral", "the lower end of a range; the longest gap binds"),
    "cadence.compute_multiple": (
        "larger: weakening; smaller: strengthening",
        "more compute growth before a reassessment",
    ),
    "cadence.deadline": ("longer: weakening; shorter: strengthening", "time to finish"),
    "cadence.artifact": ("unclear", "the recurring artifact changed"),
    # governance, red lines, external review, facts
    "governance_role.holder": ("unclear", "who holds the role changed; review by hand"),
    "governance_role.responsibilities": (
        "removed: weakening; added: strengthening",
        "compared as a set",
    ),
    "red_line.waivable": ("waivable: weakening; not waivable: strengthening", "contract waivers"),
    "red_line.applies_to": ("unclear", "scope text changed; review by hand"),
    "external_review.trigger": ("unclear", "trigger text changed; review by hand"),
    "external_review.criteria": (
        "removed: weakening; added: strengthening",
        "reviewer and conflict-of-interest criteria, compared as sets",
    ),
    "external_review.timing": (
        "longer: weakening; shorter: strengthening",
        "share_within, commentary_within",
    ),
    "fact.definition": ("unclear", "the fact's type or description changed"),
}


def dump(value: Any) -> Any:
    """A JSON-ready rendering of a model value (durations as their ISO text)."""
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, Duration):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [dump(v) for v in value]
    if isinstance(value, dict):
        return {str(k): dump(v) for k, v in value.items()}
    return value


def fc(path: str, old: Any, new: Any) -> FieldChange:
    return FieldChange(path, dump(old), dump(new))


def orient(c: Classification, polarity: int) -> Classification:
    """Apply a polarity: -1 for clauses that loosen obligations (relax_safeguards)."""
    return c if polarity > 0 else mirror_classification(c)


def show(value: Any) -> str:
    """Short text for a value inside a one-line reason."""
    if value is None:
        return "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def ranked(
    rule: str,
    path: str,
    old: Any,
    new: Any,
    ranks: Mapping[str, int],
    what: str,
    *,
    polarity: int = 1,
    critical_if_weaker: bool = False,
    words: tuple[str, str] = ("lowered", "raised"),
) -> Finding:
    """Compare two values on an order: moving down weakens, moving up strengthens."""
    o, n = ranks[show(old)], ranks[show(new)]
    if n < o:
        cls: Classification = orient("weakening", polarity)
        reason = f"{what} {words[0]} from {show(old)} to {show(new)}"
    elif n > o:
        cls = orient("strengthening", polarity)
        reason = f"{what} {words[1]} from {show(old)} to {show(new)}"
    else:
        cls = "unclear"
        reason = f"{what} changed from {show(old)} to {show(new)}; neither ranks above the other"
    return Finding(
        rule,
        cls,
        reason,
        (fc(path, old, new),),
        critical=critical_if_weaker and cls == "weakening",
    )


def longer_weakens(rule: str, path: str, old: Any, new: Any, what: str) -> Finding:
    """Durations and multiples where a larger value gives the developer more room."""
    if old is None:
        return Finding(rule, "strengthening", f"{what} {show(new)} added", (fc(path, old, new),))
    if new is None:
        return Finding(rule, "weakening", f"{what} {show(old)} removed", (fc(path, old, new),))
    o = old.approx_days if isinstance(old, Duration) else float(old)
    n = new.approx_days if isinstance(new, Duration) else float(new)
    if n > o:
        cls: Classification = "weakening"
        verb = "lengthened" if isinstance(old, Duration) else "raised"
    elif n < o:
        cls = "strengthening"
        verb = "shortened" if isinstance(old, Duration) else "lowered"
    else:
        return Finding(
            rule,
            "neutral",
            f"{what} rewritten from {show(old)} to {show(new)} (same length)",
            (fc(path, old, new),),
        )
    return Finding(
        rule, cls, f"{what} {verb} from {show(old)} to {show(new)}", (fc(path, old, new),)
    )


def set_changes(
    rule: str,
    path: str,
    old: Iterable[str],
    new: Iterable[str],
    what: str,
    *,
    polarity: int = 1,
    removed_verb: str = "removed",
    added_verb: str = "added",
) -> list[Finding]:
    """Lists compared as sets: losing items weakens, gaining items strengthens."""
    old_set, new_set = set(old), set(new)
    out: list[Finding] = []
    gone = sorted(old_set - new_set)
    came = sorted(new_set - old_set)
    if gone:
        out.append(
            Finding(
                rule,
                orient("weakening", polarity),
                f"{what} {removed_verb}: {', '.join(_clip(x) for x in gone)}",
                tuple(fc(path, x, None) for x in gone),
            )
        )
    if came:
        out.append(
            Finding(
                rule,
                orient("strengthening", polarity),
                f"{what} {added_verb}: {', '.join(_clip(x) for x in came)}",
                tuple(fc(path, None, x) for x in came),
            )
        )
    return out


def text_changed(rule: str, path: str, old: Any, new: Any, what: str) -> Finding | None:
    """Prose whose direction cannot be known: unclear, to be read by a person."""
    if old == new:
        return None
    return Finding(rule, "unclear", f"{what} changed; {REVIEW_BY_HAND}", (fc(path, old, new),))


def metadata(
    old: BaseModel, new: BaseModel, names: Sequence[str], prefix: str = ""
) -> Finding | None:
    """One neutral finding for every label- or provenance-only field that changed."""
    fields = [
        fc(f"{prefix}{name}", getattr(old, name), getattr(new, name))
        for name in names
        if dump(getattr(old, name)) != dump(getattr(new, name))
    ]
    if not fields:
        return None
    listed = ", ".join(f.path for f in fields)
    return Finding(
        "element.metadata", "neutral", f"only labels or provenance changed: {listed}", tuple(fields)
    )


def unrecognised(
    old: BaseModel, new: BaseModel, handled: frozenset[str], prefix: str = ""
) -> list[Finding]:
    """Fail closed: a field no rule knows about is reported as unclear, never skipped."""
    out: list[Finding] = []
    for name in sorted(type(old).model_fields):
        if name in handled:
            continue
        before, after = getattr(old, name), getattr(new, name)
        if dump(before) != dump(after):
            out.append(
                Finding(
                    "field.unrecognised",
                    "unclear",
                    f"{prefix}{name} changed and no rule classifies it; {REVIEW_BY_HAND}",
                    (fc(f"{prefix}{name}", before, after),),
                )
            )
    return out


def _clip(text: str, limit: int = 80) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: Fields every element has besides its id and description.
ELEMENT_METADATA = ("name", "source", "confidence", "uncertainty")
#: Declarations of merges and splits: they decide how elements pair (diff/structure.py),
#: so the diff reports them as merged or split changes, never as field changes.
ELEMENT_STRUCTURE = ("merged_from", "split_from")


def element_common(old: Any, new: Any) -> list[Finding]:
    """Findings every element kind shares: its metadata, then its description text."""
    found = (
        metadata(old, new, ELEMENT_METADATA),
        text_changed(
            "element.description",
            "description",
            old.description,
            new.description,
            "definition text",
        ),
    )
    return [f for f in found if f is not None]
