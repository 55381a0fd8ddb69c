"""The forecast on real orders: the Olist marketplace sample, backtested with rolling origin.

Daily order counts of the real data set (purchase dates, 2017-02-01 to 2018-08-22: the sparse
2016 test orders and the thinning last week left out, as in docs/benchmarks.md), four windows
of 28 days: the chosen model must beat the weekly seasonal naive forecast on the same days.
"""

from __future__ import annotations

import csv
import math
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

import numpy as np

from tallyclerk.forecast import DailySeries, SeriesKey
from tallyclerk.forecast._models import SEASONAL_NAIVE, forecast_series

ORDERS = "ecommerce_datasets/olist/sample_10000_delivered_orders/olist_orders_dataset.csv"
FIRST, LAST = date(2017, 2, 1), date(2018, 8, 22)


def _daily_orders(path: Path) -> np.ndarray:
    counts: Counter[date] = Counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            counts[datetime.fromisoformat(row["order_purchase_timestamp"]).date()] += 1
    days = (LAST - FIRST).days + 1
    return np.array([counts[FIRST + timedelta(days=i)] for i in range(days)], dtype=np.float64)


def test_the_chosen_model_beats_the_seasonal_naive_on_real_orders(samples: Path) -> None:
    values = _daily_orders(samples / ORDERS)
    assert values.sum() > 9_000  # the sample's orders, nearly all inside the window
    history = DailySeries(SeriesKey(None, None, "orders"), FIRST, values)
    result = forecast_series(history, 28, country="BR", cv_windows=4)
    chosen, baseline = result.chosen, result.baseline
    assert chosen is not None
    assert baseline is not None
    assert baseline.model == SEASONAL_NAIVE
    assert (chosen.windows, chosen.horizon) == (4, 28)
    assert chosen.mase is not None
    assert baseline.mase is not None
    assert math.isfinite(chosen.mase)
    # The real test: better than repeating last week, on the same held-out days.
    assert chosen.mase < baseline.mase
    assert chosen.model != SEASONAL_NAIVE
    # One past Black Friday (2017) lies in the history: the holiday model is a candidate.
    assert "ETS+holidays" in {score.model for score in result.scores}
    assert result.start == LAST + timedelta(days=1)
    assert result.p50.shape == (28,)
    assert bool(np.all(result.p90 >= result.p50))
