"""Hand-off reconciliation on tiny hand-made tables, and the findings' lifecycle.

Westcoast: LAX1 (US-CA, America/Los_Angeles, cutoff 14:00), no_first_scan within 5 business
days. Daylight saving time starts 2026-03-08, so from then LAX1 is UTC-7. The clock of the
main scenario is Friday 2026-03-20 12:00 UTC.

Key instants (UTC):
  REL      2026-03-16 17:00 (Mon 10:00 local, before the cutoff): due by the end of Mon 03-16,
  DUE_MON  2026-03-17 06:59:59.999999 (the end of Mon 03-16 local), which is also the scan
           deadline of a parcel shipped Mon 03-09 (03-10, 11, 12, 13, 16: five business days).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.metrics import open_context
from tallyclerk.reconcile import (
    SYSTEM_USER,
    CheckParams,
    Detected,
    acknowledge,
    checks_of,
    detect,
    list_findings,
    resolve,
    run_findings,
)
from tallyclerk.store import Store
from tests.support import tiny_store

AS_OF = datetime(2026, 3, 20, 12, 0, tzinfo=UTC)
REL = "2026-03-16T17:00:00Z"
DUE_MON = datetime(2026, 3, 17, 6, 59, 59, 999999, tzinfo=UTC)
PLACED = "2026-03-08T17:00:00Z"
SHIPPED_0309 = "2026-03-09T18:00:00Z"  # Mon 03-09 11:00 local
WC = {"provider_id": "westcoast", "facility_id": "LAX1"}

KINDS = (
    "never_released",
    "not_shipped",
    "quantity_mismatch",
    "shipped_after_cancel",
    "unknown_order",
    "no_first_scan",
    "tracking_exception",
    "tracking_stale",
    "delivered_without_shipment",
)


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


class Data:
    """Records of the canonical kinds, built case by case."""

    def __init__(self) -> None:
        self.kinds: dict[str, list[dict[str, Any]]] = {
            k: []
            for k in (
                "orders",
                "order_lines",
                "releases",
                "shipments",
                "shipment_lines",
                "tracking_events",
            )
        }

    def order(
        self,
        order_id: str,
        placed_at: str = PLACED,
        *,
        lines: dict[str, int] | None = None,
        cancelled_at: str | None = None,
        released_at: str | None = None,
    ) -> None:
        self.kinds["orders"].append(
            {"order_id": order_id, "placed_at": placed_at, "cancelled_at": cancelled_at}
        )
        for n, (sku, qty) in enumerate((lines or {}).items(), start=1):
            self.kinds["order_lines"].append(
                {"order_id": order_id, "line_no": n, "sku": sku, "qty": qty}
            )
        if released_at is not None:
            self.kinds["releases"].append({"order_id": order_id, **WC, "released_at": released_at})

    def ship(
        self,
        shipment_id: str,
        order_id: str,
        shipped_at: str,
        lines: dict[str, int],
        tracking: str | None = None,
    ) -> None:
        self.kinds["shipments"].append(
            {
                "shipment_id": shipment_id,
                "order_id": order_id,
                **WC,
                "shipped_at": shipped_at,
                "carrier": "UPS",
                "tracking_number": tracking,
            }
        )
        for sku, qty in lines.items():
            self.kinds["shipment_lines"].append(
                {"shipment_id": shipment_id, "sku": sku, "qty": qty}
            )

    def event(self, tracking: str, status: str, at: str, location: str | None = None) -> None:
        self.kinds["tracking_events"].append(
            {
                "tracking_number": tracking,
                "carrier": "UPS",
                "status": status,
                "occurred_at": at,
                "location": location,
            }
        )

    def parcel(self, name: str, tracking: str | None, shipped_at: str = SHIPPED_0309) -> None:
        """An order released 03-09, shipped complete (one unit of A) with a tracking number."""
        order_id = f"o-{name}"
        self.order(order_id, lines={"A": 1}, released_at="2026-03-09T16:00:00Z")
        self.ship(f"s-{name}", order_id, shipped_at, {"A": 1}, tracking)


def scenario() -> Data:
    d = Data()
    # never_released (grace 24 hours)
    d.order("o-nr-late", "2026-03-10T08:00:00Z")  # finding since 03-11 08:00
    d.order("o-nr-grace", "2026-03-19T13:00:00Z")  # 23 hours old: within the grace
    d.order("o-nr-boundary", "2026-03-19T12:00:00Z")  # due exactly at the clock: not yet
    d.order("o-nr-cancelled", "2026-03-10T08:00:00Z", cancelled_at="2026-03-10T09:00:00Z")
    # Released after the clock: as of the clock it has not been released.
    d.order("o-nr-released-later", "2026-03-10T08:00:00Z", released_at="2026-03-21T17:00:00Z")
    d.order("o-nr-future", "2026-03-21T08:00:00Z")  # placed after the clock: not there yet
    # Placed before the first contract (effective 2026-01-01): no 3PL to release it to.
    d.order("o-nr-before-contracts", "2025-12-20T08:00:00Z")

    # not_shipped
    d.order("o-ns-none", lines={"A": 3}, released_at=REL)  # 0 of 3
    d.order("o-ns-partial", lines={"A": 2, "B": 1}, released_at=REL)  # 2 of 3
    d.ship("s-ns-partial", "o-ns-partial", "2026-03-16T20:00:00Z", {"A": 2})
    # Released Fri 03-13 15:00 local (after the cutoff): due by the end of Mon 03-16, and
    # shipped at that very instant: on time.
    d.order("o-ns-exact", lines={"A": 1}, released_at="2026-03-13T22:00:00Z")
    d.ship("s-ns-exact", "o-ns-exact", "2026-03-16T23:59:59.999999-07:00", {"A": 1})
    # Released Fri 03-20 03:00 local: due by the end of 03-20 local, after the clock.
    d.order("o-ns-pending", lines={"A": 1}, released_at="2026-03-20T10:00:00Z")
    d.order("o-ns-cancelled", lines={"A": 1}, released_at=REL, cancelled_at="2026-03-18T10:00:00Z")

    # quantity_mismatch
    d.order("o-qm-swap", lines={"A": 2, "B": 1}, released_at=REL)  # 3 A shipped: 1 over, 1 short
    d.ship("s-qm-swap", "o-qm-swap", "2026-03-16T20:00:00Z", {"A": 3})
    d.order("o-qm-wrong", lines={"A": 1}, released_at=REL)  # C instead of A
    d.ship("s-qm-wrong", "o-qm-wrong", "2026-03-16T20:00:00Z", {"C": 1})
    d.order("o-qm-ok", lines={"A": 1}, released_at=REL)
    d.ship("s-qm-ok", "o-qm-ok", "2026-03-16T20:00:00Z", {"A": 1})
    # Past due with 2 of 4 units, one of them a SKU not ordered: C is a finding; the short
    # A and B are not_shipped's.
    d.order("o-qm-late-extra", lines={"A": 2, "B": 2}, released_at=REL)
    d.ship("s-qm-late-extra", "o-qm-late-extra", "2026-03-16T20:00:00Z", {"A": 1, "C": 1})
    # Not due yet and incomplete: the wrong C may still be followed by the right A.
    d.order("o-qm-pending", lines={"A": 2}, released_at="2026-03-20T10:00:00Z")
    d.ship("s-qm-pending", "o-qm-pending", "2026-03-20T11:00:00Z", {"C": 1})

    # shipped_after_cancel
    d.order("o-sac", lines={"A": 1}, released_at=REL, cancelled_at="2026-03-16T18:00:00Z")
    d.ship("s-sac", "o-sac", "2026-03-16T19:30:00Z", {"A": 1})  # 1.5 hours after
    d.order("o-sac-same", lines={"A": 1}, released_at=REL, cancelled_at="2026-03-16T18:00:00Z")
    d.ship("s-sac-same", "o-sac-same", "2026-03-16T18:00:00Z", {"A": 1})  # at the same instant

    # unknown_order
    d.ship("s-unknown", "o-ghost", "2026-03-17T18:00:00Z", {"A": 1})
    d.ship("s-unknown-later", "o-ghost-2", "2026-03-21T18:00:00Z", {"A": 1})  # after the clock

    # no_first_scan (shipped Mon 03-09: deadline DUE_MON)
    d.parcel("nfs-label", "T-label")
    d.event("T-label", "label_created", "2026-03-09T17:00:00Z")  # a label is not a scan
    d.parcel("nfs-none", None)  # no tracking number
    d.parcel("nfs-scanned", "T-scanned")
    d.event("T-scanned", "label_created", "2026-03-09T17:00:00Z")
    d.event("T-scanned", "in_transit", "2026-03-09T23:00:00Z")
    d.event("T-scanned", "delivered", "2026-03-11T18:00:00Z")
    d.parcel("nfs-late-scan", "T-late-scan")  # scanned after the deadline: not lost after all
    d.event("T-late-scan", "in_transit", "2026-03-18T10:00:00Z")
    d.parcel("nfs-pending", "T-pending", shipped_at="2026-03-16T18:00:00Z")  # deadline 03-23

    # tracking_exception (2 days) and tracking_stale (7 days)
    d.parcel("exc", "T-exc")
    d.event("T-exc", "in_transit", "2026-03-11T10:00:00Z")
    d.event("T-exc", "exception", "2026-03-15T10:00:00Z", "Memphis TN")
    d.event("T-exc", "exception", "2026-03-17T10:00:00Z", "Memphis TN")  # still stuck
    d.parcel("exc-recent", "T-exc-recent")
    d.event("T-exc-recent", "in_transit", "2026-03-10T10:00:00Z")
    d.event("T-exc-recent", "exception", "2026-03-18T13:00:00Z")  # 2 days end 03-20 13:00
    d.parcel("stale-edge", "T-stale-edge")
    d.event("T-stale-edge", "exception", "2026-03-12T10:00:00Z")
    d.event("T-stale-edge", "in_transit", "2026-03-13T12:00:00Z")  # 7 days end at the clock
    d.parcel("stale", "T-stale")
    d.event("T-stale", "in_transit", "2026-03-11T09:00:00Z", "Denver CO")
    d.parcel("tie", "T-tie")  # two events at one instant: delivered wins
    d.event("T-tie", "in_transit", "2026-03-10T10:00:00Z")
    d.event("T-tie", "delivered", "2026-03-10T10:00:00Z")
    d.parcel("final", "T-final")  # delivered is final: a stray later scan does not undo it
    d.event("T-final", "in_transit", "2026-03-09T20:00:00Z")
    d.event("T-final", "delivered", "2026-03-10T15:00:00Z")
    d.event("T-final", "in_transit", "2026-03-11T08:00:00Z")  # would be stale by the clock

    # delivered_without_shipment
    d.event("T-orphan", "in_transit", "2026-03-11T15:00:00Z")
    d.event("T-orphan", "delivered", "2026-03-12T15:00:00Z", "Reno NV")
    d.event("T-orphan-later", "delivered", "2026-03-21T15:00:00Z")  # after the clock
    d.event("T-exc-orphan", "exception", "2026-03-10T10:00:00Z")  # no shipment: not ours
    return d


EXPECTED: dict[tuple[str, str], tuple[str | None, datetime]] = {
    ("never_released", "o-nr-late"): (None, _utc("2026-03-11T08:00:00Z")),
    ("never_released", "o-nr-released-later"): (None, _utc("2026-03-11T08:00:00Z")),
    ("not_shipped", "o-ns-none"): ("westcoast", DUE_MON),
    ("not_shipped", "o-ns-partial"): ("westcoast", DUE_MON),
    ("not_shipped", "o-qm-late-extra"): ("westcoast", DUE_MON),
    ("quantity_mismatch", "o-qm-swap|A"): ("westcoast", _utc("2026-03-16T20:00:00Z")),
    ("quantity_mismatch", "o-qm-swap|B"): ("westcoast", _utc("2026-03-16T20:00:00Z")),
    ("quantity_mismatch", "o-qm-wrong|A"): ("westcoast", _utc("2026-03-16T20:00:00Z")),
    ("quantity_mismatch", "o-qm-wrong|C"): ("westcoast", _utc("2026-03-16T20:00:00Z")),
    ("quantity_mismatch", "o-qm-late-extra|C"): ("westcoast", DUE_MON),
    ("shipped_after_cancel", "s-sac"): ("westcoast", _utc("2026-03-16T19:30:00Z")),
    ("unknown_order", "s-unknown"): ("westcoast", _utc("2026-03-17T18:00:00Z")),
    ("no_first_scan", "s-nfs-label"): ("westcoast", DUE_MON),
    ("no_first_scan", "s-nfs-none"): ("westcoast", DUE_MON),
    ("tracking_exception", "T-exc"): ("westcoast", _utc("2026-03-17T10:00:00Z")),
    ("tracking_stale", "T-stale"): ("westcoast", _utc("2026-03-18T09:00:00Z")),
    ("delivered_without_shipment", "T-orphan"): (None, _utc("2026-03-12T15:00:00Z")),
}


def _store(tmp_path: Path, url: str | None = None, data: Data | None = None) -> Store:
    return tiny_store(tmp_path, url=url, **(data or scenario()).kinds)


def _detect(
    store: Store, as_of: datetime = AS_OF, params: CheckParams | None = None
) -> dict[tuple[str, str], Detected]:
    with open_context(store, as_of=as_of, settings=store.settings) as ctx:  # type: ignore[attr-defined]
        found = detect(ctx, ["handoff"], params=params)
    out = {(d.kind, d.subject_id): d for d in found}
    assert len(out) == len(found), "a subject was found twice by one check"
    return out


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    opened = _store(tmp_path_factory.mktemp("handoff"))
    yield opened
    opened.close()


@pytest.fixture(scope="module")
def found(store: Store) -> dict[tuple[str, str], Detected]:
    return _detect(store)


def test_every_kind_is_registered_in_the_handoff_domain() -> None:
    assert tuple(c.kind for c in checks_of("handoff")) == KINDS


def test_scenario_on_both_databases(tmp_path: Path, store_url: str) -> None:
    store = _store(tmp_path, store_url)
    try:
        found = _detect(store)
    finally:
        store.close()
    assert {k: (d.provider_id, d.since) for k, d in found.items()} == EXPECTED


def test_never_released(found: dict[tuple[str, str], Detected]) -> None:
    late = found["never_released", "o-nr-late"]
    assert (late.provider_id, late.facility_id, late.subject_kind) == (None, None, "order")
    assert late.reason == (
        "placed 2026-03-10 08:00 UTC, not released to any 3PL within 24 hours "
        "(due 2026-03-11 08:00 UTC)"
    )
    assert late.evidence["placed_at"] == "2026-03-10T08:00:00+00:00"
    # Within the grace, due exactly at the clock, cancelled, placed after the clock or before
    # any contract was in force: nothing.
    for order in (
        "o-nr-grace",
        "o-nr-boundary",
        "o-nr-cancelled",
        "o-nr-future",
        "o-nr-before-contracts",
    ):
        assert ("never_released", order) not in found


def test_not_shipped(found: dict[tuple[str, str], Detected]) -> None:
    none = found["not_shipped", "o-ns-none"]
    assert (none.provider_id, none.facility_id, none.subject_kind) == ("westcoast", "LAX1", "order")
    assert none.reason == (
        "released 2026-03-16 17:00 UTC to westcoast LAX1, due by the end of 2026-03-16 (local); "
        "0 of 3 units shipped"
    )
    partial = found["not_shipped", "o-ns-partial"]
    assert partial.evidence["shipped_units"] == 2
    assert partial.evidence["ordered_units"] == 3
    assert partial.reason.endswith("2 of 3 units shipped in 1 shipment")
    # Shipped at the due instant, due after the clock, cancelled: nothing.
    for order in ("o-ns-exact", "o-ns-pending", "o-ns-cancelled", "o-qm-swap", "o-sac"):
        assert ("not_shipped", order) not in found


def test_quantity_mismatch(found: dict[tuple[str, str], Detected]) -> None:
    over = found["quantity_mismatch", "o-qm-swap|A"]
    assert over.subject_kind == "order_sku"
    assert (over.evidence["ordered_units"], over.evidence["shipped_units"]) == (2, 3)
    assert over.reason == (
        "order o-qm-swap SKU A: 3 shipped for 2 ordered (1 over); completely shipped "
        "2026-03-16 20:00 UTC by westcoast LAX1"
    )
    assert found["quantity_mismatch", "o-qm-swap|B"].reason.startswith(
        "order o-qm-swap SKU B: 0 shipped for 1 ordered (1 short)"
    )
    assert found["quantity_mismatch", "o-qm-wrong|C"].reason.startswith(
        "order o-qm-wrong SKU C: 1 unit shipped but not on the order"
    )
    extra = found["quantity_mismatch", "o-qm-late-extra|C"]
    assert extra.evidence["complete"] is False
    assert "past its due time 2026-03-17 06:59 UTC" in extra.reason
    mismatched = {s for k, s in found if k == "quantity_mismatch"}
    # The late order's short A and B are not_shipped's; a correct order, a partial order
    # not due yet, partial shipments and orders cancelled before completion are not judged.
    assert mismatched == {
        "o-qm-swap|A",
        "o-qm-swap|B",
        "o-qm-wrong|A",
        "o-qm-wrong|C",
        "o-qm-late-extra|C",
    }


def test_shipped_after_cancel(found: dict[tuple[str, str], Detected]) -> None:
    sac = found["shipped_after_cancel", "s-sac"]
    assert sac.subject_kind == "shipment"
    assert sac.evidence["hours_after_cancel"] == 1.5
    assert sac.reason == (
        "shipped 2026-03-16 19:30 UTC by westcoast LAX1 with 1 unit, 1.5 hours after order "
        "o-sac was cancelled (2026-03-16 18:00 UTC)"
    )
    assert ("shipped_after_cancel", "s-sac-same") not in found  # shipped at the same instant


def test_unknown_order(found: dict[tuple[str, str], Detected]) -> None:
    ghost = found["unknown_order", "s-unknown"]
    assert ghost.evidence["order_id"] == "o-ghost"
    assert ghost.reason == (
        "shipped 2026-03-17 18:00 UTC by westcoast LAX1 for order o-ghost, which is not "
        "among the orders"
    )
    assert ("unknown_order", "s-unknown-later") not in found  # shipped after the clock


def test_no_first_scan(found: dict[tuple[str, str], Detected]) -> None:
    label = found["no_first_scan", "s-nfs-label"]
    assert label.reason == (
        "shipped 2026-03-09 18:00 UTC by westcoast LAX1 with UPS T-label; only a label was "
        "created, no carrier scan by the end of 2026-03-16 (local), likely lost"
    )
    assert "no tracking number" in found["no_first_scan", "s-nfs-none"].reason
    lost = {s for k, s in found if k == "no_first_scan"}
    # Scanned, scanned late (not lost after all), deadline still ahead: nothing.
    assert lost == {"s-nfs-label", "s-nfs-none"}


def test_tracking_exception(found: dict[tuple[str, str], Detected]) -> None:
    stuck = found["tracking_exception", "T-exc"]
    assert (stuck.subject_kind, stuck.evidence["shipment_id"]) == ("tracking_number", "s-exc")
    # Stuck since the first exception in a row, not the repeated one.
    assert stuck.evidence["exception_since"] == "2026-03-15T10:00:00+00:00"
    assert stuck.reason == (
        "UPS T-exc (shipment s-exc by westcoast LAX1) in exception since 2026-03-15 10:00 UTC "
        "at Memphis TN, not resolved within 2 days"
    )
    exceptions = {s for k, s in found if k == "tracking_exception"}
    assert exceptions == {"T-exc"}  # not the recent one, nor the one without a shipment


def test_tracking_stale(found: dict[tuple[str, str], Detected]) -> None:
    stale = found["tracking_stale", "T-stale"]
    assert stale.reason == (
        "UPS T-stale (shipment s-stale by westcoast LAX1): last event in_transit at Denver CO "
        "2026-03-11 09:00 UTC, nothing new for more than 7 days"
    )
    # Exactly 7 days at the clock, delivered at the same instant, label only (no scan yet:
    # no_first_scan's), exception (tracking_exception's): nothing.
    assert {s for k, s in found if k == "tracking_stale"} == {"T-stale"}


def test_delivered_without_shipment(found: dict[tuple[str, str], Detected]) -> None:
    orphan = found["delivered_without_shipment", "T-orphan"]
    assert orphan.provider_id is None
    assert orphan.reason == (
        "UPS T-orphan delivered 2026-03-12 15:00 UTC at Reno NV, but no shipment carries this "
        "tracking number"
    )
    assert {s for k, s in found if k == "delivered_without_shipment"} == {"T-orphan"}


def test_the_clock_hides_what_has_not_happened(store: Store) -> None:
    early = _detect(store, datetime(2026, 3, 16, 12, 0, tzinfo=UTC))
    # Before REL nothing was released on 03-16 (nor on 03-20), so those orders wait for a
    # release; no scan deadline has passed; no exception is 2 days old and
    # no parcel 7 days quiet; the orphan delivery has happened.
    waiting = {
        "o-nr-late",
        "o-nr-released-later",
        "o-ns-none",
        "o-ns-partial",
        "o-ns-pending",
        "o-ns-cancelled",  # cancelled 03-18: not yet
        "o-qm-swap",
        "o-qm-wrong",
        "o-qm-ok",
        "o-qm-late-extra",
        "o-qm-pending",
        "o-sac",  # cancelled 03-16 18:00: not yet
        "o-sac-same",
    }
    assert set(early) == {
        *(("never_released", o) for o in waiting),
        ("delivered_without_shipment", "T-orphan"),
        # Released 03-09, due by the end of 03-09, ships 03-16 18:00: late, not yet shipped.
        ("not_shipped", "o-nfs-pending"),
    }


def test_params_move_the_deadlines(store: Store) -> None:
    params = CheckParams(
        release_grace_hours=300,  # placed 03-10 08:00 + 12.5 days: 03-22 20:00
        no_scan_business_days=10,  # shipped 03-09: deadline the end of 03-23
        stale_tracking_days=10,  # 03-11 09:00 + 10 days
        exception_days=6,  # 03-15 10:00 + 6 days
    )
    found = _detect(store, params=params)
    kinds = {k for k, _ in found}
    assert kinds == {
        "not_shipped",
        "quantity_mismatch",
        "shipped_after_cancel",
        "unknown_order",
        "delivered_without_shipment",
    }
    fewer = _detect(store, params=CheckParams(no_scan_business_days=4))  # end of Fri 03-13
    assert fewer["no_first_scan", "s-nfs-label"].since == _utc("2026-03-14T06:59:59.999999Z")


# ---------------------------------------------------------------------------------------------
# Lifecycle


def lifecycle_data() -> Data:
    d = Data()
    # Not shipped by its due (end of 03-16 local); ships 03-19 12:00 UTC.
    d.order("o-late", lines={"A": 1}, released_at=REL)
    d.ship("s-late", "o-late", "2026-03-19T12:00:00Z", {"A": 1}, "T-late")
    d.event("T-late", "in_transit", "2026-03-19T20:00:00Z")
    d.event("T-late", "delivered", "2026-03-20T20:00:00Z")
    # Never released: stays a finding; a person acknowledges and resolves it.
    d.order("o-stuck", "2026-03-10T08:00:00Z")
    # Stale 03-18 09:00, a new event 03-19 09:00 clears it, stale again from 03-26 09:00.
    d.parcel("quiet", "T-quiet")
    d.event("T-quiet", "in_transit", "2026-03-11T09:00:00Z")
    d.event("T-quiet", "out_for_delivery", "2026-03-19T09:00:00Z")
    return d


def test_lifecycle(tmp_path: Path, store_url: str) -> None:
    store = _store(tmp_path, store_url, lifecycle_data())
    settings = store.settings  # type: ignore[attr-defined]
    first_clock = datetime(2026, 3, 18, 12, 0, tzinfo=UTC)
    try:
        first = run_findings(store, ["handoff"], as_of=first_clock, settings=settings)
        assert first.sync is not None
        assert (first.sync.new, first.sync.seen_again, first.sync.cleared) == (3, 0, 0)
        by_kind = {f.kind: f for f in first.open_findings}
        assert set(by_kind) == {"not_shipped", "never_released", "tracking_stale"}
        assert all(f.status == "open" for f in first.open_findings)

        # The same clock again: nothing new, every finding seen again, the same ids.
        again = run_findings(store, ["handoff"], as_of=first_clock, settings=settings)
        assert again.sync is not None
        assert (again.sync.new, again.sync.seen_again, again.sync.cleared) == (0, 3, 0)
        assert {f.finding_id for f in again.open_findings} == {
            f.finding_id for f in first.open_findings
        }

        # A person acknowledges, then resolves the never-released order.
        stuck = by_kind["never_released"].finding_id
        with store.begin() as connection:
            assert acknowledge(connection, stuck, by="alice").status == "acknowledged"
            done = resolve(connection, stuck, by="alice", resolution="cancelled in the shop")
        assert (done.status, done.resolved_by) == ("resolved", "alice")

        # 03-19 12:00: the late order shipped and the parcel moved: both cleared by tallyclerk;
        # the order still waits for a release, but the person's resolution is kept.
        later = run_findings(
            store, ["handoff"], as_of=datetime(2026, 3, 19, 12, 0, tzinfo=UTC), settings=settings
        )
        assert later.sync is not None
        assert (later.sync.new, later.sync.seen_again, later.sync.cleared) == (0, 1, 2)
        assert later.open_findings == []
        with store.connect() as connection:
            stored = {f.kind: f for f in list_findings(connection, domains=["handoff"])}
        assert stored["never_released"].resolved_by == "alice"
        assert stored["never_released"].resolution == "cancelled in the shop"
        for kind in ("not_shipped", "tracking_stale"):
            assert (stored[kind].status, stored[kind].resolved_by) == ("resolved", SYSTEM_USER)
            assert stored[kind].resolution == "no longer detected as of 2026-03-19T12:00+00:00"

        # An earlier clock says nothing about what happened since: it sees the old problems
        # but neither clears nor reopens anything.
        back = run_findings(store, ["handoff"], as_of=first_clock, settings=settings)
        assert back.sync is not None
        assert (back.sync.new, back.sync.reopened, back.sync.cleared) == (0, 0, 0)
        assert back.open_findings == []

        # 03-27: the parcel has gone quiet again: the same finding is reopened.
        reopened = run_findings(
            store, ["handoff"], as_of=datetime(2026, 3, 27, 12, 0, tzinfo=UTC), settings=settings
        )
        assert reopened.sync is not None
        assert (reopened.sync.new, reopened.sync.reopened, reopened.sync.cleared) == (0, 1, 0)
        (quiet,) = [f for f in reopened.open_findings if f.kind == "tracking_stale"]
        assert quiet.finding_id == stored["tracking_stale"].finding_id
        assert (quiet.status, quiet.resolved_by) == ("open", None)
        assert quiet.since == _utc("2026-03-26T09:00:00Z")
    finally:
        store.close()


def test_detect_only_stores_nothing(tmp_path: Path) -> None:
    store = _store(tmp_path, data=lifecycle_data())
    try:
        run = run_findings(
            store,
            ["handoff"],
            as_of=datetime(2026, 3, 18, 12, 0, tzinfo=UTC),
            record=False,
            settings=store.settings,  # type: ignore[attr-defined]
        )
        assert run.sync is None
        assert len(run.detected) == 3
        assert run.open_findings == []
        # Only westcoast's findings: the never-released order is charged to nobody.
        scoped = run_findings(
            store,
            ["handoff"],
            as_of=datetime(2026, 3, 18, 12, 0, tzinfo=UTC),
            providers=["westcoast"],
            settings=store.settings,  # type: ignore[attr-defined]
        )
        assert {d.kind for d in scoped.detected} == {"not_shipped", "tracking_stale"}
    finally:
        store.close()
