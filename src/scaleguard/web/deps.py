"""Request-scoped helpers: the workspace, the caller, and the permission check.

:class:`Need` is the only gate: every route depends on exactly one ``Need``,
whose permission :mod:`scaleguard.web.roles` resolves. Unsafe methods from a
browser session must carry the session's CSRF token (form field ``csrf`` or
header ``X-CSRF-Token``); a ``read`` token may not use them at all.
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from scaleguard.errors import Forbidden, Unauthenticated
from scaleguard.web import accounts
from scaleguard.web.accounts import Principal
from scaleguard.web.roles import Permission, allows
from scaleguard.workspace.workspace import Workspace

SESSION_COOKIE = "sg_session"
LOGIN_CSRF_COOKIE = "sg_login_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: The largest id or index a request may name (both databases hold 63-bit integers).
MAX_ID = 2**62


def workspace(request: Request) -> Workspace:
    ws: Workspace = request.app.state.workspace
    return ws


def principal_of(request: Request) -> Principal | None:
    """The caller: a bearer token (checked strictly), else a session cookie, else nobody."""
    ws = workspace(request)
    header = request.headers.get("authorization")
    if header is not None:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise accounts.TokenRefused(
                "the Authorization header must be 'Bearer <token>'",
                hint="create a token with 'scaleguard tokens create --user NAME'",
            )
        return accounts.token_principal(ws.store, token.strip())
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        return accounts.session_principal(ws.store, cookie)
    return None


async def current(request: Request) -> Principal | None:
    """The caller, looked up once per request."""
    if not hasattr(request.state, "principal"):
        request.state.principal = await run_in_threadpool(principal_of, request)
    found: Principal | None = request.state.principal
    return found


async def csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf")
            sent = value if isinstance(value, str) else None
    return sent is not None and bool(expected) and hmac.compare_digest(sent, expected)


class Need:
    """A route's permission; resolves to the caller (None on public routes for nobody)."""

    def __init__(self, permission: Permission) -> None:
        self.permission = permission

    def __repr__(self) -> str:
        return f"Need({self.permission!r})"

    async def __call__(self, request: Request) -> Principal | None:
        who = await current(request)
        if who is not None and request.method not in SAFE_METHODS:
            if who.via == "token" and who.scope != "write":
                raise Forbidden(
                    "this API token is read-only", hint="create a token with --scope write"
                )
            if who.via == "session" and not await csrf_ok(request, who.csrf):
                raise Forbidden(
                    "missing or wrong CSRF token",
                    hint="reload the page and submit the form again",
                )
        if self.permission == "public":
            return who
        if who is None:
            raise Unauthenticated(
                "sign in first", hint="sign in at /login, or send 'Authorization: Bearer <token>'"
            )
        if not allows(self.permission, who.role):
            raise Forbidden(
                f"the {who.role} role may not do this",
                hint="ask an admin for an account with the right role",
            )
        return who


def need(permission: Permission) -> Any:
    return Depends(Need(permission))


def actor(who: Principal | None) -> str:
    """The name a signed-in user's writes carry into the ledger."""
    if who is None:  # pragma: no cover - writes always need a permission
        raise Unauthenticated("sign in first")
    return f"web:{who.name}"


#: Path parameters naming a record: bounded so that no id overflows a database integer.
RecordId = Annotated[int, Path(ge=0, le=MAX_ID, description="A record id or ledger index.")]

#: Cursor pagination of every list: ``limit`` items after ``cursor``.
LIMIT: Any = Query(50, ge=1, le=200, description="Items per page.")
CURSOR: Any = Query(None, max_length=40, description="The previous page's next_cursor.")
