"""The KPI catalogue (DESIGN section 5): the only place a KPI is defined.

Each metric is data (name, unit, direction, description) plus one Ibis expression that
produces its items; `compute` aggregates items into figures per provider, facility and
period on whichever engine the context holds (DuckDB, PostgreSQL, Spark).
"""

from __future__ import annotations

# Importing the definition modules registers their metrics.
from tallyclerk.metrics import (  # noqa: F401
    _accuracy,
    _billing,
    _carrier,
    _deadlines,
    _delivery,
    _inventory,
    _shipping,
)
from tallyclerk.metrics._compute import (
    GRAINS,
    Grain,
    MetricResult,
    aggregate,
    compute,
    metric_items,
    period_start,
)
from tallyclerk.metrics._context import MetricContext
from tallyclerk.metrics._engines import ENGINES, Engine, open_context, spark_session
from tallyclerk.metrics._frames import BRAND_FACILITY, Frames, build_frames, sites_from_contracts
from tallyclerk.metrics._registry import (
    CATALOGUE_ORDER,
    ITEM_COLUMNS,
    REGISTRY,
    Metric,
    catalogue,
    get_metric,
    register,
)

__all__ = [
    "BRAND_FACILITY",
    "CATALOGUE_ORDER",
    "ENGINES",
    "GRAINS",
    "ITEM_COLUMNS",
    "REGISTRY",
    "Engine",
    "Frames",
    "Grain",
    "Metric",
    "MetricContext",
    "MetricResult",
    "aggregate",
    "build_frames",
    "catalogue",
    "compute",
    "get_metric",
    "metric_items",
    "open_context",
    "period_start",
    "register",
    "sites_from_contracts",
    "spark_session",
]
