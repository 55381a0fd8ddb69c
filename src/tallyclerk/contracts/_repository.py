"""Stored contract versions, and the providers and facilities they define. Nothing commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa

from tallyclerk.contracts._load import content_hash, parse_contract
from tallyclerk.contracts._schema import Contract
from tallyclerk.errors import InputError
from tallyclerk.store.schema import contracts, facilities, providers


@dataclass(frozen=True, slots=True)
class StoredContract:
    """One stored version of a provider's contract."""

    provider_id: str
    effective: date
    name: str | None
    currency: str
    source_name: str | None
    content_sha256: str
    added_at: datetime


def add_contract(connection: sa.Connection, contract: Contract, text: str, source_name: str) -> str:
    """Store a contract version by its effective date; returns 'added', 'replaced' or 'unchanged'.

    The provider's facilities are taken from its newest version, so that ingestion reads
    naive timestamps in the right time zone.
    """
    digest = content_hash(text)
    c = contracts.c
    existing = connection.execute(
        sa.select(c.content_sha256).where(
            c.provider_id == contract.provider, c.effective == contract.effective
        )
    ).first()
    if existing is not None and existing[0] == digest:
        return "unchanged"
    _check_facility_owners(connection, contract)
    values = {
        "name": contract.name,
        "currency": contract.currency,
        "source_name": source_name,
        "content_sha256": digest,
        "source_text": text,
        "added_at": datetime.now(UTC),
    }
    if existing is None:
        connection.execute(
            contracts.insert().values(
                provider_id=contract.provider, effective=contract.effective, **values
            )
        )
    else:
        connection.execute(
            contracts.update()
            .where(c.provider_id == contract.provider, c.effective == contract.effective)
            .values(**values)
        )
    _refresh_provider(connection, contract.provider)
    return "added" if existing is None else "replaced"


def _check_facility_owners(connection: sa.Connection, contract: Contract) -> None:
    f = facilities.c
    ids = [facility.id for facility in contract.facilities]
    rows = connection.execute(
        sa.select(f.facility_id, f.provider_id).where(
            f.facility_id.in_(ids), f.provider_id != contract.provider
        )
    ).all()
    if rows:
        taken = ", ".join(f"{fid} (provider {pid})" for fid, pid in rows)
        raise InputError(f"facility ids already belong to another provider: {taken}")


def _refresh_provider(connection: sa.Connection, provider_id: str) -> None:
    """Rewrite the provider's row and facilities from its newest contract version."""
    newest = latest_version(connection, provider_id)
    if newest is None:
        return
    connection.execute(providers.delete().where(providers.c.provider_id == provider_id))
    connection.execute(providers.insert().values(provider_id=provider_id, name=newest.name))
    connection.execute(facilities.delete().where(facilities.c.provider_id == provider_id))
    for facility in newest.facilities:
        connection.execute(
            facilities.insert().values(
                facility_id=facility.id,
                provider_id=provider_id,
                timezone=str(facility.timezone),
                country=facility.country,
                subdivision=facility.subdivision,
                cutoff=facility.cutoff.strftime("%H:%M"),
            )
        )


def stored_contracts(
    connection: sa.Connection, provider_id: str | None = None
) -> list[StoredContract]:
    """Stored contract versions, by provider and effective date."""
    c = contracts.c
    query = sa.select(
        c.provider_id, c.effective, c.name, c.currency, c.source_name, c.content_sha256, c.added_at
    ).order_by(c.provider_id, c.effective)
    if provider_id is not None:
        query = query.where(c.provider_id == provider_id)
    return [StoredContract(*row) for row in connection.execute(query)]


def contract_versions(connection: sa.Connection, provider_id: str) -> list[Contract]:
    """Every stored version of a provider's contract, parsed, oldest first."""
    c = contracts.c
    rows = connection.execute(
        sa.select(c.source_text, c.source_name)
        .where(c.provider_id == provider_id)
        .order_by(c.effective)
    )
    return [parse_contract(text, name or f"{provider_id} contract") for text, name in rows]


def latest_version(connection: sa.Connection, provider_id: str) -> Contract | None:
    """The provider's contract with the latest effective date, if any."""
    versions = contract_versions(connection, provider_id)
    return versions[-1] if versions else None
