"""``scaleguard frameworks history``: the data, its JSON, Markdown and HTML, and bad input."""

from __future__ import annotations

import itertools
import json
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scaleguard.diff import diff_frameworks
from scaleguard.diff.history import STEP_COUNTS, framework_history, library_versions
from scaleguard.diff.history_html import history_html
from scaleguard.diff.history_render import FORMAT, history_json, history_markdown
from scaleguard.errors import InputError, NotFoundError, ScaleguardError
from scaleguard.framework.library import Library

Cli = Callable[..., Any]
RSP = "anthropic-rsp"


@pytest.fixture(scope="module")
def rsp_versions() -> list[str]:
    return [f.doc.framework.version for f in library_versions(Library(), RSP)]


# --- the data ----------------------------------------------------------------------


def test_versions_come_in_order_with_their_dates(rsp_versions: list[str]) -> None:
    assert rsp_versions[:4] == ["1.0", "2.0", "2.1", "2.2"]
    h = framework_history(library_versions(Library(), RSP))
    dates = [v.effective_date for v in h.versions]
    assert dates == sorted(dates) and dates[0] == "2023-09-19"
    assert [s.label for s in h.steps][:3] == ["1.0 → 2.0", "2.0 → 2.1", "2.1 → 2.2"]
    for earlier, later in itertools.pairwise(h.versions):
        assert later.supersedes == earlier.version


def test_step_counts_are_the_diff_counts() -> None:
    versions = library_versions(Library(), RSP)
    h = framework_history(versions, top=3)
    for step, (a, b) in zip(h.steps, itertools.pairwise(versions), strict=True):
        d = diff_frameworks(a, b)
        for cls in ("weakening", "unclear", "strengthening", "neutral"):
            assert step.counts[cls] == d.counts[cls]  # type: ignore[index]
        assert step.counts["unannounced"] == sum(1 for c in d.changes if c.unannounced)
        assert step.total == len(d.changes)
        assert step.top == d.most_important(3)
    assert h.totals["weakening"] == sum(s.counts["weakening"] for s in h.steps)


def test_a_framework_with_one_version_has_no_steps(tmp_path: Path) -> None:
    # every built-in framework now has several versions: use a folder with one document
    (tmp_path / "one.yaml").write_text(
        (Path(__file__).parent / "data" / "minimal.yaml").read_text()
    )
    library = Library(extra_dirs=[tmp_path], include_builtin=False)
    h = framework_history(library_versions(library, "example-lab"))
    assert len(h.versions) == 1 and h.steps == ()
    assert "Nothing to compare" in history_markdown(h)
    assert "<svg" in history_html(h)


def test_bad_arguments_are_input_errors() -> None:
    with pytest.raises(InputError):
        framework_history([])
    mixed = [Library().get("anthropic-rsp@2.2"), Library().get("gdm-fsf@3.0")]
    with pytest.raises(InputError, match="one framework"):
        framework_history(mixed)
    with pytest.raises(InputError, match="not one version"):
        library_versions(Library(), "anthropic-rsp@2.2")
    with pytest.raises(NotFoundError) as info:
        library_versions(Library(), "anthropic-rps")
    assert "did you mean 'anthropic-rsp'" in info.value.hint


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=40))
def test_any_id_is_a_history_or_a_clear_error(name: str) -> None:
    lib = Library()
    try:
        versions = library_versions(lib, name)
    except ScaleguardError as exc:
        assert exc.message and exc.hint
        return
    assert {v.doc.framework.id for v in versions} == {name}


# --- JSON ---------------------------------------------------------------------------


def test_json_shape(cli: Cli, rsp_versions: list[str]) -> None:
    result = cli("frameworks", "history", RSP, "--format", "json")
    assert result.code == 0, result.err
    data = json.loads(result.out)
    assert set(data) == {"format", "framework", "versions", "steps", "totals"}
    assert data["format"] == FORMAT
    assert data["framework"] == {
        "id": RSP,
        "title": "Responsible Scaling Policy",
        "developer": "Anthropic",
    }
    assert [v["version"] for v in data["versions"]] == rsp_versions
    first = data["versions"][0]
    assert set(first) == {
        "version",
        "ref",
        "title",
        "effective_date",
        "supersedes",
        "digest",
        "primary_text",
    }
    assert first["digest"].startswith("sha256:") and first["primary_text"]["sha256"]
    assert len(data["steps"]) == len(rsp_versions) - 1
    for step, (a, b) in zip(data["steps"], itertools.pairwise(rsp_versions), strict=True):
        assert (step["from"], step["to"]) == (a, b)
        assert set(step["counts"]) == set(STEP_COUNTS)
        assert len(step["top"]) <= 5
        for finding in step["top"]:
            assert finding["classification"] != "neutral"
            assert isinstance(finding["unannounced"], bool)
    for key in STEP_COUNTS:
        assert data["totals"][key] == sum(s["counts"][key] for s in data["steps"])
    first_step = data["steps"][0]
    assert first_step["top"][0]["classification"] == "weakening"


