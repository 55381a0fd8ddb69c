"""`access.foreign_records`: what of a provider user's data would change another's records.

Checked against the store on both databases: a key held by another provider or by the
brand, another provider's facility, shipment or parcel is named; the user's own records and
new keys are not.
"""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from tallyclerk.access import AccessError, check_own_records, foreign_records
from tallyclerk.store import open_store
from tallyclerk.store.schema import CANONICAL_TABLES, facilities
from tests.api.conftest import ON_BOTH, PROVIDERS

pytestmark = ON_BOTH
OWN, OTHER = PROVIDERS


def _first(url: str, kind: str, provider: str) -> dict[str, Any]:
    table = CANONICAL_TABLES[kind]
    store = open_store(url=url)
    try:
        with store.connect() as connection:
            row = (
                connection.execute(sa.select(table).where(table.c.provider_id == provider).limit(1))
                .mappings()
                .one()
            )
    finally:
        store.close()
    return {k: None if v is None else str(v) for k, v in row.items() if k != "batch_id"}


@pytest.fixture(scope="module")
def owned(api_store: str) -> dict[str, dict[str, Any]]:
    """A shipment and a receipt line of each provider, and a facility of each."""
    store = open_store(url=api_store)
    try:
        with store.connect() as connection:
            query = sa.select(facilities.c.provider_id, facilities.c.facility_id)
            sites = dict(connection.execute(query).tuples().all())
    finally:
        store.close()
    return {
        provider: {
            "shipment": _first(api_store, "shipments", provider),
            "receipt": _first(api_store, "receipts", provider),
            "facility": sites[provider],
        }
        for provider in PROVIDERS
    }


def _found(url: str, kind: str, *records: dict[str, Any]) -> list[str]:
    store = open_store(url=url)
    try:
        with store.connect() as connection:
            return foreign_records(connection, OWN, kind, list(records))
    finally:
        store.close()


def test_another_providers_records_are_named(
    api_store: str, owned: dict[str, dict[str, Any]]
) -> None:
    theirs, mine = owned[OTHER], owned[OWN]
    shipment = {**theirs["shipment"], "provider_id": OWN, "facility_id": mine["facility"]}
    assert _found(api_store, "shipments", shipment) == [
        f"shipment {shipment['shipment_id']} (another provider's)"
    ]
    padded = {**shipment, "shipment_id": f"  {shipment['shipment_id']} "}
    assert _found(api_store, "shipments", padded)  # the reader trims: so does the check
    line = {"shipment_id": theirs["shipment"]["shipment_id"], "sku": "X", "qty": "1"}
    assert _found(api_store, "shipment_lines", line)
    scan = {"TRACKING_NUMBER": theirs["shipment"]["tracking_number"], "status": "delivered"}
    assert _found(api_store, "tracking_events", scan) == [
        f"parcel {scan['TRACKING_NUMBER']} (another provider's)"
    ]
    receipt = {**theirs["receipt"], "provider_id": OWN, "facility_id": mine["facility"]}
    assert _found(api_store, "receipts", receipt)
    stock = {"provider_id": OWN, "facility_id": theirs["facility"], "sku": "X"}
    assert _found(api_store, "inventory_snapshots", stock) == [
        f"facility {theirs['facility']} (another provider's)"
    ]


def test_own_and_new_records_are_not(api_store: str, owned: dict[str, dict[str, Any]]) -> None:
    mine = owned[OWN]
    new = {**mine["shipment"], "shipment_id": "SHP-NEW-1", "tracking_number": "1ZNEW"}
    assert _found(api_store, "shipments", mine["shipment"], new) == []
    assert _found(api_store, "shipment_lines", {"shipment_id": "SHP-NEW-1", "sku": "X"}) == []
    assert _found(api_store, "tracking_events", {"tracking_number": "1ZNEVERSEEN"}) == []
    assert _found(api_store, "receipts", mine["receipt"]) == []
    assert _found(api_store, "inventory_snapshots", {"facility_id": mine["facility"]}) == []
    assert _found(api_store, "no_such_kind", {"shipment_id": "x"}) == []


def test_the_check_refuses_and_names_them(api_store: str, owned: dict[str, dict[str, Any]]) -> None:
    theirs = owned[OTHER]["shipment"]
    store = open_store(url=api_store)
    try:
        with store.connect() as connection:
            with pytest.raises(AccessError, match="not eastbridge's to change"):
                check_own_records(connection, OWN, "shipments", [theirs])
            check_own_records(connection, OWN, "shipments", [owned[OWN]["shipment"]])
    finally:
        store.close()
