"""Rules for commitments and cadences: force, scope, gates, conditions, clocks.

A commitment with outcome ``relax_safeguards`` is a loophole, not an
obligation: everything that makes it apply in more cases weakens the
framework. Its findings about reach (force, scope, actions, trigger,
condition) are therefore read with the opposite polarity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import replace

from scaleguard.diff.conditions import compare as compare_conditions
from scaleguard.diff.context import DiffContext
from scaleguard.diff.model import Classification, Finding
from scaleguard.diff.rules import (
    COMMITTING_FORCES,
    ELEMENT_METADATA,
    ELEMENT_STRUCTURE,
    FORCE_RANK,
    GATE_KINDS,
    OBLIGATION_KINDS,
    OUTCOME_RANK,
    REVIEW_BY_HAND,
    SCOPE_RANK,
    STOPPING_OUTCOMES,
    TRIGGER_ON_RANK,
    element_common,
    fc,
    longer_weakens,
    orient,
    ranked,
    set_changes,
    text_changed,
    unrecognised,
)
from scaleguard.framework.conditions import Condition, describe
from scaleguard.framework.model import Cadence, Commitment, FrameworkDocument

COMMITMENT_FIELDS = frozenset(
    {
        "id",
        *ELEMENT_METADATA,
        *ELEMENT_STRUCTURE,
        "description",
        "kind",
        "force",
        "scope",
        "applies_to",
        "trigger",
        "condition",
        "outcome",
        "relaxes",
    }
)
TRIGGER_FIELDS = frozenset({"when", "thresholds", "domains", "safeguard_kinds"})
CADENCE_FIELDS = frozenset(
    {
        "id",
        *ELEMENT_METADATA,
        *ELEMENT_STRUCTURE,
        "description",
        "artifact",
        "force",
        "interval",
        "min_interval",
        "compute_multiple",
        "deadline",
    }
)


def polarity(c: Commitment) -> int:
    return -1 if c.outcome == "relax_safeguards" else 1


def binding_gate(c: Commitment) -> bool:
    """A binding commitment that can stop or hold back an action."""
    return c.force == "binding" and (c.kind in GATE_KINDS or c.outcome in STOPPING_OUTCOMES)


def relaxes_binding_gate(doc: FrameworkDocument, ids: Iterable[str]) -> bool:
    """Does a relax clause reach a binding gate of its document?"""
    wanted = set(ids)
    return any(binding_gate(c) for c in doc.commitments if c.id in wanted)


def commitment_presence(ctx: DiffContext, c: Commitment, added: bool) -> Finding:
    verb = "added" if added else "removed"
    field = fc("", None, c) if added else fc("", c, None)
    if c.outcome == "relax_safeguards":
        doc = ctx.b.doc if added else ctx.a.doc
        return Finding(
            "commitment.presence",
            "weakening" if added else "strengthening",
            f"clause that may set safeguards aside ({', '.join(c.relaxes)}) {verb}",
            (field,),
            critical=added and relaxes_binding_gate(doc, c.relaxes),
        )
    if c.kind in OBLIGATION_KINDS and c.force != "discretionary":
        return Finding(
            "commitment.presence",
            "strengthening" if added else "weakening",
            f"{c.force} {c.kind} obligation {verb}",
            (field,),
        )
    if c.force in COMMITTING_FORCES:
        return Finding(
            "commitment.presence",
            "strengthening" if added else "weakening",
            f"{c.force} {c.kind} commitment {verb}",
            (field,),
            critical=not added and binding_gate(c),
        )
    return Finding(
        "commitment.presence",
        "neutral",
        f"{c.force} {c.kind} commitment {verb}; it does not bind the developer",
        (field,),
    )


def compare_commitment(ctx: DiffContext, old: Commitment, new: Commitment) -> list[Finding]:
    reach: list[Finding] = []
    if old.force != new.force:
        reach.append(ranked("commitment.force", "force", old.force, new.force, FORCE_RANK, "force"))
    if old.scope != new.scope:
        reach.append(
            ranked(
                "commitment.scope",
                "scope",
                old.scope,
                new.scope,
                SCOPE_RANK,
                "scope",
                words=("narrowed", "widened"),
            )
        )
    reach.extend(
        set_changes(
            "commitment.applies_to",
            "applies_to",
            old.applies_to,
            new.applies_to,
            "actions",
            removed_verb="no longer governed",
            added_verb="newly governed",
        )
    )
    reach.extend(_trigger(ctx, old, new))
    cond = _condition(ctx, old, new)
    if cond is not None:
        reach.append(cond)
    out = [_orient(f, old, new) for f in reach]

    if old.outcome != new.outcome:
        out.append(
            ranked(
                "commitment.outcome",
                "outcome",
                old.outcome,
                new.outcome,
                OUTCOME_RANK,
                "outcome",
                words=("softened", "hardened"),
            )
        )
    relaxes = set_changes(
        "commitment.relaxes",
        "relaxes",
        old.relaxes,
        new.relaxes,
        "commitments it may set aside",
        polarity=-1,
        removed_verb="no longer include",
        added_verb="now include",
    )
    extends_to_gate = relaxes_binding_gate(ctx.b.doc, set(new.relaxes) - set(old.relaxes))
    out.extend(
        replace(f, critical=extends_to_gate) if f.classification == "weakening" else f
        for f in relaxes
    )
    out.extend(element_common(old, new))
    for f in (text_changed("commitment.kind", "kind", old.kind, new.kind, "commitment kind"),):
        if f is not None:
            out.append(f)
    out.extend(unrecognised(old, new, COMMITMENT_FIELDS))
    out.extend(unrecognised(old.trigger, new.trigger, TRIGGER_FIELDS, "trigger."))
    gate = binding_gate(old)
    return [
        replace(f, critical=f.critical or (gate and f.classification == "weakening")) for f in out
    ]


def _orient(f: Finding, old: Commitment, new: Commitment) -> Finding:
    """Read a reach finding with the commitment's polarity (unknown if it flipped)."""
    p_old, p_new = polarity(old), polarity(new)
    if p_old == p_new:
        return replace(f, classification=orient(f.classification, p_old))
    if f.classification in ("weakening", "strengthening"):
        return replace(
            f,
            classification="unclear",
            reason=f"{f.reason}; direction unknown because the outcome also changed to or "
            "from relax_safeguards",
        )
    return f


