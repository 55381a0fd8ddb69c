"""After delivery: customer returns and their processing at the 3PL, and customer feedback."""

from __future__ import annotations

from itertools import accumulate

from ._billing import Billing
from ._clock import DAY, Clock
from ._contracts import CONTRACTS
from ._draw import Draw
from ._inventory import Inventory
from ._orders import Order
from ._planted import SLOW_RETURN_SHARE, PlantedLog, Tally
from ._sites import Site
from ._writer import Tables

RETURN_SHARE = 0.08
MISPICK_RETURN_SHARE = 0.6
FEEDBACK_SHARE = 0.1
PROBLEM_FEEDBACK_SHARE = 0.35

_REASONS = ("no_longer_needed", "other", "damaged", "defective", "wrong_item", "missing_item")
_REASON_CUM = tuple(accumulate((0.5, 0.2, 0.13, 0.155, 0.01, 0.005)))
# business days from receipt to processing, per provider (contract: 5 and 3 business days)
_PROCESS_DAYS = {
    "westcoast": ((0, 1, 2, 3, 4, 5), tuple(accumulate((0.1, 0.3, 0.3, 0.18, 0.08, 0.04)))),
    "eastbridge": ((0, 1, 2, 3, 4), tuple(accumulate((0.15, 0.4, 0.3, 0.142, 0.008)))),
}
_SCORES = (5, 4, 3, 2, 1)
_HAPPY_CUM = tuple(accumulate((0.6, 0.27, 0.09, 0.03, 0.01)))
_UNHAPPY_CUM = tuple(accumulate((0.02, 0.08, 0.2, 0.35, 0.35)))
_CHANNELS = ("survey", "review", "support")
_CHANNEL_CUM = tuple(accumulate((0.6, 0.3, 0.1)))
_TEXT = {
    "late": (
        "Took longer than promised.",
        "Arrived after the date I was given.",
        "Still waiting on part of it.",
    ),
    "damaged": (
        "Box was crushed and the item damaged.",
        "Arrived damaged.",
        "Item broke in transit.",
    ),
    "wrong_item": ("Got the wrong size.", "Not the item I ordered.", "Wrong color sent."),
    "missing_item": ("One item was missing from the box.", "Order arrived incomplete."),
    "packaging": (
        "Too much plastic in the packaging.",
        "Packaging was flimsy.",
        "Huge box for a small item.",
    ),
    "happy": (
        "Love it, fits great.",
        "Fast shipping, great quality.",
        "Super soft, will order again.",
        "Exactly as pictured.",
    ),
    "meh": ("It's fine.", "Quality is ok for the price.", "Sizing runs small."),
}


