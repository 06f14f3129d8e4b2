"""Server-rendered pages: one Jinja2 environment with autoescaping, shared context."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from scaleguard import __version__
from scaleguard.web.roles import allows

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["version"] = __version__
    env.globals["allows"] = allows
    return env


def render_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    who = getattr(request.state, "principal", None)
    workspace = request.app.state.workspace
    html = (
        environment()
        .get_template(template)
        .render(
            **context,
            who=who,
            role=who.role if who is not None else None,
            csrf=who.csrf if who is not None else "",
            workspace_name=workspace.name,
            path=request.url.path,
        )
    )
    return HTMLResponse(html, status_code=status)
