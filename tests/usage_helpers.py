"""One real screener per test process (the MiniLM ONNX model from the installed wheel), a
fake chat endpoint, and a workspace with two customers' contracts."""

from __future__ import annotations

import json
from functools import cache
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from scaleguard.demo.usage import GOV_CONTRACT
from scaleguard.usage.embed import Embedder, load_embedder
from scaleguard.usage.loader import load_policy
from scaleguard.usage.screen import Screener
from scaleguard.usage.service import add_contract
from scaleguard.workspace import init_workspace, open_workspace
from scaleguard.workspace.workspace import Workspace


@cache
def embedder() -> Embedder:
    return load_embedder()


@cache
def screener() -> Screener:
    return Screener(load_policy(), embedder())


class ChatEndpoint(BaseHTTPRequestHandler):
    """A local stand-in for an OpenAI-compatible chat endpoint (a remote model cannot run
    here): each POST's JSON body goes to :meth:`reply`, whose answer is sent back as JSON."""

    def reply(self, body: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        data = json.dumps(self.reply(body)).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


#: acme's contract: gov-agency's, under another customer's name.
ACME_CONTRACT = GOV_CONTRACT.replace("customer: gov-agency", "customer: acme")


def two_customers(tmp_path: Path, store_url: str | None = None) -> Workspace:
    """A new workspace in tmp_path/ws with accepted contracts for acme and gov-agency."""
    init_workspace(tmp_path / "ws", name="two customers", db_url=store_url).close()
    ws = open_workspace(tmp_path / "ws")
    policy = load_policy()
    for name, text in (("acme", ACME_CONTRACT), ("gov", GOV_CONTRACT)):
        (tmp_path / f"{name}.yaml").write_text(text)
        add_contract(ws, tmp_path / f"{name}.yaml", policy=policy, by="sales")
    return ws
