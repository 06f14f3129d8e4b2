"""A framework's ID@VERSION names one set of rules, in every decision that cites it.

Attacks: an operator edits the workspace's own framework in place (drops a
required safeguard) and decides again under the same version; a file given by
path calls itself a built-in framework's version with loosened rules. Both are
refused with exit 2 and record nothing. A built-in framework whose encoding
changes with the installed scaleguard is recorded as a use of its own.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from scaleguard.errors import ConflictError
from scaleguard.store import Store, repo
from scaleguard.workspace.workspace import Workspace
from test_store import store

__all__ = ["store"]  # the fixture used below

Cli = Callable[..., Any]

BOTH_SAFEGUARDS = "      - standard: asl-3-deployment\n      - standard: asl-3-security\n"
ONE_SAFEGUARD = "      - standard: asl-3-deployment\n"


def _rsp_3_0() -> str:
    return (
        resources.files("scaleguard.framework") / "builtin" / "anthropic-rsp-3.0.yaml"
    ).read_text(encoding="utf-8")


def _as_lab_framework(text: str, version: str) -> str:
    """The RSP 3.0 document as the lab's own framework ``lab-rsp@version``."""
    renamed = text.replace("  id: anthropic-rsp\n", "  id: lab-rsp\n", 1)
    renamed = renamed.replace('  version: "3.0"\n', f'  version: "{version}"\n', 1)
    assert renamed.count("lab-rsp") == 1 and f'"{version}"' in renamed
    return renamed


def _loosened(text: str) -> str:
    """The same document without the first threshold's second required safeguard."""
    assert BOTH_SAFEGUARDS in text
    return text.replace(BOTH_SAFEGUARDS, ONE_SAFEGUARD, 1)


def _recorded(ws: Workspace) -> tuple[int, int, int]:
    with ws.store.read() as s:
        return repo.ledger_size(s), len(repo.decisions(s)), len(repo.framework_uses(s))


def _decide(cli: Cli, ws: Workspace, framework: str) -> Any:
    args = ("decide", "aurora-3", "--action", "train", "--framework", framework)
    return cli(*args, "--by", "rso", "--workspace", ws.root, "--json")


def test_a_framework_edited_under_the_same_version_is_refused(lab: Workspace, cli: Cli) -> None:
    path = lab.frameworks_dir / "lab.yaml"
    path.write_text(_as_lab_framework(_rsp_3_0(), "1.0"))
    first = _decide(cli, lab, "lab-rsp@1.0")
    assert first.code in (0, 1), first.err
    before = _recorded(lab)

    path.write_text(_loosened(_as_lab_framework(_rsp_3_0(), "1.0")))
    for result in (
        _decide(cli, lab, "lab-rsp@1.0"),
        cli("determine", "aurora-3", "--framework", "lab-rsp@1.0", "--workspace", lab.root),
    ):
        assert result.code == 2, result.err
        assert "lab-rsp@1.0 (frameworks/lab.yaml) is not the lab-rsp@1.0" in result.err
        assert "may not change under the same version" in result.err
        assert "hint: give the changed document a new version" in result.err
        assert "Traceback" not in result.err
        assert _recorded(lab) == before  # nothing recorded: no decision, no entry

    refused = _decide(cli, lab, "lab-rsp@1.0")
    error = json.loads(refused.out)["error"]
    assert (error["type"], error["exit_code"]) == ("ConflictError", 2)

    # the change, under a version of its own, is a framework of its own
    path.write_text(_loosened(_as_lab_framework(_rsp_3_0(), "1.1")))
    again = _decide(cli, lab, "lab-rsp@1.1")
    assert again.code in (0, 1), again.err
    with lab.store.read() as s:
        uses = {u.ref: u.digest for u in repo.framework_uses(s)}
    assert {"lab-rsp@1.0", "lab-rsp@1.1"} <= set(uses)
    assert uses["lab-rsp@1.0"] != uses["lab-rsp@1.1"]

    # restoring the document as first used is the same framework again
    path.write_text(_as_lab_framework(_rsp_3_0(), "1.0"))
    assert _decide(cli, lab, "lab-rsp@1.0").code in (0, 1)


def test_a_file_posing_as_a_built_in_version_is_refused(
    lab: Workspace, cli: Cli, tmp_path: Path
) -> None:
    posing = tmp_path / "rsp.yaml"
    posing.write_text(_loosened(_rsp_3_0()))
    before = _recorded(lab)
    result = _decide(cli, lab, str(posing))
    assert result.code == 2, result.err
    assert "calls itself anthropic-rsp@3.0, a built-in framework" in result.err
    assert "frameworks diff" in result.err and "Traceback" not in result.err
    assert _recorded(lab) == before

    # an exact copy is the same rules: accepted, and recorded as the built-in's digest
    copy = tmp_path / "copy.yaml"
    copy.write_text(_rsp_3_0())
    assert _decide(cli, lab, str(copy)).code in (0, 1)
    builtin = lab.library().get("anthropic-rsp@3.0")
    with lab.store.read() as s:
        assert repo.framework_use(s, builtin.digest) is not None


