"""Demand-forecast models: accuracy measures, cross-validation, choice, peaks and fallbacks."""

from __future__ import annotations

import warnings
from datetime import date, timedelta
from typing import Any

import numpy as np
import pytest

from tallyclerk.errors import InputError
from tallyclerk.forecast._features import (
    PEAK_COLUMNS,
    calendar_features,
    feature_names,
    peak_years,
    thanksgiving,
)
from tallyclerk.forecast._models import (
    AUTO_ETS,
    FALLBACK,
    HOLIDAYS,
    MSTL_YEARLY,
    SEASONAL_NAIVE,
    _choose,
    _plan,
    forecast_many,
    forecast_series,
    mase,
    naive_scale,
    smape,
)
from tallyclerk.forecast._types import DailySeries, ModelScore, SeriesKey
from tallyclerk.simulate._clock import day_index
from tallyclerk.simulate._demand import day_weight

STORE = SeriesKey(None, None, "orders")


def simulated(start: date, end: date, level: float, seed: int) -> np.ndarray:
    """Simulator-like daily orders: the simulator's day weights times a Poisson draw."""
    days = (end - start).days + 1
    weights = np.array([day_weight(day_index(start + timedelta(days=i))) for i in range(days)])
    return np.random.default_rng(seed).poisson(level * weights).astype(np.float64)


def series(start: date, values: np.ndarray, key: SeriesKey = STORE) -> DailySeries:
    return DailySeries(key, start, np.asarray(values, dtype=np.float64))


def day_offset(forecast_start: date, day: date) -> int:
    return (day - forecast_start).days


# --- accuracy measures ----------------------------------------------------------------------


def test_mase_and_smape_by_hand() -> None:
    train = np.array([10, 12, 14, 16, 18, 20, 22, 12, 12, 17], dtype=np.float64)
    # seasonal naive in sample (lag 7): |12-10| = 2, |12-12| = 0, |17-14| = 3 -> scale 5/3
    scale = naive_scale(train)
    assert scale == pytest.approx(5 / 3)
    actual = np.array([10, 0, 5, 20], dtype=np.float64)
    forecast = np.array([12, 0, 4, 15], dtype=np.float64)
    # absolute errors 2, 0, 1, 5 -> MAE 8/4 = 2 -> MASE 2 / (5/3) = 1.2
    assert mase(actual, forecast, scale) == pytest.approx(1.2)
    # sMAPE terms: 200*2/22 = 18.1818, both zero -> 0, 200*1/9 = 22.2222, 200*5/35 = 28.5714
    # mean (18.1818 + 0 + 22.2222 + 28.5714) / 4 = 17.2439
    assert smape(actual, forecast) == pytest.approx((400 / 22 + 200 / 9 + 1000 / 35) / 4)


def test_mase_is_undefined_without_a_naive_error() -> None:
    weekly = np.tile(np.array([5, 6, 7, 8, 9, 3, 2], dtype=np.float64), 3)
    assert naive_scale(weekly) is None  # a perfect repeat: the naive error is zero
    assert naive_scale(weekly[:7]) is None  # no day has a week before it
    assert mase(np.ones(3), np.zeros(3), None) is None
    assert smape(np.zeros(0), np.zeros(0)) is None
    assert smape(np.zeros(2), np.zeros(2)) == 0.0


# --- calendar features ----------------------------------------------------------------------


def test_calendar_features_mark_the_peak_days() -> None:
    assert thanksgiving(2025) == date(2025, 11, 27)
    assert thanksgiving(2024) == date(2024, 11, 28)
    start = date(2025, 11, 1)
    names = feature_names("US")
    matrix = calendar_features(start, 61, country="US")
    assert matrix.shape == (61, len(names))

    def flagged(column: str) -> list[date]:
        j = names.index(column)
        return [start + timedelta(days=int(i)) for i in np.flatnonzero(matrix[:, j])]

    assert flagged("thanksgiving") == [date(2025, 11, 27)]
    assert flagged("black_friday") == [date(2025, 11, 28)]
    assert flagged("peak_weekend") == [date(2025, 11, 29), date(2025, 11, 30)]
    assert flagged("cyber_monday") == [date(2025, 12, 1)]
    assert flagged("late_december")[0] == date(2025, 12, 21)
    assert flagged("late_december")[-1] == date(2025, 12, 31)
    # every day from November 1 to December 31 lies in exactly one peak column
    peak = matrix[:, [names.index(c) for c in PEAK_COLUMNS]]
    assert np.array_equal(peak.sum(axis=1), np.ones(61))
    # public holidays, except Thanksgiving, which has its own column
    assert flagged("public_holiday") == [date(2025, 11, 11), date(2025, 12, 25)]
    assert "public_holiday" not in feature_names(None)


