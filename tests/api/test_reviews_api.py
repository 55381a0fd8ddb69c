"""GET /api/v1/reviews/{provider_id}/{week}: the weekly review per role, format and clock.

The store is the API tests' simulated quarter (tests/api/conftest.py): January to March 2026,
February evaluated and closed, March open, both read on the clock AS_OF (2026-03-20). The week
under review is 2026-W11, Monday 9 to Sunday 15 March: in the brand's zone (America/Chicago,
on daylight time since 8 March) it ends at 2026-03-16 05:00 UTC, the review's default clock.
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient

from tallyclerk.reports import IsoWeek
from tests.api.conftest import ON_BOTH, PROVIDERS, auth

WEEK = "2026-W11"
WEEK_END = "2026-03-16T05:00:00+00:00"  # Sunday 24:00 in Chicago (UTC-5 in March)
URL = "/api/v1/reviews/{}/{}"
SECTIONS = {
    "kpis",
    "breaches",
    "credits",
    "burn",
    "disputes",
    "findings",
    "invoice_findings",
    "inventory",
    "experience",
    "forecast",
    "forecast_as_of",
    "actions",
    "notes",
    "redacted",
}


def _get(client: TestClient, token: str, provider: str, week: str = WEEK, **query: str) -> Any:
    params = "&".join(f"{k}={quote(v)}" for k, v in query.items())
    url = URL.format(provider, week) + (f"?{params}" if params else "")
    return client.get(url, headers=auth(token))


def _no_trace(response: Any) -> dict[str, Any]:
    """The error body, checked to be the plain {"error": {...}} with no stack trace."""
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}, body
    assert body["error"]["status"] == response.status_code
    assert set(body["error"]) <= {"status", "message", "details"}
    for marker in ("Traceback", 'File "', "tallyclerk/", ".py", "Error:"):
        assert marker not in response.text, (marker, response.text)
    return body


@pytest.fixture(scope="module")
def reviews(api_client: TestClient, tokens: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The admin's JSON review of 2026-W11 per provider, on the default clock."""
    out = {}
    for provider in PROVIDERS:
        response = _get(api_client, tokens["admin"], provider)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        out[provider] = response.json()
    return out


