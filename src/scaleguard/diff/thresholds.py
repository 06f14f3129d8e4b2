"""Rules for capability thresholds (with indicators and required safeguards) and standards."""

from __future__ import annotations

from scaleguard.diff.context import DiffContext, strongest_requirement
from scaleguard.diff.match import pair_by_key
from scaleguard.diff.model import Classification, Finding
from scaleguard.diff.rules import (
    AMBIGUITY_RANK,
    COMMITTING_FORCES,
    ELEMENT_METADATA,
    ELEMENT_STRUCTURE,
    FORCE_RANK,
    RELATION_RANK,
    SCOPE_RANK,
    THRESHOLD_KIND_RANK,
    element_common,
    fc,
    metadata,
    orient,
    ranked,
    set_changes,
    show,
    text_changed,
    unrecognised,
)
from scaleguard.framework.model import (
    ExternalReference,
    Indicator,
    RequiredSafeguard,
    SafeguardStandard,
    Threshold,
)

THRESHOLD_FIELDS = frozenset(
    {
        "id",
        *ELEMENT_METADATA,
        *ELEMENT_STRUCTURE,
        "description",
        "domain",
        "kind",
        "level",
        "level_label",
        "legacy_aliases",
        "indicators",
        "required_safeguards",
        "response",
        "ambiguity_policy",
    }
)
INDICATOR_FIELDS = frozenset(
    {"id", "task", "metric", "comparator", "threshold", "early_warning", "description"}
)
REQUIRED_SAFEGUARD_FIELDS = frozenset({"standard", "force", "scope", "note"})
STANDARD_FIELDS = frozenset(
    {
        "id",
        *ELEMENT_METADATA,
        *ELEMENT_STRUCTURE,
        "description",
        "kind",
        "level",
        "measures",
        "external_references",
        "specified",
    }
)
EXTERNAL_REFERENCE_FIELDS = frozenset({"scheme", "level", "relation", "note"})


def threshold_presence(t: Threshold, added: bool) -> Finding:
    if added:
        return Finding(
            "threshold.presence",
            "strengthening",
            f"threshold added in domain {t.domain} (more coverage)",
            (fc("", None, t),),
        )
    return Finding(
        "threshold.presence",
        "weakening",
        f"threshold removed from domain {t.domain} (less coverage)",
        (fc("", t, None),),
        critical=True,
    )


def compare_threshold(
    ctx: DiffContext, old: Threshold, new: Threshold, *, restructured: bool = False
) -> list[Finding]:
    """Every finding for one pair; ``restructured`` pairs come from a merge or split.

    Their change of id is the merge or split itself, so no rename is reported.
    """
    out: list[Finding] = []
    labels: tuple[str, ...] = (*ELEMENT_METADATA, "level_label", "legacy_aliases")
    if old.id != new.id and not restructured:
        fields = [fc("id", old.id, new.id)]
        if old.legacy_aliases != new.legacy_aliases:
            fields.append(fc("legacy_aliases", old.legacy_aliases, new.legacy_aliases))
            labels = (*ELEMENT_METADATA, "level_label")
        out.append(
            Finding(
                "threshold.renamed",
                "neutral",
                f"renamed from {old.id} to {new.id} (paired through legacy_aliases)",
                tuple(fields),
            )
        )
    meta = metadata(old, new, labels)
    desc = text_changed(
        "element.description", "description", old.description, new.description, "definition text"
    )
    if old.domain != new.domain:
        out.append(
            Finding(
                "threshold.domain",
                "unclear",
                f"moved from risk domain {old.domain} to {new.domain}; review by hand",
                (fc("domain", old.domain, new.domain),),
            )
        )
    if old.kind != new.kind:
        out.append(
            ranked(
                "threshold.kind", "kind", old.kind, new.kind, THRESHOLD_KIND_RANK, "threshold kind"
            )
        )
    if old.level != new.level:
        out.append(_level(old, new))
    out.extend(_ambiguity(ctx, old, new))
    resp = text_changed(
        "threshold.response", "response", old.response, new.response, "response text"
    )
    out.extend(f for f in (meta, desc, resp) if f is not None)
    out.extend(_indicators(old, new))
    out.extend(_required(old, new))
    out.extend(unrecognised(old, new, THRESHOLD_FIELDS))
    return out


def _level(old: Threshold, new: Threshold) -> Finding:
    field = (fc("level", old.level, new.level),)
    same = _safeguard_set(old) == _safeguard_set(new)
    if not same:
        return Finding(
            "threshold.level",
            "unclear",
            f"level changed from {old.level} to {new.level} together with its required "
            "safeguards; review by hand",
            field,
        )
    if new.level < old.level:
        return Finding(
            "threshold.level",
            "strengthening",
            f"level lowered from {old.level} to {new.level} with the same required safeguards "
            "(they apply earlier)",
            field,
        )
    return Finding(
        "threshold.level",
        "weakening",
        f"level raised from {old.level} to {new.level} with the same required safeguards "
        "(they apply later)",
        field,
    )


