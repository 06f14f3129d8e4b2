"""Conflict-of-interest rules as data, and screening a reviewer against them: pure.

A rules file is YAML (format in docs/external-review.md)::

    version: 1
    source: where the criteria come from
    developer_aliases: [other names of the developer]
    rules:
      - id: reviewer-financial-interest
        severity: major            # major blocks assignment; minor is reported
        description: ...
        kinds: [equity, contract, funding]
        holders: [self, reporting-chain]   # default: all three
        relations: []              # personal ties only; empty = any relation
        counterparty: developer    # developer | other-developer | any
        when: active               # active | ended | any
        within: P1Y                # for ended/any: how long after its end it counts

An interest is *active* if it is in force at any time from the screening date
to the end of the review window (the screening date plus the framework's
``commentary_within``): an employment starting next week counts. It has
*ended* if it ended before the screening date, and no longer ago than
``within``. Organisation names are compared by
:func:`scaleguard.review.names.organisation_key` (Unicode NFKC, invisible
characters removed, case and confusable look-alikes folded, legal suffixes
such as "Inc." stripped), and a name that is close to but not the same as a
developer's is reported as a minor conflict for a person to clear; the
developer is who owns the report's models in the registry (else the
framework's developer) plus ``developer_aliases``; other developers are
those of the registry's other models.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from scaleguard.errors import FrameworkError, InputError, Problem
from scaleguard.framework.durations import Duration
from scaleguard.framework.model import Id
from scaleguard.framework.yamlsource import read_yaml
from scaleguard.review.model import (
    HOLDERS,
    Holder,
    Interest,
    InterestKind,
    Relation,
    RuleResult,
    Screening,
    Severity,
)
from scaleguard.review.names import near, organisation_key

BUILTIN = "conflict_rules.yaml"
WORKSPACE_RULES = Path("review") / "conflict-rules.yaml"
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
HINT = "see the rules format in docs/external-review.md"


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: Id
    severity: Severity
    description: Text
    criterion: Text | None = None
    kinds: tuple[InterestKind, ...] = Field(min_length=1)
    holders: tuple[Holder, ...] = HOLDERS
    relations: tuple[Relation, ...] = ()
    counterparty: Literal["developer", "other-developer", "any"] = "developer"
    when: Literal["active", "ended", "any"] = "active"
    within: Duration | None = None

    @model_validator(mode="after")
    def _window(self) -> Rule:
        if self.when == "ended" and self.within is None:
            raise ValueError("a rule with when: ended needs 'within' (e.g. P2Y)")
        if self.when == "active" and self.within is not None:
            raise ValueError("'within' applies to when: ended or any, not to active interests")
        if not self.holders:
            raise ValueError(
                "'holders' must name at least one of self, reporting-chain, organisation"
            )
        return self


class RuleSet(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    source: Text | None = None
    developer_aliases: tuple[Text, ...] = ()
    rules: tuple[Rule, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> RuleSet:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} is used twice")
            seen.add(rule.id)
        return self


@dataclass(frozen=True)
class LoadedRules:
    rules: RuleSet
    origin: str
    sha256: str


def parse_rules(data: bytes | str, file: str) -> RuleSet:
    """Parse a rules file; InputError listing every problem with file:line:column."""
    raw_bytes = data.encode("utf-8") if isinstance(data, str) else data
    if not raw_bytes.strip():
        raise InputError(f"{file} is empty", hint="start it with 'version: 1' and 'rules:'")
    try:
        raw, source = read_yaml(raw_bytes, file)
    except FrameworkError as exc:
        raise InputError(
            exc.message.replace("framework documents", "rules files"),
            problems=exc.problems,
            hint=HINT,
        ) from None
    if not isinstance(raw, dict):
        raise InputError(
            f"{file} must be a mapping with 'version' and 'rules'",
            problems=[source.problem((), f"found {type(raw).__name__}")],
            hint=HINT,
        )
    try:
        return RuleSet.model_validate(raw)
    except ValidationError as exc:
        problems: list[Problem] = []
        for err in exc.errors():
            loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
            message = str(err["msg"]).removeprefix("Value error, ")
            problems.append(source.problem(loc, message, key=message.startswith("Extra inputs")))
        raise InputError(
            f"{file} has {len(problems)} problem(s)", problems=problems, hint=HINT
        ) from None


def builtin_rules() -> LoadedRules:
    data = resources.files("scaleguard.review").joinpath(BUILTIN).read_bytes()
    return LoadedRules(
        parse_rules(data, f"builtin:{BUILTIN}"),
        f"builtin:{BUILTIN}",
        hashlib.sha256(data).hexdigest(),
    )


def load_rules(root: Path) -> LoadedRules:
    """The workspace's ``review/conflict-rules.yaml`` if it has one, else the built-in rules."""
    path = root / WORKSPACE_RULES
    if not path.is_file():
        return builtin_rules()
    data = path.read_bytes()
    origin = WORKSPACE_RULES.as_posix()
    return LoadedRules(parse_rules(data, origin), origin, hashlib.sha256(data).hexdigest())


