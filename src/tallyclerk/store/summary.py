"""What the store holds: row counts per kind, providers and their activity, data range."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from tallyclerk.domain import KINDS
from tallyclerk.store.schema import (
    CANONICAL_TABLES,
    contracts,
    facilities,
    ingestion_batches,
    providers,
    quarantine,
)


@dataclass(frozen=True, slots=True)
class ProviderSummary:
    """One 3PL: its facilities, contract versions and volume handed to it."""

    provider_id: str
    name: str | None
    facilities: tuple[str, ...]
    contract_versions: int
    releases: int
    shipments: int


@dataclass(frozen=True, slots=True)
class StoreSummary:
    """A snapshot of the store for `tallyclerk status` and the demo."""

    rows: dict[str, int]
    providers: tuple[ProviderSummary, ...]
    first_order_at: datetime | None
    last_order_at: datetime | None
    batches: int
    open_quarantine: int


def _per_provider(connection: sa.Connection, column: sa.ColumnElement[str]) -> dict[str, int]:
    rows = connection.execute(sa.select(column, sa.func.count()).group_by(column))
    return {str(key): int(n) for key, n in rows}


def _count(connection: sa.Connection, table: sa.Table) -> int:
    return int(connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def summarize(connection: sa.Connection) -> StoreSummary:
    """Count what the store holds."""
    rows = {k.name: _count(connection, CANONICAL_TABLES[k.name]) for k in KINDS}
    releases = CANONICAL_TABLES["releases"]
    shipments = CANONICAL_TABLES["shipments"]
    released = _per_provider(connection, releases.c.provider_id)
    shipped = _per_provider(connection, shipments.c.provider_id)
    versions = _per_provider(connection, contracts.c.provider_id)
    sites: dict[str, list[str]] = {}
    for facility_id, provider_id in connection.execute(
        sa.select(facilities.c.facility_id, facilities.c.provider_id).order_by(
            facilities.c.facility_id
        )
    ):
        sites.setdefault(provider_id, []).append(facility_id)
    names = {
        str(pid): name
        for pid, name in connection.execute(sa.select(providers.c.provider_id, providers.c.name))
    }
    provider_ids = sorted(set(names) | set(released) | set(shipped))
    orders = CANONICAL_TABLES["orders"]
    first, last = connection.execute(
        sa.select(sa.func.min(orders.c.placed_at), sa.func.max(orders.c.placed_at))
    ).one()
    return StoreSummary(
        rows=rows,
        providers=tuple(
            ProviderSummary(
                provider_id=pid,
                name=names.get(pid),
                facilities=tuple(sites.get(pid, ())),
                contract_versions=int(versions.get(pid, 0)),
                releases=int(released.get(pid, 0)),
                shipments=int(shipped.get(pid, 0)),
            )
            for pid in provider_ids
        ),
        first_order_at=first,
        last_order_at=last,
        batches=_count(connection, ingestion_batches),
        open_quarantine=int(
            connection.execute(
                sa.select(sa.func.count())
                .select_from(quarantine)
                .where(quarantine.c.status == "open")
            ).scalar_one()
        ),
    )
