"""The forecast and capacity page of a provider, through the service.

The run is the hand-built one of test_forecast_api (history to 2026-03-20, 28 days ahead,
eastbridge's P90 over its 12 orders a day in 2026-W15), kept in this module's store.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tallyclerk.api import create_app
from tallyclerk.forecast import ForecastRun
from tests.api.conftest import AS_OF, BuiltStore, api_settings_for, auth
from tests.api.test_forecast_api import SPIKE, hand_run, keep_run, read_back

AS_OF_DAY = AS_OF.date()
PAGE = "/providers/{}/forecast"


class Elements(HTMLParser):
    """Every start tag with its attributes, and the text of each <script> by its id."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []
        self.scripts: dict[str, str] = {}
        self._script: str | None = None
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = {k: v or "" for k, v in attrs}
        self.tags.append((tag, found))
        if tag == "script":
            self._script = found.get("id", "")
            self.scripts.setdefault(self._script, "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self.scripts[self._script] += data

    def find(self, **wanted: str) -> list[dict[str, str]]:
        """The attributes of the tags that carry every `data_x=value` given (data-x)."""
        keys = {k.replace("_", "-"): v for k, v in wanted.items()}
        return [a for _, a in self.tags if all(a.get(k) == v for k, v in keys.items())]


@pytest.fixture(scope="module")
def run(api_store: str) -> ForecastRun:
    """The hand run, kept, read back with its capacity check as the service reads it."""
    keep_run(api_store, hand_run(AS_OF_DAY, 28, SPIKE))
    return read_back(api_store)


def _page(client: TestClient, token: str, provider: str = "eastbridge") -> Any:
    return client.get(PAGE.format(provider), headers={**auth(token), "Accept": "text/html"})


def test_the_weeks_table_shows_the_runs_capacity_check(
    run: ForecastRun, api_client: TestClient, tokens: dict[str, str]
) -> None:
    response = _page(api_client, tokens["admin"])
    assert response.status_code == 200, response.text
    page = Elements(response.text)
    report = run.capacity["eastbridge"]
    rows = [a for tag, a in page.tags if tag == "tr" and "data-week" in a]
    assert [r["data-week"] for r in rows] == [w.week for w in report.weeks]
    for week in report.weeks:
        for metric in ("p50_orders", "p90_peak_day", "gap_orders"):
            (cell,) = page.find(data_metric=metric, data_segment=week.week)
            assert float(cell["data-value"]) == getattr(week, metric), (week.week, metric)
        (capacity,) = page.find(data_metric="capacity_per_day", data_segment=week.week)
        assert capacity["data-value"] == str(week.capacity_per_day)
    # 2026-W15: P50 4 on five weekdays = 20; Wednesday's P90 of 15 is 3 over the 12 a day.
    (p50,) = page.find(data_metric="p50_orders", data_segment="2026-W15")
    assert float(p50["data-value"]) == 20.0
    (gap,) = page.find(data_metric="gap_orders", data_segment="2026-W15")
    assert float(gap["data-value"]) == 3.0
    flagged = {r["data-week"]: (r["data-flagged"], r.get("class", "")) for r in rows}
    assert flagged.pop("2026-W15") == ("true", "bad")
    assert set(flagged.values()) == {("false", "")}
    assert "<td>2026-04-06</td>" in response.text
    (count,) = page.find(data_metric="flagged_weeks")
    assert count["data-value"] == "1"


def test_the_page_names_the_model_its_accuracy_notes_and_storage(
    run: ForecastRun, api_client: TestClient, tokens: dict[str, str]
) -> None:
    text = _page(api_client, tokens["analyst"]).text
    page = Elements(text)
    (lead,) = page.find(data_as_of="2026-03-20")
    assert lead["data-run"] == str(run.run_id)
    assert page.find(data_model="AutoETS(7)")
    assert page.find(data_method="direct")
    for series in ("total-orders", "total-units", "EWR1-orders"):
        assert page.find(data_series=series), series
    assert not page.find(data_series="LAX1-orders")  # westcoast's series are not on this page
    mase = [float(a["data-value"]) for a in page.find(data_metric="mase")]
    naive = [float(a["data-value"]) for a in page.find(data_metric="baseline_mase")]
    assert mase == [0.8, 0.8, 0.8]
    assert naive == [1.0, 1.0, 1.0]
    for shown in ("0.80", "1.00", "20.5 %", "25.0 %"):  # MASE, naive MASE, sMAPE, naive sMAPE
        assert f">{shown}</td>" in text, shown
    assert "The history holds 78 days: the yearly season is left out." in text
    assert "P90 demand exceeds committed capacity in 1 week(s); the worst is 2026-W15" in text
    # Storage: 40 pallets of the 45 committed, 47 projected: over.
    (pallets,) = page.find(data_metric="pallets")
    assert pallets["data-value"] == "40"
    (projected,) = page.find(data_metric="pallets_projected")
    assert projected["data-value"] == "47"
    assert page.find(data_storage="over")
    # The next seven days (March 21-27): a weekend at 0, then five weekdays of P50 4 = 20.
    (week,) = page.find(data_metric="forecast_week_p50")
    assert float(week["data-value"]) == 20.0


def test_the_chart_data_is_the_history_the_forecast_and_the_capacity(
    run: ForecastRun, api_client: TestClient, tokens: dict[str, str]
) -> None:
    page = Elements(_page(api_client, tokens["admin"]).text)
    (canvas,) = [a for tag, a in page.tags if tag == "canvas"]
    assert canvas["data-forecast-chart"] == "forecast-chart-data"
    (script,) = page.find(id="forecast-chart-data")
    assert script["type"] == "application/json"
    chart = json.loads(page.scripts["forecast-chart-data"])
    history = api_client.get(
        "/api/v1/forecast?provider=eastbridge&history=true", headers=auth(tokens["admin"])
    ).json()["history"][0]["days"]
    labels = [date.fromisoformat(d) for d in chart["labels"]]
    assert labels[0] == date.fromisoformat(history[0]["day"])
    assert labels[-1] == date(2026, 4, 17)  # 28 days from 2026-03-21
    assert labels == [labels[0] + timedelta(days=i) for i in range(len(labels))]
    split = chart["forecast_start"]
    assert labels[split] == date(2026, 3, 21)
    assert chart["released"][:split] == [d["orders"] for d in history]
    assert set(chart["released"][split:]) == {None}
    forecast = run.find("eastbridge", None, "orders")
    assert forecast is not None
    assert chart["p50"][split:] == [float(v) for v in forecast.p50]
    assert chart["p90"][split:] == [float(v) for v in forecast.p90]
    assert set(chart["p50"][:split]) == {None}
    assert chart["p90"][labels.index(SPIKE)] == 15.0
    assert chart["capacity"][labels.index(SPIKE)] == 12
    # The flagged week, 2026-W15, is shaded from its Monday to its Sunday.
    assert chart["flagged"] == [[labels.index(date(2026, 4, 6)), labels.index(date(2026, 4, 12))]]
    # No inline script runs (the CSP forbids them): the only one without src is data.
    inline = [a for tag, a in page.tags if tag == "script" and "src" not in a]
    assert [a.get("type") for a in inline] == ["application/json"]


def test_providers_see_their_own_page_only(
    run: ForecastRun, api_client: TestClient, tokens: dict[str, str]
) -> None:
    own = _page(api_client, tokens["eastbridge"])
    assert own.status_code == 200
    assert 'data-week="2026-W15"' in own.text
    assert "westcoast" not in own.text.replace('data-user="wes"', "")
    for provider in ("westcoast", "nobody"):
        refused = _page(api_client, tokens["eastbridge"], provider)
        assert refused.status_code == 404, provider
        assert "text/html" in refused.headers["content-type"]
        assert "data-week" not in refused.text
    west = _page(api_client, tokens["westcoast"], "westcoast")
    assert west.status_code == 200
    assert 'data-flagged="true"' not in west.text
    assert "eastbridge" not in west.text


def test_the_provider_page_links_to_the_forecast(
    run: ForecastRun, api_client: TestClient, tokens: dict[str, str]
) -> None:
    page = api_client.get("/providers/westcoast", headers=auth(tokens["westcoast"]))
    assert page.status_code == 200
    assert 'href="/providers/westcoast/forecast"' in page.text


def test_the_overview_cards_show_the_capacity_ahead(
    run: ForecastRun, api_client: TestClient, tokens: dict[str, str]
) -> None:
    page = Elements(api_client.get("/", headers=auth(tokens["admin"])).text)
    for provider, report in run.capacity.items():
        (line,) = page.find(data_capacity=provider)
        assert line["data-weeks-over"] == str(len(report.flagged_weeks))
    assert page.find(data_capacity="eastbridge")[0]["data-weeks-over"] != "0"
    # A provider user's overview holds its own capacity line only.
    own = Elements(api_client.get("/", headers=auth(tokens["westcoast"])).text)
    assert [a["data-capacity"] for a in own.find() if "data-capacity" in a] == ["westcoast"]


@pytest.fixture(scope="module")
def empty_client(
    built_duckdb: BuiltStore, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TestClient]:
    """A service over a fresh copy of the demo store, where no forecast was ever kept."""
    source = Path(built_duckdb.url.removeprefix("duckdb:///"))
    target = tmp_path_factory.mktemp("forecast-page-empty") / "store.duckdb"
    shutil.copyfile(source, target)
    wal = source.with_name(source.name + ".wal")
    if wal.exists():
        shutil.copyfile(wal, target.with_name(target.name + ".wal"))
    with TestClient(create_app(api_settings_for(f"duckdb:///{target}"))) as client:
        yield client


def test_without_a_run_the_page_says_how_to_make_one(
    empty_client: TestClient, built_duckdb: BuiltStore
) -> None:
    for role in ("admin", "eastbridge"):
        response = _page(empty_client, built_duckdb.tokens[role])
        assert response.status_code == 200, response.text
        page = Elements(response.text)
        assert page.find(data_forecast="none")
        assert "<code>tallyclerk forecast</code>" in response.text
        assert not [a for tag, a in page.tags if tag == "canvas"]
