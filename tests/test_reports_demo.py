"""The Risk Report and review part of the demo, end to end."""

from __future__ import annotations

import hashlib
from pathlib import Path

from conftest import build_demo_lab
from scaleguard.demo.reports import CONFLICTED, REVIEWER, add_to_demo
from scaleguard.reports.private import commitment
from scaleguard.review import service as review
from scaleguard.store.ledger.verify import verify
from scaleguard.workspace import open_workspace
from workspace_copies import Copy


def test_the_demo_publishes_both_editions_and_runs_one_review(
    tmp_path: Path, sqlite_copy: Copy
) -> None:
    root = tmp_path / "lab"
    sqlite_copy("demo lab", build_demo_lab)  # demo.prepare(root), copied
    ws = open_workspace(root)
    try:
        result = add_to_demo(ws)
        assert set(result.files) == {"public.html", "public.pdf", "reviewer.html", "reviewer.pdf"}
        salt = bytes.fromhex((root / "reviewer-editions" / "report-1.salt").read_text())
        for key, path in result.files.items():
            data = path.read_bytes()
            if key.startswith("public."):
                assert path.parent == root / "reports"
                assert hashlib.sha256(data).hexdigest() == result.sha256[key]
            else:  # kept apart, committed to with a salt only reviewers get
                assert path.parent == root / "reviewer-editions"
                assert commitment(salt, data) == result.sha256[key]
                assert hashlib.sha256(data).hexdigest() != result.sha256[key]
        assert sorted(p.name for p in (root / "reports").iterdir()) == [
            "2026-Q4-report-1-public.html",
            "2026-Q4-report-1-public.pdf",
        ]
        public = result.files["public.html"].read_text()
        assert "[REDACTED R1 — security]" in public
        assert CONFLICTED in result.refused_reason and "equity" in result.refused_reason

        status = review.status(ws, result.report_id)
        (progress,) = status.reviewers
        assert progress.assignment.reviewer == REVIEWER
        assert len(progress.comments) == 1 and progress.statement is not None
        assert progress.statement.verdict == "partly" and progress.response is not None
        assert len(progress.accesses) == 2 and status.submitted_on is not None
        assert status.overdue == []

        ws.checkpoint()
        assert verify(ws.store, ws.verifier(), full=True).discrepancies == []
    finally:
        ws.close()
