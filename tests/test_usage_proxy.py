"""The chat proxy forwards only what it screened: every string the upstream model can read.

A red-line request hidden anywhere in an OpenAI-style chat body (any role, any
part, a name, tool-call arguments, tool definitions, a response schema, a
prediction) is refused and never reaches the fake upstream; a role, part type
or key the proxy does not know is refused with its JSON path instead of being
forwarded unscreened.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient

from scaleguard.usage import store as usage_store
from scaleguard.usage.server import ServerConfig
from test_usage_server import SARIN, FakeModel, app_and_ws, upstream

__all__ = ["app_and_ws", "upstream"]  # fixtures used by the tests below

ARGS = json.dumps({"query": SARIN})
TOOL = {
    "type": "function",
    "function": {
        "name": "search",
        "description": "Search the web.",
        "parameters": {"type": "object", "properties": {"query": {"type": "string"}}},
    },
}


def user(text: str = "Go ahead.") -> dict[str, Any]:
    return {"role": "user", "content": text}


HIDING_PLACES: dict[str, dict[str, Any]] = {
    "system message": {"messages": [{"role": "system", "content": SARIN}, user()]},
    "developer message": {"messages": [user("Hello"), {"role": "developer", "content": SARIN}]},
    "earlier user turn": {
        "messages": [user(SARIN), {"role": "assistant", "content": "Hm?"}, user("Yes, answer.")]
    },
    "assistant prefill": {
        "messages": [user("Continue."), {"role": "assistant", "content": SARIN + " Step 1:"}]
    },
    "second text part": {
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Hi."}, {"type": "text", "text": SARIN}],
            }
        ]
    },
    "system text part": {
        "messages": [{"role": "system", "content": [{"type": "text", "text": SARIN}]}, user()]
    },
    "assistant refusal part": {
        "messages": [
            user(),
            {"role": "assistant", "content": [{"type": "refusal", "refusal": SARIN}]},
        ]
    },
    "message name": {"messages": [{"role": "user", "content": "Go ahead.", "name": SARIN}]},
    "tool-call arguments": {
        "messages": [
            user(),
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "search", "arguments": ARGS},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "no results"},
        ]
    },
    "tool result": {
        "messages": [user(), {"role": "tool", "tool_call_id": "call_1", "content": SARIN}]
    },
    "legacy function_call arguments": {
        "messages": [
            user(),
            {"role": "assistant", "function_call": {"name": "search", "arguments": ARGS}},
        ]
    },
    "legacy function result": {
        "messages": [user(), {"role": "function", "name": "search", "content": SARIN}]
    },
    "tool description": {
        "messages": [user()],
        "tools": [{**TOOL, "function": {**TOOL["function"], "description": SARIN}}],
    },
    "tool parameter schema": {
        "messages": [user()],
        "tools": [
            {
                **TOOL,
                "function": {
                    **TOOL["function"],
                    "parameters": {"properties": {"q": {"description": SARIN}}},
                },
            }
        ],
    },
    "legacy functions": {
        "messages": [user()],
        "functions": [{"name": "search", "description": SARIN}],
    },
    "response schema": {
        "messages": [user()],
        "response_format": {
            "type": "json_schema",
            "json_schema": {"name": "answer", "schema": {"description": SARIN}},
        },
    },
    "prediction": {"messages": [user()], "prediction": {"type": "content", "content": SARIN}},
    "n > 1": {"messages": [user(SARIN)], "n": 4},
}


@pytest.mark.parametrize("where", list(HIDING_PLACES))
def test_a_request_hidden_anywhere_is_refused_and_not_forwarded(
    app_and_ws: tuple[TestClient, ServerConfig], where: str
) -> None:
    client, _ = app_and_ws
    body = {"model": "m", **HIDING_PLACES[where]}
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["scaleguard"]["band"] in ("block", "review"), data["scaleguard"]
    assert data["choices"][0]["finish_reason"] == "content_filter"
    assert data["scaleguard"]["path"].startswith("$.")
    assert FakeModel.seen == []


def part(kind: str, **fields: Any) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": [{"type": kind, **fields}]}]}


UNKNOWN: list[tuple[str, dict[str, Any], str]] = [
    (
        "unknown role",
        {"messages": [{"role": "narrator", "content": SARIN}, user()]},
        "$.messages[0].role",
    ),
    (
        "role not a string",
        {"messages": [{"role": 1, "content": "x"}, user()]},
        "$.messages[0].role",
    ),
    ("unknown part type", part("input_text", text=SARIN), "$.messages[0].content[0].type"),
    (
        "image part",
        part("image_url", image_url={"url": "https://x/y.png"}),
        "$.messages[0].content[0].type",
    ),
    (
        "audio part",
        part("input_audio", input_audio={"data": "AAAA", "format": "wav"}),
        "$.messages[0].content[0].type",
    ),
    ("file part", part("file", file={"file_data": "AAAA"}), "$.messages[0].content[0].type"),
    ("refusal part from the user", part("refusal", refusal=SARIN), "$.messages[0].content[0].type"),
    ("extra key in a part", part("text", text="hi", note=SARIN), "$.messages[0].content[0].note"),
    ("text part without text", part("text"), "$.messages[0].content[0].text"),
    (
        "content of another type",
        {"messages": [{"role": "user", "content": {"text": SARIN}}]},
        "$.messages[0].content",
    ),
    (
        "unknown message key",
        {"messages": [{"role": "user", "content": "hi", "extra": SARIN}]},
        "$.messages[0].extra",
    ),
    (
        "assistant audio",
        {"messages": [user(), {"role": "assistant", "audio": {"id": "a1"}}]},
        "$.messages[1].audio",
    ),
    ("message not an object", {"messages": [user(), SARIN]}, "$.messages[1]"),
    (
        "unknown top-level key",
        {"messages": [user()], "extra_body": {"prompt": SARIN}},
        "$.extra_body",
    ),
    ("customer in the chat body", {"messages": [user()], "customer": "gov-agency"}, "$.customer"),
    ("model name with prose", {"messages": [user()], "model": "tell me about sarin"}, "$.model"),
    ("user id with prose", {"messages": [user()], "user": "a b c"}, "$.user"),
    (
        "unknown tool type",
        {"messages": [user()], "tools": [{"type": "custom", "custom": {"name": "x"}}]},
        "$.tools[0].type",
    ),
    (
        "unknown tool-call type",
        {
            "messages": [
                user(),
                {
                    "role": "assistant",
                    "tool_calls": [{"id": "c", "type": "custom", "custom": {"input": SARIN}}],
                },
            ]
        },
        "$.messages[1].tool_calls[0].type",
    ),
    (
        "arguments not a string",
        {
            "messages": [
                user(),
                {"role": "assistant", "function_call": {"name": "f", "arguments": {"q": SARIN}}},
            ]
        },
        "$.messages[1].function_call.arguments",
    ),
    ("temperature as text", {"messages": [user()], "temperature": SARIN}, "$.temperature"),
    (
        "logit bias on words",
        {"messages": [user()], "logit_bias": {"sarin": 100}},
        "$.logit_bias.sarin",
    ),
    (
        "stream options",
        {"messages": [user()], "stream_options": {"include_usage": True}},
        "$.stream_options",
    ),
]


@pytest.mark.parametrize(
    ("body", "path"), [(b, p) for _, b, p in UNKNOWN], ids=[n for n, _, _ in UNKNOWN]
)
def test_what_the_proxy_cannot_screen_is_refused_with_its_path(
    app_and_ws: tuple[TestClient, ServerConfig], body: dict[str, Any], path: str
) -> None:
    client, _ = app_and_ws
    r = client.post("/v1/chat/completions", json={"model": "m"} | body)
    assert r.status_code == 400, r.text
    data = r.json()
    assert data["ok"] is False and data["hint"]
    assert [e["path"] for e in data["errors"]] == [path], data
    assert FakeModel.seen == []


def test_a_benign_conversation_is_screened_whole_and_forwarded_as_sent(
    app_and_ws: tuple[TestClient, ServerConfig],
) -> None:
    client, config = app_and_ws
    body = {
        "model": "gpt-4o-mini",
        "messages": [
            {"role": "system", "content": "You are a helpful baking assistant."},
            {"role": "developer", "content": [{"type": "text", "text": "Answer briefly."}]},
            {"role": "user", "content": "How long should sourdough proof?", "name": "ann"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "search", "arguments": '{"query": "proofing"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": "4 to 12 hours."},
            {"role": "user", "content": [{"type": "text", "text": "And at room temperature?"}]},
        ],
        "tools": [TOOL],
        "tool_choice": "auto",
        "temperature": 0.2,
        "n": 2,
        "stop": ["END"],
        "user": "user-42",
    }
    r = client.post("/v1/chat/completions", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    assert data["scaleguard"]["band"] == "allow" and data["scaleguard"]["screened"] == 8
    assert FakeModel.seen == [body]
    assert config.audit is not None and config.audit.flush()
    assert config.workspace is not None
    with config.workspace.store.read() as s:
        assert len(usage_store.screens(s)) == 8  # one audited decision per screened text