def _safeguard_set(t: Threshold) -> set[tuple[str, str, str]]:
    return {(r.standard, r.force, r.scope) for r in t.required_safeguards}


def _ambiguity(ctx: DiffContext, old: Threshold, new: Threshold) -> list[Finding]:
    if old.ambiguity_policy == new.ambiguity_policy:
        return []
    eff_old = old.ambiguity_policy or ctx.a.doc.framework.ambiguity_policy
    eff_new = new.ambiguity_policy or ctx.b.doc.framework.ambiguity_policy
    if eff_old != eff_new:
        return [
            ranked(
                "threshold.ambiguity_policy",
                "ambiguity_policy",
                eff_old,
                eff_new,
                AMBIGUITY_RANK,
                "ambiguity policy (after the framework default)",
            )
        ]
    return [
        Finding(
            "threshold.ambiguity_policy",
            "neutral",
            f"ambiguity policy written differently with the same effect ({eff_new})",
            (fc("ambiguity_policy", old.ambiguity_policy, new.ambiguity_policy),),
        )
    ]


def _indicators(old: Threshold, new: Threshold) -> list[Finding]:
    out: list[Finding] = []
    pairing = pair_by_key(old.indicators, new.indicators, lambda i: i.id)
    for ind in pairing.only_a:
        out.append(
            Finding(
                "indicator.presence",
                "weakening",
                f"indicator {ind.id} ({ind.metric}) removed: fewer measurements watch it",
                (fc(f"indicators[{ind.id}]", ind, None),),
            )
        )
    for ind in pairing.only_b:
        out.append(
            Finding(
                "indicator.presence",
                "strengthening",
                f"indicator {ind.id} ({ind.metric}) added: more measurements watch it",
                (fc(f"indicators[{ind.id}]", None, ind),),
            )
        )
    for a, b in pairing.pairs:
        out.extend(_indicator(a, b))
    return out


def _upward(ind: Indicator) -> bool:
    return ind.comparator in (">=", ">")


def _indicator(old: Indicator, new: Indicator) -> list[Finding]:
    p = f"indicators[{old.id}]."
    out: list[Finding] = []
    definitional = ["task", "metric", "comparator", "description"]
    if old.comparator != new.comparator:
        # The direction of the scale changed: values cannot be compared either.
        definitional += ["threshold", "early_warning"]
    changed = [n for n in definitional if getattr(old, n) != getattr(new, n)]
    if changed:
        out.append(
            Finding(
                "indicator.definition",
                "unclear",
                f"indicator {old.id}: {', '.join(changed)} changed; review by hand",
                tuple(fc(p + n, getattr(old, n), getattr(new, n)) for n in changed),
            )
        )
    if old.comparator == new.comparator:
        up = _upward(old)
        if old.threshold != new.threshold:
            harder = (new.threshold > old.threshold) == up
            cls: Classification = "weakening" if harder else "strengthening"
            out.append(
                Finding(
                    "indicator.threshold",
                    cls,
                    f"indicator {old.id} threshold moved from {show(old.threshold)} to "
                    f"{show(new.threshold)} ({'harder' if harder else 'easier'} to cross)",
                    (fc(p + "threshold", old.threshold, new.threshold),),
                )
            )
        if old.early_warning != new.early_warning:
            out.append(_early_warning(old, new, p, up))
    out.extend(unrecognised(old, new, INDICATOR_FIELDS, p))
    return out


def _early_warning(old: Indicator, new: Indicator, p: str, up: bool) -> Finding:
    field = (fc(p + "early_warning", old.early_warning, new.early_warning),)
    rule = "indicator.early_warning"
    if old.early_warning is None:
        return Finding(rule, "strengthening", f"indicator {old.id} early-warning band added", field)
    if new.early_warning is None:
        return Finding(rule, "weakening", f"indicator {old.id} early-warning band removed", field)
    later = (new.early_warning > old.early_warning) == up
    return Finding(
        rule,
        "weakening" if later else "strengthening",
        f"indicator {old.id} early warning moved from {show(old.early_warning)} to "
        f"{show(new.early_warning)} (warns {'later' if later else 'earlier'})",
        field,
    )


def _required(old: Threshold, new: Threshold) -> list[Finding]:
    out: list[Finding] = []
    pairing = pair_by_key(old.required_safeguards, new.required_safeguards, lambda r: r.standard)
    for r in pairing.only_a:
        out.append(_required_presence(r, added=False))
    for r in pairing.only_b:
        out.append(_required_presence(r, added=True))
    for a, b in pairing.pairs:
        p = f"required_safeguards[{a.standard}]."
        binding = a.force == "binding"
        if a.force != b.force:
            out.append(
                ranked(
                    "required_safeguard.force",
                    p + "force",
                    a.force,
                    b.force,
                    FORCE_RANK,
                    f"required safeguard {a.standard} force",
                    critical_if_weaker=binding,
                )
            )
        if a.scope != b.scope:
            out.append(
                ranked(
                    "required_safeguard.scope",
                    p + "scope",
                    a.scope,
                    b.scope,
                    SCOPE_RANK,
                    f"required safeguard {a.standard} scope",
                    critical_if_weaker=binding,
                    words=("narrowed", "widened"),
                )
            )
        meta = metadata(a, b, ("note",), p)
        if meta is not None:
            out.append(meta)
        out.extend(unrecognised(a, b, REQUIRED_SAFEGUARD_FIELDS, p))
    return out


