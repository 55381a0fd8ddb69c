"""Shared fixtures: a fresh store on DuckDB and on the local PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tallyclerk.settings import Settings
from tallyclerk.store import Store, open_store

FIXTURES = Path(__file__).parent / "fixtures"
# The real public samples sit beside the checkout (../shared/samples); TALLYCLERK_SAMPLES
# names another place.
SAMPLES = Path(
    os.environ.get("TALLYCLERK_SAMPLES")
    or Path(__file__).resolve().parents[2] / "shared" / "samples"
)
POSTGRES_ADMIN_URL = os.environ.get(
    "TALLYCLERK_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test"
)


def _postgres_unavailable(reason: str) -> None:
    # In CI the server is part of the contract: a missing server fails the run, never skips.
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"PostgreSQL is required in CI but unreachable: {reason}")
    pytest.skip(f"PostgreSQL unreachable: {reason}")


@pytest.fixture(scope="session")
def postgres_admin() -> str:
    """The admin URL of the test server, checked once per session."""
    try:
        with psycopg.connect(POSTGRES_ADMIN_URL, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        _postgres_unavailable(str(exc).strip().splitlines()[0])
    return POSTGRES_ADMIN_URL


@pytest.fixture
def postgres_url(postgres_admin: str) -> Iterator[str]:
    """A new, empty database for one test, dropped afterwards."""
    name = f"tallyclerk_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = postgres_admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}".replace("postgresql://", "postgresql+psycopg://", 1)
    finally:
        with psycopg.connect(postgres_admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def duckdb_url(tmp_path: Path) -> str:
    """A DuckDB file that does not exist yet."""
    return f"duckdb:///{tmp_path / 'store.duckdb'}"


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a fresh store, once for each supported database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'store.duckdb'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def settings(store_url: str) -> Settings:
    """Settings pointing at the fresh store."""
    return Settings(database_url=store_url)


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    """A fresh, migrated store on each supported database."""
    opened = open_store(settings)
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture(scope="session")
def samples() -> Path:
    """The real public sample files (../shared/samples); CI always has them."""
    if not SAMPLES.is_dir():
        message = (
            f"the real sample files are not at {SAMPLES} (set TALLYCLERK_SAMPLES to their folder)"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(message)
        pytest.skip(message)
    return SAMPLES
