"""What an OpenAI-style chat request lets the upstream model read, as texts to screen.

The proxy forwards a request only when every string the model can read was
screened, so this module knows the chat-completions body exactly and refuses
whatever it does not know: a role, a content-part type, a key at any level,
a value of the wrong type. A refusal names the JSON path and says what the
proxy accepts. Images, audio and files are refused too: the screen reads text.

What becomes a screened text (a :class:`Unit`):

* each message: every string in it, joined by newlines (content or its text
  and refusal parts, ``name``, ``refusal``, tool-call ids, names and
  arguments, ``tool_call_id``). One unit per message keeps each text the size
  of one request, which is what the screen's thresholds were calibrated on,
  and lets a decoding the screen applies to a whole text (rot13) see a whole
  message; the cost is the same as one joined text, since the embedding model
  reads every text in windows anyway and the units of a request go in one batch.
* each free-text option outside the messages: ``tools`` and ``functions``
  (names, descriptions, every key and string of the parameter schemas),
  ``response_format`` (its schema likewise), ``prediction``, ``stop`` and
  ``metadata``.

Identifiers that are not model input (``model``, ``user``, a tool choice's
function name, ``service_tier``…) are not screened but must look like
identifiers (no spaces, at most 128 characters), so no prose travels in them.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from scaleguard.errors import InputError, Problem

IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/@+\-]{0,127}")
#: Per role: the keys a message may have, and the content-part types it may use.
ROLE_KEYS: dict[str, frozenset[str]] = {
    "system": frozenset({"role", "content", "name"}),
    "developer": frozenset({"role", "content", "name"}),
    "user": frozenset({"role", "content", "name"}),
    "assistant": frozenset({"role", "content", "name", "refusal", "tool_calls", "function_call"}),
    "tool": frozenset({"role", "content", "tool_call_id"}),
    "function": frozenset({"role", "content", "name"}),
}
PART_TYPES: dict[str, frozenset[str]] = {
    "assistant": frozenset({"text", "refusal"}),
}
UNREADABLE_PARTS = frozenset({"image_url", "input_audio", "file"})
NUMBERS = frozenset({"temperature", "top_p", "presence_penalty", "frequency_penalty"})
INTEGERS = frozenset({"n", "max_tokens", "max_completion_tokens", "seed", "top_logprobs"})
FLAGS = frozenset({"logprobs", "parallel_tool_calls", "store", "stream"})
IDENTIFIERS = frozenset(
    {"model", "user", "safety_identifier", "prompt_cache_key", "service_tier"}
    | {"reasoning_effort", "verbosity"}
)
SCHEMAS = frozenset({"tools", "functions", "response_format"})
OTHERS = frozenset(
    {"messages", "modalities", "audio", "logit_bias", "stop", "metadata", "prediction"}
    | {"tool_choice", "function_call"}
)
TOP_LEVEL = NUMBERS | INTEGERS | FLAGS | IDENTIFIERS | SCHEMAS | OTHERS
HINT = (
    "the screening proxy forwards only what it can screen: OpenAI chat-completions fields, "
    "roles system, developer, user, assistant, tool and function, and text content"
)


@dataclass(frozen=True)
class Unit:
    """One screened text and the JSON path of what it was read from."""

    path: str
    text: str


def _refuse(path: str, message: str, hint: str = HINT) -> InputError:
    return InputError(f"{path}: {message}", hint=hint, problems=[Problem(message, path=path)])


def _object(value: Any, path: str, allowed: frozenset[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _refuse(path, f"expected an object, got {type(value).__name__}")
    for key in value:
        if key not in allowed:
            raise _refuse(
                f"{path}.{key}",
                f"unknown key {key!r}: it would reach the model unscreened",
                hint=f"keys accepted here: {', '.join(sorted(allowed))}",
            )
    return value


def _string(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise _refuse(path, f"expected a string, got {type(value).__name__}")
    return value


def _identifier(value: Any, path: str) -> None:
    if value is None:
        return
    if not isinstance(value, str) or not IDENTIFIER.fullmatch(value):
        raise _refuse(
            path,
            "expected an identifier (letters, digits and ._:/@+-, at most 128 characters)",
            hint="identifiers are not screened, so they may not carry text",
        )


def _mapping(value: Any, path: str) -> dict[str, Any]:
    """An object whose keys are data (metadata, logit bias), not field names."""
    if not isinstance(value, dict):
        raise _refuse(path, f"expected an object, got {type(value).__name__}")
    return value


def _list(value: Any, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise _refuse(path, f"expected a list, got {type(value).__name__}")
    return value


def _json_strings(value: Any, path: str) -> Iterator[str]:
    """Every key and string of a JSON value (a schema): all of it can reach the model."""
    stack = [(value, path)]
    while stack:
        item, where = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            for key, sub in reversed(list(item.items())):
                yield key
                stack.append((sub, f"{where}.{key}"))
        elif isinstance(item, list):
            stack.extend((sub, f"{where}[{i}]") for i, sub in reversed(list(enumerate(item))))
        elif item is not None and not isinstance(item, bool | int | float):
            raise _refuse(where, f"unexpected {type(item).__name__}")


def _content(value: Any, path: str, role: str) -> Iterator[str]:
    if value is None:
        if role in ("assistant", "function"):
            return
        raise _refuse(path, f"a {role} message needs content")
    if isinstance(value, str):
        yield value
        return
    if not isinstance(value, list):
        raise _refuse(path, "expected a string or a list of content parts")
    allowed = PART_TYPES.get(role, frozenset({"text"}))
    for i, part in enumerate(value):
        where = f"{path}[{i}]"
        if not isinstance(part, dict):
            raise _refuse(where, "expected a content part object")
        kind = part.get("type")
        if kind not in allowed:
            why = (
                "the screen reads text only, so it cannot vouch for this part"
                if kind in UNREADABLE_PARTS
                else f"unknown content-part type {kind!r} for a {role} message"
            )
            raise _refuse(
                f"{where}.type",
                why,
                hint=f"a {role} message takes parts: {', '.join(sorted(allowed))}",
            )
        field = str(kind)
        _object(part, where, frozenset({"type", field}))
        if field not in part:
            raise _refuse(f"{where}.{field}", f"a {field} part needs its {field!r} string")
        yield _string(part[field], f"{where}.{field}")


def _call(value: Any, path: str) -> Iterator[str]:
    call = _object(value, path, frozenset({"name", "arguments"}))
    for key in ("name", "arguments"):
        if key in call:
            yield _string(call[key], f"{path}.{key}")


def _message(message: Any, path: str) -> Iterator[str]:
    if not isinstance(message, dict):
        raise _refuse(path, "expected a message object")
    role = message.get("role")
    if not isinstance(role, str) or role not in ROLE_KEYS:
        raise _refuse(
            f"{path}.role",
            f"unknown role {role!r}: a message the proxy does not know is not forwarded",
            hint=f"roles accepted: {', '.join(ROLE_KEYS)}",
        )
    _object(message, path, ROLE_KEYS[role])
    if role != "assistant" or "content" in message:
        yield from _content(message.get("content"), f"{path}.content", role)
    for key in ("name", "refusal", "tool_call_id"):
        if message.get(key) is not None:
            yield _string(message[key], f"{path}.{key}")
    if message.get("function_call") is not None:
        yield from _call(message["function_call"], f"{path}.function_call")
    for i, call in enumerate(_list(message.get("tool_calls") or [], f"{path}.tool_calls")):
        where = f"{path}.tool_calls[{i}]"
        if not isinstance(call, dict) or call.get("type", "function") != "function":
            kind = call.get("type") if isinstance(call, dict) else None
            raise _refuse(f"{where}.type", f"unknown tool-call type {kind!r}")
        found = _object(call, where, frozenset({"id", "type", "function"}))
        if "id" in found:
            yield _string(found["id"], f"{where}.id")
        yield from _call(found.get("function"), f"{where}.function")


def _tools(value: Any, path: str) -> Iterator[str]:
    for i, tool in enumerate(_list(value, path)):
        where = f"{path}[{i}]"
        if not isinstance(tool, dict) or tool.get("type") != "function":
            kind = tool.get("type") if isinstance(tool, dict) else None
            raise _refuse(f"{where}.type", f"unknown tool type {kind!r}")
        found = _object(tool, where, frozenset({"type", "function"}))
        yield from _json_strings(found.get("function"), f"{where}.function")


def _choice(value: Any, path: str) -> None:
    """``tool_choice`` / ``function_call``: a mode or a function's name."""
    if isinstance(value, str):
        _identifier(value, path)
        return
    found = _object(value, path, frozenset({"type", "function", "name"}))
    _identifier(found.get("type"), f"{path}.type")
    _identifier(found.get("name"), f"{path}.name")
    if found.get("function") is not None:
        inner = _object(found["function"], f"{path}.function", frozenset({"name"}))
        _identifier(inner.get("name"), f"{path}.function.name")


