"""Placeholder: filled in by the actions work."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["actions"])
