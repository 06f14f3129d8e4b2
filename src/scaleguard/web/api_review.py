"""The reviewers' portal and review management as JSON (``/api/v1``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["review"])
