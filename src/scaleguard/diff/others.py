"""Rules for the framework header, risk domains, governance, red lines, review and facts."""

from __future__ import annotations

from scaleguard.diff.model import Finding
from scaleguard.diff.rules import (
    AMBIGUITY_RANK,
    DOMAIN_STATUS_RANK,
    ELEMENT_METADATA,
    ELEMENT_STRUCTURE,
    dump,
    element_common,
    fc,
    longer_weakens,
    metadata,
    ranked,
    set_changes,
    show,
    text_changed,
    unrecognised,
)
from scaleguard.framework.model import (
    ExternalReview,
    FactDecl,
    FrameworkMeta,
    GovernanceRole,
    RedLine,
    RiskDomain,
)

META_LABELS = (
    "developer",
    "title",
    "version",
    "effective_date",
    "supersedes",
    "sources",
    "ambiguity_source",
    "legal_designation",
    "summary",
    "primary_text",
)
META_FIELDS = frozenset(
    {"id", "ambiguity_policy", "comparability_margin", "highly_capable", *META_LABELS}
)
DOMAIN_FIELDS = frozenset({"id", *ELEMENT_METADATA, *ELEMENT_STRUCTURE, "description", "status"})
ROLE_FIELDS = frozenset(
    {"id", *ELEMENT_METADATA, *ELEMENT_STRUCTURE, "description", "holder", "responsibilities"}
)
RED_LINE_FIELDS = frozenset(
    {"id", *ELEMENT_METADATA, *ELEMENT_STRUCTURE, "description", "waivable", "applies_to"}
)
REVIEW_FIELDS = frozenset(
    {
        "trigger",
        "reviewer_criteria",
        "conflict_criteria",
        "share_within",
        "commentary_within",
        "source",
    }
)
FACT_FIELDS = frozenset({"name", "type", "description"})


def compare_meta(old: FrameworkMeta, new: FrameworkMeta) -> list[Finding]:
    out: list[Finding] = []
    if old.id != new.id:
        out.append(
            Finding(
                "framework.id",
                "neutral",
                f"different frameworks ({old.id} and {new.id}): a cross-framework comparison",
                (fc("id", old.id, new.id),),
            )
        )
    if old.ambiguity_policy != new.ambiguity_policy:
        out.append(
            ranked(
                "framework.ambiguity_policy",
                "ambiguity_policy",
                old.ambiguity_policy,
                new.ambiguity_policy,
                AMBIGUITY_RANK,
                "default ambiguity policy",
            )
        )
    if old.comparability_margin != new.comparability_margin:
        wider = new.comparability_margin > old.comparability_margin
        out.append(
            Finding(
                "framework.comparability_margin",
                "weakening" if wider else "strengthening",
                f"comparability margin {'widened' if wider else 'narrowed'} from "
                f"{old.comparability_margin:g} to {new.comparability_margin:g}",
                (fc("comparability_margin", old.comparability_margin, new.comparability_margin),),
            )
        )
    capable = _highly_capable(old, new)
    if capable is not None:
        out.append(capable)
    meta = metadata(old, new, META_LABELS)
    if meta is not None:
        out.append(meta)
    out.extend(unrecognised(old, new, META_FIELDS))
    return out


def _highly_capable(old: FrameworkMeta, new: FrameworkMeta) -> Finding | None:
    """Which thresholds make a model highly capable: conditions on it fire elsewhere."""
    a = sorted(old.highly_capable.thresholds) if old.highly_capable else None
    b = sorted(new.highly_capable.thresholds) if new.highly_capable else None
    if a == b:
        if dump(old.highly_capable) == dump(new.highly_capable):
            return None
        return Finding(
            "element.metadata",
            "neutral",
            "only labels or provenance changed: highly_capable",
            (fc("highly_capable", old.highly_capable, new.highly_capable),),
        )
    return Finding(
        "framework.highly_capable",
        "unclear",
        f"thresholds that make a model highly capable changed from {show(a)} to {show(b)}; "
        "conditions on highly_capable now turn on others; review by hand",
        (fc("highly_capable.thresholds", a, b),),
    )


