"""``scaleguard roadmap``: commands, errors, the published page and the Markdown card."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Callable
from datetime import UTC, date, datetime
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from scaleguard.roadmap.grading import report_card
from scaleguard.roadmap.html import card_html
from scaleguard.roadmap.model import Goal
from scaleguard.roadmap.render import card_markdown
from scaleguard.store import repo
from scaleguard.workspace import open_workspace
from workspace_copies import Copy

Cli = Callable[..., Any]
DEMO = resources.files("scaleguard.demo").joinpath("roadmap.yaml").read_text("utf-8")
DEMO_GOALS = (
    "sec-isolated-enclave",
    "sec-baseline-controls",
    "sfg-automated-investigations",
    "sfg-retention-principles",
    "aln-interpretability-audit",
    "aln-training-data-review",
    "pol-regulatory-ladder",
)
AS_OF = "2026-11-15"


@pytest.fixture
def root(request: pytest.FixtureRequest, tmp_path: Path, cli: Cli, sqlite_copy: Copy) -> Path:
    """tmp_path/ws, made with init; with the demo roadmap imported from tmp_path/roadmap.yaml
    if the test takes ``demo``. Made once per test process: each test gets a copy."""

    def build(folder: Path, _: str | None) -> None:
        path = folder / "ws"
        assert cli("init", path, "--name", "Roadmap Lab").code == 0
        if imported:
            file = folder / "roadmap.yaml"
            file.write_text(DEMO)
            result = cli("roadmap", "import", file, "--workspace", path, "--by", "rso")
            assert result.code == 0, result.err

    imported = "demo" in request.fixturenames
    sqlite_copy("roadmap cli, demo imported" if imported else "roadmap cli", build)
    return tmp_path / "ws"


@pytest.fixture
def demo(root: Path) -> Path:
    return root


def ledger_size(root: Path) -> int:
    ws = open_workspace(root)
    try:
        with ws.store.read() as s:
            return repo.ledger_size(s)
    finally:
        ws.close()


def add_goal(cli: Cli, root: Path, *extra: str) -> Any:
    return cli(
        "roadmap", "add", "sec-vault",
        "--area", "security",
        "--title", "Weights vault",
        "--description", "Weights only leave the vault under a two-person rule.",
        "--target", "2026-06-30",
        "--owner", "Security",
        "--criterion", "two-person rule",
        "--criterion", "tamper-evident access log",
        "--set-on", "2026-01-15",
        "--by", "rso",
        "--workspace", root,
        *extra,
    )  # fmt: skip


# -- recording --------------------------------------------------------------------------


def test_add_update_show_and_list(cli: Cli, root: Path) -> None:
    added = add_goal(cli, root, "--json")
    assert added.code == 0, added.err
    assert json.loads(added.out)["criteria"] == ["two-person rule", "tamper-evident access log"]
    moved = cli(
        "roadmap", "update", "sec-vault",
        "--status", "at_risk",
        "--evidence", "https://lab.example/u/1",
        "--note", "vendor slipped",
        "--target", "2026-09-30",
        "--on", "2026-03-01",
        "--by", "rso",
        "--workspace", root,
    )  # fmt: skip
    assert moved.code == 0, moved.err
    assert "revised less ambitiously" in moved.out
    assert "target moved later, from 2026-06-30 to 2026-09-30" in moved.out
    shown = cli(
        "roadmap", "show", "sec-vault", "--as-of", "2026-03-02", "--workspace", root, "--json"
    )
    card = json.loads(shown.out)
    assert card["grade"] == "at_risk"
    assert card["deadline"] == "2026-06-30" and card["target"] == "2026-09-30"
    assert [h["event"] for h in card["history"]] == ["set", "update"]
    assert card["revisions"][0]["kind"] == "delayed"
    listed = json.loads(
        cli("roadmap", "list", "--as-of", "2026-07-01", "--workspace", root, "--json").out
    )
    assert listed == [
        {
            "goal": "sec-vault",
            "area": "security",
            "title": "Weights vault",
            "owner": "Security",
            "set_on": "2026-01-15",
            "target": "2026-09-30",
            "deadline": "2026-06-30",
            "grade": "missed",
            "latest_status": "at_risk",
            "revised_less_ambitiously": True,
        }
    ]
    text = cli("roadmap", "show", "sec-vault", "--as-of", "2026-07-01", "--workspace", root)
    assert text.code == 0
    assert "✘ missed" in text.out and "vendor" in text.out


def test_grade_defaults_to_today(cli: Cli, root: Path) -> None:
    add_goal(cli, root)
    card = json.loads(cli("roadmap", "grade", "--workspace", root, "--json").out)
    assert card["as_of"] == datetime.now(UTC).date().isoformat()
    assert card["total"] == 1 and card["areas"][0]["total"] == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("update", "sec-vlt", "--status", "on_track", "--evidence", "https://e.example"),
         "no roadmap goal 'sec-vlt'"),
        (("update", "sec-vault", "--status", "done", "--evidence", "https://e.example"),
         "--status: Input should be"),
        (("update", "sec-vault", "--status", "on_track", "--evidence", "https://e.example",
          "--on", "2026-01-01"), "before the goal was set (2026-01-15)"),
        (("update", "sec-vault", "--status", "on_track", "--evidence", "https://e.example",
          "--target", "2026-06-30", "--on", "2026-02-01"), "the target is already 2026-06-30"),
        (("update", "sec-vault", "--status", "on_track", "--evidence", "nope"),
         "--evidence: 'nope' is not an http(s) URL"),
        (("add", "sec-2", "--area", "marketing", "--title", "t", "--description", "d",
          "--target", "2026-06-30", "--owner", "o"), "--area: Input should be"),
        (("add", "sec-2", "--area", "policy", "--title", "t", "--description", "d",
          "--target", "2026-01-01", "--owner", "o", "--set-on", "2026-02-01"),
         "target 2026-01-01 is before the date the goal was set"),
        (("grade", "--as-of", "tomorrow"), "--as-of 'tomorrow' is not a date"),
        (("show", "sec-vault", "--as-of", "2026-01-01"), "was set on 2026-01-15"),
        (("publish", "--format", "pdf"), "--format 'pdf' is not supported"),
        (("diff", "2026-01-01", "later"), "'later' is not a roadmap revision"),
        (("diff", "0", "999"), "past the end of the ledger"),
    ],
)  # fmt: skip
def test_bad_input_is_explained_and_writes_nothing(
    cli: Cli, root: Path, args: tuple[str, ...], message: str
) -> None:
    add_goal(cli, root)
    before = ledger_size(root)
    result = cli("roadmap", *args, "--workspace", root)
    assert result.code == 2
    assert message in result.err
    assert "Traceback" not in result.err
    assert ledger_size(root) == before


def test_updates_in_the_wrong_order_are_refused(cli: Cli, root: Path) -> None:
    add_goal(cli, root)
    common = ("--status", "on_track", "--evidence", "https://e.example", "--workspace", root)
    assert cli("roadmap", "update", "sec-vault", "--on", "2026-03-01", *common).code == 0
    result = cli("roadmap", "update", "sec-vault", "--on", "2026-02-01", *common)
    assert result.code == 2
    assert "dates in the wrong order" in result.err
    assert "date this one on or after 2026-03-01" in result.err


def test_a_second_goal_with_the_same_id_conflicts(cli: Cli, root: Path) -> None:
    add_goal(cli, root)
    result = add_goal(cli, root)
    assert result.code == 2
    assert "already on the roadmap" in result.err


def test_import_reports_file_line_column(cli: Cli, root: Path, tmp_path: Path) -> None:
    bad = DEMO.replace("    set_on: 2026-03-02\n", "    set_on: 2026-03-32\n")
    file = tmp_path / "bad.yaml"
    file.write_text(bad)
    before = ledger_size(root)
    result = cli("roadmap", "import", file, "--workspace", root)
    assert result.code == 2
    line = bad.splitlines().index("    set_on: 2026-03-32") + 1
    assert f"{file}:{line}:13" in result.err
    assert "nothing was imported" in result.err
    assert ledger_size(root) == before


def test_import_twice_records_nothing_new(cli: Cli, demo: Path, tmp_path: Path) -> None:
    before = ledger_size(demo)
    result = cli("roadmap", "import", tmp_path / "roadmap.yaml", "--workspace", demo, "--json")
    assert json.loads(result.out) == {
        "ok": True,
        "goals_added": [],
        "goals_unchanged": sorted(DEMO_GOALS, key=DEMO_GOALS.index),
        "updates_added": 0,
        "updates_unchanged": 16,
    }
    assert ledger_size(demo) == before


# -- the report card ------------------------------------------------------------------------


def test_grade_shows_every_grade_and_the_flags(cli: Cli, demo: Path) -> None:
    card = json.loads(cli("roadmap", "grade", "--as-of", AS_OF, "--workspace", demo, "--json").out)
    grades = {g["goal"]: g["grade"] for g in card["goals"]}
    assert grades == {
        "sec-isolated-enclave": "achieved_late",
        "sec-baseline-controls": "on_track",
        "sfg-automated-investigations": "missed",
        "sfg-retention-principles": "withdrawn",
        "aln-interpretability-audit": "at_risk",
        "aln-training-data-review": "at_risk",
        "pol-regulatory-ladder": "achieved_on_time",
    }
    assert card["revised_less_ambitiously"] == 2
    text = cli("roadmap", "grade", "--as-of", AS_OF, "--workspace", demo)
    assert text.code == 0
    assert "Revised less ambitiously" in text.out
    assert "criteria narrowed (3 to 2)" in text.out


def test_diff_by_date_and_by_ledger_position(cli: Cli, demo: Path) -> None:
    result = cli("roadmap", "diff", "2026-03-31", AS_OF, "--workspace", demo, "--json")
    diff = json.loads(result.out)
    assert (diff["a"], diff["b"]) == ("2026-03-31", AS_OF)
    kinds = {(e["kind"], e["goal"]) for e in diff["entries"]}
    assert kinds == {
        ("added", "aln-interpretability-audit"),
        ("dropped", "sfg-retention-principles"),
        ("delayed", "sec-isolated-enclave"),
        ("narrowed", "sec-baseline-controls"),
        ("achieved", "sec-isolated-enclave"),
        ("achieved", "pol-regulatory-ladder"),
    }
    everything = json.loads(cli("roadmap", "diff", "0", "head", "--workspace", demo, "--json").out)
    added = {e["goal"] for e in everything["entries"] if e["kind"] == "added"}
    assert added == set(DEMO_GOALS)
    same = cli("roadmap", "diff", "head", str(ledger_size(demo)), "--workspace", demo)
    assert same.code == 0
    assert "no goals added, dropped, delayed, narrowed or achieved" in same.out


# -- publishing ------------------------------------------------------------------------------


class Page(HTMLParser):
    """Collects elements with their attributes and the text of the page."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.stack: list[str] = []
        self.text: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))
        if tag not in ("meta", "rect", "circle", "path", "br", "link"):
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if tag in self.stack:
            while self.stack and self.stack.pop() != tag:
                pass

    def handle_data(self, data: str) -> None:
        self.text.append((self.stack[-1] if self.stack else "", data))

    def find(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for t, attrs in self.elements if t == tag]

    def by_id(self, ident: str) -> tuple[str, dict[str, str | None]]:
        (found,) = [(t, a) for t, a in self.elements if a.get("id") == ident]
        return found


