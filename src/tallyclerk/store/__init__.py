"""The store: SQLAlchemy schema, engines, migrations, bulk Arrow loads and Parquet export."""

from __future__ import annotations

from tallyclerk.store._engine import StoreUnavailableError
from tallyclerk.store._gate import StoreBusyError, StoreGate, is_lock_conflict, open_waiting
from tallyclerk.store._store import Store, open_store
from tallyclerk.store.schema import CANONICAL_TABLES, metadata

__all__ = [
    "CANONICAL_TABLES",
    "Store",
    "StoreBusyError",
    "StoreGate",
    "StoreUnavailableError",
    "is_lock_conflict",
    "metadata",
    "open_store",
    "open_waiting",
]
