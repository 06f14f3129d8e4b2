"""The public site and the public JSON API over the demo workspace."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from scaleguard.ledger.keys import parse_vkey
from scaleguard.ledger.merkle import leaf_hash, verify_consistency, verify_inclusion
from scaleguard.ledger.note import open_checkpoint
from scaleguard.web.app import Settings, create_app
from web_support import demo_workspace

ENVELOPE_KEYS = {"code", "message", "hint", "field"}


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return demo_workspace(tmp_path_factory)


@pytest.fixture(scope="module")
def client(root: Path) -> Iterator[TestClient]:
    app = create_app(root, Settings(max_body=64 * 1024))
    with TestClient(app, base_url="https://testserver") as c:
        yield c


def envelope(response: object) -> dict[str, object]:
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) == {"error"}
    assert set(body["error"]) == ENVELOPE_KEYS
    assert body["error"]["message"]
    return dict(body["error"])


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/", "the public record"),
        ("/frameworks", "anthropic-rsp@3.0"),
        ("/frameworks/anthropic-rsp@3.0", "Capability thresholds"),
        ("/diff?old=anthropic-rsp@2.2&new=anthropic-rsp@3.0", "weakening"),
        ("/roadmap", "Frontier Safety Roadmap"),
        ("/reports", "Published Risk Reports"),
        ("/reports/1", "Mara Okafor"),
        ("/ledger", "signed checkpoint"),
        ("/ledger/entries/0", "Verify inclusion in my browser"),
        ("/login", "Sign in"),
    ],
)
def test_public_pages_render(client: TestClient, url: str, expected: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, response.text[:300]
    assert expected in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"


def test_the_diff_page_shows_the_weakening_findings_side_by_side(client: TestClient) -> None:
    api = client.get(
        "/api/v1/diff", params={"old": "anthropic-rsp@2.2", "new": "anthropic-rsp@3.0"}
    )
    assert api.status_code == 200
    weakening = [c for c in api.json()["changes"] if c["classification"] == "weakening"]
    assert weakening
    page = client.get("/diff", params={"old": "anthropic-rsp@2.2", "new": "anthropic-rsp@3.0"})
    assert page.text.count('<tr class="weakening">') == len(weakening)


def test_published_files_are_served_only_while_they_match_their_ledger_hash(
    client: TestClient, root: Path
) -> None:
    report = client.get("/api/v1/reports/1").json()
    pdf = next(e for e in report["editions"] if e["format"] == "pdf")
    response = client.get(pdf["download"])
    assert response.status_code == 200
    assert response.content.startswith(b"%PDF")
    assert hashlib.sha256(response.content).hexdigest() == pdf["sha256"]
    assert response.headers["x-content-sha256"] == pdf["sha256"]
    assert [s["verdict"] for s in report["review"]] == ["partly"]
    assert report["review"][0]["response"]["text"].startswith("We will add")

    html = next(e for e in report["editions"] if e["format"] == "html")
    path = next((root / "reports").glob("*-public.html"))
    original = path.read_bytes()
    path.write_bytes(original.replace(b"</body>", b"<p>added later</p></body>"))
    try:
        tampered = client.get(html["download"])
        assert tampered.status_code == 500
        assert "does not match the SHA-256" in tampered.text
        assert "added later" not in tampered.text
    finally:
        path.write_bytes(original)
    assert client.get(html["download"]).status_code == 200


def test_reviewer_editions_are_never_public(client: TestClient) -> None:
    for fmt in ("html", "pdf"):
        assert client.get(f"/reports/1/reviewer.{fmt}").status_code == 404
    assert client.get("/reports/1/public.md").status_code == 404
    assert client.get("/reports/1/public.%2e%2e%2fscaleguard.toml").status_code == 404
    assert client.get("/reports/1/..%2F..%2Fscaleguard.toml").status_code == 404


def test_confidential_entries_show_only_what_verifies_them(client: TestClient) -> None:
    entries = []
    cursor = None
    while True:
        page = client.get("/api/v1/ledger/entries", params={"limit": 40, "cursor": cursor})
        assert page.status_code == 200
        entries += page.json()["items"]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert [e["index"] for e in entries] == list(range(len(entries)))
    report = next(e for e in entries if e["kind"] == "risk-report")
    assert report["withheld"] and report["subject"] is None
    one = client.get(f"/api/v1/ledger/entries/{report['index']}").json()
    assert "data" not in one and "record" not in one
    statement = next(e for e in entries if e["kind"] == "review-statement")
    full = client.get(f"/api/v1/ledger/entries/{statement['index']}").json()
    data = base64.b64decode(full["data"])
    assert base64.b64encode(leaf_hash(data)).decode() == full["leaf_hash"]


def test_proofs_from_the_api_verify_with_the_library(client: TestClient) -> None:
    key = parse_vkey(client.get("/api/v1/ledger/key").json()["vkey"])
    latest = client.get("/api/v1/ledger/checkpoint").json()
    for index in (0, latest["size"] // 2, latest["size"] - 1):
        proof = client.get(f"/api/v1/ledger/entries/{index}/proof").json()
        cp = open_checkpoint(proof["checkpoint"].encode(), key)
        leaf = base64.b64decode(proof["leaf_hash"])
        hashes = [base64.b64decode(h) for h in proof["proof"]]
        verify_inclusion(leaf, index, cp.size, hashes, cp.root)
    sizes = sorted(c["size"] for c in client.get("/api/v1/ledger/checkpoints").json()["items"])
    old, new = sizes[0], sizes[-1]
    c = client.get("/api/v1/ledger/consistency", params={"old": old, "new": new}).json()
    a = open_checkpoint(c["old"]["note"].encode(), key)
    b = open_checkpoint(c["new"]["note"].encode(), key)
    verify_consistency(a.size, b.size, a.root, b.root, [base64.b64decode(h) for h in c["proof"]])


def test_lists_page_with_cursors_and_reads_carry_etags(client: TestClient) -> None:
    everything = client.get("/api/v1/frameworks", params={"limit": 200}).json()["items"]
    seen: list[str] = []
    cursor = None
    while True:
        page = client.get("/api/v1/frameworks", params={"limit": 3, "cursor": cursor}).json()
        seen += [f["ref"] for f in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [f["ref"] for f in everything]

    first = client.get("/api/v1/ledger/key")
    tag = first.headers["etag"]
    again = client.get("/api/v1/ledger/key", headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.content == b""
    assert client.get("/api/v1/ledger/key", headers={"If-None-Match": '"x"'}).status_code == 200


@pytest.mark.parametrize(
    ("url", "status", "code", "field"),
    [
        ("/api/v1/nope", 404, "not_found", None),
        ("/api/v1/frameworks/nope@9", 404, "not_found", None),
        ("/api/v1/ledger/entries/999999", 404, "not_found", None),
        ("/api/v1/ledger/entries/-1", 422, "invalid", "index"),
        ("/api/v1/ledger/entries/9223372036854775808", 422, "invalid", "index"),
        ("/api/v1/ledger/entries/abc", 422, "invalid", "index"),
        ("/api/v1/ledger/entries?limit=0", 422, "invalid", "limit"),
        ("/api/v1/ledger/entries?cursor=%%%", 400, "input", "cursor"),
        ("/api/v1/frameworks?cursor=cDE5OTk5OTk5OTk5OTk5OTk5OTk5OQ", 400, "input", "cursor"),
        ("/api/v1/diff?old=anthropic-rsp@2.2", 422, "invalid", "new"),
        ("/api/v1/ledger/consistency?old=9&new=2", 400, "input", None),
        ("/api/v1/reports/77", 404, "not_found", None),
    ],
)
def test_the_error_envelope_is_pinned(
    client: TestClient, url: str, status: int, code: str, field: str | None
) -> None:
    response = client.get(url)
    assert response.status_code == status, response.text
    error = envelope(response)
    assert error["code"] == code
    assert error["field"] == field


def test_oversized_and_malformed_bodies_get_the_envelope(client: TestClient) -> None:
    big = client.post("/api/v1/frameworks", content=b"x" * (65 * 1024))
    assert big.status_code == 413 and envelope(big)["code"] == "too_large"
    wrong = client.post("/api/v1/frameworks", content=b"{}")
    assert wrong.status_code == 405 and envelope(wrong)["code"] == "method_not_allowed"


def test_openapi_lists_the_api(client: TestClient) -> None:
    spec = client.get("/api/v1/openapi.json").json()
    paths = set(spec["paths"])
    assert {"/api/v1/ledger/entries/{index}/proof", "/api/v1/diff", "/api/v1/reports"} <= paths
    assert not any(p.startswith("/ledger") or p == "/" for p in paths)
    proof = spec["paths"]["/api/v1/ledger/entries/{index}/proof"]["get"]["responses"]
    assert proof["404"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")
    assert proof["422"]["content"]["application/json"]["schema"]["$ref"].endswith("ErrorEnvelope")


def test_serve_and_users_are_lazy_cli_commands() -> None:
    import subprocess
    import sys

    code = (
        "import sys, scaleguard.cli.app; "
        "print(any(m.startswith(('fastapi', 'uvicorn', 'argon2')) for m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_embedded_edition_style_cannot_restyle_the_page() -> None:
    from scaleguard.web.portal import scope_css

    css = (
        '@page { size: A4; @bottom-center { content: "p"; } }\n'
        "body { margin: 0 } h1, .a > b { x: y } @media print { body { p: 0 } }"
    )
    assert scope_css(css, ".e") == ".e { margin: 0 }\n.e h1, .e .a > b { x: y }"


@pytest.mark.parametrize(
    ("url", "status"),
    [
        ("/frameworks/nope@1", 404),
        ("/diff?old=nope&new=anthropic-rsp@3.0", 404),
        ("/reports/99", 404),
        ("/reports/abc", 422),
        ("/ledger/entries/99999", 404),
        ("/ledger/entries/-3", 422),
        ("/ledger?cursor=%00%01", 400),
        ("/ledger/consistency?old=3&new=999999", 404),
        ("/ledger/consistency?old=x&new=1", 422),
        ("/no/such/page", 404),
    ],
)
def test_bad_page_requests_get_an_error_page(client: TestClient, url: str, status: int) -> None:
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("text/html")
    assert "Traceback" not in response.text and "<h1>" in response.text


def test_the_framework_list_is_what_the_documents_say(client: TestClient, root: Path) -> None:
    """The API lists frameworks from the library's index; each item must be what loading
    the document gives, in the API's shape."""
    from scaleguard.workspace import open_workspace

    with open_workspace(root) as ws:
        expected = [
            {
                "ref": e.framework.ref,
                "id": e.framework.doc.framework.id,
                "version": e.framework.doc.framework.version,
                "developer": e.framework.doc.framework.developer,
                "title": e.framework.doc.framework.title,
                "effective_date": e.framework.doc.framework.effective_date.isoformat(),
                "builtin": e.builtin,
                "digest": e.framework.digest,
                "counts": {
                    "thresholds": len(e.framework.doc.thresholds),
                    "safeguard_standards": len(e.framework.doc.safeguard_standards),
                    "commitments": len(e.framework.doc.commitments),
                },
                "changed_in_place": False,  # no document of the workspace's own changed
            }
            for e in ws.library().entries
        ]
    listed = client.get("/api/v1/frameworks", params={"limit": 200}).json()["items"]
    assert listed == expected
