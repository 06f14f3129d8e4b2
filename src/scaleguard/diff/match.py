"""Pair the elements of two documents, so that a rename reads as a rename.

Elements pair by identical id. Thresholds also pair through their
``legacy_aliases``: a threshold of one document pairs with a threshold of the
other when the id of either appears among the other's aliases, or when they
share an alias. Names are compared after case folding and dropping every
character that is not a letter or digit, so ``AI R&D-4``, ``ai-rd-4`` and
``AI_RD_4`` are the same name.

Pairing is symmetric by construction: candidate pairs are ranked by a key that
does not depend on which document is "old", so swapping the documents swaps
every pair and changes nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Pairing(Generic[T]):
    """Matched elements, plus what only one side has (each list in document order)."""

    pairs: tuple[tuple[T, T], ...]
    only_a: tuple[T, ...]
    only_b: tuple[T, ...]


def norm_name(text: str) -> str:
    """The form under which ids and aliases are compared."""
    return "".join(ch for ch in text.casefold() if ch.isalnum())


def pair_by_key(a: Sequence[T], b: Sequence[T], key: Callable[[T], str]) -> Pairing[T]:
    """Pair elements whose keys are equal (ids are unique within a document)."""
    b_by_key = {key(x): x for x in b}
    a_keys = {key(x) for x in a}
    pairs = tuple((x, b_by_key[key(x)]) for x in a if key(x) in b_by_key)
    only_a = tuple(x for x in a if key(x) not in b_by_key)
    only_b = tuple(x for x in b if key(x) not in a_keys)
    return Pairing(pairs, only_a, only_b)


def pair_with_aliases(
    a: Sequence[T],
    b: Sequence[T],
    key: Callable[[T], str],
    aliases: Callable[[T], Sequence[str]],
) -> Pairing[T]:
    """Pair by id first, then by aliases among what is left."""
    exact = pair_by_key(a, b, key)
    candidates: list[tuple[int, tuple[str, str], T, T]] = []
    for x in exact.only_a:
        x_id = norm_name(key(x))
        x_names = {x_id} | {norm_name(n) for n in aliases(x)}
        for y in exact.only_b:
            y_id = norm_name(key(y))
            y_names = {y_id} | {norm_name(n) for n in aliases(y)}
            if not (x_names & y_names):
                continue
            # Tier 1: one side's id is a name of the other; tier 2: only an alias is shared.
            tier = 1 if (x_id in y_names or y_id in x_names) else 2
            ids = sorted((key(x), key(y)))
            candidates.append((tier, (ids[0], ids[1]), x, y))
    candidates.sort(key=lambda c: (c[0], c[1]))
    used_a: set[str] = set()
    used_b: set[str] = set()
    alias_pairs: list[tuple[T, T]] = []
    for _, _, x, y in candidates:
        if key(x) in used_a or key(y) in used_b:
            continue
        used_a.add(key(x))
        used_b.add(key(y))
        alias_pairs.append((x, y))
    order_a = {key(x): i for i, x in enumerate(a)}
    pairs = sorted([*exact.pairs, *alias_pairs], key=lambda p: order_a[key(p[0])])
    return Pairing(
        tuple(pairs),
        tuple(x for x in exact.only_a if key(x) not in used_a),
        tuple(y for y in exact.only_b if key(y) not in used_b),
    )