def _trigger(ctx: DiffContext, old: Commitment, new: Commitment) -> list[Finding]:
    out: list[Finding] = []
    a, b = old.trigger, new.trigger
    if a.when != b.when:
        out.append(
            ranked(
                "commitment.trigger",
                "trigger.when",
                a.when,
                b.when,
                TRIGGER_ON_RANK,
                "trigger",
                words=("narrowed", "widened"),
            )
        )
    out.extend(
        _restriction(
            "trigger.thresholds",
            a.thresholds,
            b.thresholds,
            lambda t: ctx.thresholds_a_to_b.get(t, t),
            lambda t: ctx.thresholds_b_to_a.get(t, t),
            "thresholds",
        )
    )
    same = _identity
    out.extend(_restriction("trigger.domains", a.domains, b.domains, same, same, "domains"))
    out.extend(
        _restriction(
            "trigger.safeguard_kinds",
            list(a.safeguard_kinds),
            list(b.safeguard_kinds),
            same,
            same,
            "safeguard kinds",
        )
    )
    return out


def _identity(x: str) -> str:
    return x


def _restriction(
    path: str,
    old: Iterable[str],
    new: Iterable[str],
    to_new: Callable[[str], str],
    to_old: Callable[[str], str],
    what: str,
) -> list[Finding]:
    """A trigger list: empty means "any", otherwise fires only for the items listed."""
    old_l, new_l = sorted(set(old)), sorted(set(new))
    rule = "commitment.trigger"
    if not old_l and not new_l:
        return []
    if not old_l:
        return [
            Finding(
                rule,
                "weakening",
                f"trigger now limited to {what}: {', '.join(new_l)}",
                (fc(path, [], new_l),),
            )
        ]
    if not new_l:
        return [
            Finding(
                rule,
                "strengthening",
                f"trigger no longer limited to {what} {', '.join(old_l)} (now any)",
                (fc(path, old_l, []),),
            )
        ]
    gone = [x for x in old_l if to_new(x) not in set(new_l)]
    came = [x for x in new_l if to_old(x) not in set(old_l)]
    out: list[Finding] = []
    if gone:
        out.append(
            Finding(
                rule,
                "weakening",
                f"trigger no longer fires for {what}: {', '.join(gone)}",
                tuple(fc(path, x, None) for x in gone),
            )
        )
    if came:
        out.append(
            Finding(
                rule,
                "strengthening",
                f"trigger now also fires for {what}: {', '.join(came)}",
                tuple(fc(path, None, x) for x in came),
            )
        )
    return out


