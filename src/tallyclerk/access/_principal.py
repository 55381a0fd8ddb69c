"""Who is asking, and what they may see: the one place where access is decided.

A brand user (admin or analyst) sees every provider; a provider user sees its own provider's
records and nothing of the brand's costs or vetting. Every query of the API and the dashboard
takes its provider filter from `Scope`, so scoping is decided here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import sqlalchemy as sa

from tallyclerk.errors import TallyclerkError

Role = Literal["admin", "analyst", "provider"]
ROLES: tuple[Role, ...] = ("admin", "analyst", "provider")
ROLE_HELP: dict[Role, str] = {
    "admin": "brand: reads and changes everything (users, contracts, disputes, findings)",
    "analyst": "brand: reads everything, changes nothing",
    "provider": "a 3PL's user: its own figures, uploads and dispute answers only",
}


class AccessError(TallyclerkError):
    """A request the asker may not make."""

    status_code = 403


class NotAuthenticatedError(AccessError):
    """No valid credentials came with the request."""

    status_code = 401


class NotFoundError(AccessError):
    """Nothing by that name that the asker may see (a foreign record looks absent)."""

    status_code = 404


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated user as the service sees it."""

    user_id: str
    role: Role
    provider_id: str | None = None  # set for the provider role only

    @property
    def is_brand(self) -> bool:
        """Admin or analyst: a user of the brand, not of a 3PL."""
        return self.role in ("admin", "analyst")

    @property
    def can_change(self) -> bool:
        """Whether the user may change brand-side state (acknowledge, resolve, open disputes)."""
        return self.role == "admin"

    @property
    def sees_costs(self) -> bool:
        """Whether the brand's own costs (product cost, inventory value, vetting) are shown."""
        return self.is_brand


SYSTEM = Principal(user_id="system", role="admin")


class Scope:
    """The provider filter of one principal, applied to every query."""

    def __init__(self, principal: Principal) -> None:
        self.principal = principal

    @property
    def own_provider(self) -> str | None:
        """The provider a provider user is bound to; None for brand users."""
        return self.principal.provider_id if self.principal.role == "provider" else None

    def providers(self, requested: str | Sequence[str] | None = None) -> list[str] | None:
        """The providers a query may read: None means every provider (brand users only).

        A provider user asking for another provider gets NotFound, as if it did not exist.
        """
        wanted = [requested] if isinstance(requested, str) else requested
        own = self.own_provider
        if self.principal.role != "provider":
            return list(wanted) if wanted else None
        if own is None:
            raise AccessError("this provider user is not bound to a provider")
        if wanted and any(p != own for p in wanted):
            raise NotFoundError(f"no provider {next(p for p in wanted if p != own)!r}")
        return [own]

    def allows(self, provider_id: str | None) -> bool:
        """Whether a record of `provider_id` (None: a brand-wide record) is visible."""
        own = self.own_provider
        if self.principal.role != "provider":
            return True
        return own is not None and provider_id == own

    def check(self, provider_id: str | None, what: str = "record") -> None:
        """Raise NotFound when a record of `provider_id` is outside the scope."""
        if not self.allows(provider_id):
            raise NotFoundError(f"no such {what}")

    def where(self, column: sa.ColumnElement[Any]) -> sa.ColumnElement[bool]:
        """A SQL condition on a provider column that keeps only visible rows."""
        chosen = self.providers()
        if chosen is None:
            return sa.true()
        return column.in_(chosen)

    def filter(
        self, column: sa.ColumnElement[Any], requested: str | Sequence[str] | None = None
    ) -> sa.ColumnElement[bool]:
        """`where`, narrowed further to the requested provider(s)."""
        chosen = self.providers(requested)
        if chosen is None:
            return sa.true()
        return column.in_(chosen)

    def require_brand(self) -> None:
        """Refuse provider users (brand cost and vetting data, brand-wide administration)."""
        if not self.principal.is_brand:
            raise AccessError("this is brand data; a provider user cannot see it")

    def require_admin(self) -> None:
        """Refuse everyone but the brand's admins."""
        if self.principal.role != "admin":
            raise AccessError(
                f"this needs the admin role; {self.principal.user_id} is {self.principal.role}"
            )
