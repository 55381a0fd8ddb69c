"""The service: a FastAPI app with the REST API, inbound webhooks and the dashboard."""

from __future__ import annotations

from tallyclerk.api._app import ROUTER_MODULES, create_app
from tallyclerk.api._deps import (
    CSRF_FIELD,
    CSRF_HEADER,
    SESSION_COOKIE,
    PrincipalDep,
    ScopeDep,
    ServiceState,
    StoreDep,
    current_principal,
    current_scope,
    service,
)
from tallyclerk.api._errors import error_body
from tallyclerk.api._pagination import Page, PageParams, page_params

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "ROUTER_MODULES",
    "SESSION_COOKIE",
    "Page",
    "PageParams",
    "PrincipalDep",
    "ScopeDep",
    "ServiceState",
    "StoreDep",
    "create_app",
    "current_principal",
    "current_scope",
    "error_body",
    "page_params",
    "service",
]
