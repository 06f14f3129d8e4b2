"""Conflict screening cannot be spelled around: look-alike names match, near names are flagged."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import build_lab
from scaleguard.errors import ConflictError
from scaleguard.reports import service as reports
from scaleguard.review import service
from scaleguard.review.conflicts import builtin_rules, screen
from scaleguard.review.model import Interest, InterestSpec, ReviewerSpec
from scaleguard.review.names import near, organisation_key
from scaleguard.workspace import open_workspace
from workspace_copies import Copy

LAB = "Fictional Frontier Lab"
RULES = builtin_rules()

SPELLINGS = [
    "Fictional Frontier Lab, Inc.",
    "Fictional Frontier Lab LLC",
    "FICTIONAL FRONTIER LAB GmbH",
    "Fictional\u200b Frontier Lab",
    "Fic\u200btional Frontier\u2060 Lab",
    "F\u0456ctional Frontier Lab",  # Cyrillic i
    "Fictional Fr\u043ent\u0456er L\u0430b",  # Cyrillic o, i, a
    "".join(chr(ord(c) + 0xFEE0) if c != " " else "\u3000" for c in LAB),  # full width
    "\u202eFictional Frontier Lab\u202c",  # right-to-left override
    "  fictional   frontier lab ltd. ",
]


def _equity(party: str) -> Interest:
    return Interest("equity", party, "self", None, date(2024, 1, 1), None)


def _screen(*items: Interest) -> tuple[bool, list[str]]:
    result = screen(
        "R",
        items,
        RULES,
        as_of=date(2026, 11, 1),
        window_end=date(2026, 12, 1),
        developer=[LAB],
        other_developers=["Rival AI"],
    )
    return result.blocked, [r.rule for r in result.results if r.matched]


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_each_spelling_of_the_developer_is_the_developer(spelling: str) -> None:
    assert organisation_key(spelling) == organisation_key(LAB)
    blocked, rules = _screen(_equity(spelling))
    assert blocked and "reviewer-financial-interest" in rules


@pytest.mark.parametrize(
    "name", ["Fictional Frontier Labs", "Fictiona1 Frontier Lab", "Fictional Frontier"]
)
def test_a_near_name_is_at_least_a_minor_conflict(name: str) -> None:
    assert organisation_key(name) != organisation_key(LAB)
    blocked, rules = _screen(_equity(name))
    assert not blocked
    assert "reviewer-financial-interest.near-name" in rules


def test_an_unrelated_name_is_clear() -> None:
    assert _screen(_equity("Open Science Foundation")) == (False, [])


@given(
    junk=st.lists(
        st.sampled_from(["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e"]),
        max_size=5,
    ),
    positions=st.lists(st.integers(0, len(LAB)), max_size=5),
    suffix=st.sampled_from(["", ", Inc.", " Ltd", " LLC", " GmbH", " Corp.", " PBC"]),
    upper=st.booleans(),
)
@settings(max_examples=150, deadline=None)
def test_invisible_characters_suffixes_and_case_never_hide_the_developer(
    junk: list[str], positions: list[int], suffix: str, upper: bool
) -> None:
    name = LAB.upper() if upper else LAB
    for ch, pos in zip(junk, positions, strict=False):
        name = name[:pos] + ch + name[pos:]
    assert organisation_key(name + suffix) == organisation_key(LAB)


@given(st.text(max_size=60))
@settings(max_examples=200, deadline=None)
def test_keys_are_stable_and_near_is_symmetric(text: str) -> None:
    key = organisation_key(text)
    assert organisation_key(key) == key
    assert near(key, "fictional frontier lab") == near("fictional frontier lab", key)


def test_the_spelled_around_employer_is_refused_on_each_backend(
    tmp_path: Path, workspace_copy: Copy
) -> None:
    root = tmp_path / "lab"
    workspace_copy("lab", build_lab)  # demo.prepare(root, db_url=store_url), copied
    ws = open_workspace(root)
    try:
        report = reports.draft(ws, period="2026-Q4", models=["aurora-3"], by="rso")
        service.add_reviewer(
            ws, ReviewerSpec(name="Jonas", organisation="Institute", expertise=("evals",)), by="rso"
        )
        spec = InterestSpec.model_validate(
            {
                "reviewer": "Jonas",
                "kind": "equity",
                "counterparty": "F\u0456ctional Frontier Lab, Inc.",
                "from_date": date(2024, 5, 1),
            }
        )
        service.declare_interest(ws, spec, by="rso")
        with pytest.raises(ConflictError, match="major conflict of interest"):
            service.assign(ws, report.id, "Jonas", by="rso")
    finally:
        ws.close()
