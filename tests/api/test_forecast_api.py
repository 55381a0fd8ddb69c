"""GET /api/v1/forecast: the latest kept run, scoped per user, with the capacity check.

The runs are built by hand (fixed P50/P90 arrays), kept with `save_run`, and read back
through the API, so these tests depend on the service and the capacity check, not on the
models. The store is the API tests' simulated quarter (history to 2026-03-20; both contracts
commit 12 (eastbridge) and 10 (westcoast) orders a day, half as much again inside the
November-December peak).

Also `hand_run` and `keep_run`, which the page, isolation and browser tests use.
"""

from __future__ import annotations

import shutil
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tallyclerk.api import create_app
from tallyclerk.contracts._repository import contract_versions
from tallyclerk.forecast import (
    ForecastRun,
    ModelScore,
    SeriesForecast,
    SeriesKey,
    StorageCheck,
    attach_capacity,
    load_run,
    save_run,
)
from tallyclerk.store import open_store
from tallyclerk.store.schema import CANONICAL_TABLES
from tests.api.conftest import AS_OF, BuiltStore, api_settings_for, auth

AS_OF_DAY = AS_OF.date()  # 2026-03-20, a Friday: the last day of history of the hand run
SPIKE = date(2026, 4, 8)  # a Wednesday of 2026-W15, no holiday at EWR1 (NJ) or DFW1 (TX)
CHOSEN = ModelScore("AutoETS(7)", 0.8, 20.5, 3, 14)
NAIVE = ModelScore("SeasonalNaive(7)", 1.0, 25.0, 3, 14)


def flat_forecast(
    key: SeriesKey,
    start: date,
    horizon: int,
    weekday: tuple[float, float],
    spikes: dict[date, float] | None = None,
    notes: tuple[str, ...] = (),
) -> SeriesForecast:
    """P50 and P90 of `weekday` from Monday to Friday, 0 on weekends, P90 of `spikes` set."""
    days = [start + timedelta(days=i) for i in range(horizon)]
    p50 = np.array([weekday[0] if d.weekday() < 5 else 0.0 for d in days], dtype=np.float64)
    p90 = np.array([weekday[1] if d.weekday() < 5 else 0.0 for d in days], dtype=np.float64)
    for day, value in (spikes or {}).items():
        p90[(day - start).days] = value
    return SeriesForecast(
        key=key,
        model=CHOSEN.model,
        method="direct",
        start=start,
        p50=p50,
        p90=p90,
        history_start=date(2026, 1, 2),
        history_days=(start - date(2026, 1, 2)).days,
        scores=(CHOSEN, NAIVE),
        baseline=NAIVE,
        notes=notes,
    )


def hand_run(as_of: date, horizon: int, spike: date) -> ForecastRun:
    """A run of the store's series and both providers', eastbridge's P90 15 on `spike`.

    Weekdays: eastbridge P50 4, P90 5; westcoast P50 3, P90 4; the store P50 9, P90 11.
    """
    start = as_of + timedelta(days=1)
    series = [
        flat_forecast(SeriesKey(None, None, "orders"), start, horizon, (9.0, 11.0)),
        flat_forecast(SeriesKey(None, None, "units"), start, horizon, (20.0, 26.0)),
        flat_forecast(
            SeriesKey("eastbridge", None, "orders"),
            start,
            horizon,
            (4.0, 5.0),
            {spike: 15.0},
            notes=("The history holds 78 days: the yearly season is left out.",),
        ),
        flat_forecast(SeriesKey("eastbridge", None, "units"), start, horizon, (9.0, 12.0)),
        flat_forecast(SeriesKey("eastbridge", "EWR1", "orders"), start, horizon, (2.0, 3.0)),
        flat_forecast(SeriesKey("westcoast", None, "orders"), start, horizon, (3.0, 4.0)),
        flat_forecast(SeriesKey("westcoast", "LAX1", "orders"), start, horizon, (3.0, 4.0)),
    ]
    return ForecastRun(
        as_of=as_of,
        horizon=horizon,
        series=series,
        created_at=datetime.combine(start, time(6), tzinfo=UTC),
        storage={
            "eastbridge": StorageCheck("eastbridge", as_of - timedelta(days=4), 40, 1.5, 47, 45),
            "westcoast": StorageCheck("westcoast", as_of - timedelta(days=4), 12, None, 12, None),
        },
    )


