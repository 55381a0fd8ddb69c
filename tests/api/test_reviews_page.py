"""The weekly review on the dashboard: /reviews, a provider's review page, its downloads, the
provider's copy and the action items panel, through the service.

The store is the API tests' simulated quarter (tests/api/conftest.py). The week under review is
2026-W11 (9 to 15 March 2026); the figures the page shows are compared with the JSON that
GET /api/v1/reviews answers for the same provider and week.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html import unescape
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tallyclerk.reports import IsoWeek
from tests.api.conftest import USERS, auth
from tests.api.test_forecast_page import Elements
from tests.api.test_web_pages import csrf_of, log_in

WEEK = "2026-W11"
PAGE = "/providers/{}/review"


@pytest.fixture
def client(api_client: TestClient) -> Iterator[TestClient]:
    """The module's client with no cookies left from another test."""
    api_client.cookies.clear()
    yield api_client
    api_client.cookies.clear()


def _html(client: TestClient, token: str, url: str, **params: str) -> httpx.Response:
    """A page as a browser asks for it (a query in `url` stays when no params are given)."""
    return client.get(url, params=params or None, headers={**auth(token), "Accept": "text/html"})


def _json(client: TestClient, token: str, provider: str, week: str, **params: str) -> Any:
    response = client.get(f"/api/v1/reviews/{provider}/{week}", params=params, headers=auth(token))
    assert response.status_code == 200, response.text
    return response.json()


def _section(text: str, name: str) -> str:
    """The HTML of the fragment's section `review-<name>`."""
    found = re.search(rf'<section class="review-section review-{name}".*?</section>', text, re.S)
    assert found is not None, f"no section {name}"
    return found.group(0)