def test_peak_years_need_the_whole_span() -> None:
    assert peak_years(date(2024, 1, 1), 366) == [2024]
    assert peak_years(date(2024, 1, 1), 365) == []  # stops on December 30
    assert peak_years(date(2024, 11, 2), 70) == []  # starts after November 1
    assert peak_years(date(2023, 6, 1), 900) == [2023, 2024]


# --- forecasts ------------------------------------------------------------------------------


def test_weekly_series_beats_or_equals_the_baseline() -> None:
    start = date(2025, 1, 6)  # a Monday; 20 weeks, no November in sight
    weekday = np.array([1.3, 1.2, 1.0, 0.9, 0.8, 0.6, 0.7])
    rng = np.random.default_rng(3)
    values = rng.poisson(80 * np.tile(weekday, 20)).astype(np.float64)
    history = series(start, values)
    result = forecast_series(history, 28)

    assert result.method == "direct"
    assert result.horizon == 28
    assert result.p50.shape == (28,)
    assert result.p90.shape == (28,)
    assert result.p50.dtype == np.float64
    assert result.p90.dtype == np.float64
    assert result.start == date(2025, 5, 26) == history.end + timedelta(days=1)
    assert result.days()[0] == result.start
    assert result.end == date(2025, 6, 22)
    assert result.history_start == start
    assert result.history_days == 140
    assert np.all(result.p50 >= 0)
    assert np.all(result.p90 >= result.p50)

    assert result.baseline is not None
    assert result.baseline.model == SEASONAL_NAIVE
    chosen = result.chosen
    assert chosen is not None
    assert chosen.model == result.model == result.scores[0].model
    assert chosen.mase is not None
    assert result.baseline.mase is not None
    assert chosen.mase <= result.baseline.mase
    assert [s.model for s in result.scores][:1] == [result.model]
    assert {s.model for s in result.scores} == {SEASONAL_NAIVE, AUTO_ETS}
    assert all(s.windows == 3 and s.horizon == 28 for s in result.scores)
    # the weekly shape is kept: Mondays above Saturdays
    mondays = result.p50[0::7]
    saturdays = result.p50[5::7]
    assert np.all(mondays > saturdays)


def test_baseline_score_is_the_seasonal_naive_of_each_window() -> None:
    start = date(2025, 1, 6)
    rng = np.random.default_rng(11)
    values = rng.poisson(40, 100).astype(np.float64)
    result = forecast_series(series(start, values), 10, cv_windows=3)
    assert result.baseline is not None
    # three windows of 10 days at the end; each repeats the week before its origin
    forecast = np.concatenate(
        [np.tile(values[origin - 7 : origin], 2)[:10] for origin in (70, 80, 90)]
    )
    actual = values[70:]
    scale = float(np.mean(np.abs(values[7:70] - values[:63])))
    expected = float(np.mean(np.abs(actual - forecast))) / scale
    assert result.baseline.windows == 3
    assert result.baseline.horizon == 10
    assert result.baseline.mase == pytest.approx(expected)
    assert result.baseline.smape == pytest.approx(smape(actual, forecast))


def test_two_years_learn_the_black_friday_peak() -> None:
    demand = simulated(date(2024, 1, 1), date(2025, 10, 31), 200, seed=7)
    history = series(date(2024, 1, 1), demand)
    result = forecast_series(history, 61)

    assert result.start == date(2025, 11, 1)
    assert result.horizon == 61
    tested = [s.model for s in result.scores]
    assert HOLIDAYS in tested
    assert MSTL_YEARLY not in tested  # 22 months: no two full years before the tests
    assert result.model in (HOLIDAYS, MSTL_YEARLY)
    october = float(np.mean(demand[-31:]))
    black_friday = day_offset(result.start, date(2025, 11, 28))
    week = result.p50[black_friday - 1 : black_friday + 6]  # Thanksgiving to Wednesday
    assert float(np.mean(week)) > 2.0 * october
    assert result.p50[black_friday] > 1.3 * result.p50[black_friday - 7]
    assert np.all(result.p90 >= result.p50)
    assert np.all(result.p50 >= 0)
    # after the last shipping day, orders fall below the first weeks of December
    late = day_offset(result.start, date(2025, 12, 22))
    assert float(np.mean(result.p50[late : late + 7])) < float(
        np.mean(result.p50[black_friday + 10 : black_friday + 17])
    )