def keep_run(url: str, run: ForecastRun) -> int:
    """Keep the run in the store at `url`; its id."""
    store = open_store(url=url)
    try:
        with store.begin() as connection:
            return save_run(connection, run, created_by="tests")
    finally:
        store.close()


def read_back(url: str, providers: list[str] | None = None) -> ForecastRun:
    """The latest kept run with its capacity check, as the service reads it."""
    store = open_store(url=url)
    try:
        with store.connect() as connection:
            run = load_run(connection, provider_ids=providers)
            assert run is not None
            return attach_capacity(connection, run)
    finally:
        store.close()


@pytest.fixture(scope="module")
def kept(api_store: str) -> int:
    """The hand run of the module's store: history to 2026-03-20, 28 days ahead."""
    return keep_run(api_store, hand_run(AS_OF_DAY, 28, SPIKE))


def _get(client: TestClient, token: str, query: str = "") -> Any:
    return client.get(f"/api/v1/forecast{query}", headers=auth(token))


def _keys(body: dict[str, Any]) -> set[tuple[str | None, str | None, str]]:
    return {(s["provider_id"], s["facility_id"], s["measure"]) for s in body["series"]}


def _week(body: dict[str, Any], provider: str, week: str) -> dict[str, Any]:
    (report,) = [c for c in body["capacity"] if c["provider_id"] == provider]
    found: list[dict[str, Any]] = [w for w in report["weeks"] if w["week"] == week]
    assert len(found) == 1, week
    return found[0]


@pytest.mark.parametrize("role", ["admin", "analyst"])
def test_brand_users_get_the_whole_run(
    role: str, kept: int, api_client: TestClient, tokens: dict[str, str]
) -> None:
    response = _get(api_client, tokens[role])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["run_id"] == kept
    assert body["as_of"] == "2026-03-20"
    assert body["horizon_days"] == 28
    assert body["history"] is None
    assert _keys(body) == {
        (None, None, "orders"),
        (None, None, "units"),
        ("eastbridge", None, "orders"),
        ("eastbridge", None, "units"),
        ("eastbridge", "EWR1", "orders"),
        ("westcoast", None, "orders"),
        ("westcoast", "LAX1", "orders"),
    }
    assert [c["provider_id"] for c in body["capacity"]] == ["eastbridge", "westcoast"]
    east = next(s for s in body["series"] if s["provider_id"] == "eastbridge")
    assert (east["model"], east["method"]) == ("AutoETS(7)", "direct")
    assert (east["accuracy"]["mase"], east["baseline"]["mase"]) == (0.8, 1.0)
    assert (east["accuracy"]["smape"], east["baseline"]["smape"]) == (20.5, 25.0)
    assert east["notes"] == ["The history holds 78 days: the yearly season is left out."]
    assert east["days"][0] == {"day": "2026-03-21", "p50": 0.0, "p90": 0.0}  # a Saturday
    assert len(east["days"]) == 28


