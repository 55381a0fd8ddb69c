"""Documents the brand sends: 940 warehouse shipping orders for released orders, and the outbox.

`release_940s` writes one 940 per order released to a provider: by default the releases that
have no 940 yet, or every release since a time when asked. Each interchange takes its control
number from the store's sequence, so numbers never repeat, and each document is kept in the
store (`outbound_documents`) as well as written to the directory.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import sqlalchemy as sa

from tallyclerk.errors import InputError
from tallyclerk.ingest._documents import _draw_control, store_outbound
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store
from tallyclerk.store.schema import CANONICAL_TABLES, outbound_documents


@dataclass
class ReleaseRun:
    """What `release_940s` wrote."""

    provider_id: str
    written: list[Path] = field(default_factory=list)
    orders: list[str] = field(default_factory=list)
    without_lines: list[str] = field(default_factory=list)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def release_940s(
    store: Store,
    provider_id: str,
    out_dir: Path,
    *,
    since: datetime | None = None,
    settings: Settings | None = None,
    limit: int | None = None,
) -> ReleaseRun:
    """Write a 940 for each order released to `provider_id` (see the module docstring)."""
    from tallyclerk.connectors.x12 import load_profile
    from tallyclerk.connectors.x12._940 import ReleaseOrder, write_940s
    from tallyclerk.connectors.x12._writer import Party

    settings = settings or get_settings()
    releases = CANONICAL_TABLES["releases"]
    orders = CANONICAL_TABLES["orders"]
    lines = CANONICAL_TABLES["order_lines"]
    sent = outbound_documents.c
    run = ReleaseRun(provider_id)
    with store.begin() as connection:
        known = connection.execute(
            sa.select(sa.func.count()).where(releases.c.provider_id == provider_id)
        ).scalar_one()
        if not known:
            raise InputError(f"no order has been released to provider {provider_id!r}")
        query = (
            sa.select(
                releases.c.order_id,
                releases.c.facility_id,
                releases.c.released_at,
                orders.c.ship_to_country,
                orders.c.ship_to_postal,
                orders.c.service_level,
                orders.c.promised_delivery_date,
            )
            .select_from(releases.outerjoin(orders, orders.c.order_id == releases.c.order_id))
            .where(releases.c.provider_id == provider_id)
            .order_by(releases.c.released_at, releases.c.order_id)
        )
        if since is not None:
            query = query.where(releases.c.released_at >= since)
        else:
            already = sa.exists().where(
                sent.document == "940",
                sent.partner == provider_id,
                sent.reference == releases.c.order_id,
            )
            query = query.where(~already)
        if limit is not None:
            query = query.limit(limit)
        found = connection.execute(query).all()
        order_ids = [row.order_id for row in found]
        by_order: dict[str, list[tuple[int, str, int]]] = defaultdict(list)
        for chunk_start in range(0, len(order_ids), 5000):
            chunk = order_ids[chunk_start : chunk_start + 5000]
            for order_id, line_no, sku, qty in connection.execute(
                sa.select(lines.c.order_id, lines.c.line_no, lines.c.sku, lines.c.qty)
                .where(lines.c.order_id.in_(chunk))
                .order_by(lines.c.order_id, lines.c.line_no)
            ):
                by_order[order_id].append((int(line_no), str(sku), int(qty)))
        profile_path = settings.connectors.profiles_dir / f"{provider_id}.yaml"
        profile = load_profile(profile_path) if profile_path.is_file() else None
        receiver_id = (getattr(profile, "interchange_id", None) or provider_id).upper()[:15]
        sender = Party(settings.brand.edi_qualifier, settings.brand.edi_id)
        receiver = Party("ZZ", receiver_id)
        now = datetime.now(UTC)
        for row in found:
            order_lines = by_order.get(row.order_id, [])
            if not order_lines:
                run.without_lines.append(row.order_id)
                continue
            promised = row.promised_delivery_date
            order = ReleaseOrder(
                order_id=row.order_id,
                provider_id=provider_id,
                facility_id=row.facility_id,
                released_at=_aware(row.released_at),
                lines=order_lines,
                ship_to_country=row.ship_to_country,
                ship_to_postal=row.ship_to_postal,
                service_level=row.service_level,
                promised_delivery_date=promised if isinstance(promised, date) else None,
            )
            documents = write_940s(
                [order],
                sender=sender,
                receiver=receiver,
                first_control=_draw_control(connection),
                at=now,
            )
            run.written += store_outbound(connection, documents, batch_id=None, out_dir=out_dir)
            run.orders.append(row.order_id)
    return run


@dataclass(frozen=True, slots=True)
class OutboundRow:
    """One document in the outbox."""

    document_id: int
    document: str
    partner: str | None
    control_number: str | None
    reference: str | None
    name: str
    created_at: datetime
    written_to: str | None


def list_outbound(
    store: Store, *, document: str | None = None, partner: str | None = None, limit: int = 50
) -> list[OutboundRow]:
    """The latest documents sent (or waiting to be), newest first."""
    d = outbound_documents.c
    query = sa.select(
        d.document_id,
        d.document,
        d.partner,
        d.control_number,
        d.reference,
        d.name,
        d.created_at,
        d.written_to,
    ).order_by(d.document_id.desc())
    if document is not None:
        query = query.where(d.document == document)
    if partner is not None:
        query = query.where(d.partner == partner)
    with store.connect() as connection:
        return [OutboundRow(*row) for row in connection.execute(query.limit(limit))]


def write_outbound(store: Store, out_dir: Path, *, document_ids: list[int]) -> list[Path]:
    """Write stored documents to a directory again (a partner lost one)."""
    d = outbound_documents.c
    written: list[Path] = []
    out_dir.mkdir(parents=True, exist_ok=True)
    with store.begin() as connection:
        rows = connection.execute(
            sa.select(d.document_id, d.name, d.content).where(d.document_id.in_(document_ids))
        ).all()
        missing = sorted(set(document_ids) - {int(r.document_id) for r in rows})
        if missing:
            raise InputError(f"no outbound document with id {', '.join(map(str, missing))}")
        for row in rows:
            path = out_dir / row.name
            path.write_text(row.content, encoding="utf-8")
            connection.execute(
                outbound_documents.update()
                .where(d.document_id == row.document_id)
                .values(written_to=str(path))
            )
            written.append(path)
    return written
