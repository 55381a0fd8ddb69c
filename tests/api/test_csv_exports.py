"""CSV downloads of the lists (`?format=csv`): escaped, scoped, and the JSON's own rows.

Malicious text reaches the store through the real paths: westcoast's user sends invoice lines
whose invoice numbers are formulas (reconciliation turns them into findings, the audit lists
the invoices) and shipments that are not records at all (quarantined as they came); the
admin opens disputes whose subjects are formulas. Every cell of every download must then
be safe to open in a spreadsheet, negative amounts must stay numbers, a provider's user
must get its own rows and nothing of the brand's costs, and each download must hold exactly
the rows the JSON pages hold.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from tallyclerk.api import _csv
from tallyclerk.reconcile import run_findings
from tallyclerk.settings import Settings
from tallyclerk.store import open_store
from tests.api.conftest import AS_OF, auth
from tests.api.test_web_pages import log_in

CLOCK = AS_OF.date().isoformat()
PAYLOADS = (
    '=HYPERLINK("http://evil.example","x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1+1)",
    "-2+3",
)
CREDIT_LINE = "-12.50"
FORMULA = tuple(_csv.FORMULA_START)

# list -> (path with its filters, the id column, how to key a JSON item)
LISTS: dict[str, tuple[str, str]] = {
    "findings": ("/api/v1/findings?status=open&status=acknowledged", "finding_id"),
    "quarantine": ("/api/v1/quarantine?status=all", "quarantine_id"),
    "disputes": ("/api/v1/disputes", "dispute_id"),
    "credits": ("/api/v1/credits", "entry_id"),
    "items": (
        f"/api/v1/kpis/ship_on_time_rate/items?period=2026-02&outcome=bad&as_of={CLOCK}",
        "item_id",
    ),
}


def _read(response: httpx.Response) -> list[dict[str, str]]:
    """The rows of a CSV answer, after checking how it is framed."""
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    assert re.fullmatch(
        r'attachment; filename="tallyclerk-[a-z0-9_-]+-\d{4}-\d{2}-\d{2}\.csv"',
        response.headers["content-disposition"],
    )
    body = response.content
    assert body.startswith(b"\xef\xbb\xbf"), "no byte order mark"
    assert int(response.headers["content-length"]) == len(body)
    text = body.decode("utf-8-sig")
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text, newline="")))
    assert response.headers[_csv.ROWS_HEADER] == str(len(rows))
    return rows


def _cells_are_safe(rows: list[dict[str, str]]) -> None:
    """No cell could start a formula, unless it is a plain number."""
    for row in rows:
        for column, cell in row.items():
            first = cell.lstrip()[:1]
            risky = cell[:1] in _csv.FORMULA_START or (first and first in _csv.FORMULA_START)
            assert not risky or _csv.is_number(cell), (column, cell)


def _json_items(client: TestClient, url: str, token: str) -> list[dict[str, Any]]:
    """Every item of a JSON list, page after page."""
    items: list[dict[str, Any]] = []
    offset: int | None = 0
    sep = "&" if "?" in url else "?"
    while offset is not None:
        page = client.get(f"{url}{sep}limit=500&offset={offset}", headers=auth(token))
        assert page.status_code == 200, page.text
        body = page.json()
        items.extend(body["items"])
        offset = body["next_offset"]
    return items


def _csv_of(client: TestClient, url: str, token: str) -> list[dict[str, str]]:
    sep = "&" if "?" in url else "?"
    return _read(client.get(f"{url}{sep}format=csv", headers=auth(token)))


@pytest.fixture(scope="module")
def planted(api_client: TestClient, tokens: dict[str, str], api_settings: Settings) -> None:
    """Formulas in westcoast's invoices and quarantine and in the disputes, through the API."""
    west = auth(tokens["westcoast"])
    lines = [
        {
            "invoice_id": invoice,
            "line_no": 1,
            "invoice_date": "2026-03-10",
            "charge_type": charge,
            "reference": invoice,
            "quantity": "1",
            "unit_rate": amount,
            "amount": amount,
            "currency": "USD",
        }
        for invoice, charge, amount in [
            *((p, "pick_pack", "5.00") for p in PAYLOADS),  # no such order: findings
            ("CREDIT-1", "other", CREDIT_LINE),
        ]
    ]
    sent = api_client.post("/api/v1/ingest/invoice_lines", json={"records": lines}, headers=west)
    assert sent.status_code == 200, sent.text
    assert sent.json()["stored"] == len(lines), sent.json()
    held = api_client.post("/api/v1/ingest/shipments", json={"records": PAYLOADS}, headers=west)
    assert held.status_code == 200, held.text
    assert held.json()["quarantined"] == len(PAYLOADS)
    for text in PAYLOADS:
        body = {"from": "manual", "provider_id": "westcoast", "subject": text, "reference": text}
        opened = api_client.post("/api/v1/disputes", json=body, headers=auth(tokens["admin"]))
        assert opened.status_code == 201, opened.text
    store = open_store(api_settings)
    try:
        run_findings(store, ["invoice"], as_of=AS_OF, settings=api_settings)
    finally:
        store.close()