def test_top_zero_keeps_counts_only(cli: Cli) -> None:
    result = cli("frameworks", "history", RSP, "--format", "json", "--top", "0")
    assert result.code == 0, result.err
    steps = json.loads(result.out)["steps"]
    assert all(s["top"] == [] for s in steps) and steps[0]["total"] > 0


# --- Markdown -----------------------------------------------------------------------


def test_markdown(cli: Cli) -> None:
    result = cli("frameworks", "history", RSP)
    assert result.code == 0, result.err
    md = result.out
    assert md.startswith("# History of Responsible Scaling Policy (`anthropic-rsp`)\n")
    assert "| 1.0 | 2023-09-19 | — |" in md
    assert "## 1.0 → 2.0 (2023-09-19 → 2024-10-15)" in md
    assert "## 2.0 → 2.1 (2024-10-15 → 2025-03-31)" in md
    assert "`scaleguard frameworks diff anthropic-rsp@2.0 anthropic-rsp@2.1`" in md
    section = md.split("## 2.0 → 2.1")[1].split("\n## ")[0]
    assert "Weakening: commitment define-next-level-in-advance removed" in section
    assert md.endswith("\n") and md == cli("frameworks", "history", RSP).out


def test_markdown_escapes_user_text(tmp_path: Path, cli: Cli) -> None:
    _policy_pair(tmp_path, title="A | *bold* <b>policy</b>")
    md = cli("frameworks", "history", "my-policy", "--dir", tmp_path).out
    assert "A \\| \\*bold\\* \\<b\\>policy\\</b\\>" in md


# --- HTML ---------------------------------------------------------------------------

VOID = {"meta", "link", "br", "hr", "img", "input", "col", "area", "base", "source", "wbr"}


