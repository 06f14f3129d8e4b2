"""What the concurrency tests run in other processes (conftest.worker_context).

These live apart from the test modules so that a process imports only this module and
scaleguard, both preloaded in the fork server, and not a test module with its test-only
imports (pytest, conftest, Inspect): that took about three seconds per process.
"""

from __future__ import annotations

import os
from pathlib import Path

from scaleguard.store import Store, repo
from scaleguard.store.ledger.state import StateLog
from scaleguard.workspace import ingest_paths, open_workspace


def append_many(url: str, worker: int, count: int) -> None:
    """``count`` facts, one write transaction each, straight through a Store."""
    store = Store(url)
    try:
        for i in range(count):
            with store.write() as tx:
                repo.add_fact(
                    tx, name=f"w{worker}", value=i, source="s", asserted_by=f"worker-{worker}"
                )
    finally:
        store.dispose()


def facts_in_a_workspace(root: str, worker: int, count: int) -> None:
    """``count`` facts, one write transaction each, through the workspace (signed)."""
    with open_workspace(Path(root)) as ws:
        for i in range(count):
            with ws.store.write() as tx:
                repo.add_fact(tx, name=f"w{worker}", value=i, source="s", asserted_by="w")


def ingest_one_by_one(root: str, paths: list[str]) -> None:
    """One batch per file, so that the processes interleave."""
    with open_workspace(Path(root)) as workspace:
        for path in paths:
            ingest_paths(workspace, [path], by=f"worker-{paths[0]}")


def crash_after_commit(root: str) -> None:
    """A writer that dies right after its commit, before the state line is written."""

    def die(self: StateLog, tree: object) -> None:
        os._exit(17)

    StateLog.record = die  # type: ignore[method-assign]
    with open_workspace(Path(root)) as ws, ws.store.write() as tx:
        repo.add_fact(tx, name="crashed", value=1, source="https://s", asserted_by="x")
