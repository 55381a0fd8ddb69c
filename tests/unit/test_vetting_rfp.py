"""RFP files: what a good one gives, and a located error for each bad key."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from tallyclerk.errors import InputError
from tallyclerk.vetting._rfp import (
    DEFAULT_STANDINGS,
    IntegrationTerms,
    Rfp,
    RfpError,
    load_rfp,
    parse_rfp,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "vetting" / "rfp.yaml"

GOOD = """\
name: 3PL selection 2027
currency: USD
window: 2026-01..2026-10
risk:
  cost_per_error: {reship: 9.50, shipping: 7.80, customer_service: 4.00}
  cost_per_late_order: 2.50
  growth_pct: 50
evidence_weights: {none: 0.4, requested: 0.5, received: 0.75, verified: 1.0}
criteria:
  - id: accuracy
    name: Order accuracy
    weight: 30
    measure: order_accuracy_rate
    scale: {worst: 0.99, best: 0.999}
  - {id: dock, name: Dock, weight: 10, measure: dock_to_stock_hours, scale: {worst: 72, best: 24}}
  - {id: capacity, name: Peak capacity fit, weight: 10, rule: capacity_fit}
  - id: integration
    name: Integrations
    weight: 15
    rule: integration_fit
    requires: {edi: [940, 945], platforms: [shopify], api: true}
  - {id: cost, name: Risk-adjusted cost, weight: 25, rule: cost}
  - {id: experience, name: Experience, weight: 10, rule: rating}
standings:
  - {min: 80, name: excellent, consequence: shortlist for contract}
  - {min: 0, name: rejected, consequence: reject}
candidates:
  - id: northstar
    name: NorthStar Fulfillment
    claims: {order_accuracy_rate: 0.998, dock_to_stock_hours: 24, orders_per_day: 600}
    facilities: [{id: RNO1, city: Reno, country: US, subdivision: NV}]
    integrations: {edi: [940, 945, 846], api: true, platforms: [Shopify]}
    experience: {industries: [apparel], years: 12}
    references: [{name: Brand A, contacted: true, verdict: positive}]
    evidence: {accuracy: verified, capacity: received}
    ratings: {experience: 4}
    rates:
      pick_pack: 2.95
      additional_unit: 0.70
      packaging: {poly_mailer: 0.30}
      storage_per_pallet_month: 22.00
      receiving_per_unit: 0.22
      returns_per_unit: 3.25
      shipping_markup_pct: 0
  - id: prairie
    name: Prairie Logistics
    pilot_provider: westcoast
    claims: {order_accuracy_rate: 0.999, orders_per_day: 300, peak_orders_per_day: 350}
    evidence: {accuracy: requested}
    rates:
      pick_pack: 2.45
      additional_unit: 0.55
      storage_per_pallet_month: 18.00
      receiving_per_unit: 0.18
      returns_per_unit: 2.75
      shipping_markup_pct: 3
