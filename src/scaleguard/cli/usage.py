"""``scaleguard usage``, ``screen`` and ``bench-screen`` (``serve-screen``: usage_serve).

Thin commands over :mod:`scaleguard.usage`: parse, call one library function,
render. numpy, onnxruntime and fastapi are imported only by the commands
that screen or serve.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from scaleguard.cli.common import BY_OPTION, JSON_OPTION, WORKSPACE_OPTION
from scaleguard.cli.output import print_json
from scaleguard.cli.workspace import _workspace, checkpoint_after_write
from scaleguard.errors import InputError, ScaleguardError
from scaleguard.usage.loader import DEFAULT_POLICY, load_policy

if TYPE_CHECKING:
    from scaleguard.usage.screen import ScreenResult

usage_app = typer.Typer(
    help="Usage-policy red lines: the policy, customer contracts, human review and appeals.",
    no_args_is_help=True,
)
contracts_app = typer.Typer(help="Customer contracts (policy overlays).", no_args_is_help=True)
review_app = typer.Typer(help="The human-review queue of the screen.", no_args_is_help=True)
appeals_app = typer.Typer(help="Appeals against blocks.", no_args_is_help=True)
usage_app.add_typer(contracts_app, name="contracts")
usage_app.add_typer(review_app, name="review")
usage_app.add_typer(appeals_app, name="appeals")

POLICY_OPTION = typer.Option(
    None,
    "--policy",
    help=f"A built-in policy (ID@VERSION, default {DEFAULT_POLICY}) or a YAML file.",
)
JUDGE_URL_OPTION = typer.Option(
    None, "--judge-url", help="OpenAI-compatible base URL of a judge for the review band."
)
JUDGE_MODEL_OPTION = typer.Option("judge", "--judge-model", help="The judge's model name.")
JUDGE_KEY_OPTION = typer.Option(
    None, "--judge-key-env", help="Environment variable holding the judge's API key."
)
BAND_STYLE = {"allow": "green", "review": "yellow", "block": "bold red"}


def _judge(url: str | None, model: str, key_env: str | None) -> Any:
    """The optional judge; None when no URL is given."""
    from scaleguard.usage.judge import Judge

    if not url:
        return None
    return Judge(base_url("--judge-url", url), model, api_key=api_key("--judge-key-env", key_env))


def base_url(option: str, url: str) -> str:
    """``url`` checked as the base URL of an OpenAI-compatible service (InputError if not):
    a malformed one would only show up later, as every call failing."""
    import httpx

    hint = f"give {option} as http(s)://HOST[:PORT][/PATH], e.g. http://127.0.0.1:8000/v1"
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError) as exc:
        raise InputError(f"{option} {url!r} is not a URL: {exc}", hint=hint) from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise InputError(f"{option} {url!r} is not an http(s) URL with a host", hint=hint)
    if parsed.userinfo:
        raise InputError(
            f"{option} must not carry a user name or password (it would be shown in logs)",
            hint="pass the API key through the matching --*-key-env option",
        )
    if parsed.query or parsed.fragment:
        raise InputError(f"{option} {url!r} has a query or fragment", hint=hint)
    return url


def api_key(option: str, env: str | None) -> str | None:
    """The API key in environment variable ``env`` (named by ``option``); an error when it is
    named but not set, rather than every call failing unauthenticated."""
    import os

    if not env:
        return None
    value = os.environ.get(env)
    if not value:
        raise InputError(
            f"{option} {env}: the environment variable is not set",
            hint=f"export {env}=... before starting, or leave out {option}",
        )
    return value


def _by(by: str | None) -> str:
    from scaleguard.workspace.workspace import current_user

    return by or current_user()


# -- policy -------------------------------------------------------------------------


@usage_app.command("validate")
def validate(
    file: Path = typer.Argument(..., help="A usage policy YAML file."),
    json_out: bool = JSON_OPTION,
) -> None:
    """Check a usage policy; every problem with file:line:column (exit 2 when invalid)."""
    loaded = load_policy(str(file))
    data = {
        "ok": True,
        "policy": loaded.ref,
        "digest": loaded.digest,
        "clauses": len(loaded.policy.clauses),
        "red_lines": [c.id for c in loaded.policy.red_lines],
    }
    if json_out:
        print_json(data)
        return
    Console().print(
        f"[green]valid[/]: {loaded.ref} ({data['clauses']} clauses, red lines: "
        f"{', '.join(data['red_lines']) or 'none'}) sha256 {loaded.digest}"  # type: ignore[arg-type]
    )


@usage_app.command("show")
def show(policy: str | None = POLICY_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Show a usage policy's clauses, their force and their sources."""
    loaded = load_policy(policy)
    if json_out:
        print_json(
            {"digest": loaded.digest, **loaded.doc.model_dump(mode="json", exclude_none=True)}
        )
        return
    console = Console()
    console.print(f"[bold]{loaded.policy.title}[/] {loaded.ref}  sha256 {loaded.digest[:16]}…")
    table = Table(show_lines=True)
    table.add_column("clause", no_wrap=True)
    table.add_column("force", no_wrap=True)
    table.add_column("title / text", ratio=3)
    table.add_column("sources (URLs in --json)", ratio=1)
    for c in loaded.policy.clauses:
        force = f"[bold red]{c.force}[/]" if c.red_line else c.force
        sources = "\n".join(f"• {s.title}" for s in c.sources)
        table.add_row(c.id, force, f"[bold]{c.title}[/]\n{c.text}", sources)
    console.print(table)