def _kpi_rows(text: str) -> list[tuple[str, str, str, str, str]]:
    """(metric, target, week's value, basis, state) of each row of the KPI table, as shown."""
    table = _section(text, "kpis")
    rows = re.findall(r"<tr class=\"review-row-[^\"]+\">(.*?)</tr>", table, re.S)
    out = []
    for row in rows:
        cells = [
            unescape(re.sub(r"<[^>]+>", "", c)).strip()
            for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        out.append((cells[0], cells[1], cells[2], cells[3], cells[4]))
    return out


def _tile(text: str, label: str) -> str:
    """The figure of the summary tile whose label starts with `label`."""
    found = re.search(
        r'<span class="review-tile-figure">([^<]*)</span>\s*'
        rf'<span class="review-tile-label">{label}',
        text,
    )
    assert found is not None, f"no tile {label}"
    return unescape(found.group(1))


def _href(page: Elements, **wanted: str) -> str:
    (link,) = page.find(**wanted)
    return unescape(link["href"])


def _percent(value: float) -> str:
    """A share as the review shows it: 0.9674 -> 96.7%."""
    return f"{value * 100:.1f}%"


# -- /reviews -----------------------------------------------------------------------------------


def _weeks_linked(page: Elements, provider: str) -> list[str]:
    prefix = f"/providers/{provider}/review?week="
    return [
        a["href"].removeprefix(prefix)
        for tag, a in page.tags
        if tag == "a" and a.get("href", "").startswith(prefix)
    ]


def test_the_index_links_each_provider_in_view_to_its_weeks(
    client: TestClient, tokens: dict[str, str]
) -> None:
    response = _html(client, tokens["admin"], "/reviews", week="2026-W02")
    assert response.status_code == 200, response.text
    page = Elements(response.text)
    assert [a["data-provider"] for tag, a in page.tags if tag == "tr" and "data-provider" in a] == [
        "eastbridge",
        "westcoast",
    ]
    # The chosen week and the seven before it, across the turn of the year.
    expected = ["2026-W02", "2026-W01", "2025-W52", "2025-W51", "2025-W50", "2025-W49"]
    expected += ["2025-W48", "2025-W47"]
    for provider in ("eastbridge", "westcoast"):
        assert _weeks_linked(page, provider) == expected
        pdfs = [
            a["href"]
            for tag, a in page.tags
            if a.get("href", "").startswith(f"/providers/{provider}/review.pdf")
        ]
        assert pdfs == [f"/providers/{provider}/review.pdf?week={w}" for w in expected]
    assert 'value="2026-W02"' in response.text  # the week picker shows the chosen week
    # Without a week: the last whole week before today, then the ones before it.
    default = Elements(_html(client, tokens["analyst"], "/reviews").text)
    last = IsoWeek.of(datetime.now(UTC).date() - timedelta(days=7))
    assert _weeks_linked(default, "westcoast")[:2] == [last.name, last.shifted(-1).name]


def test_a_provider_user_sees_its_own_row_only(client: TestClient, tokens: dict[str, str]) -> None:
    response = _html(client, tokens["eastbridge"], "/reviews", week=WEEK)
    assert response.status_code == 200
    page = Elements(response.text)
    assert [a["data-provider"] for tag, a in page.tags if tag == "tr" and "data-provider" in a] == [
        "eastbridge"
    ]
    assert "westcoast" not in response.text
    assert _weeks_linked(page, "eastbridge")[0] == WEEK
    refused = _html(client, tokens["eastbridge"], "/reviews", week="2026-W60")
    assert refused.status_code == 400
    assert "2026 has no ISO week 60" in refused.text
    assert "Traceback" not in refused.text


# -- the review page ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def west(api_client: TestClient, tokens: dict[str, str]) -> tuple[str, Any]:
    """The admin's review page of westcoast's 2026-W11, and the API's JSON of it."""
    api_client.cookies.clear()
    response = _html(api_client, tokens["admin"], PAGE.format("westcoast"), week=WEEK)
    assert response.status_code == 200, response.text
    return response.text, _json(api_client, tokens["admin"], "westcoast", WEEK)


def test_the_page_shows_the_reviews_figures(west: tuple[str, Any]) -> None:
    text, review = west
    page = Elements(text)
    (body,) = page.find(data_review="westcoast")
    assert (body["data-week"], body["data-audience"]) == (WEEK, "brand")
    assert text.count('<article class="review ') == 1
    assert "<html" not in text.split('<div class="review-body"', 1)[1]  # the fragment, embedded
    shown = _kpi_rows(text)
    assert [row[0] for row in shown] == [k["metric"].replace("_", " ") for k in review["kpis"]]
    for row, kpi in zip(shown, review["kpis"], strict=True):
        sign = "≤" if kpi["lower_is_better"] else "≥"
        assert row[1] == f"{sign} {_percent(kpi['target'])}"
        assert row[2] == ("no data" if kpi["value"] is None else _percent(kpi["value"]))
        assert row[3] == f"{kpi['numerator']:,} of {kpi['denominator']:,}"
        assert row[4] == {True: "met", False: "breached", None: "no data"}[kpi["met"]]
    # westcoast's inventory accuracy missed its target that week: 4 SKUs off the book.
    inventory = next(r for r in shown if r[0] == "inventory accuracy rate")
    assert inventory[4] == "breached"
    met = sum(1 for k in review["kpis"] if k["met"] is True)
    breached = sum(1 for k in review["kpis"] if k["met"] is False)
    assert _tile(text, "KPIs against target") == f"{met} met · {breached} breached"
    assert _tile(text, "disputes") == f"{len(review['disputes'])} open"
    credits = review["credits"]
    assert _tile(text, "credits accrued") == f"USD {Decimal(credits['amount']):,.2f}"
    value_off = Decimal(review["inventory"]["value_off"])
    assert value_off > 0
    assert f"<dt>Value off at cost</dt><dd>USD {value_off:,.2f}</dd>" in text
    assert text.count("<svg") == len([k for k in review["kpis"] if k["trend"]])


def test_the_page_links_the_weeks_around_and_its_downloads(west: tuple[str, Any]) -> None:
    page = Elements(west[0])
    base = PAGE.format("westcoast")
    assert _href(page, rel="prev") == f"{base}?week=2026-W10"
    assert _href(page, rel="next") == f"{base}?week=2026-W12"
    assert _href(page, data_download="pdf") == f"/providers/westcoast/review.pdf?week={WEEK}"
    assert _href(page, data_download="html") == f"/providers/westcoast/review.html?week={WEEK}"
    assert _href(page, data_audience_switch="provider") == f"{base}?week={WEEK}&audience=provider"


def test_the_weeks_around_the_turn_of_a_long_year(
    client: TestClient, tokens: dict[str, str]
) -> None:
    # 2026 begins on a Thursday: it has 53 ISO weeks, and 2027-W01 follows 2026-W53.
    response = _html(client, tokens["westcoast"], PAGE.format("westcoast"), week="2026w53")
    assert response.status_code == 200
    page = Elements(response.text)
    assert page.find(data_review="westcoast")[0]["data-week"] == "2026-W53"
    assert _href(page, rel="prev").endswith("?week=2026-W52")
    assert _href(page, rel="next").endswith("?week=2027-W01")
    assert "2026-W53 · Mon 2026-12-28 to Sun 2027-01-03" in response.text


def test_the_pdf_and_html_links_download_the_review(
    client: TestClient, tokens: dict[str, str], west: tuple[str, Any]
) -> None:
    page = Elements(west[0])
    pdf = client.get(_href(page, data_download="pdf"), headers=auth(tokens["admin"]))
    assert pdf.status_code == 200
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"] == (
        f'attachment; filename="review-westcoast-{WEEK}.pdf"'
    )
    assert pdf.content.startswith(b"%PDF-")
    html = client.get(_href(page, data_download="html"), headers=auth(tokens["admin"]))
    assert html.status_code == 200
    assert html.headers["content-disposition"] == (
        f'attachment; filename="review-westcoast-{WEEK}.html"'
    )
    assert html.text.lstrip().lower().startswith("<!doctype html>")
    assert '<h1 class="review-title">' in html.text  # the document's own heading
    # Another provider's downloads do not exist for a provider user.
    for suffix in ("pdf", "html"):
        refused = client.get(
            f"/providers/westcoast/review.{suffix}?week={WEEK}", headers=auth(tokens["eastbridge"])
        )
        assert refused.status_code == 404
        assert b"%PDF" not in refused.content
        assert "Weekly review" not in refused.text