class _Balance(HTMLParser):
    """Checks that every non-void element is closed in order (a well-formed page)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"unexpected </{tag}> (open: {self.stack[-3:]})")
            return
        self.stack.pop()


def _page(cli: Cli, *extra: str | Path) -> str:
    result = cli("frameworks", "history", RSP, "--format", "html", *extra)
    assert result.code == 0, result.err
    return result.out


def test_html_is_well_formed_and_self_contained(cli: Cli) -> None:
    page = _page(cli)
    assert page.startswith("<!DOCTYPE html>\n")
    checker = _Balance()
    checker.feed(page)
    checker.close()
    assert checker.errors == [] and checker.stack == []
    names = [t for t, _ in checker.tags]
    assert "script" not in names and "link" not in names and "img" not in names
    for _, attrs in checker.tags:
        assert "src" not in attrs
        assert not (attrs.get("href") or "").startswith("//")
    assert "url(http" not in page and "@import" not in page


def test_html_chart_has_a_title_a_description_and_a_table(cli: Cli) -> None:
    page = _page(cli)
    svg_text = page[page.index("<svg") : page.index("</svg>") + len("</svg>")]
    svg = ET.fromstring(svg_text)
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.get("role") == "img"
    assert svg.get("aria-labelledby") == "chart-title chart-desc"
    title = svg.find(f"{ns}title")
    desc = svg.find(f"{ns}desc")
    assert title is not None and title.get("id") == "chart-title"
    assert title.text == "Versions of anthropic-rsp and what each step changed"
    assert desc is not None and desc.text is not None
    assert "version 1.0 effective 2023-09-19" in desc.text
    assert "1.0 → 2.0: " in desc.text
    # Every version is on the timeline, labelled in text, not only by position.
    labels = [t.text for t in svg.iter(f"{ns}text")]
    for version in ("1.0", "2.0", "2.1", "2.2", "2023-09-19", "2024-10-15"):
        assert version in labels
    assert "<caption>Changes per step</caption>" in page
    assert '<a href="#step-1">1.0 → 2.0</a>' in page


def test_html_is_byte_reproducible_and_o_writes_the_same_bytes(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "history.html"
    result = cli("frameworks", "history", RSP, "--format", "html", "-o", out)
    assert result.code == 0, result.err
    assert "wrote" in result.err and result.out == ""
    assert out.read_text(encoding="utf-8") == _page(cli) == _page(cli)
    assert not list(tmp_path.glob(".tmp-*"))


def test_json_to_a_file_is_what_stdout_prints(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "history.json"
    assert cli("frameworks", "history", RSP, "--format", "json", "-o", out).code == 0
    assert (
        out.read_text(encoding="utf-8") == cli("frameworks", "history", RSP, "--format", "json").out
    )


def test_html_escapes_user_text(tmp_path: Path) -> None:
    _policy_pair(tmp_path, title="<script>alert(1)</script>")
    h = framework_history(library_versions(Library(extra_dirs=[tmp_path]), "my-policy"))
    page = history_html(h)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_chart_geometry_shares_one_scale() -> None:
    from scaleguard.diff.history_html import BAR_MAX, CHART_COUNTS, chart

    h = framework_history(library_versions(Library(), RSP))
    c = chart(h)
    assert [v.version for v in c.versions] == [v.version for v in h.versions]
    xs = [v.x for v in c.versions]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    assert xs[0] > 0 and xs[-1] < c.width
    tallest = max(s.counts[k] for s in h.steps for k in CHART_COUNTS)
    bars = [b for step in c.steps for b in step.bars]
    assert max(b.height for b in bars) == BAR_MAX
    for step, mark in zip(h.steps, c.steps, strict=True):
        assert xs[0] < mark.center < xs[-1]
        for bar in mark.bars:
            assert bar.count == step.counts[bar.key]  # type: ignore[index]
            assert bar.y + bar.height == c.baseline
            assert (bar.height == 0) == (bar.count == 0)
            if bar.count == tallest:
                assert bar.height == BAR_MAX


def test_unannounced_findings_are_marked_in_every_rendering() -> None:
    """The diff engine sets ``unannounced``; every rendering must show it and count it."""
    import dataclasses

    h = framework_history(library_versions(Library(), RSP)[:2], top=2)
    [step] = h.steps
    # exactly one marked finding, whatever the engine found unannounced in this step
    top = tuple(dataclasses.replace(c, unannounced=i == 0) for i, c in enumerate(step.top))
    counts = dict(step.counts, unannounced=1)
    marked = dataclasses.replace(h, steps=(dataclasses.replace(step, top=top, counts=counts),))
    data = history_json(marked)
    assert data["steps"][0]["top"][0]["unannounced"] is True
    assert data["steps"][0]["counts"]["unannounced"] == 1 and data["totals"]["unannounced"] == 1
    assert "1. Weakening (unannounced): " in history_markdown(marked)
    page = history_html(marked)
    assert page.count('<span class="unannounced">unannounced</span>') == 1
    assert "<title>1.0 → 2.0: 1 unannounced</title>" in page


# --- a user's own framework ---------------------------------------------------------


def _policy_pair(folder: Path, *, title: str = "My policy") -> None:
    """Two versions of a user framework, derived from RSP 2.1: v2 drops the training pause."""
    text = (
        resources.files("scaleguard.framework") / "builtin" / "anthropic-rsp-2.1.yaml"
    ).read_text(encoding="utf-8")
    text = text.replace("id: anthropic-rsp\n", "id: my-policy\n", 1)
    text = text.replace("title: Responsible Scaling Policy\n", f"title: {json.dumps(title)}\n", 1)
    v1 = text.replace('version: "2.1"', 'version: "1"', 1).replace('supersedes: "2.0"', "", 1)
    (folder / "v1.yaml").write_text(v1, encoding="utf-8")
    start = text.index("  - id: pause-training-until-security\n")
    end = text.index("  - id: near-threshold-training-cap\n")
    v2 = text[:start] + text[end:]
    v2 = v2.replace('version: "2.1"', 'version: "2"', 1).replace(
        'supersedes: "2.0"', 'supersedes: "1"', 1
    )
    v2 = v2.replace("effective_date: 2025-03-31", "effective_date: 2025-06-01", 1)
    v2 = v2.replace(
        "relaxes: [deploy-only-with-required-safeguards, pause-training-until-security]",
        "relaxes: [deploy-only-with-required-safeguards]",
    )
    (folder / "v2.yaml").write_text(v2, encoding="utf-8")


def test_a_dropped_training_pause_in_a_users_policy_is_the_top_finding(
    tmp_path: Path, cli: Cli
) -> None:
    _policy_pair(tmp_path)
    result = cli("frameworks", "history", "my-policy", "--dir", tmp_path, "--format", "json")
    assert result.code == 0, result.err
    [step] = json.loads(result.out)["steps"]
    assert (step["from"], step["to"]) == ("1", "2")
    assert step["counts"]["weakening"] >= 1
    top = step["top"][0]
    assert (top["id"], top["change"], top["classification"]) == (
        "pause-training-until-security",
        "removed",
        "weakening",
    )


# --- bad input ----------------------------------------------------------------------


def test_unknown_id_exits_2_with_the_closest_match(cli: Cli) -> None:
    result = cli("frameworks", "history", "anthropic-rps")
    assert result.code == 2
    assert "no framework called 'anthropic-rps'" in result.err
    assert "did you mean 'anthropic-rsp'" in result.err
    assert "Traceback" not in result.err and result.out == ""


def test_a_versioned_ref_exits_2_with_a_hint(cli: Cli) -> None:
    result = cli("frameworks", "history", "anthropic-rsp@3.0")
    assert result.code == 2
    assert "drop '@3.0'" in result.err


def test_an_unwritable_output_exits_2_and_writes_nothing(cli: Cli, tmp_path: Path) -> None:
    target = tmp_path / "missing" / "history.html"
    result = cli("frameworks", "history", RSP, "--format", "html", "-o", target)
    assert result.code == 2
    assert "cannot write" in result.err and not target.exists()


def test_an_unknown_format_exits_2(cli: Cli) -> None:
    assert cli("frameworks", "history", RSP, "--format", "pdf").code == 2


# --- a real browser -----------------------------------------------------------------


@pytest.mark.browser
def test_the_page_renders_in_chromium(cli: Cli, tmp_path: Path) -> None:
    # conftest skips (or, in CI, fails) browser tests when Chromium is missing
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser is not None
    page = tmp_path / "history.html"
    assert cli("frameworks", "history", RSP, "--format", "html", "-o", page).code == 0
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        "--window-size=1100,1600",
    ]
    shot = tmp_path / "history.png"
    subprocess.run(
        [browser, *flags, f"--screenshot={shot}", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
    )
    assert shot.read_bytes().startswith(b"\x89PNG")
    dom = subprocess.run(
        [browser, *flags, "--dump-dom", page.as_uri()],
        check=True,
        capture_output=True,
        timeout=120,
        text=True,
    ).stdout
    assert 'id="chart-title"' in dom and 'id="step-1"' in dom
    assert "Versions of anthropic-rsp and what each step changed" in dom


def test_the_docs_library_table_lists_every_built_in_document() -> None:
    """docs/frameworks.md, "The built-in library": one row per document `frameworks list` shows,
    with its effective date."""
    text = (Path(__file__).parent.parent / "docs" / "frameworks.md").read_text()
    section = text.split("## The built-in library", 1)[1].split("\n## ", 1)[0]
    rows = dict(re.findall(r"^\| `([^`]+)` \| [^|]+ \| (\d{4}-\d{2}-\d{2}) \|$", section, re.M))
    built_in = {
        e.framework.ref: e.framework.doc.framework.effective_date.isoformat()
        for e in Library().entries
    }
    assert rows == built_in


def _footnotes_blanked(value: object) -> object:
    return re.sub(r"\bfn \d+", "fn #", value) if isinstance(value, str) else value


@pytest.mark.parametrize("fid", ["anthropic-rsp", "gdm-fsf", "openai-preparedness", "xai-rmf"])
def test_no_history_step_reports_a_renumbered_footnote_as_a_change(fid: str) -> None:
    """Footnote numbers shift whenever a version adds or drops a footnote (RSP 2.0's fn 19 is
    2.1's fn 18; 3.0's fn 7 is 3.1's fn 8). The built-in documents cite footnotes in
    `source.section`, so no finding other than provenance may differ only in them: a changed
    text, or an item removed and the same item added back."""
    versions = library_versions(Library(), fid)
    for a, b in itertools.pairwise(versions):
        d = diff_frameworks(a, b)
        removed: set[tuple[str, object]] = set()
        added: set[tuple[str, object]] = set()
        for c in d.changes:
            if c.rule == "element.metadata":
                continue
            for f in c.fields:
                old, new = _footnotes_blanked(f.old), _footnotes_blanked(f.new)
                assert not (isinstance(f.old, str) and f.old != f.new and old == new), (
                    a.ref,
                    b.ref,
                    c.id,
                    f.path,
                )
                if isinstance(f.old, str) and f.new is None:
                    removed.add((c.id, old))
                if isinstance(f.new, str) and f.old is None:
                    added.add((c.id, new))
        assert not removed & added, (a.ref, b.ref, sorted(removed & added, key=str))
