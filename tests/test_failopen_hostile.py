"""Hostile input gets a clear error (exit 2), never a traceback, and nothing is written."""

from __future__ import annotations

import contextlib
import io
import json
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from inspect_ai.log import write_eval_log

from scaleguard.errors import EvidenceError, FrameworkError, InputError, ScaleguardError
from scaleguard.evidence._files import strict_json
from scaleguard.evidence.csv_reader import parse_results_csv
from scaleguard.evidence.inspect_reader import parse_inspect_log
from scaleguard.evidence.lmeval_reader import parse_lmeval_results
from scaleguard.evidence.synthetic import make_eval_log
from scaleguard.framework.yamlsource import read_yaml
from scaleguard.mdtext import md_escape, md_link
from scaleguard.store import repo
from scaleguard.store.params import check_value
from scaleguard.textcheck import http_url
from scaleguard.workspace import ModelSpec, add_model
from scaleguard.workspace.config import parse_config
from scaleguard.workspace.workspace import Workspace

Cli = Callable[..., Any]
BIG = str(2**63)


# -- item 14: tracebacks -----------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ("report", "show", BIG),
        ("ledger", "prove", BIG),
        ("decisions", "show", BIG),
        ("review", "status", BIG),
        ("ledger", "prove", str(2**64 + 5)),
    ],
)
def test_ids_past_2_63_are_bad_input(lab: Workspace, cli: Cli, args: tuple[str, ...]) -> None:
    result = cli(*args, "--workspace", lab.root)
    assert result.code == 2, result.err
    assert "Traceback" not in result.err
    assert "out of range" in result.err or "no decision" in result.err


def test_nul_text_is_refused_the_same_on_both_backends(lab: Workspace) -> None:
    with lab.store.read() as s:
        before = repo.ledger_size(s)
    with pytest.raises(InputError):
        add_model(lab, ModelSpec.model_construct(name="bad\x00name", own=True), by="a")
    with lab.store.read() as s:
        assert repo.ledger_size(s) == before


@given(st.integers())
def test_the_store_guard_accepts_exactly_64_bit_integers(value: int) -> None:
    if -(2**63) <= value < 2**63:
        check_value(value)
    else:
        with pytest.raises(InputError):
            check_value(value)


def test_a_junk_or_damaged_database_is_a_clear_error(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "lab"
    assert cli("init", root, "--name", "Lab").code == 0
    db = root / "scaleguard.db"
    for suffix in ("-wal", "-shm"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.write_bytes(b"this is not a database" * 500)
    result = cli("models", "list", "--workspace", root)
    assert result.code == 2 and "damaged or is not a scaleguard database" in result.err


def test_a_database_url_pointing_at_another_file_is_a_clear_error(tmp_path: Path, cli: Cli) -> None:
    root = tmp_path / "lab"
    assert cli("init", root, "--name", "Lab").code == 0
    other = tmp_path / "passwd"
    other.write_text("root:x:0:0:root:/root:/bin/bash\n" * 50)
    config = root / "scaleguard.toml"
    config.write_text(config.read_text() + f'\n[database]\nurl = "sqlite:///{other}"\n')
    result = cli("models", "list", "--workspace", root)
    assert result.code == 2 and "Traceback" not in result.err
    assert other.read_text().startswith("root:x:0:0")


def test_deeply_nested_toml_is_refused_with_its_position() -> None:
    text = '[workspace]\nname = "x"\n\nx = ' + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ScaleguardError) as err:
        parse_config(text, "scaleguard.toml")
    assert err.value.problems[0].line == 4


def test_init_in_an_uncreatable_folder_is_a_clear_error(tmp_path: Path, cli: Cli) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    for target in (blocker / "ws", Path("/proc/scaleguard-cannot-create")):
        result = cli("init", target, "--name", "Lab")
        assert result.code == 2, result.err
        assert "Traceback" not in result.err


# -- item 15: decompression bombs ---------------------------------------------------


def _eval_bytes(tmp_path: Path) -> bytes:
    path = tmp_path / "ok.eval"
    write_eval_log(make_eval_log("t", "m/x", [1.0, 0.0] * 10), str(path), format="eval")
    return path.read_bytes()


def _replace_member(raw: bytes, member: str, data: bytes) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            body = data if info.filename == member else src.read(info)
            dst.writestr(info.filename, body, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def test_a_summaries_bomb_is_refused_by_bytes_read(tmp_path: Path) -> None:
    raw = _eval_bytes(tmp_path)
    bomb = _replace_member(raw, "summaries.json", b"[" + b" " * (80 * 2**20) + b"]")
    assert len(bomb) < 2 * 2**20  # small on disk
    with pytest.raises(EvidenceError, match="expands past 64 MiB"):
        parse_inspect_log(bomb, "bomb.eval")


def test_a_header_bomb_is_refused_before_inspect_parses_it(tmp_path: Path) -> None:
    raw = _eval_bytes(tmp_path)
    bomb = _replace_member(raw, "header.json", b"{" + b" " * (80 * 2**20) + b"}")
    with pytest.raises(EvidenceError, match="expands past"):
        parse_inspect_log(bomb, "bomb.eval")


# -- item 16: markup and links --------------------------------------------------------


def test_roadmap_markdown_keeps_raw_html_as_text(tmp_path: Path, cli: Cli) -> None:
    from datetime import date

    from scaleguard.roadmap.grading import report_card
    from scaleguard.roadmap.model import Goal
    from scaleguard.roadmap.render import card_markdown

    goal = Goal.model_validate(
        {
            "goal": "x-1",
            "area": "policy",
            "title": "<img src=x onerror=alert(1)>",
            "description": "[click](javascript:alert(1)) <a href='javascript:x'>",
            "target": "2026-06-30",
            "owner": "o",
            "set_on": "2026-01-01",
        }
    )
    md = card_markdown(report_card([goal], date(2026, 2, 1)), title="T")
    import re

    assert not re.search(r"(?<!\\)<", md)  # every "<" is escaped: no raw HTML
    assert "\\<img src=x onerror=alert(1)\\>" in md
    assert not re.search(r"(?<!\\)\]\(javascript", md)


@given(st.text(max_size=80))
def test_escaped_markdown_has_no_raw_markup(text: str) -> None:
    out = md_escape(text)
    for ch in "<>[]`|*_":
        assert all(out[i - 1] == "\\" for i, c in enumerate(out) if c == ch and i > 0)
        assert not out.startswith(ch)
    assert "\n" not in out


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "data:text/html,<b>", "file:///etc/passwd", "//x", "https://"]
)
def test_only_http_links(url: str, lab: Workspace, cli: Cli) -> None:
    with pytest.raises(ValueError):
        http_url(url)
    assert not md_link(url).startswith("<")
    result = cli(
        "facts",
        "assert",
        "marginal_risk_small",
        "true",
        "--source",
        url,
        "--by",
        "a",
        "--workspace",
        lab.root,
    )
    assert result.code == 2 and "http" in result.err


