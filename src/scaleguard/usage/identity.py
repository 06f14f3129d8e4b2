"""Who the customer of a screen request is, and how serve-screen knows it.

A customer's contract tightens the policy and may grant exceptions, so the
customer a request is screened as must not be the caller's free choice.
serve-screen establishes it one of three ways (:class:`CustomerBinding`):

* ``pinned`` (``--customer NAME``): the server serves one customer; every
  request is screened as NAME and a request naming another is refused (403).
* ``api-key`` (``--customer-keys FILE``): each request carries
  ``Authorization: Bearer KEY``; the key's SHA-256 is looked up in a TOML
  file that maps key hashes to customers (:func:`parse_customer_keys`). No
  key or an unknown one is refused (401); naming another customer than the
  key's is refused (403). Every stored hash is compared, each in constant time.
* ``declared`` (neither): the customer is whatever the request names, as
  before; a caller can leave it out or name another customer.

Every screen records which of the three established its customer.
This module reads no database; :func:`check_customers` looks up contracts.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaleguard.errors import (
    Forbidden,
    InputError,
    NotFoundError,
    Problem,
    Unauthenticated,
)
from scaleguard.usage.model import ID_PATTERN

if TYPE_CHECKING:
    from scaleguard.usage.loader import LoadedPolicy
    from scaleguard.workspace.workspace import Workspace

PINNED = "pinned"
API_KEY = "api-key"
DECLARED = "declared"
CUSTOMER_HEADER = "X-Scaleguard-Customer"
HEADER_WHERE = f"header {CUSTOMER_HEADER}"
AUTH_WHERE = "header Authorization"
KEY_PREFIX = "sgk_"
MAX_KEYS_BYTES = 1_000_000
MAX_CUSTOMER_CHARS = 200
#: The largest Authorization value read (a key is about 50 characters).
MAX_KEY_CHARS = 1024
ENTRY_FIELDS = ("sha256", "customer", "label")
KEYS_HINT = (
    'each entry is [[key]] with sha256 = "<64 lower-case hex digits>" and customer = "<name>" '
    "(label optional); 'scaleguard usage customer-key NAME' prints one"
)
_HEX = re.compile(r"[0-9a-f]{64}")
_ID = re.compile(ID_PATTERN)
_TOML_POSITION = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)")
_HEADER = re.compile(r"^\s*\[\[?\s*([^\]]*?)\s*\]\]?")
_KEY_LINE = re.compile(r"^\s*(?:\"([^\"]*)\"|'([^']*)'|([A-Za-z0-9_\-]+))\s*[=.]")


class CustomerKeysError(InputError):
    """A customer-keys file that cannot be used; every problem with file:line:column."""


# -- the key file ---------------------------------------------------------------------


@dataclass(frozen=True)
class KeyEntry:
    """One API key of a customer: only the key's SHA-256 is kept."""

    sha256: bytes
    customer: str
    label: str | None
    #: Line and column of the entry's ``customer`` value, for errors found later.
    line: int
    column: int


@dataclass(frozen=True)
class CustomerKeys:
    origin: str
    entries: tuple[KeyEntry, ...]

    def customers(self) -> list[str]:
        return sorted({e.customer for e in self.entries})

    def customer_of(self, key: str) -> str | None:
        """The customer of ``key``, or None. Every entry is compared, each with
        :func:`hmac.compare_digest`, so the time taken says nothing about which hash (or
        how much of one) matched."""
        digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).digest()
        found: str | None = None
        for entry in self.entries:
            if hmac.compare_digest(digest, entry.sha256):
                found = entry.customer
        return found