# Records sent as JSON land in a batch of no provider: the brand's quarantine.
ESCAPED = [
    *(
        (who, url, column, made)
        for who in ("admin", "westcoast")
        for url, column, made in (
            ("/api/v1/findings?domain=invoice", "subject_id", "{}#1"),
            ("/api/v1/disputes", "subject", "{}"),
            ("/api/v1/disputes", "reference", "{}"),
        )
    ),
    ("admin", "/api/v1/quarantine?kind=shipments", "record", "{}"),
]


@pytest.mark.usefixtures("planted")
@pytest.mark.parametrize(("who", "url", "column", "made"), ESCAPED)
def test_formulas_are_escaped(
    api_client: TestClient,
    tokens: dict[str, str],
    who: str,
    url: str,
    column: str,
    made: str,
) -> None:
    rows = _csv_of(api_client, url, tokens[who])
    cells = {row[column] for row in rows}
    for text in PAYLOADS:
        assert "'" + made.format(text) in cells, (text, sorted(cells)[:10])
        assert made.format(text) not in cells
    _cells_are_safe(rows)


@pytest.fixture(scope="module")
def audits(
    planted: None, api_client: TestClient, tokens: dict[str, str]
) -> tuple[list[dict[str, Any]], dict[str, list[dict[str, str]]]]:
    """The audited invoices (JSON, as the admin) and the CSV's rows as admin and westcoast.

    Kept for the module: each audit costs seconds.
    """
    url = f"/api/v1/invoices/audit?as_of={CLOCK}&from=2026-02"
    answer = api_client.get(url, headers=auth(tokens["admin"]))
    assert answer.status_code == 200, answer.text
    rows = {who: _csv_of(api_client, url, tokens[who]) for who in ("admin", "westcoast")}
    return answer.json()["invoices"], rows


@pytest.mark.parametrize("who", ["admin", "westcoast"])
def test_the_invoice_audit_rows(
    audits: tuple[list[dict[str, Any]], dict[str, list[dict[str, str]]]], who: str
) -> None:
    """One row per invoice of the audit, the planted ones escaped, credits still numbers."""
    invoices, by_user = audits
    rows = by_user[who]
    if who != "admin":
        invoices = [i for i in invoices if i["provider_id"] == who]
        assert {row["provider_id"] for row in rows} == {who}
    assert [row["invoice_id"] for row in rows] == [
        _csv.safe_cell(i["invoice_id"]) for i in invoices
    ]
    assert list(rows[0]) == list(invoices[0])
    ids = {row["invoice_id"] for row in rows}
    for text in PAYLOADS:
        assert "'" + text in ids
    _cells_are_safe(rows)
    credit = next(row for row in rows if row["invoice_id"] == "CREDIT-1")
    assert credit["billed"] == CREDIT_LINE  # money is text in the model, still a number here
    assert all(row["findings"].startswith("{") for row in rows)


@pytest.mark.usefixtures("planted")
def test_negative_money_stays_a_number(api_client: TestClient, tokens: dict[str, str]) -> None:
    findings = _csv_of(api_client, "/api/v1/findings?domain=invoice", tokens["admin"])
    negative = [row["amount"] for row in findings if row["amount"].startswith("-")]
    assert negative, "no negative finding amount to check"
    for amount in negative:
        assert _csv.is_number(amount)
        assert float(amount) < 0


@pytest.mark.usefixtures("planted")
@pytest.mark.parametrize("name", sorted(LISTS))
@pytest.mark.parametrize("who", ["admin", "westcoast"])
def test_the_csv_holds_the_json_rows(
    api_client: TestClient, tokens: dict[str, str], name: str, who: str
) -> None:
    url, key = LISTS[name]
    items = _json_items(api_client, url, tokens[who])
    rows = _csv_of(api_client, url, tokens[who])
    assert items, "an empty list proves nothing"
    assert [str(item[key]) for item in items] == [row[key] for row in rows]
    assert list(rows[0]) == list(items[0])  # the same columns, in the JSON's order


@pytest.mark.usefixtures("planted")
@pytest.mark.parametrize("name", sorted(LISTS))
def test_a_provider_gets_its_own_rows_only(
    api_client: TestClient, tokens: dict[str, str], name: str
) -> None:
    url, _ = LISTS[name]
    sep = "&" if "?" in url else "?"
    response = api_client.get(f"{url}{sep}format=csv", headers=auth(tokens["westcoast"]))
    rows = _read(response)
    assert rows
    assert "eastbridge" not in response.content.decode("utf-8-sig")
    assert {row["provider_id"] for row in rows} == {"westcoast"}
    other = api_client.get(
        f"{url}{sep}format=csv&provider=eastbridge", headers=auth(tokens["westcoast"])
    )
    assert other.status_code == 404
    assert other.json()["error"]["status"] == 404


