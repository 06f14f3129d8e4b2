"""Users, sessions, API tokens and failed sign-ins, in the workspace database.

Passwords are hashed with argon2id; session ids and API tokens are random
secrets of which only the SHA-256 is stored, so a copy of the database signs
nobody in. Every function takes the workspace's :class:`~scaleguard.store.Store`.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import ClassVar

from sqlalchemy import delete, func, insert, select, update

from scaleguard.errors import ConflictError, InputError, NotFoundError
from scaleguard.store import Store
from scaleguard.store.tables_web import (
    WebLoginFailureRow,
    WebSessionRow,
    WebTokenRow,
    WebUserRow,
)
from scaleguard.web.roles import ROLES, SCOPES, Role, Scope

SESSION_LIFETIME = timedelta(hours=12)
#: Failed sign-ins allowed per user name within :data:`FAILURE_WINDOW`.
MAX_FAILURES = 5
#: Failed sign-ins allowed per client address (any user names) within the window.
MAX_ADDRESS_FAILURES = 20
FAILURE_WINDOW = timedelta(minutes=15)
TOKEN_PREFIX = "sgt_"
_NAME_RE = re.compile(r"[^\x00-\x1f\x7f]{1,100}")
_DURATION_RE = re.compile(r"([1-9][0-9]{0,3})([dh])")


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: Role
    disabled: bool
    created_at: str


@dataclass(frozen=True)
class Principal:
    """Who is calling: a signed-in user (session) or a token holder."""

    user: User
    via: str  # "session" or "token"
    scope: Scope
    csrf: str = ""

    @property
    def name(self) -> str:
        return self.user.name

    @property
    def role(self) -> Role:
        return self.user.role


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _fmt(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def hash_password(password: str) -> str:
    from argon2 import PasswordHasher

    return PasswordHasher().hash(password)


def _check_password(stored: str, password: str) -> bool:
    from argon2 import PasswordHasher
    from argon2.exceptions import InvalidHashError, VerificationError

    try:
        return bool(PasswordHasher().verify(stored, password))
    except (VerificationError, InvalidHashError):
        return False


#: A valid argon2 hash of a random password: checked when the user does not exist, so
#: a wrong name costs as long as a wrong password.
_DUMMY: list[str] = []


def _dummy_hash() -> str:
    if not _DUMMY:
        _DUMMY.append(hash_password(secrets.token_urlsafe(16)))
    return _DUMMY[0]


def valid_name(name: str) -> str:
    if not _NAME_RE.fullmatch(name) or name != name.strip():
        raise InputError(
            f"invalid user name {name[:120]!r}",
            hint="use 1 to 100 characters, no control characters, no leading or trailing spaces",
        )
    return name


def parse_role(text: str) -> Role:
    if text not in ROLES:
        raise InputError(f"unknown role {text!r}", hint="use one of: " + ", ".join(ROLES))
    return text


def parse_scope(text: str) -> Scope:
    if text not in SCOPES:
        raise InputError(f"unknown scope {text!r}", hint="use read or write")
    return text


def parse_duration(text: str) -> timedelta:
    """``90d`` or ``12h``: how long a token lives (at most 9999 days)."""
    match = _DURATION_RE.fullmatch(text.strip())
    if match is None:
        raise InputError(
            f"invalid duration {text!r}", hint="write a number of days or hours: 90d, 12h"
        )
    amount = int(match.group(1))
    return timedelta(days=amount) if match.group(2) == "d" else timedelta(hours=amount)


def _user(row: WebUserRow) -> User:
    return User(row.id, row.name, parse_role(row.role), bool(row.disabled), row.created_at)


def add_user(store: Store, name: str, role: str, *, by: str) -> tuple[User, str]:
    """Create a user; returns it with a one-time password (shown once, stored hashed)."""
    valid_name(name)
    chosen = parse_role(role)
    password = secrets.token_urlsafe(15)
    hashed = hash_password(password)
    with store.write() as tx:
        if tx.scalar(select(WebUserRow.id).where(WebUserRow.name == name)) is not None:
            raise ConflictError(f"user {name!r} already exists", hint="choose another name")
        tx.execute(
            insert(WebUserRow),
            {
                "name": name,
                "role": chosen,
                "password_hash": hashed,
                "disabled": False,
                "created_at": _fmt(_now()),
                "created_by": by,
            },
        )
        row = tx.scalars(select(WebUserRow).where(WebUserRow.name == name)).one()
        user = _user(row)
    return user, password


def set_password(store: Store, name: str, password: str) -> None:
    """Replace a user's password (the demo uses this for its documented logins)."""
    if len(password) < 8:
        raise InputError("password too short", hint="use at least 8 characters")
    hashed = hash_password(password)
    with store.write() as tx:
        if tx.scalar(select(WebUserRow.id).where(WebUserRow.name == name)) is None:
            raise NotFoundError(f"no user {name!r}")
        tx.execute(update(WebUserRow).where(WebUserRow.name == name).values(password_hash=hashed))


