"""Inventory reconciliation on tiny hand-computed books (westcoast: LAX1, tolerance 0).

Weekly snapshots of LAX1 (S2 onwards in daylight time):
          S0 03-01  S1 03-08  S2 03-15  S3 03-22  S4 03-29     book at S4
  A         100       110       105       109       105        108  (variance -3 from S2)
  B          50        48        46        43        41         50  (shrink every week)
  C          10        10        --        10        10         10  (left out of S2)
  D           5         5         5         4         4          5  (no product: no value)
  E          20        18        19        17        18         20  (short, but up and down)
  F           7         7         7         7         9          7  (over at S4)

Book of A: 100 at S0; S0->S1: +12 stocked (R1), -2 shipped (s1) = 110; S1->S2: +3 restocked
(RMA1), -5 approved adjustment (ADJ1) = 108, while RMA2 (disposed), R2 (not stocked) and
ADJ2 (-3, not approved) leave it alone; S2->S3: +4 stocked at the very instant of S3 (R3) =
112; S3->S4: -4 shipped one minute after S3 (s2) = 108.
Unit costs: A 10.50, B 4.00, C 2.25, E 2.25, F 1.00; D has no product.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.metrics import open_context
from tallyclerk.reconcile import detect, list_findings, run_findings
from tallyclerk.reconcile._inventory import (
    DRIFT_MIN_STEPS,
    explain_book,
    inventory_reconciliation,
    inventory_report,
    inventory_trend,
)
from tallyclerk.store import Store
from tests.support import WESTCOAST, tiny_store

S = [
    "2026-03-01T00:00:00-08:00",
    "2026-03-08T00:00:00-08:00",
    "2026-03-15T00:00:00-07:00",
    "2026-03-22T00:00:00-07:00",
    "2026-03-29T00:00:00-07:00",
]
COUNTS = {
    "A": (100, 110, 105, 109, 105),
    "B": (50, 48, 46, 43, 41),
    "C": (10, 10, None, 10, 10),
    "D": (5, 5, 5, 4, 4),
    "E": (20, 18, 19, 17, 18),
    "F": (7, 7, 7, 7, 9),
}
COSTS = {"A": "10.50", "B": "4.00", "C": "2.25", "E": "2.25", "F": "1.00"}
AFTER = datetime(2026, 4, 15, tzinfo=UTC)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def _lax(**row: Any) -> dict[str, Any]:
    return {"provider_id": "westcoast", "facility_id": "LAX1", **row}


def _store(tmp_path: Path, url: str | None = None, contract: Path | str = WESTCOAST) -> Store:
    snapshots = [
        {
            "provider_id": "westcoast",
            "facility_id": "LAX1",
            "as_of": at,
            "sku": sku,
            "on_hand": n,
        }
        for sku, counts in COUNTS.items()
        for at, n in zip(S, counts, strict=True)
        if n is not None
    ]
    return tiny_store(
        tmp_path,
        url=url,
        contracts=(contract,),
        products=[{"sku": sku, "name": sku, "unit_cost": cost} for sku, cost in COSTS.items()],
        inventory_snapshots=snapshots,
        receipts=[
            _lax(
                receipt_id=rid,
                sku="A",
                expected_qty=qty,
                received_qty=qty,
                arrived_at="2026-03-02T09:00:00-08:00",
                stocked_at=stocked,
            )
            for rid, qty, stocked in (
                ("R1", 12, "2026-03-03T10:00:00-08:00"),
                ("R2", 30, None),
                ("R3", 4, S[3]),
            )
        ],
        orders=[{"order_id": o, "placed_at": "2026-03-02T08:00:00-08:00"} for o in ("o1", "o2")],
        shipments=[
            _lax(shipment_id="s1", order_id="o1", shipped_at="2026-03-05T15:00:00-08:00"),
            _lax(shipment_id="s2", order_id="o2", shipped_at="2026-03-22T00:01:00-07:00"),
        ],
        shipment_lines=[
            {"shipment_id": "s1", "sku": "A", "qty": 2},
            {"shipment_id": "s2", "sku": "A", "qty": 4},
        ],
        returns=[
            _lax(
                return_id=rid,
                sku="A",
                qty=qty,
                received_at="2026-03-09T09:00:00-07:00",
                processed_at="2026-03-10T11:00:00-07:00",
                disposition=disposition,
            )
            for rid, qty, disposition in (("RMA1", 3, "restock"), ("RMA2", 4, "dispose"))
        ],
        adjustments=[
            _lax(
                adjustment_id=aid,
                sku="A",
                qty_delta=delta,
                occurred_at="2026-03-12T10:00:00-07:00",
                reason="cycle_count",
                approved=approved,
            )
            for aid, delta, approved in (("ADJ1", -5, True), ("ADJ2", -3, False))
        ],
    )


def _rows(store: Store, as_of: datetime = AFTER) -> dict[tuple[str, int], dict[str, Any]]:
    with open_context(store, as_of=as_of, settings=store.settings) as ctx:  # type: ignore[attr-defined]
        rows = inventory_reconciliation(ctx).to_pyarrow().to_pylist()
    index = {_utc(s): i for i, s in enumerate(S)}
    return {(r["sku"], index[r["as_of"].astimezone(UTC)]): r for r in rows}


def _trend(store: Store, as_of: datetime = AFTER) -> dict[str, dict[str, Any]]:
    with open_context(store, as_of=as_of, settings=store.settings) as ctx:  # type: ignore[attr-defined]
        return {r["sku"]: r for r in inventory_trend(ctx).to_pyarrow().to_pylist()}


def test_book_and_its_movements_between_snapshots(tmp_path: Path, store_url: str) -> None:
    with _store(tmp_path, store_url) as store:
        rows = _rows(store)
        a = [rows[("A", i)] for i in range(5)]
        assert [r["book"] for r in a] == [100, 110, 108, 112, 108]
        assert [r["on_hand"] for r in a] == [100, 110, 105, 109, 105]
        assert [r["variance"] for r in a] == [0, 0, -3, -3, -3]
        assert [r["variance_change"] for r in a] == [None, 0, -3, 0, 0]
        parts = ("received", "shipped", "restocked", "adjusted", "unapproved")
        assert [tuple(r[p] for p in parts) for r in a] == [
            (0, 0, 0, 0, 0),  # the baseline
            (12, 2, 0, 0, 0),
            (0, 0, 3, -5, -3),  # the unapproved -3 explains the gap
            (4, 0, 0, 0, 0),  # stocked at the snapshot's very instant: in it
            (0, 4, 0, 0, 0),
        ]
        assert a[0]["previous_at"] is None
        assert a[2]["previous_at"].astimezone(UTC) == _utc(S[1])
        assert a[2]["variance_value"] == Decimal("-31.5")
        assert a[2]["currency"] == "USD"
        assert (a[2]["tolerance_units"], a[2]["within_tolerance"]) == (0, False)
        assert str(a[2]["snapshot_date"]) == "2026-03-15"
        # Every step adds up: previous book + received - shipped + restocked + adjusted.
        for (sku, i), row in rows.items():
            if i:
                before = rows[(sku, i - 1)]["book"]
                moved = row["received"] - row["shipped"] + row["restocked"] + row["adjusted"]
                assert row["book"] == before + moved, (sku, i)
        # A SKU left out of a snapshot counts as none on hand there.
        c2 = rows[("C", 2)]
        assert (c2["reported_on_hand"], c2["on_hand"], c2["book"], c2["variance"]) == (
            None,
            0,
            10,
            -10,
        )
        assert c2["variance_value"] == Decimal("-22.5")
        assert rows[("D", 4)]["variance_value"] is None  # no product, no unit cost
        assert rows[("F", 4)]["variance_value"] == Decimal("2")


def test_filters(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with open_context(store, as_of=AFTER, settings=store.settings) as ctx:  # type: ignore[attr-defined]
        rows = inventory_reconciliation(ctx, skus=["B", "E"]).to_pyarrow().to_pylist()
        assert {r["sku"] for r in rows} == {"B", "E"}
        assert len(rows) == 10
        elsewhere = inventory_reconciliation(ctx, facilities=["EWR1"])
        assert elsewhere.count().to_pyarrow().as_py() == 0
        westcoast = inventory_reconciliation(ctx, providers=["westcoast"])
        assert westcoast.count().to_pyarrow().as_py() == 30


def _slope(variances: list[int]) -> float:
    days = [(_utc(s) - _utc(S[-1])).total_seconds() / 86400 for s in S]
    n = len(days)
    st, sv = sum(days), sum(variances)
    stt = sum(t * t for t in days)
    stv = sum(t * v for t, v in zip(days, variances, strict=True))
    return (n * stv - st * sv) / (n * stt - st * st) * 30


def test_trend_at_the_latest_snapshot(tmp_path: Path) -> None:
    trend = _trend(_store(tmp_path))
    assert set(trend) == set(COUNTS)
    b = trend["B"]
    assert b["as_of"].astimezone(UTC) == _utc(S[4])
    assert (b["book"], b["on_hand"], b["variance"]) == (50, 41, -9)
    assert b["variance_value"] == Decimal("-36")
    assert (b["snapshots"], b["snapshots_short"], b["short_run"]) == (5, 4, 4)
    assert (b["deepened"], b["recovered"], b["drifting"]) == (4, 0, True)
    assert b["short_since"].astimezone(UTC) == _utc(S[1])
    assert b["out_since"].astimezone(UTC) == _utc(S[1])
    assert b["first_gap_at"].astimezone(UTC) == _utc(S[1])
    assert str(b["first_gap_date"]) == "2026-03-08"
    assert b["drift_per_30_days"] == pytest.approx(_slope([0, -2, -4, -7, -9]))
    assert b["drift_per_30_days"] < -9
    a = trend["A"]
    assert (a["variance"], a["short_run"], a["deepened"], a["recovered"]) == (-3, 3, 1, 0)
    assert a["drifting"] is False  # one loss, not repeated
    assert a["out_since"].astimezone(UTC) == _utc(S[2])
    assert a["unapproved_total"] == -3
    e = trend["E"]
    # Short at every snapshot since S1, but it went back up as often as down: noise.
    assert (e["short_run"], e["deepened"], e["recovered"], e["drifting"]) == (4, 2, 2, False)
    c = trend["C"]
    assert (c["variance"], c["short_run"], c["snapshots_short"]) == (0, 0, 1)
    assert c["short_since"] is None
    assert c["out_since"] is None
    assert c["within_tolerance"] is True
    assert c["first_gap_at"].astimezone(UTC) == _utc(S[2])
    f = trend["F"]
    assert (f["variance"], f["out_run"], f["short_run"], f["drifting"]) == (2, 1, 0, False)


def test_drift_needs_the_shortfall_to_keep_growing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    # At S3, B has deepened 3 times (-2, -4, -7): the rule's minimum.
    at_s3 = _trend(store, datetime(2026, 3, 25, tzinfo=UTC))
    assert DRIFT_MIN_STEPS == 3
    assert (at_s3["B"]["deepened"], at_s3["B"]["drifting"]) == (3, True)
    # At S2 only twice: off the book, not yet a drift.
    at_s2 = _trend(store, datetime(2026, 3, 18, tzinfo=UTC))
    assert (at_s2["B"]["deepened"], at_s2["B"]["drifting"]) == (2, False)
    assert at_s2["B"]["within_tolerance"] is False
    # C, left out of S2, is off its book until S3 counts it again.
    assert (at_s2["C"]["variance"], at_s2["C"]["reported_on_hand"]) == (-10, None)
    assert at_s2["C"]["within_tolerance"] is False


def _by_kind(store: Store, as_of: datetime = AFTER) -> dict[str, dict[str, Any]]:
    with open_context(store, as_of=as_of, settings=store.settings) as ctx:  # type: ignore[attr-defined]
        found = detect(ctx, ["inventory"])
    return {f"{d.kind} {d.subject_id}": d for d in found}


def test_findings(tmp_path: Path, store_url: str) -> None:
    with _store(tmp_path, store_url) as store:
        found = _by_kind(store)
        assert set(found) == {
            "inventory_variance LAX1|A",
            "inventory_variance LAX1|B",
            "inventory_variance LAX1|D",
            "inventory_variance LAX1|E",
            "inventory_variance LAX1|F",
            "inventory_drift LAX1|B",
        }
        a = found["inventory_variance LAX1|A"]
        assert (a.provider_id, a.facility_id, a.subject_kind) == ("westcoast", "LAX1", "sku")
        assert a.since == _utc(S[2])
        assert (a.amount, a.currency) == (Decimal("31.5"), "USD")
        assert a.evidence["book"] == 108
        assert a.evidence["variance"] == -3
        assert "3 units short" in a.reason
        assert "unapproved adjustments of -3" in a.reason
        assert found["inventory_variance LAX1|D"].amount is None
        assert found["inventory_variance LAX1|F"].amount == Decimal(2)
        assert "2 units over" in found["inventory_variance LAX1|F"].reason
        drift = found["inventory_drift LAX1|B"]
        assert drift.since == _utc(S[1])
        assert drift.amount is None  # the money is the variance finding's
        assert drift.evidence["deepened"] == 4
        assert "grew at 4" in drift.reason
        run = run_findings(store, ["inventory"], as_of=AFTER)
        assert run.sync is not None
        assert run.sync.new == 6
        with store.begin() as connection:
            stored = list_findings(connection, domains=["inventory"])
        assert {(f.kind, f.subject_id) for f in stored} == {
            (k.split()[0], k.split()[1]) for k in found
        }


def test_tolerance_of_the_contract(tmp_path: Path) -> None:
    lenient = WESTCOAST.read_text(encoding="utf-8").replace(
        "tolerance_units: 0", "tolerance_units: 3"
    )
    found = _by_kind(_store(tmp_path, contract=lenient))
    # A (-3), D (-1), E (-2) and F (+2) are within 3 units; B's drift is flagged regardless.
    assert set(found) == {"inventory_variance LAX1|B", "inventory_drift LAX1|B"}


def test_report_lists_money_at_stake_first(tmp_path: Path) -> None:
    store = _store(tmp_path)
    with open_context(store, as_of=AFTER, settings=store.settings) as ctx:  # type: ignore[attr-defined]
        report = inventory_report(ctx)
        everything = inventory_report(ctx, include_all=True)
    assert report.checked == 6
    assert [p.sku for p in report.positions] == ["B", "A", "E", "F", "D"]
    assert [p.sku for p in everything.positions] == ["B", "A", "E", "F", "D", "C"]
    totals = report.totals()
    assert (totals["units_short"], totals["units_over"]) == (9 + 3 + 2 + 1, 2)
    assert totals["net_value"] == {"USD": Decimal("-36") - Decimal("31.5") - Decimal("4.5") + 2}
    assert totals["value_at_stake"] == {"USD": Decimal("74")}
    assert (totals["out_of_tolerance"], totals["drifting"]) == (5, 1)
    b = report.positions[0]
    assert b.trend == "shrinking: short 4 snapshots, grew 4x"
    assert report.positions[1].trend == "short 3 snapshots"
    assert report.positions[3].trend == "over 1 snapshot"
    assert everything.positions[-1].trend == "matches (had gaps)"
    document = b.as_dict()
    assert document["variance_value"] == "-36.0000"
    assert document["first_gap_date"] == "2026-03-08"


def test_explain_lists_the_records_behind_the_book(tmp_path: Path, store_url: str) -> None:
    with _store(tmp_path, store_url) as store:
        settings = store.settings  # type: ignore[attr-defined]
        with open_context(store, as_of=AFTER, settings=settings) as ctx:
            everything = explain_book(ctx, "A", last=None)
            window = explain_book(ctx, "A", facility_id="LAX1", start=_utc(S[1]), end=_utc(S[2]))
            latest = explain_book(ctx, "A", last=2)
    assert (everything.provider_id, everything.facility_id) == ("westcoast", "LAX1")
    assert (everything.first_on_hand, everything.snapshots) == (100, 5)
    assert [s.book for s in everything.steps] == [100, 110, 108, 112, 108]
    assert everything.steps[0].records == []
    listed = [[(r.record_id, r.component, r.qty) for r in s.records] for s in everything.steps]
    assert listed == [
        [],
        [("R1", "received", 12), ("s1", "shipped", -2)],
        [("RMA1", "restocked", 3), ("ADJ1", "adjusted", -5), ("ADJ2", "unapproved", -3)],
        [("R3", "received", 4)],
        [("s2", "shipped", -4)],
    ]
    assert [r.in_book for r in everything.steps[2].records] == [True, True, False]
    assert [s.previous_book for s in everything.steps] == [None, 100, 110, 108, 112]
    assert [s.as_of for s in window.steps] == [_utc(S[1]), _utc(S[2])]
    assert [s.as_of for s in latest.steps] == [_utc(S[3]), _utc(S[4])]
    step = window.as_dict()["steps"][1]
    assert (step["variance"], step["variance_value"], step["unapproved"]) == (-3, "-31.5000", -3)


def test_explain_names_an_unknown_sku(tmp_path: Path) -> None:
    from tallyclerk.errors import InputError

    store = _store(tmp_path)
    with open_context(store, as_of=AFTER, settings=store.settings) as ctx:  # type: ignore[attr-defined]
        with pytest.raises(InputError, match="no snapshot holds SKU Z"):
            explain_book(ctx, "Z")
        with pytest.raises(InputError, match="no snapshot holds SKU A for EWR1"):
            explain_book(ctx, "A", facility_id="EWR1")


def test_clock_before_any_snapshot_gives_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path)
    assert _by_kind(store, datetime(2026, 2, 1, tzinfo=UTC)) == {}
    # At the baseline alone, every count is its own book.
    assert _by_kind(store, datetime(2026, 3, 2, tzinfo=UTC)) == {}