def new_key() -> tuple[str, str]:
    """A fresh random API key and its SHA-256 (hex), the only part a key file keeps."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, hashlib.sha256(key.encode()).hexdigest()


def key_entry(customer: str, sha256: str, label: str | None = None) -> str:
    """The TOML entry of a key for a customer-keys file."""
    if not _ID.fullmatch(customer):
        raise InputError(
            f"{customer!r} is not a customer id",
            hint="customer ids are lower case letters, digits and . _ -, as in contracts",
        )
    lines = ["[[key]]", f'sha256 = "{sha256}"', f'customer = "{customer}"']
    if label is not None:
        lines.append(f"label = {_toml_string(_label(label, '--label'))}")
    return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def _label(value: str, where: str) -> str:
    if not value.strip() or len(value) > 200 or any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InputError(
            f"{where}: a label is 1 to 200 printable characters on one line",
            problems=[Problem("bad label", path=where)],
        )
    return value


def load_customer_keys(path: Path) -> CustomerKeys:
    """Read and validate a customer-keys file (see :func:`parse_customer_keys`)."""
    try:
        with path.open("rb") as f:
            data = f.read(MAX_KEYS_BYTES + 1)
    except OSError as exc:
        raise CustomerKeysError(
            f"cannot read the customer-keys file {path}: {exc.strerror or exc}",
            hint="give the path of a TOML file of [[key]] entries",
        ) from None
    return parse_customer_keys(data, str(path))


def _end(text: str) -> tuple[int, int]:
    lines = text.split("\n")
    return len(lines), len(lines[-1]) + 1


def _decode(data: bytes, origin: str) -> str:
    if len(data) > MAX_KEYS_BYTES:
        raise CustomerKeysError(
            f"{origin} is over {MAX_KEYS_BYTES:,} bytes",
            hint="a customer-keys file holds one short entry per key",
        )
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line, column = _end(data[: exc.start].decode("utf-8", "replace"))
        raise CustomerKeysError(
            f"{origin} is not UTF-8",
            problems=[Problem("a byte that is not UTF-8", file=origin, line=line, column=column)],
            hint="save the file as UTF-8",
        ) from None


def _parse_toml(text: str, origin: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except RecursionError:
        raise CustomerKeysError(
            f"{origin} nests arrays or tables too deeply", hint=KEYS_HINT
        ) from None
    except ValueError as exc:  # tomllib.TOMLDecodeError and the values it cannot read
        where = _TOML_POSITION.search(str(exc))
        if where and where.group(1):
            line, column = int(where.group(1)), int(where.group(2))
        else:
            line, column = _end(text)
        message = _TOML_POSITION.sub("", str(exc)).strip() or "not valid TOML"
        raise CustomerKeysError(
            f"{origin} is not valid TOML",
            problems=[Problem(message, file=origin, line=line, column=column)],
            hint="strings need double quotes; each entry starts with a [[key]] line",
        ) from None


class _Locator:
    """Lines and columns of ``[[key]]`` entries and their fields (tomllib keeps none).
    Best effort: a place it cannot find is the entry's header, else line 1."""

    def __init__(self, text: str) -> None:
        self.lines = text.split("\n")
        #: line numbers of each ``[[key]]`` header, in order
        self.headers: list[int] = []
        self.tops: dict[str, tuple[int, int]] = {}
        in_top = True
        for n, line in enumerate(self.lines, start=1):
            header = _HEADER.match(line)
            if header:
                in_top = False
                name = header.group(1).strip().strip("\"'")
                if line.lstrip().startswith("[[") and name == "key":
                    self.headers.append(n)
                root = name.split(".", 1)[0].strip().strip("\"'")
                self.tops.setdefault(root, (n, line.index("[") + 1))
                continue
            key = _KEY_LINE.match(line)
            if in_top and key:
                name = next(g for g in key.groups() if g is not None)
                self.tops.setdefault(name, (n, len(line) - len(line.lstrip()) + 1))

    def top(self, name: str) -> tuple[int, int]:
        return self.tops.get(name, (1, 1))

    def entry(self, index: int, name: str | None = None) -> tuple[int, int]:
        if index >= len(self.headers):
            return self.top("key")
        start = self.headers[index]
        if name is not None:
            stop = self.headers[index + 1] if index + 1 < len(self.headers) else len(self.lines) + 1
            for n in range(start + 1, stop):
                line = self.lines[n - 1]
                if _HEADER.match(line):
                    break
                key = _KEY_LINE.match(line)
                if key and name in key.groups():
                    return n, len(line) - len(line.lstrip()) + 1
        return start, self.lines[start - 1].index("[") + 1