def test_the_capacity_check_flags_the_week_over_capacity(
    api_store: str, kept: int, api_client: TestClient, tokens: dict[str, str]
) -> None:
    body = _get(api_client, tokens["admin"]).json()
    east = next(c for c in body["capacity"] if c["provider_id"] == "eastbridge")
    west = next(c for c in body["capacity"] if c["provider_id"] == "westcoast")
    assert east["flagged_weeks"] == ["2026-W15"]
    assert west["flagged_weeks"] == []
    week = _week(body, "eastbridge", "2026-W15")
    # 2026-W15 is April 6-12. P50: 4 on each of the five weekdays, 0 at the weekend: 20.
    # P90 per business day: Monday carries Good Friday (April 3, closed in NJ and TX) and
    # the weekend, 5 + 0 + 0 + 5 = 10, not over 12; Wednesday's 15 is: 1 day, 15 - 12 = 3.
    assert week == {
        "week": "2026-W15",
        "start": "2026-04-06",
        "p50_orders": 20.0,
        "p90_peak_day": 15.0,
        "capacity_per_day": 12,
        "peak_terms": False,
        "over_days": 1,
        "gap_orders": 3.0,
        "flagged": True,
    }
    # The first forecast week with a business day is 2026-W13 (the run starts on Saturday
    # 2026-03-21, whose weekend is carried to Monday the 23rd), the last 2026-W16.
    assert [w["week"] for w in east["weeks"]] == ["2026-W13", "2026-W14", "2026-W15", "2026-W16"]
    assert east["storage"] == {
        "as_of": "2026-03-16",
        "pallets": 40,
        "trend_per_week": 1.5,
        "projected": 47,
        "committed": 45,
        "flagged": True,
    }
    # What the service sends is what the capacity check of the kept run says.
    direct = read_back(api_store)
    report = direct.capacity["eastbridge"]
    assert [w.p50_orders for w in report.weeks] == [w["p50_orders"] for w in east["weeks"]]
    assert [w.gap_orders for w in report.weeks] == [w["gap_orders"] for w in east["weeks"]]


