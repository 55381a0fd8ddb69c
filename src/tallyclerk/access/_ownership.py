"""Whose records a provider user's data would change: refused before anything lands.

Natural keys are the store's, not a provider's: a shipment id sent by one 3PL that another
3PL's shipment already holds would update that shipment (and make it the sender's). So data
sent by a provider user is checked against the store first: a record may not take a key held
by another owner (another provider, or the brand), nor point at another provider's facility,
shipment or parcel.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from tallyclerk.access._principal import AccessError
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.store.schema import CANONICAL_TABLES, facilities

_CHUNK = 1000  # values per IN list
_SHOWN = 3  # foreign records named in the message


@dataclass(frozen=True, slots=True)
class _Owned:
    """A column of the records that names something owned: where its owner is kept."""

    column: str  # the records' column
    table: sa.Table
    key: str  # the column of `table` the value is looked up in
    what: str  # how a person calls it


_CALLED = {
    "shipment_id": "shipment",
    "receipt_id": "receipt",
    "adjustment_id": "adjustment",
    "return_id": "return",
    "invoice_id": "invoice",
    "audit_id": "audit",
    "order_id": "order",
}


def _lookups(kind: str) -> list[_Owned]:
    """The owned things a record of `kind` names (its own key among them)."""
    spec = KINDS_BY_NAME.get(kind)
    if spec is None:
        return []
    table = CANONICAL_TABLES[kind]
    shipments = CANONICAL_TABLES["shipments"]
    found: list[_Owned] = []
    if "facility_id" in spec.column_names:
        found.append(_Owned("facility_id", facilities, "facility_id", "facility"))
    first = spec.key[0]
    if "provider_id" in spec.column_names and "provider_id" not in spec.key:
        found.append(_Owned(first, table, first, _CALLED.get(first, first)))
    if kind == "shipment_lines":
        found.append(_Owned("shipment_id", shipments, "shipment_id", "shipment"))
    if kind == "tracking_events":
        found.append(_Owned("tracking_number", shipments, "tracking_number", "parcel"))
    return found


def _values(records: Iterable[Mapping[Any, object]], column: str) -> list[str]:
    """The distinct values of `column`, as given and trimmed the ways the reader trims."""
    seen: set[str] = set()
    for record in records:
        for key, value in record.items():
            if str(key).strip().lower() != column or value is None:
                continue
            text = str(value)
            seen.update(v for v in (text, text.strip(" "), text.strip()) if v)
    return sorted(seen)


def _chunks(values: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def foreign_records(
    connection: sa.Connection,
    provider_id: str,
    kind: str,
    records: Sequence[Mapping[Any, object]],
) -> list[str]:
    """What of `records` (canonical records of `kind`, as sent) belongs to another owner.

    Each item names one thing: "shipment SHP-1 (another provider's)". Empty: nothing is
    anyone else's. Records of a kind the store does not know are left to ingestion.
    """
    found: list[str] = []
    for owned in _lookups(kind):
        values = _values(records, owned.column)
        key = owned.table.c[owned.key]
        owner = owned.table.c.provider_id
        for chunk in _chunks(values):
            rows = connection.execute(
                sa.select(key, owner)
                .where(key.in_(chunk), sa.or_(owner.is_(None), owner != provider_id))
                .distinct()
                .order_by(key)
            ).all()
            for value, holder in rows:
                whose = "the brand's" if holder is None else "another provider's"
                found.append(f"{owned.what} {value} ({whose})")
    return found


def check_own_records(
    connection: sa.Connection,
    provider_id: str,
    kind: str,
    records: Sequence[Mapping[Any, object]],
) -> None:
    """Refuse (403) records of a provider user that would change another owner's records."""
    found = foreign_records(connection, provider_id, kind, records)
    if found:
        more = len(found) - _SHOWN
        shown = ", ".join(found[:_SHOWN]) + (f" and {more} more" if more > 0 else "")
        raise AccessError(
            f"{kind}: {shown} {'is' if len(found) == 1 else 'are'} not {provider_id}'s to "
            "change; nothing was taken"
        )
