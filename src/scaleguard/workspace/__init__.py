"""A scaleguard workspace: a folder with its config, frameworks, evidence and database.

Library entry points (the CLI and the web app call these, nothing else):
:func:`init_workspace`, :func:`open_workspace`, :func:`ingest_paths`,
:func:`add_model`, :func:`import_models`, :func:`attest`, :func:`assert_fact`.

Names are imported on first use, so ``scaleguard.workspace.locate`` (finding a
workspace folder) costs nothing of the database layer this package also holds.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scaleguard.workspace.assertions import assert_fact, attest, parse_fact_value
    from scaleguard.workspace.config import WorkspaceConfig, dump_config, parse_config
    from scaleguard.workspace.ingest import (
        IngestedFile,
        IngestProgress,
        IngestReport,
        ingest_paths,
    )
    from scaleguard.workspace.locate import CONFIG_NAME, find_root
    from scaleguard.workspace.modelfile import parse_models, parse_models_file
    from scaleguard.workspace.registry import (
        ImportedModel,
        ModelSpec,
        add_model,
        add_scores,
        import_specs,
    )
    from scaleguard.workspace.workspace import (
        Workspace,
        current_user,
        init_workspace,
        open_workspace,
    )

_WHERE = {
    "assert_fact": "assertions",
    "attest": "assertions",
    "parse_fact_value": "assertions",
    "WorkspaceConfig": "config",
    "dump_config": "config",
    "parse_config": "config",
    "IngestedFile": "ingest",
    "IngestProgress": "ingest",
    "IngestReport": "ingest",
    "ingest_paths": "ingest",
    "CONFIG_NAME": "locate",
    "find_root": "locate",
    "parse_models": "modelfile",
    "parse_models_file": "modelfile",
    "ImportedModel": "registry",
    "ModelSpec": "registry",
    "add_model": "registry",
    "add_scores": "registry",
    "import_specs": "registry",
    "Workspace": "workspace",
    "current_user": "workspace",
    "init_workspace": "workspace",
    "open_workspace": "workspace",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'scaleguard.workspace' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"scaleguard.workspace.{module}"), name)
    globals()[name] = value
    return value


def import_models(ws: Workspace, path: Path, *, by: str | None = None) -> list[ImportedModel]:
    """Import a YAML or CSV models file: every entry or none (shape: workspace.modelfile)."""
    from scaleguard.workspace.modelfile import parse_models_file
    from scaleguard.workspace.registry import import_specs

    return import_specs(ws, parse_models_file(path), by=by)


__all__ = [
    "CONFIG_NAME",
    "ImportedModel",
    "IngestProgress",
    "IngestReport",
    "IngestedFile",
    "ModelSpec",
    "Workspace",
    "WorkspaceConfig",
    "add_model",
    "add_scores",
    "assert_fact",
    "attest",
    "current_user",
    "dump_config",
    "find_root",
    "import_models",
    "import_specs",
    "ingest_paths",
    "init_workspace",
    "open_workspace",
    "parse_config",
    "parse_fact_value",
    "parse_models",
    "parse_models_file",
]
