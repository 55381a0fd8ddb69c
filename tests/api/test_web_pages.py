"""The dashboard's pages through the service: login, sessions, CSRF, scope, errors as HTML.

The store is the API tests' simulated quarter (tests/api/conftest.py): two providers, users
ana (admin), otto (analyst), eve (eastbridge) and wes (westcoast), one dispute each.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from tallyclerk.access import LoginThrottle
from tallyclerk.api import create_app
from tallyclerk.metrics import metric_items, open_context, period_start
from tallyclerk.reconcile import get_finding, list_findings
from tallyclerk.settings import Settings
from tallyclerk.sla import latest_burn, ledger, list_disputes, scorecards
from tallyclerk.store import Store, open_store
from tests.api.conftest import PASSWORD, USERS

ADMIN, ANALYST = USERS["admin"][0], USERS["analyst"][0]
EAST, WEST = USERS["eastbridge"][0], USERS["westcoast"][0]
_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]*)">')
_LOGIN_TOKEN = re.compile(r'name="login_token" value="([^"]+)"')


def login_form(client: TestClient, next_url: str | None = None) -> str:
    """Fetch the login form; its anti-forgery token."""
    page = client.get("/login", params={"next": next_url} if next_url else None)
    assert page.status_code == 200, page.text
    found = _LOGIN_TOKEN.search(page.text)
    assert found is not None
    return found.group(1)


def log_in(
    client: TestClient, user_id: str, password: str = PASSWORD, next_url: str = "/"
) -> httpx.Response:
    """Post the login form as a browser would (fresh cookies first)."""
    client.cookies.clear()
    token = login_form(client)
    return client.post(
        "/login",
        data={"username": user_id, "password": password, "login_token": token, "next": next_url},
        follow_redirects=False,
    )


def csrf_of(page: httpx.Response) -> str:
    """The CSRF token a page carries for its forms and HTMX requests."""
    found = _CSRF.search(page.text)
    assert found is not None, "the page has no CSRF token"
    assert found.group(1), "the page's CSRF token is empty"
    return found.group(1)


def plant(client: TestClient, session_id: str) -> None:
    """Present a session cookie of our choosing (as the browser's cookie jar would)."""
    client.cookies.clear()
    client.cookies.set("tc_session", session_id, domain="testserver.local")


@pytest.fixture
def client(api_client: TestClient) -> Iterator[TestClient]:
    """The module's client with no cookies left from another test."""
    api_client.cookies.clear()
    yield api_client
    api_client.cookies.clear()


def as_user(client: TestClient, user_id: str) -> TestClient:
    """The client logged in as the user."""
    response = log_in(client, user_id)
    assert response.status_code == 303, response.text
    return client


@pytest.fixture(scope="module")
def store_of(api_settings: Settings) -> Iterator[Store]:
    """The module's store, for reading what the pages should show."""
    opened = open_store(api_settings)
    yield opened
    opened.close()


def _dispute_of(store: Store, provider_id: str) -> str:
    with store.connect() as connection:
        found = list_disputes(connection, providers=[provider_id])
    assert found, f"the store holds no dispute of {provider_id}"
    return found[0].dispute_id


# -- login, sessions, CSRF ---------------------------------------------------------------------


def test_a_page_without_a_session_leads_to_the_login_form(client: TestClient) -> None:
    response = client.get("/findings?status=all", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Ffindings%3Fstatus%3Dall"
    htmx = client.get("/findings", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.status_code == 401
    assert htmx.headers["HX-Redirect"].startswith("/login")


def test_login_and_logout(client: TestClient) -> None:
    response = log_in(client, ADMIN, next_url="/findings")
    assert response.status_code == 303
    assert response.headers["location"] == "/findings"
    cookie = response.headers["set-cookie"]
    assert "tc_session=" in cookie
    assert "HttpOnly" in cookie
    assert "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie  # the settings say plain HTTP (localhost)
    page = client.get("/")
    assert page.status_code == 200
    assert f'data-user="{ADMIN}"' in page.text
    assert 'data-role="admin"' in page.text
    session = client.cookies.get("tc_session")
    out = client.post("/logout", data={"csrf_token": csrf_of(page)}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"] == "/login"
    # The old session id is dead even when presented again.
    assert session is not None
    plant(client, session)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_wrong_password_is_refused_with_the_form(client: TestClient) -> None:
    response = log_in(client, ADMIN, password="not the password")
    assert response.status_code == 401
    assert "Wrong user name or password." in response.text
    assert "tc_session" not in response.headers.get("set-cookie", "")
    unknown = log_in(client, "nobody-here", password="whatever it is")
    assert unknown.status_code == 401
    assert unknown.text.count("Wrong user name or password.") == 1


def test_the_login_form_needs_its_own_token(client: TestClient) -> None:
    login_form(client)
    forged = client.post(
        "/login",
        data={"username": ADMIN, "password": PASSWORD, "login_token": "forged", "next": "/"},
        follow_redirects=False,
    )
    assert forged.status_code == 403
    assert "tc_session" not in forged.headers.get("set-cookie", "")


def test_login_goes_only_to_local_pages(client: TestClient) -> None:
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example", "javascript:x"):
        response = log_in(client, ADMIN, next_url=target)
        assert response.status_code == 303
        assert response.headers["location"] == "/", target


def test_a_new_session_id_on_every_login(client: TestClient) -> None:
    plant(client, "planted-by-someone-else")
    token = login_form(client)
    first = client.post(
        "/login",
        data={"username": EAST, "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    assert first.status_code == 303
    first_id = client.cookies.get("tc_session")
    assert first_id
    assert first_id != "planted-by-someone-else"
    second = log_in(client, EAST)
    assert second.status_code == 303
    second_id = client.cookies.get("tc_session")
    assert second_id
    assert second_id != first_id
    # The first session still works on its own (another device); the ids never repeat.
    plant(client, first_id)
    assert client.get("/", follow_redirects=False).status_code == 200


def test_logging_in_again_ends_the_session_it_replaces(client: TestClient) -> None:
    as_user(client, EAST)
    old = client.cookies.get("tc_session")
    assert old is not None
    client.cookies.clear()
    token = login_form(client)  # a second tab's form; the browser still holds the old cookie
    client.cookies.set("tc_session", old, domain="testserver.local")
    again = client.post(
        "/login",
        data={"username": EAST, "password": PASSWORD, "login_token": token},
        follow_redirects=False,
    )
    assert again.status_code == 303
    assert client.cookies.get("tc_session") != old
    plant(client, old)
    assert client.get("/", follow_redirects=False).status_code == 303


def test_secure_cookies_when_the_settings_say_so(api_settings: Settings) -> None:
    settings = api_settings.model_copy(
        update={"service": api_settings.service.model_copy(update={"secure_cookies": True})}
    )
    with TestClient(create_app(settings), base_url="https://testserver") as client:
        response = log_in(client, ADMIN)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_throttling_after_repeated_failures(api_settings: Settings) -> None:
    app = create_app(api_settings)
    app.state.tc.throttle = LoginThrottle(limit=3, window=300, lockout=120)
    with TestClient(app) as client:
        statuses = [log_in(client, WEST, password=f"wrong-{i}").status_code for i in range(3)]
        assert statuses == [401, 401, 429]
        locked = log_in(client, WEST)  # even the right password waits
        assert locked.status_code == 429
        assert "Too many failed logins" in locked.text
        assert 60 < int(locked.headers["Retry-After"]) <= 120
        assert "tc_session" not in locked.headers.get("set-cookie", "")
        # The address is locked too, whatever name it tries next.
        assert log_in(client, ADMIN).status_code == 429


def test_a_change_without_the_csrf_token_is_refused(client: TestClient, store_of: Store) -> None:
    as_user(client, ADMIN)
    with store_of.connect() as connection:
        finding = list_findings(connection, statuses=["open"], limit=1)[0]
    refused = client.post(f"/findings/{finding.finding_id}/acknowledge", follow_redirects=False)
    assert refused.status_code == 403
    wrong = client.post(
        f"/findings/{finding.finding_id}/acknowledge",
        data={"csrf_token": "not-the-token"},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    assert client.post("/logout", follow_redirects=False).status_code == 403
    with store_of.connect() as connection:
        assert get_finding(connection, finding.finding_id).status == "open"
    assert client.get("/", follow_redirects=False).status_code == 200  # still logged in


# -- pages and scope ---------------------------------------------------------------------------


def _pages(user: str, store: Store) -> list[str]:
    own = {EAST: "eastbridge", WEST: "westcoast"}.get(user, "eastbridge")
    pages = [
        "/",
        f"/providers/{own}",
        f"/providers/{own}/kpis/ship_on_time_rate",
        f"/providers/{own}/kpis/order_cycle_hours_p90?show=all",
        "/findings",
        "/findings?status=all&domain=handoff",
        "/disputes",
        f"/disputes/{_dispute_of(store, own)}",
    ]
    if user in (ADMIN, ANALYST):
        pages += ["/health", "/providers/westcoast?period=2026-02"]
    if user != ANALYST:  # the slow pages (they compute on the store): once per kind of user
        pages += ["/inventory", "/invoices"]
    return pages


@pytest.mark.parametrize("user", [ADMIN, ANALYST, EAST])
def test_every_page_renders(client: TestClient, store_of: Store, user: str) -> None:
    as_user(client, user)
    for path in _pages(user, store_of):
        page = client.get(path, follow_redirects=False)
        assert page.status_code == 200, (path, page.text[:500])
        assert page.headers["content-type"].startswith("text/html")
        assert f'data-user="{user}"' in page.text, path
        assert "<script>" not in page.text  # nothing inline: the CSP forbids it
        assert "script-src 'self'" in page.headers["content-security-policy"]
        if path == "/inventory" and user == EAST:  # the brand's unit costs stay the brand's
            assert "Value at stake" not in page.text
            assert ">Value</th>" not in page.text
    nav = client.get("/").text
    assert ('href="/health"' in nav) == (user != EAST)


def test_the_overview_shows_the_recorded_figures(client: TestClient, store_of: Store) -> None:
    as_user(client, ANALYST)
    page = client.get("/").text
    with store_of.connect() as connection:
        cards = scorecards(connection)
    assert cards
    shown = re.findall(
        r'data-metric="([a-z0-9_]+)" data-provider="([a-z]+)" data-segment="([0-9-]+)" '
        r'data-value="([^"]*)"',
        page,
    )
    expected = {
        (m.metric, m.provider_id, m.segment_from.isoformat(), "" if m.value is None else m.value)
        for card in cards
        for m in card.metrics
    }
    got = {(m, p, s, float(v) if v else "") for m, p, s, v in shown}
    assert got == expected
    for card in cards:
        credit = re.search(
            rf'data-metric="sla_credits" data-provider="{card.provider_id}" data-value="([^"]+)"',
            page,
        )
        assert credit is not None
        assert Decimal(credit.group(1)) == card.credits
        assert f'data-card="{card.provider_id}" data-light="{card.light}"' in page


def test_a_settled_month_shows_the_last_open_month_burn_watch(
    client: TestClient, store_of: Store
) -> None:
    as_user(client, EAST)
    with store_of.connect() as connection:
        watch = latest_burn(connection, providers=["eastbridge"])
    assert watch  # the open month was evaluated with burn rates
    settled = client.get("/?period=2026-02").text
    assert 'data-watch="eastbridge"' in settled
    assert "westcoast" not in settled
    states = re.findall(r'data-watch="eastbridge".*?</div>', settled, re.S)[0]
    assert sorted(re.findall(r'data-burn="([a-z ]+)"', states)) == sorted(
        w.burn.state for w in watch
    )
    open_month = client.get("/?period=2026-03").text
    assert "data-watch=" not in open_month  # its own burn column already shows it


def test_a_provider_user_sees_only_its_own(client: TestClient, store_of: Store) -> None:
    as_user(client, EAST)
    overview = client.get("/").text
    assert set(re.findall(r'data-card="([a-z]+)"', overview)) == {"eastbridge"}
    assert "westcoast" not in overview
    findings = client.get("/findings?status=all").text
    assert set(
        re.findall(r'data-finding="\d+" data-status="\w+" data-provider="(\w*)"', findings)
    ) <= {"eastbridge"}
    disputes = client.get("/disputes").text
    assert _dispute_of(store_of, "westcoast") not in disputes
    assert "Acknowledge" not in findings  # no buttons without the admin role


@pytest.mark.parametrize(
    "path",
    [
        "/providers/westcoast",
        "/providers/westcoast/kpis/ship_on_time_rate?period=2026-03",
        "/findings?provider=westcoast",
        "/inventory?provider=westcoast",
        "/invoices?provider=westcoast",
        "/disputes?provider=westcoast",
        "/providers/nowhere",
    ],
)
def test_another_providers_pages_are_not_found(client: TestClient, path: str) -> None:
    as_user(client, EAST)
    response = client.get(path)
    assert response.status_code == 404, response.text[:300]
    assert response.headers["content-type"].startswith("text/html")
    for figure in ("data-metric=", "data-finding=", "data-dispute=", "data-sku=", "data-invoice="):
        assert figure not in response.text, (path, figure)


def test_another_providers_dispute_is_not_found(client: TestClient, store_of: Store) -> None:
    foreign = _dispute_of(store_of, "westcoast")
    page = as_user(client, EAST).get("/")
    assert client.get(f"/disputes/{foreign}").status_code == 404
    token = csrf_of(page)
    answered = client.post(
        f"/disputes/{foreign}/answer",
        data={"csrf_token": token, "answer": "accept"},
        follow_redirects=False,
    )
    assert answered.status_code == 404
    with store_of.connect() as connection:
        assert list_disputes(connection, providers=["westcoast"])[0].status == "open"


def test_brand_pages_and_actions_are_refused_to_a_provider(
    client: TestClient, store_of: Store
) -> None:
    page = as_user(client, WEST).get("/")
    token = csrf_of(page)
    assert client.get("/health").status_code == 403
    with store_of.connect() as connection:
        own = list_findings(connection, providers=["westcoast"], statuses=["open"], limit=1)[0]
    for action in ("acknowledge", "resolve", "dispute"):
        response = client.post(
            f"/findings/{own.finding_id}/{action}",
            data={"csrf_token": token, "resolution": "done"},
            follow_redirects=False,
        )
        assert response.status_code == 403, action
    assert client.post("/health/replay", data={"csrf_token": token}).status_code == 403
    opened = client.post(
        "/disputes",
        data={"csrf_token": token, "provider_id": "westcoast", "subject": "x"},
        follow_redirects=False,
    )
    assert opened.status_code == 403


def test_page_errors_are_html_without_a_trace(
    client: TestClient, api_app: FastAPI, monkeypatch: pytest.MonkeyPatch
) -> None:
    as_user(client, ADMIN)
    missing = client.get("/providers/nowhere")
    assert missing.status_code == 404
    assert missing.headers["content-type"].startswith("text/html")
    assert "Not found" in missing.text
    bad = client.get("/?period=the-12th-month")
    assert bad.status_code == 400
    assert "is not a month like 2026-11" in bad.text
    assert client.get("/no/such/page").status_code == 404

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr("tallyclerk.web._scorecards.scorecards", broken)
    fresh = TestClient(api_app, raise_server_exceptions=False)  # the app runs already
    fresh.cookies.update(client.cookies)
    failed = fresh.get("/")
    assert failed.status_code == 500
    assert failed.headers["content-type"].startswith("text/html")
    assert "internal error (reference" in failed.text
    assert "secret internals" not in failed.text
    assert "Traceback" not in failed.text


# -- actions -----------------------------------------------------------------------------------


def test_admin_acknowledges_and_resolves_a_finding(client: TestClient, store_of: Store) -> None:
    page = as_user(client, ADMIN).get("/findings")
    token = csrf_of(page)
    with store_of.connect() as connection:
        finding = list_findings(connection, statuses=["open"], domains=["handoff"], limit=1)[0]
    assert f'data-finding="{finding.finding_id}"' in page.text
    row = client.post(
        f"/findings/{finding.finding_id}/acknowledge",
        headers={"HX-Request": "true", "X-CSRF-Token": token},
    )
    assert row.status_code == 200
    assert row.text.lstrip().startswith(f'<tr id="finding-{finding.finding_id}"')
    assert 'data-status="acknowledged"' in row.text
    done = client.post(
        f"/findings/{finding.finding_id}/resolve",
        data={"csrf_token": token, "resolution": "carrier confirmed the scan"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    with store_of.connect() as connection:
        stored = get_finding(connection, finding.finding_id)
    assert (stored.status, stored.resolved_by) == ("resolved", ADMIN)
    assert stored.acknowledged_by == ADMIN
    empty = client.post(
        f"/findings/{finding.finding_id}/resolve",
        data={"csrf_token": token, "resolution": "again"},
        headers={"HX-Request": "true", "Accept": "text/html"},
    )
    assert empty.status_code == 400
    assert 'class="flash error"' in empty.text


def test_an_analyst_sees_findings_without_buttons(client: TestClient, store_of: Store) -> None:
    page = as_user(client, ANALYST).get("/findings")
    assert page.status_code == 200
    assert "data-action=" not in page.text
    with store_of.connect() as connection:
        finding = list_findings(connection, statuses=["open"], limit=1)[0]
    refused = client.post(
        f"/findings/{finding.finding_id}/acknowledge", data={"csrf_token": csrf_of(page)}
    )
    assert refused.status_code == 403


def test_a_dispute_opened_answered_and_credited(client: TestClient, store_of: Store) -> None:
    page = as_user(client, ADMIN).get("/disputes")
    opened = client.post(
        "/disputes",
        data={
            "csrf_token": csrf_of(page),
            "provider_id": "westcoast",
            "subject": "storage billed for an empty pallet",
            "reference": "INV-WC-202602#9",
            "amount": "80.00",
            "period": "2026-02",
            "note": "see the snapshot of 2026-02-28",
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303, opened.text
    url = opened.headers["location"]
    dispute_id = url.rsplit("/", 1)[1]
    # The provider counters before the deadline the page shows.
    shown = as_user(client, WEST).get(url)
    assert "Due by" in shown.text
    countered = client.post(
        f"{url}/answer",
        data={
            "csrf_token": csrf_of(shown),
            "answer": "counter",
            "counter_amount": "30",
            "note": "one pallet was in use",
        },
        follow_redirects=False,
    )
    assert countered.status_code == 303, countered.text
    refused = client.post(
        f"{url}/resolve",
        data={"csrf_token": csrf_of(shown), "resolution": "credited"},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    # The brand takes the counter-offer: 30.00 lands in the ledger for February.
    shown = as_user(client, ADMIN).get(url)
    assert 'data-form="resolve"' in shown.text
    credited = client.post(
        f"{url}/resolve",
        data={"csrf_token": csrf_of(shown), "resolution": "credited", "amount": "30.00"},
        follow_redirects=False,
    )
    assert credited.status_code == 303, credited.text
    final = client.get(url).text
    assert 'data-dispute-status="resolved"' in final
    assert [a for a in ("opened", "countered", "credited") if f'data-event="{a}"' in final] == [
        "opened",
        "countered",
        "credited",
    ]
    with store_of.connect() as connection:
        booked = [
            e
            for e in ledger(connection, providers=["westcoast"], period=date(2026, 2, 1))
            if e.source_ref == dispute_id
        ]
    assert [e.amount for e in booked] == [Decimal("30.00")]
    provider_page = client.get("/providers/westcoast?period=2026-02").text
    assert f'data-ledger-entry="{booked[0].entry_id}"' in provider_page


def test_a_breach_is_disputed_from_the_provider_page(client: TestClient, store_of: Store) -> None:
    with store_of.connect() as connection:
        cards = scorecards(connection, period=date(2026, 2, 1))
    breach = next(m for card in cards for m in card.breached)
    page = as_user(client, ADMIN).get(f"/providers/{breach.provider_id}?period=2026-02")
    assert f'data-dispute="{breach.metric}"' in page.text
    opened = client.post(
        "/disputes/from-breach",
        data={
            "csrf_token": csrf_of(page),
            "provider_id": breach.provider_id,
            "metric": breach.metric,
            "period": "2026-02",
        },
        follow_redirects=False,
    )
    assert opened.status_code == 303, opened.text
    detail = client.get(opened.headers["location"]).text
    assert f"/providers/{breach.provider_id}/kpis/{breach.metric}?period=2026-02" in detail
    page = client.get(f"/providers/{breach.provider_id}?period=2026-02")
    assert f'data-disputed="{breach.metric}"' in page.text  # a link to it, no second button
    assert f'data-dispute="{breach.metric}"' not in page.text
    again = client.post(
        "/disputes/from-breach",
        data={
            "csrf_token": csrf_of(page),
            "provider_id": breach.provider_id,
            "metric": breach.metric,
            "period": "2026-02",
        },
        headers={"Accept": "text/html"},
    )
    assert again.status_code == 400
    assert "disputed already" in again.text


def test_the_drill_down_lists_the_items_that_miss(
    client: TestClient, store_of: Store, api_settings: Settings
) -> None:
    with store_of.connect() as connection:
        cards = scorecards(connection, period=date(2026, 2, 1))
    card, standing = max(
        ((c, m) for c in cards for m in c.metrics if m.metric == "ship_on_time_rate"),
        key=lambda pair: pair[1].denominator - pair[1].numerator,
    )
    with open_context(store_of, as_of=card.as_of, settings=api_settings) as ctx:
        items = metric_items(ctx, "ship_on_time_rate")
        late = items.filter(
            (items.provider_id == card.provider_id)
            & (period_start(items.period_date, "month") == date(2026, 2, 1))
            & ~items.hit
        )
        expected = sorted(late.item_id.to_pyarrow().to_pylist())
    assert expected, "the quarter should have late orders in February"
    as_user(client, ANALYST)
    shown: list[str] = []
    offset = 0
    while True:
        page = client.get(
            f"/providers/{card.provider_id}/kpis/ship_on_time_rate",
            params={"period": "2026-02", "offset": offset},
        )
        assert page.status_code == 200
        found = re.findall(r'data-item="([^"]+)" data-bad="true"', page.text)
        shown += found
        if 'rel="next"' not in page.text:
            break
        offset += 50
    assert sorted(shown) == expected
    assert standing.denominator - standing.numerator <= len(expected)


def test_the_health_page_lists_the_quarantine(client: TestClient) -> None:
    page = as_user(client, ADMIN).get("/health")
    assert page.status_code == 200
    held = re.search(r'data-metric="quarantine_open" data-value="(\d+)"', page.text)
    assert held is not None
    assert int(held.group(1)) >= 3
    assert 'data-action="replay"' in page.text
    assert "tracking-json" in page.text  # the last file of each connector and provider