def users(store: Store) -> list[User]:
    with store.read() as s:
        return [_user(r) for r in s.scalars(select(WebUserRow).order_by(WebUserRow.name))]


def find_user(store: Store, name: str) -> User:
    with store.read() as s:
        row = s.scalars(select(WebUserRow).where(WebUserRow.name == name)).first()
        found = None if row is None else _user(row)
    if found is None:
        raise NotFoundError(f"no user {name!r}", hint="list users with 'scaleguard users list'")
    return found


def _recent_failures(store: Store, name: str, address: str, now: datetime) -> tuple[int, int]:
    """Failures in the window: for this user name, and from this address."""
    since = _fmt(now - FAILURE_WINDOW)
    recent = select(func.count()).select_from(WebLoginFailureRow)
    recent = recent.where(WebLoginFailureRow.at >= since)
    with store.read() as s:
        by_name = s.scalar(recent.where(WebLoginFailureRow.name == name[:100]))
        by_address = s.scalar(recent.where(WebLoginFailureRow.address == address[:64]))
    return int(by_name or 0), int(by_address or 0)


class RateLimited(InputError):
    """Too many failed sign-ins for one user name."""

    http_status: ClassVar[int] = 429


def sign_in(
    store: Store, name: str, password: str, address: str = "unknown"
) -> tuple[Principal, str]:
    """Check a password and open a session; returns the principal and the cookie secret.

    Every failure says the same thing; after :data:`MAX_FAILURES` failures in
    :data:`FAILURE_WINDOW` the name is locked out for the rest of the window,
    even for the right password; so is an address after :data:`MAX_ADDRESS_FAILURES`
    failures with any names.
    """
    now = _now()
    refused = InputError(
        "wrong user name or password", hint="check both; after 5 failures wait 15 minutes"
    )
    refused.status = 401
    by_name, by_address = _recent_failures(store, name, address, now)
    if by_name >= MAX_FAILURES or by_address >= MAX_ADDRESS_FAILURES:
        raise RateLimited(
            "too many failed sign-ins for this user name or from this address",
            hint=f"wait {int(FAILURE_WINDOW.total_seconds() // 60)} minutes and try again",
        )
    with store.read() as s:
        row = s.scalars(select(WebUserRow).where(WebUserRow.name == name[:100])).first()
        user = None if row is None else _user(row)
        stored = row.password_hash if row is not None else _dummy_hash()
    ok = _check_password(stored, password) and user is not None and not user.disabled
    if not ok or user is None:
        with store.write() as tx:
            tx.execute(
                insert(WebLoginFailureRow),
                {"name": name[:100], "address": address[:64], "at": _fmt(now)},
            )
        raise refused
    secret = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    with store.write() as tx:
        tx.execute(
            insert(WebSessionRow),
            {
                "id_hash": _digest(secret),
                "user_id": user.id,
                "csrf": csrf,
                "created_at": _fmt(now),
                "expires_at": _fmt(now + SESSION_LIFETIME),
            },
        )
        tx.execute(delete(WebSessionRow).where(WebSessionRow.expires_at < _fmt(now)))
    return Principal(user, "session", "write", csrf), secret


