"""A demo workspace for the web tests, built once per test run and copied per module.

The build is a full run of the demo (``demo.main``, as ``make run`` does); what it printed
is kept for the test of that run (test_decide_workspace)."""

from __future__ import annotations

import contextlib
import io
import os
import shutil
from pathlib import Path

import pytest

_BUILT: list[Path] = []


def demo_workspace(factory: pytest.TempPathFactory) -> Path:
    """A fresh copy of the full demo workspace (models, decisions, reports, review, ledger).

    The demo is built once per test run: parallel workers share one build through a
    lock in the run's common temporary folder, and each test gets its own copy.
    """
    copy = factory.mktemp("web-demo") / "demo"
    shutil.copytree(_built(factory), copy)
    return copy


def demo_output(factory: pytest.TempPathFactory) -> str:
    """What the demo's run that built the shared workspace printed (it exited 0)."""
    return (_built(factory).parent / "output.txt").read_text()


def _built(factory: pytest.TempPathFactory) -> Path:
    if not _BUILT:
        _BUILT.append(_shared_demo(factory))
    return _BUILT[0]


def _shared_demo(factory: pytest.TempPathFactory) -> Path:
    import fcntl

    from scaleguard import demo

    base = factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # popen-gwN folders share this one
    root, done = base / "web-demo-shared" / "demo", base / "web-demo-shared.done"
    with open(base / "web-demo-shared.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            shutil.rmtree(root.parent, ignore_errors=True)
            root.parent.mkdir()
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = demo.main([str(root)])
            assert code == 0, out.getvalue()[-2000:]
            (root.parent / "output.txt").write_text(out.getvalue())
            done.touch()
    return root


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
