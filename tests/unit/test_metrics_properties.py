"""Properties of the KPI figures over random small data sets (Hypothesis).

One store is reused: each example empties the tables it writes and inserts its records
directly, so an example costs a few queries rather than an ingest.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyclerk.metrics import MetricResult, catalogue, compute, open_context
from tallyclerk.settings import Settings
from tallyclerk.store import CANONICAL_TABLES, Store
from tallyclerk.store.schema import disputes
from tests.support import tiny_store

BASE = datetime(2026, 3, 2, tzinfo=UTC)  # a Monday; DST starts 03-08, 03-31 is a holiday
SPAN_MINUTES = 35 * 24 * 60
# Every rate KPI of the catalogue, including those whose tables these examples leave empty.
RATE_METRICS = tuple(m.name for m in catalogue() if m.unit == "rate")
KINDS = (
    "orders",
    "order_lines",
    "releases",
    "shipments",
    "shipment_lines",
    "inventory_snapshots",
    "receipts",
    "adjustments",
    "returns",
    "invoice_lines",
)
PROPERTY_SETTINGS = settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

minutes = st.integers(0, SPAN_MINUTES)
maybe_minutes = st.none() | minutes
skus = st.sampled_from(("A", "B"))


def _at(minute: int) -> datetime:
    return BASE + timedelta(minutes=minute)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = tiny_store(tmp_path_factory.mktemp("properties"))
    try:
        yield opened
    finally:
        opened.close()


def _replace(store: Store, records: Mapping[str, Sequence[Mapping[str, Any]]]) -> None:
    """Empty the tables the examples write and insert this example's records."""
    with store.begin() as connection:
        for kind in reversed(KINDS):
            connection.execute(CANONICAL_TABLES[kind].delete())
        connection.execute(disputes.delete())
        for kind in KINDS:
            if records.get(kind):
                connection.execute(CANONICAL_TABLES[kind].insert(), list(records[kind]))
        if records.get("disputes"):
            connection.execute(disputes.insert(), list(records["disputes"]))


def _figures(store: Store, names: Sequence[str], as_of: datetime) -> list[MetricResult]:
    settings_: Settings | None = getattr(store, "settings", None)
    with open_context(store, as_of=as_of, settings=settings_) as ctx:
        return compute(ctx, list(names))


def _orders(
    specs: Sequence[tuple[int, int | None]], prefix: str = "o"
) -> dict[str, list[dict[str, Any]]]:
    """Orders of one unit released at a minute and shipped some minutes later (or never)."""
    records: dict[str, list[dict[str, Any]]] = {
        k: [] for k in ("orders", "order_lines", "releases", "shipments", "shipment_lines")
    }
    for i, (released, delay) in enumerate(specs):
        order_id = f"{prefix}{i}"
        records["orders"].append({"order_id": order_id, "placed_at": _at(released)})
        records["order_lines"].append({"order_id": order_id, "line_no": 1, "sku": "A", "qty": 1})
        records["releases"].append(
            {
                "order_id": order_id,
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "released_at": _at(released),
            }
        )
        if delay is not None:
            records["shipments"].append(
                {
                    "shipment_id": f"s-{order_id}",
                    "order_id": order_id,
                    "provider_id": "westcoast",
                    "facility_id": "LAX1",
                    "shipped_at": _at(released + delay),
                    "packaging": "box_small",
                    "shipping_cost": Decimal("5.00"),
                }
            )
            records["shipment_lines"].append({"shipment_id": f"s-{order_id}", "sku": "A", "qty": 1})
    return records


order_specs = st.lists(
    st.tuples(minutes, st.none() | st.integers(1, 5 * 24 * 60)), min_size=0, max_size=6
)


