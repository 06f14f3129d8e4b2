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


class LiveServer:
    """The app under uvicorn in a thread, on a free port of 127.0.0.1."""

    def __init__(self, app: object) -> None:
        import socket
        import threading

        import uvicorn

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")  # type: ignore[arg-type]
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        import time

        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.05)
        self.url = f"http://localhost:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def chromium_path() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    assert found is not None
    return found
