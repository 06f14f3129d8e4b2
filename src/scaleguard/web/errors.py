"""One error envelope for every API failure: ``{"error": {code, message, hint, field}}``.

Library errors carry their HTTP status (:attr:`ScaleguardError.status`); the
handlers here only translate. HTML pages show the same four facts as a page.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from pydantic import BaseModel, Field

from scaleguard.errors import ScaleguardError

log = logging.getLogger("scaleguard.web")

_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")

#: Codes for errors raised by the HTTP layer itself.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "internal",
}


def envelope(code: str, message: str, hint: str = "", field: str | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "hint": hint, "field": field}}


def code_of(exc: ScaleguardError) -> str:
    """``NotFoundError`` -> ``not_found``, ``InputError`` -> ``input``."""
    name = type(exc).__name__
    name = name[: -len("Error")] if name.endswith("Error") and name != "Error" else name
    return _CAMEL.sub("_", name).lower() or "error"


def from_library(exc: ScaleguardError) -> tuple[int, dict[str, Any]]:
    field = next((p.path for p in exc.problems if p.path), None)
    message = exc.message
    if exc.problems:
        message += ": " + "; ".join(p.message for p in exc.problems[:5])
    status = exc.status if 400 <= exc.status <= 599 else 400
    return status, envelope(code_of(exc), message, exc.hint, field)


def from_validation(errors: list[Any]) -> dict[str, Any]:
    """FastAPI's request validation errors: the first one, located as a JSON path."""
    first = errors[0] if errors else {}
    loc = [str(p) for p in first.get("loc", ())]
    where = loc[0] if loc else ""
    path = loc[1:]
    field = ("$." + ".".join(path)) if where == "body" and path else (path[-1] if path else None)
    if where == "body" and not path:
        field = "$"
    message = str(first.get("msg", "invalid request"))
    if first.get("type") == "json_invalid":
        ctx = first.get("ctx", {})
        message = f"malformed JSON: {ctx.get('error', 'cannot parse the body')}"
    elif field:
        message = f"{field}: {message}"
    hint = "fix the value named in 'field' and send the request again"
    if len(errors) > 1:
        hint += f" ({len(errors) - 1} more problem(s) after this one)"
    return envelope("invalid", message, hint, field)


class ErrorBody(BaseModel):
    code: str = Field(description="Stable, machine-readable: not_found, invalid, conflict, ...")
    message: str = Field(description="What went wrong, for a person.")
    hint: str = Field(description="How to fix it (may be empty).")
    field: str | None = Field(description="The parameter or JSON path at fault, if one is.")


class ErrorEnvelope(BaseModel):
    """The body of every API error."""

    error: ErrorBody


#: Documented on every API route: each of these answers with :class:`ErrorEnvelope`.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorEnvelope, "description": description}
    for status, description in (
        (400, "Bad input"),
        (401, "Not signed in, or the token is unknown, expired or revoked"),
        (403, "The role or token scope does not allow this, or the CSRF token is missing"),
        (404, "No such resource (or not assigned to you)"),
        (409, "Refused: conflicts with what is recorded"),
        (413, "The request body is too large"),
        (422, "The request does not match the schema"),
    )
}
