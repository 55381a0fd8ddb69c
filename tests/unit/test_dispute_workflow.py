"""The dispute workflow's rules without a store: states, deadlines, answers, credits, who."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tallyclerk.access import AccessError, NotFoundError, Principal
from tallyclerk.contracts import parse_contract
from tallyclerk.errors import InputError
from tallyclerk.sla import ANSWERS, DISPUTE_STATUSES, RESOLUTIONS, Dispute
from tallyclerk.sla._disputes import (
    TRANSITIONS,
    check_answer,
    check_answerer,
    credit_amount,
    next_status,
    response_days,
    response_due,
)

OPENED = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
ZONES = ["UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Pacific/Auckland"]


def _dispute(status: str = "open", amount: str | None = "100.00", **more: object) -> Dispute:
    base = Dispute(
        dispute_id="DSP-000007",
        provider_id="westcoast",
        opened_at=OPENED,
        subject="storage billed twice",
        reference=None,
        amount=Decimal(amount) if amount is not None else None,
        currency="USD",
        status=status,
        source="manual",
        source_ref=None,
        opened_by="ana",
        details={},
        response_due_at=datetime(2026, 3, 6, 23, 59, 59, 999999, tzinfo=UTC),
    )
    return replace(base, **more)  # type: ignore[arg-type]


STEPS = [*ANSWERS, *RESOLUTIONS]


@given(st.sampled_from(DISPUTE_STATUSES), st.sampled_from(STEPS))
def test_every_step_follows_the_state_machine(status: str, step: str) -> None:
    allowed = TRANSITIONS[status]
    if step in allowed:
        after = next_status("DSP-000001", status, step)
        assert after in DISPUTE_STATUSES
        # Answers come from an open dispute only; every resolution ends in resolved.
        assert (step in ANSWERS) == (status == "open" and after != "resolved")
        assert (step in RESOLUTIONS) == (after == "resolved")
    else:
        with pytest.raises(InputError, match=f"DSP-000001 is {status}") as caught:
            next_status("DSP-000001", status, step)
        assert step in str(caught.value) or status == "resolved"


def test_the_brand_may_withdraw_anything_unresolved_and_resolved_is_final() -> None:
    for status in DISPUTE_STATUSES:
        if status == "resolved":
            assert TRANSITIONS[status] == {}
        else:
            assert next_status("DSP-1", status, "withdrawn") == "resolved"
    assert next_status("DSP-1", "rejected", "upheld") == "resolved"
    with pytest.raises(InputError, match="is accepted"):
        next_status("DSP-1", "accepted", "upheld")  # upheld: only a rejection is upheld
    with pytest.raises(InputError, match="is rejected"):
        next_status("DSP-1", "rejected", "credited")


def _weekdays_between(start: date, end: date) -> int:
    """Weekdays after `start` up to and including `end` (the brand's calendar: weekends off)."""
    days, day = 0, start
    while day < end:
        day += timedelta(days=1)
        days += day.weekday() < 5
    return days


@given(
    opened=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)
    ),
    n=st.integers(min_value=0, max_value=12),
    zone=st.sampled_from(ZONES),
)
def test_the_answer_is_due_at_the_end_of_the_nth_business_day(
    opened: datetime, n: int, zone: str
) -> None:
    due = response_due(opened, n, zone)
    local = due.astimezone(ZoneInfo(zone))
    opened_local = opened.astimezone(ZoneInfo(zone)).date()
    assert due.utcoffset() == timedelta(0)
    assert due > opened
    assert local.weekday() < 5
    # The last instant of a local day: a microsecond later it is the next day.
    assert (due + timedelta(microseconds=1)).astimezone(ZoneInfo(zone)).date() > local.date()
    # The count starts on the first weekday on or after the opening's local date.
    start = opened_local
    while start.weekday() >= 5:
        start += timedelta(days=1)
    assert _weekdays_between(start, local.date()) == n


def test_a_friday_evening_dispute_is_due_after_the_weekend() -> None:
    # Friday 2026-03-06 22:30 in New York is Saturday 03:30 UTC: the local date counts.
    opened = datetime(2026, 3, 7, 3, 30, tzinfo=UTC)
    due = response_due(opened, 2, "America/New_York")
    assert due.astimezone(ZoneInfo("America/New_York")).date() == date(2026, 3, 10)
    assert response_due(opened, 2, "UTC").date() == date(2026, 3, 11)  # Sat -> Mon + 2 = Wed
    assert response_due(opened, 2, "UTC") > due