@st.composite
def data_sets(draw: st.DrawFn) -> dict[str, list[dict[str, Any]]]:
    """Records of every kind the rate KPIs read, on a few weeks around DST and a holiday."""
    records = _orders(draw(order_specs))
    snapshot_minutes = draw(st.lists(minutes, min_size=0, max_size=3, unique=True))
    records["inventory_snapshots"] = [
        {
            "provider_id": "westcoast",
            "facility_id": "LAX1",
            "as_of": _at(m),
            "sku": sku,
            "on_hand": draw(st.integers(0, 12)),
        }
        for m in snapshot_minutes
        for sku in draw(st.sets(skus, min_size=1))
    ]
    records["adjustments"] = [
        {
            "adjustment_id": f"adj{i}",
            "provider_id": "westcoast",
            "facility_id": "LAX1",
            "sku": sku,
            "qty_delta": delta,
            "occurred_at": _at(m),
            "approved": approved,
        }
        for i, (sku, delta, m, approved) in enumerate(
            draw(st.lists(st.tuples(skus, st.integers(-3, 3), minutes, st.booleans()), max_size=3))
        )
    ]
    records["receipts"] = [
        {
            "receipt_id": f"r{i}",
            "provider_id": "westcoast",
            "facility_id": "LAX1",
            "sku": sku,
            "received_qty": qty,
            "arrived_at": None if arrived is None else _at(arrived),
            "stocked_at": None if stocked is None else _at(stocked),
        }
        for i, (sku, qty, arrived, stocked) in enumerate(
            draw(
                st.lists(
                    st.tuples(skus, st.integers(0, 9), maybe_minutes, maybe_minutes), max_size=4
                )
            )
        )
    ]
    records["returns"] = [
        {
            "return_id": f"m{i}",
            "provider_id": "westcoast",
            "facility_id": "LAX1",
            "sku": sku,
            "qty": 1,
            "received_at": _at(received),
            "processed_at": None if processed is None else _at(processed),
            "disposition": disposition,
        }
        for i, (sku, received, processed, disposition) in enumerate(
            draw(
                st.lists(
                    st.tuples(
                        skus, minutes, maybe_minutes, st.sampled_from(("restock", "dispose"))
                    ),
                    max_size=4,
                )
            )
        )
    ]
    references = ("o0", "o1", "r0", "m0", "2026-03", "nope", None)
    charges = ("pick_pack", "additional_unit", "packaging", "shipping", "storage", "receiving")
    records["invoice_lines"] = [
        {
            "invoice_id": f"INV-{invoice}",
            "line_no": i + 1,
            "provider_id": "westcoast",
            "invoice_date": (BASE + timedelta(days=day)).date(),
            "period_start": (BASE + timedelta(days=day - 20)).date() if dated else None,
            "charge_type": charge,
            "reference": reference,
            "quantity": Decimal(qty),
            "unit_rate": rate,
            "amount": Decimal(qty) * rate + off,
            "currency": "USD",
        }
        for i, (invoice, day, dated, charge, reference, qty, rate, off) in enumerate(
            draw(
                st.lists(
                    st.tuples(
                        st.integers(1, 2),
                        st.integers(0, 35),
                        st.booleans(),
                        st.sampled_from((*charges, "returns", "other")),
                        st.sampled_from(references),
                        st.integers(0, 3),
                        st.sampled_from((Decimal("3.00"), Decimal("0.85"), Decimal("5.00"))),
                        st.sampled_from((Decimal(0), Decimal("0.01"))),
                    ),
                    max_size=6,
                )
            )
        )
    ]
    records["disputes"] = [
        {
            "dispute_id": f"d{i}",
            "provider_id": "westcoast",
            "opened_at": _at(opened),
            "subject": "invoice line",
            "status": "open",
            "responded_at": None if responded is None else _at(responded),
        }
        for i, (opened, responded) in enumerate(
            draw(st.lists(st.tuples(minutes, maybe_minutes), max_size=3))
        )
    ]
    return records


@PROPERTY_SETTINGS
@given(records=data_sets(), clock=minutes)
def test_rates_are_shares(store: Store, records: dict[str, list[Any]], clock: int) -> None:
    _replace(store, records)
    for result in _figures(store, RATE_METRICS, _at(clock)):
        assert 0 <= result.numerator <= result.denominator, result
        assert result.denominator > 0, result  # an empty period gives no figure at all
        assert result.value is not None, result
        assert 0.0 <= result.value <= 1.0, result


@PROPERTY_SETTINGS
@given(
    specs=order_specs,
    added=minutes,
    clock=st.integers(10, SPAN_MINUTES + 10 * 24 * 60),
)
def test_an_on_time_order_never_lowers_ship_on_time(
    store: Store, specs: list[tuple[int, int | None]], added: int, clock: int
) -> None:
    added = min(added, clock - 2)  # released, and shipped a minute later, by the clock
    records = _orders(specs)
    _replace(store, records)
    before = {r.period: r for r in _figures(store, ["ship_on_time_rate"], _at(clock))}
    extra = _orders([(added, 1)], prefix="extra")
    _replace(store, {k: [*records[k], *extra[k]] for k in records})
    after = {r.period: r for r in _figures(store, ["ship_on_time_rate"], _at(clock))}
    changed = [p for p in after if p not in before or after[p] != before[p]]
    assert len(changed) == 1  # the new order's period, and only it
    (period,) = changed
    assert after[period].numerator == (before[period].numerator if period in before else 0) + 1
    assert after[period].value is not None
    assert period not in before or after[period].value >= (before[period].value or 0)
