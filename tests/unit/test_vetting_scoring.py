"""The weighted scorecard, computed by hand: points, totals, standings, evidence, ties."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tallyclerk.vetting._rfp import Rfp, parse_rfp
from tallyclerk.vetting._scoring import (
    CandidateFacts,
    CandidateScore,
    capacity_fit,
    score_candidates,
)

RATES = """\
    rates:
      pick_pack: 2.50
      additional_unit: 0.50
      storage_per_pallet_month: 20
      receiving_per_unit: 0.20
      returns_per_unit: 3
      shipping_markup_pct: 0
"""

CRITERIA = """\
name: scoring by hand
currency: USD
risk: {cost_per_error: {reship: 10}, cost_per_late_order: 2}
criteria:
  - {id: accuracy, name: Order accuracy, weight: 40, measure: order_accuracy_rate,
     scale: {worst: 0.99, best: 1}}
  - {id: dock, name: Dock to stock, weight: 10, measure: dock_to_stock_hours,
     scale: {worst: 72, best: 24}}
  - {id: capacity, name: Peak capacity, weight: 10, rule: capacity_fit}
  - id: integration
    name: Integrations
    weight: 10
    rule: integration_fit
    requires: {edi: [940, 945], platforms: [shopify], api: true}
  - {id: cost, name: Cost, weight: 20, rule: cost}
  - {id: experience, name: Experience, weight: 10, rule: rating}
candidates:
"""

ALPHA = """\
  - id: alpha
    name: Alpha 3PL
    claims: {order_accuracy_rate: 0.998, dock_to_stock_hours: 24, orders_per_day: 400,
             peak_orders_per_day: 600}
    integrations: {edi: [940, 945], platforms: [Shopify], api: true}
    evidence: {accuracy: verified, dock: received, capacity: received, integration: verified}
    ratings: {experience: 4}
"""

BRAVO = """\
  - id: bravo
    name: Bravo 3PL
    claims: {order_accuracy_rate: 0.999, dock_to_stock_hours: 48, orders_per_day: 300}
    integrations: {edi: [940], platforms: [shopify], api: false}
    ratings: {experience: 2}
"""

CHARLIE = """\
  - id: charlie
    name: Charlie 3PL
    pilot_provider: westcoast
    claims: {order_accuracy_rate: 0.999}
    integrations: {edi: [940, 945, 846], api: true}
    evidence: {integration: received}
"""


def rfp_of(header: str, *candidates: str) -> Rfp:
    """An RFP of the header's criteria and the candidates, each given the same rate card."""
    return parse_rfp(header + "".join(block + RATES for block in candidates), "rfp.yaml")


def by_id(scores: list[CandidateScore]) -> dict[str, CandidateScore]:
    return {score.candidate_id: score for score in scores}


HAND_FACTS = {
    "alpha": CandidateFacts(
        "alpha",
        risk_adjusted_monthly=Decimal("10000"),
        monthly=Decimal("9800"),
        capacity_fit=1.0,
    ),
    "bravo": CandidateFacts("bravo", risk_adjusted_monthly=Decimal("8000"), capacity_fit=0.6),
    "charlie": CandidateFacts(
        "charlie",
        measured={"order_accuracy_rate": 0.995},
        risk_adjusted_monthly=Decimal("9000"),
    ),
}