def test_a_provider_never_gets_the_brand_costs(
    api_client: TestClient, tokens: dict[str, str]
) -> None:
    url = "/api/v1/findings?domain=inventory&status=open&status=acknowledged&status=resolved"
    brand = _csv_of(api_client, url + "&provider=westcoast", tokens["admin"])
    own = _csv_of(api_client, url, tokens["westcoast"])
    assert own
    assert [r["finding_id"] for r in own] == [r["finding_id"] for r in brand]
    assert any(r["amount"] for r in brand), "the brand should see what inventory costs"
    for row in own:
        assert row["amount"] == ""
        evidence = json.loads(row["evidence"])
        assert "unit_cost" not in evidence
        assert "variance_value" not in evidence


@pytest.mark.usefixtures("planted")
def test_long_lists_are_read_in_slices_and_cut_at_the_cap(
    api_client: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = "/api/v1/findings?status=open&status=acknowledged"
    whole = _json_items(api_client, url, tokens["admin"])
    assert len(whole) > 7
    monkeypatch.setattr(_csv, "CHUNK_ROWS", 3)
    response = api_client.get(url + "&format=csv", headers=auth(tokens["admin"]))
    assert [r["finding_id"] for r in _read(response)] == [str(f["finding_id"]) for f in whole]
    assert response.headers[_csv.TRUNCATED_HEADER] == "false"
    monkeypatch.setattr(_csv, "MAX_ROWS", 7)
    cut = api_client.get(url + "&format=csv", headers=auth(tokens["admin"]))
    assert [r["finding_id"] for r in _read(cut)] == [str(f["finding_id"]) for f in whole[:7]]
    assert cut.headers[_csv.TRUNCATED_HEADER] == "true"
    items = f"/api/v1/kpis/ship_on_time_rate/items?as_of={CLOCK}&format=csv"
    capped = api_client.get(items, headers=auth(tokens["admin"]))
    assert len(_read(capped)) == 7
    assert capped.headers[_csv.TRUNCATED_HEADER] == "true"


def test_bad_filters_are_json_errors(api_client: TestClient, tokens: dict[str, str]) -> None:
    admin = auth(tokens["admin"])
    for url in (
        "/api/v1/findings?format=xlsx",
        "/api/v1/credits?format=csv&period=2026-13",
        "/api/v1/kpis/no_such_metric/items?format=csv",
    ):
        response = api_client.get(url, headers=admin)
        assert response.status_code in (400, 404, 422), url
        assert response.headers["content-type"] == "application/json"
        assert "Traceback" not in response.text
    assert api_client.get("/api/v1/findings?format=csv").status_code == 401


_LINK = re.compile(r'href="(/api/v1/[^"]*format=csv[^"]*)" data-download="csv"')


@pytest.mark.usefixtures("planted")
@pytest.mark.parametrize(
    ("page", "user", "links", "provider"),
    [
        ("/findings?provider=westcoast", "ana", 1, "westcoast"),
        ("/findings?status=all", "wes", 1, "westcoast"),
        ("/disputes?status=open", "wes", 2, "westcoast"),
        ("/health", "ana", 1, None),
        (
            "/providers/eastbridge/kpis/ship_on_time_rate?period=2026-02&show=all",
            "eve",
            1,
            "eastbridge",
        ),
    ],
)
def test_dashboard_links_download_with_the_session(
    api_client: TestClient, page: str, user: str, links: int, provider: str | None
) -> None:
    """A page's Download CSV links work with the dashboard's session, on its filters."""
    assert log_in(api_client, user).status_code == 303
    try:
        shown = api_client.get(page)
        assert shown.status_code == 200, shown.text
        found = [link.replace("&amp;", "&") for link in _LINK.findall(shown.text)]
        assert len(found) == links, found
        for link in found:
            rows = _read(api_client.get(link))
            assert rows, link
            _cells_are_safe(rows)
            if provider is not None:
                assert {row["provider_id"] for row in rows} == {provider}, link
    finally:
        api_client.cookies.clear()


@pytest.mark.parametrize(
    "api_store", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_on_postgres(
    api_client: TestClient, tokens: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Slices read in one repeatable-read snapshot, and the KPI items, on PostgreSQL."""
    monkeypatch.setattr(_csv, "CHUNK_ROWS", 2)
    checks: list[tuple[str, str, Callable[[dict[str, Any]], str]]] = [
        (LISTS["findings"][0], "finding_id", lambda i: str(i["finding_id"])),
        (LISTS["quarantine"][0], "quarantine_id", lambda i: str(i["quarantine_id"])),
        (LISTS["items"][0], "item_id", lambda i: str(i["item_id"])),
    ]
    for url, key, of in checks:
        items = _json_items(api_client, url, tokens["westcoast"])
        rows = _csv_of(api_client, url, tokens["westcoast"])
        assert items
        assert [of(i) for i in items] == [row[key] for row in rows]
        _cells_are_safe(rows)
