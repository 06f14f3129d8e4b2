"""Docs that cannot drift: the README tour runs as written, and every command, option and
exit code the docs name is one the CLI has."""

from __future__ import annotations

import glob
import re
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import typer

from scaleguard.cli import app as cli_app

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
EXAMPLES = ROOT / "examples"
DOCS = sorted((ROOT / "docs").glob("*.md"))
Cli = Callable[..., Any]

#: Options every command takes (click's own) and the root's options, valid anywhere.
ROOT_OPTIONS = {"--help", "--verbose", "-v", "--version"}


# -- reading the docs ---------------------------------------------------------------


def tour_block() -> str:
    """The shell block of the README's five-minute tour."""
    text = README.read_text(encoding="utf-8")
    start = text.index("## A five-minute tour")
    match = re.search(r"```sh\n(.*?)```", text[start:], re.DOTALL)
    assert match, "the README's tour has no ```sh block"
    return match.group(1)


def shell_lines(block: str) -> Iterator[str]:
    """Logical lines of a shell block: backslash continuations joined, blank lines skipped."""
    pending = ""
    for raw in block.splitlines():
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1] + " "
            continue
        line = (pending + raw).strip()
        pending = ""
        if line:
            yield line


@dataclass(frozen=True)
class Mention:
    """A ``scaleguard ...`` command line quoted in a document."""

    where: str
    tokens: list[str]


def _tokens(text: str) -> list[str] | None:
    try:
        return shlex.split(text, comments=True)
    except ValueError:  # an unbalanced quote in prose: split on blanks instead
        return text.split("#", 1)[0].split()


def _split_commands(tokens: list[str]) -> Iterator[list[str]]:
    """``a && b | c; d`` → each part; only parts that start with ``scaleguard`` matter."""
    part: list[str] = []
    for token in tokens:
        if token in {"&&", "||", "|", ";"}:
            yield part
            part = []
        else:
            part.append(token)
    yield part


def mentions(path: Path) -> Iterator[Mention]:
    """Every ``scaleguard`` command in fenced code blocks and inline code of a document."""
    text = path.read_text(encoding="utf-8")
    name = path.relative_to(ROOT).as_posix()
    snippets: list[tuple[int, str]] = []
    for block in re.finditer(r"^```[^\n]*\n(.*?)^```", text, re.DOTALL | re.MULTILINE):
        line_no = text.count("\n", 0, block.start(1)) + 1
        snippets.extend((line_no, line) for line in shell_lines(block.group(1)))
    outside = re.sub(r"^```[^\n]*\n.*?^```", "", text, flags=re.DOTALL | re.MULTILINE)
    for inline in re.finditer(r"`([^`]+)`", outside):
        if "\n\n" not in inline.group(1):  # inline code may wrap onto the next line
            snippets.append((0, inline.group(1).replace("\n", " ")))
    for line_no, snippet in snippets:
        snippet = snippet.removeprefix("$ ")
        tokens = _tokens(snippet) or []
        for part in _split_commands(tokens):
            if part and part[0] == "scaleguard":
                yield Mention(f"{name}:{line_no}: {snippet}", part[1:])


# -- the real CLI -------------------------------------------------------------------


# Typer may vendor its own click, so commands are recognised by shape, not by class.
_ROOT: Any = typer.main.get_command(cli_app.app)


def _is_group(command: Any) -> bool:
    return hasattr(command, "commands")


def _sub(group: Any, name: str) -> Any:
    if group is _ROOT:
        lazy = cli_app.COMMANDS.get(name)
        return lazy.load(name) if lazy else None
    return group.commands.get(name)


def _options(command: Any) -> set[str]:
    return {o for p in command.params for o in (*p.opts, *p.secondary_opts) if o.startswith("-")}


def check(mention: Mention) -> list[str]:
    """What in one quoted command the CLI does not have (empty when all of it exists)."""
    command: Any = _ROOT
    path = ["scaleguard"]
    words = [t.strip("[]") for t in mention.tokens]
    i = 0
    while _is_group(command) and i < len(words):
        word = words[i]
        if word.startswith("-"):
            break
        if "|" in word:  # "a|b|c": each alternative must exist
            branches = (
                Mention(mention.where, [*words[:i], alt, *words[i + 1 :]])
                for alt in word.split("|")
            )
            return [p for branch in branches for p in check(branch)]
        sub = _sub(command, word)
        if sub is None:
            if word.isupper() or word in {"…", "...", "COMMAND"}:  # a placeholder
                return []
            return [f"{mention.where}\n  no command {' '.join([*path, word])!r}"]
        command = sub
        path.append(word)
        i += 1
    known = _options(command) | ROOT_OPTIONS
    problems = []
    for word in words[i:]:
        flag = word.split("=", 1)[0]
        if re.fullmatch(r"--?[a-z][a-z0-9-]*", flag) and flag not in known:
            problems.append(
                f"{mention.where}\n  {' '.join(path)} has no option {flag} "
                f"(it has {', '.join(sorted(_options(command)))})"
            )
    return problems


EXIT_CODES = {
    cli_app.EXIT_OK,
    cli_app.EXIT_CHECK_FAILED,
    cli_app.EXIT_INPUT_ERROR,
    cli_app.EXIT_INTERNAL,
}


# -- the tests ----------------------------------------------------------------------