def _condition(ctx: DiffContext, old: Commitment, new: Commitment) -> Finding | None:
    rule = "commitment.condition"
    field = (fc("condition", old.condition, new.condition),)
    c_old: Condition | None = ctx.a.conditions.get(old.id) if old.condition else None
    c_new: Condition | None = ctx.b.conditions.get(new.id) if new.condition else None
    if c_old is None and c_new is None:
        return None
    if c_old is None:
        assert c_new is not None
        return Finding(
            rule, "weakening", f"condition added: applies only when {describe(c_new)}", field
        )
    if c_new is None:
        return Finding(
            rule,
            "strengthening",
            f"condition removed (was: {describe(c_old)}): applies in every case",
            field,
        )
    relation = compare_conditions(c_old, c_new)
    if relation == "same":
        return None
    text = f"condition changed from '{describe(c_old)}' to '{describe(c_new)}'"
    cls: Classification
    if relation == "equivalent":
        cls, text = "neutral", f"condition rewritten with the same meaning ('{describe(c_new)}')"
    elif relation == "narrower":
        cls, text = "weakening", f"{text}: narrower, applies in fewer cases"
    elif relation == "wider":
        cls, text = "strengthening", f"{text}: wider, applies in more cases"
    else:
        cls, text = "unclear", f"{text}; {REVIEW_BY_HAND}"
    return Finding(rule, cls, text, field)


def cadence_presence(c: Cadence, added: bool) -> Finding:
    verb = "added" if added else "removed"
    field = fc("", None, c) if added else fc("", c, None)
    if c.force in COMMITTING_FORCES:
        return Finding(
            "cadence.presence",
            "strengthening" if added else "weakening",
            f"{c.force} recurring {c.artifact} {verb}",
            (field,),
        )
    return Finding(
        "cadence.presence",
        "neutral",
        f"{c.force} recurring {c.artifact} {verb}; it does not bind the developer",
        (field,),
    )


def compare_cadence(old: Cadence, new: Cadence) -> list[Finding]:
    out: list[Finding] = []
    if old.force != new.force:
        out.append(ranked("cadence.force", "force", old.force, new.force, FORCE_RANK, "force"))
    if old.interval != new.interval:
        out.append(
            longer_weakens("cadence.interval", "interval", old.interval, new.interval, "interval")
        )
    if old.compute_multiple != new.compute_multiple:
        out.append(
            longer_weakens(
                "cadence.compute_multiple",
                "compute_multiple",
                old.compute_multiple,
                new.compute_multiple,
                "compute multiple",
            )
        )
    if old.deadline != new.deadline:
        out.append(
            longer_weakens("cadence.deadline", "deadline", old.deadline, new.deadline, "deadline")
        )
    if old.min_interval != new.min_interval:
        out.append(
            Finding(
                "cadence.min_interval",
                "neutral",
                "lower end of the interval range changed; the longest gap is what binds",
                (fc("min_interval", old.min_interval, new.min_interval),),
            )
        )
    out.extend(element_common(old, new))
    for f in (
        text_changed(
            "cadence.artifact", "artifact", old.artifact, new.artifact, "recurring artifact"
        ),
    ):
        if f is not None:
            out.append(f)
    out.extend(unrecognised(old, new, CADENCE_FIELDS))
    return out