def publish(cli: Cli, root: Path, fmt: str, out: Path) -> bytes:
    result = cli(
        "roadmap",
        "publish",
        "--format",
        fmt,
        "--as-of",
        AS_OF,
        "--output",
        out,
        "--workspace",
        root,
    )
    assert result.code == 0, result.err
    return out.read_bytes()


def test_html_is_self_contained_accessible_and_reproducible(
    cli: Cli, demo: Path, tmp_path: Path
) -> None:
    first = publish(cli, demo, "html", tmp_path / "a.html")
    assert publish(cli, demo, "html", tmp_path / "b.html") == first
    stdout = cli("roadmap", "publish", "--format", "html", "--as-of", AS_OF, "--workspace", demo)
    assert stdout.out.encode() == first
    html = first.decode()
    page = Page()
    page.feed(html)
    page.close()
    # the chart: role, accessible name and description from <title>/<desc>
    (svg,) = page.find("svg")
    assert svg["role"] == "img"
    title_id, desc_id = (svg["aria-labelledby"] or "").split()
    assert page.by_id(title_id)[0] == "title" and page.by_id(desc_id)[0] == "desc"
    desc = "".join(t for tag, t in page.text if tag == "desc")
    assert "Security: 2 goal(s), 1 achieved late, 1 on track" in desc
    # every grade has its own pattern, and a legend entry in words
    patterns = {a["id"] for a in page.find("pattern")}
    assert len(patterns) == 6
    words = " ".join(t for _, t in page.text)
    for label in (
        "achieved on time",
        "achieved late",
        "on track",
        "at risk",
        "missed",
        "withdrawn",
    ):
        assert label in words
    # the data table alternative and every goal
    assert any("Goals per area and grade" in t for tag, t in page.text if tag == "caption")
    for goal in DEMO_GOALS:
        assert page.by_id(f"goal-{goal}")[0] == "article"
    assert "Graded as of" in words and AS_OF in words
    assert words.count("Revised less ambitiously") >= 2
    # self-contained: no scripts, stylesheets, images or frames from anywhere
    for tag in ("script", "link", "img", "iframe", "object"):
        assert page.find(tag) == []
    assert all(not (a.get("href") or "").startswith("javascript") for a in page.find("a"))
    assert "src=" not in html
    assert datetime.now(UTC).strftime("%H:%M") not in html.replace(AS_OF, "")


