"""The dashboard in a real browser: login, figures equal to the API's, drill-down, scope,
the dispute workflow across two users, HTMX actions, and a phone-sized screen."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tallyclerk.metrics import metric_items, open_context, period_start
from tallyclerk.reconcile import get_finding
from tallyclerk.sla import ledger, scorecards
from tests.browser.conftest import ADMIN, PASSWORD, PROVIDER_USERS, Service

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


class Visitor:
    """One person's browser context: a page, and the console errors it collected."""

    def __init__(self, browser: Any, service: Service, viewport: dict[str, int]) -> None:
        self.service = service
        self.context = browser.new_context(viewport=viewport, base_url=service.base_url)
        self.context.set_default_timeout(30_000)
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

    def log_in(self, user: str, next_url: str = "/") -> None:
        """Fill the login form as a person does."""
        self.page.goto(f"/login?next={next_url}")
        self.page.fill("#username", user)
        self.page.fill("#password", PASSWORD)
        self.page.click("form.stack button[type=submit]")
        self.page.wait_for_load_state("networkidle")
        assert self.page.locator(f'[data-user="{user}"]').count() == 1, self.page.content()

    def goto(self, path: str) -> int:
        """Open a page; its HTTP status."""
        response = self.page.goto(path)
        self.page.wait_for_load_state("networkidle")
        assert response is not None
        return int(response.status)

    def shot(self, folder: Path, name: str) -> None:
        """A full-page screenshot for people to look at."""
        self.page.screenshot(path=str(folder / f"{name}.png"), full_page=True)

    def close(self) -> None:
        """Close the context."""
        self.context.close()


@pytest.fixture
def visit(browser: Any, service: Service) -> Iterator[Any]:
    """Open browser contexts (one per person) that are closed after the test."""
    opened: list[Visitor] = []

    def make(viewport: dict[str, int] = LAPTOP) -> Visitor:
        visitor = Visitor(browser, service, viewport)
        opened.append(visitor)
        return visitor

    yield make
    for visitor in opened:
        visitor.close()


def _figures(visitor: Visitor, scope: str) -> dict[tuple[str, str, str], str]:
    """(metric, provider, segment) -> data-value of every figure in `scope`."""
    cells = visitor.page.locator(f"{scope} [data-metric][data-provider][data-segment]")
    out = {}
    for i in range(cells.count()):
        cell = cells.nth(i)
        key = (
            str(cell.get_attribute("data-metric")),
            str(cell.get_attribute("data-provider")),
            str(cell.get_attribute("data-segment")),
        )
        out[key] = str(cell.get_attribute("data-value"))
    return out


def test_the_overview_shows_the_apis_figures(
    visit: Any, service: Service, screenshots: Path
) -> None:
    admin = visit()
    admin.log_in(ADMIN)
    admin.shot(screenshots, "overview-laptop")
    cards = service.api("/api/v1/scorecards")["items"]
    assert {c["provider_id"] for c in cards} == {"eastbridge", "westcoast"}
    shown = _figures(admin, ".card")
    expected = {
        (m["metric"], m["provider_id"], m["segment_from"]): m["value"]
        for card in cards
        for m in card["metrics"]
    }
    assert set(shown) == set(expected)
    for key, value in expected.items():
        assert (float(shown[key]) if shown[key] else None) == value, key
    for card in cards:
        provider = card["provider_id"]
        box = admin.page.locator(f'[data-card="{provider}"]')
        assert box.get_attribute("data-light") == card["light"]
        for field, name in (("credits", "sla_credits"), ("ledger_credits", "ledger_credits")):
            cell = box.locator(f'[data-metric="{name}"]')
            assert Decimal(str(cell.get_attribute("data-value"))) == Decimal(card[field])
    # Charts are drawn from data attributes by the static script, within the CSP.
    admin.goto("/providers/eastbridge")
    admin.page.wait_for_selector("canvas[data-drawn='true']")
    assert admin.page.evaluate("typeof window.Chart") == "function"
    admin.shot(screenshots, "provider-laptop")
    assert admin.errors == []


def test_drilling_down_from_a_breached_metric_lists_its_late_orders(
    visit: Any, service: Service, screenshots: Path
) -> None:
    admin = visit()
    admin.log_in(ADMIN)
    breached = admin.page.locator(
        '.card tr[data-state="breached"]:has([data-metric="ship_on_time_rate"])'
    ).first
    provider = str(breached.locator("[data-provider]").get_attribute("data-provider"))
    breached.locator("a").click()
    admin.page.wait_for_load_state("networkidle")
    assert "/kpis/ship_on_time_rate" in admin.page.url
    admin.shot(screenshots, "drill-down")
    shown: list[str] = []
    while True:
        rows = admin.page.locator('tr[data-item][data-bad="true"]')
        shown += [str(rows.nth(i).get_attribute("data-item")) for i in range(rows.count())]
        following = admin.page.locator('a[rel="next"]')
        if following.count() == 0:
            break
        following.click()
        admin.page.wait_for_load_state("networkidle")
    with service.store() as store, store.connect() as connection:
        (card,) = scorecards(connection, providers=[provider])
    with (
        service.store() as store,
        open_context(store, as_of=card.as_of, settings=service.settings) as ctx,
    ):
        items = metric_items(ctx, "ship_on_time_rate")
        late = items.filter(
            (items.provider_id == provider)
            & (period_start(items.period_date, "month") == card.period)
            & ~items.hit
        )
        expected = sorted(late.item_id.to_pyarrow().to_pylist())
    assert expected
    assert sorted(shown) == expected
    assert admin.errors == []