def test_three_candidates_scored_by_hand() -> None:
    rfp = rfp_of(CRITERIA, ALPHA, BRAVO, CHARLIE)
    scores = score_candidates(rfp, HAND_FACTS)
    assert [s.candidate_id for s in scores] == ["alpha", "bravo", "charlie"]
    assert [s.rank for s in scores] == [1, 2, 3]
    alpha, bravo, charlie = scores

    # Alpha: every claim backed. Points = weight x raw x factor / 100.
    # accuracy: 0.998 on 0.99..1 -> raw 80, verified 1.0 -> 40 x 80 x 1 / 100 = 32
    # dock: 24 h on 72..24 -> raw 100, received 0.75 -> 10 x 100 x 0.75 / 100 = 7.5
    # capacity: fit 1.0 -> raw 100, received 0.75 -> 7.5
    # integration: 4 of 4 (940, 945, shopify, api) -> raw 100, verified -> 10
    # cost: 10000 against the cheapest 8000 -> raw 100 x 8000 / 10000 = 80 -> 20 x 0.8 = 16
    # experience: rated 4 -> raw 80 -> 8
    # total 32 + 7.5 + 7.5 + 10 + 16 + 8 = 81.0 -> excellent (80 and up)
    assert [round(c.points, 6) for c in alpha.criteria] == [32, 7.5, 7.5, 10, 16, 8]
    assert [round(c.raw or 0, 6) for c in alpha.criteria] == [80, 100, 100, 100, 80, 80]
    assert [c.evidence for c in alpha.criteria] == [
        "verified",
        "received",
        "received",
        "verified",
        "priced",
        "rated",
    ]
    assert (alpha.total, alpha.standing, alpha.consequence) == (
        81.0,
        "excellent",
        "shortlist for contract",
    )
    # Verified share: of the claim criteria's weight (40 + 10 + 10 + 10 = 70), accuracy and
    # integration are verified (40 + 10 = 50): 50 / 70.
    assert alpha.verified_share == pytest.approx(50 / 70)

    # Bravo: no evidence at all, so every claim keeps 0.4 of its score.
    # accuracy: 0.999 -> raw 90 -> 40 x 90 x 0.4 / 100 = 14.4
    # dock: 48 h -> raw 50 -> 10 x 50 x 0.4 / 100 = 2
    # capacity: fit 0.6 -> raw 60 -> 10 x 60 x 0.4 / 100 = 2.4
    # integration: 940 and shopify, not 945 nor an API: 2 of 4 -> raw 50 -> 2
    # cost: the cheapest -> raw 100 -> 20
    # experience: rated 2 -> raw 40 -> 4
    # total 14.4 + 2 + 2.4 + 2 + 20 + 4 = 44.8 -> very poor (below 50)
    assert [round(c.points, 6) for c in bravo.criteria] == [14.4, 2, 2.4, 2, 20, 4]
    assert {c.factor for c in bravo.criteria[:4]} == {0.4}
    assert (bravo.total, bravo.standing, bravo.consequence) == (44.8, "very poor", "reject")
    assert bravo.verified_share == 0

    # Charlie: the pilot measured 0.995 accuracy, which replaces the 0.999 claimed.
    # accuracy: 0.995 -> raw 50, measured counts in full -> 40 x 50 / 100 = 20
    # dock: no claim, no measure -> 0; capacity: none claimed -> 0
    # integration: 940, 945, api, not shopify: 3 of 4 -> raw 75, received -> 10 x 75 x 0.75
    #   / 100 = 5.625
    # cost: 100 x 8000 / 9000 = 88.889 -> 20 x 88.889 / 100 = 17.778
    # experience: not rated -> 0
    # total 20 + 5.625 + 17.7778 = 43.4028 -> 43.40
    points = [c.points for c in charlie.criteria]
    assert points == pytest.approx([20, 0, 0, 5.625, 20 * 8000 / 9000, 0])
    assert [c.raw for c in charlie.criteria][1:3] == [None, None]
    assert charlie.criteria[5].raw is None
    assert charlie.total == 43.40
    assert charlie.standing == "very poor"
    # Verified share: accuracy (40) measured, out of 70.
    assert charlie.verified_share == pytest.approx(40 / 70)


def test_reasons_name_the_figures() -> None:
    scores = by_id(score_candidates(rfp_of(CRITERIA, ALPHA, BRAVO, CHARLIE), HAND_FACTS))
    alpha = {c.criterion_id: c.reason for c in scores["alpha"].criteria}
    assert alpha["accuracy"] == (
        "Claimed 0.998 against worst 0.99, best 1: 80.0 of 100, evidence verified, counted in full."
    )
    assert alpha["dock"] == (
        "Claimed 24 against worst 72, best 24: 100.0 of 100, times 0.75 for evidence received."
    )
    assert alpha["cost"] == (
        "Risk-adjusted USD 10,000.00 a month (fees USD 9,800.00 + expected errors and late "
        "orders USD 200.00); the cheapest is USD 8,000.00 (Bravo 3PL): "
        "100 x 8000.00 / 10000.00 = 80.0 of 100."
    )
    assert alpha["experience"] == "Rated 4 of 5 by the brand: 80.0 of 100."
    bravo = {c.criterion_id: c.reason for c in scores["bravo"].criteria}
    assert bravo["integration"] == (
        "Offers 2 of the 4 required integrations (missing EDI 945 and an API): "
        "50.0 of 100, times 0.4 for evidence none."
    )
    assert bravo["cost"] == "Risk-adjusted USD 8,000.00 a month; the cheapest: 100 of 100."
    charlie = {c.criterion_id: c.reason for c in scores["charlie"].criteria}
    assert charlie["accuracy"] == (
        "Measured 0.995 in the pilot (westcoast) against worst 0.99, best 1: 50.0 of 100, "
        "counted in full."
    )
    assert charlie["dock"] == "No claim and no pilot measure of dock_to_stock_hours: 0."
    assert charlie["capacity"] == "No capacity claimed: 0."
    assert charlie["experience"] == "Not rated by the brand: 0."


