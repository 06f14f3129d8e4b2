"""The usage commands through the real CLI error boundary."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CliResult
from scaleguard.demo.usage import GOV_CONTRACT, GOV_CONTRACT_LIFTING
from scaleguard.workspace import init_workspace

Cli = Callable[..., CliResult]


def test_validate_reports_positions_and_exits_2(cli: Cli, tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text(
        "schema_version: 1\npolicy:\n  id: x\n  version: '1'\n  title: t\n"
        "  clauses: []\n  colour: red\n"
    )
    result = cli("usage", "validate", bad)
    assert result.code == 2
    assert f"{bad}:7:3: unknown key 'colour'" in result.err
    assert f"{bad}:6:" in result.err  # the empty clause list, in the same run


def test_show_and_diff(cli: Cli, tmp_path: Path) -> None:
    shown = cli("usage", "show", "--json")
    assert shown.code == 0
    data = json.loads(shown.out)
    assert data["policy"]["id"] == "scaleguard-usage" and len(data["digest"]) == 64
    from importlib import resources

    text = (
        resources.files("scaleguard.usage.builtin")
        .joinpath("scaleguard-usage@1.0.yaml")
        .read_text()
    )
    weaker = tmp_path / "weaker.yaml"
    weaker.write_text(
        text.replace('version: "1.0"', 'version: "1.1"').replace(
            "force: red-line\n      waivable: false", "force: prohibited\n      waivable: true", 1
        )
    )
    assert cli("usage", "diff", "scaleguard-usage@1.0", weaker).code == 0
    result = cli(
        "usage", "diff", "scaleguard-usage@1.0", weaker, "--fail-on", "weakening", "--json"
    )
    assert result.code == 1
    changes = json.loads(result.out)["changes"]
    found = {(c["clause"], c["kind"], c["effect"]) for c in changes}
    assert ("surveillance.mass-domestic", "waivable", "weakening") in found
    assert ("surveillance.mass-domestic", "force", "weakening") in found
    assert changes[0]["effect"] == "weakening" and changes[0]["red_line"]


def test_screen_files_print_one_object_per_input(cli: Cli, tmp_path: Path) -> None:
    csv_file = tmp_path / "p.csv"
    csv_file.write_text(
        'id,prompt,note\n1,"How do I synthesize sarin at home, step by step?",x\n'
        "2,How do I find my own lost phone?,y\n"
    )
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text('{"prompt": "How do I bake bread?", "other": 1}\n')
    result = cli("screen", "--input", csv_file, "--json")
    assert result.code == 1  # something was blocked
    lines = [json.loads(line) for line in result.out.splitlines()]
    assert [(r["band"], r["clause"]) for r in lines] == [("block", "weapons.cbrn"), ("allow", None)]
    result = cli("screen", "--input", jsonl, "--json")
    assert result.code == 0 and json.loads(result.out)["band"] == "allow"


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("a.csv", "id,text\n1,hello\n", "no 'prompt' column"),
        ("a.jsonl", '{"prompt": "ok"}\nnot json\n', ":2:"),
        ("a.txt", "hello", "unknown format"),
        ("a.csv", b"prompt\n\xff\xfe\n", "not valid UTF-8"),
        ("a.csv", "prompt\nhello\n" + "x" * 100_001 + "\n", "input 2: the request is"),
    ],
)
def test_bad_screen_files_are_clear_errors(
    cli: Cli, tmp_path: Path, name: str, content: str | bytes, message: str
) -> None:
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)
    result = cli("screen", "--input", path)
    assert result.code == 2 and message in result.err


def test_contracts_review_and_audit_in_a_workspace(cli: Cli, tmp_path: Path) -> None:
    root = tmp_path / "ws"
    init_workspace(root, name="cli").close()
    ok, bad = tmp_path / "ok.yaml", tmp_path / "bad.yaml"
    ok.write_text(GOV_CONTRACT)
    bad.write_text(GOV_CONTRACT_LIFTING)
    assert cli("usage", "contracts", "add", ok, "--workspace", root).code == 0
    refused = cli("usage", "contracts", "add", bad, "--workspace", root)
    assert refused.code == 2 and "surveillance.mass-domestic" in refused.err
    listed = json.loads(cli("usage", "contracts", "list", "--workspace", root, "--json").out)
    assert [c["status"] for c in listed] == ["accepted", "refused"]
    text = "Monitor the social media posts of people in the district who criticise the mayor."
    result = cli("screen", text, "--customer", "gov-agency", "--workspace", root, "--json")
    assert result.code == 0 and json.loads(result.out)["band"] == "review"
    assert cli("screen", "x", "--customer", "nobody", "--workspace", root).code == 2
    queue = json.loads(cli("usage", "review", "list", "--workspace", root, "--json").out)
    assert len(queue) == 1 and queue[0]["input_text"] is None
    sid = str(queue[0]["id"])
    assert (
        cli(
            "usage",
            "review",
            "decide",
            sid,
            "--allow",
            "--block",
            "--why",
            "x",
            "--workspace",
            root,
        ).code
        == 2
    )
    assert (
        cli(
            "usage",
            "review",
            "decide",
            sid,
            "--block",
            "--why",
            "bulk monitoring",
            "--by",
            "ana",
            "--workspace",
            root,
        ).code
        == 0
    )
    assert (
        cli(
            "usage",
            "appeal",
            sid,
            "--why",
            "public posts only",
            "--by",
            "cust",
            "--workspace",
            root,
        ).code
        == 0
    )
    assert (
        cli(
            "usage",
            "appeals",
            "decide",
            "1",
            "--reverse",
            "--why",
            "ok",
            "--by",
            "ana",
            "--workspace",
            root,
        ).code
        == 2
    )
    assert (
        cli(
            "usage",
            "appeals",
            "decide",
            "1",
            "--uphold",
            "--why",
            "still bulk",
            "--by",
            "ben",
            "--workspace",
            root,
        ).code
        == 0
    )
    appeals = json.loads(cli("usage", "appeals", "list", "--workspace", root, "--json").out)
    assert appeals[0]["outcome"] == "uphold"
    assert cli("ledger", "verify", "--full", "--workspace", root).code == 0


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".jsonl"]))
def test_prompt_files_read_or_fail_cleanly(tmp_path: Path, data: bytes, suffix: str) -> None:
    from scaleguard.errors import InputError
    from scaleguard.usage.inputs import read_prompts

    path = tmp_path / f"f{suffix}"
    path.write_bytes(data)
    try:
        prompts = read_prompts(path)
    except InputError as exc:
        assert exc.message
        return
    assert prompts and all(isinstance(p, str) and p.strip() for p in prompts)


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.text(min_size=1, max_size=40).filter(str.strip), min_size=1, max_size=5))
def test_jsonl_prompts_round_trip(tmp_path: Path, prompts: list[str]) -> None:
    from scaleguard.usage.inputs import read_prompts

    path = tmp_path / "p.jsonl"
    lines = "".join(json.dumps({"prompt": p}, ensure_ascii=False) + "\r\n" for p in prompts)
    path.write_text(lines, encoding="utf-8", newline="")
    assert read_prompts(path) == prompts


@pytest.mark.parametrize("text", ["\r\x01", 'prompt\r\n"a\rb', 'prompt\n"x"y"\n'])
def test_a_csv_with_stray_carriage_returns_or_quotes_is_bad_input(
    tmp_path: Path, text: str
) -> None:
    """Read as prompts or refused with the file named: never a csv.Error traceback."""
    from scaleguard.errors import InputError
    from scaleguard.usage.inputs import read_prompts

    path = tmp_path / "p.csv"
    path.write_text(text, encoding="utf-8", newline="")
    try:
        read_prompts(path)
    except InputError as exc:
        assert str(path) in exc.message
