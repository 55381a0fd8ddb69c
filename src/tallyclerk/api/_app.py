"""The FastAPI application: the REST API, the inbound webhooks and the dashboard in one."""

from __future__ import annotations

import importlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from tallyclerk import __version__
from tallyclerk.api._deps import ServiceState
from tallyclerk.api._errors import add_security_headers, install_error_handlers
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import StoreGate

log = logging.getLogger("tallyclerk.api")

# The routers, each a module with a `router` (and optionally `startup(app)`/`shutdown(app)`).
ROUTER_MODULES = (
    "tallyclerk.api.routes.meta",
    "tallyclerk.api.routes.users",
    "tallyclerk.api.routes.scorecards",
    "tallyclerk.api.routes.kpis",
    "tallyclerk.api.routes.findings",
    "tallyclerk.api.routes.experience",
    "tallyclerk.api.routes.contracts",
    "tallyclerk.api.routes.forecast",
    "tallyclerk.api.routes.vetting",
    "tallyclerk.api.routes.batches",
    "tallyclerk.api.routes.disputes",
    "tallyclerk.api.routes.reviews",
    "tallyclerk.api.routes.actions",
    "tallyclerk.api.routes.alerts",
    "tallyclerk.api.routes.ingest",
    "tallyclerk.api.routes.webhooks",
    "tallyclerk.web.routes",
)

TAGS = [
    {"name": "meta", "description": "Health, version and who you are."},
    {"name": "users", "description": "Users and API tokens (admin)."},
    {"name": "scorecards", "description": "Contracted metrics against target, burn rate, credits."},
    {"name": "kpis", "description": "The KPI catalogue, figures and the items behind them."},
    {"name": "findings", "description": "Reconciliation and invoice-audit findings."},
    {"name": "experience", "description": "Customer experience: perfect orders, delivery."},
    {"name": "contracts", "description": "Contracts in force and their versions."},
    {"name": "ingestion", "description": "Uploads, JSON ingestion, batches and quarantine."},
    {"name": "disputes", "description": "Disputes with the 3PL and the credit ledger."},
    {"name": "forecast", "description": "Demand forecast per provider against its capacity."},
    {"name": "vetting", "description": "Candidate 3PLs ranked on evidence and cost (brand only)."},
    {"name": "reviews", "description": "The weekly performance review per provider and week."},
    {"name": "actions", "description": "Action items agreed in weekly reviews."},
    {"name": "alerts", "description": "Alerts raised by the rules, their escalation and acks."},
    {"name": "webhooks", "description": "Inbound webhooks from Shopify and tracking sources."},
]


# Libraries that log what they carry at INFO: httpx logs each request's full URL, and the
# URL of an alert webhook (Slack's, for one) is itself a secret. Kept at WARNING unless a
# level was set for them on purpose.
QUIET_LOGGERS = ("httpx",)


def _quiet_loggers() -> None:
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        return add_security_headers(request, await call_next(request))


def create_app(settings: Settings | None = None, *, gate: StoreGate | None = None) -> FastAPI:
    """The service for `settings` (default: the environment's), its store opened through a gate."""
    settings = settings or get_settings()
    _quiet_loggers()
    gate = gate or StoreGate(settings.database_url, wait=settings.service.store_wait_seconds)
    modules = [importlib.import_module(name) for name in ROUTER_MODULES]

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        for module in modules:
            if hasattr(module, "startup"):
                await module.startup(app)
        try:
            yield
        finally:
            for module in reversed(modules):
                if hasattr(module, "shutdown"):
                    await module.shutdown(app)
            gate.close()

    app = FastAPI(
        title="tallyclerk",
        version=__version__,
        summary="The control tower for brands that outsource fulfillment to 3PLs.",
        description=(
            "Scorecards, KPIs, reconciliation, invoice audit, customer experience, disputes "
            "and ingestion. Authenticate with `Authorization: Bearer <token>` "
            "(`tallyclerk token create USER`). A provider user sees only its own provider. "
            'Errors read `{"error": {"status", "message", "details"}}`; lists take '
            "`limit` and `offset`."
        ),
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
    )
    app.state.tc = ServiceState(settings=settings, gate=gate)
    app.state.html_error = None
    install_error_handlers(app)
    app.add_middleware(_SecurityHeaders)
    for module in modules:
        if hasattr(module, "install"):
            module.install(app)
        app.include_router(module.router)
    return app