def test_only_a_built_in_framework_may_change_under_its_version(store: Store) -> None:
    with store.write() as tx:
        first = repo.record_framework(
            tx, ref="acme@1.0", digest="a" * 64, origin="frameworks/acme.yaml"
        )
        published = repo.record_framework(tx, ref="x@1", digest="d" * 64, origin="builtin:x")
    with store.read() as s:
        size = repo.ledger_size(s)
    with (
        pytest.raises(ConflictError, match=r"acme@1\.0 \(other/acme\.yaml\) is not the acme@1\.0"),
        store.write() as tx,
    ):
        repo.record_framework(tx, ref="acme@1.0", digest="b" * 64, origin="other/acme.yaml")
    # a corrected encoding of a published version, shipped with scaleguard: recorded
    with store.write() as tx:
        corrected = repo.record_framework(tx, ref="x@1", digest="e" * 64, origin="builtin:x")
        same = repo.record_framework(
            tx, ref="acme@1.0", digest="a" * 64, origin="frameworks/acme.yaml"
        )
    assert same == first and corrected.ledger_index == size
    assert corrected.digest != published.digest
    with store.read() as s:
        assert [u.digest[0] for u in repo.framework_uses(s)] == ["a", "d", "e"]


def _framework_views(ws: Workspace, ref: str) -> tuple[Any, Any]:
    """The public page and the API answer for ``ref``, from a server started now."""
    return _views(ws, f"/frameworks/{ref}")


def _views(ws: Workspace, path: str) -> tuple[Any, Any]:
    """The public page at ``path`` and its API answer, from a server started now."""
    from fastapi.testclient import TestClient

    from scaleguard.web.app import create_app

    with TestClient(create_app(ws.root), base_url="https://testserver") as client:
        return client.get(path), client.get(f"/api/v1{path}")


def _listed(ws: Workspace, ref: str) -> tuple[bool, bool]:
    """Whether the public listing (page, API) marks ``ref`` as changed after use."""
    page, api = _views(ws, "/frameworks")
    assert (page.status_code, api.status_code) == (200, 200)
    (item,) = [i for i in api.json()["items"] if i["ref"] == ref]
    row = next(r for r in page.text.split("<tr>") if f"<code>{ref}</code>" in r)
    return "changed after use" in row, item["changed_in_place"]


def test_the_public_page_says_when_a_document_changed_under_its_version(
    lab: Workspace, cli: Cli
) -> None:
    """A watchdog reading the workspace's framework must learn that the decisions under
    its version applied other rules, and deleting the record of the first use must not
    hide it."""
    from test_ledger_tamper import attack, sql

    path = lab.frameworks_dir / "lab.yaml"
    path.write_text(_as_lab_framework(_rsp_3_0(), "1.0"))
    assert _decide(cli, lab, "lab-rsp@1.0").code in (0, 1)
    with lab.store.read() as s:
        (first,) = [u.digest for u in repo.framework_uses(s) if u.ref == "lab-rsp@1.0"]

    page, api = _framework_views(lab, "lab-rsp@1.0")
    assert (page.status_code, api.status_code) == (200, 200)
    recorded = api.json()["recorded"]
    assert recorded["first_digest"] == first == api.json()["digest"]
    assert recorded["changed_in_place"] is False and recorded["digests"] == [first]
    assert 'id="changed-in-place"' not in page.text
    assert _listed(lab, "lab-rsp@1.0") == (False, False)

    path.write_text(_loosened(_as_lab_framework(_rsp_3_0(), "1.0")))
    assert _listed(lab, "lab-rsp@1.0") == (True, True)
    assert _listed(lab, "anthropic-rsp@3.0") == (False, False)
    page, api = _framework_views(lab, "lab-rsp@1.0")
    recorded = api.json()["recorded"]
    assert recorded["changed_in_place"] is True
    assert recorded["first_digest"] == first != api.json()["digest"]
    assert 'id="changed-in-place"' in page.text and first in page.text
    assert "Recording under lab-rsp@1.0 is refused" in page.text

    attack(lab, sql("DELETE FROM frameworks_loaded WHERE ref = 'lab-rsp@1.0'"))
    page, api = _framework_views(lab, "lab-rsp@1.0")
    assert (page.status_code, api.status_code) == (500, 500)
    assert "refusing to list the framework uses" in api.text
    assert "refusing to list the framework uses" in page.text


