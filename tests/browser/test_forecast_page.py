"""The forecast and capacity page in a real browser: the chart is drawn and the week over
capacity is marked, on a laptop and on a phone.

The run is built by hand (test_forecast_api's `hand_run`): history to 2026-12-19 (the
session store's November and December), five weeks ahead, eastbridge's P90 of 15 on
Wednesday 2027-01-13, over the 14 orders a day its contract commits to after the peak.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.forecast import attach_capacity, load_run, save_run
from tests.api.test_forecast_api import hand_run
from tests.browser.conftest import ADMIN, PROVIDER_USERS, Service
from tests.browser.test_dashboard import LAPTOP, PHONE, Visitor

pytestmark = pytest.mark.browser

AS_OF_DAY = date(2026, 12, 19)
SPIKE = date(2027, 1, 13)  # 2027-W02


@pytest.fixture(scope="module")
def flagged(service: Service) -> list[str]:
    """Keep the run in the service's store; eastbridge's flagged weeks as the check says."""
    with service.store() as store:
        with store.begin() as connection:
            run_id = save_run(connection, hand_run(AS_OF_DAY, 35, SPIKE), created_by="tests")
        with store.connect() as connection:
            run = load_run(connection, run_id)
            assert run is not None
            report = attach_capacity(connection, run).capacity["eastbridge"]
    return [w.week for w in report.flagged_weeks]


def test_the_forecast_page_draws_its_chart_and_marks_the_week_over_capacity(
    browser: Any, service: Service, screenshots: Path, flagged: list[str]
) -> None:
    assert "2027-W02" in flagged
    admin = Visitor(browser, service, LAPTOP)
    try:
        admin.log_in(ADMIN, next_url="/providers/eastbridge")
        admin.page.click('a[data-link="forecast"]')
        admin.page.wait_for_load_state("networkidle")
        assert admin.page.url.endswith("/providers/eastbridge/forecast")
        canvas = admin.page.locator("canvas[data-forecast-chart]")
        canvas.wait_for()
        admin.page.wait_for_selector("canvas[data-forecast-chart][data-drawn='true']")
        drawn = admin.page.evaluate(
            """() => {
              const canvas = document.querySelector("canvas[data-forecast-chart]");
              const chart = window.Chart.getChart(canvas);
              const pixels = canvas.getContext("2d")
                .getImageData(0, 0, canvas.width, canvas.height).data;
              let inked = 0;
              for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) inked++; }
              return {
                datasets: chart.data.datasets.map((d) => d.label),
                points: chart.data.labels.length,
                width: canvas.width,
                inked: inked,
              };
            }"""
        )
        assert drawn["datasets"] == ["orders released", "forecast P50", "P90", "capacity / day"]
        assert drawn["points"] > 35
        assert drawn["width"] > 300
        assert drawn["inked"] > 5000  # lines, band and shading, not a blank canvas
        rows = admin.page.locator("tr[data-week]")
        marked = [
            str(rows.nth(i).get_attribute("data-week"))
            for i in range(rows.count())
            if rows.nth(i).get_attribute("data-flagged") == "true"
        ]
        assert marked == flagged
        spike = admin.page.locator('tr[data-week="2027-W02"]')
        assert "bad" in str(spike.get_attribute("class"))
        assert spike.locator("[data-flag='over']").is_visible()
        background = spike.locator("td").first.evaluate("e => getComputedStyle(e).backgroundColor")
        plain = admin.page.locator('tr[data-flagged="false"] td').first
        assert background != plain.evaluate("e => getComputedStyle(e).backgroundColor")
        admin.shot(screenshots, "forecast-laptop")
        assert admin.errors == []
    finally:
        admin.close()


def test_the_forecast_page_fits_a_phone_for_the_providers_user(
    browser: Any, service: Service, screenshots: Path, flagged: list[str]
) -> None:
    eve = Visitor(browser, service, PHONE)
    try:
        eve.log_in(PROVIDER_USERS["eastbridge"])
        assert eve.goto("/providers/eastbridge/forecast") == 200
        eve.page.wait_for_selector("canvas[data-forecast-chart][data-drawn='true']")
        widths = eve.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]"
        )
        assert widths[0] <= widths[1], widths
        assert widths[2] <= widths[1], widths
        eve.shot(screenshots, "forecast-phone")
        assert eve.errors == []
        assert eve.goto("/providers/westcoast/forecast") == 404
        assert eve.page.locator("canvas").count() == 0
    finally:
        eve.close()
