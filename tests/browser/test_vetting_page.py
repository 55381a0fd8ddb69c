"""The vetting page in a real browser: reached from the menu, its chart drawn, the leader on
top, on a laptop and on a phone; absent for a provider's user.

The report is a real one: the example RFP (examples/vetting/rfp.yaml) vetted on the session
store's November and December 2026 (harborline's pilot is the store's westcoast) and kept.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.vetting import KeptReport
from tests.api.test_vetting_api import keep_vetting
from tests.browser.conftest import ADMIN, PROVIDER_USERS, Service
from tests.browser.test_dashboard import LAPTOP, PHONE, Visitor

pytestmark = pytest.mark.browser

WINDOW = (date(2026, 11, 1), date(2026, 12, 31))

_DRAWN = """() => {
  const canvas = document.querySelector("canvas[data-vetting-chart]");
  const chart = window.Chart.getChart(canvas);
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let inked = 0;
  for (let i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) inked++; }
  return {
    type: chart.config.type,
    labels: chart.data.labels,
    datasets: chart.data.datasets.map((d) => d.label),
    fees: chart.data.datasets[0].data,
    risk: chart.data.datasets[1].data,
    width: canvas.width,
    inked: inked,
  };
}"""


@pytest.fixture(scope="module")
def kept(service: Service) -> KeptReport:
    """The vetting of the session store's two months, kept in the service's store."""
    with service.store() as store:
        return keep_vetting(store, service.settings, WINDOW)


def test_the_vetting_page_ranks_the_candidates_and_draws_the_costs(
    browser: Any, service: Service, screenshots: Path, kept: KeptReport
) -> None:
    ranked = kept.document["candidates"]
    leader = ranked[0]
    assert kept.document["window"] == {"from": "2026-11", "to": "2026-12"}
    admin = Visitor(browser, service, LAPTOP)
    try:
        admin.log_in(ADMIN)
        admin.page.click('nav a[href="/vetting"]')
        admin.page.wait_for_load_state("networkidle")
        assert admin.page.url.endswith("/vetting")
        admin.page.wait_for_selector("canvas[data-vetting-chart][data-drawn='true']")
        drawn = admin.page.evaluate(_DRAWN)
        assert drawn["type"] == "bar"
        assert drawn["labels"] == [c["name"] for c in ranked]
        assert drawn["datasets"] == ["fees / month", "risk-adjusted / month"]
        assert drawn["fees"] == [float(c["cost"]["monthly"]) for c in ranked]
        assert drawn["risk"] == [float(c["cost"]["risk_adjusted_monthly"]) for c in ranked]
        assert drawn["width"] > 300
        assert drawn["inked"] > 3000  # bars, axes and legend, not a blank canvas
        # The leader's row comes first, marked, with the report's figures.
        first = admin.page.locator("table.ranked tbody tr").first
        assert first.get_attribute("data-candidate") == leader["candidate_id"]
        assert first.get_attribute("data-rank") == "1"
        assert "leader" in str(first.get_attribute("class"))
        fees = first.locator('[data-metric="fees_monthly"]')
        assert fees.inner_text().strip() == f"{Decimal(leader['cost']['monthly']):,.2f}"
        assert first.locator(".score-figure").inner_text() == f"{leader['score']:.1f}"
        bar = first.locator(".scorebar span").evaluate("e => e.getBoundingClientRect().width")
        track = first.locator(".scorebar").evaluate("e => e.getBoundingClientRect().width")
        assert abs(bar / track - leader["score"] / 100) < 0.02
        # The leader's detail is open; the others' are folded.
        assert admin.page.locator(f"#candidate-{leader['candidate_id']} details").is_visible()
        criteria = admin.page.locator(f"#candidate-{leader['candidate_id']} tr[data-criterion]")
        assert criteria.count() == len(leader["criteria"])
        assert criteria.first.is_visible()
        admin.shot(screenshots, "vetting-laptop")
        assert admin.errors == []
    finally:
        admin.close()
    phone = Visitor(browser, service, PHONE)
    try:
        phone.log_in(ADMIN)
        assert phone.goto("/vetting") == 200
        phone.page.wait_for_selector("canvas[data-vetting-chart][data-drawn='true']")
        widths = phone.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]"
        )
        assert widths[0] <= widths[1], widths
        assert widths[2] <= widths[1], widths
        # On a phone each candidate is a card: its figures fit the screen, unscrolled.
        card = phone.page.locator("table.ranked tbody tr").first
        box = card.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= PHONE["width"]
        assert card.locator('[data-metric="risk_adjusted_monthly"]').is_visible()
        phone.shot(screenshots, "vetting-phone")
        assert phone.errors == []
    finally:
        phone.close()
    eve = Visitor(browser, service, PHONE)
    try:
        eve.log_in(PROVIDER_USERS["eastbridge"])
        assert eve.page.locator('nav a[href="/vetting"]').count() == 0
        assert eve.goto("/vetting") == 404
        assert eve.page.locator("table.ranked").count() == 0
    finally:
        eve.close()
