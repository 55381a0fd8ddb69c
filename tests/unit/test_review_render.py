"""The weekly review rendered: HTML (standalone and fragment) against snapshots, and the PDF.

The reviews are built by hand so every figure on the page is known. Snapshots live in
tests/fixtures/review/; regenerate them with TALLYCLERK_UPDATE_SNAPSHOTS=1 after a deliberate
change and read the diff. The PDF pages are written as PNG to test-artifacts/review/ to be
looked at.
"""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from functools import cache
from html.parser import HTMLParser
from pathlib import Path
from typing import ClassVar

import pytest

from tallyclerk.reports import (
    ActionItem,
    BreachLine,
    BurnLine,
    CreditsAccrued,
    DisputeLine,
    ExperienceLine,
    FindingsLine,
    ForecastWeekLine,
    InventoryLine,
    IsoWeek,
    KpiLine,
    TrendPoint,
    WeeklyReview,
)
from tallyclerk.reports._charts import forecast_svg, kpi_trend_svg
from tallyclerk.reports._render import (
    fmt_money,
    fmt_rate,
    fmt_target,
    fmt_value,
    render_html,
    render_pdf,
)

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = ROOT / "tests" / "fixtures" / "review"
ARTIFACTS = ROOT / "test-artifacts" / "review"
WEEK = IsoWeek(2026, 47)
UPDATE = os.environ.get("TALLYCLERK_UPDATE_SNAPSHOTS") == "1"


def _utc(
    year: int, month: int, day: int, hour: int = 0, minute: int = 0, second: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, second, tzinfo=UTC)


def _trend(
    values: list[float | None], targets: list[float], numerators: list[int] | None = None
) -> list[TrendPoint]:
    weeks = [WEEK.shifted(i - len(values) + 1) for i in range(len(values))]
    return [
        TrendPoint(
            week=w.name,
            start=w.start,
            value=v,
            numerator=0 if numerators is None else numerators[i],
            denominator=0 if v is None else 1000,
            target=t,
        )
        for i, (w, v, t) in enumerate(zip(weeks, values, targets, strict=True))
    ]


def _kpis() -> list[KpiLine]:
    ship = [0.993, 0.991, 0.995, 0.99, None, 0.992, 0.988, 0.962, 0.985, 0.991, 0.981, 0.97]
    ship_targets = [0.99] * 11 + [0.97]  # the peak variant's target from 2026-11-20
    accuracy = [0.997, 0.996, 0.998, 0.997, 0.996, 0.995, 0.997, 0.994, 0.996, 0.995, 0.993]
    cycle = [14.0, 15.5, 13.2, 16.1, 15.0, 14.8, 17.9, 26.5, 19.0, 18.2, 20.4, 18.5]
    return [
        KpiLine(
            metric="ship_on_time_rate",
            unit="rate",
            lower_is_better=False,
            target=0.97,
            value=0.97,
            numerator=970,
            denominator=1000,
            met=True,
            trend=_trend(list(ship), ship_targets),
        ),
        KpiLine(
            metric="order_accuracy_rate",
            unit="rate",
            lower_is_better=False,
            target=0.995,
            value=0.9921,
            numerator=1240,
            denominator=1250,
            met=False,
            trend=_trend([*accuracy, 0.9921], [0.995] * 12),
        ),
        KpiLine(
            metric="order_cycle_hours_p50",
            unit="hours",
            lower_is_better=True,
            target=24.0,
            value=18.5,
            numerator=0,
            denominator=1000,
            met=True,
            trend=_trend(list(cycle), [24.0] * 12),
        ),
        KpiLine(
            metric="dispute_response_on_time_rate",
            unit="rate",
            lower_is_better=False,
            target=1.0,
            value=None,
            numerator=0,
            denominator=0,
            met=None,
            trend=_trend([None] * 12, [1.0] * 12),
        ),
    ]


