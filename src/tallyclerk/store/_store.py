"""The store: one object that owns the engine and keeps the schema current."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from tallyclerk.errors import StoreError
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store._engine import describe_url, make_engine, normalize_url
from tallyclerk.store._engine import translate_connection_errors as _translate
from tallyclerk.store._migrate import current_revision, head_revision, upgrade


class Store:
    """The system of record: a DuckDB file or a PostgreSQL database, schema kept current."""

    def __init__(self, url: str) -> None:
        self.url = normalize_url(url)
        self.engine = make_engine(self.url)

    @property
    def dialect(self) -> str:
        """'duckdb' or 'postgresql'."""
        return self.engine.dialect.name

    @property
    def description(self) -> str:
        """The URL with any password hidden, for messages."""
        return describe_url(self.url)

    @property
    def path(self) -> Path | None:
        """The DuckDB file, when the store is one."""
        if self.dialect != "duckdb":
            return None
        database = self.engine.url.database
        return None if not database or database == ":memory:" else Path(database)

    def revision(self) -> tuple[str | None, str]:
        """The schema revision of the database and the newest one this version knows."""
        with _translate(self.url), self.engine.connect() as connection:
            return current_revision(connection), head_revision()

    def upgrade(self) -> tuple[str | None, str]:
        """Create or upgrade the schema; returns (from, to) revisions."""
        with _translate(self.url):
            return upgrade(self.engine)

    def ensure_current(self) -> None:
        """Create or upgrade the schema if it is behind (first use of a new file or database)."""
        current, head = self.revision()
        if current != head:
            self.upgrade()

    @contextmanager
    def begin(self) -> Iterator[sa.Connection]:
        """A connection inside one transaction: committed on success, rolled back on error."""
        with _translate(self.url), self.engine.begin() as connection:
            yield connection

    @contextmanager
    def connect(self) -> Iterator[sa.Connection]:
        """A connection for reading."""
        with _translate(self.url), self.engine.connect() as connection:
            yield connection

    def close(self) -> None:
        """Release the database (and, for DuckDB, its file lock)."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def open_store(
    settings: Settings | None = None, *, url: str | None = None, create: bool = True
) -> Store:
    """Open the configured store; by default create or upgrade its schema on first use."""
    settings = settings or get_settings()
    store = Store(url or settings.database_url)
    if create:
        try:
            store.ensure_current()
        except StoreError:
            store.close()
            raise
    return store
