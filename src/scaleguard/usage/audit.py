"""Audit: every screen decision becomes a ledger-backed row.

Rows carry the request's SHA-256 and never its text unless the customer's
contract sets ``retain_text``. :class:`AuditWriter` batches rows from many
requests into one write transaction (one index query, one multi-row insert),
so the HTTP screen's audit keeps up with its traffic.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Sequence
from typing import Any

from scaleguard.store import Store
from scaleguard.usage import store as usage_store
from scaleguard.usage.screen import ScreenResult

FLUSH_SECONDS = 0.05
MAX_BATCH = 512


def _scalar_text(text: str) -> str:
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def audit_item(result: ScreenResult, text: str, *, retain: bool) -> dict[str, Any]:
    return {
        "request_id": result.request_id,
        "customer": result.customer,
        "contract": result.contract,
        "policy": result.policy,
        "policy_digest": result.policy_digest,
        "model_sha256": result.model_sha256,
        "input_sha256": result.input_sha256,
        # Lone surrogates cannot go into canonical JSON: kept as U+FFFD (the hash is exact).
        "input_text": _scalar_text(text) if retain else None,
        "band": result.band,
        "clause": result.clause,
        "score": result.score,
        "decided_by": result.decided_by,
        "result": result.model_dump(mode="json"),
    }


def record_screens(
    store: Store,
    results: Sequence[ScreenResult],
    texts: Sequence[str],
    *,
    retain: bool,
    by: str,
) -> list[usage_store.ScreenRecord]:
    items = [audit_item(r, t, retain=retain) for r, t in zip(results, texts, strict=True)]
    out: list[usage_store.ScreenRecord] = []
    for start in range(0, len(items), MAX_BATCH):
        with store.write() as tx:
            out.extend(usage_store.add_screens(tx, items[start : start + MAX_BATCH], by=by))
    return out


class AuditWriter:
    """A background thread that writes queued screen rows in batches.

    :meth:`close` drains the queue before returning; a failed write is kept
    in :attr:`errors` (and the server reports itself unhealthy) rather than
    silently dropping decisions.
    """

    def __init__(self, store: Store, *, by: str) -> None:
        self.store = store
        self.by = by
        self.queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.errors: list[str] = []
        self.written = 0
        self.failed = 0
        self.submitted = 0
        self._count_lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="usage-audit", daemon=True)
        self._thread.start()

    def submit(self, result: ScreenResult, text: str, *, retain: bool) -> None:
        with self._count_lock:
            self.submitted += 1
        self.queue.put(audit_item(result, text, retain=retain))

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self.queue.get()
            if first is None:
                break
            batch = [first]
            try:
                while len(batch) < MAX_BATCH:
                    item = self.queue.get(timeout=FLUSH_SECONDS)
                    if item is None:
                        stop = True
                        break
                    batch.append(item)
            except queue.Empty:
                pass
            try:
                with self.store.write() as tx:
                    usage_store.add_screens(tx, batch, by=self.by)
                with self._count_lock:
                    self.written += len(batch)
            except Exception as exc:  # kept and reported: the audit must not vanish silently
                self.errors.append(f"{type(exc).__name__}: {exc}")
                with self._count_lock:
                    self.failed += len(batch)

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until everything submitted so far is written (or failed); False on timeout."""
        import time

        with self._count_lock:
            target = self.submitted
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._count_lock:
                if self.written + self.failed >= target:
                    return True
            time.sleep(0.01)
        return False

    def close(self) -> None:
        self.queue.put(None)
        self._thread.join(timeout=30)
