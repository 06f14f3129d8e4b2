"""HTTP screen: ``POST /v1/screen`` and an OpenAI-compatible ``/v1/chat/completions`` proxy.

The proxy screens every text of the request the upstream model can read (each
message, tool definitions, schemas: :mod:`scaleguard.usage.chat`) and refuses
what it does not know. A blocked request gets a refusal that cites the clause
(and a request held for review gets one that says so: the proxy fails closed);
an allowed one is forwarded to the configured upstream. A customer's contract
is used only after its rows are checked against the ledger. Every error is one
JSON envelope (``{"ok": false, "error", "hint", "errors", "status"}``); bad
JSON, oversized bodies, unknown customers and refused bodies are 4xx.

Who the customer is comes from :mod:`scaleguard.usage.identity`: pinned to
one customer, established by an API key, or (by default) as the request
declares it. Authentication comes before the body is read; a request naming
another customer than the established one is refused (403), and every
audited decision records how its customer was established.
fastapi and httpx are imported by this module only, which the CLI imports
only when it serves (never at start-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from fastapi import FastAPI, Request

from scaleguard.errors import (
    InputError,
    NotFoundError,
    Problem,
    ScaleguardError,
    Unauthenticated,
)
from scaleguard.usage.batching import Batcher
from scaleguard.usage.chat import Unit, screen_units
from scaleguard.usage.identity import (
    API_KEY,
    HEADER_WHERE,
    Claim,
    CustomerBinding,
    Identity,
    check_customers,
)
from scaleguard.usage.loader import LoadedPolicy

if TYPE_CHECKING:
    from scaleguard.usage.audit import AuditWriter
    from scaleguard.usage.judge import Judge
    from scaleguard.usage.screen import Screener, ScreenResult
    from scaleguard.workspace.workspace import Workspace

MAX_BODY_BYTES = 1_000_000
CUSTOMER_HEADER = "x-scaleguard-customer"  # as Starlette looks headers up


class PayloadTooLarge(InputError):
    http_status: ClassVar[int] = 413


class UpstreamError(ScaleguardError):
    http_status: ClassVar[int] = 502


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
    binding: CustomerBinding = field(default_factory=CustomerBinding)


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
        from scaleguard.usage.service import build_screener, checked_contract, contract_from_record

        contract = None
        if customer is not None:
            ws = config.workspace
            if ws is None:
                raise NotFoundError(
                    f"unknown customer {customer!r}: this server has no workspace with contracts",
                    hint="start serve-screen inside a workspace, or omit the customer",
                )
            try:
                with ws.store.read() as session:
                    record = checked_contract(session, ws, customer)
            except Exception:
                # fail closed: a contract that cannot be checked now is not used from the cache
                config.screeners.pop(customer, None)
                config.checked.pop(customer, None)
                raise
            config.checked[customer] = now
            if (
                found is not None
                and found.contract is not None
                and (found.contract.digest == record.digest)
            ):
                return found
            contract = contract_from_record(record, customer, config.policy)
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


def deciding(results: list[ScreenResult]) -> int:
    """Index of the result that decides a request: the strongest band, red lines first,
    then the higher score."""
    from scaleguard.usage.screen import BAND_ORDER

    return max(
        range(len(results)),
        key=lambda i: (BAND_ORDER[results[i].band], results[i].red_line, results[i].score or 0.0),
    )


def refusal(result: ScreenResult, model: str, extra: dict[str, Any]) -> dict[str, Any]:
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
        "scaleguard": result.summary() | {"clause_title": result.clause_title} | extra,
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
        headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, Unauthenticated) else None
        return JSONResponse(exc.as_dict() | {"status": status}, status_code=status, headers=headers)

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

    def authenticate(request: Request) -> Identity:
        return config.binding.authenticate(request.headers.getlist("authorization"))

    def header_claim(request: Request) -> Claim:
        values = request.headers.getlist(CUSTOMER_HEADER)
        if len(values) > 1:
            raise InputError(
                f"{HEADER_WHERE} is given {len(values)} times",
                hint="send the header once",
                problems=[Problem("repeated header", path=HEADER_WHERE)],
            )
        return Claim(values[0] if values else None, HEADER_WHERE)

    async def screen_texts(units: list[Unit], identity: Identity) -> list[ScreenResult]:
        """Screen every unit with one screener (one contract version), in one batch; each
        decision is audited with how its customer was established. A unit that cannot be
        screened fails the request, naming it."""
        customer = identity.customer
        screener = await run_in_threadpool(_screener, config, customer)
        batcher = batchers.get(customer)
        if batcher is None or batcher.screener is not screener:
            if batcher is not None:
                batcher.retire()
            batcher = batchers[customer] = Batcher(screener)
        outcomes = await asyncio.gather(
            *(batcher.screen(u.text) for u in units), return_exceptions=True
        )
        results: list[ScreenResult] = []
        for unit, outcome in zip(units, outcomes, strict=True):
            if isinstance(outcome, InputError) and unit.path != "$.text":
                raise InputError(
                    f"{unit.path}: {outcome.message}",
                    hint=outcome.hint,
                    problems=[Problem(outcome.message, path=unit.path)],
                ) from None
            if isinstance(outcome, BaseException):
                raise outcome
            results.append(outcome.model_copy(update={"customer_identity": identity.how}))
        if config.audit is not None:
            contract = screener.contract
            retain = bool(contract and contract.contract.retain_text)
            for unit, result in zip(units, results, strict=True):
                config.audit.submit(result, unit.text, retain=retain)
        return results

    @app.get("/healthz")
    async def healthz(request: Request) -> JSONResponse:
        """Whether the audit writer has failed. With API keys required, what failed (text that
        can name files and databases) is shown only to a caller with a valid key."""
        errors = config.audit.errors if config.audit else []
        shown = errors[-5:]
        if shown and config.binding.how == API_KEY:
            try:
                authenticate(request)
            except Unauthenticated:
                shown = []
        body = {"ok": not errors, "audit_failures": len(errors), "audit_errors": shown}
        return JSONResponse(body, 200 if not errors else 503)

    @app.post("/v1/screen")
    async def screen(request: Request) -> JSONResponse:
        established = authenticate(request)
        body = await read_body(request)
        claims = [Claim(body.get("customer"), "$.customer"), header_claim(request)]
        identity = config.binding.settle(established, claims)
        text = body.get("text")
        if not isinstance(text, str):
            raise InputError("'text' must be a string", problems=[Problem("", path="$.text")])
        (result,) = await screen_texts([Unit("$.text", text)], identity)
        return JSONResponse(result.model_dump(mode="json"))

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> JSONResponse:
        established = authenticate(request)
        body = await read_body(request)
        if body.get("stream") is True:
            raise InputError(
                "streaming is not supported by the screening proxy",
                hint="send 'stream': false",
                problems=[Problem("", path="$.stream")],
            )
        identity = config.binding.settle(established, [header_claim(request)])
        units = screen_units(body)
        results = await screen_texts(units, identity)
        first = deciding(results)
        result = results[first]
        extra = {
            "path": units[first].path,
            "screened": len(units),
            "customer": identity.customer,
            "customer_identity": identity.how,
        }
        model = str(body.get("model") or "unknown")
        if result.band != "allow":
            return JSONResponse(refusal(result, model, extra))
        return await forward(body, result, extra)

    async def forward(
        body: dict[str, Any], result: ScreenResult, extra: dict[str, Any]
    ) -> JSONResponse:
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
            data["scaleguard"] = result.summary() | extra
        return JSONResponse(data, status_code=response.status_code)

    return app


def prepare(config: ServerConfig) -> None:
    """Everything checked before listening: every contract row against the ledger, the
    contract of each customer the binding serves (it must exist, pass its row check and
    be valid under the policy), and the model, loaded before the first request."""
    from scaleguard.usage.service import check_contracts

    if config.workspace is not None:
        check_contracts(config.workspace)  # a contract row the key never signed: do not start
    check_customers(config.binding, config.workspace, config.policy)
    _screener(config, config.binding.pinned)


def serve(config: ServerConfig, host: str, port: int, *, prepared: bool = False) -> None:
    """Run the screen server until interrupted (after :func:`prepare`, unless ``prepared``);
    the audit queue is drained on exit."""
    import uvicorn

    from scaleguard.usage.audit import AuditWriter

    if not prepared:
        prepare(config)
    if config.workspace is not None:
        config.audit = AuditWriter(config.workspace.store, by=config.by)
    try:
        uvicorn.run(create_app(config), host=host, port=port, log_level="warning", access_log=False)
    finally:
        if config.audit is not None:
            config.audit.close()
