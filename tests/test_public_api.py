"""The core packages declare their public API, and the pure core loads no database layer."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

CORE = [
    "scaleguard.framework",
    "scaleguard.diff",
    "scaleguard.decisions",
    "scaleguard.determinations",
    "scaleguard.evidence",
    "scaleguard.ledger",
    "scaleguard.workspace",
]
PURE = [
    "scaleguard.framework",
    "scaleguard.diff",
    "scaleguard.decisions",
    "scaleguard.determinations",
]


@pytest.mark.parametrize("name", CORE)
def test_every_core_package_declares_its_api(name: str) -> None:
    package = importlib.import_module(name)
    declared = getattr(package, "__all__", None)
    assert declared, f"{name} has no __all__"
    assert len(set(declared)) == len(declared)
    assert [n for n in declared if n.startswith("_")] == []
    assert [n for n in declared if not hasattr(package, n)] == []
    assert package.__doc__, f"{name} has no docstring saying what it is for"


def test_the_pure_core_loads_no_database_or_inspect_code() -> None:
    """Framework, diff, decision and determination code is pure: importing it pulls in
    neither SQLAlchemy nor Inspect (the workspace adapters do)."""
    probe = (
        "import json, sys\n"
        + "".join(f"import {name}\n" for name in PURE)
        + "print(json.dumps([m for m in ('sqlalchemy', 'alembic', 'inspect_ai', 'psycopg')"
        " if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []
