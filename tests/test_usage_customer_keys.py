"""The customer-keys file of serve-screen: strict, located errors, only key hashes kept.

Every problem names file:line:column; any input either parses or is refused with
a CustomerKeysError (never a traceback); the helper's entry parses back to its key.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import CliResult
from scaleguard.usage import identity
from scaleguard.usage.identity import CustomerKeysError, parse_customer_keys

Cli = Callable[..., CliResult]
KEY_A = "sgk_key-of-acme"
KEY_G = "sgk_key-of-gov"


def sha(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


GOOD = f"""\
# keys of the screening proxy
[[key]]
sha256 = "{sha(KEY_A)}"
customer = "acme"
label = "acme's batch pipeline"

[[key]]
customer = "gov-agency"
sha256 = "{sha(KEY_G)}"
"""


def refused(text: str | bytes, origin: str = "keys.toml") -> CustomerKeysError:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(CustomerKeysError) as caught:
        parse_customer_keys(data, origin)
    return caught.value


def locations(err: CustomerKeysError) -> list[str]:
    return [p.location for p in err.problems]


def test_a_good_file_maps_keys_to_customers_and_keeps_no_key() -> None:
    keys = parse_customer_keys(GOOD.encode(), "keys.toml")
    assert keys.customers() == ["acme", "gov-agency"]
    assert keys.customer_of(KEY_A) == "acme" and keys.customer_of(KEY_G) == "gov-agency"
    assert keys.customer_of("sgk_guess") is None and keys.customer_of("") is None
    assert keys.customer_of(sha(KEY_A)) is None  # the stored hash is not itself a key
    assert [e.label for e in keys.entries] == ["acme's batch pipeline", None]
    assert (keys.entries[0].line, keys.entries[0].column) == (4, 1)
    assert KEY_A not in repr(keys)


def test_every_stored_hash_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """The lookup compares the presented key's hash with every entry through
    hmac.compare_digest and does not stop at the first match."""
    text = GOOD + f'\n[[key]]\nsha256 = "{sha("third")}"\ncustomer = "acme"\n'
    keys = parse_customer_keys(text.encode(), "keys.toml")
    calls: list[tuple[bytes, bytes]] = []
    real = identity.hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(identity.hmac, "compare_digest", spy)
    assert keys.customer_of(KEY_A) == "acme"
    assert len(calls) == 3 and [b for _, b in calls] == [e.sha256 for e in keys.entries]
    calls.clear()
    assert keys.customer_of("wrong") is None and len(calls) == 3


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        ('[[key]]\nsha256 = "abc\ncustomer = "acme"\n', "keys.toml:2:", "not valid TOML"),
        ("[[key]\n", "keys.toml:1:", "not valid TOML"),
        ('owner = "me"\n' + GOOD, "keys.toml:1:1", "unknown field 'owner'"),
        (GOOD + "[settings]\nx = 1\n", "keys.toml:10:1", "unknown field 'settings'"),
        (GOOD.replace('label = "', 'lable = "'), "keys.toml:5:1", "unknown field 'lable'"),
        (GOOD.replace(sha(KEY_A), sha(KEY_A).upper()), "keys.toml:3:1", "64 lower-case hex"),
        (GOOD.replace(sha(KEY_A), sha(KEY_A)[:60]), "keys.toml:3:1", "64 lower-case hex"),
        (GOOD.replace(sha(KEY_A), "z" * 64), "keys.toml:3:1", "64 lower-case hex"),
        (GOOD.replace(f'"{sha(KEY_A)}"', "42"), "keys.toml:3:1", "64 lower-case hex"),
        (GOOD.replace(sha(KEY_G), sha(KEY_A)), "keys.toml:9:1", "also entry 1"),
        (GOOD.replace('customer = "acme"', 'customer = "Acme Corp"'), "keys.toml:4:1", "id"),
        (GOOD.replace('customer = "acme"\n', ""), "keys.toml:2:1", "missing customer"),
        (GOOD.replace(f'sha256 = "{sha(KEY_G)}"\n', ""), "keys.toml:7:1", "missing sha256"),
        (GOOD.replace('label = "acme\'s batch pipeline"', 'label = ""'), "keys.toml:5:1", "label"),
        ('key = "not a list"\n', "keys.toml:1:1", "list of [[key]] entries"),
        ("key = [1]\n", "keys.toml:1:1", "must be a table"),
        ("# nothing yet\n", "keys.toml:1:1", "no [[key]] entries"),
        ("", "keys.toml:1:1", "no [[key]] entries"),
    ],
)
def test_each_problem_is_located_with_file_line_and_column(
    text: str, where: str, says: str
) -> None:
    err = refused(text)
    rendered = err.render()
    assert any(loc.startswith(where) for loc in locations(err)), (locations(err), rendered)
    assert says in rendered and "hint:" in rendered


def test_every_problem_is_reported_at_once() -> None:
    text = GOOD.replace('label = "', 'lable = "').replace(sha(KEY_G), "beef")
    assert locations(refused("extra = 1\n" + text)) == [
        "keys.toml:1:1",
        "keys.toml:6:1",
        "keys.toml:10:1",
    ]


def test_bytes_that_are_not_utf8_are_located() -> None:
    err = refused(b'[[key]]\ncustomer = "ac\xffme"\n')
    assert locations(err) == ["keys.toml:2:15"] and "not UTF-8" in err.message


def test_a_missing_or_huge_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(CustomerKeysError, match="cannot read the customer-keys file"):
        identity.load_customer_keys(tmp_path / "absent.toml")
    big = tmp_path / "big.toml"
    big.write_bytes(b"#" * (identity.MAX_KEYS_BYTES + 1))
    with pytest.raises(CustomerKeysError, match="over 1,000,000 bytes"):
        identity.load_customer_keys(big)


FRAGMENTS = st.sampled_from(
    [
        "[[key]]",
        "[key]",
        "[[other]]",
        "[key.sub]",
        f'sha256 = "{sha(KEY_A)}"',
        'sha256 = "00"',
        "sha256 = 1",
        'customer = "acme"',
        'customer = ""',
        "customer = [1, 2]",
        'label = "x"',
        "label = 3",
        'colour = "red"',
        "key = []",
        "key = [{}]",
        'key = [{sha256 = "ab", customer = "x"}]',
        "key = 1979-05-27",
        'x = """',
        "a.b.c = 1",
        '"quoted key" = 1',
        "[[ key ]]",
        "[[key]] # comment",
        "",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(FRAGMENTS, st.text(max_size=30)), max_size=12))
