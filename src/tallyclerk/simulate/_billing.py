"""Monthly invoices per provider, billed line by line from the contract rate card as work happens."""

from __future__ import annotations

import random
from datetime import date, timedelta

from ._clock import Clock, day_date
from ._contracts import CONTRACTS, OVERBILLED_STORAGE_RATE, money
from ._planted import (
    DUPLICATE_MONTH_INDEXES,
    DUPLICATE_PICK_PACK_SHARE,
    OVERBILLED_STORAGE_MONTH_INDEXES,
    PlantedLog,
)
from ._writer import TableWriter


def month_key(d: date) -> int:
    """Months since year 0, for cheap month arithmetic."""
    return d.year * 12 + d.month - 1


def _month_start(key: int) -> date:
    return date(key // 12, key % 12 + 1, 1)


class Billing:
    """Writes invoice lines as activity happens; one invoice per provider and month of activity."""

    def __init__(
        self,
        writer: TableWriter,
        clock: Clock,
        rng: random.Random,
        planted: PlantedLog,
        start: date,
    ) -> None:
        self._append = writer.append
        self._rng = rng
        self._planted = planted
        self._first_day = clock.first_day
        self._start_key = month_key(start)
        self._month_of_day = [
            month_key(day_date(d)) for d in range(clock.first_day, clock.last_day + 1)
        ]
        self._line_no: dict[str, int] = {}
        self._headers: dict[tuple[str, int], tuple[str, str, str, str]] = {}
        self._duplicated_months: set[int] = set()

    def _header(self, provider_id: str, key: int) -> tuple[str, str, str, str]:
        header = self._headers.get((provider_id, key))
        if header is None:
            first = _month_start(key)
            following = _month_start(key + 1)
            invoice_id = f"INV-{CONTRACTS[provider_id].code}-{first.year}{first.month:02d}"
            header = (
                invoice_id,
                (following + timedelta(days=4)).isoformat(),
                first.isoformat(),
                (following - timedelta(days=1)).isoformat(),
            )
            self._headers[(provider_id, key)] = header
        return header

    def _line(
        self,
        provider_id: str,
        key: int,
        charge_type: str,
        reference: str,
        quantity: int,
        rate: int,
        amount: int,
    ) -> tuple[str, int]:
        invoice_id, invoice_date, period_start, period_end = self._header(provider_id, key)
        line_no = self._line_no.get(invoice_id, 0) + 1
        self._line_no[invoice_id] = line_no
        self._append(
            (
                invoice_id,
                str(line_no),
                provider_id,
                invoice_date,
                period_start,
                period_end,
                charge_type,
                reference,
                str(quantity),
                money(rate),
                money(amount),
                "USD",
            )
        )
        return invoice_id, line_no

    def order(
        self,
        provider_id: str,
        day: int,
        order_id: str,
        units: int,
        packaging: list[str],
        shipping_cost: int,
    ) -> None:
        """Fulfillment fees of a shipped order, in the month of its (first) ship day."""
        rates = CONTRACTS[provider_id].rates
        key = self._month_of_day[day - self._first_day]
        line = self._line
        line(provider_id, key, "pick_pack", order_id, 1, rates.pick_pack, rates.pick_pack)
        if provider_id == "eastbridge" and key - self._start_key in DUPLICATE_MONTH_INDEXES:
            # Planted: the same order's pick_pack billed twice.
            first_of_month = key not in self._duplicated_months
            if first_of_month or self._rng.random() < DUPLICATE_PICK_PACK_SHARE:
                self._duplicated_months.add(key)
                invoice_id, _ = line(
                    provider_id, key, "pick_pack", order_id, 1, rates.pick_pack, rates.pick_pack
                )
                self._planted.duplicate_pick_pack.add(order_id)
                if invoice_id not in self._planted.duplicate_invoices:
                    self._planted.duplicate_invoices.append(invoice_id)
        if units > 1:
            extra = units - 1
            rate = rates.additional_unit
            line(provider_id, key, "additional_unit", order_id, extra, rate, extra * rate)
        if len(packaging) == 1:
            rate = rates.packaging[packaging[0]]
            line(provider_id, key, "packaging", order_id, 1, rate, rate)
        else:
            for kind in sorted(set(packaging)):
                count = packaging.count(kind)
                rate = rates.packaging[kind]
                line(provider_id, key, "packaging", order_id, count, rate, count * rate)
        # Carrier cost passed through with the contract's markup, rounded half up to the cent.
        marked_up = (shipping_cost * (100 + rates.shipping_markup_pct) + 50) // 100
        line(provider_id, key, "shipping", order_id, 1, marked_up, marked_up)

    def receipt(self, provider_id: str, day: int, receipt_id: str, units: int) -> None:
        """Receiving fee per unit received, in the month the receipt was stocked."""
        rate = CONTRACTS[provider_id].rates.receiving_per_unit
        key = self._month_of_day[day - self._first_day]
        self._line(provider_id, key, "receiving", receipt_id, units, rate, units * rate)

    def returned(self, provider_id: str, day: int, return_id: str, units: int) -> None:
        """Returns processing fee per unit, in the month the return was processed."""
        rate = CONTRACTS[provider_id].rates.returns_per_unit
        key = self._month_of_day[day - self._first_day]
        self._line(provider_id, key, "returns", return_id, units, rate, units * rate)

    def storage(self, provider_id: str, day: int, pallets: int) -> None:
        """Storage for the month holding `day`: pallets (from its last snapshot) x monthly rate."""
        key = self._month_of_day[day - self._first_day]
        contract_rate = CONTRACTS[provider_id].rates.storage_per_pallet_month
        rate = contract_rate
        overbilled = (
            provider_id == "eastbridge"
            and key - self._start_key in OVERBILLED_STORAGE_MONTH_INDEXES
        )
        if overbilled:
            rate = OVERBILLED_STORAGE_RATE
        reference = f"{key // 12}-{key % 12 + 1:02d}"
        invoice_id, line_no = self._line(
            provider_id, key, "storage", reference, pallets, rate, pallets * rate
        )
        if overbilled:
            self._planted.storage_overbilled.append(
                {
                    "invoice_id": invoice_id,
                    "line_no": str(line_no),
                    "reference": reference,
                    "quantity": str(pallets),
                    "billed_rate": money(rate),
                    "contract_rate": money(contract_rate),
                    "billed_amount": money(pallets * rate),
                    "expected_amount": money(pallets * contract_rate),
                }
            )
