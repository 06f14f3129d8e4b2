"""What changed between two usage-policy versions, and whether it weakens the policy.

Each change is classed ``weakening``, ``strengthening`` or ``neutral`` with
the reason, like the framework diff. Removing a red line, making it
waivable, lowering a clause's force, raising its thresholds or dropping its
rules or positive examples weakens the policy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from scaleguard.usage.loader import LoadedPolicy
from scaleguard.usage.model import FORCE_ORDER, Clause

Effect = Literal["weakening", "strengthening", "neutral"]


@dataclass(frozen=True)
class Change:
    clause: str
    kind: str
    effect: Effect
    reason: str
    red_line: bool

    def as_dict(self) -> dict[str, object]:
        return {
            "clause": self.clause,
            "kind": self.kind,
            "effect": self.effect,
            "reason": self.reason,
            "red_line": self.red_line,
        }


def diff_policies(old: LoadedPolicy, new: LoadedPolicy) -> list[Change]:
    before = {c.id: c for c in old.policy.clauses}
    after = {c.id: c for c in new.policy.clauses}
    out: list[Change] = []
    for cid, clause in before.items():
        if cid not in after:
            what = "red line" if clause.red_line else "clause"
            out.append(
                Change(
                    cid, "removed", "weakening", f"{what} '{clause.title}' removed", clause.red_line
                )
            )
    for cid, clause in after.items():
        if cid not in before:
            out.append(
                Change(
                    cid, "added", "strengthening", f"new clause '{clause.title}'", clause.red_line
                )
            )
        else:
            out.extend(_clause_changes(before[cid], clause))
    order = {"weakening": 0, "strengthening": 1, "neutral": 2}
    return sorted(out, key=lambda c: (order[c.effect], not c.red_line, c.clause, c.kind))


def _clause_changes(a: Clause, b: Clause) -> list[Change]:
    out: list[Change] = []
    red = a.red_line or b.red_line

    def add(kind: str, effect: Effect, reason: str) -> None:
        out.append(Change(a.id, kind, effect, reason, red))

    if a.waivable != b.waivable:
        if b.waivable:
            add("waivable", "weakening", "red line became waivable: contracts may now except it")
        else:
            add("waivable", "strengthening", "clause became a red line (not waivable)")
    if a.force != b.force:
        effect: Effect = (
            "weakening" if FORCE_ORDER[b.force] < FORCE_ORDER[a.force] else "strengthening"
        )
        add("force", effect, f"force {a.force} -> {b.force}")
    if a.thresholds != b.thresholds:
        ta, tb = a.thresholds, b.thresholds
        if ta is None or tb is None:
            add("thresholds", "neutral", "thresholds switched between calibrated and fixed")
        elif tb.block > ta.block or tb.review > ta.review:
            add(
                "thresholds",
                "weakening",
                f"thresholds raised (review {ta.review} -> {tb.review}, "
                f"block {ta.block} -> {tb.block}): fewer requests caught",
            )
        else:
            add("thresholds", "strengthening", "thresholds lowered: more requests caught")
    rules_a = {r.id: r for r in a.rules}
    rules_b = {r.id: r for r in b.rules}
    for rid in sorted(set(rules_a) - set(rules_b)):
        add("rule-removed", "weakening", f"rule {rid} removed")
    for rid in sorted(set(rules_b) - set(rules_a)):
        add("rule-added", "strengthening", f"rule {rid} added")
    for rid in sorted(set(rules_a) & set(rules_b)):
        ra, rb = rules_a[rid], rules_b[rid]
        if ra == rb:
            continue
        if len(rb.unless) > len(ra.unless) or (ra.band == "block" and rb.band == "review"):
            add("rule-changed", "weakening", f"rule {rid} now lets more through")
        else:
            add("rule-changed", "neutral", f"rule {rid} patterns changed")
    pos_a, pos_b = set(a.examples.positive), set(b.examples.positive)
    if pos_a - pos_b:
        add(
            "examples",
            "weakening",
            f"{len(pos_a - pos_b)} positive example(s) removed: the screen learns less",
        )
    if pos_b - pos_a:
        add("examples", "strengthening", f"{len(pos_b - pos_a)} positive example(s) added")
    if set(a.examples.benign) != set(b.examples.benign):
        add("benign-examples", "neutral", "benign look-alikes changed")
    if a.text != b.text:
        add("text", "neutral", "clause text changed (review the wording)")
    if a.title != b.title:
        add("title", "neutral", f"title '{a.title}' -> '{b.title}'")
    return out
