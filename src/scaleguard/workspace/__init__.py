"""A scaleguard workspace: a folder with its config, frameworks, evidence and database.

Library entry points (the CLI and the web app call these, nothing else):
:func:`init_workspace`, :func:`open_workspace`, :func:`ingest_paths`,
:func:`add_model`, :func:`import_models`, :func:`attest`, :func:`assert_fact`.
"""

from __future__ import annotations

from pathlib import Path

from scaleguard.workspace.assertions import assert_fact, attest, parse_fact_value
from scaleguard.workspace.config import CONFIG_NAME, WorkspaceConfig, dump_config, parse_config
from scaleguard.workspace.ingest import IngestedFile, IngestProgress, IngestReport, ingest_paths
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
    find_root,
    init_workspace,
    open_workspace,
)


def import_models(ws: Workspace, path: Path, *, by: str | None = None) -> list[ImportedModel]:
    """Import a YAML or CSV models file: every entry or none (shape: workspace.modelfile)."""
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
    "ingest_paths",
    "init_workspace",
    "open_workspace",
    "parse_config",
    "parse_fact_value",
    "parse_models",
    "parse_models_file",
]
