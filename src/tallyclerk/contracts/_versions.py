"""Contract versions: which one is in force on a day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from tallyclerk.contracts._schema import Contract


def contract_in_force(versions: Sequence[Contract], on: date) -> Contract | None:
    """The version with the latest `effective` date on or before `on`; None before the first.

    The versions must be of one provider with distinct effective dates (ValueError otherwise).
    """
    providers = {version.provider for version in versions}
    if len(providers) > 1:
        raise ValueError(f"versions of several providers given: {', '.join(sorted(providers))}")
    effective_dates = [version.effective for version in versions]
    if len(set(effective_dates)) != len(effective_dates):
        repeated = sorted({d for d in effective_dates if effective_dates.count(d) > 1})
        raise ValueError(
            "two versions share the effective date " + ", ".join(d.isoformat() for d in repeated)
        )
    in_force = [version for version in versions if version.effective <= on]
    return max(in_force, key=lambda version: version.effective, default=None)
