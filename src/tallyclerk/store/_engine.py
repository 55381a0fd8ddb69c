"""Engines for the two supported stores: an embedded DuckDB file and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from tallyclerk.errors import StoreError

SUPPORTED = ("duckdb", "postgresql")


class StoreUnavailableError(StoreError):
    """The database cannot be reached now (stopped, restarting, refusing connections).

    A passing condition: the service answers 503 with Retry-After, and a later try works.
    """


def normalize_url(url: str) -> str:
    """Accept the common spellings of a database URL and name the driver we use."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://") :]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def _duckdb_path(url: sa.engine.URL) -> Path | None:
    database = url.database
    if not database or database == ":memory:":
        return None
    return Path(database)


def make_engine(url: str) -> sa.Engine:
    """Create the SQLAlchemy engine for `url`, with every session in UTC."""
    url = normalize_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise StoreError(f"not a database URL: {url!r}") from exc
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED:
        raise StoreError(
            f"unsupported database {backend!r}: use duckdb:///path.duckdb or postgresql+psycopg://..."
        )
    if backend == "duckdb":
        path = _duckdb_path(parsed)
        if path is not None and path.parent != Path() and not path.parent.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
        # One file admits one writing process; a single pooled connection per engine keeps
        # this process from fighting itself for the file lock.
        engine = sa.create_engine(url, poolclass=sa.pool.StaticPool)

        @event.listens_for(engine, "connect")
        def _utc(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.execute("SET TimeZone = 'UTC'")

        return engine
    return sa.create_engine(
        url,
        connect_args={"options": "-c timezone=UTC"},
        pool_pre_ping=True,
    )


def describe_url(url: str) -> str:
    """A URL safe to print: the password masked."""
    try:
        return sa.engine.make_url(normalize_url(url)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


@contextmanager
def translate_connection_errors(url: str) -> Iterator[None]:
    """Turn driver errors about reaching the database into one plain StoreError."""
    try:
        yield
    except sa.exc.DBAPIError as exc:
        text = str(exc.orig) if exc.orig is not None else str(exc)
        if "lock" in text.lower() and "conflicting" in text.lower():
            raise StoreError(
                f"the store {describe_url(url)} is open in another process "
                "(a running server or another command); stop it or use that process"
            ) from exc
        if isinstance(exc, sa.exc.OperationalError) or exc.connection_invalidated:
            raise StoreUnavailableError(
                f"cannot reach the database {describe_url(url)}: {_first_line(exc)}"
            ) from exc
        raise


def _first_line(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None)
    text = str(orig if orig is not None else exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