# -- screening -------------------------------------------------------------------


def normal(name: str) -> str:
    """The comparison form of an organisation name (see :mod:`scaleguard.review.names`)."""
    return organisation_key(name)


def _minus(duration: Duration, day: date) -> date:
    back = Duration(
        years=-duration.years, months=-duration.months, weeks=-duration.weeks, days=-duration.days
    )
    return back.add_to(day)


def _timing(rule: Rule, i: Interest, as_of: date, window_end: date) -> bool:
    active = i.from_date <= window_end and (i.to_date is None or i.to_date >= as_of)
    ended = i.to_date is not None and i.to_date < as_of
    recent = ended and (
        rule.within is None or (i.to_date is not None and i.to_date >= _minus(rule.within, as_of))
    )
    if rule.when == "active":
        return active
    if rule.when == "ended":
        return recent
    return active or recent


def _matches(
    rule: Rule,
    i: Interest,
    as_of: date,
    window_end: date,
    developer: set[str],
    others: set[str],
    *,
    nearly: bool = False,
) -> bool:
    """Whether the interest falls under the rule; ``nearly``: with a name that is only
    a near match of a developer's (and no exact match)."""
    if i.kind not in rule.kinds or i.holder not in rule.holders:
        return False
    if (
        rule.relations
        and i.kind == "personal-tie"
        and (i.relation or "other") not in rule.relations
    ):
        return False
    party = normal(i.counterparty)
    if nearly:
        if rule.counterparty == "any" or party in developer or party in others:
            return False
        pool = developer if rule.counterparty == "developer" else others
        if not any(near(party, name) for name in pool):
            return False
    elif (rule.counterparty == "developer" and party not in developer) or (
        rule.counterparty == "other-developer" and (party not in others or party in developer)
    ):
        return False
    return _timing(rule, i, as_of, window_end)


def screen(
    reviewer: str,
    interests: Sequence[Interest],
    rules: LoadedRules,
    *,
    as_of: date,
    window_end: date,
    developer: Iterable[str],
    other_developers: Iterable[str] = (),
) -> Screening:
    """Each rule's result for the reviewer's declared interests."""
    names = sorted({*developer, *rules.rules.developer_aliases}, key=normal)
    own = {normal(n) for n in names}
    others = {normal(n) for n in other_developers} - own
    results = []
    for rule in rules.rules.rules:
        hits = [
            i.describe()
            for i in interests
            if _matches(rule, i, as_of, max(window_end, as_of), own, others)
        ]
        results.append(
            RuleResult(
                rule=rule.id,
                severity=rule.severity,
                description=rule.description,
                matched=bool(hits),
                reasons=tuple(hits),
            )
        )
        close = [
            f"{i.describe()} (the name is close to but not the same as a developer's: "
            "a person must confirm it is a different organisation)"
            for i in interests
            if _matches(rule, i, as_of, max(window_end, as_of), own, others, nearly=True)
        ]
        if close:
            results.append(
                RuleResult(
                    rule=f"{rule.id}.near-name",
                    severity="minor",
                    description=f"near name match for: {rule.description}",
                    matched=True,
                    reasons=tuple(close),
                )
            )
    return Screening(
        reviewer=reviewer,
        as_of=as_of,
        window_end=max(window_end, as_of),
        rules_origin=rules.origin,
        rules_sha256=rules.sha256,
        developer=tuple(names),
        results=tuple(results),
    )
