"""The registry holds exactly the catalogue a contract may name, with the same directions."""

from __future__ import annotations

from tallyclerk.contracts import KPI_NAMES, LOWER_IS_BETTER_METRICS
from tallyclerk.contracts._catalogue import KPI_ORDER as KPI_NAMES_ORDER
from tallyclerk.metrics import REGISTRY, catalogue


def test_every_contract_metric_is_defined_once_in_catalogue_order() -> None:
    assert set(REGISTRY) == set(KPI_NAMES)
    assert [m.name for m in catalogue()] == sorted(REGISTRY, key=list(KPI_NAMES_ORDER).index)
    for metric in catalogue():
        assert metric.lower_is_better == (metric.name in LOWER_IS_BETTER_METRICS), metric.name
        assert metric.description
