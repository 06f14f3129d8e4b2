"""The application factory: one workspace, its routes, error envelope and safety headers.

``create_app(root)`` opens the workspace once per process; uvicorn workers
each call :func:`app_from_env` (``factory=True``). API errors always use the
envelope of :mod:`scaleguard.web.errors`; pages show the same facts as HTML.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from scaleguard import __version__
from scaleguard.errors import ScaleguardError
from scaleguard.web import errors
from scaleguard.web.render import render_page
from scaleguard.workspace import open_workspace

API_PREFIX = "/api/v1"
#: Largest request body accepted (bytes); larger ones get 413 before they are read.
DEFAULT_MAX_BODY = 8 * 1024 * 1024
STATIC_DIR = Path(__file__).parent / "static"
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; "
    "form-action 'self'"
)


@dataclass(frozen=True)
class Settings:
    #: Mark cookies Secure (browsers keep them on https and on http://localhost).
    secure_cookies: bool = True
    max_body: int = DEFAULT_MAX_BODY


class _TooLarge(Exception):
    pass


def _is_api(path: str) -> bool:
    return path.startswith(API_PREFIX)


class BodyLimit:
    """413 with the envelope for bodies over the limit, declared or streamed."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(scope, send)
            return
        seen = 0
        started = False

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        async def tracking(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracking)
        except _TooLarge:
            if not started:
                await self._refuse(scope, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        body = errors.envelope(
            "too_large",
            f"the request body is larger than {self.limit} bytes",
            "send a smaller file, or split the upload",
        )
        response = JSONResponse(body, status_code=413)
        await response(scope, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


class Headers:
    """Security headers on every response; ETags (and 304s) on API reads."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        etag_wanted = scope["method"] in ("GET", "HEAD") and _is_api(scope["path"])
        if_none = dict(scope.get("headers") or []).get(b"if-none-match", b"").decode("latin-1")
        start: Message | None = None
        chunks: list[bytes] = []

        def secure(message: Message) -> Message:
            extra = [
                (b"x-content-type-options", b"nosniff"),
                (b"x-frame-options", b"DENY"),
                (b"referrer-policy", b"same-origin"),
                (b"content-security-policy", CSP.encode()),
            ]
            message["headers"] = list(message.get("headers", [])) + extra
            return message

        async def wrapped(message: Message) -> None:
            nonlocal start
            if not etag_wanted:
                if message["type"] == "http.response.start":
                    message = secure(message)
                await send(message)
                return
            if message["type"] == "http.response.start":
                start = secure(message)
                return
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if message.get("more_body", False):
                    return
                assert start is not None
                body = b"".join(chunks)
                if start["status"] == 200:
                    tag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
                    start["headers"].append((b"etag", tag.encode()))
                    if tag in [t.strip() for t in if_none.split(",")] or if_none.strip() == "*":
                        start["status"] = 304
                        start["headers"] = [
                            (k, v) for k, v in start["headers"] if k.lower() != b"content-length"
                        ]
                        body = b""
                await send(start)
                await send({"type": "http.response.body", "body": body, "more_body": False})
                return
            await send(message)

        await self.app(scope, receive, wrapped)


def _error_response(request: Request, status: int, body: dict[str, Any]) -> Response:
    if _is_api(request.url.path):
        return JSONResponse(body, status_code=status)
    if status == 401 and request.method == "GET":
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)
    return render_page(request, "error.html", {"error": body["error"], "status": status}, status)


def create_app(root: Path, settings: Settings | None = None) -> FastAPI:
    """The web application for the workspace at ``root``."""
    from scaleguard.web import api, api_console, api_review, pages, pages_console, pages_review

    chosen = settings or Settings()
    ws = open_workspace(root)
    # Request threads that write at the same moment share one commit and one signature.
    ws.store.group_writes = True

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        ws.close()

    app = FastAPI(
        lifespan=lifespan,
        title="scaleguard",
        version=__version__,
        description="The workspace's public record, reviewers' portal and JSON API. "
        'Every error is {"error": {"code", "message", "hint", "field"}}.',
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.workspace = ws
    app.state.settings = chosen

    @app.exception_handler(ScaleguardError)
    async def _library(request: Request, exc: ScaleguardError) -> Response:
        status, body = errors.from_library(exc)
        return _error_response(request, status, body)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        return _error_response(request, 422, errors.from_validation(list(exc.errors())))

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = errors.HTTP_CODES.get(exc.status_code, "error")
        detail = exc.detail if isinstance(exc.detail, str) else "request refused"
        hint = "see /api/v1/openapi.json for the routes" if exc.status_code in (404, 405) else ""
        if detail == "Not Found":
            detail = f"no such page: {request.url.path}"
        response = _error_response(request, exc.status_code, errors.envelope(code, detail, hint))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> Response:
        errors.log.exception("internal error on %s %s", request.method, request.url.path)
        body = errors.envelope(
            "internal", "internal error: this is a bug in scaleguard, not in your request"
        )
        return _error_response(request, 500, body)

    #: (prefix, router) of every route: the route × role test walks these.
    app.state.routers = [
        (API_PREFIX, api.router),
        (API_PREFIX, api_review.router),
        (API_PREFIX, api_console.router),
        ("", pages.router),
        ("", pages_review.router),
        ("", pages_console.router),
    ]
    for prefix, router in app.state.routers:
        documented = errors.ERROR_RESPONSES if prefix == API_PREFIX else None
        app.include_router(router, prefix=prefix, responses=documented)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(Headers)
    app.add_middleware(BodyLimit, limit=chosen.max_body)

    return app


def app_from_env() -> FastAPI:
    """For ``uvicorn --factory``: the workspace named by SCALEGUARD_WORKSPACE."""
    root = Path(os.environ.get("SCALEGUARD_WORKSPACE", "."))
    secure = os.environ.get("SCALEGUARD_INSECURE_COOKIES", "") != "1"
    return create_app(root, Settings(secure_cookies=secure))


def dumps(data: object) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