def session_principal(store: Store, secret: str) -> Principal | None:
    """The principal of a live session cookie, else None."""
    now = _fmt(_now())
    with store.read() as s:
        found = s.execute(
            select(WebSessionRow, WebUserRow)
            .join(WebUserRow, WebUserRow.id == WebSessionRow.user_id)
            .where(WebSessionRow.id_hash == _digest(secret), WebSessionRow.expires_at > now)
        ).first()
        if found is None or found[1].disabled:
            return None
        return Principal(_user(found[1]), "session", "write", found[0].csrf)


def sign_out(store: Store, secret: str) -> None:
    with store.write() as tx:
        tx.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == _digest(secret)))


def create_token(store: Store, user: str, scope: str, expires: str) -> tuple[str, str]:
    """A new API token for ``user``; returns (token, expiry). Only its hash is stored."""
    chosen = parse_scope(scope)
    lifetime = parse_duration(expires)
    found = find_user(store, user)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    now = _now()
    until = _fmt(now + lifetime)
    with store.write() as tx:
        tx.execute(
            insert(WebTokenRow),
            {
                "user_id": found.id,
                "token_hash": _digest(token),
                "scope": chosen,
                "created_at": _fmt(now),
                "expires_at": until,
                "revoked": False,
            },
        )
    return token, until


class TokenRefused(InputError):
    """An API token that is unknown, expired or revoked."""

    http_status: ClassVar[int] = 401


def token_principal(store: Store, token: str) -> Principal:
    """The principal of a bearer token; TokenRefused (401) if it is not live."""
    with store.read() as s:
        found = s.execute(
            select(WebTokenRow, WebUserRow)
            .join(WebUserRow, WebUserRow.id == WebTokenRow.user_id)
            .where(WebTokenRow.token_hash == _digest(token))
        ).first()
        live = found is not None and not found[0].revoked and not found[1].disabled
        expires = "" if found is None else found[0].expires_at
        who = (
            None
            if found is None
            else Principal(_user(found[1]), "token", parse_scope(found[0].scope))
        )
    if not live or who is None:
        raise TokenRefused(
            "unknown or revoked API token",
            hint="create one with 'scaleguard tokens create --user NAME'",
        )
    if expires <= _fmt(_now()):
        raise TokenRefused(
            f"API token expired at {expires}",
            hint="create a new one with 'scaleguard tokens create --user NAME'",
        )
    return who


def tokens(store: Store, user: str | None = None) -> list[dict[str, object]]:
    """Tokens (never their secrets): id, user, scope, expiry, revoked."""
    query = select(WebTokenRow, WebUserRow.name).join(
        WebUserRow, WebUserRow.id == WebTokenRow.user_id
    )
    if user is not None:
        query = query.where(WebUserRow.name == user)
    with store.read() as s:
        return [
            {
                "id": t.id,
                "user": name,
                "scope": t.scope,
                "created_at": t.created_at,
                "expires_at": t.expires_at,
                "revoked": bool(t.revoked),
            }
            for t, name in s.execute(query.order_by(WebTokenRow.id)).all()
        ]


def revoke_token(store: Store, token_id: int) -> None:
    """Revoke a token by its id (from ``tokens list``); it stops working at once."""
    with store.write() as tx:
        found = tx.scalar(select(WebTokenRow.id).where(WebTokenRow.id == token_id))
        if found is None:
            raise NotFoundError(f"no token #{token_id}", hint="see 'scaleguard tokens list'")
        tx.execute(update(WebTokenRow).where(WebTokenRow.id == token_id).values(revoked=True))
