"""Silent edits: changes that no changelog entry of the newer version announces.

A change of ``diff A B`` is announced when a changelog note of B, in an entry for a version
after A's and up to B's, names its element. Across frameworks, or when B is not later than A,
nothing is unannounced.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from rich.console import Console

from scaleguard.diff import (
    FrameworkDiff,
    diff_frameworks,
    render_json,
    render_markdown,
    render_rich,
)
from scaleguard.diff.announce import version_key
from scaleguard.framework.library import Library
from scaleguard.framework.loader import LoadedFramework, load_bytes, load_file

DATA = Path(__file__).parent / "data" / "diff"
Data = dict[str, Any]
Cli = Callable[..., Any]


def base() -> Data:
    return load_file(DATA / "base.yaml").doc.model_dump(mode="json", exclude_none=True)


def load(data: Data) -> LoadedFramework:
    return load_bytes(yaml.safe_dump(data, sort_keys=False), "doc.yaml")


def edited(changelog: list[Data], version: str = "2.0") -> Data:
    """The base document with three edits: a gate demoted, a threshold dropped, a cadence moved."""
    data = base()
    data["framework"]["version"] = version
    for c in data["commitments"]:
        if c["id"] == "no-deploy":
            c["force"] = "recommendation"
    data["thresholds"] = [t for t in data["thresholds"] if t["id"] != "nuclear-3"]
    for c in data["cadences"]:
        if c["id"] == "assessment":
            c["interval"] = "P12M"
    data["changelog"] = changelog
    return data


def entry(version: str, *notes: Any) -> Data:
    return {"version": version, "date": "2026-06-01", "changes": list(notes)}


def silent(d: FrameworkDiff) -> set[str]:
    return {c.id for c in d.changes if c.unannounced}


def test_every_change_is_unannounced_without_a_changelog() -> None:
    d = diff_frameworks(load(base()), load(edited([])))
    assert silent(d) == {"no-deploy", "nuclear-3", "assessment"}
    # the version's own labels change with every version: never counted as a silent edit
    meta = next(c for c in d.changes if c.family == "framework")
    assert meta.rule == "element.metadata" and not meta.unannounced
    assert d.unannounced == 3 and d.found("unannounced")


def test_labels_provenance_and_facts_are_never_silent_edits() -> None:
    data = edited([])
    data["thresholds"][0]["source"] = {"doc": "policy", "section": "§2 (renumbered)"}
    data["thresholds"][0]["name"] = "Renamed label"
    data["facts"][0]["description"] = "Reworded."
    d = diff_frameworks(load(base()), load(data))
    labels = [c for c in d.changes if c.id == "bio-3"]
    assert [c.rule for c in labels] == ["element.metadata"] and not labels[0].unannounced
    fact = next(c for c in d.changes if c.family == "facts")
    assert fact.classification == "unclear" and not fact.unannounced
    assert silent(d) == {"no-deploy", "nuclear-3", "assessment"}


def test_a_note_naming_the_element_announces_it() -> None:
    log = [
        entry(
            "2.0",
            {"summary": "The deployment gate becomes a recommendation.", "elements": ["no-deploy"]},
            {"summary": "Nuclear threshold retired.", "elements": ["nuclear-3"]},
            "Assessment cadence relaxed.",  # plain text: announces nothing
        )
    ]
    d = diff_frameworks(load(base()), load(edited(log)))
    assert silent(d) == {"assessment"}
    assert d.unannounced_counts["weakening"] == 1


def test_only_entries_after_a_and_up_to_b_count() -> None:
    log = [
        entry("1.0", {"summary": "Before A.", "elements": ["no-deploy"]}),
        entry("1.5", {"summary": "Between.", "elements": ["nuclear-3"]}),
        entry("3.0", {"summary": "After B.", "elements": ["assessment"]}),
    ]
    d = diff_frameworks(load(base()), load(edited(log)))
    assert silent(d) == {"no-deploy", "assessment"}


def test_versions_compare_as_numbers() -> None:
    assert version_key("3.10") > version_key("3.9") > version_key("3.0")
    assert version_key("beta") < version_key("1.0")
    a = base()
    a["framework"]["version"] = "3.9"
    log = [entry("3.10", {"summary": "x", "elements": ["no-deploy", "nuclear-3", "assessment"]})]
    d = diff_frameworks(load(a), load(edited(log, version="3.10")))
    assert silent(d) == set()


def test_a_backward_or_cross_framework_diff_has_nothing_unannounced() -> None:
    a, b = load(base()), load(edited([]))
    assert silent(diff_frameworks(b, a)) == set()
    other = edited([])
    other["framework"]["id"] = "other-lab"
    assert silent(diff_frameworks(a, load(other))) == set()


def test_a_removed_or_renamed_element_is_announced_by_either_id() -> None:
    data = edited([entry("2.0", {"summary": "Renamed.", "elements": ["bio-3"]})])
    for t in data["thresholds"]:
        if t["id"] == "bio-3":
            t["id"], t["legacy_aliases"] = "bio-novice", ["bio-3"]
    for c in data["commitments"]:
        trig = c.get("trigger", {})
        trig["thresholds"] = [
            "bio-novice" if x == "bio-3" else x for x in trig.get("thresholds", [])
        ]
    d = diff_frameworks(load(base()), load(data))
    renamed = [c for c in d.changes if c.old_id == "bio-3"]
    assert renamed and not any(c.unannounced for c in renamed)


def test_the_document_itself_is_announced_as_framework() -> None:
    data = edited([entry("2.0", {"summary": "Margin.", "elements": ["framework"]})])
    data["framework"]["comparability_margin"] = 0.2
    d = diff_frameworks(load(base()), load(data))
    margin = next(c for c in d.changes if c.rule == "framework.comparability_margin")
    assert not margin.unannounced


def test_every_output_format_shows_it() -> None:
    d = diff_frameworks(load(base()), load(edited([])))
    out = render_json(d)
    assert {c["id"] for c in out["changes"] if c["unannounced"]} == silent(d)
    assert out["summary"]["unannounced"] == {
        "total": 3,
        "counts": {"weakening": 3, "unclear": 0, "strengthening": 0, "neutral": 0},
    }
    assert "3 not announced in its changelog" in out["summary"]["headline"]
    json.dumps(out, allow_nan=False)
    md = render_markdown(d)
    assert md.count("**(unannounced)**") == 3
    assert "**Unannounced:** 3 of the changes" in md
    console = Console(record=True, width=140, color_system=None)
    render_rich(d, console)
    text = console.export_text()
    assert text.count("unannounced") >= 4
    assert "3 change(s) not announced by any changelog entry of test-lab@2.0" in text


# --- built-in documents ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def library() -> Library:
    return Library()


def test_fsf_31_changelog_announces_its_tcls_but_not_the_dropped_level_2(library: Library) -> None:
    d = diff_frameworks(library.get("gdm-fsf@3.0"), library.get("gdm-fsf@3.1"))
    by_id = {c.id: c for c in d.changes}
    assert not by_id["cbrn-uplift-tcl"].unannounced
    # §5.3 of v3.1 never mentions that Instrumental Reasoning Level 2 was dropped
    assert by_id["instrumental-reasoning-2"].unannounced
    assert by_id["instrumental-reasoning-2"].change == "removed"


def test_rsp_31_unannounced_are_exactly_the_changes_its_change_log_does_not_describe(
    library: Library,
) -> None:
    """RSP 3.1's change log (2 April 2026) names three points: how the automated R&D threshold is
    operationalised, "how internal feedback on Risk Reports is used", and that Anthropic may
    consider pausing even where Appendix A is not triggered. Comparing the 3.0 and 3.1 texts
    finds three more substantive edits, which must come out unannounced, and nothing else:

    - §3.6: 3.0's "A model is 'highly capable' if we conclude it could fully automate, or
      dramatically accelerate, the work of large, top-tier research teams in domains where fast
      progress could threaten international security ..." becomes the automated AI R&D
      threshold of §1 alone (external-review, whose minimum trigger is that definition);
    - §3.1: internal models are in scope for "significant risks beyond those posed by models
      that are covered by a prior Risk Report", where 3.0 said "above and beyond those posed by
      our public models" (risk-reports);
    - §3.4 (2): 3.0's "Separate internal reviewers will provide comprehensive feedback" becomes
      "We will solicit comprehensive internal feedback" (report-feedback). The announced
      point is the new sentence "We may also use this feedback to improve or refine the report
      itself" (report-feedback-use), not who gives the feedback.

    Footnote renumbering (3.0 fn 6-7 became 3.1 fn 7-8) is provenance, not a change."""
    d = diff_frameworks(library.get("anthropic-rsp@3.0"), library.get("anthropic-rsp@3.1"))
    assert silent(d) == {"external-review", "risk-reports", "report-feedback"}
    by_id = {c.id: c for c in d.changes if c.rule != "element.metadata"}
    # the three announced points are found and not flagged
    for announced in ("automated-rd", "report-feedback-use", "may-pause-beyond-appendix-a"):
        assert announced in by_id and not by_id[announced].unannounced
    assert by_id["report-feedback-use"].change == "added"
    # nothing else of substance changed between the two texts
    assert set(by_id) == {
        "external-review",
        "risk-reports",
        "report-feedback",
        "automated-rd",
        "report-feedback-use",
        "may-pause-beyond-appendix-a",
    }
    assert "delay-while-in-lead" not in by_id and "external-review-access" not in by_id


# --- the command line ------------------------------------------------------------------------


def write(tmp_path: Path, name: str, data: Data) -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def test_fail_on_unannounced(cli: Cli, tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", base())
    b = write(tmp_path, "b.yaml", edited([]))
    res = cli("frameworks", "diff", a, b, "--format", "json", "--fail-on", "unannounced")
    assert res.code == 1 and "--fail-on unannounced" in res.err
    assert json.loads(res.out)["summary"]["unannounced"]["total"] == 3
    log = [entry("2.0", {"summary": "All.", "elements": ["no-deploy", "nuclear-3", "assessment"]})]
    b2 = write(tmp_path, "b2.yaml", edited(log))
    ok = cli("frameworks", "diff", a, b2, "--format", "json", "--fail-on", "unannounced")
    assert ok.code == 0


def test_fail_on_takes_several_values_and_fails_on_either(cli: Cli, tmp_path: Path) -> None:
    """Before, the last --fail-on silently won: 'weakening' then 'unclear' checked only unclear."""
    a = write(tmp_path, "a.yaml", base())
    only_weakening = edited([])  # demoted gate, dropped threshold, longer cadence: no unclear
    b = write(tmp_path, "b.yaml", only_weakening)
    d = diff_frameworks(load(base()), load(only_weakening))
    assert d.has("weakening") and not d.has("unclear")
    for order in (("weakening", "unclear"), ("unclear", "weakening")):
        args = [x for v in order for x in ("--fail-on", v)]
        res = cli("frameworks", "diff", a, b, "--format", "json", *args)
        assert res.code == 1, order
        assert "--fail-on weakening: found" in res.err
    alone = cli("frameworks", "diff", a, b, "--format", "json", "--fail-on", "unclear")
    assert alone.code == 0
    # unclear only: a rewritten description, nothing weaker
    reworded = base()
    reworded["thresholds"][0]["description"] = "Reworded."
    c = write(tmp_path, "c.yaml", reworded)
    res = cli(
        "frameworks",
        "diff",
        a,
        c,
        "--format",
        "json",
        "--fail-on",
        "weakening",
        "--fail-on",
        "unclear",
    )
    assert res.code == 1 and "--fail-on unclear: found" in res.err
    listed = cli(
        "frameworks",
        "diff",
        a,
        b,
        "--format",
        "json",
        "--fail-on",
        "weakening",
        "--fail-on",
        "unannounced",
    )
    assert "--fail-on weakening, unannounced: found" in listed.err