def parse_customer_keys(data: bytes, origin: str) -> CustomerKeys:
    """Validate the bytes of a customer-keys file; CustomerKeysError lists every problem.

    The file is ``[[key]]`` entries, each ``sha256`` (64 lower-case hex digits: the
    SHA-256 of the key), ``customer`` (a contract's customer id) and an optional
    ``label``. Unknown fields, a hash given twice and a file without entries are errors.
    """
    text = _decode(data, origin)
    raw = _parse_toml(text, origin)
    where = _Locator(text)
    problems: list[Problem] = []

    def problem(message: str, at: tuple[int, int], path: str, hint: str = KEYS_HINT) -> None:
        problems.append(Problem(message, hint, file=origin, line=at[0], column=at[1], path=path))

    for name in raw:
        if name != "key":
            problem(f"unknown field {name!r}", where.top(name), f"$.{name}")
    items = raw.get("key", [])
    if not isinstance(items, list):
        problem("'key' must be a list of [[key]] entries", where.top("key"), "$.key")
        items = []
    entries: list[KeyEntry] = []
    seen: dict[bytes, int] = {}
    for i, item in enumerate(items):
        path = f"$.key[{i}]"
        if not isinstance(item, dict):
            problem("each key entry must be a table", where.entry(i), path)
            continue
        for name in item:
            if name not in ENTRY_FIELDS:
                problem(f"unknown field {name!r}", where.entry(i, name), f"{path}.{name}")
        sha, customer, label = item.get("sha256"), item.get("customer"), item.get("label")
        if sha is None:
            problem("missing sha256", where.entry(i), f"{path}.sha256")
        elif not isinstance(sha, str) or not _HEX.fullmatch(sha):
            problem(
                "sha256 must be 64 lower-case hex digits (the SHA-256 of the key)",
                where.entry(i, "sha256"),
                f"{path}.sha256",
                "keep the value 'scaleguard usage customer-key' printed, never the key itself",
            )
            sha = None
        if customer is None:
            problem("missing customer", where.entry(i), f"{path}.customer")
        elif not isinstance(customer, str) or not _ID.fullmatch(customer):
            problem(
                f"customer must be a customer id, got {customer!r}"[:300],
                where.entry(i, "customer"),
                f"{path}.customer",
                "lower case letters, digits and . _ -, as in the customer's contract",
            )
            customer = None
        if label is not None:
            try:
                _label(label if isinstance(label, str) else "", f"{path}.label")
            except InputError as exc:
                problem(exc.message, where.entry(i, "label"), f"{path}.label")
        if not isinstance(sha, str) or not isinstance(customer, str):
            continue
        digest = bytes.fromhex(sha)
        if digest in seen:
            problem(
                f"the same key hash is also entry {seen[digest] + 1}",
                where.entry(i, "sha256"),
                f"{path}.sha256",
                "a key belongs to one customer: remove the duplicate entry",
            )
            continue
        seen[digest] = i
        line, column = where.entry(i, "customer")
        entries.append(KeyEntry(digest, customer, label, line, column))
    if not problems and not entries:
        problem("no [[key]] entries: no request could be served", (1, 1), "$.key")
    if problems:
        raise CustomerKeysError(
            f"{origin}: {len(problems)} problem(s) in the customer-keys file",
            problems=sorted(problems, key=lambda p: (p.line or 0, p.column or 0)),
            hint="serve-screen does not start with a customer-keys file it cannot fully use",
        )
    return CustomerKeys(origin, tuple(entries))


# -- establishing the customer of a request ----------------------------------------------


@dataclass(frozen=True)
class Claim:
    """A customer a request names, and where: a header or a JSON path of its body."""

    value: Any
    where: str


@dataclass(frozen=True)
class Identity:
    """The customer a request is screened as (None: the policy alone) and how it was set."""

    customer: str | None
    how: str


def _claimed(claims: Sequence[Claim]) -> list[tuple[str, str]]:
    """The customers the request names, each with where; InputError when one is not a
    customer id."""
    named: list[tuple[str, str]] = []
    for claim in claims:
        value = claim.value
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_CUSTOMER_CHARS:
            raise InputError(
                f"{claim.where} must be a customer id",
                hint="name the customer of the contract, or leave it out",
                problems=[Problem("not a customer id", path=claim.where)],
            )
        named.append((value, claim.where))
    return named