# -- item 17: YAML tags, implausible numbers, duplicate keys, disagreeing counts ------


@pytest.mark.parametrize("tag", ["!!set", "!!omap", "!custom", "!!python/object"])
def test_yaml_tags_on_collections_are_refused(tag: str) -> None:
    body = "{x: null}" if tag != "!!omap" else "[x: 1]"
    with pytest.raises(FrameworkError, match="tag"):
        read_yaml(f"framework:\n  id: {tag} {body}\n", "f.yaml")


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("m,t,accuracy,1.5,,", "must lie in \\[0, 1\\]"),
        ("m,t,accuracy,-0.1,,", "must lie in \\[0, 1\\]"),
        ("m,t,accuracy,1e308,,", "must lie in \\[0, 1\\]"),
        ("m,t,pass_rate,0.5,3,1;0;1;1", "must agree"),
        ('m,t,accuracy,0.5,2,"1;7"', "per-sample score"),
        ("m\x01x,t,accuracy,0.5,,", "control characters"),
    ],
)
def test_implausible_csv_values_are_refused(row: str, message: str) -> None:
    data = f"model,task,metric,value,sample_count,sample_scores\n{row}\n".encode()
    with pytest.raises(EvidenceError) as err:
        parse_results_csv(data, "r.csv")
    assert any(
        __import__("re").search(message, p.message) for p in err.value.problems
    ) or __import__("re").search(message, err.value.render())


def test_duplicate_json_keys_are_refused() -> None:
    doc = (
        b'{"results": {"t": {"acc,none": 0.9, "acc,none": 0.1}}, '
        b'"model_name": "m", "configs": {"t": {}}}'
    )
    with pytest.raises(EvidenceError, match="appears twice"):
        parse_lmeval_results(doc, "r.json")


@given(st.dictionaries(st.text(max_size=5), st.integers(), max_size=5))
@settings(suppress_health_check=[HealthCheck.too_slow])
def test_strict_json_round_trips_objects_without_duplicates(value: dict[str, int]) -> None:
    assert strict_json(json.dumps(value)) == value


@given(
    st.lists(
        st.sampled_from(["[", "]", "{", "}", "x = ", '"', "'", "#", "\n", ",", "1", "a.b = "]),
        max_size=200,
    )
)
@settings(max_examples=300, deadline=None)
def test_any_toml_gives_a_config_or_a_clear_error(tokens: list[str]) -> None:
    text = '[workspace]\nname = "x"\n' + "".join(tokens)
    with contextlib.suppress(ScaleguardError):  # anything else fails the test
        parse_config(text, "scaleguard.toml")


@given(
    tag=st.sampled_from(["", "!!set ", "!!omap ", "!x ", "!!map ", "!!seq ", "!!python/tuple "]),
    collection=st.sampled_from(["{a: 1}", "[1, 2]", "{a: [1]}"]),
    depth=st.integers(0, 3),
)
def test_yaml_collections_are_plain_or_refused(tag: str, collection: str, depth: int) -> None:
    doc = "framework:\n" + "".join("  " * (i + 1) + f"k{i}:\n" for i in range(depth))
    doc += "  " * (depth + 1) + f"v: {tag}{collection}\n"
    try:
        value, _ = read_yaml(doc, "f.yaml")
    except FrameworkError as exc:
        assert tag.strip() not in ("", "!!map", "!!seq") and "tag" in exc.render()
    else:
        assert tag.strip() in ("", "!!map", "!!seq")
        assert isinstance(value, dict)


@pytest.mark.parametrize(
    ("text", "escaped"),
    [("1.7e+26", "1.7e+26"), ("0.81", "0.81"), ("1. item", "1\\. item"), ("2) x", "2\\) x")],
)
def test_numbers_stay_numbers_and_list_markers_are_escaped(text: str, escaped: str) -> None:
    assert md_escape(text) == escaped