def test_the_docs_name_every_command_and_quote_real_ones() -> None:
    """Each ``scaleguard …`` command quoted in README.md or docs/*.md exists, with every
    ``--flag`` it uses; and each top-level command appears somewhere in the docs."""
    found: list[Mention] = []
    for path in [README, *DOCS]:
        found.extend(mentions(path))
    assert len(found) > 100, "the parser found too few commands: is it still reading the docs?"
    problems = [p for m in found for p in check(m)]
    assert problems == [], "\n".join(problems)
    named = {m.tokens[0] for m in found if m.tokens}
    assert set(cli_app.COMMANDS) - named == set()


def test_the_checker_catches_a_wrong_command_and_a_wrong_flag() -> None:
    """The docs check can fail: an unknown sub-command and an option of another command."""
    assert check(Mention("x", ["frameworks", "difff", "a", "b"]))
    assert check(Mention("x", ["reviewers", "add", "Mara", "--organization", "X"]))
    assert check(Mention("x", ["ledger", "verify-receipt", "r", "--key", "k"])) == []
    assert check(Mention("x", ["models", "list", "[--json]"])) == []
    assert check(Mention("x", ["noncompliance", "triage|fly", "1"]))


def test_exit_codes_named_in_the_docs_are_the_cli_s() -> None:
    """ "exit N", "exits N" and "exit code N" in the docs name only the codes the CLI uses,
    and the README's list of exit codes is the CLI's."""
    pattern = re.compile(r"\bexit(?:s| code| status)?\s+(\d+)\b", re.IGNORECASE)
    wrong = []
    for path in [README, *DOCS]:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in pattern.finditer(line):
                if int(match.group(1)) not in EXIT_CODES | {130}:
                    wrong.append(f"{path.name}:{n}: {line.strip()}")
    assert wrong == []
    readme = README.read_text(encoding="utf-8")
    statement = re.search(r"Exit codes: (.*?)\n\n", readme, re.DOTALL)
    assert statement is not None
    codes = {int(c) for c in re.findall(r"(?:^|; )(\d) ", statement.group(1))}
    assert codes == EXIT_CODES


def run_tour(
    block: str, tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Any]:
    """Run the tour's lines literally, from a folder holding a copy of examples/.

    ``scaleguard`` runs in-process through the real CLI; ``cd`` and ``cat A >> B`` are
    the only shell the tour uses. Returns each command's result by its line.
    """
    shutil.copytree(EXAMPLES, tmp_path / "examples")
    monkeypatch.chdir(tmp_path)
    results: dict[str, Any] = {}
    for line in shell_lines(block):
        tokens = shlex.split(line, comments=True)
        for part in _split_commands(tokens):
            if not part or part[0] == ".":  # activating the virtualenv
                continue
            if part[0] == "cd":
                monkeypatch.chdir(Path.cwd() / part[1])
            elif part[0] == "cat" and len(part) == 4 and part[2] == ">>":
                with Path(part[3]).open("a", encoding="utf-8") as fh:
                    fh.write(Path(part[1]).read_text(encoding="utf-8"))
            elif part[0] == "scaleguard":
                args: list[str] = []
                for word in part[1:]:
                    matches = sorted(glob.glob(word)) if "*" in word else [word]
                    assert matches, f"{line}: {word} matches no file"
                    args.extend(matches)
                result = cli(*args)
                assert result.code == 0, f"{line}\nexit {result.code}\n{result.err}{result.out}"
                results[line] = result
            else:
                pytest.fail(f"the tour uses {part[0]!r}, which this test cannot run: {line}")
    return results


@pytest.fixture
def newcomer(monkeypatch: pytest.MonkeyPatch) -> None:
    """A shell with no workspace around it and a user name of its own."""
    monkeypatch.delenv("SCALEGUARD_WORKSPACE", raising=False)
    monkeypatch.setenv("SCALEGUARD_USER", "newcomer")
    monkeypatch.setenv("COLUMNS", "200")


@pytest.mark.usefixtures("newcomer")
def test_the_readme_tour_runs_as_written(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    results = run_tour(tour_block(), tmp_path, cli, monkeypatch)
    outputs = {line.split("#")[0].strip(): r.out for line, r in results.items()}
    determine = outputs["scaleguard determine aurora-3"]
    assert "crossed" in determine and "evidence missing" not in determine
    decide = next(out for line, out in outputs.items() if line.startswith("scaleguard decide"))
    assert "PROCEED WITH CONDITIONS" in decide and "pause" in decide.lower()
    assert (tmp_path / "rsp.html").is_file()
    assert (tmp_path / "my-lab" / "roadmap.html").is_file()
    assert any((tmp_path / "my-lab" / "reports").glob("*-public.pdf"))
    assert "receipt OK" in next(o for line, o in outputs.items() if "verify-receipt" in line)


@pytest.mark.usefixtures("newcomer")
def test_without_indicators_the_answer_warns_that_evidence_is_missing(
    tmp_path: Path, cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The tour without its indicator mapping: every threshold is missing, and the
    PROCEED WITH CONDITIONS that results says so loudly, naming each threshold."""
    block = "\n".join(
        line
        for line in tour_block().splitlines()
        if line.startswith(("scaleguard init", "cd ", "scaleguard models import"))
    )
    run_tour(block, tmp_path, cli, monkeypatch)
    decided = cli("decide", "aurora-3", "--action", "train", "--framework", "anthropic-rsp@3.0")
    assert decided.code == 0, decided.err
    assert "PROCEED WITH CONDITIONS" in decided.out
    assert "WARNING: evidence missing" in decided.out
    assert "NO EVIDENCE for 4 of 4 threshold(s)" in decided.out
    assert "[[indicators]]" in decided.out
    determined = cli("determine", "aurora-3", "--framework", "anthropic-rsp@3.0")
    assert "WARNING: evidence missing" in determined.out