def test_ten_months_have_no_peak_to_learn() -> None:
    demand = simulated(date(2025, 1, 1), date(2025, 10, 31), 200, seed=7)
    result = forecast_series(series(date(2025, 1, 1), demand), 61)
    tested = {s.model for s in result.scores}
    assert HOLIDAYS not in tested
    assert MSTL_YEARLY not in tested
    assert result.model in (SEASONAL_NAIVE, AUTO_ETS)
    assert any(
        "304 days, from 2025-01-01" in note
        and "no past November-December peak" in note
        and "no peak-season uplift" in note
        for note in result.notes
    )


def test_short_history_falls_back_to_the_recent_mean() -> None:
    values = np.array([5, 9, 4, 6, 8, 10, 2, 7, 3, 5], dtype=np.float64)
    result = forecast_series(series(date(2026, 3, 1), values), 14)
    assert result.method == "fallback"
    assert result.model == FALLBACK
    # the last 7 days: 6 + 8 + 10 + 2 + 7 + 3 + 5 = 41 -> 41 / 7
    assert np.allclose(result.p50, 41 / 7)
    assert np.all(result.p90 > result.p50)
    assert result.scores == ()
    assert result.baseline is None
    assert result.start == date(2026, 3, 11)
    assert result.history_days == 10
    assert result.notes
    assert "too short" in result.notes[0]


def test_empty_and_all_zero_histories_do_not_crash() -> None:
    empty = forecast_series(series(date(2026, 3, 1), np.zeros(0)), 7)
    assert empty.method == "fallback"
    assert empty.start == date(2026, 3, 1)
    assert np.array_equal(empty.p50, np.zeros(7))
    assert np.array_equal(empty.p90, np.zeros(7))
    assert empty.history_days == 0
    assert empty.notes

    zeros = forecast_series(series(date(2026, 1, 1), np.zeros(60)), 7)
    assert zeros.method == "fallback"
    assert np.all(zeros.p90 == 0)
    assert "nothing but zeros" in zeros.notes[0]


def test_a_month_of_history_gets_fewer_shorter_windows() -> None:
    rng = np.random.default_rng(5)
    values = rng.poisson(30, 30).astype(np.float64)
    result = forecast_series(series(date(2026, 2, 1), values), 28)
    assert result.method == "direct"
    assert result.scores
    assert all(s.windows == 1 and s.horizon == 15 for s in result.scores)
    assert any("accuracy figures are rough" in note for note in result.notes)
    assert not any(s.model in (HOLIDAYS, MSTL_YEARLY) for s in result.scores)


def test_forecast_many_matches_forecast_series_in_order() -> None:
    keys = [SeriesKey("p1", None, "orders"), SeriesKey("p2", None, "orders"), STORE]
    long = simulated(date(2024, 1, 1), date(2025, 10, 31), 60, seed=1)
    histories = [
        series(date(2025, 6, 1), simulated(date(2025, 6, 1), date(2025, 10, 31), 20, 2), keys[0]),
        series(date(2025, 10, 22), np.array([3.0] * 10), keys[1]),
        series(date(2024, 1, 1), long, keys[2]),
    ]
    batch = forecast_many(histories, 45)
    assert [f.key for f in batch] == keys
    for history, together in zip(histories, batch, strict=True):
        alone = forecast_series(history, 45)
        assert together.model == alone.model
        assert together.method == alone.method
        assert together.scores == alone.scores
        assert together.notes == alone.notes
        assert np.array_equal(together.p50, alone.p50)
        assert np.array_equal(together.p90, alone.p90)
    assert [f.method for f in batch] == ["direct", "fallback", "direct"]


def test_same_input_same_result_and_no_warnings(capfd: pytest.CaptureFixture[str]) -> None:
    rng = np.random.default_rng(9)
    values = rng.poisson(50, 200).astype(np.float64)
    history = series(date(2025, 1, 1), values)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first = forecast_series(history, 30)
        second = forecast_series(history, 30)
    assert caught == []
    out, err = capfd.readouterr()
    assert out == ""
    assert err == ""
    assert np.array_equal(first.p50, second.p50)
    assert first.scores == second.scores


def test_bad_input_is_an_input_error() -> None:
    good = series(date(2025, 1, 1), np.ones(30))
    with pytest.raises(InputError, match="horizon"):
        forecast_series(good, 0)
    with pytest.raises(InputError, match="negative"):
        forecast_series(series(date(2025, 1, 1), np.array([1.0, -2.0] * 10)), 7)
    with pytest.raises(InputError, match="missing"):
        forecast_series(series(date(2025, 1, 1), np.array([1.0, np.nan] * 10)), 7)
    with pytest.raises(InputError, match="country"):
        forecast_series(good, 7, country="XX")


