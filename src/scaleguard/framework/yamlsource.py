"""Read YAML into plain Python values while remembering where every value came from.

PyYAML's ``safe_load`` forgets positions and silently keeps the last of two
duplicate keys. Framework documents are reviewed by people who need
``file:line:column`` for every problem, so we compose the node graph ourselves,
convert it with explicit limits (size, depth, alias expansion) and keep a map
from each JSON-style path to the position of its value and of its key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from scaleguard.errors import FrameworkError, Problem

PathPart = str | int
Path = tuple[PathPart, ...]

# libyaml composes ~14x faster and keeps the same marks; pure Python is the fallback.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

MAX_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 200_000


@dataclass
class SourceMap:
    """Where each value (and each mapping key) of a document sits in its file."""

    file: str
    values: dict[Path, tuple[int, int]] = field(default_factory=dict)
    keys: dict[Path, tuple[int, int]] = field(default_factory=dict)

    def locate(self, path: Sequence[PathPart], *, key: bool = False) -> tuple[int, int] | None:
        """Position of ``path``, falling back to the nearest ancestor that exists."""
        p = tuple(path)
        if key and p in self.keys:
            return self.keys[p]
        while True:
            if p in self.values:
                return self.values[p]
            if p in self.keys:
                return self.keys[p]
            if not p:
                return None
            p = p[:-1]

    def problem(
        self, path: Sequence[PathPart], message: str, hint: str = "", *, key: bool = False
    ) -> Problem:
        pos = self.locate(path, key=key)
        return Problem(
            message=message,
            hint=hint,
            file=self.file,
            line=pos[0] if pos else None,
            column=pos[1] if pos else None,
            path=json_path(path),
        )


def json_path(path: Sequence[PathPart]) -> str:
    out = "$"
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:seq", "tag:yaml.org,2002:map"})


class _Converter:
    def __init__(self, source: SourceMap) -> None:
        self.source = source
        self.constructor = SafeConstructor()
        self.nodes_seen = 0
        self.problems: list[Problem] = []

    def convert(self, node: Node, path: Path, depth: int, active: frozenset[int]) -> Any:
        self.nodes_seen += 1
        if self.nodes_seen > MAX_NODES:
            raise _TooLarge(node)
        if depth > MAX_DEPTH:
            raise _TooDeep(node)
        if id(node) in active:
            raise _Recursive(node)
        self.source.values.setdefault(path, _pos(node))
        if isinstance(node, ScalarNode):
            return self.scalar(node, path)
        if isinstance(node, SequenceNode | MappingNode) and node.tag not in _PLAIN_TAGS:
            # a tag on a mapping or list (!!set, !!omap, !custom) changes what it means
            self.problems.append(
                _problem_at(
                    self.source.file,
                    node,
                    path,
                    f"YAML tag {node.tag!r} is not allowed on a "
                    f"{'mapping' if isinstance(node, MappingNode) else 'list'}",
                    "remove the '!' tag; these documents are plain data",
                )
            )
            return None
        if isinstance(node, SequenceNode):
            inner = active | {id(node)}
            return [
                self.convert(child, (*path, i), depth + 1, inner)
                for i, child in enumerate(node.value)
            ]
        if isinstance(node, MappingNode):
            return self.mapping(node, path, depth, active | {id(node)})
        raise _Unsupported(node)  # pragma: no cover - PyYAML has only three node kinds

    def mapping(
        self, node: MappingNode, path: Path, depth: int, active: frozenset[int]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    _problem_at(
                        self.source.file,
                        key_node,
                        path,
                        "YAML merge keys ('<<') are not supported",
                        "write the keys out in full; merged mappings hide where a value came from",
                    )
                )
                continue
            if not isinstance(key_node, ScalarNode):
                self.problems.append(
                    _problem_at(
                        self.source.file,
                        key_node,
                        path,
                        "mapping keys must be plain strings",
                        "use a simple word such as 'id' or 'title' as the key",
                    )
                )
                continue
            key = str(key_node.value)
            child_path = (*path, key)
            if key in out:
                first = self.source.keys.get(child_path)
                where = f" (first defined at line {first[0]})" if first else ""
                self.problems.append(
                    _problem_at(
                        self.source.file,
                        key_node,
                        child_path,
                        f"duplicate key '{key}'{where}",
                        "remove one of the two; YAML would silently keep only the last",
                    )
                )
                continue
            self.source.keys[child_path] = _pos(key_node)
            out[key] = self.convert(value_node, child_path, depth + 1, active)
        return out

    def scalar(self, node: ScalarNode, path: Path) -> Any:
        tag = node.tag
        try:
            if tag == "tag:yaml.org,2002:null":
                return None
            if tag == "tag:yaml.org,2002:bool":
                return self.constructor.construct_yaml_bool(node)
            if tag == "tag:yaml.org,2002:int":
                return self.constructor.construct_yaml_int(node)
            if tag == "tag:yaml.org,2002:float":
                return self.constructor.construct_yaml_float(node)
        except (ConstructorError, ValueError) as exc:
            self.problems.append(
                _problem_at(self.source.file, node, path, f"bad scalar: {exc}", "check the value")
            )
            return node.value
        if tag in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"):
            # Dates stay strings: the schema parses and checks them, so a bad
            # date gets the same precise error as any other bad value.
            return str(node.value)
        if tag.startswith("tag:yaml.org,2002:"):
            self.problems.append(
                _problem_at(
                    self.source.file,
                    node,
                    path,
                    f"unsupported YAML type {tag.removeprefix('tag:yaml.org,2002:')!r}",
                    "use plain strings, numbers, booleans, lists and mappings",
                )
            )
            return node.value
        self.problems.append(
            _problem_at(
                self.source.file,
                node,
                path,
                f"custom YAML tag {tag!r} is not allowed",
                "remove the '!' tag; framework documents are plain data",
            )
        )
        return node.value


class _Stop(Exception):
    def __init__(self, node: Node) -> None:
        super().__init__()
        self.node = node


class _TooLarge(_Stop):
    pass


class _TooDeep(_Stop):
    pass


class _Recursive(_Stop):
    pass


class _Unsupported(_Stop):
    pass


def _pos(node: Node) -> tuple[int, int]:
    mark = node.start_mark
    return (mark.line + 1, mark.column + 1)


def _problem_at(file: str, node: Node, path: Path, message: str, hint: str) -> Problem:
    line, col = _pos(node)
    return Problem(
        message=message, hint=hint, file=file, line=line, column=col, path=json_path(path)
    )


def read_yaml(data: bytes | str, file: str) -> tuple[Any, SourceMap]:
    """Parse one YAML document, returning its value and its source map.

    Raises :class:`FrameworkError` listing every problem found; YAML syntax
    errors stop parsing, so they are reported alone.
    """
    source = SourceMap(file=file)
    if isinstance(data, bytes):
        if len(data) > MAX_BYTES:
            raise FrameworkError(
                f"{file}: file is {len(data):,} bytes, over the {MAX_BYTES:,}-byte limit",
                hint="a framework document is a few hundred kilobytes at most; "
                "check that this is the right file",
            )
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data[: exc.start].count(b"\n") + 1
            col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
            raise FrameworkError(
                f"{file} is not valid UTF-8",
                hint="save the file as UTF-8",
                problems=[
                    Problem(
                        f"byte 0x{data[exc.start]:02x} cannot be decoded",
                        file=file,
                        line=line,
                        column=col,
                    )
                ],
            ) from None
    else:
        text = data
        if len(text) > MAX_BYTES:
            raise FrameworkError(f"{file}: document is over the {MAX_BYTES:,}-byte limit")
    if "\x00" in text:
        raise FrameworkError(
            f"{file} contains a NUL character", hint="this looks like a binary file, not YAML"
        )
    try:
        nodes = list(yaml.compose_all(text, Loader=_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = Problem(
            message=f"YAML syntax error: {exc.problem or exc.context}",
            hint=_syntax_hint(str(exc.problem or "")),
            file=file,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        )
        raise FrameworkError(f"{file} is not valid YAML", problems=[problem]) from None
    except yaml.YAMLError as exc:
        raise FrameworkError(f"{file} is not valid YAML: {exc}") from None
    except RecursionError:
        raise FrameworkError(
            f"{file} is nested too deeply to read",
            hint=f"framework documents need at most {MAX_DEPTH} levels of nesting",
        ) from None
    if not nodes or nodes[0] is None:
        raise FrameworkError(
            f"{file} is empty", hint="a framework document starts with a 'framework:' mapping"
        )
    if len(nodes) > 1:
        raise FrameworkError(
            f"{file} holds {len(nodes)} YAML documents; expected one",
            hint="put each framework version in its own file (remove the extra '---')",
        )
    converter = _Converter(source)
    try:
        value = converter.convert(nodes[0], (), 0, frozenset())
    except _TooLarge as stop:
        raise FrameworkError(
            f"{file} expands to more than {MAX_NODES:,} values",
            hint="YAML aliases ('*name') may be expanding exponentially; write values out",
            problems=[_problem_at(file, stop.node, (), "expansion limit reached here", "")],
        ) from None
    except _TooDeep as stop:
        raise FrameworkError(
            f"{file} is nested more than {MAX_DEPTH} levels deep",
            problems=[_problem_at(file, stop.node, (), "nesting limit reached here", "")],
        ) from None
    except _Recursive as stop:
        raise FrameworkError(
            f"{file} contains a recursive alias",
            problems=[_problem_at(file, stop.node, (), "the alias refers to itself", "")],
        ) from None
    if converter.problems:
        raise FrameworkError(
            f"{file} has {len(converter.problems)} problem(s)", problems=converter.problems
        )
    return value, source


def _syntax_hint(problem: str) -> str:
    if "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "quote values that contain ': ' (for example a title with a colon)"
    if "could not find expected ':'" in problem or "simple key" in problem:
        return "each line of a mapping needs 'key: value'; check indentation and quotes"
    if "end of the stream" in problem or "found unexpected end" in problem:
        return "the file looks truncated: check that quotes and brackets are closed"
    return "check indentation and quoting around this position"


def read_listing(
    data: bytes | str, file: str, *, key: str, kind: str, example: str, limit: int, hint: str
) -> tuple[list[Any], SourceMap]:
    """Read a file of the shape ``KEY: [item, ...]`` (a models or roadmap import file).

    Every structural problem is an :class:`InputError` located in the file; the
    items themselves are left to the caller to validate.
    """
    from scaleguard.errors import InputError

    if not data.strip():
        raise InputError(f"{file} is empty", hint=f"start it with '{key}:' and a list")
    try:
        raw, source = read_yaml(data, file)
    except FrameworkError as exc:
        raise InputError(
            exc.message.replace("framework documents", f"{kind} files"),
            problems=exc.problems,
            hint=hint,
        ) from None
    if not isinstance(raw, dict) or set(raw) != {key}:
        found = sorted(str(k) for k in raw) if isinstance(raw, dict) else type(raw).__name__
        raise InputError(
            f"{file} must be a mapping with exactly one key, '{key}' (found {found})",
            problems=[source.problem((), f"expected '{key}:' followed by a list")],
            hint=hint,
        )
    items = raw[key]
    if not isinstance(items, list) or not items:
        raise InputError(
            f"{file}: '{key}' must be a non-empty list",
            problems=[source.problem((key,), f"expected a list of {key} ('- {example}: ...')")],
            hint=hint,
        )
    if len(items) > limit:
        raise InputError(f"{file} lists {len(items):,} {key}; the limit is {limit:,}")
    return items, source
