"""External review as typed values: what users declare, and what screening finds.

``ReviewerSpec`` and ``InterestSpec`` are parsed at the edge and refuse bad
input (an interest that ends before it starts, a personal tie without its
relation). ``Interest`` is what screening reads; ``Screening`` is its
result, stored with each assignment so the ledger shows why it was allowed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from scaleguard.textcheck import free_text, safe_name, visible

InterestKind = Literal["employment", "equity", "contract", "funding", "personal-tie"]
INTEREST_KINDS: tuple[InterestKind, ...] = (
    "employment",
    "equity",
    "contract",
    "funding",
    "personal-tie",
)
Holder = Literal["self", "reporting-chain", "organisation"]
HOLDERS: tuple[Holder, ...] = ("self", "reporting-chain", "organisation")
Relation = Literal["family", "romantic", "shared-housing", "other"]
RELATIONS: tuple[Relation, ...] = ("family", "romantic", "shared-housing", "other")
Verdict = Literal["agree", "partly", "disagree"]
VERDICTS: tuple[Verdict, ...] = ("agree", "partly", "disagree")
Severity = Literal["major", "minor"]

Name = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$"
    ),
    AfterValidator(visible),
]
#: A reviewer's name: also one script per word and no look-alike forms.
PersonName = Annotated[Name, AfterValidator(safe_name)]
LongText = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000),
    AfterValidator(free_text),
]


class _Spec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class ReviewerSpec(_Spec):
    name: PersonName
    organisation: Name
    expertise: tuple[Name, ...] = Field(min_length=1)


class InterestSpec(_Spec):
    """One declared interest; ``to_date`` None means it is ongoing."""

    reviewer: PersonName
    kind: InterestKind
    counterparty: Name
    holder: Holder = "self"
    relation: Relation | None = None
    from_date: date
    to_date: date | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> InterestSpec:
        if self.to_date is not None and self.to_date < self.from_date:
            raise ValueError(
                f"the interest ends ({self.to_date.isoformat()}) before it starts "
                f"({self.from_date.isoformat()})"
            )
        if self.kind == "personal-tie" and self.relation is None:
            raise ValueError(
                "a personal tie needs its relation: family, romantic, shared-housing or other"
            )
        if self.kind != "personal-tie" and self.relation is not None:
            raise ValueError("a relation is only declared for a personal tie")
        return self


@dataclass(frozen=True)
class Interest:
    kind: str
    counterparty: str
    holder: str
    relation: str | None
    from_date: date
    to_date: date | None
    note: str | None = None
    record_id: int = 0

    def describe(self) -> str:
        who = {"self": "the reviewer", "reporting-chain": "their reporting chain"}.get(
            self.holder, "their organisation"
        )
        what = f"{self.relation} tie with staff of" if self.relation else f"{self.kind} with"
        until = f"until {self.to_date.isoformat()}" if self.to_date else "ongoing"
        return f"{who}: {what} {self.counterparty} from {self.from_date.isoformat()} ({until})"


class RuleResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    rule: str
    severity: Severity
    description: str
    matched: bool
    reasons: tuple[str, ...] = ()


class Screening(BaseModel):
    """Every rule's result for one reviewer, as of a date; major conflicts block."""

    model_config = ConfigDict(frozen=True)

    reviewer: str
    as_of: date
    window_end: date
    rules_origin: str
    rules_sha256: str
    developer: tuple[str, ...]
    results: tuple[RuleResult, ...]

    @property
    def major(self) -> list[RuleResult]:
        return [r for r in self.results if r.matched and r.severity == "major"]

    @property
    def minor(self) -> list[RuleResult]:
        return [r for r in self.results if r.matched and r.severity == "minor"]

    @property
    def blocked(self) -> bool:
        return bool(self.major)

    def reason(self) -> str:
        """One sentence per major conflict: why assignment is refused."""
        return "; ".join(f"{r.rule} ({r.description}): {', '.join(r.reasons)}" for r in self.major)
