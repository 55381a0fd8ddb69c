"""Health, version and the asking user."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from tallyclerk import __version__
from tallyclerk.api._deps import PrincipalDep, StoreDep

router = APIRouter(tags=["meta"])


class Health(BaseModel):
    """The service is up and its store answers."""

    status: str
    version: str
    store: str


class Me(BaseModel):
    """The authenticated user."""

    user_id: str
    role: str
    provider_id: str | None


@router.get("/api/v1/health", response_model=Health, summary="Health of the service")
def health(opened: StoreDep) -> Health:
    """Whether the service runs and reaches its store (no login needed)."""
    with opened.connect():
        pass
    return Health(status="ok", version=__version__, store=opened.dialect)


@router.get("/api/v1/me", response_model=Me, summary="Who am I")
def me(principal: PrincipalDep) -> Me:
    """The user the request is authenticated as, its role and its provider."""
    return Me(user_id=principal.user_id, role=principal.role, provider_id=principal.provider_id)
