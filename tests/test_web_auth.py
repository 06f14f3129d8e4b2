"""Users, sessions, CSRF, tokens, the route × role table, and the reviewers' 404 rule."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import update

from scaleguard.ledger.recheck import read_entry
from scaleguard.store import repo
from scaleguard.store.tables_web import WebTokenRow
from scaleguard.web import accounts
from scaleguard.web.app import create_app
from scaleguard.web.deps import Need
from scaleguard.web.roles import ROLES
from web_support import demo_workspace

PUBLIC = frozenset({None, *ROLES})
SIGNED_IN = frozenset(ROLES)
REVIEWER = frozenset({"reviewer"})
CONSOLE = frozenset({"admin", "rso", "evaluator", "board"})
MANAGE_REVIEW = frozenset({"admin", "rso"})
ADMIN = frozenset({"admin"})
OPERATE = frozenset({"admin", "rso", "evaluator"})
GOVERN = frozenset({"admin", "rso"})

#: Every route and who may call it: written out by hand, so a changed permission or an
#: unlisted route fails here.
EXPECTED: dict[tuple[str, str], frozenset[str | None]] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/frameworks"): PUBLIC,
    ("GET", "/frameworks/{ref}"): PUBLIC,
    ("GET", "/diff"): PUBLIC,
    ("GET", "/roadmap"): PUBLIC,
    ("GET", "/reports"): PUBLIC,
    ("GET", "/reports/{report_id}"): PUBLIC,
    ("GET", "/reports/{report_id}/public.{fmt}"): PUBLIC,
    ("GET", "/ledger"): PUBLIC,
    ("GET", "/ledger/entries/{index}"): PUBLIC,
    ("GET", "/ledger/consistency"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("POST", "/logout"): SIGNED_IN,
    ("GET", "/api/v1/frameworks"): PUBLIC,
    ("GET", "/api/v1/frameworks/{ref}"): PUBLIC,
    ("GET", "/api/v1/diff"): PUBLIC,
    ("GET", "/api/v1/roadmap"): PUBLIC,
    ("GET", "/api/v1/reports"): PUBLIC,
    ("GET", "/api/v1/reports/{report_id}"): PUBLIC,
    ("GET", "/api/v1/reports/{report_id}/review"): PUBLIC,
    ("GET", "/api/v1/ledger/key"): PUBLIC,
    ("GET", "/api/v1/ledger/checkpoint"): PUBLIC,
    ("GET", "/api/v1/ledger/checkpoints"): PUBLIC,
    ("GET", "/api/v1/ledger/entries"): PUBLIC,
    ("GET", "/api/v1/ledger/entries/{index}"): PUBLIC,
    ("GET", "/api/v1/ledger/entries/{index}/proof"): PUBLIC,
    ("GET", "/api/v1/ledger/consistency"): PUBLIC,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("GET", "/review"): REVIEWER,
    ("GET", "/review/{report_id}"): REVIEWER,
    ("POST", "/review/{report_id}/comments"): REVIEWER,
    ("POST", "/review/{report_id}/statement"): REVIEWER,
    ("GET", "/api/v1/review/assignments"): REVIEWER,
    ("GET", "/api/v1/review/{report_id}/edition"): REVIEWER,
    ("POST", "/api/v1/review/{report_id}/comments"): REVIEWER,
    ("POST", "/api/v1/review/{report_id}/statement"): REVIEWER,
    ("GET", "/api/v1/reviewers"): CONSOLE,
    ("GET", "/api/v1/reviews"): CONSOLE,
    ("GET", "/console/reviews"): MANAGE_REVIEW,
    ("POST", "/console/reviews/{report_id}/assign"): MANAGE_REVIEW,
    ("POST", "/console/reviews/{report_id}/respond"): MANAGE_REVIEW,
    ("POST", "/api/v1/reviews/{report_id}/assignments"): MANAGE_REVIEW,
    ("POST", "/api/v1/reviews/{report_id}/responses"): MANAGE_REVIEW,
    ("GET", "/console"): CONSOLE,
    ("GET", "/console/models/{name}"): CONSOLE,
    ("GET", "/console/decisions/{decision_id}"): CONSOLE,
    ("GET", "/api/v1/models"): CONSOLE,
    ("GET", "/api/v1/models/{name}/determinations"): CONSOLE,
    ("GET", "/api/v1/decisions"): CONSOLE,
    ("GET", "/api/v1/decisions/{decision_id}"): CONSOLE,
    ("GET", "/console/evidence"): CONSOLE,
    ("GET", "/api/v1/evidence"): CONSOLE,
    ("POST", "/api/v1/evidence"): OPERATE,
    ("GET", "/console/actions"): GOVERN,
    ("POST", "/api/v1/decisions"): GOVERN,
    ("POST", "/api/v1/models"): OPERATE,
    ("POST", "/api/v1/attestations"): GOVERN,
    ("POST", "/api/v1/roadmap/updates"): GOVERN,
    ("GET", "/api/v1/risk-reports"): CONSOLE,
    ("POST", "/api/v1/risk-reports"): GOVERN,
    ("POST", "/api/v1/risk-reports/{report_id}/redactions"): GOVERN,
    ("POST", "/api/v1/risk-reports/{report_id}/publications"): GOVERN,
    ("GET", "/api/v1/users"): ADMIN,
    ("POST", "/api/v1/users"): ADMIN,
}
PARAMS = {
    "ref": "anthropic-rsp@3.0",
    "report_id": "1",
    "index": "1",
    "fmt": "html",
    "name": "aurora-3",
    "decision_id": "1",
}
QUERY = {"/diff": "?old=anthropic-rsp@2.2&new=anthropic-rsp@3.0", "/consistency": "?old=1&new=1"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_workspace(tmp_path_factory)


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[TestClient]:
    with TestClient(create_app(root), base_url="https://testserver") as c:
        yield c


@pytest.fixture(scope="module")
def tokens(client: TestClient) -> dict[str, str]:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    out = {}
    for role in ROLES:
        accounts.add_user(ws.store, f"table-{role}", role, by="test")
        out[role], _ = accounts.create_token(ws.store, f"table-{role}", "write", "1d")
    return out


def _routes(client: TestClient) -> list[tuple[str, str, Need]]:
    found = []
    for prefix, router in client.app.state.routers:  # type: ignore[attr-defined]
        for route in router.routes:
            assert isinstance(route, APIRoute)
            needs = [d.call for d in route.dependant.dependencies if isinstance(d.call, Need)]
            assert len(needs) == 1, f"{route.path} must depend on exactly one Need"
            for method in route.methods:
                found.append((method, prefix + route.path, needs[0]))
    return found


def test_every_route_has_a_row_in_the_table(client: TestClient) -> None:
    routes = {(m, p) for m, p, _ in _routes(client)}
    assert routes == set(EXPECTED)


def test_route_by_role(client: TestClient, tokens: dict[str, str]) -> None:
    failures = []
    for method, path, _ in _routes(client):
        url = path
        for name, value in PARAMS.items():
            url = url.replace("{" + name + "}", value)
        url += next((q for suffix, q in QUERY.items() if url.endswith(suffix)), "")
        for role in [None, *ROLES]:
            headers = {} if role is None else {"Authorization": f"Bearer {tokens[role]}"}
            if method == "POST":
                response = client.post(url, json={}, headers=headers, follow_redirects=False)
            else:
                response = client.get(url, headers=headers, follow_redirects=False)
            allowed = role in EXPECTED[(method, path)]
            status = response.status_code
            if allowed and status in (401, 403):
                failures.append(f"{method} {path} as {role}: {status}, expected access")
            if not allowed:
                wanted = 401 if role is None else 403
                # pages send a browser with nobody signed in to the sign-in form
                if role is None and status == 303 and "/login" in response.headers["location"]:
                    continue
                if status != wanted:
                    failures.append(f"{method} {path} as {role}: {status}, expected {wanted}")
    assert not failures, "\n".join(failures)


def _sign_in(client: TestClient, name: str, password: str, next: str = "/") -> Any:
    form = client.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', form.text)
    assert token is not None
    return client.post(
        "/login",
        data={"name": name, "password": password, "login_csrf": token.group(1), "next": next},
        follow_redirects=False,
    )


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/console", "/console"),
        ("//evil.example/x", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
    ],
)
def test_sign_in_never_redirects_off_site(root: Path, target: str, expected: str) -> None:
    with TestClient(create_app(root), base_url="https://testserver") as c:
        done = _sign_in(c, "admin", "demo-admin-pass", next=target)
        assert done.status_code == 303 and done.headers["location"] == expected


def test_sign_in_needs_the_form_token(root: Path) -> None:
    with TestClient(create_app(root), base_url="https://testserver") as c:
        forged = c.post(
            "/login",
            data={"name": "admin", "password": "demo-admin-pass", "login_csrf": "x" * 43},
            follow_redirects=False,
        )
        assert forged.status_code == 403 and "sg_session" not in forged.headers.get(
            "set-cookie", ""
        )


def _csrf(client: TestClient, page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', client.get(page).text)
    assert found is not None
    return found.group(1)


def _last_entry(client: TestClient) -> tuple[str, dict[str, Any]]:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    with ws.store.read() as s:
        row = repo.ledger_entries(s, repo.ledger_size(s) - 1)[0]
    kind, _, record = read_entry(row.data)
    return kind, record


def test_sessions_cookies_and_csrf(root: Path) -> None:
    with TestClient(create_app(root), base_url="https://testserver") as c:
        done = _sign_in(c, "Mara Okafor", "demo-reviewer-pass")
        assert done.status_code == 303 and done.headers["location"] == "/review"
        cookie = next(v for k, v in done.headers.multi_items() if k == "set-cookie")
        assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=lax" in cookie
        assert c.get("/api/v1/me").json() == {
            "name": "Mara Okafor",
            "role": "reviewer",
            "via": "session",
            "scope": "write",
        }
        form = {"section": "capabilities", "text": "Please add the elicitation budget."}
        refused = c.post("/review/1/comments", data=form, follow_redirects=False)
        assert refused.status_code == 403
        wrong = c.post("/review/1/comments", data={**form, "csrf": "x" * 43})
        assert wrong.status_code == 403
        json_without = c.post("/api/v1/review/1/comments", json=form)
        assert json_without.status_code == 403
        csrf = _csrf(c, "/review")
        # Mara already submitted her final statement in the demo: comments are closed
        late = c.post("/review/1/comments", data={**form, "csrf": csrf}, follow_redirects=False)
        assert late.status_code == 409
        out = c.post("/logout", data={"csrf": csrf}, follow_redirects=False)
        assert out.status_code == 303
        assert c.get("/api/v1/me").status_code == 401


def test_wrong_passwords_lock_the_name_out(root: Path) -> None:
    with TestClient(create_app(root), base_url="https://testserver") as c:
        for _ in range(accounts.MAX_FAILURES):
            assert _sign_in(c, "board", "wrong").status_code == 401
        locked = _sign_in(c, "board", "demo-board-pass")
        assert locked.status_code == 429
        assert "too many failed sign-ins" in locked.text
        assert _sign_in(c, "nobody-at-all", "x").status_code == 401
        assert _sign_in(c, "rso", "demo-rso-pass").status_code == 303


def test_many_names_from_one_address_are_throttled(root: Path) -> None:
    ws_app = create_app(root)
    store = ws_app.state.workspace.store
    for n in range(accounts.MAX_ADDRESS_FAILURES):
        with pytest.raises(accounts.InputError):
            accounts.sign_in(store, f"guess-{n}", "x", "203.0.113.7")
    with pytest.raises(accounts.RateLimited):
        accounts.sign_in(store, "evaluator", "demo-evaluator-pass", "203.0.113.7")
    who, _ = accounts.sign_in(store, "evaluator", "demo-evaluator-pass", "198.51.100.1")
    assert who.role == "evaluator"


def test_tokens_scopes_and_expiry(client: TestClient) -> None:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    read, _ = accounts.create_token(ws.store, "rso", "read", "90d")
    body = {"reviewer": "Jonas Weber", "sections": []}
    seen = client.post(
        "/api/v1/reviews/1/assignments", json=body, headers={"Authorization": f"Bearer {read}"}
    )
    assert (
        seen.status_code == 403 and seen.json()["error"]["message"] == "this API token is read-only"
    )
    old, _ = accounts.create_token(ws.store, "rso", "write", "1h")
    with ws.store.write() as tx:
        tx.execute(
            update(WebTokenRow)
            .values(expires_at="2020-01-01T00:00:00Z")
            .where(WebTokenRow.token_hash == accounts._digest(old))
        )
    expired = client.get("/api/v1/me", headers={"Authorization": f"Bearer {old}"})
    assert expired.status_code == 401 and "expired" in expired.json()["error"]["message"]
    bogus = client.get("/api/v1/me", headers={"Authorization": "Bearer sgt_nope"})
    assert bogus.status_code == 401 and bogus.json()["error"]["code"] == "token_refused"
    basic = client.get("/api/v1/me", headers={"Authorization": "Basic abc"})
    assert basic.status_code == 401
    with ws.store.read() as s:
        stored = [t.token_hash for t in s.query(WebTokenRow)]
    assert read not in stored and accounts._digest(read) in stored


def test_the_conflict_refusal_is_enforced_over_the_web(client: TestClient) -> None:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    token, _ = accounts.create_token(ws.store, "rso", "write", "1d")
    auth = {"Authorization": f"Bearer {token}"}
    before = _last_entry(client)
    refused = client.post(
        "/api/v1/reviews/1/assignments", json={"reviewer": "Jonas Weber"}, headers=auth
    )
    assert refused.status_code == 409
    assert "major conflict of interest" in refused.json()["error"]["message"]
    assert _last_entry(client) == before


def _reviewer_token(client: TestClient, name: str) -> dict[str, str]:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    token, _ = accounts.create_token(ws.store, name, "write", "1d")
    return {"Authorization": f"Bearer {token}"}


def test_unassigned_and_conflicted_reviewers_get_404(client: TestClient) -> None:
    ws = client.app.state.workspace  # type: ignore[attr-defined]
    accounts.add_user(ws.store, "Unregistered Person", "reviewer", by="test")
    for name in ("Jonas Weber", "Unregistered Person"):
        auth = _reviewer_token(client, name)
        before = _last_entry(client)
        for url in ("/api/v1/review/1/edition", "/review/1"):
            response = client.get(url, headers=auth)
            assert response.status_code == 404, (name, url)
            assert "Capabilities" not in response.text
        posted = client.post(
            "/api/v1/review/1/comments",
            json={"section": "capabilities", "text": "let me in"},
            headers=auth,
        )
        assert posted.status_code == 404
        statement = client.post(
            "/api/v1/review/1/statement", json={"verdict": "agree", "text": "fine"}, headers=auth
        )
        assert statement.status_code == 404
        assert client.get("/api/v1/review/assignments", headers=auth).json()["items"] == []
        assert _last_entry(client) == before


def test_the_assigned_reviewer_sees_the_edition_and_each_access_is_recorded(
    client: TestClient,
) -> None:
    auth = _reviewer_token(client, "Mara Okafor")
    assert client.get("/api/v1/review/99/edition", headers=auth).status_code == 404
    data = client.get("/api/v1/review/1/edition", headers=auth).json()
    kind, record = _last_entry(client)
    assert kind == "review-access"
    assert record["reviewer"] == "Mara Okafor" and record["created_by"] == "web:Mara Okafor"
    # the ledger holds a salted commitment, never the plain hash of the reviewer edition
    assert record["edition_sha256"] == data["edition_commitment"] != data["edition_sha256"]
    page = client.get("/review/1", headers=auth)
    assert page.status_code == 200 and 'id="s-capabilities"' in page.text
    assert _last_entry(client)[0] == "review-access"


def test_bad_bodies_get_the_envelope_and_write_nothing(client: TestClient) -> None:
    auth = _reviewer_token(client, "Mara Okafor")
    before = _last_entry(client)
    cases = [
        (b"{not json", "application/json", 422),
        (b'{"section": 5}', "application/json", 422),
        (b'{"section": "a", "text": "b", "extra": 1}', "application/json", 422),
        (b"section=a&text=b", "text/plain", 422),
    ]
    for body, content_type, status in cases:
        response = client.post(
            "/api/v1/review/1/comments",
            content=body,
            headers={**auth, "Content-Type": content_type},
        )
        assert response.status_code == status, (body, response.text)
        error = response.json()["error"]
        assert set(error) == {"code", "message", "hint", "field"}
    assert _last_entry(client) == before


def test_console_determinations_and_decisions(client: TestClient, tokens: dict[str, str]) -> None:
    auth = {"Authorization": f"Bearer {tokens['board']}"}
    status = client.get("/api/v1/models/aurora-3/determinations", headers=auth).json()
    crossed = next(t for t in status["thresholds"] if t["threshold_id"] == "non-novel-cb")
    assert crossed["state"] == "crossed"
    indicator = crossed["indicators"][0]
    chart = indicator["chart"]
    assert chart["low_x"] <= chart["estimate_x"] <= chart["high_x"]
    assert chart["band_x"] < chart["threshold_x"] < chart["estimate_x"]
    assert abs(chart["threshold_x"] - indicator["threshold"] * chart["width"]) < 0.1
    assert client.get("/api/v1/models/nope/determinations", headers=auth).status_code == 404

    decisions = client.get("/api/v1/decisions", headers=auth).json()["items"]
    first = next(d for d in decisions if d["compare_ref"] is not None)
    full = client.get(f"/api/v1/decisions/{first['id']}", headers=auth).json()
    twin = full["counterfactual"]
    assert twin["framework_ref"] == first["compare_ref"]
    assert twin["outcome"] != full["outcome"]
    assert full["record"]["what_would_change"]
    page = client.get(f"/console/decisions/{first['id']}", headers=auth)
    assert "Counterfactual" in page.text and full["record"]["summary"][:40] in page.text
    model_page = client.get("/console/models/aurora-3", headers=auth)
    assert model_page.text.count("<svg") >= 3
    assert client.get("/api/v1/decisions/999", headers=auth).status_code == 404
