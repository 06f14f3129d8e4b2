"""Record every finished Inspect run in a scaleguard workspace, as it finishes.

Enable it by installing scaleguard next to inspect_ai and setting
``SCALEGUARD_WORKSPACE`` to the workspace folder; Inspect then lists the hook
``scaleguard/ingest`` at startup and, when a task ends, scaleguard ingests
its log. Without the variable the hook is disabled and does nothing, so
installing scaleguard never changes how Inspect runs for anyone else.

Inspect turns exceptions raised by hooks into warnings and carries on, so a
failed ingest would be easy to miss. This hook therefore prints the failure to
stderr itself before raising it. Only ``on_task_end`` is used: Inspect calls it
only when a task completes normally, and scaleguard accepts only successful
runs as evidence anyway. Inspect's decorator creates the single hook instance
when this module is imported; creating it does nothing else.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import anyio.to_thread
from inspect_ai.hooks import Hooks, TaskEnd, hooks

from scaleguard.errors import EvidenceError, ScaleguardError

WORKSPACE_ENV = "SCALEGUARD_WORKSPACE"


def enabled() -> bool:
    """Whether a workspace is configured for this process."""
    return bool(os.environ.get(WORKSPACE_ENV, "").strip())


def record_log(log_location: str) -> None:
    """Ingest the log at ``log_location`` into the workspace named by ``SCALEGUARD_WORKSPACE``.

    Does nothing when the variable is unset or empty. Any failure is printed
    to stderr and raised as a :class:`ScaleguardError`. A log already in the
    workspace is skipped by the ingest itself, so recording twice is harmless.
    """
    root = os.environ.get(WORKSPACE_ENV, "").strip()
    if not root:
        return
    try:
        path = _local_path(log_location)
        # Imported here: the workspace pulls in the database layer, which a
        # disabled hook (the common case) should not pay for.
        from scaleguard.workspace import ingest_paths, open_workspace

        with open_workspace(Path(root)) as workspace:
            ingest_paths(workspace, [path])
    except Exception as exc:
        detail = (
            exc.render() if isinstance(exc, ScaleguardError) else f"{type(exc).__name__}: {exc}"
        )
        error = EvidenceError(
            f"scaleguard could not record Inspect log {log_location} in workspace {root}:\n"
            f"{detail}",
            hint="fix the cause, then ingest this log into the workspace by hand; "
            f"unset {WORKSPACE_ENV} to turn the hook off",
        )
        print(f"scaleguard: {error.render()}", file=sys.stderr, flush=True)
        raise error from exc


def _local_path(location: str) -> Path:
    if location.startswith("file://"):
        location = location.removeprefix("file://")
    elif "://" in location:
        raise EvidenceError(
            f"the log is stored at {location}, which is not a local file",
            hint="write logs to a local --log-dir, or copy the log and ingest the copy",
        )
    return Path(location)


@hooks(name="ingest", description="Records finished Inspect logs as scaleguard evidence.")
class ScaleguardIngestHook(Hooks):
    """Inspect hook: hand each finished task's log to :func:`record_log`."""

    def enabled(self) -> bool:
        return enabled()

    async def on_task_end(self, data: TaskEnd) -> None:
        location = data.log.location
        if not location:
            message = f"Inspect finished task {data.log.eval.task} without a log file to record"
            print(f"scaleguard: {message}", file=sys.stderr, flush=True)
            raise EvidenceError(message, hint="run Inspect with logging to a local --log-dir")
        # Reading the log blocks, and Inspect's reader starts its own event loop:
        # keep both off the evaluation's loop.
        await anyio.to_thread.run_sync(record_log, location)