def _actions() -> list[ActionItem]:
    created = _utc(2026, 11, 4, 15, 0)
    return [
        ActionItem(
            action_id=7,
            provider_id="eastbridge",
            title="Retrain the pick team on look-alike SKUs",
            owner="M. Ortega",
            party="provider",
            due_on=date(2026, 11, 13),
            status="in_progress",
            opened_week="2026-W45",
            created_at=created,
            created_by="dana",
            updated_at=_utc(2026, 11, 12, 9, 0),
            done_at=None,
            note="Half the shifts done",
            reference="order_accuracy_rate",
        ),
        ActionItem(
            action_id=9,
            provider_id="eastbridge",
            title="Share the peak staffing plan",
            owner="Dana (brand ops)",
            party="brand",
            due_on=date(2026, 11, 27),
            status="open",
            opened_week="2026-W47",
            created_at=_utc(2026, 11, 18, 15, 0),
            created_by="dana",
            updated_at=_utc(2026, 11, 18, 15, 0),
            done_at=None,
            note=None,
            reference=None,
        ),
        ActionItem(
            action_id=5,
            provider_id="eastbridge",
            title="Send 945s with local timestamps and offsets",
            owner="EDI team",
            party="provider",
            due_on=date(2026, 11, 6),
            status="done",
            opened_week="2026-W44",
            created_at=_utc(2026, 10, 28, 15, 0),
            created_by="dana",
            updated_at=_utc(2026, 11, 19, 10, 30),
            done_at=_utc(2026, 11, 19, 10, 30),
            note=None,
            reference="finding 123",
        ),
    ]


def full_review() -> WeeklyReview:
    """A brand copy of eastbridge's 2026-W47 with every section filled."""
    forecast_weeks = [WEEK.shifted(i) for i in range(1, 7)]
    p50 = [18_500.0, 19_800.0, 21_900.0, 17_200.0, 9_400.0, 12_100.0]
    p90 = [21_400.0, 23_300.0, 25_050.0, 19_900.0, 11_000.0, 13_900.0]
    capacity: list[float | None] = [20_000.0, 20_000.0, 24_000.0, 16_000.0, None, 16_000.0]
    gaps = [1_400.0, 3_300.0, 1_050.0, 3_900.0, 0.0, 0.0]
    days_over = [2, 4, 1, 3, 0, 0]
    return WeeklyReview(
        provider_id="eastbridge",
        provider_name="EastBridge Logistics",
        week=WEEK,
        audience="brand",
        as_of=_utc(2026, 11, 22, 23, 59, 59),
        generated_at=_utc(2026, 11, 23, 6, 0),
        currency="USD",
        kpis=_kpis(),
        breaches=[
            BreachLine(
                metric="order_accuracy_rate",
                period="2026-11",
                segment="peak",
                value=0.9921,
                threshold=0.995,
                lower_is_better=False,
            )
        ],
        credits=CreditsAccrued(
            period="2026-11",
            amount=Decimal("1234.50"),
            currency="USD",
            booked=Decimal("500.00"),
            lines=[
                {
                    "kind": "tier",
                    "label": "ship_on_time_rate: 5% of fees",
                    "basis": "ship_on_time_rate 0.9810 below 0.99 (base)",
                    "amount": "1134.5000",
                    "currency": "USD",
                },
                {
                    "kind": "per_incident",
                    "label": "picking_error: 4 × 25.00",
                    "basis": "4 picking errors",
                    "amount": Decimal("100.00"),
                    "currency": "USD",
                },
            ],
        ),
        burn=[
            BurnLine(
                metric="ship_on_time_rate",
                period="2026-11",
                state="warn",
                burn_short=3.2,
                burn_long=1.4,
                projected=0.981,
                reason="budget burning 3.2x over 6 days",
            ),
            BurnLine(
                metric="order_accuracy_rate",
                period="2026-11",
                state="page",
                burn_short=14.0,
                burn_long=6.25,
                projected=0.99,
                reason="budget spent by 2026-11-24 at this pace",
            ),
        ],
        disputes=[
            DisputeLine(
                dispute_id="D-0042",
                subject="Credit for late shipments in October",
                status="awaiting_response",
                opened_at=_utc(2026, 11, 10, 14, 5),
                response_due_at=_utc(2026, 11, 12, 23, 59),
                overdue=True,
                amount=Decimal("350.00"),
                currency="USD",
            ),
            DisputeLine(
                dispute_id="D-0043",
                subject="Lost parcel 1Z999 on order SO-20431",
                status="answered",
                opened_at=_utc(2026, 11, 19, 9, 0),
                response_due_at=_utc(2026, 11, 23, 23, 59),
                overdue=False,
                amount=None,
                currency=None,
            ),
        ],
        findings=[
            FindingsLine(
                domain="handoff",
                kind="released_not_shipped",
                title="Released, not shipped by the due time",
                opened=3,
                resolved=5,
                open_at_end=7,
                amount_open=None,
                currency=None,
                examples=["SO-20417: released 2026-11-18, no shipment", "SO-20388: no 945"],
            ),
            FindingsLine(
                domain="inventory",
                kind="count_differs",
                title="Count differs from the book",
                opened=2,
                resolved=0,
                open_at_end=4,
                amount_open=Decimal("412.80"),
                currency="USD",
                examples=["SKU-0007: book 120, counted 112"],
            ),
        ],
        invoice_findings=[
            FindingsLine(
                domain="invoice",
                kind="rate_mismatch",
                title="Pick and pack billed above the rate card",
                opened=12,
                resolved=3,
                open_at_end=15,
                amount_open=Decimal("86.40"),
                currency="USD",
                examples=["INV-2211 line 4: 3.45 billed, 3.00 contracted"],
            )
        ],
        inventory=InventoryLine(
            counted_on=date(2026, 11, 21),
            skus_counted=240,
            skus_off=6,
            units_off=31,
            value_off=Decimal("4128.75"),
            currency="USD",
            accuracy=0.975,
            top=[
                {"sku": "SKU-0007", "book": 120, "counted": 112, "difference": -8},
                {"sku": "SKU-0112", "book": 40, "counted": 46, "difference": 6},
            ],
        ),
        experience=[
            ExperienceLine("perfect_order_rate", "Perfect orders", 0.931, 931, 1000, "rate"),
            ExperienceLine("on_time_delivery_rate", "Delivered on time", 0.955, 955, 1000, "rate"),
            ExperienceLine("damage_rate", "Damaged", 0.004, 4, 1000, "rate"),
            ExperienceLine("feedback_score", "Feedback score", 4.42, 0, 57, "score"),
        ],
        forecast=[
            ForecastWeekLine(
                week=w.name,
                start=w.start,
                p50=p50[i],
                p90=p90[i],
                capacity=capacity[i],
                days_over=days_over[i],
                gap=gaps[i],
            )
            for i, w in enumerate(forecast_weeks)
        ],
        forecast_as_of=date(2026, 11, 22),
        actions=_actions(),
        notes=["No feedback arrived for 43 of the week's delivered orders."],
        redacted=[],
    )