class Aftercare:
    """Writes returns and feedback for a delivered (or lost) order."""

    def __init__(
        self,
        clock: Clock,
        tables: Tables,
        rng: Draw,
        inventory: Inventory,
        billing: Billing,
        planted: PlantedLog,
        skus: list[str],
        *,
        problems: bool = True,
    ) -> None:
        self._clock = clock
        self._plant = problems  # False: westcoast returns keep their usual processing times
        self._rng = rng
        self._inventory = inventory
        self._billing = billing
        self._planted = planted
        self._skus = skus
        self._returns = tables["returns"].append
        self._feedback = tables["feedback"].append
        self._return_no = 0
        self._feedback_no = 0

    def follow_up(
        self,
        order: Order,
        site: Site,
        plan: list[tuple[int, int, list[list[int]]]],
        delivered_day: int,
        delivered_ts: int,
        promised_day: int,
        mispicked: bool,
    ) -> None:
        """Maybe a return (delivered orders) and maybe feedback (delivered or lost orders)."""
        rng = self._rng
        late = delivered_day < 0 or delivered_day > promised_day
        damaged = False
        if delivered_day >= 0 and rng.random() < (
            MISPICK_RETURN_SHARE if mispicked else RETURN_SHARE
        ):
            damaged = self._return(order, site, plan, delivered_day, late, mispicked)
        problem = late or damaged or mispicked
        if rng.random() >= (PROBLEM_FEEDBACK_SHARE if problem else FEEDBACK_SHARE):
            return
        tags = []
        random_ = rng.random
        if late and random_() < 0.8:
            tags.append("late")
        if (damaged and random_() < 0.7) or random_() < 0.008:
            tags.append("damaged")
        if (mispicked and random_() < 0.8) or random_() < 0.003:
            tags.append("wrong_item")
        if random_() < 0.002:
            tags.append("missing_item")
        if random_() < 0.03:
            tags.append("packaging")
        unhappy = any(t != "packaging" for t in tags)
        score = _SCORES[rng.pick(_UNHAPPY_CUM if unhappy else _HAPPY_CUM)]
        mood = tags[0] if tags else ("happy" if score >= 4 else "meh")
        text = rng.one(_TEXT[mood])
        if delivered_day >= 0:
            received = delivered_ts + rng.between(3600, 10 * DAY)
        else:
            received = self._clock.at(
                0, promised_day + rng.between(3, 12), rng.between(8 * 3600, 22 * 3600)
            )
        channel = _CHANNELS[rng.pick(_CHANNEL_CUM)]
        if problem and channel == "survey" and random_() < 0.5:
            channel = "support"
        self._feedback_no += 1
        self._feedback(
            (
                f"FB-{self._feedback_no:08d}",
                order.id,
                channel,
                self._clock.text(0, received),
                str(score),
                ";".join(tags),
                text,
            )
        )

    def _return(
        self,
        order: Order,
        site: Site,
        plan: list[tuple[int, int, list[list[int]]]],
        delivered_day: int,
        late: bool,
        mispicked: bool,
    ) -> bool:
        rng = self._rng
        clock = self._clock
        calendar = site.calendar
        facility = site.facility
        provider_id = facility.provider_id
        contract_days = CONTRACTS[provider_id].return_days
        shipped = [line for _, _, lines in plan for line in lines]
        ordered = {sku for sku, _, _ in order.lines}
        if mispicked:
            chosen = [line for line in shipped if line[0] not in ordered]
        else:
            count = 1 if len(shipped) == 1 or rng.random() < 0.85 else 2
            chosen = rng.sample(shipped, count)
        any_damaged = False
        # The customer sends the items back in one parcel.
        received_day = calendar.on_or_after(delivered_day + rng.between(4, 19))
        received_ts = clock.at(site.zone, received_day, rng.between(9 * 3600, 16 * 3600))
        for sku, qty in chosen:
            if sku not in ordered:
                reason = "wrong_item"
            elif late and rng.random() < 0.35:
                reason = "late"
            else:
                reason = _REASONS[rng.pick(_REASON_CUM)]
            if reason == "damaged":
                any_damaged = True
                disposition = "dispose" if rng.random() < 0.6 else "refurbish"
            elif reason == "defective":
                disposition = "refurbish" if rng.random() < 0.55 else "dispose"
            else:
                disposition = "restock" if rng.random() < 0.93 else "refurbish"
            units = qty if qty == 1 or rng.random() < 0.7 else rng.between(1, qty + 1)
            days, cum = _PROCESS_DAYS[provider_id]
            slow = self._plant and provider_id == "westcoast" and rng.random() < SLOW_RETURN_SHARE
            # Planted: westcoast lets a share of returns sit well past the contract's N days.
            wait = contract_days + rng.between(1, 8) if slow else days[rng.pick(cum)]
            if wait == 0:
                processed_day = received_day
                processed_ts = received_ts + rng.between(1800, 3 * 3600)
            else:
                processed_day = calendar.add(received_day, wait)
                processed_ts = clock.at(site.zone, processed_day, rng.between(9 * 3600, 18 * 3600))
            self._return_no += 1
            return_id = f"RMA-{self._return_no:07d}"
            self._returns(
                (
                    return_id,
                    order.id,
                    provider_id,
                    facility.id,
                    self._skus[sku],
                    str(units),
                    reason,
                    clock.text(site.zone, received_ts),
                    clock.text(site.zone, processed_ts),
                    disposition,
                )
            )
            on_time = processed_day <= calendar.within(received_day, contract_days)
            tally = self._planted.return_on_time.get(provider_id)
            if tally is None:
                tally = self._planted.return_on_time[provider_id] = Tally()
            tally.add(on_time)
            if not on_time and provider_id == "westcoast":
                self._planted.slow_returns.add(return_id)
            self._billing.returned(provider_id, processed_day, return_id, units)
            if disposition == "restock":
                self._inventory.restock(site.index, sku, units, processed_day)
        return any_damaged