@dataclass(frozen=True)
class CustomerBinding:
    """How serve-screen establishes each request's customer (see the module docstring)."""

    how: str = DECLARED
    pinned: str | None = None
    keys: CustomerKeys | None = field(default=None, repr=False)

    @classmethod
    def pin(cls, customer: str) -> CustomerBinding:
        return cls(PINNED, pinned=customer)

    @classmethod
    def by_keys(cls, keys: CustomerKeys) -> CustomerBinding:
        return cls(API_KEY, keys=keys)

    def customers(self) -> list[str]:
        """The customers this server may screen as (empty: any, as declared)."""
        if self.pinned is not None:
            return [self.pinned]
        return self.keys.customers() if self.keys is not None else []

    def authenticate(self, authorization: Sequence[str]) -> Identity:
        """The customer established before the body is read (from the ``Authorization``
        header values of the request); Unauthenticated (401) when a key is required and
        not valid."""
        if self.how == PINNED and self.pinned is not None:
            return Identity(self.pinned, PINNED)
        if self.how != API_KEY:
            return Identity(None, DECLARED)
        assert self.keys is not None
        hint = "send 'Authorization: Bearer KEY' with the API key you were given"
        if not authorization:
            raise Unauthenticated(
                "an API key is required", hint=hint, problems=[Problem("missing", path=AUTH_WHERE)]
            )
        scheme, _, key = authorization[0].strip().partition(" ")
        key = key.strip()
        if (
            len(authorization) != 1
            or scheme.lower() != "bearer"
            or not key
            or len(key) > MAX_KEY_CHARS
        ):
            raise Unauthenticated(
                "the Authorization header is not one 'Bearer KEY'",
                hint=hint,
                problems=[Problem("malformed", path=AUTH_WHERE)],
            )
        customer = self.keys.customer_of(key)
        if customer is None:
            raise Unauthenticated(
                "unknown API key",
                hint=hint + "; ask the operator for a new key if it was replaced",
                problems=[Problem("unknown key", path=AUTH_WHERE)],
            )
        return Identity(customer, API_KEY)

    def settle(self, established: Identity, claims: Sequence[Claim]) -> Identity:
        """The request's identity given what it names: the established customer, which a
        claim may repeat but not contradict (Forbidden, 403); as declared otherwise."""
        named = _claimed(claims)
        if established.how == DECLARED:
            for value, where in named[1:]:
                if value != named[0][0]:
                    raise InputError(
                        f"{named[0][1]} names customer {named[0][0]!r} but {where} names {value!r}",
                        hint="name the customer once",
                        problems=[Problem("conflicting customers", path=where)],
                    )
            return Identity(named[0][0] if named else None, DECLARED)
        for value, where in named:
            if value != established.customer:
                because = (
                    "this server screens every request as"
                    if established.how == PINNED
                    else "your API key belongs to"
                )
                raise Forbidden(
                    f"{where} names customer {value!r}, but {because} "
                    f"customer {established.customer!r}",
                    hint=f"leave the customer out, or name {established.customer!r}",
                    problems=[Problem("another customer", path=where)],
                )
        return established


def check_customers(binding: CustomerBinding, ws: Workspace | None, policy: LoadedPolicy) -> None:
    """Before serving: every customer the binding may screen as has an accepted contract that
    passes its ledger row check and is valid under ``policy``. A problem of a keys file's
    customer is reported at its entry (file:line:column)."""
    from scaleguard.usage.contracts import RefusedContract
    from scaleguard.usage.service import customer_contract

    customers = binding.customers()
    if not customers:
        return
    option = "--customer" if binding.how == PINNED else "--customer-keys"
    if ws is None:
        raise InputError(
            f"{option} needs a workspace: the customers' contracts are kept there",
            hint="start serve-screen inside a workspace, or give --workspace",
        )
    problems: list[Problem] = []
    for customer in customers:
        try:
            customer_contract(ws, customer, policy)
        except (NotFoundError, RefusedContract) as exc:
            if binding.keys is None:
                raise InputError(
                    f"{option} {customer}: {exc.message}", hint=exc.hint, problems=exc.problems
                ) from None
            for entry in binding.keys.entries:
                if entry.customer == customer:
                    problems.append(
                        Problem(
                            f"customer {customer!r}: {exc.message}",
                            exc.hint,
                            file=binding.keys.origin,
                            line=entry.line,
                            column=entry.column,
                        )
                    )
    if problems:
        raise CustomerKeysError(
            f"{option}: {len(problems)} key(s) for customers without a usable contract",
            problems=problems,
            hint="add the customer's contract with 'scaleguard usage contracts add', "
            "or remove its keys",
        )