def empty_review() -> WeeklyReview:
    """A provider without a contract or data in the week: every section empty."""
    return WeeklyReview(
        provider_id="northgate",
        provider_name="Northgate Fulfillment",
        week=WEEK,
        audience="brand",
        as_of=_utc(2026, 11, 22, 23, 59, 59),
        generated_at=_utc(2026, 11, 23, 6, 0),
        currency=None,
        kpis=[],
        breaches=[],
        credits=None,
        burn=[],
        disputes=[],
        findings=[],
        invoice_findings=[],
        inventory=None,
        experience=[],
        forecast=[],
        forecast_as_of=None,
        actions=[],
    )


def provider_review() -> WeeklyReview:
    """The provider's copy of the full review: brand cost data left out."""
    full = full_review()
    assert full.inventory is not None
    return dataclasses.replace(
        full,
        audience="provider",
        inventory=dataclasses.replace(full.inventory, value_off=None),
        redacted=["inventory valuation", "order values", "vetting"],
    )


REVIEWS = {"full": full_review, "empty": empty_review, "provider": provider_review}


@cache
def _html(name: str, *, standalone: bool = True) -> str:
    """The review `name` rendered once per test run (charts take a moment to draw)."""
    return render_html(REVIEWS[name](), standalone=standalone)


# Formats --------------------------------------------------------------------------------


def test_formats() -> None:
    assert fmt_money(Decimal("1234.5"), "USD") == "USD 1,234.50"
    assert fmt_money("86.4", None) == "86.40"
    assert fmt_money(None, "USD") == "no data"
    assert fmt_rate(0.97) == "97.0%"
    assert fmt_rate(0.9921) == "99.2%"
    assert fmt_rate(None) == "no data"
    assert fmt_value(18.54, "hours") == "18.5 h"
    assert fmt_value(0.002, "rate") == "0.2%"
    assert fmt_target(0.99, "rate", False) == "≥ 99.0%"
    assert fmt_target(24.0, "hours", True) == "≤ 24.0 h"
    assert fmt_target(None, "rate", False) == "no target"


# HTML -----------------------------------------------------------------------------------


