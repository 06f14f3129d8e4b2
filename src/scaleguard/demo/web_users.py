"""Demo sign-ins, one per role, for the demo workspace only (never for a real one)."""

from __future__ import annotations

from scaleguard.web import accounts
from scaleguard.workspace.workspace import Workspace

#: (name, role, password): the reviewers are the demo's registered reviewers, one assigned
#: and one refused for a major conflict of interest.
DEMO_USERS: tuple[tuple[str, str, str], ...] = (
    ("admin", "admin", "demo-admin-pass"),
    ("rso", "rso", "demo-rso-pass"),
    ("evaluator", "evaluator", "demo-evaluator-pass"),
    ("board", "board", "demo-board-pass"),
    ("Mara Okafor", "reviewer", "demo-reviewer-pass"),
    ("Jonas Weber", "reviewer", "demo-conflicted-pass"),
)


def add_demo_users(ws: Workspace) -> tuple[tuple[str, str, str], ...]:
    """Create the demo users with their documented passwords."""
    for name, role, password in DEMO_USERS:
        accounts.add_user(ws.store, name, role, by="demo")
        accounts.set_password(ws.store, name, password)
    return DEMO_USERS
