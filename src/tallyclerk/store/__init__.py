"""The store: SQLAlchemy schema, engines, migrations, bulk Arrow loads and Parquet export."""

from __future__ import annotations

from tallyclerk.store._store import Store, open_store
from tallyclerk.store.schema import CANONICAL_TABLES, metadata

__all__ = ["CANONICAL_TABLES", "Store", "metadata", "open_store"]