"""


def test_the_example_rfp_loads() -> None:
    rfp = load_rfp(EXAMPLE)
    assert rfp.name == "3PL selection 2027"
    assert [candidate.id for candidate in rfp.candidates] == ["northstar", "prairie", "harborline"]
    assert [c.id for c in rfp.candidates if c.pilot_provider] == ["harborline"]
    assert rfp.candidate("harborline").pilot_provider == "westcoast"
    assert sum(criterion.weight for criterion in rfp.criteria) == 100
    assert {criterion.kind for criterion in rfp.criteria} == {
        "measure",
        "capacity_fit",
        "integration_fit",
        "cost",
        "rating",
    }
    assert rfp.window is not None
    assert len(rfp.window.months()) == 10  # January to October
    assert rfp.risk.error_cost == Decimal("21.30")  # 9.50 + 7.80 + 4.00
    for candidate in rfp.candidates:
        assert candidate.rates.pick_pack > 0
        assert candidate.peak_orders_per_day is not None


def test_a_good_rfp() -> None:
    rfp = parse_rfp(GOOD, "rfp.yaml")
    assert (rfp.name, rfp.currency) == ("3PL selection 2027", "USD")
    assert rfp.window is not None
    assert (rfp.window.first, rfp.window.last) == (date(2026, 1, 1), date(2026, 10, 1))
    assert str(rfp.window) == "2026-01..2026-10"
    assert rfp.window.months()[-1] == date(2026, 10, 1)
    risk = rfp.risk
    assert risk.cost_per_error == {
        "reship": Decimal("9.50"),
        "shipping": Decimal("7.80"),
        "customer_service": Decimal("4.00"),
    }
    assert (risk.error_cost, risk.cost_per_late_order, risk.growth_pct) == (
        Decimal("21.30"),
        Decimal("2.50"),
        Decimal("50"),
    )
    accuracy, dock, capacity, integration, cost, experience = rfp.criteria
    assert accuracy.measure == "order_accuracy_rate"
    assert accuracy.scale is not None
    assert not accuracy.scale.lower_is_better
    assert accuracy.scale.score(0.9945) == pytest.approx(50)  # halfway from 0.99 to 0.999
    assert accuracy.scale.score(0.98) == 0  # clipped below worst
    assert accuracy.scale.score(1.0) == 100  # clipped above best
    assert dock.scale is not None
    assert dock.scale.lower_is_better
    assert dock.scale.score(36) == pytest.approx(75)  # (36 - 72) / (24 - 72) = 0.75
    assert [c.kind for c in (capacity, integration, cost, experience)] == [
        "capacity_fit",
        "integration_fit",
        "cost",
        "rating",
    ]
    assert [c.takes_evidence for c in rfp.criteria] == [True, True, True, True, False, False]
    assert [band.name for band in rfp.standings] == ["excellent", "rejected"]
    north, prairie = rfp.candidates
    assert (north.orders_per_day, north.peak_orders_per_day) == (600, None)
    assert (prairie.orders_per_day, prairie.peak_orders_per_day) == (300, 350)
    assert north.claim("order_accuracy_rate") == pytest.approx(0.998)
    assert north.claim("ship_on_time_rate") is None
    assert (north.evidence_for("accuracy"), north.evidence_for("dock")) == ("verified", "none")
    assert north.ratings == {"experience": 4}
    assert north.integrations.edi == [940, 945, 846]
    assert north.rates.packaging == {"poly_mailer": Decimal("0.30")}
    assert prairie.rates.packaging == {}
    assert (prairie.pilot_provider, north.pilot_provider) == ("westcoast", None)


def test_defaults_for_evidence_weights_standings_and_window() -> None:
    text = GOOD.replace("window: 2026-01..2026-10\n", "")
    text = text.replace(
        "evidence_weights: {none: 0.4, requested: 0.5, received: 0.75, verified: 1.0}\n", ""
    )
    start, end = text.index("standings:"), text.index("candidates:")
    rfp = parse_rfp(text[:start] + text[end:])
    assert rfp.window is None
    weights = rfp.evidence_weights
    assert (weights.none, weights.requested, weights.received, weights.verified) == (
        0.4,
        0.5,
        0.75,
        1.0,
    )
    assert tuple(rfp.standings) == DEFAULT_STANDINGS
    assert [(float(b.min), b.name) for b in rfp.standings] == [
        (80, "excellent"),
        (65, "average"),
        (50, "poor"),
        (0, "very poor"),
    ]


def test_standing_of_a_total() -> None:
    rfp = parse_rfp(GOOD.replace("  - {min: 80, name: excellent", "  - {min: 65, name: fine"))
    assert rfp.standing(65).name == "fine"  # a band starts at its min
    assert rfp.standing(64.99).name == "rejected"
    assert rfp.standing(0).name == "rejected"
    assert rfp.standing(100).consequence == "shortlist for contract"


def test_a_window_of_one_month() -> None:
    rfp = parse_rfp(GOOD.replace("window: 2026-01..2026-10", "window: 2026-03"))
    assert rfp.window is not None
    assert rfp.window.months() == [date(2026, 3, 1)]
    across = parse_rfp(GOOD.replace("window: 2026-01..2026-10", "window: 2025-11..2026-02"))
    assert across.window is not None
    assert across.window.months() == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_integrations_missing_compares_platforms_in_any_case() -> None:
    rfp = parse_rfp(GOOD)
    requires = rfp.criterion("integration").requires
    assert requires is not None
    assert requires.items() == ["EDI 940", "EDI 945", "shopify", "an API"]
    assert requires.missing_from(rfp.candidate("northstar").integrations) == []  # Shopify
    assert requires.missing_from(IntegrationTerms(edi=[945])) == ["EDI 940", "shopify", "an API"]


@pytest.mark.parametrize(
    ("old", "new", "where"),
    [
        # (text replaced in GOOD, its replacement, "line: key: message" expected)
        (
            "weight: 30",
            "weight: 25",
            "9: criteria: the weights add up to 95; they must add up to 100",
        ),
        (
            "weight: 30",
            "weight: 30.5",
            "9: criteria: the weights add up to 100.5; they must add up to 100",
        ),
        (
            "measure: order_accuracy_rate",
            "measure: order_acuracy_rate",
            "13: criteria[0].measure: unknown measure 'order_acuracy_rate' "
            "(did you mean 'order_accuracy_rate'?",
        ),
        (
            "evidence: {accuracy: requested}",
            "evidence: {accuracy: proven}",
            "49: candidates[1].evidence.accuracy: unknown evidence level 'proven' "
            "(expected one of: none, requested, received, verified)",
        ),
        (
            "evidence: {accuracy: requested}",
            "evidence: {on_time: received}",
            "49: candidates[1].evidence.on_time: no criterion 'on_time' (evidence is given "
            "per criterion id: accuracy, capacity, dock, integration)",
        ),
        (
            "evidence: {accuracy: requested}",
            "evidence: {experience: verified}",
            "49: candidates[1].evidence.experience: criterion 'experience' (rating) takes no "
            "evidence",
        ),
        (
            "  - id: prairie",
            "  - id: northstar",
            "45: candidates[1].id: duplicate candidate id 'northstar' "
            "(already used by candidates[0])",
        ),
        (
            "      pick_pack: 2.45",
            "      pick_pak: 2.45",
            "51: candidates[1].rates.pick_pak: unknown key 'pick_pak' (did you mean 'pick_pack'?",
        ),
        (
            "      returns_per_unit: 2.75",
            "      returns_per_unit: -1",
            "55: candidates[1].rates.returns_per_unit: must be an amount of money",
        ),
        (
            "  - {id: dock,",
            "  - {id: accuracy,",
            "15: criteria[1].id: duplicate criterion id 'accuracy' (already used by criteria[0])",
        ),
        (
            "scale: {worst: 72, best: 24}",
            "scale: {worst: 24, best: 24}",
            "15: criteria[1].scale: worst and best must differ (both are 24)",
        ),
        (
            "scale: {worst: 72, best: 24}",
            "scale: {worst: 24, best: 72}",
            "15: criteria[1].scale: dock_to_stock_hours is better when lower: worst must be "
            "above best (got worst 24, best 72)",
        ),
        (
            "scale: {worst: 0.99, best: 0.999}",
            "scale: {worst: 0.999, best: 0.99}",
            "14: criteria[0].scale: order_accuracy_rate is better when higher",
        ),
        (
            "scale: {worst: 0.99, best: 0.999}",
            "scale: {worst: 0.99, best: 99.9}",
            "14: criteria[0].scale.best: order_accuracy_rate is a share: must be a number "
            "between 0 and 1, got 99.9",
        ),
        (
            "    measure: order_accuracy_rate\n",
            "    rule: rating\n",
            "10: criteria[0]: 'scale' goes only with 'measure', not with 'rule'",
        ),
        (
            "    scale: {worst: 0.99, best: 0.999}\n",
            "",
            "10: criteria[0]: 'scale' is required with 'measure' order_accuracy_rate",
        ),
        (
            "rule: capacity_fit",
            "rule: capacity",
            "16: criteria[2].rule: unknown rule 'capacity' (did you mean 'capacity_fit'?",
        ),
        (
            "rule: cost}",
            "rule: capacity_fit}",
            "22: criteria[4].rule: rule capacity_fit is already used by criteria[2]",
        ),
        (
            "    requires: {edi: [940, 945], platforms: [shopify], api: true}\n",
            "",
            "17: criteria[3]: rule integration_fit needs 'requires'",
        ),
        (
            "edi: [940, 945], platforms",
            "edi: [940, EDI945], platforms",
            "21: criteria[3].requires.edi[1]: must be an X12 transaction set number",
        ),
        (
            "ratings: {experience: 4}",
            "ratings: {experience: 5.5}",
            "36: candidates[0].ratings.experience: must be a rating from 0 to 5, got 5.5",
        ),
        (
            "ratings: {experience: 4}",
            "ratings: {accuracy: 4}",
            "36: candidates[0].ratings.accuracy: criterion 'accuracy' is not rated by the "
            "brand (its rule is measure, not rating)",
        ),
        (
            "{min: 0, name: rejected",
            "{min: 20, name: rejected",
            "24: standings: the standings must cover 0: the lowest min is 20",
        ),
        (
            "{min: 0, name: rejected",
            "{min: 90, name: rejected",
            "26: standings[1].min: must be below the min of the standing before it (80)",
        ),
        (
            "evidence_weights: {none: 0.4,",
            "evidence_weights: {none: 1,",
            "8: evidence_weights.none: must be below 1: a claim without evidence never earns "
            "full marks",
        ),
        (
            "received: 0.75",
            "received: 0.45",
            "8: evidence_weights.received: must be at least requested (0.5)",
        ),
        (
            "window: 2026-01..2026-10",
            "window: 2026-10..2026-01",
            "3: window: the last month (2026-01) is before the first (2026-10)",
        ),
        (
            "window: 2026-01..2026-10",
            "window: January to October",
            "3: window: must be a month or a span of months written YYYY-MM..YYYY-MM",
        ),
        (
            "peak_orders_per_day: 350",
            "peak_orders_per_day: 250",
            "48: candidates[1].claims.peak_orders_per_day: must be at least orders_per_day "
            "(300), got 250",
        ),
        (
            "orders_per_day: 600}",
            "orders_per_day: 600.5}",
            "30: candidates[0].claims.orders_per_day: must be a whole number of orders",
        ),
        (
            "order_accuracy_rate: 0.998,",
            "order_accuracy_rate: 99.8,",
            "30: candidates[0].claims.order_accuracy_rate: order_accuracy_rate is a share",
        ),
        (
            "order_accuracy_rate: 0.998,",
            "order_accuracy: 0.998,",
            "30: candidates[0].claims.order_accuracy: unknown claim 'order_accuracy'",
        ),
        (
            "pilot_provider: westcoast",
            "pilot_provider: westcoast\n    claims: {}",
            "49: candidates[1].claims: duplicate key 'claims'",
        ),
        (
            "contacted: true",
            "contacted: yes",
            "34: candidates[0].references[0].contacted: must be true or false, got 'yes'",
        ),
        (
            "subdivision: NV",
            "subdivision: XX",
            "31: candidates[0].facilities[0].subdivision: unknown subdivision 'XX' of country US",
        ),
        (
            "currency: USD",
            "currency: usd",
            "2: currency: did you mean 'USD'?",
        ),
    ],
)
def test_each_bad_key_is_located(old: str, new: str, where: str) -> None:
    assert old in GOOD
    with pytest.raises(RfpError) as caught:
        parse_rfp(GOOD.replace(old, new, 1), "rfp.yaml")
    assert f"rfp.yaml:{where}" in str(caught.value)


def test_a_second_pilot_of_the_same_provider_is_refused() -> None:
    text = GOOD.replace(
        "    name: NorthStar Fulfillment\n",
        "    name: NorthStar Fulfillment\n    pilot_provider: westcoast\n",
    )
    with pytest.raises(RfpError) as caught:
        parse_rfp(text, "rfp.yaml")
    assert "rfp.yaml:48: candidates[1].pilot_provider: provider 'westcoast' is already the " in (
        str(caught.value)
    )


def test_every_problem_is_reported_at_once() -> None:
    text = (
        GOOD.replace("weight: 30", "weight: 25")
        .replace("evidence: {accuracy: requested}", "evidence: {accuracy: proven}")
        .replace("      pick_pack: 2.45", "      pick_pak: 2.45")
    )
    with pytest.raises(RfpError) as caught:
        parse_rfp(text, "rfp.yaml")
    # The weights are checked across keys only once the rest is valid; the other two problems
    # (and the missing pick_pack that the typo leaves) are found in the same pass.
    lines = [str(issue) for issue in caught.value.errors]
    assert lines[0].startswith("rfp.yaml:49: candidates[1].evidence.accuracy: unknown evidence")
    assert any(
        line.startswith("rfp.yaml:50: candidates[1].rates.pick_pack: required") for line in lines
    )
    assert any(
        line.startswith("rfp.yaml:51: candidates[1].rates.pick_pak: unknown key") for line in lines
    )
    assert str(caught.value).startswith(f"{len(lines)} problems in rfp.yaml:")


def test_an_rfp_with_no_candidates_or_criteria() -> None:
    start = GOOD.index("candidates:")
    with pytest.raises(RfpError) as caught:
        parse_rfp(GOOD[:start] + "candidates: []\n", "rfp.yaml")
    assert "rfp.yaml:27: candidates: list at least one candidate" in str(caught.value)


def test_reading_a_missing_file_is_an_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError) as caught:
        load_rfp(tmp_path / "absent.yaml")
    assert isinstance(caught.value, RfpError)
    assert str(caught.value).startswith(f"{tmp_path / 'absent.yaml'}: cannot read the file")


def test_an_empty_file_and_bad_yaml(tmp_path: Path) -> None:
    with pytest.raises(RfpError, match="the RFP is empty"):
        parse_rfp("", "rfp.yaml")
    broken = tmp_path / "rfp.yaml"
    broken.write_text("name: [unclosed\n", encoding="utf-8")
    with pytest.raises(RfpError, match=r"rfp\.yaml:2: invalid YAML"):
        load_rfp(broken)


def test_the_model_round_trips_through_its_own_dump() -> None:
    rfp = parse_rfp(GOOD)
    again = Rfp.model_validate(rfp.model_dump(by_alias=True))
    assert again == rfp
