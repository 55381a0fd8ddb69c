"""Fixtures of the API tests: a small real store built once, copied per test module.

The store is built from a simulated quarter (January to March 2026, two providers with their
contracts): ingested, evaluated for February (closed) and March (open, with burn rates) on
the clock AS_OF, reconciled, with a quarantined record per provider batch and one on a
brand-wide batch, one dispute (of a hand-off finding) and one booked credit per provider,
and the users of USERS with an API token each.

    def test_something(api_client: TestClient, tokens: dict[str, str]) -> None:
        response = api_client.get("/api/v1/scorecards", headers=auth(tokens["admin"]))

`api_store` is a DuckDB copy by default; a test runs on PostgreSQL too when parametrized
with ON_BOTH (indirect parametrization of `api_store`).
"""

from __future__ import annotations

import json
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tallyclerk.access import add_user, create_token
from tallyclerk.api import create_app
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import SourceOptions, ingest_paths, ingest_payload
from tallyclerk.reconcile import DOMAINS, dispute_finding, list_findings, run_findings
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.sla import evaluate_periods, record_credit
from tallyclerk.store import Store, open_store
from tallyclerk.store.schema import CANONICAL_TABLES

BRAND_TIMEZONE = "America/Chicago"
AS_OF = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)  # the clock the store was evaluated on
PERIODS = (date(2026, 2, 1), date(2026, 3, 1))  # February closed, March still open
PROVIDERS = ("eastbridge", "westcoast")
ORDERS = 400
SEED = 5

# role (or provider id, for the provider users) -> (user id, role, provider)
USERS: dict[str, tuple[str, str, str | None]] = {
    "admin": ("ana", "admin", None),
    "analyst": ("otto", "analyst", None),
    "eastbridge": ("eve", "provider", "eastbridge"),
    "westcoast": ("wes", "provider", "westcoast"),
}
PASSWORD = "correct horse battery"  # every user's password (for dashboard logins)