def test_a_provider_user_sees_its_own_series_never_the_store_s(
    kept: int, api_client: TestClient, tokens: dict[str, str]
) -> None:
    for query in ("", "?provider=eastbridge"):
        response = _get(api_client, tokens["eastbridge"], query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["run_id"] == kept
        assert _keys(body) == {
            ("eastbridge", None, "orders"),
            ("eastbridge", None, "units"),
            ("eastbridge", "EWR1", "orders"),
        }
        assert [c["provider_id"] for c in body["capacity"]] == ["eastbridge"]
        assert "westcoast" not in response.text
        assert "LAX1" not in response.text
    west = _get(api_client, tokens["westcoast"]).json()
    assert _keys(west) == {("westcoast", None, "orders"), ("westcoast", "LAX1", "orders")}
    assert [c["provider_id"] for c in west["capacity"]] == ["westcoast"]
    assert west["capacity"][0]["storage"]["pallets"] == 12


def test_a_provider_user_asking_for_another_provider_gets_nothing(
    kept: int, api_client: TestClient, tokens: dict[str, str]
) -> None:
    # As everywhere in the API, another provider looks absent: 404, and no more than that.
    response = _get(api_client, tokens["eastbridge"], "?provider=westcoast")
    assert response.status_code == 404
    assert set(response.json()) == {"error"}
    assert "forecast" not in response.text


def test_a_brand_user_may_narrow_to_one_provider(
    kept: int, api_client: TestClient, tokens: dict[str, str]
) -> None:
    body = _get(api_client, tokens["analyst"], "?provider=westcoast").json()
    assert {k[0] for k in _keys(body)} == {None, "westcoast"}
    assert [c["provider_id"] for c in body["capacity"]] == ["westcoast"]
    unknown = _get(api_client, tokens["analyst"], "?provider=nobody")
    assert unknown.status_code == 404
    assert "tallyclerk forecast" in unknown.json()["error"]["message"]


def test_the_latest_run_is_the_one_shown(
    api_store: str, kept: int, api_client: TestClient, tokens: dict[str, str]
) -> None:
    later = keep_run(api_store, hand_run(AS_OF_DAY, 14, SPIKE - timedelta(days=14)))
    try:
        assert later > kept
        body = _get(api_client, tokens["admin"]).json()
        assert (body["run_id"], body["horizon_days"]) == (later, 14)
    finally:
        store = open_store(url=api_store)
        try:
            with store.begin() as connection:
                for table in ("forecast_series", "forecast_runs"):
                    connection.execute(sa.text(f"DELETE FROM {table} WHERE run_id = {later}"))
        finally:
            store.close()
    assert _get(api_client, tokens["admin"]).json()["run_id"] == kept


def _released_per_day(url: str, provider: str, last: date) -> Counter[date]:
    """Orders released to the provider per facility-local day up to `last`, counted here in
    Python from the releases table and the contract's time zones."""
    store = open_store(url=url)
    releases = CANONICAL_TABLES["releases"]
    clock = datetime.combine(last + timedelta(days=1), time(), tzinfo=UTC)
    try:
        with store.connect() as connection:
            zones = {
                f.id: ZoneInfo(str(f.timezone))
                for contract in contract_versions(connection, provider)
                for f in contract.facilities
            }
            rows = connection.execute(
                sa.select(releases.c.order_id, releases.c.facility_id, releases.c.released_at)
                .where(releases.c.provider_id == provider)
                .where(releases.c.released_at.is_not(None))
            ).all()
    finally:
        store.close()
    seen: set[tuple[str, date, str]] = set()
    for order_id, facility_id, released_at in rows:
        moment = released_at if released_at.tzinfo else released_at.replace(tzinfo=UTC)
        if moment > clock or facility_id not in zones:
            continue
        day = moment.astimezone(zones[facility_id]).date()
        if day <= last:
            seen.add((facility_id, day, order_id))
    return Counter(day for _, day, _ in seen)


def test_history_is_the_orders_released_per_local_day(
    api_store: str, kept: int, api_client: TestClient, tokens: dict[str, str]
) -> None:
    response = _get(api_client, tokens["eastbridge"], "?history=true")
    assert response.status_code == 200, response.text
    (history,) = response.json()["history"]
    assert history["provider_id"] == "eastbridge"
    shown = {date.fromisoformat(d["day"]): d["orders"] for d in history["days"]}
    expected = _released_per_day(api_store, "eastbridge", AS_OF_DAY)
    assert sum(expected.values()) > 100
    first = min(expected)
    assert min(shown) == first  # the quarter is shorter than 120 days: all of it
    assert max(shown) == AS_OF_DAY
    assert len(shown) == (AS_OF_DAY - first).days + 1  # every day, none missing
    assert shown == {d: expected.get(d, 0) for d in shown}
    # A shorter window ends on the same day and holds the last days only.
    short = _get(api_client, tokens["admin"], "?history=true&history_days=7").json()
    assert [h["provider_id"] for h in short["history"]] == ["eastbridge", "westcoast"]
    east = short["history"][0]["days"]
    assert [d["day"] for d in east] == [
        (AS_OF_DAY - timedelta(days=6 - i)).isoformat() for i in range(7)
    ]
    assert [d["orders"] for d in east] == [history["days"][-7 + i]["orders"] for i in range(7)]


def test_bad_parameters_are_refused(
    kept: int, api_client: TestClient, tokens: dict[str, str]
) -> None:
    for query in ("?history_days=0", "?history_days=100000", "?provider=%00x", "?history=maybe"):
        assert _get(api_client, tokens["admin"], query).status_code == 422, query
    assert api_client.get("/api/v1/forecast").status_code == 401


@pytest.fixture(scope="module")
def empty_client(
    built_duckdb: BuiltStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """A service over a fresh copy of the demo store, where no forecast was ever kept."""
    source = Path(built_duckdb.url.removeprefix("duckdb:///"))
    target = tmp_path_factory.mktemp("forecast-empty") / "store.duckdb"
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    with TestClient(create_app(api_settings_for(f"duckdb:///{target}"))) as client:
        yield client


def test_without_a_kept_run_the_answer_is_404(
    empty_client: TestClient, built_duckdb: BuiltStore
) -> None:
    for role in ("admin", "analyst", "eastbridge"):
        response = _get(empty_client, built_duckdb.tokens[role])
        assert response.status_code == 404, response.text
        assert "tallyclerk forecast" in response.json()["error"]["message"]


def test_the_openapi_document_describes_the_endpoint(api_client: TestClient) -> None:
    operation = api_client.get("/openapi.json").json()["paths"]["/api/v1/forecast"]["get"]
    assert operation["tags"] == ["forecast"]
    assert {p["name"] for p in operation["parameters"]} == {"provider", "history", "history_days"}
    assert {"200", "401", "404", "422"} <= set(operation["responses"])
    example = operation["responses"]["200"]["content"]["application/json"]["example"]
    assert example["capacity"][0]["flagged_weeks"] == ["2026-W48"]
    assert "ForecastOut" in api_client.get("/openapi.json").json()["components"]["schemas"]