class _Checker(HTMLParser):
    """Collects the text and fails on a closing tag that does not match its opening one."""

    VOID: ClassVar[set[str]] = {
        "meta",
        "br",
        "img",
        "hr",
        "input",
        "link",
        "col",
        "path",
        "use",
        "rect",
    }

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.text: list[str] = []
        self.ids: list[str] = []
        self._script = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self._script += 1
        self.ids += [v for k, v in attrs if k == "id" and v]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.ids += [v for k, v in attrs if k == "id" and v]

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        assert self.stack, f"</{tag}> closes nothing"
        opened = self.stack.pop()
        assert opened == tag, f"<{opened}> closed by </{tag}>"

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(html: str) -> _Checker:
    checker = _Checker()
    checker.feed(html)
    checker.close()
    assert checker.stack == [], f"left open: {checker.stack}"
    return checker


def _text(html: str) -> str:
    """The visible text with runs of white space made one space."""
    return re.sub(r"\s+", " ", " ".join(_parsed(html).text))


@pytest.mark.parametrize("name", sorted(REVIEWS))
def test_html_matches_snapshot(name: str) -> None:
    html = _html(name)
    path = SNAPSHOTS / f"{name}.html"
    if UPDATE or not path.exists():
        if not UPDATE:
            pytest.fail(f"no snapshot {path}: run with TALLYCLERK_UPDATE_SNAPSHOTS=1")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html, encoding="utf-8")
    assert html == path.read_text(encoding="utf-8"), (
        f"{path.name} changed: look at the difference, then TALLYCLERK_UPDATE_SNAPSHOTS=1"
    )


def test_html_is_one_wellformed_document_without_requests() -> None:
    html = _html("full")
    assert html.startswith("<!doctype html>")
    checker = _parsed(html)
    assert checker._script == 0
    # Several charts in one page: no id may repeat.
    duplicates = {i for i in checker.ids if checker.ids.count(i) > 1}
    assert not duplicates
    # Nothing is fetched: no external reference in any attribute or style.
    assert not re.search(r"(src|href)=\"(https?:)?//", html)
    assert "@import" not in html
    assert "url(http" not in html
    assert html.count("<svg") == 4 + 1  # one trend per KPI, one forecast chart


def test_full_review_shows_its_figures() -> None:
    text = _text(_html("full"))
    # Header: provider, week with dates, copy, clock.
    assert "EastBridge Logistics" in text
    assert "2026-W47 · Mon 2026-11-16 to Sun 2026-11-22" in text
    assert "Brand copy" in text
    assert "2026-11-22 23:59 UTC" in text
    # Summary: 2 met, 1 breached, 1 without data; credits; 2 disputes (1 overdue); findings open
    # 7 + 4 + 15 = 26, opened 3 + 2 + 12 = 17; actions: #7 overdue (due 11-13, in progress),
    # #9 open and not yet due, #5 done.
    assert "2 met · 1 breached" in text
    assert "1 without data" in text
    assert "USD 1,234.50 credits accrued in 2026-11" in text
    assert "2 open disputes, 1 overdue" in text
    assert "26 open findings, 17 new this week" in text
    assert "1 overdue action items, 2 open" in text
    # KPIs against target, by unit.
    assert "ship on time rate ≥ 97.0% 97.0% 970 of 1,000 met" in text
    assert "order accuracy rate ≥ 99.5% 99.2% 1,240 of 1,250 breached" in text
    assert "order cycle hours p50 ≤ 24.0 h 18.5 h 1,000 counted met" in text
    assert "dispute response on time rate ≥ 100.0% no data 0 of 0 no data" in text
    # Credits: accrued and booked, with their lines.
    assert "of which USD 500.00 booked" in text
    assert (
        "ship_on_time_rate: 5% of fees tier ship_on_time_rate 0.9810 below 0.99 (base) USD 1,134.50"
        in text
    )
    assert "USD 100.00" in text
    # Burn.
    assert "3.2× 1.4× 98.1%" in text
    # Disputes: both, the late one flagged.
    assert "D-0042" in text
    assert "D-0043" in text
    assert "2026-11-12 23:59 UTC overdue" in text
    assert "USD 350.00" in text
    # Findings and their totals; invoice audit.
    assert "Total 5 5 11" in text
    assert "Total 12 3 15" in text
    assert "INV-2211 line 4" in text
    # Inventory: brand copy shows the value off.
    assert "Value off at cost USD 4,128.75" in text
    assert "SKU-0007 120 112 -8" in text
    assert "SKU-0112 40 46 +6" in text
    assert "97.5%" in text
    # Experience, forecast, actions, notes.
    assert "Perfect orders 93.1% 931 of 1,000" in text
    assert "Feedback score 4.42 57 counted" in text
    assert "2026-W48 2026-11-23 18,500 21,400 20,000 2 +1,400" in text
    assert "2026-W52 2026-12-21 9,400 11,000 not committed 0 —" in text
    assert "2026-11-13 overdue" in text
    assert "2026-W45 carried" in text
    assert "No feedback arrived for 43" in text