def test_markdown_has_the_same_content(cli: Cli, demo: Path, tmp_path: Path) -> None:
    first = publish(cli, demo, "markdown", tmp_path / "a.md")
    assert publish(cli, demo, "markdown", tmp_path / "b.md") == first
    md = first.decode()
    assert md.startswith("# Roadmap Lab: Frontier Safety Roadmap\n")
    assert f"Graded as of **{AS_OF}**" in md
    for goal in DEMO_GOALS:
        assert f"(`{goal}`)" in md
    assert "| Security | 0 | 1 | 1 | 0 | 0 | 0 | 2 | 2 |" in md
    assert "target moved later, from 2026-05-15 to 2026-09-30" in md
    assert "**Grade: ✘ missed**" in md


def test_html_escapes_what_users_wrote() -> None:
    goal = Goal.model_validate(
        {
            "goal": "x-1",
            "area": "policy",
            "title": "<script>alert(1)</script>",
            "description": "a & b",
            "target": "2026-06-30",
            "owner": "o",
            "set_on": "2026-01-01",
            "evidence_url": "javascript:alert(1)",
        }
    )
    html = card_html(report_card([goal], date(2026, 2, 1)), title="T <b>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert 'href="javascript' not in html
    assert "T &lt;b&gt;" in html and "a &amp; b" in html
    md = card_markdown(report_card([goal], date(2026, 2, 1)), title="T")
    assert "<javascript:" not in md and "javascript:alert(1)" in md
    assert "<script>" not in md and "\\<script\\>" in md


@pytest.mark.browser
def test_the_page_renders_in_chromium(cli: Cli, demo: Path, tmp_path: Path) -> None:
    # conftest skips (or, in CI, fails) browser tests when Chromium is missing
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    assert browser is not None
    page = tmp_path / "card.html"
    publish(cli, demo, "html", page)
    shot = tmp_path / "card.png"
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
        "--window-size=1100,2000",
    ]
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
    for goal in DEMO_GOALS:
        assert f'id="goal-{goal}"' in dom


def test_the_demo_workspace_takes_the_packaged_roadmap(cli: Cli, tmp_path: Path) -> None:
    """What ``make run`` does: the demo lab's workspace, its roadmap, a verified ledger."""
    from scaleguard.demo import demo_roadmap_file, prepare
    from scaleguard.store.ledger.verify import verify

    root = tmp_path / "demo"
    prepare(root)
    before = ledger_size(root)
    with resources.as_file(demo_roadmap_file()) as file:
        result = cli("roadmap", "import", file, "--workspace", root, "--by", "rso")
    assert result.code == 0, result.err
    assert ledger_size(root) == before + 7 + 16
    page = cli("roadmap", "publish", "--format", "html", "--as-of", AS_OF, "--workspace", root)
    assert "Fictional Frontier Lab (demo): Frontier Safety Roadmap" in page.out
    ws = open_workspace(root)
    try:
        ws.checkpoint()
        report = verify(ws.store, ws.verifier(), full=True)
    finally:
        ws.close()
    assert report.ok
    assert report.records >= 7 + 16
