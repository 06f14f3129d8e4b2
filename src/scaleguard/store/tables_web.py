"""Tables of the web layer: users with roles, sessions, API tokens, failed logins.

These are not record tables: a session ends, a token is revoked, a failed
login ages out. Nothing here is a ledger record; what a signed-in user
*does* is recorded by the library functions, which name that user.
Secrets are never stored: passwords as argon2 hashes, session ids and
tokens as SHA-256 digests.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from scaleguard.store.tables import Base, Time

#: Tables added by 0008_web_users.
WEB_TABLES = ("web_users", "web_sessions", "web_tokens", "web_login_failures")


class WebUserRow(Base):
    """A person who signs in to the web UI, with one role."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[str] = mapped_column(Time)
    created_by: Mapped[str] = mapped_column(Text)


class WebSessionRow(Base):
    """A server-side session; the cookie holds the secret, the row its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("web_users.id"))
    csrf: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[str] = mapped_column(Time)
    expires_at: Mapped[str] = mapped_column(Time)


class WebTokenRow(Base):
    """An API token: its SHA-256, scope (read or write) and expiry."""

    __tablename__ = "web_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("web_users.id"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[str] = mapped_column(Time)
    expires_at: Mapped[str] = mapped_column(Time)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class WebLoginFailureRow(Base):
    """One failed sign-in, kept for rate limiting."""

    __tablename__ = "web_login_failures"
    __table_args__ = (
        Index("ix_web_login_failures_name_at", "name", "at"),
        Index("ix_web_login_failures_address_at", "address", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100))
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(Time)
