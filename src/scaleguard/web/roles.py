"""Who may do what: the one place where roles meet permissions.

Every route names one permission (see :func:`scaleguard.web.deps.need`); this
table says which roles hold it. ``public`` needs nobody signed in. A token with
the ``read`` scope never passes a permission that writes.
"""

from __future__ import annotations

from typing import Literal

Role = Literal["admin", "rso", "evaluator", "reviewer", "board"]
ROLES: tuple[Role, ...] = ("admin", "rso", "evaluator", "reviewer", "board")
Scope = Literal["read", "write"]
SCOPES: tuple[Scope, ...] = ("read", "write")

Permission = Literal[
    "public", "signed-in", "console", "operate", "govern", "review", "manage-review", "admin"
]

#: permission -> (roles that hold it, whether it writes)
PERMISSIONS: dict[Permission, tuple[frozenset[Role], bool]] = {
    # the accountability site and its JSON: anyone, signed in or not
    "public": (frozenset(ROLES), False),
    # one's own account: sign out, who am I
    "signed-in": (frozenset(ROLES), False),
    # the operator's read-only view: every ledger entry's bytes, the reviewer registry
    "console": (frozenset({"admin", "rso", "evaluator", "board"}), False),
    # recording evidence and other operator writes
    "operate": (frozenset({"admin", "rso", "evaluator"}), True),
    # decisions, safeguard attestations, roadmap updates, Risk Reports
    "govern": (frozenset({"admin", "rso"}), True),
    # an assigned reviewer's portal (which report, if any, is checked per request)
    "review": (frozenset({"reviewer"}), True),
    # assigning reviewers and answering their statements
    "manage-review": (frozenset({"admin", "rso"}), True),
    # users and tokens
    "admin": (frozenset({"admin"}), True),
}


def allows(permission: Permission, role: Role | None) -> bool:
    """Whether ``role`` (None: nobody signed in) holds ``permission``."""
    if permission == "public":
        return True
    return role is not None and role in PERMISSIONS[permission][0]


def writes(permission: Permission) -> bool:
    return PERMISSIONS[permission][1]