def domain_presence(d: RiskDomain, added: bool) -> Finding:
    verb = "added" if added else "removed"
    field = fc("", None, d) if added else fc("", d, None)
    if d.status == "excluded":
        return Finding(
            "risk_domain.presence", "neutral", f"risk domain recorded as excluded {verb}", (field,)
        )
    return Finding(
        "risk_domain.presence",
        "strengthening" if added else "weakening",
        f"{d.status} risk domain {verb} ({'more' if added else 'less'} coverage)",
        (field,),
        critical=not added,
    )


def compare_domain(old: RiskDomain, new: RiskDomain) -> list[Finding]:
    out: list[Finding] = []
    if old.status != new.status:
        out.append(
            ranked(
                "risk_domain.status",
                "status",
                old.status,
                new.status,
                DOMAIN_STATUS_RANK,
                "status",
                words=("moved down", "moved up"),
                critical_if_weaker=True,
            )
        )
    out.extend(element_common(old, new))
    out.extend(unrecognised(old, new, DOMAIN_FIELDS))
    return out


def simple_presence(rule: str, what: str, added: bool, element: object) -> Finding:
    field = fc("", None, element) if added else fc("", element, None)
    return Finding(
        rule,
        "strengthening" if added else "weakening",
        f"{what} {'added' if added else 'removed'}",
        (field,),
    )


def compare_role(old: GovernanceRole, new: GovernanceRole) -> list[Finding]:
    out: list[Finding] = []
    out.extend(
        set_changes(
            "governance_role.responsibilities",
            "responsibilities",
            old.responsibilities,
            new.responsibilities,
            "responsibilities",
        )
    )
    holder = text_changed("governance_role.holder", "holder", old.holder, new.holder, "holder")
    if holder is not None:
        out.append(holder)
    out.extend(element_common(old, new))
    out.extend(unrecognised(old, new, ROLE_FIELDS))
    return out


def compare_red_line(old: RedLine, new: RedLine) -> list[Finding]:
    out: list[Finding] = []
    if old.waivable != new.waivable:
        out.append(
            Finding(
                "red_line.waivable",
                "weakening" if new.waivable else "strengthening",
                "now waivable by contract" if new.waivable else "no longer waivable by contract",
                (fc("waivable", old.waivable, new.waivable),),
            )
        )
    for f in (
        text_changed(
            "red_line.applies_to", "applies_to", old.applies_to, new.applies_to, "scope text"
        ),
    ):
        if f is not None:
            out.append(f)
    out.extend(element_common(old, new))
    out.extend(unrecognised(old, new, RED_LINE_FIELDS))
    return out


def compare_review(old: ExternalReview, new: ExternalReview) -> list[Finding]:
    out: list[Finding] = []
    for name, what in (
        ("reviewer_criteria", "reviewer criteria"),
        ("conflict_criteria", "conflict-of-interest criteria"),
    ):
        out.extend(
            set_changes(
                "external_review.criteria", name, getattr(old, name), getattr(new, name), what
            )
        )
    for name, what in (
        ("share_within", "time to share the report with reviewers"),
        ("commentary_within", "time for public commentary"),
    ):
        before, after = getattr(old, name), getattr(new, name)
        if before != after:
            out.append(longer_weakens("external_review.timing", name, before, after, what))
    for f in (
        text_changed(
            "external_review.trigger", "trigger", old.trigger, new.trigger, "trigger text"
        ),
        metadata(old, new, ("source",)),
    ):
        if f is not None:
            out.append(f)
    out.extend(unrecognised(old, new, REVIEW_FIELDS))
    return out


def fact_presence(f: FactDecl, added: bool) -> Finding:
    field = fc("", None, f) if added else fc("", f, None)
    verb = "declared" if added else "no longer declared"
    return Finding("fact.presence", "neutral", f"{f.type} fact {verb}", (field,))


def compare_fact(old: FactDecl, new: FactDecl) -> list[Finding]:
    changed = [n for n in ("type", "description") if getattr(old, n) != getattr(new, n)]
    out: list[Finding] = []
    if changed:
        out.append(
            Finding(
                "fact.definition",
                "unclear",
                f"fact {', '.join(changed)} changed; review by hand",
                tuple(fc(n, getattr(old, n), getattr(new, n)) for n in changed),
            )
        )
    out.extend(unrecognised(old, new, FACT_FIELDS))
    return out
