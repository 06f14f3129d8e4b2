"""Usage policies and contracts: loading, every problem located, red lines never lifted."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaleguard.errors import NotFoundError, ScaleguardError
from scaleguard.usage.contracts import (
    RefusedContract,
    effective_clauses,
    load_contract_bytes,
)
from scaleguard.usage.diff import diff_policies
from scaleguard.usage.loader import (
    DEFAULT_POLICY,
    UsagePolicyError,
    load_policy,
    load_policy_bytes,
)

TODAY = date(2026, 11, 26)
RED = ("surveillance.mass-domestic", "weapons.autonomous-lethal", "weapons.cbrn")


def builtin_text() -> str:
    from importlib import resources

    return (
        resources.files("scaleguard.usage.builtin")
        .joinpath(f"{DEFAULT_POLICY}.yaml")
        .read_text("utf-8")
    )


def contract(body: str) -> str:
    return (
        "schema_version: 1\ncontract:\n  customer: acme-gov\n  version: '1'\n"
        "  policy: scaleguard-usage@1.0\n" + body
    )


def test_builtin_policy_has_three_red_lines_with_sources() -> None:
    policy = load_policy()
    assert policy.ref == DEFAULT_POLICY
    assert sorted(c.id for c in policy.policy.red_lines) == sorted(RED)
    for clause in policy.policy.clauses:
        assert clause.sources and all(s.url.startswith("https://") for s in clause.sources)
        assert len(clause.examples.positive) >= 8 and len(clause.examples.benign) >= 8
    assert len(policy.digest) == 64


def test_unknown_builtin_is_not_found() -> None:
    with pytest.raises(NotFoundError, match="no built-in usage policy"):
        load_policy("scaleguard-usage@9.9")


def test_every_problem_is_reported_at_once_with_positions(tmp_path: Path) -> None:
    text = builtin_text()
    text = text.replace(
        "force: red-line\n      waivable: false", "force: red-line\n      waivable: true", 1
    )
    text = text.replace("id: weapons.conventional", "id: weapons.cbrn", 1)
    text = text.replace(
        "    - id: surveillance.mass-domestic\n",
        "    - id: surveillance.mass-domestic\n      colour: red\n",
        1,
    )
    with pytest.raises(UsagePolicyError) as err:
        load_policy_bytes(text, "p.yaml")
    rendered = err.value.render()
    messages = [p.message for p in err.value.problems]
    assert any("must have 'waivable: false'" in m for m in messages)
    assert any("duplicate clause id 'weapons.cbrn'" in m for m in messages)
    assert any("unknown key 'colour'" in m for m in messages)
    assert all(p.line is not None and p.column is not None for p in err.value.problems)
    assert "p.yaml:" in rendered


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "is empty"),
        (b"\xff\xfe\x00bad", "not valid UTF-8"),
        (b"schema_version: 1\npolicy: [\n", "not valid YAML"),
        (b"- a\n- b\n", "mapping at the top level"),
    ],
)
def test_bad_documents_get_clear_errors(data: bytes, message: str) -> None:
    with pytest.raises(UsagePolicyError, match=message):
        load_policy_bytes(data, "bad.yaml")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_mutated_policies_load_or_fail_cleanly(data: st.DataObject) -> None:
    raw = yaml.safe_load(builtin_text())
    clause = data.draw(st.integers(0, len(raw["policy"]["clauses"]) - 1))
    key = data.draw(
        st.sampled_from(
            ["id", "force", "waivable", "text", "sources", "examples", "rules", "extra"]
        )
    )
    value = data.draw(
        st.one_of(
            st.none(),
            st.integers(),
            st.text(max_size=20),
            st.booleans(),
            st.lists(st.text(max_size=5), max_size=3),
        )
    )
    raw["policy"]["clauses"][clause][key] = value
    text = yaml.safe_dump(raw, sort_keys=False)
    try:
        loaded = load_policy_bytes(text, "m.yaml")
    except UsagePolicyError as exc:
        assert exc.problems or exc.message
        for p in exc.problems:
            assert p.file == "m.yaml"
        return
    for c in loaded.policy.clauses:
        assert c.red_line == (c.force == "red-line")


# -- contracts ------------------------------------------------------------------------


def test_a_contract_that_tightens_is_accepted() -> None:
    policy = load_policy()
    loaded = load_contract_bytes(
        contract(
            "  tighten:\n    - clause: surveillance.mass-domestic\n"
            "      lower_thresholds_by: 0.05\n"
            "    - clause: military.operations\n      force: prohibited\n"
            "  exceptions:\n    - clause: cyber.malicious-code\n"
            "      scope: authorised red-team tests\n"
            "      reason: contracted penetration testing\n      approver: board\n"
            "      expires: 2027-01-31\n"
        ),
        "c.yaml",
        policy,
        today=TODAY,
    )
    eff = {e.clause.id: e for e in effective_clauses(policy, loaded, today=TODAY)}
    assert eff["surveillance.mass-domestic"].lower_by == 0.05
    assert eff["military.operations"].force == "prohibited"
    assert eff["cyber.malicious-code"].exception is not None
    # After the expiry date the exception no longer applies (fail closed).
    later = {e.clause.id: e for e in effective_clauses(policy, loaded, today=date(2027, 2, 1))}
    assert later["cyber.malicious-code"].exception is None


@pytest.mark.parametrize(
    ("body", "red", "line"),
    [
        (
            "  exceptions:\n    - clause: weapons.cbrn\n      scope: vaccine research\n"
            "      reason: customer asked\n      approver: sales\n      expires: 2027-01-01\n",
            "weapons.cbrn",
            7,
        ),
        (
            "  tighten:\n    - clause: surveillance.mass-domestic\n"
            "      lower_thresholds_by: -0.2\n",
            "surveillance.mass-domestic",
            8,
        ),
        (
            "  tighten:\n    - clause: weapons.autonomous-lethal\n      force: restricted\n",
            "weapons.autonomous-lethal",
            8,
        ),
        (
            "  waivers:\n    - surveillance.mass-domestic\n",
            "surveillance.mass-domestic",
            6,
        ),
        (
            "  tighten:\n    - clause: surveillance.mass-domestic\n      expires: 2027-01-01\n",
            "surveillance.mass-domestic",
            8,
        ),
        (
            "  clauses:\n    - id: weapons.cbrn\n      title: narrower CBRN\n      category: cbrn\n"
            "      force: prohibited\n      waivable: true\n      text: only nuclear\n"
            "      sources: [{title: t, url: 'https://example.org'}]\n"
            "      examples: {positive: [a, b, c], benign: [d, e, f]}\n",
            "weapons.cbrn",
            7,
        ),
    ],
    ids=["exception", "raise-thresholds", "weaker-force", "unknown-key", "expiry", "redefine"],
)
def test_contracts_that_lift_a_red_line_are_refused(body: str, red: str, line: int) -> None:
    with pytest.raises(RefusedContract) as err:
        load_contract_bytes(contract(body), "gov.yaml", load_policy(), today=TODAY)
    problems = [p for p in err.value.problems if red in p.message]
    assert problems, err.value.render()
    assert problems[0].file == "gov.yaml" and problems[0].line == line
    if "expires" not in body or "exceptions" in body:
        assert red in err.value.message or red in err.value.render()


def test_expired_exception_and_unknown_clause_are_errors() -> None:
    body = (
        "  exceptions:\n    - clause: cyber.malicious-code\n      scope: red team\n"
        "      reason: tests\n      approver: board\n      expires: 2026-01-01\n"
        "  tighten:\n    - clause: no.such-clause\n"
    )
    with pytest.raises(RefusedContract) as err:
        load_contract_bytes(contract(body), "c.yaml", load_policy(), today=TODAY)
    messages = " ".join(p.message for p in err.value.problems)
    assert "expired on 2026-01-01" in messages and "no clause 'no.such-clause'" in messages


_CLAUSES = st.sampled_from([*RED, "privacy.individual-tracking", "military.operations", "zz.none"])


@settings(max_examples=80, deadline=None)
@given(
    tighten=st.lists(
        st.fixed_dictionaries(
            {"clause": _CLAUSES},
            optional={
                "lower_thresholds_by": st.floats(-1, 1, allow_nan=False),
                "force": st.sampled_from(["restricted", "prohibited", "red-line", "none"]),
            },
        ),
        max_size=3,
    ),
    exceptions=st.lists(
        st.fixed_dictionaries(
            {
                "clause": _CLAUSES,
                "scope": st.just("scope"),
                "reason": st.just("reason"),
                "approver": st.just("a"),
                "expires": st.sampled_from(["2025-01-01", "2027-01-01", "not a date"]),
            }
        ),
        max_size=3,
    ),
)
def test_no_contract_that_loads_ever_weakens_a_red_line(
    tighten: list[dict[str, object]], exceptions: list[dict[str, object]]
) -> None:
    policy = load_policy()
    doc = {
        "schema_version": 1,
        "contract": {
            "customer": "x",
            "version": "1",
            "policy": policy.ref,
            "tighten": tighten,
            "exceptions": exceptions,
        },
    }
    try:
        loaded = load_contract_bytes(yaml.safe_dump(doc), "h.yaml", policy, today=TODAY)
    except ScaleguardError as exc:
        assert exc.problems
        return
    for e in effective_clauses(policy, loaded, today=TODAY):
        if e.clause.id in RED:
            assert e.force == "red-line" and e.exception is None and e.lower_by >= 0


def test_diff_classifies_weakening() -> None:
    old = load_policy()
    raw = yaml.safe_load(builtin_text())
    raw["policy"]["version"] = "1.1"
    cbrn = next(c for c in raw["policy"]["clauses"] if c["id"] == "weapons.cbrn")
    cbrn["rules"] = cbrn["rules"][1:]
    raw["policy"]["clauses"] = [
        c for c in raw["policy"]["clauses"] if c["id"] != "weapons.autonomous-lethal"
    ]
    new = load_policy_bytes(yaml.safe_dump(raw), "new.yaml")
    changes = diff_policies(old, new)
    kinds = {(c.clause, c.kind, c.effect) for c in changes}
    assert ("weapons.autonomous-lethal", "removed", "weakening") in kinds
    assert ("weapons.cbrn", "rule-removed", "weakening") in kinds
    assert changes[0].effect == "weakening" and changes[0].red_line
