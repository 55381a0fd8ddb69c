"""The weekly review in a real browser: from /reviews to a provider's review, its charts drawn,
its PDF downloaded; and the provider's copy on a phone.

The session store holds November and December 2026 (tests/browser/conftest.py). The week is
the one /reviews offers first: the last whole week before today.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.reports import IsoWeek
from tests.browser.conftest import ADMIN, PROVIDER_USERS, Service
from tests.browser.test_dashboard import LAPTOP, PHONE, Visitor

pytestmark = pytest.mark.browser

WEEK = IsoWeek.of(datetime.now(UTC).date() - timedelta(days=7)).name


def _fits(visitor: Visitor) -> None:
    """Nothing makes the page scroll sideways."""
    widths = visitor.page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]"
    )
    assert widths[0] <= widths[1], widths
    assert widths[2] <= widths[1], widths


def test_an_admin_opens_a_review_sees_its_charts_and_downloads_the_pdf(
    browser: Any, service: Service, screenshots: Path
) -> None:
    admin = Visitor(browser, service, LAPTOP)
    try:
        admin.log_in(ADMIN, next_url="/reviews")
        assert admin.page.url.endswith("/reviews")
        link = admin.page.locator('tr[data-provider="eastbridge"] a', has_text="review").first
        assert link.get_attribute("href") == f"/providers/eastbridge/review?week={WEEK}"
        link.click()
        admin.page.wait_for_load_state("networkidle")
        assert admin.page.url.endswith(f"/providers/eastbridge/review?week={WEEK}")
        article = admin.page.locator("article.review")
        assert article.get_attribute("data-week") == WEEK
        charts = admin.page.locator("figure.review-chart svg")
        assert charts.count() >= 5
        for i in range(charts.count()):
            box = charts.nth(i).bounding_box()
            assert box is not None, i
            assert charts.nth(i).is_visible(), i
            assert box["width"] > 200, (i, box)
            assert box["height"] > 60, (i, box)
        # Each chart has a line drawn in it, not an empty frame.
        lines = admin.page.evaluate(
            """() => [...document.querySelectorAll("figure.review-chart svg")].map(
                (svg) => svg.querySelectorAll("path").length)"""
        )
        assert all(n > 3 for n in lines), lines
        admin.shot(screenshots, "review-admin-laptop")
        # The summary tiles sit side by side on a laptop.
        tops = admin.page.evaluate(
            """() => [...document.querySelectorAll(".review-tile")].map(
                (t) => Math.round(t.getBoundingClientRect().top))"""
        )
        assert len(set(tops)) == 1, tops
        # The trend charts are laid out in columns, not one under the other.
        rows = admin.page.evaluate(
            """() => [...document.querySelectorAll("figure.review-chart")].map(
                (f) => Math.round(f.getBoundingClientRect().top))"""
        )
        assert len(set(rows)) < len(rows) / 2, rows
        assert admin.page.locator("#actions-panel").is_visible()
        _fits(admin)
        with admin.page.expect_download() as caught:
            admin.page.click('a[data-download="pdf"]')
        download = caught.value
        assert download.suggested_filename == f"review-eastbridge-{WEEK}.pdf"
        saved = Path(download.path())
        assert saved.read_bytes().startswith(b"%PDF-")
        assert admin.errors == []
    finally:
        admin.close()


def test_a_provider_user_reads_its_copy_on_a_phone(
    browser: Any, service: Service, screenshots: Path
) -> None:
    eve = Visitor(browser, service, PHONE)
    try:
        eve.log_in(PROVIDER_USERS["eastbridge"])
        assert eve.goto(f"/providers/eastbridge/review?week={WEEK}&audience=brand") == 200
        copy = eve.page.locator(".review-redaction")
        assert copy.is_visible()
        assert "brand cost data left out" in copy.inner_text()
        assert eve.page.locator("article.review").get_attribute("data-audience") == "provider"
        assert eve.page.locator("[data-audience-switch]").count() == 0
        eve.shot(screenshots, "review-provider-phone")
        assert eve.page.locator("figure.review-chart svg").first.is_visible()
        _fits(eve)
        assert eve.errors == []
        assert eve.goto(f"/providers/westcoast/review?week={WEEK}") == 404
        assert eve.page.locator("article.review").count() == 0
    finally:
        eve.close()