@ON_BOTH
def test_the_admin_reads_each_providers_week_with_every_section(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    for provider in PROVIDERS:
        response = _get(api_client, tokens["admin"], provider)
        assert response.status_code == 200, response.text
        review = response.json()
        assert set(review) >= SECTIONS
        assert review["provider_id"] == provider
        assert (review["week"], review["week_start"], review["week_end"]) == (
            WEEK,
            "2026-03-09",
            "2026-03-15",
        )
        assert review["audience"] == "brand"
        assert review["redacted"] == []
        assert review["as_of"] == WEEK_END
        assert review["currency"] == "USD"
        # Every contracted KPI, each with 12 weeks of trend ending with the review's week.
        assert review["kpis"], provider
        for kpi in review["kpis"]:
            trend = [point["week"] for point in kpi["trend"]]
            assert trend == [IsoWeek(2026, 11).shifted(-i).name for i in range(11, -1, -1)]
            assert (trend[0], trend[-1]) == ("2025-W52", WEEK), kpi["metric"]
            assert kpi["trend"][-1]["value"] == kpi["value"]
            if kpi["denominator"]:
                assert kpi["value"] == pytest.approx(kpi["numerator"] / kpi["denominator"])
                beats = (
                    kpi["value"] <= kpi["target"]
                    if kpi["lower_is_better"]
                    else kpi["value"] >= kpi["target"]
                )
                assert kpi["met"] is beats, kpi["metric"]
            else:
                assert (kpi["value"], kpi["met"]) == (None, None)
        # The month holding the week, March, was evaluated on AS_OF: its credits are there.
        assert review["credits"]["period"] == "2026-03"
        assert {b["period"] for b in review["breaches"]} <= {"2026-03"}
        assert {b["period"] for b in review["burn"]} == {"2026-03"}


def test_the_weeks_kpis_are_the_catalogues_figures(
    api_client: TestClient, tokens: dict[str, str], reviews: dict[str, dict[str, Any]]
) -> None:
    """Each KPI of the review equals GET /api/v1/kpis/{metric} for the same week and clock."""
    admin = tokens["admin"]
    compared = 0
    for provider, review in reviews.items():
        for kpi in review["kpis"]:
            figures = api_client.get(
                f"/api/v1/kpis/{kpi['metric']}",
                params={
                    "provider": provider,
                    "grain": "week",
                    "from": "2026-03-09",
                    "to": "2026-03-15",
                    "as_of": review["as_of"],
                },
                headers=auth(admin),
            ).json()["items"]
            if kpi["denominator"] == 0:
                assert [f["value"] for f in figures if f["value"] is not None] == []
                continue
            (figure,) = figures
            assert figure["period"] == "2026-03-09"
            assert (figure["numerator"], figure["denominator"]) == (
                kpi["numerator"],
                kpi["denominator"],
            ), (provider, kpi["metric"])
            assert figure["value"] == pytest.approx(kpi["value"])
            compared += 1
    assert compared >= 8  # most of both providers' contracted KPIs had data that week


def test_the_months_breaches_and_credits_are_the_recorded_scorecards(
    api_client: TestClient, tokens: dict[str, str], reviews: dict[str, dict[str, Any]]
) -> None:
    for provider, review in reviews.items():
        card = api_client.get(
            f"/api/v1/scorecards/{provider}",
            params={"period": "2026-03"},
            headers=auth(tokens["admin"]),
        ).json()
        assert sorted({b["metric"] for b in review["breaches"]}) == sorted(card["breached"])
        assert Decimal(review["credits"]["amount"]) == Decimal(str(card["credits"]))
    # westcoast is off its book on four SKUs: the value off is the sum of their values.
    inventory = reviews["westcoast"]["inventory"]
    assert inventory["skus_off"] == len(inventory["top"]) == 4
    assert inventory["units_off"] == sum(abs(t["difference"]) for t in inventory["top"])
    value_off = sum(abs(Decimal(t["value"])) for t in inventory["top"])
    assert Decimal(inventory["value_off"]) == value_off > 0
    assert inventory["accuracy"] == pytest.approx(
        (inventory["skus_counted"] - inventory["skus_off"]) / inventory["skus_counted"]
    )


def test_html_is_a_standalone_document(api_client: TestClient, tokens: dict[str, str]) -> None:
    response = _get(api_client, tokens["admin"], "westcoast", format="html")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "content-disposition" not in response.headers
    text = response.text
    assert text.lstrip().lower().startswith("<!doctype html>")
    assert text.rstrip().endswith("</html>")
    assert "<style>" in text
    assert ".review-table" in text
    assert text.count("<svg") >= 5  # its charts inside
    assert "<script" not in text
    assert "<link" not in text
    assert 'src="http' not in text
    assert "url(http" not in text
    assert '<article class="review review-audience-brand" data-provider="westcoast"' in text
    assert "<title>Weekly review · " in text
    assert f"· {WEEK}</title>" in text
    attached = _get(api_client, tokens["admin"], "westcoast", format="html", download="true")
    assert attached.headers["content-disposition"] == (
        f'attachment; filename="review-westcoast-{WEEK}.html"'
    )


def test_pdf_is_a_named_pdf_of_the_review(api_client: TestClient, tokens: dict[str, str]) -> None:
    response = _get(api_client, tokens["admin"], "westcoast", format="pdf", download="true")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="review-westcoast-{WEEK}.pdf"'
    )
    assert response.content.startswith(b"%PDF-")
    text = subprocess.run(
        ["pdftotext", "-layout", "-", "-"],
        input=response.content,
        capture_output=True,
        check=True,
    ).stdout.decode()
    assert "WestCoast" in text
    assert WEEK in text
    assert "KPIs against target" in text
    assert "page 1 of" in text  # the footer counts the pages


def test_a_provider_user_gets_its_own_copy_only(
    api_client: TestClient, tokens: dict[str, str], reviews: dict[str, dict[str, Any]]
) -> None:
    west = tokens["westcoast"]
    response = _get(api_client, west, "westcoast", audience="brand")
    assert response.status_code == 200, response.text
    review = response.json()
    assert review["audience"] == "provider"  # asking for the brand's copy changes nothing
    assert review["redacted"]
    assert review["inventory"]["value_off"] is None
    stake = [f for f in review["findings"] if f["domain"] == "inventory"]
    assert stake
    assert all(f["amount_open"] is None for f in stake)
    assert not any("USD" in e for f in stake for e in f["examples"])
    # The figures are the brand's own, only the cost data is left out.
    brand = reviews["westcoast"]
    assert [k["value"] for k in review["kpis"]] == [k["value"] for k in brand["kpis"]]
    assert review["inventory"]["units_off"] == brand["inventory"]["units_off"]
    pdf = _get(api_client, west, "westcoast", format="pdf")
    assert pdf.headers["content-disposition"] == (
        f'inline; filename="review-westcoast-{WEEK}-provider.pdf"'
    )
    # Another provider's review is as absent as a provider nobody has heard of.
    other = _get(api_client, west, "eastbridge")
    unknown = _get(api_client, west, "nobody")
    unknown_to_admin = _get(api_client, tokens["admin"], "nobody")
    for refused in (other, unknown, unknown_to_admin):
        assert refused.status_code == 404
        assert _no_trace(refused) == {"error": {"status": 404, "message": "no such provider"}}
    for fmt in ("html", "pdf"):
        assert _get(api_client, west, "eastbridge", format=fmt).content == other.content


