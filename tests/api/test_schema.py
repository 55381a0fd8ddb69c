"""Property tests of the whole API from its OpenAPI document: no request makes a server error.

Schemathesis generates requests (valid and not) for every operation of /openapi.json and
sends them, as the admin, to the service over this module's copy of the demo store. The
operations that compute on the store (KPIs, reports, audits, replays) get fewer examples.

The document is read when the module is collected, from a service over an empty in-memory
store (the document does not depend on the data); the requests go to the fixture's service.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.python.asgi import shutdown_lifespans

from tallyclerk.api import create_app
from tallyclerk.settings import Settings
from tests.api.conftest import auth

pytestmark = pytest.mark.slow

# Operations that run KPI expressions, reports or ingestion: each example costs seconds.
HEAVY = (
    r"^/api/v1/(kpis/\{metric\}(/items)?|invoices/audit|inventory/variance|experience"
    r"|uploads|ingest/\{kind\}|batches/\{batch_id\}/replay|quarantine/replay)$"
)
QUIET = [HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large]
BASE_URL = "http://testserver"
TRACKING_SOURCES = ("easypost", "aftership", "tracking-json", "shippo")

_DOCUMENTED = create_app(Settings(database_url="duckdb:///:memory:"))
schema = schemathesis.openapi.from_dict(_DOCUMENTED.openapi())
schema.app = _DOCUMENTED  # in-process (ASGI) calls; each call names the app it goes to


@pytest.fixture(scope="module")
def schema_app(api_settings: Settings) -> Iterator[FastAPI]:
    """The service under test (schemathesis runs its lifespan), stopped after the module.

    Its webhook secrets are set, so a webhook without a valid signature is refused (401)
    rather than answered "not configured" (503).
    """
    service = api_settings.service.model_copy(
        update={
            "shopify_secret": "shopify test secret",
            "tracking_secrets": {name: f"{name} test secret" for name in TRACKING_SOURCES},
        }
    )
    app = create_app(api_settings.model_copy(update={"service": service}))
    yield app
    shutdown_lifespans()


def _call(case: schemathesis.Case, app: FastAPI, token: str) -> None:
    case.call_and_validate(
        base_url=BASE_URL, headers=auth(token), checks=[not_a_server_error], app=app
    )


@schema.exclude(path_regex=HEAVY).parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=QUIET)
def test_no_server_error(
    case: schemathesis.Case, schema_app: FastAPI, tokens: dict[str, str]
) -> None:
    _call(case, schema_app, tokens["admin"])


@schema.include(path_regex=HEAVY).parametrize()
@settings(max_examples=3, deadline=None, suppress_health_check=QUIET)
def test_no_server_error_on_computing_operations(
    case: schemathesis.Case, schema_app: FastAPI, tokens: dict[str, str]
) -> None:
    _call(case, schema_app, tokens["admin"])
