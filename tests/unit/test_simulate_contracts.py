"""The simulated contracts are valid at any scale, and the demo loads without quarantine."""

from __future__ import annotations

from pathlib import Path

import pytest

from tallyclerk.contracts import load_contract
from tallyclerk.simulate import simulate


@pytest.mark.parametrize("orders", [100, 1_500])
def test_simulated_contracts_validate(orders: int, tmp_path: Path) -> None:
    summary = simulate(tmp_path, orders, seed=11)
    for path in summary.contracts:
        contract = load_contract(path)
        assert contract.capacity.peak_orders_per_day is not None
        assert contract.capacity.peak_orders_per_day >= contract.capacity.orders_per_day
