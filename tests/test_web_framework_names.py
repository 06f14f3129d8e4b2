"""A framework named in a web request is a framework of the library, never a file.

Attack: ``/api/v1/diff?old=/srv/secrets.yaml`` (public), or a console user's
``?framework=`` or decision ``compare``, naming a file on the server. Before,
the server read it as a framework document and answered with what it found
(its keys, whether it exists). Now each is a 404 that says nothing of the file,
and the file is never opened.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scaleguard.framework import loader
from scaleguard.framework.library import Library
from scaleguard.web import accounts
from scaleguard.web.app import create_app
from web_support import demo_workspace

SECRET_KEY = "db_password"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    with TestClient(
        create_app(demo_workspace(tmp_path_factory)), base_url="https://testserver"
    ) as c:
        yield c


@pytest.fixture(scope="module")
def rso(client: TestClient) -> dict[str, str]:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    accounts.add_user(ws.store, "names-rso", "rso", by="test")
    token, _ = accounts.create_token(ws.store, "names-rso", "write", "1d")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A YAML file on the server, and a tripwire on reading any framework file."""
    path = tmp_path / "secrets.yaml"
    path.write_text(f"{SECRET_KEY}: hunter2\nframework: {{id: x}}\n")

    def never(*_: object, **__: object) -> None:
        raise AssertionError("a file named in a request was opened")

    monkeypatch.setattr(loader, "load_file", never)
    return path


def _names(path: Path) -> list[str]:
    return [str(path), path.name, "../" + path.name, "frameworks/x.yaml", "/etc/passwd"]


def _refused(response: object, path: Path) -> None:
    status = getattr(response, "status_code", None)
    text = getattr(response, "text", "")
    assert status == 404, text
    assert SECRET_KEY not in text and "hunter2" not in text and "no such file" not in text


def test_public_framework_and_diff_read_no_file(client: TestClient, secret: Path) -> None:
    for name in _names(secret):
        _refused(
            client.get("/api/v1/diff", params={"old": name, "new": "anthropic-rsp@3.0"}), secret
        )
        _refused(
            client.get("/api/v1/diff", params={"old": "anthropic-rsp@3.0", "new": name}), secret
        )
        _refused(client.get("/diff", params={"old": name, "new": "anthropic-rsp@3.0"}), secret)
    _refused(client.get(f"/api/v1/frameworks/{secret.name}"), secret)
    ok = client.get("/api/v1/diff", params={"old": "anthropic-rsp@2.2", "new": "anthropic-rsp@3.0"})
    assert ok.status_code == 200


def test_console_names_read_no_file(client: TestClient, rso: dict[str, str], secret: Path) -> None:
    for name in _names(secret):
        _refused(
            client.get(
                "/api/v1/models/aurora-3/determinations", params={"framework": name}, headers=rso
            ),
            secret,
        )
        decided = client.post(
            "/api/v1/decisions",
            json={"model": "aurora-3", "action": "train", "compare": name},
            headers=rso,
        )
        _refused(decided, secret)
    shown = client.get(
        "/api/v1/models/aurora-3/determinations",
        params={"framework": "anthropic-rsp@3.0"},
        headers=rso,
    )
    assert shown.status_code == 200


def test_get_ref_never_treats_a_name_as_a_path(secret: Path) -> None:
    library = Library()
    assert library.get_ref("anthropic-rsp@3.0").ref == "anthropic-rsp@3.0"
    for name in _names(secret):
        with pytest.raises(Exception, match="no framework called") as caught:
            library.get_ref(name)
        assert SECRET_KEY not in str(caught.value)
