"""Peak scenario files: what a good one gives, and a located error for each bad key."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tallyclerk.errors import InputError
from tallyclerk.forecast._peak import ExtraCapacity
from tallyclerk.forecast._scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    parse_scenario,
)

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "peak"

GOOD = """\
name: Black Friday 2026 at P90
provider: eastbridge
as_of: 2026-10-31
from: 2026-11-01
to: 2026-12-31
demand:
  quantile: p90
  scale: 1.2
  spikes:
    - {from: 2026-11-27, to: 2026-11-30, factor: 1.5, label: Black Friday promo}
    - {from: 2026-11-30, to: 2026-12-01, factor: 2}
  orders: {2026-12-02: 900}
  before_cutoff_share: 0.7
capacity:
  orders_per_day: 250
  peak_orders_per_day: 600
  extra:
    - {from: 2026-11-23, to: 2026-12-04, orders_per_day: 100, label: overtime}
  split: {EWR1: 0.6, DFW1: 0.4}
second_provider: westcoast
fee_per_order: 2.75
"""


def test_a_good_scenario() -> None:
    scenario = parse_scenario(GOOD, "bf.yaml")
    assert (scenario.name, scenario.provider, scenario.second_provider) == (
        "Black Friday 2026 at P90",
        "eastbridge",
        "westcoast",
    )
    assert (scenario.as_of, scenario.start, scenario.end) == (
        date(2026, 10, 31),
        date(2026, 11, 1),
        date(2026, 12, 31),
    )
    assert len(scenario.days()) == 61  # 30 days of November + 31 of December
    assert scenario.fee_per_order == Decimal("2.75")
    demand = scenario.demand
    assert (demand.quantile, demand.before_cutoff_share) == ("p90", 0.7)
    assert demand.factor(date(2026, 11, 26)) == pytest.approx(1.2)
    assert demand.factor(date(2026, 11, 27)) == pytest.approx(1.2 * 1.5)
    assert demand.factor(date(2026, 11, 30)) == pytest.approx(1.2 * 1.5 * 2)  # both spikes
    assert demand.factor(date(2026, 12, 1)) == pytest.approx(1.2 * 2)
    # A forecast day: each facility's forecast times the factor.
    assert demand.adjust(date(2026, 11, 27), {"EWR1": 100, "DFW1": 50}) == pytest.approx(
        {"EWR1": 180, "DFW1": 90}
    )
    # A replaced day: 900 in the forecast's mix (2:1), scale and spikes left out.
    assert demand.adjust(date(2026, 12, 2), {"EWR1": 100, "DFW1": 50}) == pytest.approx(
        {"EWR1": 600, "DFW1": 300}
    )
    assert demand.adjust(date(2026, 12, 2), {"EWR1": 0, "DFW1": 0}) == {"EWR1": 450, "DFW1": 450}
    plan = scenario.capacity_plan()
    assert (plan.orders_per_day, plan.peak_orders_per_day) == (250, 600)
    assert plan.extra == (ExtraCapacity(date(2026, 11, 23), date(2026, 12, 4), 100, "overtime"),)
    assert plan.split == {"EWR1": 0.6, "DFW1": 0.4}


def test_a_minimal_scenario_takes_the_defaults() -> None:
    scenario = parse_scenario("name: n\nprovider: p\nfrom: 2026-11-01\nto: 2026-11-30\n")
    assert scenario.as_of is None
    assert (scenario.demand.quantile, scenario.demand.scale) == ("p90", 1.0)
    assert scenario.demand.spikes == []
    assert scenario.demand.before_cutoff_share is None
    plan = scenario.capacity_plan()
    assert (plan.orders_per_day, plan.peak_orders_per_day, plan.extra, plan.split) == (
        None,
        None,
        (),
        None,
    )
    assert scenario.second_provider is None
    assert scenario.fee_per_order is None


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        # (text replaced in GOOD, its replacement, "line: key: message" expected)
        ("provider: eastbridge", "provder: eastbridge", "2: provder: unknown key 'provder' (did "),
        ("name: Black Friday 2026 at P90\n", "", "1: name: required key is missing"),
        ("from: 2026-11-01", "from: 2026-11-31", "4: from: must be a date written YYYY-MM-DD"),
        ("to: 2026-12-31", "to: 2026-10-31", "5: to: must not be before from (2026-11-01)"),
        ("to: 2026-12-31", "to: 2027-12-31", "5: to: the scenario spans 426 days; at most 366"),
        ("quantile: p90", "quantile: P90", "7: demand.quantile: unknown quantile 'P90' (did "),
        ("scale: 1.2", "scale: 0", "8: demand.scale: must be a multiplier above 0"),
        ("scale: 1.2", "scale: 120", "8: demand.scale: must be a multiplier above 0 and at most"),
        (
            "factor: 1.5, label",
            "factor: -1, label",
            "10: demand.spikes[0].factor: must be a multiplier above 0",
        ),
        (
            "to: 2026-11-30, factor: 1.5",
            "to: 2026-11-20, factor: 1.5",
            "10: demand.spikes[0].to: must not be before from (2026-11-27)",
        ),
        (
            "- {from: 2026-11-30, to: 2026-12-01, factor: 2}",
            "- {from: 2027-01-05, to: 2027-01-06, factor: 2}",
            "11: demand.spikes[1]: no day of 2027-01-05..2027-01-06 falls within",
        ),
        (
            "factor: 2}",
            "factr: 2}",
            "11: demand.spikes[1].factr: unknown key 'factr' (did you mean 'factor'?",
        ),
        ("{2026-12-02: 900}", "{2026-12-02: -5}", "12: demand.orders.2026-12-02: must be a number"),
        ("{2026-12-02: 900}", "{2027-02-02: 5}", "12: demand.orders.2027-02-02: 2027-02-02 is "),
        ("{2026-12-02: 900}", "{Monday: 5}", "12: demand.orders.Monday: must be a date"),
        ("before_cutoff_share: 0.7", "before_cutoff_share: 70", "13: demand.before_cutoff_share"),
        ("orders_per_day: 250", "orders_per_day: 0", "15: capacity.orders_per_day: must be a"),
        (
            "peak_orders_per_day: 600",
            "peak_orders_per_day: lots",
            "16: capacity.peak_orders_per_day: must be a number of orders above 0, got 'lots'",
        ),
        (
            "orders_per_day: 100, label",
            "orders_per_day: -3, label",
            "18: capacity.extra[0].orders_per_day: must be a number of orders above 0",
        ),
        (
            "{from: 2026-11-23, to: 2026-12-04",
            "{from: 2026-11-23, to: 2026-11-04",
            "18: capacity.extra[0].to: must not be before from",
        ),
        ("DFW1: 0.4", "DFW1: 0.3", "19: capacity.split: the shares must add up to 1; they add up"),
        ("DFW1: 0.4", "DFW1: 0", "19: capacity.split.DFW1: must be a share above 0"),
        ("second_provider: westcoast", "second_provider: eastbridge", "20: second_provider: "),
        ("fee_per_order: 2.75", "fee_per_order: -1", "21: fee_per_order: must be an amount"),
        (
            "- {from: 2026-11-30, to: 2026-12-01, factor: 2}",
            "- 2026-11-30",
            "11: demand.spikes[1]: must be a mapping with keys such as from, to, factor, label",
        ),
        ("second_provider: westcoast", "second_provider: [a]", "20: second_provider: must be an"),
        ("  spikes:\n", "  spikes: 3\n  spiked:\n", "9: demand.spikes: must be a list, got 3"),
        ("second_provider: westcoast", "name: again", "20: name: duplicate key 'name'"),
    ],
)
def test_each_bad_key_is_located(old: str, new: str, where: str) -> None:
    assert old in GOOD
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(GOOD.replace(old, new, 1), "bf.yaml")
    rendered = [str(issue) for issue in caught.value.errors]
    assert any(text.startswith(f"bf.yaml:{where}") for text in rendered), rendered


def test_every_problem_is_reported_at_once_in_file_order() -> None:
    text = GOOD.replace("quantile: p90", "quantile: p95").replace("scale: 1.2", "scale: -2")
    text = text.replace("fee_per_order: 2.75", "fee_per_order: x")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bf.yaml")
    error = caught.value
    assert isinstance(error, InputError)  # the CLI prints it plainly
    assert [(i.line, i.key) for i in error.errors] == [
        (7, "demand.quantile"),
        (8, "demand.scale"),
        (21, "fee_per_order"),
    ]
    assert str(error).startswith("3 problems in bf.yaml:\n  bf.yaml:7: demand.quantile: ")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "bf.yaml: the scenario is empty"),
        ("- a\n- b\n", "bf.yaml:1: the scenario must be a mapping with the keys name, provider"),
        ("name: [unclosed\n", "bf.yaml:2: invalid YAML"),
    ],
)
def test_unreadable_scenarios(text: str, message: str) -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "bf.yaml")
    assert str(caught.value).startswith(message)


def test_loading_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bf.yaml"
    path.write_text(GOOD.replace("scale: 1.2", "scale: nothing"), encoding="utf-8")
    with pytest.raises(ScenarioError, match=rf"{path.name}:8: demand.scale: must be a multiplier"):
        load_scenario(path)
    with pytest.raises(ScenarioError, match="cannot read the file"):
        load_scenario(tmp_path / "missing.yaml")


def test_the_example_scenarios_load() -> None:
    p90 = load_scenario(EXAMPLES / "forecast-p90.yaml")
    assert isinstance(p90, Scenario)
    assert (p90.provider, p90.demand.quantile, p90.demand.scale) == ("eastbridge", "p90", 1.0)
    assert p90.demand.spikes == []
    promo = load_scenario(EXAMPLES / "black-friday-promo.yaml")
    assert promo.demand.scale == 1.2
    (spike,) = promo.demand.spikes
    # The promotion covers a weekend: Friday 27 to Monday 30 November.
    assert (spike.from_.weekday(), spike.to.weekday()) == (4, 0)
    assert promo.demand.factor(date(2026, 11, 28)) == pytest.approx(1.2 * spike.factor)
    assert promo.demand.factor(date(2026, 11, 26)) == pytest.approx(1.2)
    assert promo.second_provider == "westcoast"
