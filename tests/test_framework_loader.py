"""Loader errors: one test per kind of problem, each located at file:line:column."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from scaleguard.errors import FrameworkError, Problem
from scaleguard.framework.loader import load_bytes, load_file
from scaleguard.framework.yamlsource import read_yaml

DATA = Path(__file__).parent / "data"
MINIMAL = (DATA / "minimal.yaml").read_text()


def minimal() -> dict[str, Any]:
    # our own reader, not yaml.safe_load: YAML 1.1 would turn dates into objects
    data: dict[str, Any] = read_yaml(MINIMAL, "minimal.yaml")[0]
    return data


def load_dict(data: dict[str, Any]) -> Any:
    return load_bytes(yaml.safe_dump(data, sort_keys=False), "doc.yaml")


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(FrameworkError) as info:
        load_bytes(text, "doc.yaml")
    return info.value.problems


def only_problem(text: str) -> Problem:
    found = problems_of(text)
    assert len(found) == 1, [p.render() for p in found]
    return found[0]


def replace_line(old: str, new: str) -> str:
    assert old in MINIMAL, old
    return MINIMAL.replace(old, new, 1)


def line_of(text: str, needle: str) -> int:
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_minimal_document_loads() -> None:
    fw = load_file(DATA / "minimal.yaml")
    assert fw.ref == "example-lab@1.0"
    assert fw.doc.thresholds[0].indicators[0].early_warning == 0.7
    assert "delay-if-leading" in fw.conditions
    assert len(fw.digest) == 64


def test_digest_ignores_layout_but_not_content() -> None:
    a = load_bytes(MINIMAL, "a.yaml")
    b = load_bytes("# a comment\n" + MINIMAL.replace("level: 2\n", "level:    2\n"), "b.yaml")
    c = load_bytes(MINIMAL.replace("level: 2\n", "level: 3\n"), "c.yaml")
    assert a.digest == b.digest
    assert a.digest != c.digest


def test_yaml_syntax_error_is_located() -> None:
    text = replace_line("  title: Example Scaling Policy", '  title: "unterminated')
    p = only_problem(text)
    assert p.file == "doc.yaml" and p.line is not None
    assert "YAML syntax error" in p.message
    assert p.hint


def test_tab_indentation_gets_a_hint() -> None:
    text = replace_line("  developer: Example Lab", "\tdeveloper: Example Lab")
    p = only_problem(text)
    assert "tab" in p.hint or "indentation" in p.hint


def test_unknown_key_with_suggestion() -> None:
    text = replace_line("  developer: Example Lab", "  developer: Example Lab\n  devloper: X")
    p = only_problem(text)
    assert p.message == "unknown key 'devloper'"
    assert "did you mean 'developer'" in p.hint
    assert p.line == line_of(text, "devloper:") and p.column == 3


def test_wrong_type_is_reported_at_the_value() -> None:
    text = replace_line("    level: 1\n", "    level: high\n")
    p = only_problem(text)
    assert p.path == "$.thresholds[0].level"
    assert p.line == line_of(text, "level: high")


def test_unquoted_version_hints_quoting() -> None:
    p = only_problem(replace_line('  version: "1.0"', "  version: 1.0"))
    assert "quote it" in p.hint


def test_missing_required_key() -> None:
    p = only_problem(replace_line("  developer: Example Lab\n", ""))
    assert p.message == "missing required key 'developer'"
    assert p.path == "$.framework"


def test_duplicate_key() -> None:
    text = replace_line("  developer: Example Lab", "  developer: Example Lab\n  developer: Other")
    p = only_problem(text)
    assert "duplicate key 'developer'" in p.message
    assert p.line == line_of(text, "developer: Other")


def test_duplicate_id() -> None:
    data = minimal()
    data["risk_domains"].append(dict(data["risk_domains"][0]))
    with pytest.raises(FrameworkError) as info:
        load_dict(data)
    assert any("duplicate id 'bio'" in p.message for p in info.value.problems)


def test_dangling_safeguard_reference() -> None:
    p = only_problem(
        replace_line("      - standard: level-2-security", "      - standard: level-3")
    )
    assert p.message == "unknown safeguard standard 'level-3'"
    assert "level-2-security" in p.hint


def test_dangling_domain_and_source_references() -> None:
    text = replace_line("    domain: bio", "    domain: chem").replace(
        '{doc: policy, section: "§1"}', '{doc: polcy, section: "§1"}'
    )
    messages = {p.message for p in problems_of(text)}
    assert messages == {"unknown risk domain 'chem'", "unknown source 'polcy'"}


def test_bad_date() -> None:
    p = only_problem(replace_line("  effective_date: 2026-01-15", "  effective_date: 2026-02-30"))
    assert p.path == "$.framework.effective_date"
    assert "YYYY-MM-DD" in p.hint


def test_bad_duration() -> None:
    p = only_problem(replace_line("    interval: P6M", "    interval: 6 months"))
    assert p.path == "$.cadences[0].interval"
    assert "P6M" in p.message


def test_unknown_fact_in_condition() -> None:
    p = only_problem(replace_line("        - fact: developer_leads", "        - fact: we_lead"))
    assert p.message == "unknown fact 'we_lead'"
    assert p.path == "$.commitments[1].condition.all[0].fact"


def test_condition_type_error() -> None:
    text = replace_line(
        "        - fact: developer_leads", "        - fact: developer_leads\n          at_least: 3"
    )
    p = only_problem(text)
    assert "boolean" in p.message


def test_condition_on_binding_commitment() -> None:
    data = minimal()
    data["commitments"][0]["condition"] = {"fact": "developer_leads"}
    with pytest.raises(FrameworkError) as info:
        load_dict(data)
    assert any("cannot carry a condition" in p.message for p in info.value.problems)


def test_conditional_commitment_needs_condition() -> None:
    data = minimal()
    del data["commitments"][1]["condition"]
    with pytest.raises(FrameworkError) as info:
        load_dict(data)
    messages = " ".join(p.message for p in info.value.problems)
    assert "needs a 'condition'" in messages


def test_uncertain_needs_a_note() -> None:
    data = minimal()
    data["thresholds"][0]["confidence"] = "uncertain"
    with pytest.raises(FrameworkError) as info:
        load_dict(data)
    assert "uncertainty" in info.value.problems[0].message


def test_early_warning_on_the_wrong_side() -> None:
    p = only_problem(replace_line("        early_warning: 0.7", "        early_warning: 0.9"))
    assert "early_warning must lie below" in p.message


def test_alias_claimed_twice() -> None:
    data = minimal()
    second = dict(data["thresholds"][0])
    second["id"] = "bio-uplift-2"
    second["indicators"] = []
    data["thresholds"][0]["legacy_aliases"] = ["OLD-1"]
    second["legacy_aliases"] = ["old-1"]
    data["thresholds"].append(second)
    with pytest.raises(FrameworkError) as info:
        load_dict(data)
    assert any("also claimed" in p.message for p in info.value.problems)


def test_all_problems_reported_together_in_file_order() -> None:
    text = (
        MINIMAL.replace('  version: "1.0"', "  version: 1.0")
        .replace("    domain: bio", "    domain: chem")
        .replace("        - fact: developer_leads", "        - fact: we_lead")
    )
    found = problems_of(text)
    assert len(found) == 3
    lines = [p.line or 0 for p in found]
    assert lines == sorted(lines)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "is empty"),
        ("- a\n- b\n", "does not hold a mapping"),
        ("a: 1\n---\nb: 2\n", "2 YAML documents"),
        ("a: !!python/object:os.system x\n", "unsupported YAML type 'python/object:os.system'"),
        ("a: !secret x\n", "custom YAML tag '!secret'"),
        ("a: !!binary aGk=\n", "unsupported YAML type 'binary'"),
        ("a: &x [*x]\n", "recursive alias"),
        ("x: 1\n<<: {y: 2}\n", "merge keys"),
    ],
)
def test_hostile_or_odd_documents(text: str, expected: str) -> None:
    with pytest.raises(FrameworkError) as info:
        load_bytes(text, "doc.yaml")
    assert expected in info.value.render()


def test_alias_bomb_is_refused() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        prev = f"*a{i - 1}"
        lines.append(f"a{i}: &a{i} [{', '.join([prev] * 10)}]")
    with pytest.raises(FrameworkError) as info:
        load_bytes("\n".join(lines) + "\n", "bomb.yaml")
    assert "expands to more than" in info.value.message


def test_deep_nesting_is_refused() -> None:
    text = "a: " + "[" * 200 + "]" * 200 + "\n"
    with pytest.raises(FrameworkError) as info:
        load_bytes(text, "deep.yaml")
    assert "nest" in info.value.render()


def test_oversized_file_is_refused() -> None:
    with pytest.raises(FrameworkError) as info:
        load_bytes(b"a: " + b"x" * (6 * 1024 * 1024), "big.yaml")
    assert "limit" in info.value.message


def test_invalid_utf8_is_located() -> None:
    with pytest.raises(FrameworkError) as info:
        load_bytes(b"framework:\n  id: caf\xe9\n", "latin1.yaml")
    p = info.value.problems[0]
    assert (p.line, p.column) == (2, 10)


def test_missing_file() -> None:
    with pytest.raises(FrameworkError) as info:
        load_file(DATA / "does-not-exist.yaml")
    assert "no such file" in info.value.message


# --- framework.highly_capable -----------------------------------------------------------

HIGHLY_CAPABLE = """  ambiguity_policy: treat_as_crossed
  highly_capable:
    thresholds: [{tid}]
    source: {{doc: policy, section: "§3.6"}}
