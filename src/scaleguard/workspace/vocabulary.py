"""Names a user types must name something: typos are refused, never silently ignored.

An indicator naming a threshold no framework has (``novle-cb``), a fact no
framework can use (``devloper_leads``) or a safeguard standard no framework
defines (``asl-9-magic``) would be recorded and then take no effect at all:
the decision would simply not see it. Each is refused as bad input with the
closest known name (``difflib``), so a typo is found when it is made.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from scaleguard.errors import InputError, Problem
from scaleguard.framework.facts import BUILTIN_FACTS
from scaleguard.framework.library import Library
from scaleguard.workspace.config import IndicatorSection, locate_in_config


def closest(value: str, known: Iterable[str]) -> str | None:
    """The known name most like ``value``, if one is reasonably close."""
    found = difflib.get_close_matches(value, sorted(set(known)), n=1, cutoff=0.6)
    return found[0] if found else None


def suggestion(value: str, known: Iterable[str], what: str) -> str:
    names = sorted(set(known))
    near = closest(value, names)
    if near is not None:
        return f"did you mean {near!r}?"
    if not names:
        return f"no {what} are defined"
    nearest = difflib.get_close_matches(value, names, n=1, cutoff=0.0)
    return f"the closest known of {len(names)} {what} is {nearest[0]!r}"


def check_indicators(
    indicators: Iterable[IndicatorSection], library: Library, config_text: str, file: str
) -> None:
    """Every workspace indicator names a known framework id and known thresholds."""
    frameworks = library.vocabularies()
    ids = {fw.id for fw in frameworks}
    problems: list[Problem] = []
    for i, ind in enumerate(indicators):
        pool = frameworks
        if ind.framework is not None:
            if ind.framework not in ids:
                line, col = locate_in_config(config_text, ("indicators", i, "framework"))
                problems.append(
                    Problem(
                        f"indicator {ind.id!r} names unknown framework {ind.framework!r}",
                        hint=suggestion(ind.framework, ids, "frameworks"),
                        file=file,
                        line=line,
                        column=col,
                        path=f"$.indicators[{i}].framework",
                    )
                )
                continue
            pool = [fw for fw in frameworks if fw.id == ind.framework]
        known = {n for fw in pool for n in fw.thresholds}
        for name in ind.thresholds:
            if name in known:
                continue
            line, col = locate_in_config(config_text, ("indicators", i, "thresholds"))
            problems.append(
                Problem(
                    f"indicator {ind.id!r} names unknown threshold {name!r}",
                    hint=suggestion(name, known, "thresholds"),
                    file=file,
                    line=line,
                    column=col,
                    path=f"$.indicators[{i}].thresholds",
                )
            )
    if problems:
        raise InputError(
            f"{file}: {len(problems)} indicator name(s) match nothing, so the evidence they "
            "describe would take no effect",
            hint="fix the names in scaleguard.toml ('scaleguard frameworks show ID' lists "
            "thresholds)",
            problems=problems,
        )


def check_fact_name(name: str, library: Library) -> None:
    """A fact is asserted only under a name some framework's conditions can use."""
    known = set(BUILTIN_FACTS)
    for words in library.vocabularies():
        known.update(words.facts)
    if name not in known:
        raise InputError(
            f"no framework knows a fact called {name!r}: the assertion would take no effect",
            hint=suggestion(name, known, "facts") + " ('scaleguard frameworks facts' lists them)",
        )


def check_standard(standard: str, library: Library) -> None:
    """A safeguard attestation names a standard some framework defines."""
    known = {s for words in library.vocabularies() for s in words.standards}
    if standard not in known:
        raise InputError(
            f"no framework defines a safeguard standard {standard!r}: the attestation would "
            "take no effect",
            hint=suggestion(standard, known, "safeguard standards")
            + " ('scaleguard frameworks show ID' lists them)",
        )
