"""The frameworks commands through the real CLI error boundary: output, exit codes, errors."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from scaleguard.framework.library import builtin_frameworks

Cli = Callable[..., Any]
DATA = Path(__file__).parent / "data"


def test_list_json_names_every_builtin(cli: Cli) -> None:
    res = cli("frameworks", "list", "--json")
    assert res.code == 0
    refs = {row["ref"] for row in json.loads(res.out)}
    assert refs == {fw.ref for fw in builtin_frameworks()}
    assert {
        "anthropic-rsp@2.2",
        "anthropic-rsp@3.0",
        "openai-preparedness@2.0",
        "gdm-fsf@3.0",
    } <= refs


def test_list_with_a_folder_of_frameworks(cli: Cli, tmp_path: Path) -> None:
    (tmp_path / "mine.yaml").write_text((DATA / "minimal.yaml").read_text())
    res = cli("frameworks", "list", "--json", "--dir", tmp_path)
    assert "example-lab@1.0" in {row["ref"] for row in json.loads(res.out)}


def test_show_terminal_and_json(cli: Cli) -> None:
    res = cli("frameworks", "show", "anthropic-rsp@2.2")
    assert res.code == 0
    assert "pause-training-until-security" in res.out and "Commitments: binding" in res.out
    data = json.loads(cli("frameworks", "show", "anthropic-rsp@3.0", "--json").out)
    assert data["framework"]["version"] == "3.0" and len(data["digest"]) == 64


def test_show_unknown_framework_suggests(cli: Cli) -> None:
    res = cli("frameworks", "show", "anthropic-rps@3.0")
    assert res.code == 2
    assert "did you mean 'anthropic-rsp'" in res.err
    res = cli("frameworks", "show", "anthropic-rsp@9.9")
    assert res.code == 2 and "known versions" in res.err


def test_validate_good_and_bad(cli: Cli, tmp_path: Path) -> None:
    ok = cli("frameworks", "validate", DATA / "minimal.yaml")
    assert ok.code == 0 and "example-lab@1.0" in ok.out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        (DATA / "minimal.yaml").read_text().replace("    domain: bio", "    domain: chem")
    )
    res = cli("frameworks", "validate", DATA / "minimal.yaml", bad)
    assert res.code == 2
    assert f"{bad}:" in res.err and "unknown risk domain 'chem'" in res.err
    assert "Traceback" not in res.err
    data = json.loads(cli("frameworks", "validate", bad, "--json").out)
    assert data["ok"] is False and data["files"][0]["errors"][0]["line"] > 0


def test_diff_formats_and_fail_on(cli: Cli) -> None:
    md = cli("frameworks", "diff", "anthropic-rsp@2.2", "anthropic-rsp@3.0", "--format", "markdown")
    assert md.code == 0 and md.out.startswith("#")
    js = json.loads(
        cli("frameworks", "diff", "anthropic-rsp@2.2", "anthropic-rsp@3.0", "--format", "json").out
    )
    assert js["format"] == "scaleguard.diff/1"
    removed = {c["id"] for c in js["changes"] if c["change"] == "removed"}
    assert "pause-training-until-security" in removed
    fail = cli(
        "frameworks", "diff", "anthropic-rsp@2.2", "anthropic-rsp@3.0", "--fail-on", "weakening"
    )
    assert fail.code == 1 and "--fail-on weakening" in fail.err
    same = cli("frameworks", "diff", "anthropic-rsp@3.0", "anthropic-rsp@3.0", "--fail-on", "any")
    assert same.code == 0
    top = cli("frameworks", "diff", "anthropic-rsp@2.2", "anthropic-rsp@3.0", "--top", "5")
    assert top.code == 0 and "5. " in top.out and "6. " not in top.out


def test_schema_is_json_schema_with_conditions(cli: Cli) -> None:
    schema = json.loads(cli("frameworks", "schema").out)
    assert schema["$schema"].endswith("2020-12/schema")
    assert "Condition" in schema["$defs"]
    cond = schema["$defs"]["Commitment"]["properties"]["condition"]
    assert {"$ref": "#/$defs/Condition"} in cond["anyOf"]


def test_facts_lists_the_builtin_vocabulary(cli: Cli) -> None:
    facts = {f["name"]: f for f in json.loads(cli("frameworks", "facts", "--json").out)}
    assert facts["developer_leads"]["type"] == "boolean"
    assert facts["effective_compute_multiple"]["type"] == "number"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("nosuchcommand",), "No such command"),
        (("frameworks", "show"), "Missing argument"),
        (
            ("frameworks", "diff", "anthropic-rsp@2.2", "anthropic-rsp@3.0", "--format", "pdf"),
            "pdf",
        ),
        (("frameworks", "diff", "a", "b", "--top", "0"), "--top"),
    ],
)
def test_usage_errors_exit_2_without_traceback(
    cli: Cli, args: tuple[str, ...], message: str
) -> None:
    res = cli(*args)
    assert res.code == 2
    assert message in res.err and "Traceback" not in res.err and "internal error" not in res.err


def test_version(cli: Cli) -> None:
    res = cli("--version")
    assert res.code == 0 and res.out.startswith("scaleguard ")


def test_verbose_shows_the_traceback(cli: Cli) -> None:
    res = cli("--verbose", "frameworks", "show", "nope@1")
    assert res.code == 2 and "Traceback" in res.err
