"""One real screener per test process: the MiniLM ONNX model from the installed wheel."""

from __future__ import annotations

import json
from functools import cache
from http.server import BaseHTTPRequestHandler
from typing import Any

from scaleguard.usage.embed import Embedder, load_embedder
from scaleguard.usage.loader import load_policy
from scaleguard.usage.screen import Screener


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
