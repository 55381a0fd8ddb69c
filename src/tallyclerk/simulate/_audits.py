"""Packaging and unboxing checklist audits: a weekly sample of outgoing orders per facility."""

from __future__ import annotations

from ._clock import Clock
from ._draw import Draw
from ._sites import Site
from ._writer import Tables

AUDITS_PER_WEEK = 6

# checklist item, pass probability, note when it fails
_CHECKLIST = (
    ("correct_packaging", 0.975, "Oversized box used for a mailer-size order"),
    ("void_fill", 0.97, "Item loose in the box, no void fill"),
    ("branded_insert", 0.96, "Thank-you card missing"),
    ("tape_seal", 0.985, "Seal lifting at one edge"),
    ("label_placement", 0.985, "Label wrapped over a box edge"),
    ("unboxing_presentation", 0.95, "Tissue wrap torn, items not folded"),
)


class Audits:
    """Writes audit rows for a random sample of shipped orders."""

    def __init__(self, clock: Clock, tables: Tables, rng: Draw, weekly_orders: list[float]) -> None:
        self._clock = clock
        self._rng = rng
        self._audits = tables["audits"].append
        # Sample rate that yields about AUDITS_PER_WEEK audited orders per facility and week.
        self._rate = [min(0.25, AUDITS_PER_WEEK / w) if w > 0 else 0.0 for w in weekly_orders]
        self._audit_no = 0

    def maybe_audit(self, order_id: str, site: Site, release_ts: int, ship_ts: int) -> None:
        """Audit the order's packing (checklist rows) if it falls in the sample."""
        rng = self._rng
        if rng.random() >= self._rate[site.index]:
            return
        audited = max(release_ts + 60, ship_ts - rng.between(300, 2400))
        at = self._clock.text(site.zone, audited)
        provider_id, facility_id = site.facility.provider_id, site.facility.id
        for item, pass_rate, failure in _CHECKLIST:
            self._audit_no += 1
            passed = rng.random() < pass_rate
            self._audits(
                (
                    f"AUD-{self._audit_no:08d}",
                    provider_id,
                    facility_id,
                    order_id,
                    at,
                    item,
                    "true" if passed else "false",
                    "" if passed else failure,
                )
            )
