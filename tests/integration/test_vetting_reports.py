"""Kept vetting reports on DuckDB and PostgreSQL: the document read back as it was written."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from tallyclerk.store import Store
from tallyclerk.vetting import (
    MonthActivity,
    VetInputs,
    latest_report,
    load_rfp,
    report_document,
    save_report,
    vet_inputs,
)

RFP = Path(__file__).resolve().parents[2] / "examples" / "vetting" / "rfp.yaml"


def _report_inputs() -> VetInputs:
    rfp = load_rfp(RFP)
    activity = [
        MonthActivity(
            date(2026, month, 1),
            orders=1000 + month,
            units=1400,
            parcels={"poly_mailer": 700, "box_small": 320},
            received_units=2000,
            returned_units=40,
            pallets=30,
            shipping_cost=Decimal("7412.35"),
        )
        for month in (1, 2, 3)
    ]
    return VetInputs(rfp, date(2026, 1, 1), date(2026, 3, 31), activity, {}, None)


def test_reports_are_kept_and_read_back(store: Store) -> None:
    report = vet_inputs(_report_inputs())
    with store.begin() as connection:
        first = save_report(connection, report, created_by="tests")
        second = save_report(connection, report)
    assert second > first
    with store.connect() as connection:
        latest = latest_report(connection)
        kept = latest_report(connection, first)
        missing = latest_report(connection, second + 100)
    assert latest is not None
    assert latest.report_id == second
    assert kept is not None
    assert kept.created_by == "tests"
    assert (kept.rfp_name, kept.window_from, kept.window_to) == (
        "3PL selection 2027",
        date(2026, 1, 1),
        date(2026, 3, 31),
    )
    assert kept.document == report_document(report)
    assert [c["rank"] for c in kept.document["candidates"]] == [1, 2, 3]
    assert missing is None
