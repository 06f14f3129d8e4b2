"""Deterministic rules: compiled once per policy, run on every view of a request.

Rules are the high-precision first stage of the cascade. A rule fires when
all of its patterns match one view; a matching ``unless`` pattern (benign
context) moves its verdict from block to review, never to allow.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from scaleguard.usage.model import Clause

#: Patterns run on at most this many characters of a view at a time (windows overlap).
RULE_WINDOW = 4000
RULE_OVERLAP = 400


@dataclass(frozen=True)
class CompiledRule:
    clause: str
    id: str
    all_of: tuple[re.Pattern[str], ...]
    unless: tuple[re.Pattern[str], ...]
    band: str

    @property
    def ref(self) -> str:
        return f"{self.clause}/{self.id}"


@dataclass(frozen=True)
class RuleHit:
    rule: str
    clause: str
    band: str
    view: str
    matched: tuple[str, ...]
    softened: bool


def compile_rules(clauses: list[Clause]) -> list[CompiledRule]:
    out = []
    for clause in clauses:
        for rule in clause.rules:
            out.append(
                CompiledRule(
                    clause=clause.id,
                    id=rule.id,
                    all_of=tuple(re.compile(p, re.IGNORECASE) for p in rule.all_of),
                    unless=tuple(re.compile(p, re.IGNORECASE) for p in rule.unless),
                    band=rule.band,
                )
            )
    return out


def _chunks(text: str) -> list[str]:
    if len(text) <= RULE_WINDOW:
        return [text]
    step = RULE_WINDOW - RULE_OVERLAP
    return [text[i : i + RULE_WINDOW] for i in range(0, len(text) - RULE_OVERLAP, step)]


def run_rules(rules: list[CompiledRule], view_kind: str, text: str) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for rule in rules:
        for chunk in _chunks(text):
            matches = []
            for pattern in rule.all_of:
                m = pattern.search(chunk)
                if m is None:
                    break
                matches.append(m.group(0))
            else:
                softened = any(p.search(chunk) for p in rule.unless)
                band = "review" if softened else rule.band
                hits.append(
                    RuleHit(rule.ref, rule.clause, band, view_kind, tuple(matches), softened)
                )
                break
    return hits