def test_any_text_parses_or_is_refused_cleanly(lines: list[str]) -> None:
    try:
        keys = parse_customer_keys("\n".join(lines).encode("utf-8", "surrogatepass"), "k.toml")
    except CustomerKeysError as exc:
        rendered = exc.render()
        assert "Traceback" not in rendered and exc.message
        assert all(p.file is None or p.file == "k.toml" for p in exc.problems)
        return
    assert keys.entries and all(len(e.sha256) == 32 for e in keys.entries)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_parse_or_are_refused_cleanly(data: bytes) -> None:
    try:
        parse_customer_keys(data, "k.toml")
    except CustomerKeysError as exc:
        assert exc.render()


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200))
def test_the_command_refuses_any_bad_file_with_exit_2_and_no_traceback(
    cli: Cli, tmp_path: Path, data: bytes
) -> None:
    path = tmp_path / "keys.toml"
    path.write_bytes(data)
    result = cli("serve-screen", "--customer-keys", path, "--workspace", tmp_path / "none")
    assert result.code == 2, result
    assert "Traceback" not in result.err and "error" in result.err


def test_the_helper_prints_a_fresh_key_once_and_an_entry_that_parses(cli: Cli) -> None:
    first = cli("usage", "customer-key", "acme", "--label", 'CI "nightly"')
    assert first.code == 0, first
    key = next(w for w in first.out.split() if w.startswith(identity.KEY_PREFIX))
    entry = first.out[first.out.index("[[key]]") :]
    keys = parse_customer_keys(entry.encode(), "entry")
    assert keys.customer_of(key) == "acme" and keys.entries[0].label == 'CI "nightly"'
    assert sha(key) in entry and entry.count(key) == 0
    second = json.loads(cli("usage", "customer-key", "acme", "--json").out)
    assert second["key"] != key and second["sha256"] == sha(second["key"])
    assert parse_customer_keys(second["entry"].encode(), "e").customer_of(second["key"]) == "acme"
    bad = cli("usage", "customer-key", "Acme Corp")
    assert bad.code == 2 and "not a customer id" in bad.err and identity.KEY_PREFIX not in bad.out
