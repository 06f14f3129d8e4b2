"""Storage of a workspace: SQLite by default, PostgreSQL by URL.

``Store`` enforces one writer at a time; :mod:`scaleguard.store.repo` holds
every query; :mod:`scaleguard.store.migrate` keeps the schema at the code's
revision. Callers receive the frozen values of :mod:`scaleguard.store.records`.
"""

from scaleguard.store import tables_incidents as _tables_incidents  # noqa: F401 - metadata
from scaleguard.store import tables_reports as _tables_reports  # noqa: F401 - metadata
from scaleguard.store import tables_roadmap as _tables_roadmap  # noqa: F401 - metadata
from scaleguard.store import tables_usage as _tables_usage  # noqa: F401 - metadata
from scaleguard.store import tables_web as _tables_web  # noqa: F401 - metadata
from scaleguard.store.db import Store, Tx, normalize_url
from scaleguard.store.migrate import ensure_schema, head_revision, revision_of
from scaleguard.store.records import (
    Artifact,
    Attestation,
    Decision,
    Determination,
    Evidence,
    Fact,
    FrameworkUse,
    LedgerRow,
    Model,
    ModelScore,
    Override,
    as_json,
)

__all__ = [
    "Artifact",
    "Attestation",
    "Decision",
    "Determination",
    "Evidence",
    "Fact",
    "FrameworkUse",
    "LedgerRow",
    "Model",
    "ModelScore",
    "Override",
    "Store",
    "Tx",
    "as_json",
    "ensure_schema",
    "head_revision",
    "normalize_url",
    "revision_of",
]