@usage_app.command("diff")
def diff(
    old: str = typer.Argument(..., help="The older policy (ID@VERSION or file)."),
    new: str = typer.Argument(..., help="The newer policy (ID@VERSION or file)."),
    fail_on: str | None = typer.Option(
        None, "--fail-on", help="Exit 1 when a change of this class exists: weakening."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """What changed between two policy versions, classed weakening/strengthening/neutral."""
    from scaleguard.usage.diff import diff_policies

    if fail_on not in (None, "weakening", "strengthening", "neutral"):
        raise InputError(f"unknown class {fail_on!r}", hint="use --fail-on weakening")
    a, b = load_policy(old), load_policy(new)
    changes = diff_policies(a, b)
    if json_out:
        print_json({"old": a.ref, "new": b.ref, "changes": [c.as_dict() for c in changes]})
    else:
        console = Console()
        console.print(f"{a.ref} -> {b.ref}: {len(changes)} change(s)")
        style = {"weakening": "bold red", "strengthening": "green", "neutral": "dim"}
        for c in changes:
            mark = " [red](red line)[/]" if c.red_line else ""
            console.print(f"[{style[c.effect]}]{c.effect:13}[/] {c.clause}{mark}: {c.reason}")
    if fail_on and any(c.effect == fail_on for c in changes):
        raise typer.Exit(1)


# -- contracts --------------------------------------------------------------------------


@contracts_app.command("validate")
def contracts_validate(
    file: Path = typer.Argument(..., help="A contract YAML file."),
    policy: str | None = POLICY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Check a contract against the policy without recording it (exit 2 when refused)."""
    from scaleguard.usage.contracts import load_contract_file

    loaded = load_contract_file(str(file), load_policy(policy))
    if json_out:
        print_json({"ok": True, "contract": loaded.ref, "digest": loaded.digest})
    else:
        Console().print(f"[green]valid[/]: contract {loaded.ref}")


@contracts_app.command("add")
def contracts_add(
    file: Path = typer.Argument(..., help="A contract YAML file."),
    policy: str | None = POLICY_OPTION,
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Record a customer's contract; one that would lift a red line is recorded as refused."""
    from scaleguard.usage.service import add_contract

    with _workspace(workspace) as ws:
        outcome = add_contract(ws, file, policy=load_policy(policy), by=_by(by))
        checkpoint_after_write(ws)
    record = outcome.record
    if outcome.refused is not None:
        raise outcome.refused
    if json_out:
        print_json(
            {
                "id": record.id,
                "customer": record.customer,
                "version": record.version,
                "status": record.status,
                "ledger_index": record.ledger_index,
            }
        )
    else:
        Console().print(
            f"[green]accepted[/]: contract {record.customer}@{record.version} "
            f"(ledger entry {record.ledger_index})"
        )


@contracts_app.command("list")
def contracts_list(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Every contract version submitted, accepted or refused (checked against the ledger)."""
    from scaleguard.usage import service

    with _workspace(workspace) as ws:
        rows = service.contract_list(ws)
    if json_out:
        print_json(
            [
                {
                    "id": r.id,
                    "customer": r.customer,
                    "version": r.version,
                    "status": r.status,
                    "created_at": r.created_at,
                    "ledger_index": r.ledger_index,
                }
                for r in rows
            ]
        )
        return
    table = Table()
    for col in ("id", "customer", "version", "status", "recorded", "by"):
        table.add_column(col)
    for r in rows:
        status = "[green]accepted[/]" if r.status == "accepted" else "[red]refused[/]"
        table.add_row(str(r.id), r.customer, r.version, status, r.created_at, r.created_by)
    Console().print(table)


# -- the screen ---------------------------------------------------------------------------


def screen(
    text: str | None = typer.Argument(None, help="The text to screen."),
    input_file: Path | None = typer.Option(
        None, "--input", help="A CSV (column 'prompt') or JSONL (field 'prompt') file."
    ),
    customer: str | None = typer.Option(None, "--customer", help="Apply this customer's contract."),
    judge_url: str | None = JUDGE_URL_OPTION,
    judge_model: str = JUDGE_MODEL_OPTION,
    judge_key_env: str | None = JUDGE_KEY_OPTION,
    policy: str | None = POLICY_OPTION,
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = typer.Option(False, "--json", help="Print one JSON object per input line."),
) -> None:
    """Screen text against the usage policy: allow, review or block, with the clause and why.

    Inside a workspace every decision is recorded in the ledger (the text's
    SHA-256; the text itself only when the customer's contract allows it).
    Exit 1 when any input is blocked.
    """
    import json

    from scaleguard.usage.inputs import read_prompts
    from scaleguard.usage.service import build_screener, customer_contract, screen_and_record
    from scaleguard.workspace.locate import find_root
    from scaleguard.workspace.workspace import open_workspace

    if (text is None) == (input_file is None):
        raise InputError("give either TEXT or --input FILE", hint='scaleguard screen "some text"')
    texts = read_prompts(input_file) if input_file is not None else [text or ""]
    loaded = load_policy(policy)
    ws = None
    try:
        try:
            ws = open_workspace(workspace) if workspace else open_workspace(find_root())
        except ScaleguardError:
            if customer or workspace:
                raise
        contract = None
        if customer:
            assert ws is not None
            contract = customer_contract(ws, customer, loaded)
        judge = _judge(judge_url, judge_model, judge_key_env)
        screener = build_screener(policy=loaded, contract=contract, judge=judge)
        from rich.progress import Progress

        with Progress(transient=True, console=Console(stderr=True)) as bar:
            task = bar.add_task("screening", total=len(texts), visible=len(texts) > 32)
            results = screen_and_record(
                ws, screener, texts, by=_by(by), progress=lambda n: bar.advance(task, n)
            )
        if ws is not None:
            checkpoint_after_write(ws)
    finally:
        if ws is not None:
            ws.close()
    if json_out:
        for r in results:
            typer.echo(json.dumps(r.model_dump(mode="json"), sort_keys=True, ensure_ascii=False))
    else:
        console = Console()
        for r in results:
            _render(console, r)
        if ws is None:
            Console(stderr=True).print("[yellow]note[/]: no workspace here, so nothing was audited")
    if any(r.band == "block" for r in results):
        raise typer.Exit(1)


def _render(console: Console, r: ScreenResult) -> None:
    band = f"[{BAND_STYLE[r.band]}]{r.band.upper()}[/]"
    console.print(f"{band} {r.reason}")
    console.print(
        f"  request {r.request_id}  policy {r.policy} ({r.policy_digest[:12]}…)"
        + (f"  contract {r.contract}" if r.contract else "")
        + (f"  score {r.score}" if r.score is not None else ""),
        style="dim",
    )


# -- review and appeals ----------------------------------------------------------------------


@review_app.command("list")
def review_list(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Screen decisions waiting for a human (the review band)."""
    from scaleguard.usage.service import review_queue

    with _workspace(workspace) as ws:
        rows = review_queue(ws)
    data = [
        {
            "id": r.id,
            "request_id": r.request_id,
            "customer": r.customer,
            "clause": r.clause,
            "score": r.score,
            "decided_by": r.decided_by,
            "created_at": r.created_at,
            "input_sha256": r.input_sha256,
            "input_text": r.input_text,
        }
        for r in rows
    ]
    if json_out:
        print_json(data)
        return
    table = Table()
    for col in ("id", "clause", "score", "evidence", "customer", "text"):
        table.add_column(col)
    for r in rows:
        table.add_row(
            str(r.id),
            r.clause or "",
            str(r.score),
            r.decided_by,
            r.customer or "",
            (r.input_text or f"(not retained; sha256 {r.input_sha256[:12]}…)")[:80],
        )
    Console().print(table)


@review_app.command("decide")
def review_decide(
    ident: str = typer.Argument(..., help="The screen number (or request id)."),
    allow: bool = typer.Option(False, "--allow", help="Allow the request."),
    block: bool = typer.Option(False, "--block", help="Block the request."),
    why: str = typer.Option(..., "--why", help="The reason, kept in the ledger."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Decide a request held for review."""
    from scaleguard.usage.service import decide_review

    if allow == block:
        raise InputError("give exactly one of --allow or --block")
    with _workspace(workspace) as ws:
        rec = decide_review(ws, ident, "allow" if allow else "block", why, by=_by(by))
        checkpoint_after_write(ws)
    if json_out:
        print_json(
            {
                "id": rec.id,
                "screen_id": rec.screen_id,
                "decision": rec.decision,
                "ledger_index": rec.ledger_index,
            }
        )
    else:
        Console().print(f"screen {rec.screen_id}: {rec.decision} (ledger entry {rec.ledger_index})")


@usage_app.command("appeal")
def appeal_cmd(
    ident: str = typer.Argument(..., help="The blocked screen's number (or request id)."),
    why: str = typer.Option(..., "--why", help="Why the block is wrong."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Appeal a block; someone other than its reviewer decides."""
    from scaleguard.usage.service import appeal

    with _workspace(workspace) as ws:
        rec = appeal(ws, ident, why, by=_by(by))
        checkpoint_after_write(ws)
    if json_out:
        print_json({"id": rec.id, "screen_id": rec.screen_id, "ledger_index": rec.ledger_index})
    else:
        Console().print(f"appeal {rec.id} filed against screen {rec.screen_id}")


@appeals_app.command("list")
def appeals_list(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """Appeals and their outcomes."""
    from scaleguard.usage.service import appeal_list

    with _workspace(workspace) as ws:
        rows = appeal_list(ws)
    data: list[dict[str, Any]] = []
    for status in rows:
        r, d = status.appeal, status.decision
        data.append(
            {
                "id": r.id,
                "screen_id": r.screen_id,
                "reason": r.reason,
                "by": r.created_by,
                "outcome": d.outcome if d else None,
                "outcome_reason": d.reason if d else None,
            }
        )
    if json_out:
        print_json(data)
        return
    table = Table()
    for col in ("id", "screen", "by", "reason", "outcome"):
        table.add_column(col)
    for item in data:
        table.add_row(
            str(item["id"]),
            str(item["screen_id"]),
            item["by"],
            item["reason"],
            item["outcome"] or "open",
        )
    Console().print(table)


@appeals_app.command("decide")
def appeals_decide(
    appeal_id: int = typer.Argument(..., help="The appeal number."),
    uphold: bool = typer.Option(False, "--uphold", help="Keep the block."),
    reverse: bool = typer.Option(False, "--reverse", help="Reverse the block."),
    why: str = typer.Option(..., "--why", help="The reasoned outcome."),
    by: str | None = BY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Decide an appeal (not by the reviewer of the original decision)."""
    from scaleguard.usage.service import decide_appeal

    if uphold == reverse:
        raise InputError("give exactly one of --uphold or --reverse")
    with _workspace(workspace) as ws:
        rec = decide_appeal(ws, appeal_id, "uphold" if uphold else "reverse", why, by=_by(by))
        checkpoint_after_write(ws)
    if json_out:
        print_json(
            {
                "id": rec.id,
                "appeal_id": rec.appeal_id,
                "outcome": rec.outcome,
                "ledger_index": rec.ledger_index,
            }
        )
    else:
        Console().print(f"appeal {rec.appeal_id}: {rec.outcome}")


# -- HTTP --------------------------------------------------------------------------------


@usage_app.command("customer-key")
def customer_key(
    customer: str = typer.Argument(..., help="The customer (as named in its contract)."),
    label: str | None = typer.Option(
        None, "--label", help="A note kept with the entry: who or what uses the key."
    ),
    json_out: bool = JSON_OPTION,
) -> None:
    """Make an API key for serve-screen --customer-keys: the key, shown once, and its entry.

    scaleguard keeps no copy of the key: give it to the customer and add the
    printed [[key]] entry (the key's SHA-256 and the customer) to the
    customer-keys file. To revoke a key, remove its entry and restart the server.
    """
    from scaleguard.usage.identity import key_entry, new_key

    key, sha256 = new_key()
    entry = key_entry(customer, sha256, label)
    if json_out:
        print_json({"customer": customer, "key": key, "sha256": sha256, "entry": entry})
        return
    typer.echo(f"API key for {customer} (shown only now; scaleguard keeps only its SHA-256):\n")
    typer.echo(f"  {key}\n")
    typer.echo("Add this entry to the file given to serve-screen --customer-keys:\n")
    typer.echo(entry, nl=False)


# -- accuracy ---------------------------------------------------------------------------


def bench_screen(
    input_file: list[Path] = typer.Option(
        [],
        "--input",
        help="Labelled prompts: XSTest or AILuminate CSV, or CSV/JSONL with prompt, label "
        "(positive/benign) and clause. Repeatable. Default: the built-in held-out set.",
    ),
    heldout_too: bool = typer.Option(
        False, "--with-heldout", help="Add the built-in held-out set to the --input files."
    ),
    policy: str | None = POLICY_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Accuracy of the screen: recall per red line, false blocks on look-alikes, review rate."""
    from rich.progress import Progress

    from scaleguard.usage.bench import evaluate, heldout, labelled_file
    from scaleguard.usage.service import build_screener

    items = [i for f in input_file for i in labelled_file(f)]
    if not input_file or heldout_too:
        items = heldout() + items
    screener = build_screener(policy=load_policy(policy))
    with Progress(transient=True, disable=json_out) as progress:
        task = progress.add_task("screening", total=len(items))
        report = evaluate(screener, items, progress=lambda n: progress.advance(task, n))
    if json_out:
        print_json(report)
        return
    console = Console()
    console.print(
        f"policy {report['policy']}  model sha256 {report['model_sha256'][:12]}…  "
        f"{len(items)} prompts"
    )
    table = Table()
    for col in ("source", "clause", "label", "n", "recall (block+review)", "blocked", "review"):
        table.add_column(col)
    for g in report["groups"]:
        recall = f"{g['recall']:.2f}" if "recall" in g else ""
        name = f"[bold]{g['clause']}[/]" if g["red_line"] else g["clause"]
        table.add_row(
            g["source"],
            name,
            g["label"],
            str(g["n"]),
            recall,
            f"{g['block_rate']:.2f}",
            f"{g['review_rate']:.2f}",
        )
    console.print(table)
    s = report["summary"]
    if s["red_line_recall"] is not None:
        console.print(
            f"red lines: recall {s['red_line_recall']:.2f} (blocked outright "
            f"{s['red_line_block_recall']:.2f}); look-alikes blocked "
            f"{s['red_line_lookalike_false_block_rate']:.2f}, sent to review "
            f"{s['red_line_lookalike_review_rate']:.2f}"
        )
