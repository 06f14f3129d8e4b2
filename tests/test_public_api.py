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


def test_the_ledger_core_imports_no_database_layer() -> None:
    """Merkle trees, notes, receipts and canonical JSON stand alone: every module of
    ``scaleguard.ledger`` loads without SQLAlchemy or the storage layer, which holds the
    ledger's database adapters (``scaleguard.store.ledger``), so the two cannot form a cycle."""
    import pkgutil

    import scaleguard.ledger

    modules = [
        f"scaleguard.ledger.{m.name}" for m in pkgutil.iter_modules(scaleguard.ledger.__path__)
    ]
    probe = (
        "import json, sys\n"
        + "".join(f"import {name}\n" for name in modules)
        + "print(json.dumps(sorted({m.split('.')[0] if m == 'sqlalchemy' else m "
        "for m in sys.modules if m == 'sqlalchemy' or m.startswith('scaleguard.store')})))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert len(modules) >= 8
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_demo_code_and_integrations_live_outside_the_domain_packages() -> None:
    """The demo's fixtures and Inspect's hook are adapters: no domain package ships them."""
    import pkgutil

    import scaleguard

    domain = [
        m.name
        for m in pkgutil.iter_modules(scaleguard.__path__)
        if m.ispkg and m.name not in {"demo", "integrations"}
    ]
    offenders = []
    for name in domain:
        package = importlib.import_module(f"scaleguard.{name}")
        for sub in pkgutil.iter_modules(package.__path__):
            if "demo" in sub.name or "hook" in sub.name:
                offenders.append(f"scaleguard.{name}.{sub.name}")
    assert offenders == []
