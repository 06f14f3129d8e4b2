"""Machine-checkable conditions over named facts, with three-valued evaluation.

A condition is a small structured expression, written in YAML::

    all:
      - fact: developer_leads
      - not: {fact: all_competitors_strong_safeguards}
      - fact: effective_compute_multiple
        at_least: 4

We use this form rather than a string expression language because every node
keeps its own file position, so a reviewer is pointed at the exact line of a
bad fact name, and because evaluation must be three-valued: a fact nobody has
established is *unknown*, never silently false. The decision engine then
decides what unknown means (fail closed).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum
from typing import Any, Literal

from scaleguard.framework.facts import FactSpec

Comparator = Literal["at_least", "above", "at_most", "below", "equals"]
COMPARATORS: tuple[Comparator, ...] = ("at_least", "above", "at_most", "below", "equals")


class Truth(Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    @staticmethod
    def of(value: bool) -> Truth:
        return Truth.TRUE if value else Truth.FALSE


@dataclass(frozen=True)
class FactTest:
    fact: str
    comparator: Comparator | None = None
    value: float | None = None

    def describe(self) -> str:
        if self.comparator is None:
            return self.fact
        return f"{self.fact} {self.comparator.replace('_', ' ')} {self.value:g}"


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = FactTest | AllOf | AnyOf | Not


@dataclass(frozen=True)
class ConditionIssue:
    """A parse or type problem at a path relative to the condition's root."""

    path: tuple[str | int, ...]
    message: str
    hint: str


def parse_condition(
    raw: Any, facts: Mapping[str, FactSpec]
) -> tuple[Condition | None, list[ConditionIssue]]:
    """Parse and type-check ``raw``; return the condition or every issue found."""
    issues: list[ConditionIssue] = []
    cond = _parse(raw, facts, (), issues)
    return (cond if not issues else None), issues


def _parse(
    raw: Any,
    facts: Mapping[str, FactSpec],
    path: tuple[str | int, ...],
    issues: list[ConditionIssue],
) -> Condition | None:
    if not isinstance(raw, dict):
        issues.append(
            ConditionIssue(
                path,
                f"a condition must be a mapping, not {_kind(raw)}",
                "use one of: {fact: NAME}, {all: [...]}, {any: [...]}, {not: {...}}",
            )
        )
        return None
    keys = set(raw)
    operators = keys & {"all", "any", "not", "fact"}
    if len(operators) != 1:
        issues.append(
            ConditionIssue(
                path,
                "a condition needs exactly one of 'fact', 'all', 'any', 'not'"
                + (f" (found {', '.join(sorted(operators))})" if operators else ""),
                "split combined tests into an 'all' or 'any' list",
            )
        )
        return None
    op = operators.pop()
    if op in ("all", "any"):
        extra = keys - {op}
        if extra:
            issues.append(
                ConditionIssue(
                    (*path, sorted(extra)[0]),
                    f"unexpected key {sorted(extra)[0]!r} beside {op!r}",
                    f"'{op}' takes only a list of conditions",
                )
            )
        items = raw[op]
        if not isinstance(items, list) or not items:
            issues.append(
                ConditionIssue(
                    (*path, op),
                    f"'{op}' needs a non-empty list of conditions",
                    "an empty list would pass or fail vacuously; list at least one test",
                )
            )
            return None
        parsed = [_parse(item, facts, (*path, op, i), issues) for i, item in enumerate(items)]
        if any(p is None for p in parsed):
            return None
        children = tuple(p for p in parsed if p is not None)
        return AllOf(children) if op == "all" else AnyOf(children)
    if op == "not":
        extra = keys - {"not"}
        if extra:
            issues.append(
                ConditionIssue(
                    (*path, sorted(extra)[0]),
                    f"unexpected key {sorted(extra)[0]!r} beside 'not'",
                    "'not' takes a single condition",
                )
            )
        inner = _parse(raw["not"], facts, (*path, "not"), issues)
        return Not(inner) if inner is not None else None
    return _parse_fact(raw, facts, path, issues)


def _parse_fact(
    raw: dict[str, Any],
    facts: Mapping[str, FactSpec],
    path: tuple[str | int, ...],
    issues: list[ConditionIssue],
) -> FactTest | None:
    name = raw["fact"]
    comparators = [c for c in COMPARATORS if c in raw]
    unknown_keys = [k for k in raw if k != "fact" and k not in COMPARATORS]
    for key in unknown_keys:
        issues.append(
            ConditionIssue(
                (*path, key),
                f"unexpected key {key!r} in a fact test",
                f"a fact test has 'fact' and at most one of: {', '.join(COMPARATORS)}",
            )
        )
    if not isinstance(name, str):
        issues.append(ConditionIssue((*path, "fact"), "'fact' must be a fact name (a string)", ""))
        return None
    spec = facts.get(name)
    if spec is None:
        close = _closest(name, facts)
        issues.append(
            ConditionIssue(
                (*path, "fact"),
                f"unknown fact {name!r}",
                (f"did you mean {close!r}? " if close else "")
                + "declare it under 'facts:' or use a built-in fact "
                "(scaleguard frameworks facts lists them)",
            )
        )
        return None
    if len(comparators) > 1:
        issues.append(
            ConditionIssue(path, "a fact test takes at most one comparator", "split it with 'all'")
        )
        return None
    if spec.type == "boolean":
        if comparators:
            issues.append(
                ConditionIssue(
                    (*path, comparators[0]),
                    f"fact {name!r} is boolean and cannot be compared with {comparators[0]!r}",
                    "test a boolean fact as {fact: NAME}, or wrap it in 'not'",
                )
            )
            return None
        return FactTest(name) if not unknown_keys else None
    if not comparators:
        issues.append(
            ConditionIssue(
                path,
                f"fact {name!r} is a number and needs a comparator",
                f"add one of: {', '.join(COMPARATORS)}, e.g. 'at_least: 4'",
            )
        )
        return None
    comp: Comparator = comparators[0]
    value = raw[comp]
    if isinstance(value, bool) or not isinstance(value, int | float):
        issues.append(
            ConditionIssue(
                (*path, comp),
                f"{comp!r} needs a number, not {_kind(value)}",
                "write a plain number, e.g. 4 or 0.5",
            )
        )
        return None
    return FactTest(name, comp, float(value)) if not unknown_keys else None


def evaluate(cond: Condition, facts: Mapping[str, bool | float | None]) -> Truth:
    """Kleene three-valued evaluation: a missing or ``None`` fact is UNKNOWN."""
    if isinstance(cond, FactTest):
        value = facts.get(cond.fact)
        if value is None:
            return Truth.UNKNOWN
        if cond.comparator is None:
            return Truth.of(bool(value))
        assert cond.value is not None
        v = float(value)
        match cond.comparator:
            case "at_least":
                return Truth.of(v >= cond.value)
            case "above":
                return Truth.of(v > cond.value)
            case "at_most":
                return Truth.of(v <= cond.value)
            case "below":
                return Truth.of(v < cond.value)
            case "equals":
                return Truth.of(v == cond.value)
    if isinstance(cond, Not):
        inner = evaluate(cond.item, facts)
        if inner is Truth.UNKNOWN:
            return inner
        return Truth.of(inner is Truth.FALSE)
    results = [evaluate(c, facts) for c in cond.items]
    if isinstance(cond, AllOf):
        if Truth.FALSE in results:
            return Truth.FALSE
        return Truth.UNKNOWN if Truth.UNKNOWN in results else Truth.TRUE
    if Truth.TRUE in results:
        return Truth.TRUE
    return Truth.UNKNOWN if Truth.UNKNOWN in results else Truth.FALSE


def facts_named(cond: Condition) -> list[str]:
    """Every fact a condition mentions, in order of first mention."""
    out: list[str] = []

    def walk(c: Condition) -> None:
        if isinstance(c, FactTest):
            if c.fact not in out:
                out.append(c.fact)
        elif isinstance(c, Not):
            walk(c.item)
        else:
            for item in c.items:
                walk(item)

    walk(cond)
    return out


def describe(cond: Condition) -> str:
    """A one-line human rendering, e.g. ``developer_leads and not (x or y)``."""
    if isinstance(cond, FactTest):
        return cond.describe()
    if isinstance(cond, Not):
        inner = describe(cond.item)
        return f"not {inner}" if isinstance(cond.item, FactTest) else f"not ({inner})"
    joiner = " and " if isinstance(cond, AllOf) else " or "
    parts = [
        describe(c) if isinstance(c, FactTest | Not) else f"({describe(c)})" for c in cond.items
    ]
    return joiner.join(parts)


def to_data(cond: Condition) -> dict[str, Any]:
    """Back to the YAML/JSON form (canonical; used for diffing and export)."""
    if isinstance(cond, FactTest):
        if cond.comparator is None:
            return {"fact": cond.fact}
        return {"fact": cond.fact, cond.comparator: cond.value}
    if isinstance(cond, Not):
        return {"not": to_data(cond.item)}
    key = "all" if isinstance(cond, AllOf) else "any"
    return {key: [to_data(c) for c in cond.items]}


def _kind(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def _closest(name: str, facts: Mapping[str, FactSpec]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(name, list(facts), n=1, cutoff=0.6)
    return matches[0] if matches else None