def test_overdue_rows_are_highlighted() -> None:
    html = _html("full")
    # One overdue dispute, one overdue action item; four forecast weeks over capacity.
    assert html.count('<strong class="review-flag">overdue</strong>') == 2
    assert html.count('<tr class="review-overdue">') == 2 + 4
    done = html[html.index("#5 Send 945s") - 40 : html.index("#5 Send 945s")]
    assert "review-overdue" not in done  # done, though past its date


def test_sections_come_in_order() -> None:
    html = _html("full")
    order = [
        "review-summary",
        'id="review-kpis"',
        'id="review-breaches"',
        'id="review-burn"',
        'id="review-disputes"',
        'id="review-findings"',
        'id="review-invoice"',
        'id="review-inventory"',
        'id="review-experience"',
        'id="review-forecast"',
        'id="review-actions"',
        'id="review-notes"',
    ]
    positions = [html.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_empty_review_says_so_in_every_section() -> None:
    text = _text(_html("empty"))
    for sentence in (
        "No contracted KPI was in force",
        "No contracted metric missed its target",
        "The month has not been evaluated yet",
        "No burn-rate watch was recorded",
        "No dispute was open at the end of the week.",
        "No reconciliation finding was opened",
        "No invoice-audit finding was opened",
        "The provider sent no inventory count",
        "No customer-experience figure this week",
        "No forecast has been kept yet",
        "No action item was open",
        "Nothing to note",
    ):
        assert sentence in text, sentence
    assert "0 met · 0 breached" in text
    assert "not evaluated credits accrued" in text
    assert "<svg" not in _html("empty")


def test_provider_copy_leaves_out_brand_cost_data() -> None:
    text = _text(_html("provider"))
    assert (
        "Copy for EastBridge Logistics: brand cost data left out "
        "(inventory valuation; order values; vetting)." in text
    )
    assert "Provider copy" in text
    assert "Value off at cost" not in text
    assert "4,128.75" not in text
    # What the provider may see is still there.
    assert "97.5%" in text
    assert "D-0042" in text
    brand = _text(_html("full"))
    assert "brand cost data left out" not in brand


def test_everything_is_escaped() -> None:
    hostile = "<script>alert('x')</script> & <b>bold</b>"
    review = full_review()
    review = dataclasses.replace(
        review,
        provider_name='Evil "3PL" <img src=x onerror=alert(1)>',
        disputes=[dataclasses.replace(review.disputes[0], subject=hostile)],
        notes=["</style><script>alert(2)</script>"],
    )
    for html in (render_html(review), render_html(review, standalone=False)):
        assert "<script" not in html
        assert "<img" not in html
        assert "<b>bold</b>" not in html
        assert (
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html
        )
        assert hostile in _text(html)
    # The provider's name in the page footer's CSS string cannot close the string or the style.
    style = render_html(review).split("<style>")[1].split("</style>")[0]
    assert "<img" not in style
    assert '"3PL"' not in style
    assert "\\22 3PL\\22 " in style


def test_fragment_is_the_article_alone() -> None:
    fragment = _html("full", standalone=False)
    document = _html("full")
    assert fragment.lstrip().startswith('<article class="review review-audience-brand"')
    assert fragment.rstrip().endswith("</article>")
    assert "<html" not in fragment
    assert "<style" not in fragment
    _parsed(fragment)
    # Same markup as the document's body, the headings one level down for the host page's h1.
    body = document.split('<body class="review-page">\n')[1].split("</body>")[0]
    relevelled = re.sub(r"<(/?)h(\d)", lambda m: f"<{m[1]}h{int(m[2]) + 1}", body)
    assert relevelled.strip() == fragment.strip()
    classes = set(re.findall(r'class="([^"]+)"', fragment))
    names = {c for group in classes for c in group.split()}
    assert all(c == "review" or c.startswith("review-") for c in names), names


# Charts ---------------------------------------------------------------------------------


def test_kpi_chart_marks_the_missed_weeks() -> None:
    ship = full_review().kpis[0]
    svg = kpi_trend_svg(ship)
    assert svg.startswith('<svg class="review-chart-svg" role="img"')
    assert "<?xml" not in svg
    assert "<metadata" not in svg
    assert svg == kpi_trend_svg(ship)  # deterministic
    # Text stays text: week names and percentages are <text> elements.
    assert ">W47</text>" in svg
    assert "%</text>" in svg
    # The missed weeks: 0.988 (W42), 0.962 (W43), 0.985 (W44), 0.981 (W46) under 99%; W47's
    # 97.0% meets the peak target. Their markers are drawn in red, one <use> each.
    missed = svg.split('id="kpi-ship-on-time-rate-line2d_')[-1]
    assert "#c0392b" in missed
    assert missed.count("<use ") == 4


def test_hours_chart_reads_in_hours() -> None:
    cycle = full_review().kpis[2]
    svg = kpi_trend_svg(cycle)
    assert re.search(r">\d+ h</text>", svg)
    # Lower is better: only W43's 26.5 h is over the 24 h ceiling.
    missed = svg.split('id="kpi-order-cycle-hours-p50-line2d_')[-1]
    assert missed.count("<use ") == 1


def test_chart_without_data_says_so() -> None:
    svg = kpi_trend_svg(full_review().kpis[3])
    assert "no data in these weeks" in svg


def test_forecast_chart_labels_gaps() -> None:
    svg = forecast_svg(full_review().forecast)
    assert svg == forecast_svg(full_review().forecast)
    for gap in ("+1,400", "+3,300", "+1,050", "+3,900"):
        assert f">{gap}</text>" in svg
    assert ">capacity</text>" in svg


# PDF ------------------------------------------------------------------------------------


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} (poppler-utils) is needed to check the PDF")
    return found


