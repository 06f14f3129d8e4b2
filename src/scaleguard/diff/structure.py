"""Merges and splits: elements declared ``merged_from`` or ``split_from`` pair as groups.

A merge folds several elements of the older document into one element of the
newer one; a split divides one into several. Either document may carry the
declaration (the newer one normally does), and groups are built from both, in
an order that does not depend on which document is "A": so swapping the
documents turns every merge into a split and changes nothing else.

Declarations name ids of the other document (for thresholds also their legacy
aliases, compared as in :mod:`scaleguard.diff.match`). An element already paired
by an identical id joins a group only when that partner is in the group too,
e.g. ``x`` merged_from ``[x, y]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from scaleguard.diff.match import Pairing, norm_name, pair_by_key
from scaleguard.diff.model import Classification, Finding
from scaleguard.diff.rules import fc
from scaleguard.framework.model import Element, Threshold

E = TypeVar("E", bound=Element)

Restructure = Literal["merged", "split"]


@dataclass(frozen=True)
class Group(Generic[E]):
    """Elements of A (``olds``) and of B (``news``); one side has one element, the other two+."""

    olds: tuple[E, ...]
    news: tuple[E, ...]

    @property
    def kind(self) -> Restructure:
        return "merged" if len(self.olds) > 1 else "split"

    @property
    def single(self) -> E:
        return self.news[0] if self.kind == "merged" else self.olds[0]

    @property
    def parts(self) -> tuple[E, ...]:
        """The several elements, ordered by id."""
        many = self.olds if self.kind == "merged" else self.news
        return tuple(sorted(many, key=lambda e: e.id))


@dataclass(frozen=True)
class Structure(Generic[E]):
    groups: tuple[Group[E], ...]
    pairing: Pairing[E]


def _names(e: Element) -> set[str]:
    names = {norm_name(e.id)}
    if isinstance(e, Threshold):
        names |= {norm_name(a) for a in e.legacy_aliases}
    return names


def _resolve(ident: str, pool: Sequence[E]) -> E | None:
    """The element of ``pool`` called ``ident``: exact id first, then by normalised name."""
    for e in pool:
        if e.id == ident:
            return e
    wanted = norm_name(ident)
    found = [e for e in pool if wanted in _names(e)]
    return found[0] if len(found) == 1 else None


def _declared(own: Sequence[E], other: Sequence[E]) -> list[tuple[list[E], list[E]]]:
    """(elements of ``own``, elements of ``other``) for every declaration written in ``own``."""
    out: list[tuple[list[E], list[E]]] = []
    for e in own:
        if e.merged_from:
            found: list[E] = []
            for ident in e.merged_from:
                x = _resolve(ident, other)
                if x is not None and x not in found:
                    found.append(x)
            if found:
                out.append(([e], found))
    by_source: dict[str, list[E]] = {}
    for e in own:
        if e.split_from is not None:
            by_source.setdefault(e.split_from, []).append(e)
    for source, parts in by_source.items():
        x = _resolve(source, other)
        if x is not None:
            out.append((parts, [x]))
    return out


def restructure(
    a: Sequence[E],
    b: Sequence[E],
    pair: Callable[[Sequence[E], Sequence[E]], Pairing[E]] | None = None,
) -> Structure[E]:
    """Merge and split groups first, then ``pair`` (by id by default) what is left."""
    exact = {e.id for e in a} & {e.id for e in b}
    candidates: list[tuple[list[E], list[E]]] = []
    for own_a, other_b in _declared(a, b):
        candidates.append((own_a, other_b))
    for own_b, other_a in _declared(b, a):
        candidates.append((other_a, own_b))

    def eligible(olds: list[E], news: list[E]) -> tuple[list[E], list[E]]:
        new_ids = {e.id for e in news}
        old_ids = {e.id for e in olds}
        keep_o = [e for e in olds if e.id not in exact or e.id in new_ids]
        keep_n = [e for e in news if e.id not in exact or e.id in old_ids]
        return keep_o, keep_n

    def side_free_key(olds: list[E], news: list[E]) -> tuple[tuple[str, ...], ...]:
        sides = sorted([tuple(sorted(e.id for e in olds)), tuple(sorted(e.id for e in news))])
        return (sides[0], sides[1])

    ordered = sorted(
        (eligible(o, n) for o, n in candidates), key=lambda g: side_free_key(g[0], g[1])
    )
    used_a: set[str] = set()
    used_b: set[str] = set()
    groups: list[Group[E]] = []
    one_to_one: list[tuple[E, E]] = []
    for olds, news in ordered:
        if not olds or not news:
            continue
        if any(e.id in used_a for e in olds) or any(e.id in used_b for e in news):
            continue
        used_a.update(e.id for e in olds)
        used_b.update(e.id for e in news)
        if len(olds) == 1 and len(news) == 1:
            one_to_one.append((olds[0], news[0]))
        else:
            groups.append(Group(tuple(olds), tuple(news)))
    rest_a = [e for e in a if e.id not in used_a]
    rest_b = [e for e in b if e.id not in used_b]
    paired = (pair or _by_id)(rest_a, rest_b)
    order_a = {e.id: i for i, e in enumerate(a)}
    pairs = sorted([*paired.pairs, *one_to_one], key=lambda p: order_a[p[0].id])
    return Structure(tuple(groups), Pairing(tuple(pairs), paired.only_a, paired.only_b))


def _by_id(a: Sequence[E], b: Sequence[E]) -> Pairing[E]:
    return pair_by_key(a, b, lambda e: e.id)


# --- findings ---------------------------------------------------------------------------


def kept_level(group: Group[Threshold]) -> int:
    """The bar the single threshold keeps: the lowest part's when it visibly keeps that one.

    It keeps the lowest bar only when it stays in the parts' risk domain at the
    parts' lowest level. Otherwise it is read as keeping the highest bar: the
    fail-closed reading, under which the lower bars are reported as gone.
    """
    levels = [t.level for t in group.parts]
    single = group.single
    if all(t.domain == single.domain for t in group.parts) and single.level == min(levels):
        return min(levels)
    return max(levels)


def _names_list(parts: Sequence[Element]) -> str:
    names = [p.name for p in parts]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def structure_finding(group: Group[E], note: str = "") -> Finding:
    """The neutral finding recording that a part continues in the merged or split element."""
    olds = sorted(e.id for e in group.olds)
    news = sorted(e.id for e in group.news)
    names = _names_list(group.parts)
    if group.kind == "merged":
        reason = f"{names} merged into {group.single.name}"
    else:
        reason = f"{group.single.name} split into {names}"
    reason += note
    return Finding("element.restructured", "neutral", reason, (fc("structure", olds, news),))


def lower_bar_finding(group: Group[Threshold], part: Threshold) -> Finding:
    """A threshold part below the kept bar: a merge drops that bar, a split adds it."""
    names = _names_list(group.parts)
    single = group.single
    if group.kind == "merged":
        cls: Classification = "weakening"
        reason = (
            f"{names} merged into {single.name}; the lower bar ({part.name}) is gone: "
            f"{single.name} keeps only the higher bar"
        )
        field = fc("", part, None)
    else:
        cls = "strengthening"
        reason = (
            f"{single.name} split into {names}; the lower bar ({part.name}) is new: "
            f"{single.name} had only the higher bar"
        )
        field = fc("", None, part)
    return Finding("threshold.lower_bar", cls, reason, (field,), critical=group.kind == "merged")