def _option(key: str, value: Any) -> Iterator[str]:
    """The strings of one top-level option that can reach the model (checked as it goes)."""
    path = f"$.{key}"
    if value is None:
        return
    if key in NUMBERS and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise _refuse(path, "expected a number")
    if key in INTEGERS and (isinstance(value, bool) or not isinstance(value, int)):
        raise _refuse(path, "expected an integer")
    if key in FLAGS and not isinstance(value, bool):
        raise _refuse(path, "expected true or false")
    if key in IDENTIFIERS:
        _identifier(value, path)
    elif key in ("tools", "functions"):
        if key == "tools":
            yield from _tools(value, path)
        else:
            yield from _json_strings(_list(value, path), path)
    elif key == "response_format":
        found = _object(value, path, frozenset({"type", "json_schema"}))
        _identifier(found.get("type"), f"{path}.type")
        yield from _json_strings(found.get("json_schema"), f"{path}.json_schema")
    elif key == "prediction":
        found = _object(value, path, frozenset({"type", "content"}))
        if found.get("type") != "content":
            raise _refuse(f"{path}.type", f"unknown prediction type {found.get('type')!r}")
        yield from _content(found.get("content"), f"{path}.content", "system")
    elif key == "stop":
        items = [value] if isinstance(value, str) else _list(value, path)
        yield from (_string(s, f"{path}[{i}]") for i, s in enumerate(items))
    elif key == "metadata":
        for name, text in _mapping(value, path).items():
            yield name
            yield _string(text, f"{path}.{name}")
    elif key in ("tool_choice", "function_call"):
        _choice(value, path)
    elif key == "modalities":
        for i, item in enumerate(_list(value, path)):
            _identifier(item, f"{path}[{i}]")
    elif key == "audio":
        for name, item in _object(value, path, frozenset({"voice", "format"})).items():
            _identifier(item, f"{path}.{name}")
    elif key == "logit_bias":
        for token, weight in _mapping(value, path).items():
            if (
                not token.isdigit()
                or isinstance(weight, bool)
                or not isinstance(weight, int | float)
            ):
                raise _refuse(f"{path}.{token}", "expected a token id mapped to a number")


def screen_units(body: dict[str, Any]) -> list[Unit]:
    """Every text of ``body`` the upstream model can read, or InputError naming what is not
    understood. Whitespace-only texts are left out (there is nothing to screen in them)."""
    for key in body:
        if key not in TOP_LEVEL:
            hint = (
                "name the customer in the X-Scaleguard-Customer header"
                if key == "customer"
                else f"{HINT}; remove it or ask for the proxy to learn it"
            )
            raise _refuse(
                f"$.{key}", f"unknown key {key!r}: it would reach the model unscreened", hint
            )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise _refuse("$.messages", "'messages' must be a non-empty list")
    units: list[Unit] = []
    for i, message in enumerate(messages):
        units.append(Unit(f"$.messages[{i}]", "\n".join(_message(message, f"$.messages[{i}]"))))
    if not any(m.get("role") == "user" for m in messages):
        raise _refuse("$.messages", "no user message to screen")
    for key, value in body.items():
        if key != "messages":
            units.append(Unit(f"$.{key}", "\n".join(_option(key, value))))
    return [u for u in units if u.text.strip()]
