"""invoice_accuracy_rate on tiny hand-computed invoices (westcoast rate card).

Version 1 (from 2026-01-01): pick_pack 3.00, additional_unit 0.75, packaging poly_mailer 0.35 /
box_small 0.85 / box_medium 1.25, storage 25.00, receiving 0.25, returns 3.50, no markup.
Version 2 (from 2026-04-01): pick_pack 3.20 and a 5% shipping markup.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from tallyclerk.contracts import load_contract, parse_contract
from tallyclerk.metrics import open_context
from tallyclerk.metrics._billing import contract_rates_table, invoice_line_checks
from tallyclerk.store import Store
from tests.support import EASTBRIDGE, WESTCOAST, figures, items, tiny_store

V2 = (
    WESTCOAST.read_text(encoding="utf-8")
    .replace("effective: 2026-01-01", "effective: 2026-04-01")
    .replace("pick_pack: 3.00", "pick_pack: 3.20")
    .replace("shipping_markup_pct: 0", "shipping_markup_pct: 5")
)
AFTER = datetime(2026, 6, 1, tzinfo=UTC)
CHECKS = ("reference_ok", "rate_ok", "amount_ok", "quantity_ok", "first_copy")


def _shipment(
    shipment_id: str, order_id: str, day: str, packaging: str, cost: str, provider: str = "west"
) -> dict[str, Any]:
    east = provider == "east"
    return {
        "shipment_id": shipment_id,
        "order_id": order_id,
        "provider_id": "eastbridge" if east else "westcoast",
        "facility_id": "EWR1" if east else "LAX1",
        "shipped_at": f"{day}T15:00:00{'-05:00' if east else '-08:00'}",
        "packaging": packaging,
        "shipping_cost": cost,
    }


MARCH = {"invoice_date": "2026-04-05", "period_start": "2026-03-01", "period_end": "2026-03-31"}
APRIL = {"invoice_date": "2026-05-05", "period_start": "2026-04-01", "period_end": "2026-04-30"}
UNDATED = {"invoice_date": "2026-04-10"}  # no period: the invoice date places it


def _line(
    invoice: str,
    no: int,
    dates: dict[str, str],
    charge: str,
    ref: str | None,
    qty: str,
    rate: str,
    amount: str,
    currency: str = "USD",
) -> dict[str, Any]:
    return {
        "invoice_id": invoice,
        "line_no": no,
        "provider_id": "westcoast",
        **dates,
        "charge_type": charge,
        "reference": ref,
        "quantity": qty,
        "unit_rate": rate,
        "amount": amount,
        "currency": currency,
    }


# Expected failures per line (empty: the line matches).
INVOICE_LINES: list[tuple[dict[str, Any], set[str]]] = [
    (_line("INV-1", 1, MARCH, "pick_pack", "o1", "1", "3.00", "3.00"), set()),
    (_line("INV-1", 2, MARCH, "additional_unit", "o1", "1", "0.75", "0.75"), set()),
    (_line("INV-1", 3, MARCH, "packaging", "o1", "1", "0.85", "0.85"), set()),
    (_line("INV-1", 4, MARCH, "shipping", "o1", "1", "7.10", "7.10"), set()),
    (_line("INV-1", 5, MARCH, "pick_pack", "o2", "1", "3.00", "3.00"), set()),
    (_line("INV-1", 6, MARCH, "additional_unit", "o2", "2", "0.75", "1.50"), set()),
    # o2 went out in two parcels of two types: one packaging line per type.
    (_line("INV-1", 7, MARCH, "packaging", "o2", "1", "0.35", "0.35"), set()),
    (_line("INV-1", 8, MARCH, "packaging", "o2", "1", "0.85", "0.85"), set()),
    (_line("INV-1", 9, MARCH, "shipping", "o2", "1", "9.55", "9.55"), set()),
    (_line("INV-1", 10, MARCH, "receiving", "R1", "40", "0.25", "10.00"), set()),
    (_line("INV-1", 11, MARCH, "returns", "RMA1", "3", "3.50", "10.50"), set()),
    (_line("INV-1", 12, MARCH, "storage", "2026-03", "12", "25.00", "300.00"), set()),
    (_line("INV-1", 13, MARCH, "other", "credit", "1", "-5.00", "-5.00"), set()),
    # Mismatches, one route each.
    (_line("INV-1", 14, MARCH, "pick_pack", "o1", "1", "3.00", "3.00"), {"first_copy"}),
    (_line("INV-1", 15, MARCH, "additional_unit", "o8", "3", "0.75", "2.25"), {"quantity_ok"}),
    (_line("INV-1", 16, MARCH, "pick_pack", "o4", "1", "3.00", "3.00"), {"reference_ok"}),
    # o3 was shipped, but by eastbridge.
    (_line("INV-1", 17, MARCH, "pick_pack", "o3", "1", "3.00", "3.00"), {"reference_ok"}),
    (_line("INV-1", 18, MARCH, "receiving", "R9", "5", "0.25", "1.25"), {"reference_ok"}),
    (_line("INV-1", 19, MARCH, "storage", "2026-13", "1", "25.00", "25.00"), {"reference_ok"}),
    (_line("INV-1", 20, MARCH, "returns", "RMA2", "1", "3.00", "3.00"), {"rate_ok"}),
    # box_medium is not how o1 was packed.
    (_line("INV-1", 21, MARCH, "packaging", "o1", "1", "1.25", "1.25"), {"rate_ok"}),
    (_line("INV-1", 22, MARCH, "pick_pack", "o5", "1", "3.00", "3.01"), {"amount_ok"}),
    (_line("INV-1", 23, MARCH, "other", "fee", "2", "1.50", "3.50"), {"amount_ok"}),
    # April, under version 2.
    (_line("INV-2", 1, APRIL, "pick_pack", "o1", "1", "3.00", "3.00"), {"rate_ok", "first_copy"}),
    (_line("INV-2", 2, APRIL, "pick_pack", "o6", "1", "3.20", "3.20"), set()),
    # 4.50 x 1.05 = 4.725, rounded half up to 4.73.
    (_line("INV-2", 3, APRIL, "shipping", "o6", "1", "4.73", "4.73"), set()),
    (_line("INV-2", 4, APRIL, "shipping", "o7", "1", "4.72", "4.72"), {"rate_ok"}),
    (_line("INV-3", 1, UNDATED, "pick_pack", "o7", "1", "3.20", "3.20"), set()),
    (_line("INV-3", 2, UNDATED, "storage", "2026-04", "10", "25.00", "250.00", "EUR"), {"rate_ok"}),
]


def _store(tmp_path: Path, url: str | None = None) -> Store:
    orders = ("o1", "o2", "o3", "o5", "o6", "o7", "o8")
    return tiny_store(
        tmp_path,
        url=url,
        contracts=(WESTCOAST, V2, EASTBRIDGE),
        orders=[{"order_id": o, "placed_at": "2026-03-02T08:00:00-08:00"} for o in orders],
        shipments=[
            _shipment("s1", "o1", "2026-03-04", "box_small", "7.10"),
            _shipment("s2", "o2", "2026-03-05", "poly_mailer", "4.00"),
            _shipment("s3", "o2", "2026-03-05", "box_small", "5.55"),
            _shipment("s4", "o3", "2026-03-05", "box_small", "5.00", provider="east"),
            _shipment("s5", "o5", "2026-03-06", "poly_mailer", "3.00"),
            _shipment("s6", "o6", "2026-04-02", "box_small", "4.50"),
            _shipment("s7", "o7", "2026-04-03", "box_small", "4.50"),
            _shipment("s8", "o8", "2026-03-06", "box_small", "6.00"),  # 3 units
        ],
        shipment_lines=[
            {"shipment_id": "s1", "sku": "A", "qty": 2},
            {"shipment_id": "s2", "sku": "A", "qty": 1},
            {"shipment_id": "s3", "sku": "B", "qty": 2},
            *({"shipment_id": s, "sku": "A", "qty": 1} for s in ("s4", "s5", "s6", "s7")),
            {"shipment_id": "s8", "sku": "C", "qty": 3},
        ],
        receipts=[
            {
                "receipt_id": "R1",
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "sku": sku,
                "received_qty": qty,
                "arrived_at": "2026-03-10T09:00:00-07:00",
                "stocked_at": "2026-03-10T15:00:00-07:00",
            }
            for sku, qty in (("A", 30), ("B", 10))
        ],
        returns=[
            {
                "return_id": return_id,
                "provider_id": "westcoast",
                "facility_id": "LAX1",
                "sku": sku,
                "qty": qty,
                "received_at": "2026-03-20T09:00:00-07:00",
            }
            for return_id, sku, qty in (("RMA1", "A", 2), ("RMA1", "B", 1), ("RMA2", "A", 1))
        ],
        invoice_lines=[line for line, _ in INVOICE_LINES],
    )


def _checks(store: Store, as_of: datetime = AFTER) -> dict[str, dict[str, Any]]:
    settings = getattr(store, "settings", None)
    with open_context(store, as_of=as_of, settings=settings) as ctx:
        rows = invoice_line_checks(ctx).to_pyarrow().to_pylist()
    return {f"{r['invoice_id']}|{r['line_no']}": r for r in rows}


def test_each_mismatch_route(tmp_path: Path, store_url: str) -> None:
    with _store(tmp_path, store_url) as store:
        checks = _checks(store)
    failing = {key: {c for c in CHECKS if not row[c]} for key, row in checks.items()}
    expected = {f"{line['invoice_id']}|{line['line_no']}": fails for line, fails in INVOICE_LINES}
    assert failing == expected
    assert all(row["matched"] is (not failing[key]) for key, row in checks.items())
    assert checks["INV-1|9"]["expected_rate"] == Decimal("9.55")
    assert checks["INV-2|3"]["expected_rate"] == Decimal("4.73")
    assert checks["INV-1|6"]["expected_quantity"] == 2


def test_figures_by_billed_period(tmp_path: Path) -> None:
    store = _store(tmp_path)
    march, april = figures(store, "invoice_accuracy_rate", AFTER)
    assert (march.period, march.numerator, march.denominator) == (date(2026, 3, 1), 13, 23)
    assert (april.period, april.numerator, april.denominator) == (date(2026, 4, 1), 3, 6)
    assert april.ids == ("INV-2|2", "INV-2|3", "INV-3|1")
    rows = items(store, "invoice_accuracy_rate", AFTER)
    periods = {r["item_id"]: r["period_date"] for r in rows}
    assert periods["INV-1|1"] == date(2026, 3, 1)
    assert periods["INV-3|1"] == date(2026, 4, 10)  # no period_start: the invoice date
    assert {(r["provider_id"], r["facility_id"]) for r in rows} == {("westcoast", None)}


def test_an_invoice_not_issued_yet_does_not_count(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert figures(store, "invoice_accuracy_rate", datetime(2026, 4, 4, tzinfo=UTC)) == []
    march, april = figures(store, "invoice_accuracy_rate", datetime(2026, 5, 1, tzinfo=UTC))
    assert (march.numerator, march.denominator) == (13, 23)
    # INV-2 (dated 05-05) is not issued yet: only INV-3 is in April so far.
    assert (april.numerator, april.denominator) == (1, 2)


def test_rates_table_from_contract_versions() -> None:
    versions = [load_contract(WESTCOAST), parse_contract(V2, "v2.yaml")]
    table = contract_rates_table({"westcoast": versions}).to_pylist()
    pick = [
        (r["valid_from"], r["valid_until"], r["rate"])
        for r in table
        if r["charge_type"] == "pick_pack"
    ]
    assert pick == [
        (None, date(2026, 4, 1), Decimal("3.0000")),
        (date(2026, 4, 1), None, Decimal("3.2000")),
    ]
    shipping = [(r["rate"], r["per"]) for r in table if r["charge_type"] == "shipping"]
    assert shipping == [(Decimal(1), "carrier_cost"), (Decimal("1.05"), "carrier_cost")]
    packaging = {r["packaging"]: r["rate"] for r in table if r["charge_type"] == "packaging"}
    assert packaging == {
        "box_medium": Decimal("1.2500"),
        "box_small": Decimal("0.8500"),
        "poly_mailer": Decimal("0.3500"),
    }


def test_rates_can_be_handed_in(tmp_path: Path) -> None:
    store = _store(tmp_path)
    # Only version 1 handed in: April's 3.20 pick_pack lines no longer match.
    rates = contract_rates_table({"westcoast": [load_contract(WESTCOAST)]})
    settings = getattr(store, "settings", None)
    with open_context(store, as_of=AFTER, settings=settings) as ctx:
        rows = invoice_line_checks(ctx, rates).to_pyarrow().to_pylist()
    matched = {f"{r['invoice_id']}|{r['line_no']}" for r in rows if r["matched"]}
    assert "INV-2|2" not in matched
    assert "INV-1|1" in matched


def test_no_invoices_no_figure(tmp_path: Path) -> None:
    assert figures(tiny_store(tmp_path), "invoice_accuracy_rate", AFTER) == []
