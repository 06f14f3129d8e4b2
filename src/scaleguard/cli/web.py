"""``scaleguard serve``, ``scaleguard users ...`` and ``scaleguard tokens ...``.

FastAPI, uvicorn and argon2 are imported inside the commands, never at start-up.
"""

from __future__ import annotations

from pathlib import Path

import typer

from scaleguard.cli.output import print_json
from scaleguard.errors import InputError

WORKSPACE_OPTION = typer.Option(
    None,
    "--workspace",
    envvar="SCALEGUARD_WORKSPACE",
    help="The workspace folder (default: the nearest folder above the current one "
    "holding scaleguard.toml).",
    file_okay=False,
)
JSON_OPTION = typer.Option(False, "--json", help="Print JSON instead of text.")

users_app = typer.Typer(help="Web users and their roles.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for the JSON API.", no_args_is_help=True)


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", min=1, max=65535, help="Port to listen on."),
    workers: int = typer.Option(
        1, "--workers", min=1, max=64, help="Worker processes (use several on PostgreSQL only)."
    ),
    insecure_cookies: bool = typer.Option(
        False,
        "--insecure-cookies",
        help="Send cookies over plain http to other hosts than localhost (testing only).",
    ),
    workspace: Path | None = WORKSPACE_OPTION,
) -> None:
    """Serve the web UI and the JSON API (/api/v1) of a workspace."""
    import os

    import uvicorn

    from scaleguard.workspace import open_workspace

    ws = open_workspace(workspace)
    root, backend = ws.root, ws.store.backend
    ws.close()
    if workers > 1 and backend == "sqlite":
        raise InputError(
            "several workers need PostgreSQL",
            hint="SQLite has one writer; serve it with --workers 1",
        )
    os.environ["SCALEGUARD_WORKSPACE"] = str(root)
    if insecure_cookies:
        os.environ["SCALEGUARD_INSECURE_COOKIES"] = "1"
    shown = "localhost" if host in ("127.0.0.1", "::1", "localhost") else host
    typer.echo(f"serving {root} at http://{shown}:{port}/ (Ctrl-C stops)")
    uvicorn.run(
        "scaleguard.web.app:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        proxy_headers=True,
    )


@users_app.command("add")
def users_add(
    name: str = typer.Argument(..., help="The user name (a reviewer's name as registered)."),
    role: str = typer.Option(..., "--role", help="admin, rso, evaluator, reviewer or board."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Add a user; prints a one-time password (only its argon2 hash is stored)."""
    from scaleguard.web import accounts
    from scaleguard.workspace import open_workspace
    from scaleguard.workspace.workspace import current_user

    with open_workspace(workspace) as ws:
        user, password = accounts.add_user(ws.store, name, role, by=current_user())
    if json_out:
        print_json({"name": user.name, "role": user.role, "password": password})
        return
    typer.echo(f"added {user.name} ({user.role}); one-time password: {password}")


@users_app.command("list")
def users_list(workspace: Path | None = WORKSPACE_OPTION, json_out: bool = JSON_OPTION) -> None:
    """List users and their roles."""
    from scaleguard.web import accounts
    from scaleguard.workspace import open_workspace

    with open_workspace(workspace) as ws:
        found = accounts.users(ws.store)
    rows = [
        {"name": u.name, "role": u.role, "disabled": u.disabled, "created_at": u.created_at}
        for u in found
    ]
    if json_out:
        print_json(rows)
        return
    for r in rows:
        typer.echo(f"{r['name']}\t{r['role']}\t{r['created_at']}")


@tokens_app.command("create")
def tokens_create(
    user: str = typer.Option(..., "--user", help="Whose token it is."),
    scope: str = typer.Option("read", "--scope", help="read or write."),
    expires: str = typer.Option("90d", "--expires", help="Lifetime: days (90d) or hours (12h)."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """Create an API token; it is printed once and stored only as a hash."""
    from scaleguard.web import accounts
    from scaleguard.workspace import open_workspace

    with open_workspace(workspace) as ws:
        token, until = accounts.create_token(ws.store, user, scope, expires)
    if json_out:
        print_json({"user": user, "scope": scope, "expires_at": until, "token": token})
        return
    typer.echo(f"token for {user} ({scope}, expires {until}): {token}")


@tokens_app.command("list")
def tokens_list(
    user: str | None = typer.Option(None, "--user", help="Only this user's tokens."),
    workspace: Path | None = WORKSPACE_OPTION,
    json_out: bool = JSON_OPTION,
) -> None:
    """List API tokens (never their secrets): scope, expiry, revoked."""
    from scaleguard.web import accounts
    from scaleguard.workspace import open_workspace

    with open_workspace(workspace) as ws:
        rows = accounts.tokens(ws.store, user)
    if json_out:
        print_json(rows)
        return
    for r in rows:
        state = "revoked" if r["revoked"] else f"expires {r['expires_at']}"
        typer.echo(f"#{r['id']}\t{r['user']}\t{r['scope']}\t{state}")


@tokens_app.command("revoke")
def tokens_revoke(
    token_id: int = typer.Argument(..., min=1, help="The token's id, from 'tokens list'."),
    workspace: Path | None = WORKSPACE_OPTION,
) -> None:
    """Revoke an API token; requests with it are refused from now on."""
    from scaleguard.web import accounts
    from scaleguard.workspace import open_workspace

    with open_workspace(workspace) as ws:
        accounts.revoke_token(ws.store, token_id)
    typer.echo(f"token #{token_id} revoked")