ON_BOTH = pytest.mark.parametrize(
    "api_store", ["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


def auth(token: str) -> dict[str, str]:
    """The headers of a request authenticated with the token."""
    return {"Authorization": f"Bearer {token}"}


def api_settings_for(url: str, spool_dir: Path | None = None) -> Settings:
    """The settings the API tests run the service with (webhooks spooled to `spool_dir`)."""
    service = {"spool_dir": spool_dir} if spool_dir is not None else {}
    return Settings(
        database_url=url,
        brand={"timezone": BRAND_TIMEZONE},  # type: ignore[arg-type]
        service=service,  # type: ignore[arg-type]
    )


@dataclass(frozen=True)
class BuiltStore:
    """A store built once per session, to be copied: where it is and its users' tokens."""

    url: str
    tokens: dict[str, str]


def _tracking_payload(tracking_number: str, carrier: str) -> bytes:
    """One good carrier event and one with a status nobody knows (quarantined)."""
    events = [
        {
            "tracking_number": tracking_number,
            "carrier": carrier,
            "status": "in_transit",
            "occurred_at": "2026-03-18T10:00:00+00:00",
        },
        {
            "tracking_number": tracking_number,
            "carrier": carrier,
            "status": "teleported",
            "occurred_at": "2026-03-18T11:00:00+00:00",
        },
    ]
    return json.dumps(events).encode()


def _populate(store: Store, settings: Settings, data: Path, extra: Path) -> dict[str, str]:
    """Load, evaluate and reconcile the simulated quarter; add problems, disputes, users."""
    with store.begin() as connection:
        for path in sorted((data / "contracts").glob("*.yaml")):
            add_contract(
                connection, load_contract(path), path.read_text(encoding="utf-8"), path.name
            )
    run = ingest_paths(store, [data], settings=settings)
    assert run.ok, [(b.kind, b.status, b.message) for b in run.batches if not b.ok]
    evaluate_periods(store, list(PERIODS), as_of=AS_OF, settings=settings)
    run_findings(store, DOMAINS, as_of=AS_OF, settings=settings)
    # A canonical file with a bad row: a brand-wide batch (no provider) with one record held.
    landed = ingest_paths(store, [extra], settings=settings)
    assert sum(b.quarantined for b in landed.batches) == 1
    # A tracking payload per provider: batches of that provider, one record held each.
    shipments = CANONICAL_TABLES["shipments"]
    with store.connect() as connection:
        parcels = {
            provider: connection.execute(
                sa.select(shipments.c.tracking_number, shipments.c.carrier)
                .where(shipments.c.provider_id == provider)
                .order_by(shipments.c.shipment_id)
                .limit(1)
            ).one()
            for provider in PROVIDERS
        }
    for provider, (number, carrier) in parcels.items():
        report, _ = ingest_payload(
            store,
            _tracking_payload(number, carrier),
            SourceOptions("tracking-json", provider_id=provider),
            source=f"upload:{provider}:tracking.json",
            settings=settings,
        )
        assert report.quarantined == 1, report
    with store.connect() as connection:
        found = list_findings(connection, providers=list(PROVIDERS), statuses=["open"])
    for provider in PROVIDERS:
        first = next(f for f in found if f.provider_id == provider and f.domain == "handoff")
        dispute_finding(store, first.finding_id, by="ana", note="please check")
    tokens: dict[str, str] = {}
    with store.begin() as connection:
        for provider in PROVIDERS:
            record_credit(
                connection,
                provider_id=provider,
                period=PERIODS[0],
                amount=Decimal("12.50"),
                currency="USD",
                source="adjustment",
                by="ana",
                note="goodwill credit",
            )
        for key, (user_id, role, provider) in USERS.items():
            add_user(
                connection,
                user_id,
                role,
                provider_id=provider,
                password=PASSWORD,
                display_name=user_id.title(),
            )
            _, secret = create_token(connection, user_id, name="tests")
            tokens[key] = secret
    return tokens


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The simulated quarter (canonical CSVs and contracts) and a file with one bad order."""
    data = tmp_path_factory.mktemp("api-demo")
    simulate(data, ORDERS, seed=SEED, start=date(2026, 1, 1), months=3)
    extra = tmp_path_factory.mktemp("api-extra")
    (extra / "orders.csv").write_text(
        "order_id,placed_at,channel,ship_to_country,ship_to_postal,service_level,"
        "promised_delivery_date,order_value,currency,cancelled_at\n"
        "ORD-EXTRA-1,2026-03-02T10:00:00-06:00,web,US,60601,standard,2026-03-07,40.00,USD,\n"
        "ORD-EXTRA-2,the second of March,web,US,60601,standard,2026-03-07,55.00,USD,\n",
        encoding="utf-8",
    )
    return data, extra


def _build(url: str, demo: tuple[Path, Path]) -> BuiltStore:
    settings = api_settings_for(url)
    store = open_store(settings)
    try:
        tokens = _populate(store, settings, *demo)
    finally:
        store.close()
    return BuiltStore(url, tokens)


@pytest.fixture(scope="session")
def built_duckdb(
    demo_data: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> BuiltStore:
    """The demo store as a DuckDB file, built once per session (copy it, never write to it)."""
    folder = tmp_path_factory.mktemp("api-template")
    return _build(f"duckdb:///{folder / 'template.duckdb'}", demo_data)


def _postgres_url(admin: str, name: str) -> str:
    base = admin.rsplit("/", 1)[0]
    return f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)


@pytest.fixture(scope="session")
def built_postgres(demo_data: tuple[Path, Path], postgres_admin: str) -> Iterator[BuiltStore]:
    """The demo store as a PostgreSQL template database, built once per session."""
    name = f"tallyclerk_api_tpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _build(_postgres_url(postgres_admin, name), demo_data)
    finally:
        with psycopg.connect(postgres_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


_TOKENS_BY_URL: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def api_store(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """The URL of this module's own copy of the demo store (DuckDB; PostgreSQL with ON_BOTH)."""
    which = getattr(request, "param", "duckdb")
    if which == "duckdb":
        built: BuiltStore = request.getfixturevalue("built_duckdb")
        source = Path(built.url.removeprefix("duckdb:///"))
        target = tmp_path_factory.mktemp("api-store") / "store.duckdb"
        shutil.copyfile(source, target)
        wal = source.with_name(source.name + ".wal")
        if wal.exists():
            shutil.copyfile(wal, target.with_name(target.name + ".wal"))
        url = f"duckdb:///{target}"
        _TOKENS_BY_URL[url] = built.tokens
        yield url
        return
    built = request.getfixturevalue("built_postgres")
    admin: str = request.getfixturevalue("postgres_admin")
    template = built.url.rsplit("/", 1)[1]
    name = f"tallyclerk_api_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    url = _postgres_url(admin, name)
    _TOKENS_BY_URL[url] = built.tokens
    try:
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def tokens(api_store: str) -> dict[str, str]:
    """Bearer tokens of the users of USERS: 'admin', 'analyst', and one per provider id."""
    return dict(_TOKENS_BY_URL[api_store])


@pytest.fixture(scope="module")
def api_settings(api_store: str, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The settings of the service under test (its webhook spool in a temporary folder)."""
    return api_settings_for(api_store, tmp_path_factory.mktemp("spool"))


@pytest.fixture(scope="module")
def api_app(api_settings: Settings) -> FastAPI:
    """The service over this module's store."""
    return create_app(api_settings)


@pytest.fixture(scope="module")
def api_client(api_app: FastAPI) -> Iterator[TestClient]:
    """A test client of the service, started (lifespan run) for the module."""
    with TestClient(api_app) as client:
        yield client