def _required_presence(r: RequiredSafeguard, added: bool) -> Finding:
    path = f"required_safeguards[{r.standard}]"
    field = fc(path, None, r) if added else fc(path, r, None)
    what = f"{r.force} required safeguard {r.standard}"
    if r.force not in COMMITTING_FORCES:
        return Finding(
            "required_safeguard.presence",
            "neutral",
            f"{what} {'added' if added else 'removed'}; it does not bind the developer",
            (field,),
        )
    return Finding(
        "required_safeguard.presence",
        "strengthening" if added else "weakening",
        f"{what} {'added' if added else 'removed'}",
        (field,),
        critical=not added and r.force == "binding",
    )


# --- safeguard standards --------------------------------------------------------


def standard_presence(ctx: DiffContext, s: SafeguardStandard, added: bool) -> Finding:
    doc = ctx.b.doc if added else ctx.a.doc
    force = strongest_requirement(doc, s.id)
    verb = "added" if added else "removed"
    field = fc("", None, s) if added else fc("", s, None)
    if force in ("binding", "conditional"):
        cls: Classification = orient("strengthening", 1 if added else -1)
        return Finding(
            "safeguard_standard.presence",
            cls,
            f"{s.kind} safeguard standard {verb}; a threshold requires it ({force})",
            (field,),
        )
    why = f"only at {force} force" if force else "by no threshold"
    return Finding(
        "safeguard_standard.presence",
        "neutral",
        f"{s.kind} safeguard standard {verb}; it is required {why}",
        (field,),
    )


def compare_standard(old: SafeguardStandard, new: SafeguardStandard) -> list[Finding]:
    out: list[Finding] = []
    out.extend(element_common(old, new))
    kind = text_changed("safeguard_standard.kind", "kind", old.kind, new.kind, "standard kind")
    if kind is not None:
        out.append(kind)
    if old.level != new.level:
        field = (fc("level", old.level, new.level),)
        if old.level is None or new.level is None:
            out.append(
                Finding(
                    "safeguard_standard.level",
                    "unclear",
                    f"level changed from {show(old.level)} to {show(new.level)}",
                    field,
                )
            )
        else:
            up = new.level > old.level
            out.append(
                Finding(
                    "safeguard_standard.level",
                    "strengthening" if up else "weakening",
                    f"standard level {'raised' if up else 'lowered'} from {old.level} to "
                    f"{new.level}",
                    field,
                )
            )
    out.extend(
        set_changes(
            "safeguard_standard.measures", "measures", old.measures, new.measures, "measures"
        )
    )
    if old.specified != new.specified:
        out.append(
            Finding(
                "safeguard_standard.specified",
                "strengthening" if new.specified else "weakening",
                "content now specified" if new.specified else "content now deferred (unspecified)",
                (fc("specified", old.specified, new.specified),),
            )
        )
    out.extend(_references(old, new))
    out.extend(unrecognised(old, new, STANDARD_FIELDS))
    return out


def _ref_key(r: ExternalReference) -> str:
    return f"{r.scheme}/{r.level}"


def _references(old: SafeguardStandard, new: SafeguardStandard) -> list[Finding]:
    out: list[Finding] = []
    pairing = pair_by_key(old.external_references, new.external_references, _ref_key)
    for r in pairing.only_a:
        path = f"external_references[{_ref_key(r)}]"
        out.append(
            Finding(
                "external_reference.presence",
                "neutral",
                f"reference to {r.scheme} {r.level} removed",
                (fc(path, r, None),),
            )
        )
    for r in pairing.only_b:
        path = f"external_references[{_ref_key(r)}]"
        out.append(
            Finding(
                "external_reference.presence",
                "neutral",
                f"reference to {r.scheme} {r.level} added",
                (fc(path, None, r),),
            )
        )
    for a, b in pairing.pairs:
        p = f"external_references[{_ref_key(a)}]."
        if a.relation != b.relation:
            out.append(
                ranked(
                    "external_reference.relation",
                    p + "relation",
                    a.relation,
                    b.relation,
                    RELATION_RANK,
                    f"relation to {a.scheme} {a.level}",
                )
            )
        meta = metadata(a, b, ("note",), p)
        if meta is not None:
            out.append(meta)
        out.extend(unrecognised(a, b, EXTERNAL_REFERENCE_FIELDS, p))
    return out
