"""The contract package: schema, located errors, peak variants, versions."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date, time
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tallyclerk.contracts import (
    KPI_NAMES,
    Contract,
    ContractError,
    ContractIssue,
    MetricTerms,
    check_contract,
    content_hash,
    contract_in_force,
    load_contract,
    parse_contract,
)

FIXTURES = Path(__file__).parent.parent / "fixtures" / "contracts"

# The example of DESIGN section 6, line for line (line numbers matter to the tests below).
WESTCOAST = """\
provider: westcoast
name: WestCoast 3PL fulfillment services agreement
effective: 2026-01-01
currency: USD
facilities:
  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, cutoff: "14:00"}
capacity: {orders_per_day: 4000, peak_orders_per_day: 6000}
metrics:
  ship_on_time_rate: {target: 0.99, rule: same_day_before_cutoff}
  order_accuracy_rate: {target: 0.995}
  inventory_accuracy_rate: {target: 0.99, tolerance_units: 0}
  dock_to_stock_on_time_rate: {target: 0.95, within_business_days: 2}
  return_processing_on_time_rate: {target: 0.95, within_business_days: 5}
  no_first_scan_rate: {max: 0.002, within_business_days: 5}
  dispute_response_on_time_rate: {target: 1.0, within_business_days: 2}
peak: [{from: 2026-11-20, to: 2026-12-31, metrics: {ship_on_time_rate: {target: 0.97}}}]
exclusions: [{from: 2026-01-10, to: 2026-01-12, reason: force majeure}]
closed_dates: [2026-12-26]
credits:
  cap_pct_of_fees: 25
  tiers:
    - {metric: ship_on_time_rate, below: 0.99, credit_pct_of_fees: 5}
    - {metric: ship_on_time_rate, below: 0.97, credit_pct_of_fees: 10}
  per_incident: {picking_error: 25.00, lost_shipment: order_value}
rates:
  pick_pack: 3.00
  additional_unit: 0.75
  packaging: {poly_mailer: 0.35, box_small: 0.85, box_medium: 1.25}
  storage_per_pallet_month: 25.00
  receiving_per_unit: 0.25
  returns_per_unit: 3.50
  shipping_markup_pct: 0
