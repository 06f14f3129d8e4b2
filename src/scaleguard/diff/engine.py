"""Compare two framework documents: pair elements, apply the rules, order the result.

The engine is a pure function of the two loaded documents. Output order is
fixed (priority tier, family, id, rule, fields) so the same inputs always give
the same diff, byte for byte, in every rendering.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TypeVar

from scaleguard.diff import commitments as cm
from scaleguard.diff import others as ot
from scaleguard.diff import thresholds as th
from scaleguard.diff.announce import announced_elements, mark_unannounced
from scaleguard.diff.context import DiffContext
from scaleguard.diff.match import Pairing, pair_by_key, pair_with_aliases
from scaleguard.diff.model import (
    PRIORITY_CRITICAL,
    PRIORITY_NEUTRAL,
    PRIORITY_STRENGTHENING,
    PRIORITY_UNCLEAR,
    PRIORITY_WEAKENING,
    SUMMARY_FAMILY_ORDER,
    Change,
    ChangeKind,
    Coverage,
    DomainCoverage,
    Family,
    Finding,
    FrameworkDiff,
    SideInfo,
)
from scaleguard.diff.structure import (
    Group,
    Structure,
    kept_level,
    lower_bar_finding,
    restructure,
    structure_finding,
)
from scaleguard.framework.loader import LoadedFramework
from scaleguard.framework.model import Element, FactDecl, FrameworkDocument, Threshold

E = TypeVar("E", bound=Element)


def diff_frameworks(a: LoadedFramework, b: LoadedFramework) -> FrameworkDiff:
    """Every difference between ``a`` (old) and ``b`` (new), classified and ordered."""
    da, db = a.doc, b.doc
    tstruct = restructure(
        da.thresholds,
        db.thresholds,
        lambda xs, ys: pair_with_aliases(xs, ys, _id, lambda t: t.legacy_aliases),
    )
    tpair = tstruct.pairing
    a_to_b = {x.id: y.id for x, y in tpair.pairs}
    b_to_a = {y.id: x.id for x, y in tpair.pairs}
    for g in tstruct.groups:
        kept = _kept_part(g)
        for old in g.olds:
            a_to_b[old.id] = kept.id if g.kind == "split" else g.single.id
        for new in g.news:
            b_to_a[new.id] = kept.id if g.kind == "merged" else g.single.id
    ctx = DiffContext(a, b, a_to_b, b_to_a)
    changes: list[Change] = []
    add = changes.extend

    meta = ot.compare_meta(da.framework, db.framework)
    add(
        _wrap("framework", "framework", db.framework.title, "framework", "framework", f)
        for f in meta
    )
    add(
        _family(
            "risk_domains",
            restructure(da.risk_domains, db.risk_domains),
            ot.domain_presence,
            lambda x, y: ot.compare_domain(x, y),
        )
    )
    add(
        _family(
            "thresholds",
            tstruct,
            th.threshold_presence,
            lambda x, y: th.compare_threshold(ctx, x, y),
            lambda x, y: th.compare_threshold(ctx, x, y, restructured=True),
            _threshold_group,
        )
    )
    add(
        _family(
            "safeguard_standards",
            restructure(da.safeguard_standards, db.safeguard_standards),
            lambda s, added: th.standard_presence(ctx, s, added),
            th.compare_standard,
        )
    )
    add(
        _family(
            "commitments",
            restructure(da.commitments, db.commitments),
            lambda c, added: cm.commitment_presence(ctx, c, added),
            lambda x, y: cm.compare_commitment(ctx, x, y),
        )
    )
    add(
        _family(
            "cadences",
            restructure(da.cadences, db.cadences),
            cm.cadence_presence,
            cm.compare_cadence,
        )
    )
    add(
        _family(
            "governance_roles",
            restructure(da.governance_roles, db.governance_roles),
            lambda r, added: ot.simple_presence(
                "governance_role.presence", "governance role", added, r
            ),
            ot.compare_role,
        )
    )
    add(
        _family(
            "red_lines",
            restructure(da.red_lines, db.red_lines),
            lambda r, added: ot.simple_presence("red_line.presence", "red line", added, r),
            ot.compare_red_line,
        )
    )
    add(_external_review(da, db))
    add(_facts(da.facts, db.facts))

    changes = mark_unannounced(changes, announced_elements(da, db))
    changes.sort(key=_order)
    return FrameworkDiff(
        a=_side(a),
        b=_side(b),
        changes=tuple(changes),
        coverage=_coverage(da, db, tpair),
        cross_framework=da.framework.id != db.framework.id,
    )


def _id(e: Element) -> str:
    return e.id


GroupFindings = Callable[
    [Group[E], E, Callable[[E, E], Sequence[Finding]]], list[tuple[E, E, Finding]]
]


def _family(
    family: Family,
    structure: Structure[E],
    presence: Callable[[E, bool], Finding],
    compare: Callable[[E, E], Sequence[Finding]],
    compare_parts: Callable[[E, E], Sequence[Finding]] | None = None,
    group_findings: GroupFindings[E] | None = None,
) -> list[Change]:
    pairing = structure.pairing
    out: list[Change] = []
    for x in pairing.only_a:
        out.append(_wrap(family, x.id, x.name, x.id, None, presence(x, False)))
    for y in pairing.only_b:
        out.append(_wrap(family, y.id, y.name, None, y.id, presence(y, True)))
    for x, y in pairing.pairs:
        out.extend(_wrap(family, y.id, y.name, x.id, y.id, f) for f in compare(x, y))
    for g in structure.groups:
        for part in g.parts:
            found = (group_findings or _continuations)(g, part, compare_parts or compare)
            for old, new, f in found:
                out.append(_wrap(family, part.id, part.name, old.id, new.id, f, kind=g.kind))
    return out


def _ends(g: Group[E], part: E) -> tuple[E, E]:
    """(old, new) for one part: a merged part is old, a split part is new."""
    return (part, g.single) if g.kind == "merged" else (g.single, part)


def _continuations(
    g: Group[E], part: E, compare: Callable[[E, E], Sequence[Finding]]
) -> list[tuple[E, E, Finding]]:
    """A part that lives on in the single element: the structure note plus a field compare."""
    old, new = _ends(g, part)
    return [(old, new, f) for f in (structure_finding(g), *compare(old, new))]


def _kept_part(g: Group[Threshold]) -> Threshold:
    level = kept_level(g)
    return next(t for t in g.parts if t.level == level)


def _threshold_group(
    g: Group[Threshold],
    part: Threshold,
    compare: Callable[[Threshold, Threshold], Sequence[Finding]],
) -> list[tuple[Threshold, Threshold, Finding]]:
    """Below the kept bar a part is gone (merge) or new (split); otherwise it continues."""
    old, new = _ends(g, part)
    if part.level < kept_level(g):
        return [(old, new, lower_bar_finding(g, part))]
    kept = _kept_part(g)
    note = f"; {g.single.name} keeps the bar of {kept.name} (level {kept.level})"
    return [(old, new, f) for f in (structure_finding(g, note), *compare(old, new))]


def _external_review(da: FrameworkDocument, db: FrameworkDocument) -> list[Change]:
    old, new = da.external_review, db.external_review
    name = "External review"
    if old is None and new is None:
        return []
    if old is None or new is None:
        added = old is None
        f = ot.simple_presence("external_review.presence", "external review", added, new or old)
        return [
            _wrap(
                "external_review",
                "external_review",
                name,
                None if added else "external_review",
                "external_review" if added else None,
                f,
            )
        ]
    return [
        _wrap("external_review", "external_review", name, "external_review", "external_review", f)
        for f in ot.compare_review(old, new)
    ]


def _facts(a: Sequence[FactDecl], b: Sequence[FactDecl]) -> list[Change]:
    pairing = pair_by_key(a, b, lambda f: f.name)
    out: list[Change] = []
    for x in pairing.only_a:
        out.append(_wrap("facts", x.name, x.name, x.name, None, ot.fact_presence(x, False)))
    for y in pairing.only_b:
        out.append(_wrap("facts", y.name, y.name, None, y.name, ot.fact_presence(y, True)))
    for x, y in pairing.pairs:
        out.extend(_wrap("facts", y.name, y.name, x.name, y.name, f) for f in ot.compare_fact(x, y))
    return out


def _wrap(
    family: Family,
    ident: str,
    name: str,
    old_id: str | None,
    new_id: str | None,
    f: Finding,
    kind: ChangeKind | None = None,
) -> Change:
    """Place a finding in the diff; ``kind`` is given for merged and split parts."""
    if kind is None:
        kind = _kind(old_id, new_id, f)
    return Change(
        family=family,
        id=ident,
        name=name,
        change=kind,
        classification=f.classification,
        reason=f.reason,
        rule=f.rule,
        fields=f.fields,
        old_id=old_id,
        new_id=new_id,
        priority=_priority(f),
    )


def _kind(old_id: str | None, new_id: str | None, f: Finding) -> ChangeKind:
    if old_id is None:
        return "added"
    if new_id is None:
        return "removed"
    return "renamed" if f.rule == "threshold.renamed" else "changed"


def _priority(f: Finding) -> int:
    """Summary tiers: critical weakenings, weakenings, unclear, strengthenings, neutral."""
    if f.classification == "weakening":
        return PRIORITY_CRITICAL if f.critical else PRIORITY_WEAKENING
    if f.classification == "unclear":
        return PRIORITY_UNCLEAR
    if f.classification == "strengthening":
        return PRIORITY_STRENGTHENING
    return PRIORITY_NEUTRAL


def _order(c: Change) -> tuple[int, int, str, str, str, str]:
    fields = json.dumps(
        [[f.path, f.old, f.new] for f in c.fields], sort_keys=True, ensure_ascii=False
    )
    return (c.priority, SUMMARY_FAMILY_ORDER.index(c.family), c.id, c.rule, fields, c.reason)


def _side(f: LoadedFramework) -> SideInfo:
    meta = f.doc.framework
    return SideInfo(
        ref=f.ref,
        framework_id=meta.id,
        version=meta.version,
        title=meta.title,
        developer=meta.developer,
        effective_date=meta.effective_date.isoformat(),
        digest=f.digest,
    )


def _coverage(da: FrameworkDocument, db: FrameworkDocument, tpair: Pairing[Threshold]) -> Coverage:
    dom_a = {d.id: d for d in da.risk_domains}
    dom_b = {d.id: d for d in db.risk_domains}
    rows: list[DomainCoverage] = []
    for ident in sorted(dom_a.keys() | dom_b.keys()):
        x, y = dom_a.get(ident), dom_b.get(ident)
        name = y.name if y is not None else x.name if x is not None else ident
        rows.append(
            DomainCoverage(
                id=ident,
                name=name,
                status_a=x.status if x is not None else None,
                status_b=y.status if y is not None else None,
                thresholds_a=tuple(sorted(t.id for t in da.thresholds if t.domain == ident)),
                thresholds_b=tuple(sorted(t.id for t in db.thresholds if t.domain == ident)),
            )
        )
    return Coverage(
        domains=tuple(rows),
        domains_only_a=tuple(r.id for r in rows if r.covered_a and not r.covered_b),
        domains_only_b=tuple(r.id for r in rows if r.covered_b and not r.covered_a),
        thresholds_only_a=tuple(sorted(t.id for t in tpair.only_a)),
        thresholds_only_b=tuple(sorted(t.id for t in tpair.only_b)),
    )