def test_reasons_give_the_biggest_gains_and_losses_against_the_leader() -> None:
    scores = by_id(score_candidates(rfp_of(CRITERIA, ALPHA, BRAVO, CHARLIE), HAND_FACTS))
    # Bravo against Alpha, per criterion: accuracy 14.4 - 32 = -17.6, dock 2 - 7.5 = -5.5,
    # capacity 2.4 - 7.5 = -5.1, integration 2 - 10 = -8, cost 20 - 16 = +4, experience
    # 4 - 8 = -4; 81.0 - 44.8 = 36.2 behind.
    assert scores["bravo"].reasons == (
        "Ranked 2 of 3 with 44.80 points, 36.20 behind Alpha 3PL.",
        "Gains most against Alpha 3PL on Cost (+4.00).",
        "Loses most against Alpha 3PL on Order accuracy (-17.60) and Integrations (-8.00).",
    )
    # The leader is compared with the runner-up.
    assert scores["alpha"].reasons == (
        "Ranked 1 of 3 with 81.00 points, 36.20 ahead of Bravo 3PL.",
        "Gains most against Bravo 3PL on Order accuracy (+17.60) and Integrations (+8.00).",
        "Loses most against Bravo 3PL on Cost (-4.00).",
    )


def test_a_missing_forecast_or_cost_scores_nothing_and_says_why() -> None:
    rfp = rfp_of(CRITERIA, ALPHA, BRAVO)
    scores = by_id(score_candidates(rfp, {"bravo": CandidateFacts("bravo")}))
    capacity = scores["alpha"].criteria[2]
    assert (capacity.raw, capacity.points) == (None, 0)
    assert "run tallyclerk forecast" in capacity.reason
    cost = scores["bravo"].criteria[4]
    assert (cost.raw, cost.points, cost.reason) == (
        None,
        0,
        "No cost-to-serve for this candidate: 0.",
    )


def test_empty_evidence_never_scores_full_marks() -> None:
    perfect = """\
  - id: perfect
    name: Perfect Claims Inc
    claims: {order_accuracy_rate: 1, dock_to_stock_hours: 12, orders_per_day: 5000}
    integrations: {edi: [940, 945], platforms: [shopify], api: true}
    ratings: {experience: 5}
"""
    facts = {
        "perfect": CandidateFacts(
            "perfect", risk_adjusted_monthly=Decimal("5000"), capacity_fit=1.0
        )
    }
    (score,) = score_candidates(rfp_of(CRITERIA, perfect), facts)
    claims = [c for c in score.criteria if c.criterion_id not in {"cost", "experience"}]
    assert [c.raw for c in claims] == [100, 100, 100, 100]  # every claim at its best
    for criterion in claims:
        assert criterion.evidence == "none"
        assert criterion.points < criterion.weight
    # 40 x 0.4 + 10 x 0.4 + 10 x 0.4 + 10 x 0.4 + 20 (cost) + 10 (rating) = 58
    assert score.total == 58.0
    # Even with bare claims worth 0.99 (the most an RFP allows), the total stays below 100:
    # 70 x 0.99 + 30 = 99.3.
    generous = CRITERIA.replace(
        "candidates:\n",
        "evidence_weights: {none: 0.99, requested: 0.99, received: 0.99}\ncandidates:\n",
    )
    (score,) = score_candidates(rfp_of(generous, perfect), facts)
    assert score.total == 99.3


