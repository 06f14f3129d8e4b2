"""HTTP screen: ``POST /v1/screen`` and an OpenAI-compatible ``/v1/chat/completions`` proxy.

The proxy screens the last user turn. A blocked request gets a refusal that
cites the clause (and a request held for review gets one that says so: the
proxy fails closed); an allowed one is forwarded to the configured upstream.
Every error is one JSON envelope (``{"ok": false, "error", "hint", "errors",
"status"}``); bad JSON, oversized bodies and unknown customers are 4xx.
fastapi and httpx are imported by this module only, which the CLI imports
only when it serves (never at start-up).
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request

from scaleguard.errors import InputError, NotFoundError, Problem, ScaleguardError
from scaleguard.usage.batching import Batcher
from scaleguard.usage.loader import LoadedPolicy

if TYPE_CHECKING:
    from scaleguard.usage.audit import AuditWriter
    from scaleguard.usage.judge import Judge
    from scaleguard.usage.screen import Screener, ScreenResult
    from scaleguard.workspace.workspace import Workspace

MAX_BODY_BYTES = 1_000_000
CUSTOMER_HEADER = "x-scaleguard-customer"


class PayloadTooLarge(InputError):
    def __post_init__(self) -> None:
        self.status = 413
        super().__post_init__()


class UpstreamError(ScaleguardError):
    def __post_init__(self) -> None:
        self.status = 502
        super().__post_init__()


@dataclass
class ServerConfig:
    policy: LoadedPolicy
    workspace: Workspace | None = None
    upstream: str | None = None
    upstream_key: str | None = None
    judge: Judge | None = None
    max_body: int = MAX_BODY_BYTES
    by: str = "screen-server"
    refresh_seconds: float = 30.0
    screeners: dict[str | None, Screener] = field(default_factory=dict)
    checked: dict[str, float] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    audit: AuditWriter | None = None


def _screener(config: ServerConfig, customer: str | None) -> Screener:
    """The screener for ``customer``, rebuilt when a newer contract version was accepted.

    A customer's latest contract is looked up again at most every
    ``refresh_seconds``, so a tightened contract takes effect without a restart.
    """
    with config.lock:
        found = config.screeners.get(customer)
        now = time.monotonic()
        if found is not None and (
            customer is None or now - config.checked.get(customer, 0.0) < config.refresh_seconds
        ):
            return found
        from scaleguard.usage import store as usage_store
        from scaleguard.usage.service import build_screener, customer_contract

        contract = None
        if customer is not None:
            if config.workspace is None:
                raise NotFoundError(
                    f"unknown customer {customer!r}: this server has no workspace with contracts",
                    hint="start serve-screen inside a workspace, or omit the customer",
                )
            with config.workspace.store.read() as session:
                record = usage_store.current_contract(session, customer)
            config.checked[customer] = now
            if (
                found is not None
                and found.contract is not None
                and (found.contract.digest == record.digest)
            ):
                return found
            contract = customer_contract(config.workspace, customer, config.policy)
        screener = build_screener(policy=config.policy, contract=contract, judge=config.judge)
        config.screeners[customer] = screener
        return screener


def _parse(body: bytes, config: ServerConfig) -> dict[str, Any]:
    if len(body) > config.max_body:
        raise PayloadTooLarge(
            f"request body is {len(body):,} bytes, over the {config.max_body:,}-byte limit",
            hint="send shorter text",
        )
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("request body is not UTF-8", hint="send UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f"request body is not JSON: {exc.msg}",
            hint="send a JSON object",
            problems=[Problem(exc.msg, path=f"line {exc.lineno} column {exc.colno}")],
        ) from None
    if not isinstance(value, dict):
        raise InputError("request body must be a JSON object", problems=[Problem("", path="$")])
    return value


def _customer(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InputError(f"{where} must be a customer id", problems=[Problem("bad", path=where)])
    return value


def last_user_text(body: dict[str, Any]) -> str:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise InputError(
            "'messages' must be a non-empty list", problems=[Problem("missing", path="$.messages")]
        )
    for i in range(len(messages) - 1, -1, -1):
        message = messages[i]
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            parts = [
                p.get("text")
                for p in content
                if isinstance(p, dict)
                and p.get("type") == "text"
                and isinstance(p.get("text"), str)
            ]
            if parts:
                return "\n".join(str(p) for p in parts)
        raise InputError(
            "the last user message has no text content",
            problems=[Problem("expected a string or text parts", path=f"$.messages[{i}].content")],
        )
    raise InputError("no user message to screen", problems=[Problem("", path="$.messages")])


def refusal(result: ScreenResult, model: str) -> dict[str, Any]:
    if result.band == "block":
        text = (
            f"This request was refused under usage-policy clause {result.clause} "
            f"({result.clause_title}) of {result.policy}. Request id {result.request_id}; "
            "you can appeal the decision with this id."
        )
    else:
        text = (
            f"This request is held for human review under usage-policy clause {result.clause} "
            f"({result.clause_title}). Request id {result.request_id}."
        )
    return {
        "id": f"chatcmpl-{result.request_id}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": text, "refusal": text},
                "finish_reason": "content_filter",
            }
        ],
        "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
        "scaleguard": result.summary() | {"clause_title": result.clause_title},
    }


def create_app(config: ServerConfig) -> FastAPI:
    from fastapi.concurrency import run_in_threadpool
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse
    from starlette.exceptions import HTTPException as StarletteHTTPException

    batchers: dict[str | None, Batcher] = {}

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        for batcher in batchers.values():
            batcher.close()
        batchers.clear()

    app = FastAPI(title="scaleguard screen", version="1", lifespan=lifespan)

    def envelope(exc: ScaleguardError) -> JSONResponse:
        status = exc.status if 400 <= exc.status < 600 else 400
        return JSONResponse(exc.as_dict() | {"status": status}, status_code=status)

    @app.exception_handler(ScaleguardError)
    async def _scaleguard(_: Request, exc: ScaleguardError) -> JSONResponse:
        return envelope(exc)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        err = ScaleguardError(str(exc.detail))
        err.status = exc.status_code
        return envelope(err)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return envelope(InputError(f"bad request: {exc.errors()!r}"[:500]))

    @app.exception_handler(Exception)
    async def _internal(_: Request, exc: Exception) -> JSONResponse:
        err = ScaleguardError(f"internal error: {type(exc).__name__}", hint="please report it")
        err.status = 500
        return envelope(err)

    async def read_body(request: Request) -> dict[str, Any]:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > config.max_body:
            raise PayloadTooLarge(
                f"request body is {int(declared):,} bytes, over the {config.max_body:,}-byte limit"
            )
        chunks: list[bytes] = []
        size = 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > config.max_body:
                raise PayloadTooLarge(f"request body is over the {config.max_body:,}-byte limit")
            chunks.append(chunk)
        return _parse(b"".join(chunks), config)

    async def screen_one(text: Any, customer: str | None) -> ScreenResult:
        if not isinstance(text, str):
            raise InputError("'text' must be a string", problems=[Problem("", path="$.text")])
        screener = await run_in_threadpool(_screener, config, customer)
        batcher = batchers.get(customer)
        if batcher is None or batcher.screener is not screener:
            if batcher is not None:
                batcher.retire()
            batcher = batchers[customer] = Batcher(screener)
        result = await batcher.screen(text)
        if config.audit is not None:
            contract = batcher.screener.contract
            retain = bool(contract and contract.contract.retain_text)
            config.audit.submit(result, text, retain=retain)
        return result

    @app.get("/healthz")
    async def healthz() -> JSONResponse:
        errors = config.audit.errors if config.audit else []
        return JSONResponse(
            {"ok": not errors, "audit_errors": errors[-5:]}, 200 if not errors else 503
        )

    @app.post("/v1/screen")
    async def screen(request: Request) -> JSONResponse:
        body = await read_body(request)
        customer = _customer(
            body.get("customer") or request.headers.get(CUSTOMER_HEADER), "$.customer"
        )
        result = await screen_one(body.get("text"), customer)
        return JSONResponse(result.model_dump(mode="json"))

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        body = await read_body(request)
        if body.get("stream") is True:
            raise InputError(
                "streaming is not supported by the screening proxy",
                hint="send 'stream': false",
                problems=[Problem("", path="$.stream")],
            )
        customer = _customer(request.headers.get(CUSTOMER_HEADER), "header X-Scaleguard-Customer")
        text = last_user_text(body)
        result = await screen_one(text, customer)
        model = str(body.get("model") or "unknown")
        if result.band != "allow":
            return JSONResponse(refusal(result, model))
        return await forward(body, result)

    async def forward(body: dict[str, Any], result: ScreenResult) -> JSONResponse:
        import httpx

        if not config.upstream:
            err = ScaleguardError(
                "no upstream model is configured", hint="start serve-screen with --upstream URL"
            )
            err.status = 503
            raise err
        headers = {"Authorization": f"Bearer {config.upstream_key}"} if config.upstream_key else {}
        try:
            async with httpx.AsyncClient(timeout=60) as client:
                response = await client.post(
                    config.upstream.rstrip("/") + "/chat/completions", json=body, headers=headers
                )
            data = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise UpstreamError(
                f"the upstream model failed: {type(exc).__name__}",
                hint="check the --upstream URL and that the model server is up",
            ) from None
        if isinstance(data, dict):
            data["scaleguard"] = result.summary()
        return JSONResponse(data, status_code=response.status_code)

    return app


def serve(config: ServerConfig, host: str, port: int) -> None:
    """Run the screen server until interrupted; the audit queue is drained on exit."""
    import uvicorn

    from scaleguard.usage.audit import AuditWriter

    if config.workspace is not None:
        config.audit = AuditWriter(config.workspace.store, by=config.by)
    _screener(config, None)  # load the model before the first request
    try:
        uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)
    finally:
        if config.audit is not None:
            config.audit.close()
