"""Redacted values cannot be recovered from published hashes; reviewer editions stay apart."""

from __future__ import annotations

import hashlib
import stat

import pytest

from scaleguard.errors import InputError
from scaleguard.reports import service, store
from scaleguard.reports.private import commitment, report_salt
from scaleguard.review import service as review
from scaleguard.review.model import ReviewerSpec
from scaleguard.store import repo
from scaleguard.store.ledger.verify import verify
from scaleguard.workspace.workspace import Workspace


def _draft_with_a_redacted_number(ws: Workspace) -> tuple[int, str]:
    """A report whose training compute (a number one could guess) is redacted."""
    report = service.draft(ws, period="2026-Q3", models=["aurora-3"], by="rso")
    span = "1.7e+26"
    service.redact(
        ws, report.id, "scope", span=span, category="commercial", justification="Compute."
    )
    return report.id, span


def test_the_public_edition_publishes_no_hash_of_unredacted_content(lab: Workspace) -> None:
    report_id, span = _draft_with_a_redacted_number(lab)
    report = service.build(lab, report_id, "public")
    for fmt in ("markdown", "html"):
        published = service.publish(lab, report_id, edition="public", fmt=fmt, by="rso")
        data = published.path.read_bytes()
        assert span.encode() not in data
        assert report.report.content_sha256.encode() not in data
        assert report.sha256.encode() in data  # the hash of exactly what is shown
        assert isinstance(published.publication, store.Publication)
        assert published.publication.edition_sha256 == report.sha256
    # The guessing attack: rebuild the content with each candidate and compare hashes
    # with every hex string the public file shows. Only the true value would match.
    shown = service.publish(lab, report_id, edition="public", fmt="markdown").path.read_text()
    assert report.report.content_sha256 not in shown
    with lab.store.read() as s:
        public_records = [p.sha256 for p in store.publications(s, report_id)]
        public_records += [p.edition_sha256 for p in store.publications(s, report_id)]
    assert report.report.content_sha256 not in public_records


def test_the_reviewer_edition_is_kept_apart(lab: Workspace) -> None:
    report_id, span = _draft_with_a_redacted_number(lab)
    published = service.publish(lab, report_id, edition="reviewer", fmt="markdown", by="rso")
    data = published.path.read_bytes()
    assert span.encode() in data
    folder = lab.root / "reviewer-editions"
    assert published.path.parent == folder
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(published.path.stat().st_mode) == 0o600
    salt_file = folder / f"report-{report_id}.salt"
    assert stat.S_IMODE(salt_file.stat().st_mode) == 0o600
    record = published.publication
    assert isinstance(record, store.ReviewerEdition)
    assert record.commitment == commitment(report_salt(lab, report_id), data)
    assert record.commitment != hashlib.sha256(data).hexdigest()
    again = service.publish(lab, report_id, edition="reviewer", fmt="markdown", by="rso")
    assert not again.created and again.publication == record
    with lab.store.read() as s:
        assert store.publications(s, report_id) == []  # not a public publication
        entry = repo.ledger_entries(s, record.ledger_index, record.ledger_index + 1)[0]
    assert entry.kind == "report-reviewer-edition"
    # publishing the public folder cannot leak it
    public = lab.root / "reports"
    assert not public.exists() or all(span.encode() not in p.read_bytes() for p in public.iterdir())
    with pytest.raises(InputError, match="public reports/ folder"):
        service.publish(
            lab, report_id, edition="reviewer", fmt="html", output=public / "leak.html", by="rso"
        )
    assert not (public / "leak.html").exists()
    lab.checkpoint()
    assert verify(lab.store, lab.verifier(), full=True).discrepancies == []


def test_reviewer_files_are_private_and_never_share_a_name(lab: Workspace) -> None:
    report = service.draft(lab, period="2026-Q3", models=["aurora-3"], by="rso")
    for name in ("Dr. Ada Lee", "dr-ada-lee"):
        review.add_reviewer(
            lab, ReviewerSpec(name=name, organisation="Institute", expertise=("evals",)), by="rso"
        )
        review.assign(lab, report.id, name, by="rso")
    _, first = review.record_access(lab, report.id, "Dr. Ada Lee", fmt="markdown", by="rso")
    _, second = review.record_access(lab, report.id, "dr-ada-lee", fmt="markdown", by="rso")
    assert first is not None and second is not None and first != second
    for path in (first, second):
        assert path.parent == lab.root / "reviewer-editions"
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