CONTRACT = """
provider: westcoast
name: WestCoast
effective: 2026-01-01
currency: USD
facilities:
  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}
capacity: {orders_per_day: 100}
metrics:
  ship_on_time_rate: {target: 0.99}
  dispute_response_on_time_rate: {target: 1.0, within_business_days: 4}
peak:
  - from: 2026-11-20
    to: 2026-12-31
    metrics: {dispute_response_on_time_rate: {within_business_days: 6}}
credits: {cap_pct_of_fees: 10, tiers: []}
rates:
  pick_pack: 3.00
  additional_unit: 0.75
  packaging: {}
  storage_per_pallet_month: 25.00
  receiving_per_unit: 0.25
  returns_per_unit: 3.50
  shipping_markup_pct: 0
"""


def test_the_business_days_come_from_the_contract_in_force() -> None:
    with_metric = parse_contract(CONTRACT)
    without = parse_contract(
        "\n".join(line for line in CONTRACT.splitlines() if "dispute_response" not in line)
    )
    assert response_days([with_metric], date(2026, 3, 4)) == 4
    assert response_days([with_metric], date(2026, 11, 25)) == 6  # the peak variant's
    assert response_days([with_metric], date(2025, 6, 1)) == 4  # before it: the first version
    assert response_days([without], date(2026, 3, 4)) == 2  # not contracted: the default
    assert response_days([], date(2026, 3, 4)) == 2


def test_a_rejection_needs_its_reason() -> None:
    with pytest.raises(InputError, match="DSP-000007 needs the reason"):
        check_answer(_dispute(), "reject", "  ", None)
    assert check_answer(_dispute(), "reject", "the scan shows a pickup", None) == "rejected"
    assert check_answer(_dispute(), "accept", None, None) == "accepted"
    with pytest.raises(InputError, match="only a counter-offer takes an amount"):
        check_answer(_dispute(), "accept", None, Decimal("5"))
    with pytest.raises(InputError, match="not one of"):
        check_answer(_dispute(), "maybe", None, None)
    with pytest.raises(InputError, match="DSP-000007 is countered"):
        check_answer(_dispute("countered"), "accept", None, None)
    with pytest.raises(InputError, match="claims no amount"):
        check_answer(_dispute(amount=None), "counter", None, Decimal("1"))
    with pytest.raises(InputError, match="needs the amount offered"):
        check_answer(_dispute(), "counter", None, None)


@given(
    claimed=st.decimals(min_value=0, max_value=10_000, places=2),
    offered=st.decimals(min_value=-100, max_value=20_000, places=2),
)
def test_a_counter_offer_is_less_than_the_claim(claimed: Decimal, offered: Decimal) -> None:
    dispute = _dispute(amount=str(claimed))
    if Decimal(0) <= offered < claimed:
        assert check_answer(dispute, "counter", None, offered) == "countered"
    else:
        with pytest.raises(InputError, match="counter-offer on dispute DSP-000007"):
            check_answer(dispute, "counter", None, offered)


def test_the_credit_defaults_to_the_counter_offer_or_the_claim() -> None:
    assert credit_amount(_dispute("accepted"), None) == Decimal("100.00")
    countered = _dispute("countered", counter_amount=Decimal("60.00"))
    assert credit_amount(countered, None) == Decimal("60.00")
    assert credit_amount(countered, Decimal("80")) == Decimal("80")
    with pytest.raises(InputError, match="more than that"):
        credit_amount(countered, Decimal("100.01"))
    with pytest.raises(InputError, match="more than 0"):
        credit_amount(_dispute("countered", counter_amount=Decimal(0)), None)
    with pytest.raises(InputError, match="name the amount"):
        credit_amount(_dispute("accepted", amount=None), None)
    assert credit_amount(_dispute("accepted", amount=None), Decimal("12.5")) == Decimal("12.5")


def test_who_may_answer() -> None:
    dispute = _dispute()
    check_answerer(dispute, Principal("wc-1", "provider", "westcoast"))
    check_answerer(dispute, Principal("ana", "admin"))
    with pytest.raises(NotFoundError):
        check_answerer(dispute, Principal("eb-1", "provider", "eastbridge"))
    with pytest.raises(AccessError, match="analyst"):
        check_answerer(dispute, Principal("bob", "analyst"))
    with pytest.raises(AccessError):
        check_answerer(dispute, Principal("lost", "provider", None))


def test_overdue_means_open_past_the_deadline() -> None:
    dispute = _dispute()
    assert dispute.response_due_at is not None
    assert not dispute.overdue(dispute.response_due_at)
    assert dispute.overdue(dispute.response_due_at + timedelta(microseconds=1))
    assert not _dispute("accepted").overdue(dispute.response_due_at + timedelta(days=9))
    assert not _dispute(response_due_at=None).overdue(dispute.response_due_at + timedelta(days=9))
    assert dispute.credit_period == date(2026, 3, 1)
    assert _dispute(period=date(2026, 1, 1)).credit_period == date(2026, 1, 1)