def test_the_switch_shows_the_copy_the_provider_sees(
    client: TestClient, tokens: dict[str, str], west: tuple[str, Any]
) -> None:
    switch = _href(Elements(west[0]), data_audience_switch="provider")
    response = _html(client, tokens["admin"], switch)
    assert response.status_code == 200
    text = response.text
    page = Elements(text)
    assert page.find(data_review="westcoast")[0]["data-audience"] == "provider"
    assert "<dt>Copy</dt><dd>Provider copy</dd>" in text
    assert 'class="review-redaction"' in text
    assert "brand cost data left out" in text
    assert "Value off at cost" not in text
    assert "Value off at cost" in west[0]
    # The way back, and the weeks around and the downloads stay on the provider's copy.
    assert _href(page, rel="prev").endswith("?week=2026-W10&audience=provider")
    assert _href(page, data_download="pdf").endswith(f"?week={WEEK}&audience=provider")
    assert not page.find(data_audience_switch="provider")
    assert f'href="/providers/westcoast/review?week={WEEK}">Brand copy</a>' in text
    # The figures are the same week's.
    assert _kpi_rows(text) == _kpi_rows(west[0])


def test_a_provider_user_reads_its_own_copy(client: TestClient, tokens: dict[str, str]) -> None:
    eve = tokens["eastbridge"]
    response = _html(client, eve, PAGE.format("eastbridge"), week=WEEK, audience="brand")
    assert response.status_code == 200
    page = Elements(response.text)
    assert page.find(data_review="eastbridge")[0]["data-audience"] == "provider"
    assert "brand cost data left out" in response.text
    assert "Value off at cost" not in response.text
    assert not page.find(data_audience_switch="provider")  # the brand's switch is not theirs
    assert "audience=" not in _href(page, data_download="pdf")
    refused = [
        _html(client, eve, PAGE.format(provider), week=WEEK) for provider in ("westcoast", "nobody")
    ]
    for answer in refused:
        assert answer.status_code == 404
        assert '<p class="message">no such provider</p>' in answer.text
        assert "data-review" not in answer.text
    unknown = _html(client, tokens["admin"], PAGE.format("nobody"), week=WEEK)
    assert unknown.status_code == 404
    assert '<p class="message">no such provider</p>' in unknown.text