def test_measured_pilot_figures_override_claims() -> None:
    rfp = rfp_of(CRITERIA, CHARLIE)
    (claimed,) = score_candidates(rfp, {})
    accuracy = claimed.criteria[0]
    # The claim alone: 0.999 -> raw 90, no evidence -> 40 x 90 x 0.4 / 100 = 14.4
    assert (accuracy.value, accuracy.evidence, accuracy.factor) == (0.999, "none", 0.4)
    assert accuracy.points == pytest.approx(14.4)
    facts = {
        "charlie": CandidateFacts(
            "charlie", measured={"order_accuracy_rate": 0.993, "dock_to_stock_hours": 36}
        )
    }
    (measured,) = score_candidates(rfp, facts)
    accuracy, dock = measured.criteria[:2]
    # The pilot: 0.993 -> raw 30, counted in full -> 40 x 30 / 100 = 12 (below the claim's
    # 14.4: a measured shortfall is not hidden by a rosier claim).
    assert (accuracy.value, accuracy.evidence, accuracy.factor) == (0.993, "measured", 1.0)
    assert accuracy.points == pytest.approx(12)
    # A measure the candidate never claimed is still scored from the pilot: 36 h -> raw 75.
    assert (dock.value, dock.evidence) == (36, "measured")
    assert dock.points == pytest.approx(7.5)


TIE_HEADER = """\
name: ties
currency: USD
risk: {cost_per_error: {reship: 10}, cost_per_late_order: 2}
criteria:
  - {id: accuracy, name: Order accuracy, weight: 50, measure: order_accuracy_rate,
     scale: {worst: 0.99, best: 1}}
  - {id: cost, name: Cost, weight: 50, rule: cost}
candidates:
"""


def test_a_tie_is_broken_by_lower_risk_adjusted_cost() -> None:
    # zulu: 0.996 -> raw 60 -> 30, cheapest -> 50: total 80.
    # yankee: 0.998 -> raw 80 -> 40, 100 x 8000 / 10000 = 80 -> 40: total 80.
    zulu = "  - {id: zulu, name: Zulu, claims: {order_accuracy_rate: 0.996},\n"
    zulu += "     evidence: {accuracy: verified}}\n"
    yankee = "  - {id: yankee, name: Yankee, claims: {order_accuracy_rate: 0.998},\n"
    yankee += "     evidence: {accuracy: verified}}\n"
    text = TIE_HEADER + zulu + yankee
    text = text.replace("verified}}", "verified},\n     rates: {" + _inline_rates() + "}}")
    rfp = parse_rfp(text)
    facts = {
        "zulu": CandidateFacts("zulu", risk_adjusted_monthly=Decimal("8000")),
        "yankee": CandidateFacts("yankee", risk_adjusted_monthly=Decimal("10000")),
    }
    first, second = score_candidates(rfp, facts)
    assert (first.total, second.total) == (80.0, 80.0)
    # By id, yankee would come first; the lower cost puts zulu ahead.
    assert (first.candidate_id, second.candidate_id) == ("zulu", "yankee")
    assert first.reasons[-1] == (
        "Tied with Yankee at 80.00 points; ranked above it on lower risk-adjusted cost "
        "(USD 8,000.00 a month for Zulu against USD 10,000.00)."
    )
    assert second.reasons[-1] == (
        "Tied with Zulu at 80.00 points; ranked below it on lower risk-adjusted cost "
        "(USD 8,000.00 a month for Zulu against USD 10,000.00)."
    )


def test_a_tie_at_equal_cost_is_broken_by_verified_evidence() -> None:
    header = TIE_HEADER.replace(
        "  - {id: cost, name: Cost, weight: 50, rule: cost}",
        "  - {id: on_time, name: Ships on time, weight: 50, measure: ship_on_time_rate,\n"
        "     scale: {worst: 0.95, best: 1}}",
    )
    rates = f"rates: {{{_inline_rates()}}}"
    # zulu: accuracy 0.9975 -> raw 75, verified -> 37.5; on time 1 -> raw 100, received 0.75
    #   -> 37.5: total 75, half the claimed weight verified.
    # alpha: both raw 100, both received -> 37.5 + 37.5 = 75, nothing verified.
    zulu = (
        "  - {id: zulu, name: Zulu, claims: {order_accuracy_rate: 0.9975, ship_on_time_rate: 1},"
        f"\n     evidence: {{accuracy: verified, on_time: received}}, {rates}}}\n"
    )
    alpha = (
        "  - {id: alpha, name: Alpha, claims: {order_accuracy_rate: 1, ship_on_time_rate: 1},"
        f"\n     evidence: {{accuracy: received, on_time: received}}, {rates}}}\n"
    )
    rfp = parse_rfp(header + alpha + zulu)
    first, second = score_candidates(rfp, {})
    assert (first.total, second.total) == (75.0, 75.0)
    assert (first.candidate_id, second.candidate_id) == ("zulu", "alpha")
    assert (first.verified_share, second.verified_share) == (0.5, 0.0)
    assert first.reasons[-1] == (
        "Tied with Alpha at 75.00 points; ranked above it on more verified evidence (50% of "
        "the claimed criteria's weight verified or measured for Zulu against 0%)."
    )


