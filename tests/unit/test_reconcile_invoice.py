"""The invoice audit on tiny hand-computed invoices.

westcoast rate card (from 2026-01-01): pick_pack 3.00, additional_unit 0.75, packaging
poly_mailer 0.35 / box_small 0.85 / box_medium 1.25, storage 25.00 per pallet-month,
receiving 0.25 per unit, returns 3.50 per unit, no shipping markup. This test gives westcoast
a second facility (ONT1) so that storage pallets are rounded up per facility.

Pallet sizes: A 10, C 20, D 3 units per pallet; N has none.

INV-1 bills March, INV-2 April, INV-3 May: the provider has invoiced 2026-03-01..05-31.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.errors import InputError
from tallyclerk.metrics import open_context
from tallyclerk.reconcile import dispute_finding, get_finding, run_findings
from tallyclerk.reconcile._invoice import (
    KINDS,
    InvoiceAudit,
    audit_invoices,
    audit_lines,
    storage_pallets,
)
from tallyclerk.store import Store
from tallyclerk.store.schema import disputes
from tests.support import WESTCOAST, tiny_store

AS_OF = datetime(2026, 7, 1, tzinfo=UTC)
TWO_SITES = WESTCOAST.read_text(encoding="utf-8").replace(
    '  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}',
    "  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, "
    'cutoff: "14:00"}\n'
    "  - {id: ONT1, timezone: America/Los_Angeles, country: US, subdivision: CA, "
    'cutoff: "14:00"}',
)
PT = "-07:00"  # Pacific daylight time (March 8 onwards)

MARCH = {"invoice_date": "2026-04-05", "period_start": "2026-03-01", "period_end": "2026-03-31"}
APRIL = {"invoice_date": "2026-05-05", "period_start": "2026-04-01", "period_end": "2026-04-30"}
MAY = {"invoice_date": "2026-06-05", "period_start": "2026-05-01", "period_end": "2026-05-31"}


def _line(
    invoice: str,
    no: int,
    dates: dict[str, str],
    charge: str,
    ref: str | None,
    qty: str,
    rate: str,
    amount: str,
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
        "currency": "USD",
    }


# (line, finding kind or None, expected amount, failed checks)
LINES: list[tuple[dict[str, Any], str | None, str, str | None]] = [
    (_line("INV-1", 1, MARCH, "pick_pack", "o1", "1", "3.00", "3.00"), None, "3.00", None),
    (_line("INV-1", 2, MARCH, "additional_unit", "o1", "1", "0.75", "0.75"), None, "0.75", None),
    (_line("INV-1", 3, MARCH, "packaging", "o1", "1", "0.85", "0.85"), None, "0.85", None),
    (_line("INV-1", 4, MARCH, "shipping", "o1", "1", "7.10", "7.10"), None, "7.10", None),
    (_line("INV-1", 5, MARCH, "pick_pack", "o2", "1", "3.00", "3.00"), None, "3.00", None),
    (_line("INV-1", 6, MARCH, "additional_unit", "o2", "2", "0.75", "1.50"), None, "1.50", None),
    (_line("INV-1", 7, MARCH, "packaging", "o2", "1", "0.35", "0.35"), None, "0.35", None),
    (_line("INV-1", 8, MARCH, "packaging", "o2", "1", "0.85", "0.85"), None, "0.85", None),
    (_line("INV-1", 9, MARCH, "shipping", "o2", "1", "9.55", "9.55"), None, "9.55", None),
    (_line("INV-1", 10, MARCH, "receiving", "R1", "40", "0.25", "10.00"), None, "10.00", None),
    (_line("INV-1", 11, MARCH, "returns", "RMA1", "3", "3.50", "10.50"), None, "10.50", None),
    # March: LAX1 5/10 + 10/20 = exactly 1 pallet, ONT1 1/3 -> 1: 2 pallets.
    (_line("INV-1", 12, MARCH, "storage", "2026-03", "2", "25.00", "50.00"), None, "50.00", None),
    (_line("INV-1", 13, MARCH, "other", "credit", "1", "-5.00", "-5.00"), None, "-5.00", None),
    # The same order's pick_pack again on the same invoice.
    (
        _line("INV-1", 14, MARCH, "pick_pack", "o1", "1", "3.00", "3.00"),
        "duplicate_charge",
        "0.00",
        "duplicate_charge",
    ),
    # o6 shipped 3 units: 2 additional.
    (
        _line("INV-1", 15, MARCH, "additional_unit", "o6", "3", "0.75", "2.25"),
        "wrong_quantity",
        "1.50",
        "wrong_quantity",
    ),
    (
        _line("INV-1", 16, MARCH, "pick_pack", "o4", "1", "3.00", "3.00"),
        "unknown_reference",
        "0.00",
        "unknown_reference",
    ),
    # RMA2 returned 1 unit at 3.50; billed 2 x 3.00 = 5.00 (and 2 x 3.00 is 6.00).
    (
        _line("INV-1", 17, MARCH, "returns", "RMA2", "2", "3.00", "5.00"),
        "wrong_rate",
        "3.50",
        "wrong_rate, wrong_quantity, wrong_amount",
    ),
    (
        _line("INV-1", 18, MARCH, "pick_pack", "o5", "1", "3.00", "3.01"),
        "wrong_amount",
        "3.00",
        "wrong_amount",
    ),
    # R2 received 8 units; billed 6 (under-billed).
    (
        _line("INV-1", 19, MARCH, "receiving", "R2", "6", "0.25", "1.50"),
        "wrong_quantity",
        "2.00",
        "wrong_quantity",
    ),
    # o5 went out in a poly_mailer only: box_medium billed, the poly_mailer is what is owed.
    (
        _line("INV-1", 20, MARCH, "packaging", "o5", "1", "1.25", "1.25"),
        "wrong_rate",
        "0.35",
        "wrong_rate",
    ),
    (
        _line("INV-1", 21, MARCH, "pick_pack", "o6", "2", "3.00", "6.00"),
        "wrong_quantity",
        "3.00",
        "wrong_quantity",
    ),
    # Billed before (line 6), at a wrong rate, with a wrong amount: one finding, the duplicate.
    (
        _line("INV-1", 22, MARCH, "additional_unit", "o2", "2", "0.80", "1.50"),
        "duplicate_charge",
        "0.00",
        "duplicate_charge, wrong_rate, wrong_amount",
    ),
    (_line("INV-2", 1, APRIL, "pick_pack", "o8", "1", "3.00", "3.00"), None, "3.00", None),
    # o2's pick_pack was on INV-1 already: a duplicate across invoices.
    (
        _line("INV-2", 2, APRIL, "pick_pack", "o2", "1", "3.00", "3.00"),
        "duplicate_charge",
        "0.00",
        "duplicate_charge",
    ),
    # April: LAX1 15/10 -> 2, ONT1 1/3 -> 1: 3 pallets (2 if rounded up only once).
    (
        _line("INV-2", 3, APRIL, "storage", "2026-04", "2", "25.00", "50.00"),
        "wrong_quantity",
        "75.00",
        "wrong_quantity",
    ),
    (
        _line("INV-2", 4, APRIL, "storage", "2026-13", "1", "25.00", "25.00"),
        "unknown_reference",
        "0.00",
        "unknown_reference",
    ),
    (_line("INV-3", 1, MAY, "other", "setup", "1", "10.00", "10.00"), None, "10.00", None),
]

# Activity with no line (subject, amount): inside 2026-03-01..05-31 only.
UNBILLED = {
    "o7": Decimal("-3.00"),  # shipped 03-08, no pick_pack
    "R3": Decimal("-3.00"),  # 12 units stocked 03-20
    "RMA3": Decimal("-7.00"),  # 2 units processed 04-10
    "2026-05": Decimal("-25.00"),  # LAX1 holds 1 pallet at May's last snapshot
}


def _shipment(sid: str, order: str, day: str, packaging: str, cost: str) -> dict[str, Any]:
    return {
        "shipment_id": sid,
        "order_id": order,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "shipped_at": f"{day}T15:00:00{PT}",
        "packaging": packaging,
        "shipping_cost": cost,
    }


def _snapshot(facility: str, day: str, sku: str, on_hand: int) -> dict[str, Any]:
    return {
        "provider_id": "westcoast",
        "facility_id": facility,
        "as_of": f"{day}T23:00:00{PT}",
        "sku": sku,
        "on_hand": on_hand,
        "available": on_hand,
        "damaged": 0,
    }


def _receipt(rid: str, sku: str, qty: int, day: str) -> dict[str, Any]:
    return {
        "receipt_id": rid,
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "sku": sku,
        "received_qty": qty,
        "arrived_at": f"{day}T09:00:00{PT}",
        "stocked_at": f"{day}T15:00:00{PT}",
    }


def _return(rid: str, sku: str, qty: int, day: str) -> dict[str, Any]:
    return {
        "return_id": rid,
        "order_id": "o1",
        "provider_id": "westcoast",
        "facility_id": "LAX1",
        "sku": sku,
        "qty": qty,
        "received_at": f"{day}T09:00:00{PT}",
        "processed_at": f"{day}T12:00:00{PT}",
    }


def _store(
    tmp_path: Path, url: str | None = None, lines: list[dict[str, Any]] | None = None
) -> Store:
    orders = [f"o{i}" for i in (1, 2, 5, 6, 7, 8, 9, 10)]
    return tiny_store(
        tmp_path,
        url=url,
        contracts=(TWO_SITES,),
        products=[
            {"sku": "A", "units_per_pallet": 10},
            {"sku": "B"},
            {"sku": "C", "units_per_pallet": 20},
            {"sku": "D", "units_per_pallet": 3},
        ],
        orders=[{"order_id": o, "placed_at": "2026-02-15T08:00:00-08:00"} for o in orders],
        shipments=[
            _shipment("s1", "o1", "2026-03-04", "box_small", "7.10"),
            _shipment("s2", "o2", "2026-03-05", "poly_mailer", "4.00"),
            _shipment("s3", "o2", "2026-03-05", "box_small", "5.55"),
            _shipment("s5", "o5", "2026-03-06", "poly_mailer", "3.00"),
            _shipment("s6", "o6", "2026-03-07", "box_small", "6.00"),
            _shipment("s7", "o7", "2026-03-08", "poly_mailer", "2.00"),
            _shipment("s8", "o8", "2026-04-02", "box_small", "4.00"),
            _shipment("s9", "o9", "2026-06-10", "box_small", "4.00"),  # after May: not due
            _shipment("s10", "o10", "2026-02-20", "box_small", "4.00"),  # before March
        ],
        shipment_lines=[
            {"shipment_id": "s1", "sku": "A", "qty": 2},
            {"shipment_id": "s2", "sku": "A", "qty": 1},
            {"shipment_id": "s3", "sku": "B", "qty": 2},
            {"shipment_id": "s5", "sku": "A", "qty": 1},
            {"shipment_id": "s6", "sku": "C", "qty": 3},
            *({"shipment_id": s, "sku": "A", "qty": 1} for s in ("s7", "s8", "s9", "s10")),
        ],
        receipts=[
            _receipt("R1", "A", 30, "2026-03-10"),
            _receipt("R1", "B", 10, "2026-03-10"),
            _receipt("R2", "A", 8, "2026-03-12"),
            _receipt("R3", "A", 12, "2026-03-20"),
            _receipt("R4", "A", 5, "2026-06-02"),  # after May: not due
        ],
        returns=[
            _return("RMA1", "A", 2, "2026-03-20"),
            _return("RMA1", "B", 1, "2026-03-20"),
            _return("RMA2", "A", 1, "2026-03-21"),
            _return("RMA3", "A", 2, "2026-04-10"),
        ],
        inventory_snapshots=[
            _snapshot("LAX1", "2026-03-15", "A", 500),  # not the month's last
            _snapshot("LAX1", "2026-03-29", "A", 5),
            _snapshot("LAX1", "2026-03-29", "C", 10),
            _snapshot("LAX1", "2026-03-29", "D", 0),
            _snapshot("ONT1", "2026-03-22", "A", 900),  # not the month's last
            _snapshot("ONT1", "2026-03-28", "D", 1),
            _snapshot("LAX1", "2026-04-26", "A", 15),
            _snapshot("ONT1", "2026-04-26", "D", 1),
            _snapshot("LAX1", "2026-05-31", "A", 10),
            _snapshot("LAX1", "2026-06-28", "A", 10),  # June: no invoice yet, not due
        ],
        invoice_lines=[line for line, *_ in LINES] if lines is None else lines,
    )


def _audit(store: Store, **kwargs: Any) -> InvoiceAudit:
    settings = getattr(store, "settings", None)
    return audit_invoices(store, as_of=kwargs.pop("as_of", AS_OF), settings=settings, **kwargs)


def _line_rows(store: Store) -> dict[str, dict[str, Any]]:
    settings = getattr(store, "settings", None)
    with open_context(store, as_of=AS_OF, settings=settings) as ctx:
        rows = audit_lines(ctx).to_pyarrow().to_pylist()
    return {f"{r['invoice_id']}#{r['line_no']}": r for r in rows}


def test_every_line_priced_and_judged(tmp_path: Path, store_url: str) -> None:
    with _store(tmp_path, store_url) as store:
        rows = _line_rows(store)
        audit = _audit(store)
    assert len(rows) == len(LINES)
    for line, kind, expected, failed in LINES:
        row = rows[f"{line['invoice_id']}#{line['line_no']}"]
        key = f"{line['invoice_id']}#{line['line_no']}"
        assert row["finding_kind"] == kind, key
        assert row["expected_amount"] == Decimal(expected), key
        assert row["failed_checks"] == failed, key
        assert row["discrepancy"] == Decimal(line["amount"]) - Decimal(expected), key

    # One finding per failing line, of the first failed check, plus the unbilled activity.
    found = {(f.detected.kind, f.detected.subject_id): f.detected for f in audit.findings}
    wanted = {
        (kind, f"{line['invoice_id']}#{line['line_no']}"): Decimal(line["amount"])
        - Decimal(expected)
        for line, kind, expected, _ in LINES
        if kind is not None
    }
    wanted |= {("unbilled_activity", subject): amount for subject, amount in UNBILLED.items()}
    assert {k: v.amount for k, v in found.items()} == wanted
    assert {d.currency for d in found.values()} == {"USD"}

    # Per invoice, exactly.
    by_id = {s.invoice_id: s for s in audit.invoices}
    one, two, three = by_id["INV-1"], by_id["INV-2"], by_id["INV-3"]
    assert (one.lines, one.billed, one.expected) == (22, Decimal("118.96"), Decimal("111.80"))
    assert (one.over_billed, one.under_billed, one.unbilled) == (
        Decimal("13.66"),
        Decimal("6.50"),
        Decimal("6.00"),
    )
    assert one.net == Decimal("7.16")
    assert one.findings == {
        "duplicate_charge": 2,
        "unknown_reference": 1,
        "wrong_rate": 2,
        "wrong_quantity": 3,
        "wrong_amount": 1,
        "unbilled_activity": 2,
    }
    assert (two.billed, two.expected, two.over_billed, two.under_billed, two.net) == (
        Decimal("81.00"),
        Decimal("85.00"),
        Decimal("28.00"),
        Decimal("32.00"),
        Decimal("-4.00"),
    )
    assert two.findings == {
        "duplicate_charge": 1,
        "unknown_reference": 1,
        "wrong_quantity": 1,
        "unbilled_activity": 1,
    }
    assert (three.billed, three.expected, three.under_billed, three.findings) == (
        Decimal("10.00"),
        Decimal("35.00"),
        Decimal("25.00"),
        {"unbilled_activity": 1},
    )
    assert audit.totals()["USD"]["net"] == Decimal("7.16") - Decimal("4.00") - Decimal("25.00")


def test_evidence_and_reasons(tmp_path: Path) -> None:
    store = _store(tmp_path)
    audit = _audit(store)
    found = {f.detected.subject_id: f.detected for f in audit.findings}
    dup = found["INV-2#2"]
    assert dup.evidence["first_billed_as"] == "INV-1#5"
    assert dup.since == datetime(2026, 5, 5, tzinfo=UTC)
    assert "billed again (first billed as INV-1#5)" in dup.reason
    multi = found["INV-1#22"]
    assert multi.evidence["failed_checks"] == "duplicate_charge, wrong_rate, wrong_amount"
    storage = found["INV-2#3"]
    assert storage.evidence["expected_quantity"] == "3.0000"
    assert "pallets at the month's last snapshot" in storage.reason
    assert storage.evidence["snapshot_at"].startswith("2026-04-27T06:00")
    rate = found["INV-1#17"]
    assert "billed at 3.00 USD instead of the contract's 3.50" in rate.reason
    unbilled = found["o7"]
    assert (unbilled.subject_kind, unbilled.facility_id) == ("order", "LAX1")
    assert unbilled.evidence["activity_date"] == "2026-03-08"
    assert "has no pick_pack line on any invoice" in unbilled.reason
    assert found["2026-05"].subject_kind == "storage_month"
    assert found["R3"].evidence["quantity"] == "12.0000"


def test_storage_pallets_round_up_per_facility(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with open_context(store, as_of=AS_OF, settings=store.settings) as ctx:  # type: ignore[attr-defined]
        rows = storage_pallets(ctx).to_pyarrow().to_pylist()
    pallets = {r["month"]: (r["pallets"], r["facilities"]) for r in rows}
    assert pallets == {
        "2026-03": (2, 2),  # 1.0 exactly at LAX1 (not 2), 1/3 -> 1 at ONT1
        "2026-04": (3, 2),  # 1.5 -> 2 at LAX1, 1/3 -> 1 at ONT1
        "2026-05": (1, 1),
        "2026-06": (1, 1),
    }


def test_a_sku_without_pallet_size_leaves_storage_unjudged(tmp_path: Path) -> None:
    lines = [_line("INV-9", 1, MARCH, "storage", "2026-03", "7", "25.00", "175.00")]
    store = tiny_store(
        tmp_path,
        contracts=(TWO_SITES,),
        products=[{"sku": "B"}],
        inventory_snapshots=[_snapshot("LAX1", "2026-03-29", "B", 40)],
        invoice_lines=lines,
    )
    audit = _audit(store)
    assert audit.findings == []
    assert audit.invoices[0].expected == Decimal("175.00")


def test_a_clean_invoice_gives_no_finding(tmp_path: Path) -> None:
    keep = {1, 2, 3, 4, 10, 11, 12, 13}  # o1, R1, RMA1, March storage, a credit
    clean = [
        line for line, *_ in LINES if line["invoice_id"] == "INV-1" and line["line_no"] in keep
    ]
    store = tiny_store(
        tmp_path,
        contracts=(TWO_SITES,),
        products=[
            {"sku": "A", "units_per_pallet": 10},
            {"sku": "B", "units_per_pallet": 10},
            {"sku": "C", "units_per_pallet": 20},
            {"sku": "D", "units_per_pallet": 3},
        ],
        orders=[{"order_id": "o1", "placed_at": "2026-03-02T08:00:00-08:00"}],
        shipments=[_shipment("s1", "o1", "2026-03-04", "box_small", "7.10")],
        shipment_lines=[{"shipment_id": "s1", "sku": "A", "qty": 2}],
        receipts=[_receipt("R1", "A", 30, "2026-03-10"), _receipt("R1", "B", 10, "2026-03-10")],
        returns=[_return("RMA1", "A", 2, "2026-03-20"), _return("RMA1", "B", 1, "2026-03-20")],
        inventory_snapshots=[
            _snapshot("LAX1", "2026-03-29", "A", 5),
            _snapshot("LAX1", "2026-03-29", "C", 10),
            _snapshot("ONT1", "2026-03-28", "D", 1),
        ],
        invoice_lines=clean,
    )
    audit = _audit(store)
    assert audit.findings == []
    (summary,) = audit.invoices
    assert (summary.lines, summary.billed, summary.expected) == (
        8,
        Decimal("77.20"),
        Decimal("77.20"),
    )
    assert (summary.over_billed, summary.under_billed, summary.net) == (
        Decimal("0.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert summary.findings == {}


def test_nothing_issued_yet_nothing_audited(tmp_path: Path) -> None:
    store = _store(tmp_path)
    audit = _audit(store, as_of=datetime(2026, 4, 1, tzinfo=UTC))
    assert (audit.invoices, audit.findings) == ([], [])


def test_select_invoices_and_providers(tmp_path: Path) -> None:
    store = _store(tmp_path)
    audit = _audit(store, invoice_ids=["INV-2"])
    assert [s.invoice_id for s in audit.invoices] == ["INV-2"]
    assert {f.detected.subject_id for f in audit.findings} == {
        "INV-2#2",
        "INV-2#3",
        "INV-2#4",
        "RMA3",
    }
    assert _audit(store, providers=["eastbridge"]).invoices == []
    document = audit.as_dict()
    assert document["invoices"][0]["over_billed"] == "28.00"
    assert {f["kind"] for f in document["findings"]} <= set(KINDS)


def test_recorded_findings_and_dispute(tmp_path: Path, store_url: str) -> None:
    with _store(tmp_path, store_url) as store:
        audit = _audit(store, record=True)
        assert audit.sync is not None
        assert audit.sync.new == len(audit.findings) == 16
        by_subject = {f.detected.subject_id: f for f in audit.findings}
        storage = by_subject["INV-2#3"]
        assert storage.finding_id is not None
        assert storage.status == "open"
        dup = by_subject["INV-1#14"]
        assert dup.finding_id is not None
        finding, dispute = dispute_finding(store, dup.finding_id, by="ana", note="see line 1")
        assert finding.dispute_id == dispute.dispute_id
        assert (dispute.amount, dispute.currency, dispute.source, dispute.source_ref) == (
            Decimal("3.0000"),
            "USD",
            "finding",
            str(dup.finding_id),
        )
        with store.connect() as connection:
            row = connection.execute(disputes.select()).one()._mapping
            assert Decimal(row["amount"]) == Decimal("3.00")
            assert (row["source"], row["source_ref"], row["provider_id"]) == (
                "finding",
                str(dup.finding_id),
                "westcoast",
            )
            assert row["reference"] == "INV-1#14"
            assert get_finding(connection, dup.finding_id).dispute_id == dispute.dispute_id
        with pytest.raises(InputError, match="already disputed as DSP-000001"):
            dispute_finding(store, dup.finding_id, by="ana")
        # A second audit keeps the findings and shows the dispute.
        again = _audit(store, record=True)
        assert again.sync is not None
        assert (again.sync.new, again.sync.seen_again) == (0, 16)
        shown = {f.detected.subject_id: f for f in again.findings}
        assert shown["INV-1#14"].dispute_id == dispute.dispute_id


def test_run_findings_runs_the_invoice_checks(tmp_path: Path) -> None:
    store = _store(tmp_path)
    run = run_findings(store, ["invoice"], as_of=AS_OF, settings=store.settings)  # type: ignore[attr-defined]
    kinds: dict[str, int] = {}
    for d in run.detected:
        kinds[d.kind] = kinds.get(d.kind, 0) + 1
    assert kinds == {
        "duplicate_charge": 3,
        "unknown_reference": 2,
        "wrong_rate": 2,
        "wrong_quantity": 4,
        "wrong_amount": 1,
        "unbilled_activity": 4,
    }
    assert len(run.open_findings) == 16


def test_reasons_name_what_is_missing(tmp_path: Path) -> None:
    found = {f.detected.subject_id: f.detected for f in _audit(_store(tmp_path)).findings}
    assert found["INV-1#16"].reason == (
        "pick_pack line bills 'o4', which is no order this provider shipped: 3.00 USD over-billed"
    )
    assert "'2026-13', which is not a month (YYYY-MM)" in found["INV-2#4"].reason
    assert found["R3"].reason == (
        "receipt R3 stocked on 2026-03-20 has no receiving line on any invoice: "
        "3.00 USD under-billed"
    )
