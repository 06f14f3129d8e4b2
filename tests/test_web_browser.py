"""The ledger explorer in a real browser: Chromium checks proofs itself (WebCrypto Ed25519)."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scaleguard.web.app import create_app
from web_support import LiveServer, chromium_path, demo_workspace

pytestmark = pytest.mark.browser


def shots_dir() -> Path:
    """docs/img when refreshing the documentation's screenshots (SCALEGUARD_SCREENSHOTS=1),
    else a scratch folder, so a test run leaves the working tree as it found it."""
    if os.environ.get("SCALEGUARD_SCREENSHOTS") == "1":
        return Path(__file__).resolve().parents[1] / "docs" / "img"
    out = Path(tempfile.gettempdir()) / "scaleguard-screenshots"
    out.mkdir(exist_ok=True)
    return out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    root = demo_workspace(tmp_path_factory)
    live = LiveServer(create_app(root))
    try:
        yield live
    finally:
        live.stop()


@pytest.fixture(scope="module")
def browser(server: LiveServer) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    try:
        yield context.new_page()
    finally:
        context.close()


def verify(page: Any, url: str) -> tuple[str, str]:
    page.goto(url)
    page.click("#verify-button")
    result = page.locator("#verify-result[data-ok]")
    result.wait_for(timeout=15000)
    return str(result.get_attribute("data-ok")), str(result.text_content())


def _statement_index(server: LiveServer, page: Any) -> int:
    cursor = ""
    while True:
        page.goto(f"{server.url}/api/v1/ledger/entries?limit=200&cursor={cursor}")
        body = json.loads(page.locator("body").inner_text())
        for e in body["items"]:
            if e["kind"] == "review-statement":
                return int(e["index"])
        assert body["next_cursor"], "the demo ledger has no review statement"
        cursor = body["next_cursor"]


def test_a_real_entry_verifies_in_the_browser(server: LiveServer, page: Any) -> None:
    index = _statement_index(server, page)
    ok, text = verify(page, f"{server.url}/ledger/entries/{index}")
    assert ok == "true", text
    steps = page.locator("#verify-steps li").all_text_contents()
    assert any("signature" in s and "verified" in s for s in steps)
    assert any("recomputed from the entry's bytes" in s for s in steps)
    # a withheld entry verifies from its leaf hash alone
    ok, text = verify(page, f"{server.url}/ledger/entries/0")
    assert ok == "true", text


def _tamper(page: Any, change: Any) -> None:
    def handle(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        change(body)
        route.fulfill(response=response, body=json.dumps(body))

    page.route("**/api/v1/ledger/entries/*/proof", handle)


def _flip(b64: str) -> str:
    import base64

    raw = bytearray(base64.b64decode(b64))
    raw[0] ^= 1
    return base64.b64encode(bytes(raw)).decode()


@pytest.mark.parametrize(
    ("name", "change", "reason"),
    [
        ("proof hash", lambda b: b["proof"].__setitem__(0, _flip(b["proof"][0])), "Merkle path"),
        ("shorter proof", lambda b: b["proof"].pop(), "too short"),
        ("leaf hash", lambda b: b.__setitem__("leaf_hash", _flip(b["leaf_hash"])), "hash to"),
        (
            "checkpoint root",
            lambda b: b.__setitem__("checkpoint", _reroot(b["checkpoint"])),
            "signature",
        ),
        (
            "checkpoint size",
            lambda b: b.__setitem__("checkpoint", _resize(b["checkpoint"])),
            "signature",
        ),
        ("entry bytes", lambda b: b.__setitem__("data", _flip(b["data"])), "hash to"),
    ],
)
def test_a_tampered_proof_fails_in_the_browser(
    server: LiveServer, page: Any, name: str, change: Any, reason: str
) -> None:
    index = _statement_index(server, page)
    _tamper(page, change)
    ok, text = verify(page, f"{server.url}/ledger/entries/{index}")
    assert ok == "false", f"{name}: {text}"
    assert reason in text


def _reroot(note: str) -> str:
    origin, size, root, rest = note.split("\n", 3)
    return f"{origin}\n{size}\n{_flip(root)}\n{rest}"


def _resize(note: str) -> str:
    origin, size, rest = note.split("\n", 2)
    return f"{origin}\n{int(size) + 1}\n{rest}"


def test_another_key_is_refused(server: LiveServer, page: Any) -> None:
    from scaleguard.ledger.keys import generate_key

    other = generate_key("scaleguard.local/impostor").vkey
    page.goto(f"{server.url}/ledger/entries/1")
    page.fill("#trusted-vkey", other)
    _refused_as_another_key(page)


def _hold_the_key_request(page: Any, url: str, step: Any) -> Any:
    """Open ``url`` with the page's request for the server's key held, run ``step`` (the
    reader's first move), and return the held request once the page has made it."""
    held: list[Any] = []

    def hold(route: Any) -> None:
        held.append(route)

    page.route("**/api/v1/ledger/key", hold)
    page.goto(url)
    step()
    for _ in range(200):
        if held:
            break
        page.wait_for_timeout(25)
    assert held, "the page never asked the server for its key"
    return held[0]


def _refused_as_another_key(page: Any) -> None:
    page.click("#verify-button")
    result = page.locator("#verify-result[data-ok]")
    result.wait_for(timeout=15000)
    assert result.get_attribute("data-ok") == "false"
    assert "not signed by the trusted key" in str(result.text_content())


def test_a_key_typed_before_the_servers_arrives_is_kept(server: LiveServer, page: Any) -> None:
    """The page fills in the server's key when it arrives; a key the reader pasted first is
    kept, so the check runs against the reader's key, not silently against the server's."""
    from scaleguard.ledger.keys import generate_key

    other = generate_key("scaleguard.local/impostor").vkey
    url = f"{server.url}/ledger/entries/1"
    held = _hold_the_key_request(page, url, lambda: page.fill("#trusted-vkey", other))
    held.continue_()  # answered only after the paste
    page.wait_for_timeout(200)
    assert page.input_value("#trusted-vkey") == other
    _refused_as_another_key(page)


def test_the_servers_key_never_lands_in_a_field_the_reader_is_in(
    server: LiveServer, page: Any
) -> None:
    """A server key arriving while the reader is in the field (about to paste) waits: written
    then, the paste would be joined to it. Left empty, the field gets the server's key."""
    from scaleguard.ledger.keys import generate_key

    other = generate_key("scaleguard.local/impostor").vkey
    url = f"{server.url}/ledger/entries/1"
    held = _hold_the_key_request(page, url, lambda: page.focus("#trusted-vkey"))
    held.continue_()  # answered once the reader is in the field
    page.wait_for_timeout(300)
    assert page.input_value("#trusted-vkey") == ""  # not written while the reader is in it
    page.keyboard.insert_text(other)  # a paste at the cursor
    assert page.input_value("#trusted-vkey") == other
    _refused_as_another_key(page)

    page.unroute("**/api/v1/ledger/key")
    page.goto(f"{server.url}/ledger/entries/1")
    page.focus("#trusted-vkey")
    page.wait_for_timeout(300)
    page.locator("#trusted-vkey").blur()  # left empty: the server's key is filled in
    page.wait_for_function("document.getElementById('trusted-vkey').value.includes('+')")
    assert page.input_value("#trusted-vkey") != other


def test_consistency_between_two_checkpoints_verifies(server: LiveServer, page: Any) -> None:
    page.goto(f"{server.url}/api/v1/ledger/checkpoints")
    sizes = sorted(c["size"] for c in json.loads(page.locator("body").inner_text())["items"])
    assert len(sizes) >= 2
    # the oldest, a middle one and the newest but one: the page's check is the same for all
    for old in sorted({sizes[0], sizes[(len(sizes) - 1) // 2], sizes[-2]}):
        ok, text = verify(page, f"{server.url}/ledger/consistency?old={old}&new={sizes[-1]}")
        assert ok == "true", f"{old}: {text}"


def test_screenshots_of_the_public_pages(server: LiveServer, page: Any) -> None:
    out = shots_dir()
    out.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    index = _statement_index(server, page)
    verify(page, f"{server.url}/ledger/entries/{index}")
    page.screenshot(path=str(out / "web-ledger-entry.png"), full_page=True)
    page.goto(f"{server.url}/diff?old=anthropic-rsp@2.2&new=anthropic-rsp@3.0")
    page.screenshot(path=str(out / "web-diff.png"))
    page.goto(f"{server.url}/reports/1")
    page.screenshot(path=str(out / "web-report.png"), full_page=True)


def sign_in(page: Any, server: LiveServer, name: str, password: str) -> None:
    page.goto(f"{server.url}/login")
    page.fill("input[name=name]", name)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_reviewer_journey(server: LiveServer, page: Any) -> None:
    sign_in(page, server, "Mara Okafor", "demo-reviewer-pass")
    assert page.url.endswith("/review")
    page.click("a[href='/review/1']")
    page.wait_for_selector("#s-capabilities")
    assert "Reviewer edition" in page.inner_text("h1")
    comments = page.inner_text("#comments + div")
    assert "capabilities.automated-rd" in comments
    page.set_viewport_size({"width": 1280, "height": 900})
    out = shots_dir()
    page.screenshot(path=str(out / "web-reviewer-portal.png"))
    page.click("form[action='/logout'] button")
    page.wait_for_load_state()
    assert page.locator("a[href='/login']").count() == 1


def test_a_conflicted_reviewer_gets_404(server: LiveServer, page: Any) -> None:
    sign_in(page, server, "Jonas Weber", "demo-conflicted-pass")
    assert page.url.endswith("/review")
    assert "You have no assignment" in page.inner_text("main")
    response = page.goto(f"{server.url}/review/1")
    assert response.status == 404
    assert "Capabilities" not in page.inner_text("main")


def test_operator_journey(server: LiveServer, page: Any) -> None:
    response = page.goto(f"{server.url}/console/reviews")
    assert "/login" in page.url and response.status == 200
    page.fill("input[name=name]", "rso")
    page.fill("input[name=password]", "demo-rso-pass")
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert page.url.endswith("/console/reviews")
    text = page.inner_text("main")
    assert "Mara Okafor" in text and "We will add an elicitation appendix" in text
    # the conflicted reviewer is refused over the web as on the command line
    page.select_option("select[name=reviewer]", "Jonas Weber")
    page.click("form[action$='/assign'] button")
    page.wait_for_load_state()
    assert "major conflict of interest" in page.inner_text("main")
    page.goto(f"{server.url}/console/reviews")
    out = shots_dir()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(out / "web-console-reviews.png"))


def test_board_member_reads_the_console(server: LiveServer, page: Any) -> None:
    sign_in(page, server, "board", "demo-board-pass")
    page.click("a[href='/console']")
    page.wait_for_load_state()
    assert "aurora-3" in page.inner_text("main")
    out = shots_dir()
    page.set_viewport_size({"width": 1280, "height": 900})
    page.click("a[href='/console/models/aurora-3']")
    page.wait_for_selector("svg.chart")
    page.screenshot(path=str(out / "web-console-model.png"))
    page.goto(f"{server.url}/console")
    page.click("a[href^='/console/decisions/']")
    page.wait_for_load_state()
    assert "What would change the outcome" in page.inner_text("main")
    page.screenshot(path=str(out / "web-console-decision.png"))
    # the board reads; it cannot manage reviews
    response = page.goto(f"{server.url}/console/reviews")
    assert response.status == 403


def test_evaluator_uploads_evidence_with_a_progress_bar(
    server: LiveServer, page: Any, tmp_path: Path
) -> None:
    csv = tmp_path / "browser-upload.csv"
    csv.write_text(
        "model,task,metric,value,sample_count,source\n"
        "aurora-3,browser_task,pass_rate,0.37,40,https://lab.example/evals/browser\n"
    )
    sign_in(page, server, "evaluator", "demo-evaluator-pass")
    page.goto(f"{server.url}/console/evidence")
    page.set_input_files("input[type=file]", str(csv))
    page.click("#upload button[type=submit]")
    result = page.locator("#upload-result[data-ok]")
    result.wait_for(timeout=15000)
    assert result.get_attribute("data-ok") == "true", result.text_content()
    assert page.locator("#upload-progress").evaluate("el => el.value") == 100
    assert "browser-upload.csv: ingested, 1 record(s)" in str(result.text_content())
    page.wait_for_selector("text=browser_task", timeout=10000)
    bad = tmp_path / "broken.csv"
    bad.write_text("model,task\naurora-3\n")
    page.set_input_files("input[type=file]", str(bad))
    page.click("#upload button[type=submit]")
    page.wait_for_selector("#upload-result[data-ok='false']", timeout=15000)
    assert "Refused:" in page.inner_text("#upload-result")


def test_rso_records_a_decision_from_the_console(server: LiveServer, page: Any) -> None:
    sign_in(page, server, "rso", "demo-rso-pass")
    page.goto(f"{server.url}/console/actions")
    decide = page.locator("form[data-action='/api/v1/decisions']")
    decide.locator("select[name=action]").select_option("deploy_external")
    decide.locator("select[name=compare]").select_option("anthropic-rsp@2.2")
    decide.locator("button").click()
    result = decide.locator(".result[data-ok]")
    result.wait_for(timeout=20000)
    assert result.get_attribute("data-ok") == "true", result.text_content()
    assert "comparison_id" in str(result.text_content())
    redact = page.locator("form[data-action$='/redactions']")
    redact.locator("input[name=id]").fill("1")
    redact.locator("input[name=section]").fill("summary")
    redact.locator("select[name=category]").select_option("security")
    redact.locator("input[name=justification]").fill("x")
    redact.locator("button").click()
    refused = redact.locator(".result[data-ok]")
    refused.wait_for(timeout=20000)
    text = str(refused.text_content())
    assert refused.get_attribute("data-ok") == "false" and text.startswith("Refused:"), text


def test_the_javascript_verifier_agrees_with_the_rfc_for_every_small_tree(
    server: LiveServer, page: Any
) -> None:
    """verify.js against proofs built from RFC 9162's definitions, for every size up to 17:
    each honest proof verifies, and the same proof against a neighbouring position fails."""
    import base64

    from scaleguard.ledger.merkle import (
        leaf_hash,
        naive_consistency_proof,
        naive_inclusion_proof,
        naive_root,
    )

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    entries = [f"entry {i}".encode() for i in range(17)]
    inclusion = []
    consistency = []
    for n in range(1, 18):
        tree = entries[:n]
        root = b64(naive_root(tree))
        for i in range(n):
            proof = [b64(h) for h in naive_inclusion_proof(i, tree)]
            inclusion.append([i, n, b64(leaf_hash(tree[i])), proof, root])
        for m in range(1, n + 1):
            proof = [b64(h) for h in naive_consistency_proof(m, tree)]
            consistency.append([m, n, proof, b64(naive_root(entries[:m])), root])
    page.goto(f"{server.url}/ledger/entries/0")
    result = page.evaluate(
        """async ([inclusion, consistency]) => {
            const d = SgVerify.b64decode;
            const ok = async (f) => { try { await f(); return true; } catch (e) { return false; } };
            const inc = SgVerify.verifyInclusion, con = SgVerify.verifyConsistency;
            const bad = [];
            for (const [i, n, leaf, proof, root] of inclusion) {
                const p = proof.map(d);
                if (!(await ok(() => inc(i, n, d(leaf), p, d(root)))))
                    bad.push(`inclusion ${i}/${n} refused`);
                if (n > 1 && await ok(() => inc((i + 1) % n, n, d(leaf), p, d(root))))
                    bad.push(`inclusion ${i}/${n} accepted at another index`);
            }
            for (const [m, n, proof, oldRoot, newRoot] of consistency) {
                const p = proof.map(d);
                if (!(await ok(() => con(m, n, p, d(oldRoot), d(newRoot)))))
                    bad.push(`consistency ${m}->${n} refused`);
                if (m < n && await ok(() => con(m, n, p, d(newRoot), d(newRoot))))
                    bad.push(`consistency ${m}->${n} accepted with a wrong old root`);
            }
            return bad;
        }""",
        [inclusion, consistency],
    )
    assert result == []
