"""Merges and splits: merged_from / split_from pair elements across versions.

The reference case is RSP 2.2 -> 3.0: version 3.0's automated R&D threshold restates AI R&D-5's
bar (compress two years of AI progress into one) and folds in AI R&D-4, whose bar (fully
automating an entry-level remote researcher) disappears. The diff must report AI R&D-4's bar as
the weakening and must not report AI R&D-5 as removed.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaleguard.diff import Change, diff_frameworks, render_json, render_markdown
from scaleguard.diff.model import mirror_classification
from scaleguard.errors import FrameworkError, Problem
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework, load_bytes, load_file

DATA = Path(__file__).parent / "data" / "diff"
Data = dict[str, Any]


def base() -> Data:
    return load_file(DATA / "base.yaml").doc.model_dump(mode="json", exclude_none=True)


def load(data: Data, name: str = "doc.yaml") -> LoadedFramework:
    return load_bytes(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), name)


def merged(level: int, domain: str = "bio", with_safeguards: bool = True) -> Data:
    """The base document with bio-3 and bio-4 folded into one threshold."""
    data = base()
    old = {t["id"]: t for t in data["thresholds"]}
    new = copy.deepcopy(old["bio-4"])
    new.update(
        id="bio-merged",
        name="Bio uplift (merged)",
        level=level,
        domain=domain,
        merged_from=["bio-3", "bio-4"],
    )
    if not with_safeguards:
        new["required_safeguards"] = []
    data["thresholds"] = [
        t for t in data["thresholds"] if t["id"] not in old.keys() & {"bio-3", "bio-4"}
    ]
    data["thresholds"].append(new)
    for c in data["commitments"]:
        trig = c.get("trigger", {})
        if trig.get("thresholds"):
            ids = ["bio-merged" if t in ("bio-3", "bio-4") else t for t in trig["thresholds"]]
            trig["thresholds"] = sorted(set(ids))
    data["framework"]["version"] = "2.0"
    return data


def of(changes: tuple[Change, ...], ident: str) -> list[Change]:
    return [c for c in changes if c.family == "thresholds" and c.id == ident]


# --- the reference case ----------------------------------------------------------------


@pytest.fixture(scope="module")
def library() -> Library:
    return Library()


def test_rsp_22_to_30_reports_ai_rd_4_as_the_weakening(library: Library) -> None:
    d = diff_frameworks(library.get("anthropic-rsp@2.2"), library.get("anthropic-rsp@3.0"))
    rd4 = of(d.changes, "ai-rd-4")
    assert [(c.change, c.classification, c.rule) for c in rd4] == [
        ("merged", "weakening", "threshold.lower_bar")
    ]
    assert rd4[0].new_id == "automated-rd"
    assert rd4[0].reason.startswith(
        "AI R&D-4 and AI R&D-5 merged into Automated R&D in key domains; "
        "the lower bar (AI R&D-4) is gone"
    )
    # a removed bar is listed with removed thresholds, at the top of the summary
    assert rd4[0] in d.most_important()
    rd5 = of(d.changes, "ai-rd-5")
    assert rd5 and all(c.change == "merged" and c.new_id == "automated-rd" for c in rd5)
    assert not any(c.change == "removed" for c in rd5)
    assert "ai-rd-5" not in d.coverage.thresholds_only_a
    assert "ai-rd-4" not in d.coverage.thresholds_only_a
    assert "automated-rd" not in d.coverage.thresholds_only_b
    keeps = next(c for c in rd5 if c.rule == "element.restructured")
    assert "keeps the bar of AI R&D-5" in keeps.reason
    # AI R&D-5's own binding safeguards are compared with the merged threshold's
    assert any(
        c.rule == "required_safeguard.presence" and c.classification == "weakening" for c in rd5
    )
    md = render_markdown(d)
    assert "the lower bar (AI R&D-4) is gone" in md
    out = render_json(d)
    assert out["summary"]["by_change"]["merged"] == len(
        [c for c in d.changes if c.change == "merged"]
    )


def test_rsp_30_to_22_is_the_mirror_a_split(library: Library) -> None:
    a, b = library.get("anthropic-rsp@2.2"), library.get("anthropic-rsp@3.0")
    forward, backward = diff_frameworks(a, b), diff_frameworks(b, a)
    rd4 = of(backward.changes, "ai-rd-4")
    assert [(c.change, c.classification) for c in rd4] == [("split", "strengthening")]
    assert "the lower bar (AI R&D-4) is new" in rd4[0].reason
    assert Counter(_mirrored(c) for c in forward.changes) == Counter(
        _key(c) for c in backward.changes
    )


# --- engine behaviour on a small document -------------------------------------------------


def test_merge_keeping_the_higher_bar_weakens_the_lower_part() -> None:
    a, b = load(base()), load(merged(level=4))
    d = diff_frameworks(a, b)
    lower = of(d.changes, "bio-3")
    assert [(c.change, c.classification, c.rule) for c in lower] == [
        ("merged", "weakening", "threshold.lower_bar")
    ]
    assert (lower[0].old_id, lower[0].new_id) == ("bio-3", "bio-merged")
    assert lower[0].fields[0].path == "" and lower[0].fields[0].new is None
    upper = of(d.changes, "bio-4")
    assert {c.rule for c in upper} >= {"element.restructured"}
    assert all(c.change == "merged" for c in upper)
    # the trigger that named both thresholds names the merged one: no trigger change
    assert not [c for c in d.changes if c.rule == "commitment.trigger"]


def test_merge_in_another_domain_is_read_as_keeping_the_higher_bar() -> None:
    """Fail closed: unless the merged threshold visibly keeps the lowest bar, it lost it."""
    d = diff_frameworks(load(base()), load(merged(level=3, domain="nuclear")))
    assert [c.classification for c in of(d.changes, "bio-3")] == ["weakening"]


def test_merge_keeping_the_lowest_bar_drops_no_bar() -> None:
    d = diff_frameworks(load(base()), load(merged(level=3)))
    assert not [c for c in d.changes if c.rule == "threshold.lower_bar"]
    keeps = [c for c in d.changes if c.rule == "element.restructured"]
    assert {c.id for c in keeps} == {"bio-3", "bio-4"}
    assert all("keeps the bar of Bio uplift to novices" in c.reason for c in keeps)


def test_merge_of_equal_levels_keeps_both_bars() -> None:
    data = base()
    for t in data["thresholds"]:
        if t["id"] == "bio-4":
            t["level"] = 3
    a = load(data)
    d = diff_frameworks(a, load(merged(level=3)))
    assert not [c for c in d.changes if c.rule == "threshold.lower_bar"]


def test_split_declared_in_the_newer_document() -> None:
    data = base()
    bio3 = next(t for t in data["thresholds"] if t["id"] == "bio-3")
    parts = []
    for suffix, level in (("chem", 2), ("bio", 3)):
        part = copy.deepcopy(bio3)
        part.update(id=f"{suffix}-3", name=f"{suffix} uplift", level=level, split_from="bio-3")
        parts.append(part)
    data["thresholds"] = [t for t in data["thresholds"] if t["id"] != "bio-3"] + parts
    for c in data["commitments"]:
        trig = c.get("trigger", {})
        trig["thresholds"] = ["bio-3" if t == "bio-3" else t for t in trig.get("thresholds", [])]
    d = diff_frameworks(load(base()), load(data))
    chem = of(d.changes, "chem-3")
    assert [(c.change, c.classification, c.rule) for c in chem] == [
        ("split", "strengthening", "threshold.lower_bar")
    ]
    bio = of(d.changes, "bio-3")
    assert bio and all(c.change == "split" for c in bio)
    assert not [
        c for c in d.changes if c.change in ("added", "removed") and c.family == "thresholds"
    ]


def test_merge_that_keeps_one_id() -> None:
    """x merged_from [x, y]: the namesake joins the group instead of pairing by id."""
    data = base()
    for t in data["thresholds"]:
        if t["id"] == "bio-4":
            t["merged_from"] = ["bio-3", "bio-4"]
    data["thresholds"] = [t for t in data["thresholds"] if t["id"] != "bio-3"]
    for c in data["commitments"]:
        trig = c.get("trigger", {})
        trig["thresholds"] = sorted(
            {"bio-4" if t == "bio-3" else t for t in trig.get("thresholds", [])}
        )
    d = diff_frameworks(load(base()), load(data))
    assert [(c.change, c.classification) for c in of(d.changes, "bio-3")] == [
        ("merged", "weakening")
    ]
    assert {c.change for c in of(d.changes, "bio-4")} == {"merged"}


def test_merge_of_commitments_compares_each_part() -> None:
    data = base()
    commitments = {c["id"]: c for c in data["commitments"]}
    folded = copy.deepcopy(commitments["no-deploy"])
    folded.update(id="gates", name="One gate", merged_from=["no-deploy", "pause-training"])
    folded["force"] = "goal"
    data["commitments"] = [
        c for c in data["commitments"] if c["id"] not in ("no-deploy", "pause-training")
    ] + [folded]
    for c in data["commitments"]:
        c["relaxes"] = [r for r in c.get("relaxes", []) if r not in ("no-deploy", "pause-training")]
        if c.get("outcome") == "relax_safeguards" and not c["relaxes"]:
            c["relaxes"] = ["gates"]
    d = diff_frameworks(load(base()), load(data))
    parts = [c for c in d.changes if c.family == "commitments" and c.new_id == "gates"]
    assert {c.id for c in parts} == {"no-deploy", "pause-training"}
    assert all(c.change == "merged" for c in parts)
    assert any(c.rule == "commitment.force" and c.classification == "weakening" for c in parts)
    assert not [c for c in d.changes if c.family == "commitments" and c.change == "removed"]


def test_merged_from_naming_nothing_in_the_other_document_changes_nothing() -> None:
    data = base()
    data["thresholds"][0]["merged_from"] = ["old-a", "old-b"]
    assert diff_frameworks(load(base()), load(data)).changes == ()


def test_merge_outputs_are_stable_and_mirror() -> None:
    a, b = load(base()), load(merged(level=4))
    forward, backward = diff_frameworks(a, b), diff_frameworks(b, a)
    assert json.dumps(render_json(forward)) == json.dumps(render_json(diff_frameworks(a, b)))
    assert Counter(_mirrored(c) for c in forward.changes) == Counter(
        _key(c) for c in backward.changes
    )
    assert diff_frameworks(b, b).changes == ()


MIRROR_KIND = {
    "added": "removed",
    "removed": "added",
    "renamed": "renamed",
    "changed": "changed",
    "merged": "split",
    "split": "merged",
}


def _key(c: Change) -> tuple[Any, ...]:
    fields = sorted(json.dumps([f.path, f.old, f.new], sort_keys=True) for f in c.fields)
    return (c.family, c.change, c.classification, c.rule, c.old_id, c.new_id, tuple(fields))


def _mirrored(c: Change) -> tuple[Any, ...]:
    fields = sorted(json.dumps([f.path, f.new, f.old], sort_keys=True) for f in c.fields)
    return (
        c.family,
        MIRROR_KIND[c.change],
        mirror_classification(c.classification),
        c.rule,
        c.new_id,
        c.old_id,
        tuple(fields),
    )


# --- loader validation --------------------------------------------------------------------


def problems(data: Data) -> list[Problem]:
    text = yaml.safe_dump(data, sort_keys=False)
    with pytest.raises(FrameworkError) as info:
        load_bytes(text, "doc.yaml")
    return info.value.problems


def line_of(data: Data, needle: str) -> int:
    text = yaml.safe_dump(data, sort_keys=False)
    for number, line in enumerate(text.splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_loader_refuses_merged_and_split_on_one_element() -> None:
    data = base()
    data["thresholds"][0].update(merged_from=["a1", "a2"], split_from="a3")
    (p,) = problems(data)
    assert "both merged_from and split_from" in p.message
    line = line_of(data, "split_from: a3")
    text = yaml.safe_dump(data, sort_keys=False).splitlines()[line - 1]
    assert p.location == f"doc.yaml:{line}:{text.index('a3') + 1}"
    assert p.hint


def test_loader_refuses_malformed_and_duplicate_ids() -> None:
    data = base()
    data["thresholds"][0]["merged_from"] = ["Bad Id", "x1"]
    (bad,) = problems(data)
    assert bad.path == "$.thresholds[0].merged_from[0]"
    assert bad.line == line_of(data, "- Bad Id") and "lower case" in bad.hint
    data["thresholds"][0]["merged_from"] = ["x1", "x1"]
    (dup,) = problems(data)
    assert "duplicate 'x1' in merged_from" in dup.message
    assert dup.path == "$.thresholds[0].merged_from[1]" and dup.line is not None


def test_loader_refuses_one_element_merged_twice_or_merged_and_split() -> None:
    data = base()
    data["thresholds"][0]["merged_from"] = ["x1", "x2"]
    data["thresholds"][1]["merged_from"] = ["x2", "x3"]
    (twice,) = problems(data)
    assert "'x2' is also merged into 'bio-3'" in twice.message
    assert twice.path == "$.thresholds[1].merged_from[0]"
    data["thresholds"][1]["merged_from"] = []
    data["thresholds"][1]["split_from"] = "x1"
    (both,) = problems(data)
    assert "split here but merged into 'bio-3'" in both.message


def test_loader_refuses_a_merge_of_one() -> None:
    data = base()
    data["commitments"][0]["merged_from"] = ["only-one"]
    (p,) = problems(data)
    assert "single element" in p.message and "legacy_aliases" in p.hint
    assert p.path == "$.commitments[0].merged_from"


def test_loader_refuses_a_duplicate_announced_element() -> None:
    data = base()
    data["changelog"] = [
        {
            "version": "1.0",
            "date": "2026-01-15",
            "changes": [{"summary": "First.", "elements": ["bio-3", "bio-3"]}],
        }
    ]
    (p,) = problems(data)
    assert "duplicate element 'bio-3'" in p.message
    assert p.path == "$.changelog[0].changes[0].elements[1]"


# --- hostile or careless declarations ---------------------------------------------------------

IDS = st.sampled_from(["bio-3", "bio-4", "x1", "x2", "Bad Id", "", "a" * 90, "nuclear-3"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(IDS, max_size=4), min_size=4, max_size=4),
    st.lists(st.one_of(st.none(), IDS), min_size=4, max_size=4),
)
def test_any_declaration_loads_or_is_refused_with_locations(
    merged: list[list[str]], split: list[str | None]
) -> None:
    data = base()
    for t, m, s_ in zip(data["thresholds"], merged, split, strict=True):
        if m:
            t["merged_from"] = m
        if s_ is not None:
            t["split_from"] = s_
    text = yaml.safe_dump(data, sort_keys=False)
    try:
        fw = load_bytes(text, "doc.yaml")
    except FrameworkError as exc:
        assert exc.problems
        for p in exc.problems:
            assert p.line is not None and p.path and p.path.startswith("$.thresholds["), p
        return
    # a document that loads diffs cleanly against the base, both ways, and not against itself
    assert diff_frameworks(fw, fw).changes == ()
    forward, backward = diff_frameworks(load(base()), fw), diff_frameworks(fw, load(base()))
    assert len(forward.changes) == len(backward.changes)


def test_validate_reports_declaration_problems_with_positions(cli: Any, tmp_path: Path) -> None:
    data = base()
    data["thresholds"][0].update(merged_from=["x1", "x1"], split_from="x2")
    path = tmp_path / "policy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    res = cli("frameworks", "validate", path)
    assert res.code == 2
    assert f"{path}:" in res.err and "duplicate 'x1' in merged_from" in res.err
    assert "both merged_from and split_from" in res.err