"""


def edit(text: str, line: int, *replacement: str) -> str:
    """The text with one line (1-based) replaced by zero or more lines."""
    lines = text.splitlines()
    lines[line - 1 : line] = list(replacement)
    return "\n".join(lines) + "\n"


def issues_of(text: str, source: str = "westcoast.yaml") -> list[ContractIssue]:
    """The problems parse_contract reports for a text, which must have some."""
    with pytest.raises(ContractError) as raised:
        parse_contract(text, source)
    assert raised.value.errors
    return raised.value.errors


@pytest.fixture(scope="module")
def westcoast() -> Contract:
    """The DESIGN example contract."""
    return parse_contract(WESTCOAST, "westcoast.yaml")


# --- valid contracts -----------------------------------------------------------------------


def test_design_example_parses_with_exact_money(westcoast: Contract) -> None:
    assert westcoast.provider == "westcoast"
    assert westcoast.effective == date(2026, 1, 1)
    assert westcoast.currency == "USD"
    rates = westcoast.rates
    assert rates.packaging == {
        "poly_mailer": Decimal("0.35"),
        "box_small": Decimal("0.85"),
        "box_medium": Decimal("1.25"),
    }
    assert str(rates.packaging["poly_mailer"]) == "0.35"  # not binary-float noise
    assert rates.pick_pack == Decimal("3.00")
    assert rates.additional_unit == Decimal("0.75")
    assert rates.storage_per_pallet_month == Decimal("25.00")
    assert rates.receiving_per_unit == Decimal("0.25")
    assert rates.returns_per_unit == Decimal("3.50")
    assert rates.shipping_markup_pct == Decimal(0)
    for value in [rates.pick_pack, rates.additional_unit, *rates.packaging.values()]:
        assert isinstance(value, Decimal)
    credits = westcoast.credits
    assert credits.cap_pct_of_fees == Decimal(25)
    assert credits.per_incident == {
        "picking_error": Decimal("25.00"),
        "lost_shipment": "order_value",
    }
    assert [(t.metric, t.below, t.credit_pct_of_fees) for t in credits.tiers] == [
        ("ship_on_time_rate", 0.99, Decimal(5)),
        ("ship_on_time_rate", 0.97, Decimal(10)),
    ]


def test_design_example_facilities_windows_and_metrics(westcoast: Contract) -> None:
    (facility,) = westcoast.facilities
    assert facility.id == "LAX1"
    assert facility.timezone == ZoneInfo("America/Los_Angeles")
    assert (facility.country, facility.subdivision) == ("US", "CA")
    assert facility.cutoff == time(14, 0)
    assert westcoast.facility("LAX1") is facility
    with pytest.raises(KeyError, match="SFO1"):
        westcoast.facility("SFO1")
    assert westcoast.capacity.orders_per_day == 4000
    assert westcoast.capacity.peak_orders_per_day == 6000
    assert westcoast.closed_dates == [date(2026, 12, 26)]
    assert set(westcoast.metrics) <= KPI_NAMES
    assert westcoast.metrics["ship_on_time_rate"].rule == "same_day_before_cutoff"
    assert westcoast.metrics["inventory_accuracy_rate"].tolerance_units == 0
    assert westcoast.metrics["dock_to_stock_on_time_rate"].within_business_days == 2
    assert westcoast.is_excluded(date(2026, 1, 11)) is westcoast.exclusions[0]
    assert westcoast.exclusions[0].reason == "force majeure"
    assert westcoast.is_excluded(date(2026, 1, 13)) is None


def test_fixture_file_is_the_design_example(westcoast: Contract) -> None:
    assert load_contract(FIXTURES / "westcoast.yaml") == westcoast
    assert check_contract(FIXTURES / "westcoast.yaml") == []


def test_metric_terms_tell_direction_and_threshold(westcoast: Contract) -> None:
    ship = westcoast.metrics["ship_on_time_rate"]
    assert not ship.lower_is_better
    assert ship.threshold == 0.99
    assert ship.meets(99 / 100)
    assert not ship.meets(0.9899)
    scans = westcoast.metrics["no_first_scan_rate"]
    assert scans.lower_is_better
    assert scans.threshold == 0.002
    assert scans.meets(0.001)
    assert not scans.meets(0.003)


def test_ship_rule_defaults_to_same_day_before_cutoff() -> None:
    text = WESTCOAST.replace("{target: 0.99, rule: same_day_before_cutoff}", "{target: 0.99}")
    contract = parse_contract(text)
    assert contract.metrics["ship_on_time_rate"].rule == "same_day_before_cutoff"


def test_yaml_1_1_traps_are_read_as_written() -> None:
    # Norway is not False, an unquoted 15:30 is not 930 (base 60), and exponents stay exact.
    text = edit(
        WESTCOAST,
        6,
        "  - {id: OSL1, timezone: Europe/Oslo, country: NO, cutoff: 15:30}",
    ).replace("pick_pack: 3.00", "pick_pack: 3.0e0")
    contract = parse_contract(text)
    assert contract.facilities[0].country == "NO"
    assert contract.facilities[0].cutoff == time(15, 30)
    assert contract.rates.pick_pack == Decimal(3)


def test_eastbridge_fixture_parses() -> None:
    contract = load_contract(FIXTURES / "eastbridge.yaml")
    assert contract.provider == "eastbridge"
    assert [
        (f.id, f.timezone.key, f.country, f.subdivision, f.cutoff) for f in contract.facilities
    ] == [
        ("EWR1", "America/New_York", "US", "NJ", time(12, 0)),
        ("DFW1", "America/Chicago", "US", "TX", time(15, 0)),
    ]
    assert contract.metrics["return_processing_on_time_rate"].within_business_days == 3
    assert contract.metrics["dock_to_stock_on_time_rate"].within_business_days == 2
    assert contract.rates.storage_per_pallet_month == Decimal("36.83")
    assert contract.rates.packaging["carton_shrink_wrap"] == Decimal("3.75")
    assert contract.credits.per_incident["missed_ship_date"] == Decimal("5.25")
    peak_day = date(2026, 12, 1)
    dock = contract.metric_terms("dock_to_stock_on_time_rate", peak_day)
    assert dock is not None
    assert (dock.target, dock.within_business_days) == (0.95, 4)
    cycle = contract.metric_terms("order_cycle_hours_p90", peak_day)
    assert cycle is not None
    assert cycle.lower_is_better
    assert cycle.threshold == 48
    assert check_contract(FIXTURES / "eastbridge.yaml") == []


def test_dumped_contract_validates_back_to_itself(westcoast: Contract) -> None:
    dumped = westcoast.model_dump(by_alias=True)
    assert dumped["facilities"][0]["timezone"] == "America/Los_Angeles"
    assert dumped["facilities"][0]["cutoff"] == "14:00"
    assert Contract.model_validate(dumped) == westcoast


def test_cross_key_rules_also_hold_for_contracts_built_in_python(westcoast: Contract) -> None:
    data = westcoast.model_dump(by_alias=True)
    data["credits"]["tiers"][1]["metric"] = "perfect_order_rate"
    with pytest.raises(ValidationError) as raised:
        Contract.model_validate(data)
    assert [error["loc"] for error in raised.value.errors()] == [("credits", "tiers", 1, "metric")]


# --- peak variants and versions ------------------------------------------------------------


def test_peak_override_merges_over_base_terms(westcoast: Contract) -> None:
    def target_on(day: date) -> float | None:
        terms = westcoast.metric_terms("ship_on_time_rate", day)
        assert terms is not None
        assert terms.rule == "same_day_before_cutoff"  # kept from the base terms
        return terms.target

    assert target_on(date(2026, 11, 19)) == 0.99
    assert target_on(date(2026, 11, 20)) == 0.97
    assert target_on(date(2026, 12, 31)) == 0.97
    assert target_on(date(2027, 1, 1)) == 0.99
    assert westcoast.peak_variant(date(2026, 12, 1)) is westcoast.peak[0]
    assert westcoast.peak_variant(date(2026, 6, 1)) is None
    # metrics the variant does not override keep their base terms
    accuracy = westcoast.metric_terms("order_accuracy_rate", date(2026, 12, 1))
    assert accuracy == westcoast.metrics["order_accuracy_rate"]
    assert westcoast.metric_terms("delivery_on_time_rate", date(2026, 12, 1)) is None
    with pytest.raises(ValueError, match="unknown metric"):
        westcoast.metric_terms("ship_on_time", date(2026, 12, 1))


def test_contract_in_force_picks_latest_effective_version() -> None:
    first = parse_contract(WESTCOAST)
    second = parse_contract(
        WESTCOAST.replace("effective: 2026-01-01", "effective: 2026-07-01").replace(
            "pick_pack: 3.00", "pick_pack: 3.10"
        )
    )
    versions = [second, first]
    assert contract_in_force(versions, date(2025, 12, 31)) is None
    assert contract_in_force(versions, date(2026, 1, 1)) is first
    assert contract_in_force(versions, date(2026, 6, 30)) is first
    assert contract_in_force(versions, date(2026, 7, 1)) is second
    assert contract_in_force(versions, date(2030, 1, 1)) is second
    assert contract_in_force([], date(2026, 1, 1)) is None
    with pytest.raises(ValueError, match="share the effective date"):
        contract_in_force([first, first], date(2026, 1, 1))
    other = parse_contract(WESTCOAST.replace("provider: westcoast", "provider: eastbridge"))
    with pytest.raises(ValueError, match="several providers"):
        contract_in_force([first, other], date(2026, 1, 1))


def test_content_hash_is_sha256_of_the_text() -> None:
    text = (FIXTURES / "westcoast.yaml").read_text(encoding="utf-8")
    assert content_hash(text) == hashlib.sha256(text.encode("utf-8")).hexdigest()
    assert content_hash(text) != content_hash(text.replace("3.00", "3.01"))


def test_metric_terms_need_exactly_one_threshold() -> None:
    assert MetricTerms(target=0.9).threshold == 0.9
    with pytest.raises(ValueError, match="exactly one of"):
        MetricTerms()
    with pytest.raises(ValueError, match="exactly one of"):
        MetricTerms(target=0.9, max=0.1)


# --- located errors ------------------------------------------------------------------------

Edit = Callable[[str], str]

ERROR_CASES: list[tuple[str, Edit, int | None, str, str]] = [
    (
        "misspelt key",
        lambda t: t.replace("{target: 0.99, rule", "{targt: 0.99, rule"),
        9,
        "metrics.ship_on_time_rate.targt",
        "unknown key 'targt' (did you mean 'target'? expected one of: target, max, rule,",
    ),
    (
        "rate above 1",
        lambda t: t.replace("{target: 0.995}", "{target: 1.5}"),
        10,
        "metrics.order_accuracy_rate.target",
        "must be a number between 0 and 1, got 1.5",
    ),
    (
        "unknown time zone",
        lambda t: t.replace("America/Los_Angeles", "America/Los_Angles"),
        6,
        "facilities[0].timezone",
        "unknown time zone 'America/Los_Angles' (did you mean 'America/Los_Angeles'?)",
    ),
    (
        "unknown country",
        lambda t: t.replace("country: US", "country: XX"),
        6,
        "facilities[0].country",
        "unknown country 'XX'",
    ),
    (
        "unknown subdivision",
        lambda t: t.replace("subdivision: CA", "subdivision: QQ"),
        6,
        "facilities[0].subdivision",
        "unknown subdivision 'QQ' of country US",
    ),
    (
        "bad cutoff",
        lambda t: t.replace('cutoff: "14:00"', 'cutoff: "2pm"'),
        6,
        "facilities[0].cutoff",
        "must be a time of day written \"HH:MM\" (24-hour clock), got '2pm'",
    ),
    (
        "missing nested key",
        lambda t: edit(t, 30),
        25,
        "rates.receiving_per_unit",
        "required key is missing",
    ),
    (
        "missing top-level key",
        lambda t: edit(t, 4),
        1,
        "currency",
        "required key is missing",
    ),
    (
        "lowercase currency",
        lambda t: t.replace("currency: USD", "currency: usd"),
        4,
        "currency",
        "must be a 3-letter ISO 4217 currency code",
    ),
    (
        "impossible date",
        lambda t: t.replace("effective: 2026-01-01", "effective: 2026-02-30"),
        3,
        "effective",
        "must be a date written YYYY-MM-DD, got '2026-02-30'",
    ),
    (
        "duplicate facility id",
        lambda t: edit(
            t,
            6,
            t.splitlines()[5],
            "  - {id: LAX1, timezone: America/Chicago, country: US, cutoff: '15:00'}",
        ),
        7,
        "facilities[1].id",
        "duplicate facility id 'LAX1' (already used by facilities[0])",
    ),
    (
        "no facility",
        lambda t: edit(t, 5, "facilities: []").replace(
            "  - {id: LAX1, timezone: America/Los_Angeles, country: US, subdivision: CA, "
            'cutoff: "14:00"}\n',
            "",
        ),
        5,
        "facilities",
        "at least one facility is required",
    ),
    (
        "peak window ends before it starts",
        lambda t: t.replace("to: 2026-12-31", "to: 2026-10-31"),
        16,
        "peak[0].to",
        "must be on or after from (2026-11-20), got 2026-10-31",
    ),
    (
        "exclusion window ends before it starts",
        lambda t: t.replace("to: 2026-01-12", "to: 2026-01-09"),
        17,
        "exclusions[0].to",
        "must be on or after from (2026-01-10), got 2026-01-09",
    ),
    (
        "peak overrides a metric the contract lacks",
        lambda t: t.replace(
            "metrics: {ship_on_time_rate: {target: 0.97}}",
            "metrics: {delivery_on_time_rate: {target: 0.9}}",
        ),
        16,
        "peak[0].metrics.delivery_on_time_rate",
        "metric 'delivery_on_time_rate' is not in this contract's metrics",
    ),
    (
        "credit tier on a metric the contract lacks",
        lambda t: t.replace(
            "{metric: ship_on_time_rate, below: 0.97", "{metric: perfect_order_rate, below: 0.97"
        ),
        23,
        "credits.tiers[1].metric",
        "metric 'perfect_order_rate' is not in this contract's metrics",
    ),
    (
        "credit tier level above 1",
        lambda t: t.replace("below: 0.99,", "below: 99,"),
        22,
        "credits.tiers[0].below",
        "must be a number between 0 and 1, got 99",
    ),
    (
        "metric outside the KPI catalogue",
        lambda t: t.replace("order_accuracy_rate: {", "order_acuracy_rate: {"),
        10,
        "metrics.order_acuracy_rate",
        "unknown metric 'order_acuracy_rate' (did you mean 'order_accuracy_rate'?",
    ),
    (
        "lower-is-better metric given a target",
        lambda t: t.replace(
            "no_first_scan_rate: {max: 0.002", "no_first_scan_rate: {target: 0.002"
        ),
        14,
        "metrics.no_first_scan_rate.target",
        "no_first_scan_rate is better when lower: give 'max', not 'target'",
    ),
    (
        "both target and max",
        lambda t: t.replace("{target: 0.995}", "{target: 0.995, max: 0.1}"),
        10,
        "metrics.order_accuracy_rate",
        "give exactly one of 'target'",
    ),
    (
        "business-day metric without its N",
        lambda t: t.replace("{target: 0.95, within_business_days: 2}", "{target: 0.95}"),
        12,
        "metrics.dock_to_stock_on_time_rate.within_business_days",
        "required key is missing",
    ),
    (
        "option that does not fit the metric",
        lambda t: t.replace("{target: 0.995}", "{target: 0.995, tolerance_units: 2}"),
        10,
        "metrics.order_accuracy_rate.tolerance_units",
        "does not apply to order_accuracy_rate",
    ),
    (
        "unknown ship rule",
        lambda t: t.replace("rule: same_day_before_cutoff", "rule: next_day"),
        9,
        "metrics.ship_on_time_rate.rule",
        "unknown rule 'next_day' (expected one of: same_day_before_cutoff)",
    ),
    (
        "negative money",
        lambda t: t.replace("pick_pack: 3.00", "pick_pack: -3.00"),
        26,
        "rates.pick_pack",
        "must be an amount of money (a number of 0 or more), got -3.00",
    ),
    (
        "money that is not a number",
        lambda t: t.replace("box_small: 0.85", "box_small: cheap"),
        28,
        "rates.packaging.box_small",
        "must be an amount of money (a number of 0 or more), got 'cheap'",
    ),
    (
        "credit cap above 100 percent",
        lambda t: t.replace("cap_pct_of_fees: 25", "cap_pct_of_fees: 125"),
        20,
        "credits.cap_pct_of_fees",
        "must be a percentage between 0 and 100, got 125",
    ),
    (
        "unknown incident kind",
        lambda t: t.replace("picking_error: 25.00", "broken_box: 25.00"),
        24,
        "credits.per_incident.broken_box",
        "unknown incident kind 'broken_box'",
    ),
    (
        "incident credit neither money nor order_value",
        lambda t: t.replace("lost_shipment: order_value", "lost_shipment: order_total"),
        24,
        "credits.per_incident.lost_shipment",
        "must be an amount of money (0 or more) or order_value, got 'order_total'",
    ),
    (
        "capacity that is not a whole number",
        lambda t: t.replace("orders_per_day: 4000,", "orders_per_day: 4000.5,"),
        7,
        "capacity.orders_per_day",
        "must be a whole number of 1 or more, got 4000.5",
    ),
    (
        "peak capacity below normal capacity",
        lambda t: t.replace("peak_orders_per_day: 6000", "peak_orders_per_day: 3000"),
        7,
        "capacity.peak_orders_per_day",
        "must be at least orders_per_day (4000), got 3000",
    ),
    (
        "section that is not a mapping",
        lambda t: t.replace(
            "capacity: {orders_per_day: 4000, peak_orders_per_day: 6000}", "capacity: 4000"
        ),
        7,
        "capacity",
        "must be a mapping with keys such as orders_per_day, peak_orders_per_day, "
        "storage_pallets, got 4000",
    ),
    (
        "text where a list belongs",
        lambda t: t.replace("closed_dates: [2026-12-26]", "closed_dates: 2026-12-26"),
        18,
        "closed_dates",
        "must be a list, got 2026-12-26",
    ),
    (
        "unknown top-level key",
        lambda t: t + "signed_by: Jane\n",
        33,
        "signed_by",
        "unknown key 'signed_by' (expected one of: provider, name, effective, currency,",
    ),
    (
        "duplicate key",
        lambda t: t + "provider: westcoast2\n",
        33,
        "provider",
        "duplicate key 'provider'",
    ),
    (
        "YAML syntax error",
        lambda t: t.replace("{target: 0.995}", "{target: 0.995"),
        11,
        "",
        "invalid YAML: while parsing a flow mapping",
    ),
    (
        "a character YAML forbids",
        lambda t: t.replace("force majeure", "force\x07majeure"),
        17,
        "",
        "invalid YAML: the character U+0007 is not allowed in YAML",
    ),
]


@pytest.mark.parametrize(
    ("breakage", "line", "key", "message"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_error_names_line_key_and_problem(
    breakage: Edit, line: int | None, key: str, message: str
) -> None:
    issues = issues_of(breakage(WESTCOAST))
    assert len(issues) == 1, issues
    (issue,) = issues
    assert (issue.file, issue.line, issue.key) == ("westcoast.yaml", line, key)
    assert message in issue.message
    where = f"westcoast.yaml:{line}: {key}: " if key else f"westcoast.yaml:{line}: "
    assert str(issue) == where + issue.message


def test_every_problem_is_reported_at_once() -> None:
    text = (
        WESTCOAST.replace("America/Los_Angeles", "America/Los_Angles")
        .replace("{target: 0.995}", "{targt: 0.995}")
        .replace("to: 2026-12-31", "to: 2026-10-31")
        .replace(
            "{metric: ship_on_time_rate, below: 0.97", "{metric: damage_free_rate, below: 0.97"
        )
        .replace("returns_per_unit: 3.50", "returns_per_unit: -1")
    )
    with pytest.raises(ContractError) as raised:
        parse_contract(text, "westcoast.yaml")
    located = [(issue.line, issue.key) for issue in raised.value.errors]
    assert located == [
        (6, "facilities[0].timezone"),
        (10, "metrics.order_accuracy_rate.targt"),
        (16, "peak[0].to"),
        (23, "credits.tiers[1].metric"),
        (31, "rates.returns_per_unit"),
    ]
    message = str(raised.value)
    assert message.startswith("5 problems in westcoast.yaml:\n")
    assert "westcoast.yaml:31: rates.returns_per_unit: must be an amount of money" in message


def test_empty_and_non_mapping_documents() -> None:
    (empty,) = issues_of("")
    assert (empty.line, empty.message) == (None, "the contract is empty")
    (listed,) = issues_of("- provider\n- name\n")
    assert listed.line == 1
    assert listed.message.startswith("the contract must be a mapping with the keys provider,")


def test_check_contract_reports_file_problems(tmp_path: Path) -> None:
    broken = tmp_path / "westcoast.yaml"
    broken.write_text(WESTCOAST.replace("{target: 0.995}", "{target: 1.5}"), encoding="utf-8")
    (issue,) = check_contract(broken)
    assert (issue.file, issue.line, issue.key) == (
        str(broken),
        10,
        "metrics.order_accuracy_rate.target",
    )
    (missing,) = check_contract(tmp_path / "absent.yaml")
    assert missing.line is None
    assert missing.message.startswith("cannot read the file")
    latin1 = tmp_path / "latin1.yaml"
    latin1.write_bytes(WESTCOAST.replace("force majeure", "force majeure \xe9").encode("latin-1"))
    (undecodable,) = check_contract(latin1)
    assert "not UTF-8" in undecodable.message
    with_bom = tmp_path / "bom.yaml"
    with_bom.write_bytes(b"\xef\xbb\xbf" + WESTCOAST.encode("utf-8"))
    assert check_contract(with_bom) == []


# --- robustness ----------------------------------------------------------------------------

_LINES = WESTCOAST.splitlines(keepends=True)
_FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _parses_or_reports(text: str) -> None:
    errors: list[ContractIssue] = []
    message = ""
    try:
        contract: Contract | None = parse_contract(text, "fuzz.yaml")
    except ContractError as exc:
        contract, errors, message = None, exc.errors, str(exc)
    if contract is None:
        assert errors
        assert message
        assert all(isinstance(issue, ContractIssue) for issue in errors)
    else:
        assert isinstance(contract, Contract)


@_FUZZ
@given(st.text())
def test_random_text_only_raises_contract_error(text: str) -> None:
    _parses_or_reports(text)


@_FUZZ
@given(st.sets(st.integers(min_value=0, max_value=len(_LINES) - 1)))
def test_deleted_lines_only_raise_contract_error(deleted: set[int]) -> None:
    _parses_or_reports("".join(line for i, line in enumerate(_LINES) if i not in deleted))


@_FUZZ
@given(
    st.integers(min_value=0, max_value=len(WESTCOAST)),
    st.integers(min_value=0, max_value=12),
    st.text(
        alphabet=st.sampled_from([*" \t\n:-,[]{}&*!?|>'\"%@`#~.0123456789eEaZ_", "\x00"]),
        max_size=8,
    ),
)
def test_mangled_text_only_raises_contract_error(at: int, cut: int, inserted: str) -> None:
    _parses_or_reports(WESTCOAST[:at] + inserted + WESTCOAST[at + cut :])
