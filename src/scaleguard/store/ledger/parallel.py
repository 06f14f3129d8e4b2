"""Spans of a full verification checked in worker processes, all on one tree size.

The coordinating session fixes the tree size; every span reads only indices
below it, so appends made while verification runs change nothing a span
reads. On PostgreSQL the workers also adopt the coordinator's snapshot
(``pg_export_snapshot``), so they see exactly what it sees. SQLite cannot
share a snapshot between connections: there each span is checked as the
database stands when the span is read, which for honest writers (they only
add rows above the fixed size) is the coordinator's view; a change made
while verification runs is found if it is in place when its span is read,
and otherwise is no different from a change made just after verification.
Results come back in span order, so the report is the same with one worker
or many.

Workers are started by a fork server, not forked from the caller: a process
that holds an open SQLite connection must not fork and reopen the same file
(SQLite keeps per-process lock bookkeeping that a child would inherit).
"""

from __future__ import annotations

import multiprocessing
import re
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

from scaleguard.store.db import Store
from scaleguard.store.ledger.scan import SpanResult, check_span

#: Spans hold 2**16 entries: few enough results to merge, enough spans to share out.
SPAN_LEVEL = 16
#: Starting processes costs about a second; below this many spans one process is faster.
MIN_SPANS = 4
_SNAPSHOT_RE = re.compile(r"[0-9A-Fa-f-]{1,64}")


@dataclass(frozen=True)
class SpanJob:
    """Entries ``lo..hi-1``; ``level`` is the subtree height checked (None: leaves only)."""

    lo: int
    hi: int
    level: int | None
    missing: tuple[str, ...] = ()


def run_spans(
    store: Store,
    session: Session,
    jobs: list[SpanJob],
    workers: int,
    progress: Callable[[int], None] | None = None,
) -> tuple[list[SpanResult], int]:
    """Each job's result, in job order, and how many processes checked them.

    ``progress`` is told how many entries each finished span covered, in order.
    """
    used = max(1, min(workers, len(jobs)))

    def done(job: SpanJob, result: SpanResult) -> SpanResult:
        if progress is not None:
            progress(job.hi - job.lo)
        return result

    if used == 1 or len(jobs) < MIN_SPANS:
        return [done(j, check_span(session, j.lo, j.hi, j.level, j.missing)) for j in jobs], 1
    snapshot = None
    if store.backend == "postgresql":
        snapshot = str(session.execute(text("SELECT pg_export_snapshot()")).scalar_one())
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    url = store.url.render_as_string(hide_password=False)
    with ProcessPoolExecutor(
        max_workers=used, mp_context=context, initializer=_start, initargs=(url, snapshot)
    ) as pool:
        results = pool.map(_check_in_worker, jobs)
        return [done(j, r) for j, r in zip(jobs, results, strict=True)], used


_store: Store | None = None
_snapshot: str | None = None


def _start(url: str, snapshot: str | None) -> None:
    global _store, _snapshot
    _store, _snapshot = Store(url), snapshot


def _check_in_worker(job: SpanJob) -> SpanResult:
    assert _store is not None
    with _store.read() as session:
        if _snapshot is not None:
            if not _SNAPSHOT_RE.fullmatch(_snapshot):
                raise ValueError(f"unexpected snapshot id {_snapshot[:80]!r}")
            session.execute(text(f"SET TRANSACTION SNAPSHOT '{_snapshot}'"))
        return check_span(session, job.lo, job.hi, job.level, job.missing)
