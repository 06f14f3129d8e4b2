"""Finding a workspace folder, without opening it (and so without the database libraries).

``frameworks list`` looks for the workspace around the current folder to show its
frameworks too; it must not pay for SQLAlchemy to do that.
"""

from __future__ import annotations

from pathlib import Path

from scaleguard.errors import WorkspaceError

CONFIG_NAME = "scaleguard.toml"
FRAMEWORKS = "frameworks"
INIT_HINT = "create one with 'scaleguard init DIR', or pass --workspace DIR"


def find_root(start: Path | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: cwd) holding scaleguard.toml."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / CONFIG_NAME).is_file():
            return folder
    raise WorkspaceError(
        f"no scaleguard workspace in {here} or any folder above it", hint=INIT_HINT
    )