def test_the_current_week_counts_the_open_disputes_as_the_api(
    client: TestClient, tokens: dict[str, str]
) -> None:
    """The dispute opened when the store was built is open in the week holding now."""
    week = IsoWeek.of(datetime.now(UTC).date()).name
    response = _html(client, tokens["admin"], PAGE.format("eastbridge"), week=week)
    assert response.status_code == 200
    review = _json(client, tokens["admin"], "eastbridge", week)
    assert len(review["disputes"]) == 1
    assert _tile(response.text, "disputes") == "1 open"
    (dispute,) = review["disputes"]
    assert f"<td>{dispute['dispute_id']}</td>" in _section(response.text, "disputes")


# -- the action items panel ---------------------------------------------------------------------


def test_an_action_added_from_the_panel_shows_on_the_page(
    client: TestClient, tokens: dict[str, str]
) -> None:
    assert log_in(client, USERS["admin"][0]).status_code == 303
    url = f"{PAGE.format('westcoast')}?week={WEEK}"
    page = client.get(url)
    assert page.status_code == 200
    (panel,) = Elements(page.text).find(id="actions-panel")
    assert (panel["data-provider"], panel["data-week"]) == ("westcoast", WEEK)
    form = re.search(r'<form method="post" action="/actions" .*?</form>', page.text, re.S)
    assert form is not None
    hidden = dict(
        re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', form.group(0))
    )
    assert hidden["provider_id"] == "westcoast"
    assert hidden["opened_week"] == WEEK
    assert unescape(hidden["next"]) == url
    refused = client.post(
        "/actions", data={**hidden, "csrf_token": "forged", "title": "x", "owner": "y"}
    )
    assert refused.status_code == 403
    posted = client.post(
        "/actions",
        data={
            **{k: unescape(v) for k, v in hidden.items()},
            "csrf_token": csrf_of(page),
            "title": "Recount the four SKUs off the book",
            "owner": "Wes",
            "party": "provider",
            "due_on": "2026-03-20",
            "reference": "inventory_accuracy_rate",
        },
        follow_redirects=False,
    )
    assert posted.status_code == 303, posted.text
    assert posted.headers["location"] == url
    after = client.get(posted.headers["location"])
    assert after.status_code == 200
    rows = [a for tag, a in Elements(after.text).tags if tag == "tr" and "data-action-id" in a]
    assert len(rows) == 1
    action_id = rows[0]["data-action-id"]
    assert rows[0]["data-status"] == "open"
    assert "Recount the four SKUs off the book" in after.text
    # The review itself lists it among the week's action items, as the API does.
    actions = _section(after.text, "actions")
    assert f"#{action_id} Recount the four SKUs off the book" in actions
    assert _tile(after.text, "action items") == "0 overdue"
    assert "action items, 1 open" in after.text
    client.cookies.clear()
    review = _json(client, tokens["admin"], "westcoast", WEEK)
    assert [(a["action_id"], a["opened_week"]) for a in review["actions"]] == [
        (int(action_id), WEEK)
    ]


def test_the_top_bar_marks_reviews_on_a_review_and_overview_on_a_provider(
    west: tuple[str, Any], client: TestClient, tokens: dict[str, str]
) -> None:
    def current(text: str) -> list[str]:
        return re.findall(r'<a href="([^"]+)" aria-current="page">', text.split("</nav>")[0])

    assert current(west[0]) == ["/reviews"]
    provider = _html(client, tokens["admin"], "/providers/westcoast")
    assert provider.status_code == 200
    assert current(provider.text) == ["/"]