def test_the_public_page_names_earlier_encodings_of_a_built_in(lab: Workspace) -> None:
    builtin = lab.library().get_ref("anthropic-rsp@3.0")
    assert builtin.digest != "e" * 64
    with lab.store.write() as tx:
        repo.record_framework(tx, ref=builtin.ref, digest="e" * 64, origin="builtin:older")
        repo.record_framework(tx, ref=builtin.ref, digest=builtin.digest, origin=builtin.origin)
    page, api = _framework_views(lab, "anthropic-rsp@3.0")
    recorded = api.json()["recorded"]
    assert recorded["changed_in_place"] is False
    assert recorded["earlier_encodings"] == ["e" * 64]
    assert 'id="earlier-encodings"' in page.text and "e" * 64 in page.text


def test_nothing_applies_rules_changed_under_their_version(lab: Workspace, cli: Cli) -> None:
    """Attack: the lab's framework (the workspace default) is used, then edited in place.
    The incident regimes, the compliance duties, the Risk Report cadence, the external
    review window and the console's threshold view would all follow the edited rules;
    each refuses instead (exit 2, HTTP 409), until the document is restored."""
    from scaleguard.review import service as review_service
    from scaleguard.web import console
    from scaleguard.workspace import open_workspace

    path = lab.frameworks_dir / "lab.yaml"
    original = _as_lab_framework(_rsp_3_0(), "1.0")
    path.write_text(original)
    config = lab.root / "scaleguard.toml"
    text = config.read_text()
    assert 'default = "anthropic-rsp@3.0"' in text
    config.write_text(text.replace('default = "anthropic-rsp@3.0"', 'default = "lab-rsp@1.0"'))
    assert _decide(cli, lab, "lab-rsp@1.0").code in (0, 1)

    commands = [("incidents", "regimes"), ("compliance", "status"), ("report", "status")]
    where = ("--workspace", str(lab.root))
    for command in commands:
        result = cli(*command, *where)
        assert result.code in (0, 1), (command, result.err)

    path.write_text(_loosened(original))
    before = _recorded(lab)
    for command in commands:
        result = cli(*command, *where)
        assert result.code == 2, (command, result.out, result.err)
        assert "lab-rsp@1.0 (frameworks/lab.yaml) is not the lab-rsp@1.0" in result.err
        assert "its rules changed under the same version" in result.err
        assert "hint: restore the document as it was first used" in result.err
        assert "Traceback" not in result.err
        refused = cli(*command, *where, "--json")
        error = json.loads(refused.out)["error"]
        assert (error["type"], error["exit_code"]) == ("ConflictError", 2)
    with open_workspace(lab.root) as ws:
        with pytest.raises(ConflictError, match="its rules changed") as raised:
            console.model_status(ws, "aurora-3", "lab-rsp@1.0")
        assert raised.value.status == 409
        with pytest.raises(ConflictError, match="its rules changed"):
            review_service._external_review(ws, "lab-rsp@1.0")
    assert _recorded(lab) == before  # refusing recorded nothing

    path.write_text(original)  # restored: the rules first used apply again
    for command in commands:
        assert cli(*command, *where).code in (0, 1), command
    with open_workspace(lab.root) as ws:
        assert console.model_status(ws, "aurora-3", "lab-rsp@1.0")


def test_a_used_version_removed_does_not_drop_the_duties_of_its_change(
    lab: Workspace, cli: Cli
) -> None:
    """Attack: the lab weakens its framework (lab-rsp 1.0 -> 1.1), then deletes the 1.0
    document, so no pair of versions is left to owe the publication of the change.
    Compliance status refuses instead of dropping the duty."""
    old = lab.frameworks_dir / "lab-1.0.yaml"
    old.write_text(_as_lab_framework(_rsp_3_0(), "1.0"))
    (lab.frameworks_dir / "lab-1.1.yaml").write_text(
        _loosened(_as_lab_framework(_rsp_3_0(), "1.1"))
    )
    config = lab.root / "scaleguard.toml"
    text = config.read_text()
    config.write_text(text.replace('default = "anthropic-rsp@3.0"', 'default = "lab-rsp@1.1"'))
    for version in ("1.0", "1.1"):
        assert _decide(cli, lab, f"lab-rsp@{version}").code in (0, 1)
    where = ("--workspace", str(lab.root), "--json")

    shown = cli("compliance", "status", *where)
    assert shown.code in (0, 1), shown.err
    duties = {d["duty"]: d for d in json.loads(shown.out)}
    change = duties["framework-change-publication"]
    assert change["subject"] == "lab-rsp@1.1" and "1 weakening" in change["detail"]

    old.unlink()
    refused = cli("compliance", "status", *where)
    assert refused.code == 2, refused.out
    error = json.loads(refused.out)["error"]
    assert error["type"] == "ConflictError"
    assert error["message"].startswith("lab-rsp@1.0, used in this workspace on ")
    assert "no longer loads" in error["message"]
    assert "restore the document of lab-rsp@1.0" in error["hint"]
