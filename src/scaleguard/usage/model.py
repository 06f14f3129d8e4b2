"""The usage-policy document: clauses, their force, their examples and rules.

A usage policy is a versioned YAML document like a framework. Each clause says
what is prohibited, how strongly (``force``), whether a customer contract may
grant an exception to it (``waivable``), where the text comes from, which
deterministic rules detect it and which examples (requests that fall under it,
and benign look-alikes that do not) calibrate the embedding screen.

A red line is a clause with ``waivable: false``; its force must be
``red-line`` and no contract can lift it (see :mod:`scaleguard.usage.contracts`).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

ID_PATTERN = r"^[a-z][a-z0-9]*(?:[._-][a-z0-9]+)*$"
Force = Literal["red-line", "prohibited", "restricted"]
#: Order of strength: a contract may only move a clause rightwards.
FORCE_ORDER: dict[str, int] = {"restricted": 0, "prohibited": 1, "red-line": 2}
MAX_EXAMPLE_CHARS = 2000


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Source(_Strict):
    title: str = Field(min_length=1)
    url: str = Field(pattern=r"^https?://\S+$")
    section: str | None = None


def _check_regex(value: str) -> str:
    try:
        re.compile(value, re.IGNORECASE)
    except re.error as exc:
        raise ValueError(f"not a valid regular expression: {exc}") from None
    return value


class Rule(_Strict):
    """A deterministic rule: fires when every ``all_of`` pattern matches.

    A match of an ``unless`` pattern (benign context such as history or
    defence) never lets the request through: it only moves the rule's verdict
    from block to review, so a benign-sounding preamble cannot buy an allow.
    """

    id: str = Field(pattern=ID_PATTERN)
    all_of: list[str] = Field(min_length=1, max_length=8)
    unless: list[str] = Field(default_factory=list, max_length=8)
    band: Literal["block", "review"] = "block"

    @field_validator("all_of", "unless")
    @classmethod
    def _regexes(cls, values: list[str]) -> list[str]:
        return [_check_regex(v) for v in values]


class Examples(_Strict):
    positive: list[str] = Field(min_length=3, max_length=500)
    benign: list[str] = Field(min_length=3, max_length=500)

    @field_validator("positive", "benign")
    @classmethod
    def _texts(cls, values: list[str]) -> list[str]:
        for text in values:
            if not text.strip():
                raise ValueError("examples must not be empty")
            if len(text) > MAX_EXAMPLE_CHARS:
                raise ValueError(f"an example is over {MAX_EXAMPLE_CHARS} characters")
        return values


class Thresholds(_Strict):
    """Fixed thresholds for the embedding score; calibrated ones are used when absent."""

    review: float = Field(ge=-1.0, le=2.0)
    block: float = Field(ge=-1.0, le=2.0)

    @model_validator(mode="after")
    def _ordered(self) -> Thresholds:
        if self.review > self.block:
            raise ValueError("the review threshold must not be above the block threshold")
        return self


class Clause(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    category: str = Field(pattern=ID_PATTERN)
    force: Force
    waivable: bool
    text: str = Field(min_length=1)
    sources: list[Source] = Field(min_length=1)
    rules: list[Rule] = Field(default_factory=list)
    examples: Examples
    thresholds: Thresholds | None = None

    @model_validator(mode="after")
    def _red_line_consistent(self) -> Clause:
        problem = red_line_problem(self.force, self.waivable)
        if problem:
            raise ValueError(problem)
        return self

    @property
    def red_line(self) -> bool:
        return not self.waivable


def red_line_problem(force: object, waivable: object) -> str | None:
    """Why ``force`` and ``waivable`` disagree about a red line, or None."""
    if force == "red-line" and waivable is True:
        return (
            "a clause with force 'red-line' must have 'waivable: false' "
            "(red lines cannot be waived)"
        )
    if waivable is False and force in ("prohibited", "restricted"):
        return "a non-waivable clause is a red line: set 'force: red-line'"
    return None


class UsagePolicy(_Strict):
    id: str = Field(pattern=ID_PATTERN)
    version: str = Field(pattern=r"^[0-9A-Za-z][0-9A-Za-z.+-]*$")
    title: str = Field(min_length=1)
    effective: date | None = None
    clauses: list[Clause] = Field(min_length=1, max_length=200)
    #: Everyday requests that fall under no clause: benign look-alikes for every clause.
    background: list[str] = Field(default_factory=list, max_length=2000)

    @property
    def ref(self) -> str:
        return f"{self.id}@{self.version}"

    def clause(self, clause_id: str) -> Clause | None:
        for c in self.clauses:
            if c.id == clause_id:
                return c
        return None

    @property
    def red_lines(self) -> list[Clause]:
        return [c for c in self.clauses if c.red_line]


class PolicyDocument(_Strict):
    schema_version: Literal[1]
    policy: UsagePolicy