"""


def test_highly_capable_declaration_loads() -> None:
    text = MINIMAL.replace(
        "  ambiguity_policy: treat_as_crossed\n", HIGHLY_CAPABLE.format(tid="bio-uplift"), 1
    )
    decl = load_bytes(text, "doc.yaml").doc.framework.highly_capable
    assert decl is not None and decl.thresholds == ["bio-uplift"]
    assert decl.source.section == "§3.6"


def test_highly_capable_names_an_unknown_threshold() -> None:
    text = MINIMAL.replace(
        "  ambiguity_policy: treat_as_crossed\n", HIGHLY_CAPABLE.format(tid="bio-uplfit"), 1
    )
    p = only_problem(text)
    assert "unknown threshold 'bio-uplfit'" in p.message
    assert p.line == line_of(text, "thresholds: [bio-uplfit]")
    assert "bio-uplift" in (p.hint or "")


def test_highly_capable_cannot_be_a_checkpoint() -> None:
    text = MINIMAL.replace(
        "  ambiguity_policy: treat_as_crossed\n", HIGHLY_CAPABLE.format(tid="bio-uplift"), 1
    ).replace(
        "    domain: bio\n    level: 1\n",
        "    domain: bio\n    kind: checkpoint\n    level: 1\n",
        1,
    )
    p = only_problem(text)
    assert "is a checkpoint, not a threshold" in p.message


def test_highly_capable_needs_a_source_and_a_threshold() -> None:
    data = minimal()
    data["framework"]["highly_capable"] = {"thresholds": []}
    with pytest.raises(FrameworkError) as info:
        load_dict(data)
    messages = " ".join(p.message for p in info.value.problems)
    assert "source" in messages and "at least 1" in messages
