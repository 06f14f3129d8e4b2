"""A demo workspace for the web tests, built once per test process and copied per module."""

from __future__ import annotations

import contextlib
import io
import shutil
from pathlib import Path

import pytest

_BUILT: list[Path] = []


def demo_workspace(factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the full demo workspace (models, decisions, reports, review, ledger)."""
    if not _BUILT:
        from scaleguard import demo

        root = factory.mktemp("web-demo-source") / "demo"
        with contextlib.redirect_stdout(io.StringIO()):
            code = demo.main([str(root)])
        assert code == 0
        _BUILT.append(root)
    copy = factory.mktemp("web-demo") / "demo"
    shutil.copytree(_BUILT[0], copy)
    return copy
