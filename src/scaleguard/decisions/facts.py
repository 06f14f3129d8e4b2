"""Establish the built-in facts a decision's conditions may name.

Every fact comes back with its value *and* the basis a reviewer can check:
which registry entries, scores and sources made it true or false. A fact that
cannot be established is ``None`` (unknown), never a silent ``False``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from scaleguard.decisions.model import DecisionInput, RegistryModel


@dataclass(frozen=True)
class FactValue:
    name: str
    value: bool | float | None
    basis: str
    sources: tuple[str, ...] = ()


#: Said wherever a fact counts models that are not yet released.
DEVELOPING_NOTE = (
    "models of other developers recorded with status planned, training or internal count as "
    "'will soon develop' a comparable model"
)


def _describe(m: RegistryModel, domains: Iterable[str]) -> str:
    scores = ", ".join(f"{d} {m.scores[d]:g}" for d in domains if d in m.scores)
    if m.released:
        when = f"released {m.released_on.isoformat()}" if m.released_on else "released"
    else:
        when = f"in development, status {m.status}"
    return f"{m.name} ({m.developer}, {when}; {scores})"


CompetitorCache = dict[tuple[object, ...], tuple[list[RegistryModel], list[str]]]


def comparable_competitors(
    inp: DecisionInput,
    domains: list[str],
    margin: float,
    cache: CompetitorCache | None = None,
    *,
    developing: bool = False,
) -> tuple[list[RegistryModel], list[str]]:
    """Models of other developers at or above the subject, minus ``margin``.

    Released models only, or with ``developing`` also those the registry records
    as planned, in training or deployed internally. Returns the comparable models
    and the domains where the subject has no score (which makes any comparison
    unknown).
    """
    key = (*domains, developing)
    if cache is not None and key in cache:
        return cache[key]
    subject = inp.model
    unscored = [d for d in domains if d not in subject.scores]
    out = []
    for other in inp.others:
        if other.own or other.developer == subject.developer:
            continue
        if not (other.released or (developing and other.in_development)):
            continue
        if other.released and inp.as_of and other.released_on and other.released_on > inp.as_of:
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
    cache: CompetitorCache | None = None,
    *,
    highly_capable: FactValue | None = None,
    lead_domains: list[str] | None = None,
) -> dict[str, FactValue]:
    """The built-in facts. ``lead_domains`` (default: ``domains``) are where the lead
    and the competitors' posture are measured: for a framework that defines highly
    capable models, the domains of the thresholds that define them."""
    facts: dict[str, FactValue] = {}

    def put(name: str, value: bool | float | None, basis: str, sources: Iterable[str] = ()) -> None:
        facts[name] = FactValue(name, value, basis, tuple(sources))

    put("required_safeguards_met", required_met, required_basis)
    put("recommended_safeguards_met", recommended_met, recommended_basis)
    if highly_capable is not None:
        facts["highly_capable"] = highly_capable

    if not domains:
        basis = "no threshold is crossed, so no risk domain is at stake"
        put("competitor_released_comparable", None, basis)
        put("competitor_without_comparable_safeguards", None, basis)
    else:
        comparable, unscored = comparable_competitors(inp, domains, margin, cache)
        at_stake = ", ".join(domains)
        if comparable:
            names = "; ".join(_describe(m, domains) for m in comparable)
            basis = (
                f"comparable or superior released competitor model(s) in {at_stake}: {names} "
                f"(subject {_scores(inp, domains)}; comparability margin {margin:g})"
            )
            put("competitor_released_comparable", True, basis, _sources(comparable))
        elif unscored:
            put("competitor_released_comparable", None, _unscored(inp, unscored))
        else:
            rivals = sum(1 for m in inp.others if not m.own and m.released)
            put(
                "competitor_released_comparable",
                False,
                f"no released competitor model reaches {inp.model.name}'s score in {at_stake} "
                f"(minus margin {margin:g}); {rivals} released competitor model(s) compared",
            )
        weak = [m for m in comparable if m.safeguards_level in ("none", "weak")]
        unknown = [m for m in comparable if m.safeguards_level == "unknown"]
        if weak:
            put(
                "competitor_without_comparable_safeguards",
                True,
                "comparable competitor model(s) recorded with weak or no safeguards: "
                + ", ".join(f"{m.name} ({m.safeguards_level})" for m in weak),
                _sources(weak),
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
    _lead_facts(inp, lead_domains if lead_domains is not None else domains, margin, cache, put)

    for asserted in inp.asserted.values():
        derived = facts.get(asserted.name)
        if asserted.name == "highly_capable" and derived is not None:
            # only determinations (or a recorded override of one) establish it
            facts[asserted.name] = FactValue(
                derived.name,
                derived.value,
                derived.basis + f" (an assertion by {asserted.asserted_by} that it is "
                f"{asserted.value} was not used: record evidence or override a determination)",
                derived.sources,
            )
            continue
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


def _lead_facts(
    inp: DecisionInput,
    domains: list[str],
    margin: float,
    cache: CompetitorCache | None,
    put: Callable[[str, bool | float | None, str, Iterable[str]], None],
) -> None:
    """``developer_leads`` and ``all_competitors_strong_safeguards``: released *and*
    in-development competitor models count ("has developed, or will soon develop")."""
    if not domains:
        basis = "no threshold is crossed, so no risk domain is at stake"
        put("developer_leads", None, basis, ())
        put("all_competitors_strong_safeguards", None, basis, ())
        return
    rivals, unscored = comparable_competitors(inp, domains, margin, cache, developing=True)
    at = ", ".join(domains)
    if rivals:
        names = "; ".join(_describe(m, domains) for m in rivals)
        put(
            "developer_leads",
            False,
            f"a competitor has released or is developing a comparable or superior model in {at}: "
            f"{names} (subject {_scores(inp, domains)}; comparability margin {margin:g}); "
            + DEVELOPING_NOTE,
            _sources(rivals),
        )
    elif unscored:
        put("developer_leads", None, _unscored(inp, unscored), ())
    else:
        counted = sum(1 for m in inp.others if not m.own and (m.released or m.in_development))
        put(
            "developer_leads",
            True,
            f"no competitor model, released or in development, reaches {inp.model.name}'s score "
            f"in {at} (minus margin {margin:g}); {counted} competitor model(s) compared; "
            + DEVELOPING_NOTE,
            (),
        )
    if not rivals:
        put(
            "all_competitors_strong_safeguards",
            False,
            "no competitor has released or is developing a comparable model, so there is no "
            "competitor posture to match",
            (),
        )
    elif all(m.safeguards_level == "strong" for m in rivals):
        put(
            "all_competitors_strong_safeguards",
            True,
            "every competitor with a comparable model, released or in development, is recorded "
            "with strong safeguards: " + ", ".join(m.name for m in rivals),
            _sources(rivals),
        )
    elif any(m.safeguards_level == "unknown" for m in rivals) and not any(
        m.safeguards_level in ("none", "weak", "comparable") for m in rivals
    ):
        put(
            "all_competitors_strong_safeguards",
            None,
            "safeguards of some comparable competitor models are not recorded: "
            + ", ".join(m.name for m in rivals if m.safeguards_level == "unknown"),
            (),
        )
    else:
        put(
            "all_competitors_strong_safeguards",
            False,
            "not every competitor with a comparable model has strong safeguards: "
            + ", ".join(f"{m.name} ({m.safeguards_level})" for m in rivals),
            _sources(rivals),
        )


def _scores(inp: DecisionInput, domains: Iterable[str]) -> str:
    m = inp.model
    return f"{m.name}: " + ", ".join(f"{d} {m.scores[d]:g}" for d in domains if d in m.scores)


def _sources(models: Iterable[RegistryModel]) -> list[str]:
    return [s for m in models for s in m.sources]


def _unscored(inp: DecisionInput, unscored: list[str]) -> str:
    return (
        f"{inp.model.name} has no capability score for {', '.join(unscored)} in the "
        "registry, so its standing against competitors is unknown"
    )