def _pdf_pages(pdf: bytes, name: str) -> tuple[str, list[Path]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    path.write_bytes(pdf)
    for old in ARTIFACTS.glob(f"{name}-*.png"):
        old.unlink()
    text = subprocess.run(
        [_tool("pdftotext"), "-layout", str(path), "-"], check=True, capture_output=True, text=True
    ).stdout
    subprocess.run(
        [_tool("pdftoppm"), "-png", "-r", "60", str(path), str(ARTIFACTS / name)], check=True
    )
    return text, sorted(ARTIFACTS.glob(f"{name}-*.png"))


@pytest.mark.slow
def test_pdf_of_the_full_review() -> None:
    pdf = render_pdf(full_review())
    assert pdf.startswith(b"%PDF")
    text, pages = _pdf_pages(pdf, "full")
    assert len(pages) >= 2
    assert all(page.stat().st_size > 1000 for page in pages)
    flat = re.sub(r"\s+", " ", text)
    for figure in ("97.0%", "99.2%", "USD 1,234.50", "D-0042", "overdue", "+1,400", "18.5 h"):
        assert figure in flat, figure
    # The footer names the review and counts the pages on each.
    total = len(pages)
    for number in range(1, total + 1):
        footer = (
            f"tallyclerk weekly review · EastBridge Logistics · 2026-W47 · page {number} of {total}"
        )
        assert footer in flat
    # The charts' text is text in the PDF too.
    assert "W37" in flat


@pytest.mark.slow
def test_pdf_of_the_provider_copy_and_the_empty_review() -> None:
    text, pages = _pdf_pages(render_pdf(provider_review()), "provider")
    flat = re.sub(r"\s+", " ", text)
    assert "brand cost data left out" in flat
    assert "4,128.75" not in flat
    assert len(pages) >= 2
    text, pages = _pdf_pages(render_pdf(empty_review()), "empty")
    assert len(pages) == 1
    assert "page 1 of 1" in text
    assert "No dispute was open at the end of the week." in re.sub(r"\s+", " ", text)


def test_action_overdue_is_judged_at_the_review_clock() -> None:
    # Seen on 2026-11-12 (before #7's due date) nothing is overdue yet.
    early = dataclasses.replace(full_review(), as_of=_utc(2026, 11, 12, 12, 0) - timedelta(hours=1))
    html = render_html(early)
    assert "0 overdue" in _text(html)
    assert html.count('<strong class="review-flag">overdue</strong>') == 1  # the dispute's flag