def test_a_peak_ahead_prefers_a_model_that_knows_the_calendar() -> None:
    # 22 months to October 31: the test windows (August to October) hold no peak days
    demand = simulated(date(2024, 1, 1), date(2025, 10, 31), 100, seed=2)
    plan = _plan(0, series(date(2024, 1, 1), demand), 61, 3)
    assert HOLIDAYS in plan.candidates

    def score(model: str, value: float) -> ModelScore:
        return ModelScore(model, value, 10.0, 3, 28)

    ranked = [score(AUTO_ETS, 0.50), score(HOLIDAYS, 0.55), score(SEASONAL_NAIVE, 0.60)]
    assert _choose(plan, ranked, 61) == HOLIDAYS
    assert "test days (2025-08-09 to 2025-10-31) do not hold" in plan.notes[-1]
    # clearly worse than the baseline in the tests (0.80 > 1.25 x 0.60): the best stands
    worse = [score(AUTO_ETS, 0.50), score(SEASONAL_NAIVE, 0.60), score(HOLIDAYS, 0.80)]
    assert _choose(plan, worse, 61) == AUTO_ETS
    # a forecast from May 1, for 61 days, does not reach the peak: the best in the tests
    to_april = demand[: (date(2025, 4, 30) - date(2024, 1, 1)).days + 1]
    spring = _plan(0, series(date(2024, 1, 1), to_april), 61, 3)
    assert HOLIDAYS in spring.candidates
    assert _choose(spring, ranked, 61) == AUTO_ETS


class _Exploding:
    """A model that fails on every series, as a real one may fail on an odd history."""

    alias = "model"
    uses_exog = False

    def __repr__(self) -> str:
        return self.alias

    def new(self) -> _Exploding:
        return self

    def fit(self, y: np.ndarray, X: np.ndarray | None = None) -> _Exploding:  # noqa: N803
        raise RuntimeError("no fit")

    def forecast(self, y: np.ndarray, h: int, level: list[int] | None = None, **_: object) -> None:
        raise RuntimeError("no forecast")

    forward = forecast


def test_a_model_that_fails_is_left_out_with_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    import tallyclerk.forecast._models as models

    real = models._model
    monkeypatch.setattr(
        models, "_model", lambda name: _Exploding() if name == AUTO_ETS else real(name)
    )
    rng = np.random.default_rng(4)
    histories = [
        series(date(2025, 1, 6), rng.poisson(30, 140).astype(np.float64)),
        series(date(2025, 1, 6), rng.poisson(60, 140).astype(np.float64)),
    ]
    for result in forecast_many(histories, 14):
        assert result.method == "direct"
        assert result.model == SEASONAL_NAIVE
        assert [s.model for s in result.scores] == [SEASONAL_NAIVE]
        assert "The model AutoETS(7) could not be fitted to this history." in result.notes
        assert np.all(np.isfinite(result.p50))


class _FailsOnBusySeries:
    """AutoETS, except that carrying it forward fails on a series above 45 a day.

    StatsForecast does not catch that failure: the whole batch fails, and the forecast must
    rerun the model series by series to keep it for the others.
    """

    alias = "model"
    uses_exog = False

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def __repr__(self) -> str:
        return self.alias

    def new(self) -> _FailsOnBusySeries:
        return _FailsOnBusySeries(self.inner.new())

    def fit(self, y: np.ndarray, X: np.ndarray | None = None) -> _FailsOnBusySeries:  # noqa: N803
        self.inner.fit(y=y)
        return self

    def forward(self, y: np.ndarray, h: int, level: list[int] | None = None, **_: object) -> object:
        if float(np.mean(np.expm1(y))) > 45:
            raise RuntimeError("no forward")
        return self.inner.forward(y=y, h=h)

    def forecast(
        self, y: np.ndarray, h: int, level: list[int] | None = None, **_: object
    ) -> object:
        return self.inner.forecast(y=y, h=h, level=level)


def test_a_batch_failure_costs_only_the_failing_series(monkeypatch: pytest.MonkeyPatch) -> None:
    import tallyclerk.forecast._models as models

    real = models._model
    monkeypatch.setattr(
        models,
        "_model",
        lambda name: _FailsOnBusySeries(real(name)) if name == AUTO_ETS else real(name),
    )
    rng = np.random.default_rng(4)
    quiet = series(date(2025, 1, 6), rng.poisson(30, 140).astype(np.float64))
    busy = series(date(2025, 1, 6), rng.poisson(60, 140).astype(np.float64))
    first, second = forecast_many([quiet, busy], 14)
    assert {s.model for s in first.scores} == {SEASONAL_NAIVE, AUTO_ETS}
    assert [s.model for s in second.scores] == [SEASONAL_NAIVE]
    assert "The model AutoETS(7) could not be fitted to this history." in second.notes
