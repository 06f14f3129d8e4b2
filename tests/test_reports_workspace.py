"""Risk Reports through a real workspace: drafting, redaction, publication, PDF, cadence."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader
from sqlalchemy import exc, text

from conftest import build_lab
from scaleguard import demo
from scaleguard.errors import ConflictError, InputError, NotFoundError, ScaleguardError
from scaleguard.ledger.recheck import RECORD_TABLES
from scaleguard.reports import service, store
from scaleguard.reports.service import today
from scaleguard.store import repo
from scaleguard.store.ledger.verify import verify
from scaleguard.store.tables_reports import REPORT_RECORD_KINDS
from scaleguard.workspace import open_workspace
from scaleguard.workspace.workspace import Workspace
from workspace_copies import Copy

MODELS = ["aurora-2", "aurora-3"]


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    """One demo workspace for tests that each draft their own report."""
    root = tmp_path_factory.mktemp("reports") / "lab"
    demo.prepare(root)
    ws = open_workspace(root)
    yield ws
    ws.close()


def ledger_size(ws: Workspace) -> int:
    with ws.store.read() as s:
        return repo.ledger_size(s)


def pdf_text(data: bytes) -> str:
    reader = PdfReader(io.BytesIO(data))
    return " ".join(" ".join((page.extract_text() or "").split()) for page in reader.pages)


def test_report_tables_are_registered_for_ledger_verification() -> None:
    assert REPORT_RECORD_KINDS.items() <= RECORD_TABLES.items()


def test_the_whole_report_flow_on_each_backend(tmp_path: Path, workspace_copy: Copy) -> None:
    root = tmp_path / "lab"
    workspace_copy("lab", build_lab)  # demo.prepare(root, db_url=store_url), copied
    ws = open_workspace(root)
    try:
        before = service.cadence(ws)
        assert before.state == "overdue" and before.last_report_id is None

        report = service.draft(ws, period="2026-Q3", models=MODELS, by="rso")
        content = service.content_of(report)
        assert report.models == tuple(MODELS) and report.framework_ref == "anthropic-rsp@3.0"
        assert content.find("capabilities.novel-cb") is not None
        _, r1 = service.redact(
            ws, report.id, "capabilities.novel-cb", category="security", justification="Uplift."
        )
        assert r1.label == "R1"
        service.submit(ws, report.id, by="rso")

        first = service.publish(ws, report.id, edition="public", fmt="html", by="rso")
        again = service.publish(ws, report.id, edition="public", fmt="html", by="rso")
        assert first.created and not again.created
        assert again.publication == first.publication
        data = first.path.read_bytes()
        assert hashlib.sha256(data).hexdigest() == first.publication.sha256
        assert first.publication.redaction_ids == (r1.record_id,)
        assert b"[REDACTED R1 \xe2\x80\x94 security]" in data
        reviewer = service.publish(ws, report.id, edition="reviewer", fmt="markdown", by="rso")
        assert isinstance(reviewer.publication, store.ReviewerEdition)
        assert reviewer.path.parent == ws.root / "reviewer-editions"

        after = service.cadence(ws)
        assert (after.state, after.last_report_id) == ("ok", report.id)
        published = after.last_published
        assert published is not None
        assert service.cadence(ws, as_of=published + timedelta(days=100)).state == "due"
        assert service.cadence(ws, as_of=published + timedelta(days=200)).state == "overdue"

        ws.checkpoint()
        result = verify(ws.store, ws.verifier(), full=True)
        assert result.discrepancies == []
        assert result.records == result.size

        with pytest.raises(exc.DBAPIError, match="append-only"), ws.store.write() as tx:
            tx.execute(text("UPDATE report_redactions SET justification = 'none'"))
        with pytest.raises(exc.DBAPIError, match="append-only"), ws.store.write() as tx:
            tx.execute(text("DELETE FROM report_publications"))
        with pytest.raises(ConflictError, match="already published"):
            service.redact(ws, report.id, "summary", category="legal", justification="late")
    finally:
        ws.close()


def test_pdf_editions_withhold_and_show_the_right_text(lab: Workspace) -> None:
    report = service.draft(lab, period="2026-Q4", models=MODELS, by="rso")
    service.redact(
        lab, report.id, "capabilities.novel-cb", category="security", justification="Uplift."
    )
    service.redact(
        lab,
        report.id,
        "scope",
        span="4.2e+25",
        category="commercial",
        justification="Training compute is commercially sensitive.",
    )
    public = service.render(service.build(lab, report.id, "public"), "pdf")
    reviewer = service.render(service.build(lab, report.id, "reviewer"), "pdf")
    assert public.startswith(b"%PDF-")
    public_text, reviewer_text = pdf_text(public), pdf_text(reviewer)
    assert "[REDACTED R1 — security]" in public_text
    assert "[REDACTED R2 — commercial]" in public_text
    assert "0.810" not in public_text and "4.2e+25" not in public_text
    assert "Training compute is commercially sensitive." in public_text
    assert "0.810" in reviewer_text and "4.2e+25" in reviewer_text
    assert "Reviewer edition" in reviewer_text and "Public edition" in public_text
    meta = PdfReader(io.BytesIO(public)).metadata
    assert meta is not None and meta.get("/CreationDate") == "D:" + report.created_at[:10].replace(
        "-", ""
    )


def test_every_edition_is_byte_reproducible(lab: Workspace) -> None:
    report = service.draft(lab, period="2026-10", models=["aurora-3"], by="rso")
    service.redact(lab, report.id, "summary", category="legal", justification="Pending advice.")
    for edition in ("public", "reviewer"):
        built = service.build(lab, report.id, edition)
        again = service.build(lab, report.id, edition)
        assert built.sha256 == again.sha256
        for fmt in ("markdown", "html"):
            assert service.render(built, fmt) == service.render(again, fmt)
    public = service.build(lab, report.id, "public")
    assert service.render(public, "pdf") == service.render(public, "pdf")


def test_drafting_freezes_content_and_cites_ledger_records(lab: Workspace) -> None:
    report = service.draft(lab, period="2026-Q4", models=["aurora-3"], by="rso")
    content = service.content_of(report)
    assert content.meta.models == ("aurora-3",)
    with lab.store.read() as s:
        stored = store.report(s, report.id)
        dets = {d.ledger_index for d in repo.determinations(s, "aurora-3")}
    assert stored.content == report.content
    section = content.find("capabilities.non-novel-cb")
    assert section is not None
    table = section.blocks[0]
    cited = {int(row[7]) for row in getattr(table, "rows", ())}
    assert cited and cited <= dets


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"period": "2026-Q9"}, InputError, "not a reporting period"),
        ({"models": []}, InputError, "at least one model"),
        ({"models": ["aurora-9"]}, NotFoundError, "no model called 'aurora-9'"),
        ({"models": ["rival-9"]}, InputError, "not one of this developer's models"),
        ({"coverage_date": date(2099, 1, 1)}, InputError, "after today"),
        ({"coverage_date": date(2026, 6, 30)}, InputError, "before the period"),
        (
            {"framework": "anthropic-rsp@3.4", "coverage_date": date(2026, 7, 1)},
            InputError,
            "at most P30D",
        ),
    ],
)
def test_bad_drafts_write_nothing(
    lab: Workspace, kwargs: dict[str, object], error: type[ScaleguardError], message: str
) -> None:
    args: dict[str, object] = {"period": "2026-Q3", "models": MODELS, **kwargs}
    size = ledger_size(lab)
    with pytest.raises(error, match=message):
        service.draft(lab, by="rso", **args)  # type: ignore[arg-type]
    assert ledger_size(lab) == size


def test_bad_redactions_and_submissions_write_nothing(lab: Workspace) -> None:
    report = service.draft(lab, period="2026-Q4", models=["aurora-3"], by="rso")
    size = ledger_size(lab)
    attempts: list[tuple[Callable[[], object], type[ScaleguardError], str]] = [
        (
            lambda: service.redact(lab, report.id, "nope", category="legal", justification="x"),
            NotFoundError,
            "no section 'nope'",
        ),
        (
            lambda: service.redact(
                lab, report.id, "summary", span="zzz-not-there", category="legal", justification="x"
            ),
            InputError,
            "does not occur",
        ),
        (
            lambda: service.redact(lab, report.id, "summary", category="secret", justification="x"),
            InputError,
            "unknown redaction category",
        ),
        (
            lambda: service.redact(lab, report.id, "summary", category="legal", justification=" "),
            InputError,
            "needs a justification",
        ),
        (
            lambda: service.redact(lab, 999, "summary", category="legal", justification="x"),
            NotFoundError,
            "no Risk Report #999",
        ),
        (
            lambda: service.submit(lab, report.id, on=today() - timedelta(days=400)),
            InputError,
            "before report",
        ),
        (
            lambda: service.submit(lab, report.id, on=today() + timedelta(days=1)),
            InputError,
            "in the future",
        ),
        (
            lambda: service.publish(lab, report.id, edition="draft", fmt="pdf"),
            InputError,
            "unknown edition",
        ),
    ]
    for attempt, error, message in attempts:
        with pytest.raises(error, match=message):
            attempt()
    assert ledger_size(lab) == size
    service.submit(lab, report.id)
    with pytest.raises(ConflictError, match="already submitted"):
        service.submit(lab, report.id)
    assert ledger_size(lab) == size + 1


def test_the_roadmap_section_grades_recorded_goals(lab: Workspace) -> None:
    from scaleguard.roadmap.model import GoalSpec
    from scaleguard.roadmap.store import add_goal

    add_goal(
        lab,
        GoalSpec(
            goal="provable-inference",
            area="security",
            title="Provable inference prototype",
            description="Attribute outputs to specific weights cryptographically.",
            target=date(2027, 3, 31),
            owner="security team",
            set_on=date(2026, 6, 1),
        ),
        by="rso",
    )
    report = service.draft(lab, period="2026-Q4", models=["aurora-3"], by="rso")
    section = service.content_of(report).find("roadmap")
    assert section is not None
    goals = section.blocks[2]
    assert getattr(goals, "caption", "") == "Roadmap goals"
    assert [row[0] for row in getattr(goals, "rows", ())] == ["provable-inference"]


def test_an_edition_made_before_a_new_redaction_is_not_recorded(lab: Workspace) -> None:
    report = service.draft(lab, period="2026-Q4", models=["aurora-3"], by="rso")
    stale = service.build(lab, report.id, "public")
    service.redact(lab, report.id, "summary", category="legal", justification="Pending advice.")
    with lab.store.read() as s, pytest.raises(ConflictError, match="changed while"):
        service.unchanged(s, lab, stale, "publish it")
    with lab.store.read() as s:
        service.unchanged(s, lab, service.build(lab, report.id, "public"), "publish it")
