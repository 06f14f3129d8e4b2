"""Property tests over the generated OpenAPI: no request makes the API fail with a 5xx.

Schemathesis generates requests from /api/v1/openapi.json for every operation,
valid ones and deliberately invalid ones; each answer must be below 500 and
every 4xx must carry the error envelope. Requests carry an admin's write
token, so role checks pass and the library's own validation is reached.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scaleguard.web import accounts
from scaleguard.web.app import create_app
from web_support import demo_workspace


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, str]:
    root: Path = demo_workspace(tmp_path_factory)
    app = create_app(root)
    token, _ = accounts.create_token(app.state.workspace.store, "admin", "write", "1d")
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", app), token


@pytest.mark.parametrize("mode", list(schemathesis.GenerationMode))
def test_no_server_errors(api: tuple[Any, str], mode: Any) -> None:
    schema, token = api
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    strategies = [op.as_strategy(generation_mode=mode) for op in operations]

    @settings(
        max_examples=300, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    @given(case=st.one_of(strategies))
    def check(case: Any) -> None:
        response = case.call(headers={"Authorization": f"Bearer {token}"})
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])
        if response.status_code >= 400:
            body = response.json()
            assert set(body) == {"error"}, body
            assert set(body["error"]) == {"code", "message", "hint", "field"}

    check()
