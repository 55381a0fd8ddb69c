"""The store on each database: created on first use, migrated, matching the declared schema."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from tallyclerk.domain import KINDS
from tallyclerk.settings import Settings
from tallyclerk.store import Store, metadata, open_store


def test_first_use_creates_the_schema_at_head(store: Store) -> None:
    current, head = store.revision()
    assert current == head
    with store.connect() as connection:
        tables = set(sa.inspect(connection).get_table_names())
    assert {k.name for k in KINDS} <= tables
    assert {"ingestion_batches", "quarantine", "raw_payloads", "contracts", "facilities"} <= tables


def test_upgrade_is_idempotent(store: Store) -> None:
    _current, head = store.revision()
    assert store.upgrade() == (head, head)


def test_migrations_build_exactly_the_declared_schema(store: Store) -> None:
    with store.connect() as connection:
        if store.dialect == "postgresql":
            differences = compare_metadata(MigrationContext.configure(connection), metadata)
            # Secondary indexes exist on PostgreSQL only (DuckDB relies on zone maps).
            unexpected = [
                d
                for d in differences
                if not (d[0] == "remove_index" and d[1].name.startswith("ix_"))
            ]
            assert unexpected == []
            return
        # DuckDB's catalog answers column questions only; compare those.
        inspector = sa.inspect(connection)
        for table in metadata.sorted_tables:
            reflected = {c["name"]: c for c in inspector.get_columns(table.name)}
            assert list(reflected) == [c.name for c in table.columns], table.name
            for column in table.columns:
                assert reflected[column.name]["nullable"] == column.nullable, (
                    table.name,
                    column.name,
                )


def test_a_store_can_be_reopened_without_migrating_again(settings: Settings) -> None:
    open_store(settings).close()
    reopened = open_store(settings, create=False)
    try:
        current, head = reopened.revision()
        assert current == head
    finally:
        reopened.close()