def test_the_brand_may_read_the_providers_copy(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    for role in ("admin", "analyst"):
        response = _get(api_client, tokens[role], "eastbridge", audience="provider")
        assert response.status_code == 200, (role, response.text)
        assert response.json()["audience"] == "provider"
        assert response.json()["inventory"]["value_off"] is None


def test_the_analyst_reads_the_brands_copy(
    api_client: TestClient, tokens: dict[str, str], reviews: dict[str, dict[str, Any]]
) -> None:
    response = _get(api_client, tokens["analyst"], "westcoast")
    assert response.status_code == 200
    review = response.json()
    assert review["audience"] == "brand"
    expected = {k: v for k, v in reviews["westcoast"].items() if k != "generated_at"}
    assert {k: v for k, v in review.items() if k != "generated_at"} == expected
    assert api_client.get(URL.format("westcoast", WEEK)).status_code == 401


def test_a_bad_week_is_refused_plainly(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    for text in ("eleven", "2026-11", "26-W11", "2026-W111", "2026-W11x"):
        response = _get(api_client, admin, "eastbridge", week=text)
        assert response.status_code == 422, text
        assert _no_trace(response)["error"]["details"][0]["field"] == "path.week"
    for text, message in (
        ("2026-W60", "week '2026-W60': 2026 has no ISO week 60"),
        ("2026-W00", "week '2026-W00': 2026 has no ISO week 0"),
        ("2025-W53", "week '2025-W53': 2025 has no ISO week 53"),
        ("0001-W01", "week '0001-W01' is out of range (years 1900 to 2999)"),
        ("9999-W52", "week '9999-W52' is out of range (years 1900 to 2999)"),
    ):
        response = _get(api_client, admin, "eastbridge", week=text)
        assert response.status_code == 400, (text, response.text)
        assert _no_trace(response)["error"]["message"] == message
    # The other spellings IsoWeek reads are the same week.
    same = _get(api_client, admin, "eastbridge", week="2026w11", as_of="2026-03-10")
    assert same.status_code == 200
    assert same.json()["week"] == WEEK


def test_the_clock_as_of(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = tokens["admin"]
    # A date is its end, UTC; read mid-week, the review says the week is not final.
    mid = _get(api_client, admin, "eastbridge", as_of="2026-03-12").json()
    assert mid["as_of"] == "2026-03-12T23:59:59+00:00"
    assert any(f"before {WEEK} ended" in note for note in mid["notes"])
    # Later than the week's end: the week read with what arrived since (here the dispute
    # opened when the store was built is open on a clock of now, not at the week's end).
    now = datetime.now(UTC)
    later = _get(api_client, admin, "eastbridge", as_of=now.isoformat()).json()
    assert [d["status"] for d in later["disputes"]] == ["open"]
    # A clock in the future reads as now: no figure is dated after it was made.
    future = _get(api_client, admin, "eastbridge", as_of="2999-01-01").json()
    assert future["as_of"] == future["generated_at"]
    assert now <= datetime.fromisoformat(future["as_of"]) <= datetime.now(UTC)
    # Before the week begins nothing of it can be read.
    early = _get(api_client, admin, "eastbridge", as_of="2026-03-08")
    assert early.status_code == 400
    assert _no_trace(early)["error"]["message"] == (
        "as_of 2026-03-08 23:59 UTC is before 2026-W11 begins (2026-03-09 05:00 UTC): "
        "nothing of the week can be read then"
    )
    for text, message in (
        ("yesterday", "as_of 'yesterday' is not an ISO date or timestamp"),
        ("1066-10-14T09:00", "as_of '1066-10-14T09:00' is out of range (years 1900 to 2999)"),
    ):
        refused = _get(api_client, admin, "eastbridge", as_of=text)
        assert refused.status_code == 400
        assert _no_trace(refused)["error"]["message"] == message


def test_the_current_week_lists_the_open_disputes(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    """Each provider has one dispute, opened when the store was built: the week holding now
    (read on the clock of now) lists it, as the dispute workflow does."""
    week = IsoWeek.of(datetime.now(UTC).date()).name
    for provider in PROVIDERS:
        review = _get(api_client, tokens[provider], provider, week=week).json()
        listed = api_client.get(
            "/api/v1/disputes", params={"provider": provider}, headers=auth(tokens["admin"])
        ).json()["items"]
        assert [d["dispute_id"] for d in review["disputes"]] == [d["dispute_id"] for d in listed]
        assert len(review["disputes"]) == 1


def test_the_other_formats_and_parameters_are_checked(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    admin = tokens["admin"]
    for query in ({"format": "xml"}, {"audience": "everyone"}, {"download": "perhaps"}):
        response = _get(api_client, admin, "eastbridge", **query)
        assert response.status_code == 422, query
        _no_trace(response)
    bad_id = api_client.get(URL.format("no%20such", WEEK), headers=auth(admin))
    assert bad_id.status_code == 422
    _no_trace(bad_id)
