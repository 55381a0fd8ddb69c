"""The KPI catalogue: each metric once, as data plus one Ibis expression (DESIGN section 5)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from tallyclerk.contracts._catalogue import KPI_ORDER

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from tallyclerk.metrics._context import MetricContext

Direction = Literal["higher", "lower"]
Unit = Literal["rate", "hours"]

# Every metric's item table has these columns:
#   item_id      what is counted (an order, shipment, receipt line, ...), for drill-down
#   provider_id  the 3PL it is charged to
#   facility_id  its facility (None where the metric is not per facility)
#   period_date  the facility-local date that places it in a period (the deadline's date,
#                or the event's date when there is no deadline: DESIGN section 3)
#   hit          whether it is in the numerator
#   value        the measured quantity for distribution metrics (hours), else null
ITEM_COLUMNS = ("item_id", "provider_id", "facility_id", "period_date", "hit", "value")


@dataclass(frozen=True, slots=True)
class Metric:
    """One KPI: its name (part of the interface), unit, direction and item expression."""

    name: str
    unit: Unit
    direction: Direction
    description: str
    numerator: str
    denominator: str
    items: Callable[[MetricContext], ir.Table]
    quantile: float | None = None  # distribution metrics: the value is this quantile of `value`

    @property
    def lower_is_better(self) -> bool:
        """Whether a smaller figure is the better one."""
        return self.direction == "lower"


REGISTRY: dict[str, Metric] = {}

# The catalogue's order (DESIGN section 5): listings and scorecards follow it. The names are
# the contract vocabulary's, so a contract can only name a metric defined here.
CATALOGUE_ORDER = KPI_ORDER


def catalogue() -> list[Metric]:
    """Every registered metric, in the catalogue's order."""
    rank = {name: i for i, name in enumerate(CATALOGUE_ORDER)}
    return sorted(REGISTRY.values(), key=lambda m: (rank.get(m.name, len(rank)), m.name))


def register(metric: Metric) -> Metric:
    """Add a metric to the catalogue (names are unique)."""
    if metric.name in REGISTRY:
        raise ValueError(f"metric {metric.name!r} is registered twice")
    REGISTRY[metric.name] = metric
    return metric


def get_metric(name: str) -> Metric:
    """The metric called `name`, or a ValueError listing the catalogue."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown metric {name!r} (known: {', '.join(REGISTRY)})") from None
