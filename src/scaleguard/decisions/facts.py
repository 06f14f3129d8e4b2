"""Establish the built-in facts a decision's conditions may name.

Every fact comes back with its value *and* the basis a reviewer can check:
which registry entries, scores and sources made it true or false. A fact that
cannot be established is ``None`` (unknown), never a silent ``False``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from scaleguard.decisions.model import DecisionInput, RegistryModel


@dataclass(frozen=True)
class FactValue:
    name: str
    value: bool | float | None
    basis: str
    sources: tuple[str, ...] = ()


def _describe(m: RegistryModel, domains: Iterable[str]) -> str:
    scores = ", ".join(f"{d} {m.scores[d]:g}" for d in domains if d in m.scores)
    released = f"released {m.released_on.isoformat()}" if m.released_on else "released"
    return f"{m.name} ({m.developer}, {released}; {scores})"


def comparable_competitors(
    inp: DecisionInput,
    domains: list[str],
    margin: float,
    cache: dict[tuple[str, ...], tuple[list[RegistryModel], list[str]]] | None = None,
) -> tuple[list[RegistryModel], list[str]]:
    """Released models of other developers at or above the subject, minus ``margin``.

    Returns the comparable models and the domains where the subject has no
    score (which makes any comparison unknown).
    """
    key = tuple(domains)
    if cache is not None and key in cache:
        return cache[key]
    subject = inp.model
    unscored = [d for d in domains if d not in subject.scores]
    out = []
    for other in inp.others:
        if other.own or other.developer == subject.developer or not other.released:
            continue
        if inp.as_of and other.released_on and other.released_on > inp.as_of:
            continue
        for d in domains:
            known = d in subject.scores and d in other.scores
            if known and other.scores[d] >= subject.scores[d] - margin:
                out.append(other)
                break
    result = sorted(out, key=lambda m: m.name), unscored
    if cache is not None:
        cache[key] = result
    return result


def safeguards_fact(
    unmet_crossed: list[tuple[str, str]], unmet_unresolved: list[tuple[str, str]], what: str
) -> tuple[bool | None, str]:
    """``required_safeguards_met`` / ``recommended_safeguards_met`` and their basis.

    False when a crossed threshold lacks an attestation; unknown when only an
    unresolved threshold (no evidence, or an ambiguous result) would need one
    that is not attested: nothing known is never "met".
    """
    if unmet_crossed:
        return False, "not attested: " + ", ".join(f"{s} (for {t})" for t, s in unmet_crossed)
    if unmet_unresolved:
        return None, (
            f"unknown: unresolved threshold(s) would need {what} safeguard(s) that are not "
            "attested: "
            + ", ".join(f"{s} (for {t})" for t, s in unmet_unresolved)
            + "; establish the thresholds' state or attest the safeguards"
        )
    return True, (
        f"every {what} safeguard of the crossed and unresolved thresholds is attested "
        "(or none is needed)"
    )


def derive_facts(
    inp: DecisionInput,
    domains: list[str],
    margin: float,
    required_met: bool | None,
    recommended_met: bool | None,
    required_basis: str,
    recommended_basis: str,
    cache: dict[tuple[str, ...], tuple[list[RegistryModel], list[str]]] | None = None,
) -> dict[str, FactValue]:
    facts: dict[str, FactValue] = {}

    def put(name: str, value: bool | float | None, basis: str, sources: Iterable[str] = ()) -> None:
        facts[name] = FactValue(name, value, basis, tuple(sources))

    put("required_safeguards_met", required_met, required_basis)
    put("recommended_safeguards_met", recommended_met, recommended_basis)

    if not domains:
        basis = "no threshold is crossed, so no risk domain is at stake"
        put("competitor_released_comparable", None, basis)
        put("developer_leads", None, basis)
        put("competitor_without_comparable_safeguards", None, basis)
        put("all_competitors_strong_safeguards", None, basis)
    else:
        comparable, unscored = comparable_competitors(inp, domains, margin, cache)
        at_stake = ", ".join(domains)
        sources = [s for m in comparable for s in m.sources]
        if comparable:
            names = "; ".join(_describe(m, domains) for m in comparable)
            basis = (
                f"comparable or superior released competitor model(s) in {at_stake}: {names} "
                f"(subject {inp.model.name}: "
                + ", ".join(
                    f"{d} {inp.model.scores[d]:g}" for d in domains if d in inp.model.scores
                )
                + f"; comparability margin {margin:g})"
            )
            put("competitor_released_comparable", True, basis, sources)
            put("developer_leads", False, basis, sources)
        elif unscored:
            basis = (
                f"{inp.model.name} has no capability score for {', '.join(unscored)} in the "
                "registry, so its standing against competitors is unknown"
            )
            put("competitor_released_comparable", None, basis)
            put("developer_leads", None, basis)
        else:
            rivals = sum(1 for m in inp.others if not m.own and m.released)
            basis = (
                f"no released competitor model reaches {inp.model.name}'s score in {at_stake} "
                f"(minus margin {margin:g}); {rivals} released competitor model(s) compared"
            )
            put("competitor_released_comparable", False, basis)
            put("developer_leads", True, basis)

        weak = [m for m in comparable if m.safeguards_level in ("none", "weak")]
        unknown = [m for m in comparable if m.safeguards_level == "unknown"]
        if weak:
            put(
                "competitor_without_comparable_safeguards",
                True,
                "comparable competitor model(s) recorded with weak or no safeguards: "
                + ", ".join(f"{m.name} ({m.safeguards_level})" for m in weak),
                [s for m in weak for s in m.sources],
            )
        elif unknown:
            put(
                "competitor_without_comparable_safeguards",
                None,
                "safeguards of comparable competitor model(s) not recorded: "
                + ", ".join(m.name for m in unknown),
            )
        else:
            put(
                "competitor_without_comparable_safeguards",
                False,
                "every comparable competitor model is recorded with comparable or strong safeguards"
                if comparable
                else "no comparable competitor model",
            )
        if not comparable:
            put(
                "all_competitors_strong_safeguards",
                False,
                "no competitor has a comparable model, so there is no competitor posture to match",
            )
        elif all(m.safeguards_level == "strong" for m in comparable):
            put(
                "all_competitors_strong_safeguards",
                True,
                "every comparable competitor model is recorded with strong safeguards: "
                + ", ".join(m.name for m in comparable),
            )
        elif unknown and not any(
            m.safeguards_level in ("none", "weak", "comparable") for m in comparable
        ):
            put(
                "all_competitors_strong_safeguards",
                None,
                "safeguards of some comparable competitor models are not recorded",
            )
        else:
            put(
                "all_competitors_strong_safeguards",
                False,
                "not every comparable competitor has strong safeguards: "
                + ", ".join(f"{m.name} ({m.safeguards_level})" for m in comparable),
            )

    for asserted in inp.asserted.values():
        derived = facts.get(asserted.name)
        if derived is not None and derived.value is not None:
            # The registry decides what it can: an assertion may fill a gap, never
            # overrule evidence on record (that would make decisions easy to game).
            if derived.value != asserted.value:
                facts[asserted.name] = FactValue(
                    derived.name,
                    derived.value,
                    derived.basis + f" (an assertion by {asserted.asserted_by} that it is "
                    f"{asserted.value} was not used: the registry establishes it)",
                    derived.sources,
                )
            continue
        facts[asserted.name] = FactValue(
            asserted.name,
            asserted.value,
            f"asserted by {asserted.asserted_by}",
            (asserted.source,),
        )
    return facts
