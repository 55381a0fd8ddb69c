"""Money: a Decimal amount with its ISO 4217 currency, never a float."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal

_CENT = Decimal("0.01")


class CurrencyMismatchError(ValueError):
    """Two amounts in different currencies were combined."""


def check_currency(code: str) -> str:
    """Return `code` as an upper-case ISO 4217 code, or raise ValueError."""
    normalized = code.strip().upper()
    if len(normalized) != 3 or not normalized.isalpha():
        raise ValueError(f"{code!r} is not a three-letter currency code")
    return normalized


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of one currency; arithmetic refuses to mix currencies."""

    amount: Decimal
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.amount, Decimal):
            raise TypeError(f"money amounts are Decimal, got {type(self.amount).__name__}")
        object.__setattr__(self, "currency", check_currency(self.currency))

    @classmethod
    def zero(cls, currency: str) -> Money:
        """No money in `currency`."""
        return cls(Decimal(0), currency)

    @classmethod
    def of(cls, amount: str | int | Decimal, currency: str) -> Money:
        """Build from text or an integer, so that floats never sneak in."""
        return cls(Decimal(amount), currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise CurrencyMismatchError(f"cannot combine {self.currency} with {other.currency}")

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount + other.amount, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.amount - other.amount, self.currency)

    def __neg__(self) -> Money:
        return Money(-self.amount, self.currency)

    def __mul__(self, factor: int | Decimal) -> Money:
        return Money(self.amount * factor, self.currency)

    __rmul__ = __mul__

    def __lt__(self, other: Money) -> bool:
        self._same(other)
        return self.amount < other.amount

    def __le__(self, other: Money) -> bool:
        self._same(other)
        return self.amount <= other.amount

    def rounded(self) -> Money:
        """Round to cents with banker's rounding, as invoices are settled."""
        return Money(self.amount.quantize(_CENT, rounding=ROUND_HALF_EVEN), self.currency)

    def __str__(self) -> str:
        return f"{self.amount:,.2f} {self.currency}"
