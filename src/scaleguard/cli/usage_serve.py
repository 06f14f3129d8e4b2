"""``scaleguard serve-screen``: the HTTP screen and the screening chat proxy.

A thin command: it reads the options, builds the server's configuration
(policy, workspace, judge, how the customer is established) and calls
:func:`scaleguard.usage.server.serve`. fastapi and uvicorn are imported only
when it runs.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from scaleguard.cli.common import WORKSPACE_OPTION
from scaleguard.cli.usage import (
    JUDGE_KEY_OPTION,
    JUDGE_MODEL_OPTION,
    JUDGE_URL_OPTION,
    POLICY_OPTION,
    _judge,
    api_key,
    base_url,
)
from scaleguard.errors import InputError, ScaleguardError
from scaleguard.usage.loader import load_policy

DECLARED_WARNING = (
    "[yellow]warning[/]: the customer is self-declared: each request names its own customer "
    "(header X-Scaleguard-Customer), so a caller can leave it out or name another customer's "
    "contract. Use --customer or --customer-keys, or a gateway that authenticates callers "
    "and sets the header."
)


def serve_screen(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8100, "--port", help="Port to listen on."),
    upstream: str | None = typer.Option(
        None, "--upstream", help="OpenAI-compatible base URL that allowed requests go to."
    ),
    upstream_key_env: str | None = typer.Option(
        None, "--upstream-key-env", help="Environment variable holding the upstream API key."
    ),
    customer: str | None = typer.Option(
        None,
        "--customer",
        help="Serve this one customer: every request is screened under its contract, and a "
        "request naming another customer is refused (403).",
    ),
    customer_keys: Path | None = typer.Option(
        None,
        "--customer-keys",
        help="TOML file of API-key hashes and their customers: each request must send "
        "'Authorization: Bearer KEY' (401 otherwise) and is screened as the key's customer. "
        "Make entries with 'scaleguard usage customer-key NAME'.",
    ),
    judge_url: str | None = JUDGE_URL_OPTION,
    judge_model: str = JUDGE_MODEL_OPTION,
    judge_key_env: str | None = JUDGE_KEY_OPTION,
    policy: str | None = POLICY_OPTION,
    workspace: Path | None = WORKSPACE_OPTION,
) -> None:
    """Serve POST /v1/screen and an OpenAI-compatible /v1/chat/completions screening proxy.

    The proxy screens every message of every role and every tool, schema and
    option text it forwards; roles, content parts (images, audio, files) and
    keys it does not know are refused (400), not forwarded. Inside a workspace,
    customers' contracts apply, each checked against the ledger before use,
    and every decision is audited in the ledger with how its customer was
    established.

    Who the customer is: with --customer NAME, every request is NAME (its
    contract must exist and pass its ledger check, or the server does not
    start); with --customer-keys FILE, the customer of the request's API key
    (a request without a known key gets 401). Either way a request naming
    another customer (header X-Scaleguard-Customer, or "customer" in a
    /v1/screen body) gets 403. The two options exclude each other. With
    neither, the customer is taken as the request declares it: a caller can
    omit it (policy only) or name another customer (that customer's
    exceptions); red lines apply whatever it says. The server warns about this
    at start-up.
    """

    import click

    from scaleguard.usage.identity import CustomerBinding, load_customer_keys
    from scaleguard.usage.server import ServerConfig, prepare, serve
    from scaleguard.workspace.locate import find_root
    from scaleguard.workspace.workspace import open_workspace

    if customer is not None and customer_keys is not None:
        raise click.UsageError(
            "--customer and --customer-keys cannot be used together: pin the server to one "
            "customer, or establish each request's customer by its API key"
        )
    binding = (
        CustomerBinding.pin(customer)
        if customer is not None
        else CustomerBinding.by_keys(load_customer_keys(customer_keys))
        if customer_keys is not None
        else CustomerBinding()
    )
    err = Console(stderr=True)
    ws = None
    try:
        ws = open_workspace(workspace) if workspace else open_workspace(find_root())
    except ScaleguardError as exc:
        if workspace:
            raise
        if binding.customers():
            option = "--customer" if customer is not None else "--customer-keys"
            raise InputError(
                f"{option} needs a workspace (the customers' contracts are kept there): "
                f"{exc.message}",
                hint="start serve-screen inside a workspace, or give --workspace",
            ) from None
        err.print("[yellow]note[/]: no workspace: decisions are not audited")
    try:
        key = api_key("--upstream-key-env", upstream_key_env)
        judge = _judge(judge_url, judge_model, judge_key_env)
        config = ServerConfig(
            policy=load_policy(policy),
            workspace=ws,
            upstream=base_url("--upstream", upstream) if upstream else None,
            upstream_key=key,
            judge=judge,
            binding=binding,
        )
        prepare(config)
        if customer is not None:
            err.print(f"every request is screened as customer {customer!r} (--customer)")
        elif customer_keys is not None:
            err.print(
                f"customers by API key: {len(binding.customers())} customer(s) from {customer_keys}"
            )
        else:
            err.print(DECLARED_WARNING)
        err.print(f"screening on http://{host}:{port} (Ctrl-C stops)")
        serve(config, host, port, prepared=True)
    finally:
        if ws is not None:
            ws.close()