def test_a_tie_on_everything_is_broken_by_id_whatever_the_order_in_the_file() -> None:
    twin = (
        "  - {id: ID, name: NAME, claims: {order_accuracy_rate: 0.995}, "
        f"rates: {{{_inline_rates()}}}}}\n"
    )
    bravo = twin.replace("ID", "bravo").replace("NAME", "Bravo")
    alpha = twin.replace("ID", "alpha").replace("NAME", "Alpha")
    facts = {
        "alpha": CandidateFacts("alpha", risk_adjusted_monthly=Decimal("9000")),
        "bravo": CandidateFacts("bravo", risk_adjusted_monthly=Decimal("9000")),
    }
    # Both: 0.995 -> raw 50, no evidence -> 50 x 50 x 0.4 / 100 = 10; equal cost -> 50: 60.
    for order in ((bravo, alpha), (alpha, bravo)):
        first, second = score_candidates(parse_rfp(TIE_HEADER + "".join(order)), facts)
        assert (first.candidate_id, second.candidate_id) == ("alpha", "bravo")
        assert (first.rank, second.rank) == (1, 2)
        assert second.reasons[-1] == (
            "Tied with Alpha at 60.00 points; ranked below it on id, as cost and evidence are "
            "equal too ('alpha' before 'bravo')."
        )


def test_a_known_cost_ranks_before_none_at_the_same_total() -> None:
    header = TIE_HEADER.replace("weight: 50, measure", "weight: 100, measure").replace(
        "  - {id: cost, name: Cost, weight: 50, rule: cost}\n", ""
    )
    twin = (
        "  - {id: ID, name: NAME, claims: {order_accuracy_rate: 0.995}, "
        f"rates: {{{_inline_rates()}}}}}\n"
    )
    rfp = parse_rfp(
        header
        + twin.replace("ID", "alpha").replace("NAME", "Alpha")
        + twin.replace("ID", "bravo").replace("NAME", "Bravo")
    )
    facts = {"bravo": CandidateFacts("bravo", risk_adjusted_monthly=Decimal("7000"))}
    # Both: 0.995 -> raw 50, no evidence -> 100 x 50 x 0.4 / 100 = 20.
    first, second = score_candidates(rfp, facts)
    assert (first.candidate_id, second.candidate_id) == ("bravo", "alpha")
    assert first.reasons[-1] == (
        "Tied with Alpha at 20.00 points; ranked above it on risk-adjusted cost: Bravo has one "
        "(USD 7,000.00 a month), Alpha none."
    )


def test_capacity_fit_of_a_claim_against_the_forecast_peak() -> None:
    rfp = rfp_of(CRITERIA, ALPHA, BRAVO, CHARLIE)
    # Alpha claims a peak of 600: it covers a 500-order peak day in full.
    assert capacity_fit(rfp.candidate("alpha"), 500) == 1.0
    # Bravo claims only 300 a day (no peak figure): 300 / 500 = 0.6.
    assert capacity_fit(rfp.candidate("bravo"), 500) == pytest.approx(0.6)
    assert capacity_fit(rfp.candidate("bravo"), 0) == 1.0
    assert capacity_fit(rfp.candidate("charlie"), 500) is None


def test_facts_for_an_unknown_candidate_are_refused() -> None:
    with pytest.raises(ValueError, match="not in the RFP: delta"):
        score_candidates(rfp_of(CRITERIA, ALPHA), {"delta": CandidateFacts("delta")})
    with pytest.raises(ValueError, match="facts of 'bravo' filed under 'alpha'"):
        score_candidates(rfp_of(CRITERIA, ALPHA, BRAVO), {"alpha": CandidateFacts("bravo")})


def test_a_single_candidate_and_the_standing_bands() -> None:
    (score,) = score_candidates(rfp_of(CRITERIA, ALPHA), {"alpha": HAND_FACTS["alpha"]})
    # Alone, alpha is the cheapest: cost 20 instead of 16, so 81 + 4 = 85.
    assert score.total == 85.0
    assert score.reasons == ("The only candidate: 85.00 points.",)
    assert (score.rank, score.standing) == (1, "excellent")


def _inline_rates() -> str:
    return (
        "pick_pack: 2.5, additional_unit: 0.5, storage_per_pallet_month: 20, "
        "receiving_per_unit: 0.2, returns_per_unit: 3, shipping_markup_pct: 0"
    )