def test_a_provider_user_cannot_reach_another_provider(
    visit: Any, service: Service, screenshots: Path
) -> None:
    eve = visit()
    eve.log_in(PROVIDER_USERS["eastbridge"])
    cards = eve.page.locator("[data-card]")
    assert [cards.nth(i).get_attribute("data-card") for i in range(cards.count())] == ["eastbridge"]
    assert eve.page.locator('nav a[href="/health"]').count() == 0
    for path in (
        "/providers/westcoast",
        "/providers/westcoast/kpis/ship_on_time_rate?period=2026-12",
        "/findings?provider=westcoast",
    ):
        assert eve.goto(path) == 404, path
        assert eve.page.locator("[data-metric]").count() == 0
        assert "Not found" in eve.page.inner_text("main")
    assert eve.goto("/health") == 403
    eve.shot(screenshots, "provider-refused")


def test_a_dispute_opened_answered_and_credited_through_the_pages(
    visit: Any, service: Service, screenshots: Path
) -> None:
    admin = visit()
    admin.log_in(ADMIN, next_url="/providers/eastbridge?period=2026-11")
    button = admin.page.locator('button[data-dispute="ship_on_time_rate"]')
    assert button.count() == 1, "eastbridge's November ship-on-time breach has no Dispute button"
    button.click()
    admin.page.wait_for_load_state("networkidle")
    url = admin.page.url
    assert "/disputes/DSP-" in url
    claimed = Decimal(
        str(admin.page.locator('[data-metric="dispute_amount"]').get_attribute("data-value"))
    )
    assert claimed > 0
    admin.shot(screenshots, "dispute-opened")

    eve = visit(PHONE)
    eve.log_in(PROVIDER_USERS["eastbridge"], next_url=url.removeprefix(service.base_url))
    assert eve.page.locator("[data-due]").get_attribute("data-due")
    offer = (claimed / 2).quantize(Decimal("0.01"))
    eve.page.check('input[name="answer"][value="counter"]')
    eve.page.fill("#counter-amount", str(offer))
    eve.page.fill("#answer-note", "half of the late orders waited for the brand's stock")
    eve.page.click('form[data-form="answer"] button[type=submit]')
    eve.page.wait_for_load_state("networkidle")
    assert eve.page.locator("[data-dispute-status]").get_attribute("data-dispute-status") == (
        "countered"
    )
    assert eve.page.locator('form[data-form="resolve"]').count() == 0
    eve.shot(screenshots, "dispute-answered-phone")

    admin.goto(url)
    admin.page.select_option("#resolution", "credited")
    assert Decimal(admin.page.input_value("#credit-amount")) == offer
    admin.page.click('form[data-form="resolve"] button[type=submit]')
    admin.page.wait_for_load_state("networkidle")
    assert admin.page.locator("[data-dispute-status]").get_attribute("data-dispute-status") == (
        "resolved"
    )
    events = admin.page.locator("li[data-event]")
    assert [events.nth(i).get_attribute("data-event") for i in range(events.count())] == [
        "opened",
        "countered",
        "credited",
    ]
    admin.shot(screenshots, "dispute-resolved")

    dispute_id = url.rsplit("/", 1)[1]
    with service.store() as store, store.connect() as connection:
        booked = [
            e
            for e in ledger(connection, providers=["eastbridge"], period=date(2026, 11, 1))
            if e.source_ref == dispute_id
        ]
    assert [e.amount for e in booked] == [offer]
    admin.goto("/providers/eastbridge?period=2026-11")
    entry = admin.page.locator(f'[data-ledger-entry="{booked[0].entry_id}"] [data-value]')
    assert Decimal(str(entry.get_attribute("data-value"))) == offer
    total = admin.page.locator('[data-metric="ledger_credits"]').first
    assert Decimal(str(total.get_attribute("data-value"))) >= offer
    admin.shot(screenshots, "ledger-credited")
    assert admin.errors == []
    assert eve.errors == []


def test_an_admin_acknowledges_a_finding_in_place(
    visit: Any, service: Service, screenshots: Path
) -> None:
    admin = visit()
    admin.log_in(ADMIN, next_url="/findings?status=open")
    row = admin.page.locator('tr[data-status="open"]').first
    finding_id = int(str(row.get_attribute("data-finding")))
    before = admin.page.evaluate("window.performance.getEntriesByType('navigation').length")
    row.locator('button[data-action="acknowledge"]').click()
    updated = admin.page.locator(f'tr[data-finding="{finding_id}"][data-status="acknowledged"]')
    updated.wait_for()
    # HTMX swapped the row: no navigation happened, and the store agrees.
    assert admin.page.evaluate("window.performance.getEntriesByType('navigation').length") == before
    assert "status=open" in admin.page.url
    with service.store() as store, store.connect() as connection:
        stored = get_finding(connection, finding_id)
    assert (stored.status, stored.acknowledged_by) == ("acknowledged", ADMIN)
    admin.shot(screenshots, "findings-acknowledged")
    assert admin.errors == []


PHONE_PAGES = (
    "/",
    "/providers/westcoast",
    "/providers/eastbridge/kpis/ship_on_time_rate",
    "/findings",
    "/disputes",
    "/inventory",
)


def test_a_phone_shows_the_pages_without_sideways_scrolling(
    visit: Any, service: Service, screenshots: Path
) -> None:
    phone = visit(PHONE)
    phone.log_in(ADMIN)
    for path in PHONE_PAGES:
        assert phone.goto(path) == 200, path
        widths = phone.page.evaluate(
            "[document.documentElement.scrollWidth, window.innerWidth, document.body.scrollWidth]"
        )
        assert widths[0] <= widths[1], (path, widths)
        assert widths[2] <= widths[1], (path, widths)
        name = path.strip("/").replace("/", "-") or "overview"
        phone.shot(screenshots, f"phone-{name}")
    assert phone.errors == []
