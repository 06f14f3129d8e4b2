"""Who is acting: the one rule every record's provenance follows.

``--by NAME`` when given, else the ``SCALEGUARD_USER`` environment variable, else the
login name (``getpass.getuser()``: ``$LOGNAME``, ``$USER``, ``$LNAME``, ``$USERNAME``, then
the password database), else ``"unknown"``. Evidence, determinations, decisions,
attestations, roadmap records, reports, reviews, incidents and usage-policy records all
name their actor through :func:`acting_user`, so records written in one shell agree.
"""

from __future__ import annotations

import getpass
import os

__all__ = ["ACTOR_ENV", "acting_user"]

#: The environment variable that names the acting person when ``--by`` is not given.
ACTOR_ENV = "SCALEGUARD_USER"


def acting_user(by: str | None = None) -> str:
    """The actor for a record: ``by``, then ``$SCALEGUARD_USER``, then the login name.

    An empty or blank ``by`` (or environment value) counts as not given.
    """
    if by is not None and by.strip():
        return by
    env = os.environ.get(ACTOR_ENV, "").strip()
    if env:
        return env
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # pragma: no cover - no passwd entry and no variables
        return "unknown"
    return login or "unknown"
