"""Monthly invoices per provider, billed line by line from the rate card as work happens."""

from __future__ import annotations

from datetime import date, timedelta

from ._clock import Clock, day_date
from ._contracts import CONTRACTS, OVERBILLED_STORAGE_RATE, money
from ._draw import Draw
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


class _Invoice:
    """One provider's invoice for one month: its id, header fields and last line number."""

    __slots__ = ("dates", "id", "key", "lines")

    def __init__(self, provider_id: str, key: int) -> None:
        first = _month_start(key)
        following = _month_start(key + 1)
        self.key = key
        self.id = f"INV-{CONTRACTS[provider_id].code}-{first.year}{first.month:02d}"
        # provider_id, invoice_date, period_start, period_end
        self.dates = (
            provider_id,
            (following + timedelta(days=4)).isoformat(),
            first.isoformat(),
            (following - timedelta(days=1)).isoformat(),
        )
        self.lines = 0


class Billing:
    """Writes invoice lines as activity happens; one invoice per provider and month of activity."""

    def __init__(
        self,
        writer: TableWriter,
        clock: Clock,
        rng: Draw,
        planted: PlantedLog,
        start: date,
        *,
        problems: bool = True,
    ) -> None:
        self._append = writer.append
        self._plant = problems  # False: no duplicate lines, storage at the contract rate
        self._rng = rng
        self._planted = planted
        self._first_day = clock.first_day
        self._start_key = month_key(start)
        self._month_of_day = [
            month_key(day_date(d)) for d in range(clock.first_day, clock.last_day + 1)
        ]
        self._invoices: dict[tuple[str, int], _Invoice] = {}
        self._duplicated_months: set[int] = set()
        self._money: dict[int, str] = {}

    def _invoice(self, provider_id: str, day: int) -> _Invoice:
        key = self._month_of_day[day - self._first_day]
        invoice = self._invoices.get((provider_id, key))
        if invoice is None:
            invoice = self._invoices[(provider_id, key)] = _Invoice(provider_id, key)
        return invoice

    def _amount(self, cents: int) -> str:
        text = self._money.get(cents)
        if text is None:
            text = self._money[cents] = money(cents)
        return text

    def _line(
        self,
        invoice: _Invoice,
        charge_type: str,
        reference: str,
        quantity: int,
        rate: int,
        amount: int,
    ) -> int:
        invoice.lines += 1
        self._append(
            (
                invoice.id,
                str(invoice.lines),
                *invoice.dates,
                charge_type,
                reference,
                str(quantity),
                self._amount(rate),
                self._amount(amount),
                "USD",
            )
        )
        return invoice.lines

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
        invoice = self._invoice(provider_id, day)
        line = self._line
        line(invoice, "pick_pack", order_id, 1, rates.pick_pack, rates.pick_pack)
        if (
            self._plant
            and provider_id == "eastbridge"
            and invoice.key - self._start_key in DUPLICATE_MONTH_INDEXES
        ):
            # Planted: the same order's pick_pack billed twice.
            first_of_month = invoice.key not in self._duplicated_months
            if first_of_month or self._rng.random() < DUPLICATE_PICK_PACK_SHARE:
                self._duplicated_months.add(invoice.key)
                line(invoice, "pick_pack", order_id, 1, rates.pick_pack, rates.pick_pack)
                self._planted.duplicate_pick_pack.add(order_id)
                if invoice.id not in self._planted.duplicate_invoices:
                    self._planted.duplicate_invoices.append(invoice.id)
        if units > 1:
            extra = units - 1
            rate = rates.additional_unit
            line(invoice, "additional_unit", order_id, extra, rate, extra * rate)
        if len(packaging) == 1:
            rate = rates.packaging[packaging[0]]
            line(invoice, "packaging", order_id, 1, rate, rate)
        else:
            for kind in sorted(set(packaging)):
                count = packaging.count(kind)
                rate = rates.packaging[kind]
                line(invoice, "packaging", order_id, count, rate, count * rate)
        # Carrier cost passed through with the contract's markup, rounded half up to the cent.
        marked_up = (shipping_cost * (100 + rates.shipping_markup_pct) + 50) // 100
        line(invoice, "shipping", order_id, 1, marked_up, marked_up)

    def receipt(self, provider_id: str, day: int, receipt_id: str, units: int) -> None:
        """Receiving fee per unit received, in the month the receipt was stocked."""
        rate = CONTRACTS[provider_id].rates.receiving_per_unit
        invoice = self._invoice(provider_id, day)
        self._line(invoice, "receiving", receipt_id, units, rate, units * rate)

    def returned(self, provider_id: str, day: int, return_id: str, units: int) -> None:
        """Returns processing fee per unit, in the month the return was processed."""
        rate = CONTRACTS[provider_id].rates.returns_per_unit
        invoice = self._invoice(provider_id, day)
        self._line(invoice, "returns", return_id, units, rate, units * rate)

    def storage(self, provider_id: str, day: int, pallets: int) -> None:
        """Storage for the month holding `day`: pallets (from its last snapshot) x monthly rate."""
        invoice = self._invoice(provider_id, day)
        key = invoice.key
        contract_rate = CONTRACTS[provider_id].rates.storage_per_pallet_month
        rate = contract_rate
        overbilled = (
            self._plant
            and provider_id == "eastbridge"
            and key - self._start_key in OVERBILLED_STORAGE_MONTH_INDEXES
        )
        if overbilled:
            rate = OVERBILLED_STORAGE_RATE
        reference = f"{key // 12}-{key % 12 + 1:02d}"
        line_no = self._line(invoice, "storage", reference, pallets, rate, pallets * rate)
        if overbilled:
            self._planted.storage_overbilled.append(
                {
                    "invoice_id": invoice.id,
                    "line_no": str(line_no),
                    "reference": reference,
                    "quantity": str(pallets),
                    "billed_rate": money(rate),
                    "contract_rate": money(contract_rate),
                    "billed_amount": money(pallets * rate),
                    "expected_amount": money(pallets * contract_rate),
                }
            )
