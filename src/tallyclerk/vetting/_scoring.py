"""The weighted scorecard: every candidate of an RFP scored, ranked and explained.

Pure functions over the RFP and the facts the service gathers for each candidate (what its
pilot measured, its cost-to-serve, how its capacity fits the forecast peak). Each criterion
scores 0 to 100 (`raw`); a claim keeps only the share its evidence earns (`factor`); the
points are weight x raw x factor / 100, and the total is their sum, out of 100. The rules are
in docs/vetting.md.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from tallyclerk.vetting._rfp import Candidate, Criterion, Rfp

ScoreEvidence = Literal["none", "requested", "received", "verified", "measured", "priced", "rated"]
"""What a criterion's score rests on: an evidence level of a claim, a pilot's measure, the
cost-to-serve ('priced') or the brand's own rating ('rated')."""

MEASURED_FACTOR = 1.0
"""A figure measured in the brand's own store during a pilot counts in full."""
TOTAL_DECIMALS = 2
"""Totals are rounded to this many decimals; equal rounded totals are a tie."""
_STRONG_EVIDENCE = frozenset({"verified", "measured"})
_EPSILON = 0.005  # half a hundredth of a point: a smaller gap is shown as none


@dataclass(frozen=True)
class CandidateFacts:
    """What the store and the cost-to-serve say of one candidate.

    measured: KPI values measured in the candidate's pilot, by measure name (they replace the
    claims and count in full); risk_adjusted_monthly / monthly: its cost-to-serve per average
    month, with and without the expected cost of errors and late orders; capacity_fit: the
    share (0 to 1) of the forecast peak demand its claimed capacity covers (None: no forecast).
    """

    candidate_id: str
    measured: Mapping[str, float] = field(default_factory=dict)
    risk_adjusted_monthly: Decimal | None = None
    monthly: Decimal | None = None
    capacity_fit: float | None = None


@dataclass(frozen=True)
class CriterionScore:
    """One criterion of one candidate: the 0..100 score, the evidence behind it, the points."""

    criterion_id: str
    name: str
    weight: float
    raw: float | None  # 0..100; None when there was nothing to score
    evidence: ScoreEvidence
    factor: float  # the share of `raw` the evidence keeps
    points: float  # weight x raw x factor / 100
    reason: str  # a plain sentence: the figure used and how it scored
    value: float | None = None  # the figure scored (a measure, a fit, a rating), if any


@dataclass(frozen=True)
class CandidateScore:
    """One candidate's place on the scorecard, with the reasons for it."""

    candidate_id: str
    name: str
    total: float  # 0..100, rounded to TOTAL_DECIMALS
    standing: str
    consequence: str
    rank: int  # 1 for the leader; no two candidates share a rank
    criteria: tuple[CriterionScore, ...]
    reasons: tuple[str, ...]  # the biggest gains and losses against the leader; tie-breaks
    verified_share: float = 0.0  # share of the claim criteria's weight verified or measured
    risk_adjusted_monthly: Decimal | None = None


def capacity_fit(candidate: Candidate, peak_demand: float) -> float | None:
    """The share (0 to 1) of a peak day's forecast orders the candidate's claimed capacity covers.

    The claimed peak capacity is used, else the everyday one; None when it claims neither.
    """
    capacity = candidate.peak_orders_per_day or candidate.orders_per_day
    if capacity is None:
        return None
    if peak_demand <= 0:
        return 1.0
    return min(1.0, capacity / peak_demand)


def score_candidates(rfp: Rfp, facts: Mapping[str, CandidateFacts]) -> list[CandidateScore]:
    """Score every candidate of the RFP and rank them, the leader first.

    A candidate without facts is scored on its claims alone (no pilot, no cost, no forecast).
    Equal totals are ordered by lower risk-adjusted cost, then more verified evidence, then id.
    """
    unknown = sorted(set(facts) - {candidate.id for candidate in rfp.candidates})
    if unknown:
        raise ValueError(f"facts given for candidates not in the RFP: {', '.join(unknown)}")
    for key, known in facts.items():
        if known.candidate_id != key:
            raise ValueError(f"facts of {known.candidate_id!r} filed under {key!r}")
    cheapest = _cheapest(rfp, facts)
    scored = [
        _Draft.of(rfp, candidate, facts.get(candidate.id, CandidateFacts(candidate.id)), cheapest)
        for candidate in rfp.candidates
    ]
    ranked = sorted(scored, key=lambda draft: draft.order_key)
    return [_finish(rfp, draft, rank, ranked) for rank, draft in enumerate(ranked, start=1)]


# --- one candidate -------------------------------------------------------------------------


@dataclass(frozen=True)
class _Draft:
    """A candidate scored but not yet ranked."""

    candidate: Candidate
    criteria: tuple[CriterionScore, ...]
    total: float
    verified_share: float
    cost: Decimal | None

    @classmethod
    def of(
        cls,
        rfp: Rfp,
        candidate: Candidate,
        facts: CandidateFacts,
        cheapest: tuple[Decimal, str] | None,
    ) -> _Draft:
        scores = tuple(
            _score_criterion(rfp, criterion, candidate, facts, cheapest)
            for criterion in rfp.criteria
        )
        return cls(
            candidate=candidate,
            criteria=scores,
            total=round(sum(score.points for score in scores), TOTAL_DECIMALS),
            verified_share=round(_verified_share(rfp.criteria, scores), 9),
            cost=facts.risk_adjusted_monthly,
        )

    @property
    def order_key(self) -> tuple[float, int, Decimal, float, str]:
        """Higher total; then lower cost (a known cost before none); more evidence; id."""
        return (
            -self.total,
            0 if self.cost is not None else 1,
            self.cost if self.cost is not None else Decimal("0"),
            -self.verified_share,
            self.candidate.id,
        )


def _cheapest(rfp: Rfp, facts: Mapping[str, CandidateFacts]) -> tuple[Decimal, str] | None:
    """The lowest risk-adjusted monthly cost among the candidates, and whose it is."""
    priced = [
        (known.risk_adjusted_monthly, rfp.candidate(candidate_id).name)
        for candidate_id, known in sorted(facts.items())
        if known.risk_adjusted_monthly is not None
    ]
    if not priced:
        return None
    return min(priced, key=lambda item: item[0])


def _score_criterion(
    rfp: Rfp,
    criterion: Criterion,
    candidate: Candidate,
    facts: CandidateFacts,
    cheapest: tuple[Decimal, str] | None,
) -> CriterionScore:
    if criterion.rule is None:
        return _score_measure(rfp, criterion, candidate, facts)
    if criterion.rule == "capacity_fit":
        return _score_capacity(rfp, criterion, candidate, facts)
    if criterion.rule == "integration_fit":
        return _score_integration(rfp, criterion, candidate)
    if criterion.rule == "cost":
        return _score_cost(rfp, criterion, facts, cheapest)
    return _score_rating(criterion, candidate)


def _score(
    criterion: Criterion,
    raw: float | None,
    evidence: ScoreEvidence,
    factor: float,
    reason: str,
    value: float | None = None,
) -> CriterionScore:
    weight = float(criterion.weight)
    points = 0.0 if raw is None else weight * raw * factor / 100
    return CriterionScore(
        criterion_id=criterion.id,
        name=criterion.name,
        weight=weight,
        raw=raw,
        evidence=evidence,
        factor=factor,
        points=points,
        reason=reason,
        value=value,
    )


def _claimed(rfp: Rfp, criterion: Criterion, candidate: Candidate) -> tuple[ScoreEvidence, float]:
    level = candidate.evidence_for(criterion.id)
    return level, rfp.evidence_weights.factor(level)


def _kept(raw: float, evidence: str, factor: float) -> str:
    """How much of a claim's score its evidence keeps, as the end of a reason."""
    if factor == 1:
        return f"{raw:.1f} of 100, evidence {evidence}, counted in full"
    return f"{raw:.1f} of 100, times {factor:g} for evidence {evidence}"


def _score_measure(
    rfp: Rfp, criterion: Criterion, candidate: Candidate, facts: CandidateFacts
) -> CriterionScore:
    measure, scale = criterion.measure, criterion.scale
    assert measure is not None  # guaranteed by validation
    assert scale is not None
    bounds = f"worst {scale.worst:g}, best {scale.best:g}"
    measured = facts.measured.get(measure)
    if measured is not None:
        raw = scale.score(measured)
        pilot = candidate.pilot_provider or "the pilot"
        return _score(
            criterion,
            raw,
            "measured",
            MEASURED_FACTOR,
            f"Measured {measured:g} in the pilot ({pilot}) against {bounds}: "
            f"{raw:.1f} of 100, counted in full.",
            measured,
        )
    evidence, factor = _claimed(rfp, criterion, candidate)
    claimed = candidate.claim(measure)
    if claimed is None:
        return _score(
            criterion, None, evidence, factor, f"No claim and no pilot measure of {measure}: 0."
        )
    raw = scale.score(claimed)
    return _score(
        criterion,
        raw,
        evidence,
        factor,
        f"Claimed {claimed:g} against {bounds}: {_kept(raw, evidence, factor)}.",
        claimed,
    )


def _score_capacity(
    rfp: Rfp, criterion: Criterion, candidate: Candidate, facts: CandidateFacts
) -> CriterionScore:
    evidence, factor = _claimed(rfp, criterion, candidate)
    if candidate.orders_per_day is None and candidate.peak_orders_per_day is None:
        return _score(criterion, None, evidence, factor, "No capacity claimed: 0.")
    fit = facts.capacity_fit
    if fit is None:
        return _score(
            criterion,
            None,
            evidence,
            factor,
            "No forecast of peak demand to compare the claimed capacity with "
            "(run tallyclerk forecast): 0.",
        )
    fit = min(1.0, max(0.0, fit))
    raw = 100.0 * fit
    return _score(
        criterion,
        raw,
        evidence,
        factor,
        f"The claimed capacity covers {fit:.0%} of the forecast peak demand: "
        f"{_kept(raw, evidence, factor)}.",
        fit,
    )


def _score_integration(rfp: Rfp, criterion: Criterion, candidate: Candidate) -> CriterionScore:
    requires = criterion.requires
    assert requires is not None  # guaranteed by validation
    evidence, factor = _claimed(rfp, criterion, candidate)
    required = requires.items()
    missing = requires.missing_from(candidate.integrations)
    met = len(required) - len(missing)
    raw = 100.0 * met / len(required)
    lacking = f" (missing {_listed(missing)})" if missing else ""
    return _score(
        criterion,
        raw,
        evidence,
        factor,
        f"Offers {met} of the {len(required)} required integrations{lacking}: "
        f"{_kept(raw, evidence, factor)}.",
        met / len(required),
    )


def _score_cost(
    rfp: Rfp,
    criterion: Criterion,
    facts: CandidateFacts,
    cheapest: tuple[Decimal, str] | None,
) -> CriterionScore:
    theirs = facts.risk_adjusted_monthly
    if theirs is None or cheapest is None:
        return _score(criterion, None, "priced", 1.0, "No cost-to-serve for this candidate: 0.")
    lowest, lowest_name = cheapest
    raw = 100.0 if theirs <= lowest else float(100 * lowest / theirs)
    money = _money(rfp.currency, theirs)
    split = ""
    if facts.monthly is not None:
        risk = theirs - facts.monthly
        split = (
            f" (fees {_money(rfp.currency, facts.monthly)} + expected errors and late orders "
            f"{_money(rfp.currency, risk)})"
        )
    if theirs <= lowest:
        compared = "the cheapest: 100 of 100"
    else:
        compared = (
            f"the cheapest is {_money(rfp.currency, lowest)} ({lowest_name}): "
            f"100 x {_plain(lowest)} / {_plain(theirs)} = {raw:.1f} of 100"
        )
    return _score(
        criterion,
        raw,
        "priced",
        1.0,
        f"Risk-adjusted {money} a month{split}; {compared}.",
        float(theirs),
    )


def _score_rating(criterion: Criterion, candidate: Candidate) -> CriterionScore:
    rating = candidate.ratings.get(criterion.id)
    if rating is None:
        return _score(criterion, None, "rated", 1.0, "Not rated by the brand: 0.")
    raw = rating / 5 * 100
    return _score(
        criterion,
        raw,
        "rated",
        1.0,
        f"Rated {rating:g} of 5 by the brand: {raw:.1f} of 100.",
        rating,
    )


def _verified_share(criteria: Sequence[Criterion], scores: Sequence[CriterionScore]) -> float:
    """The share of the claim criteria's weight whose evidence is verified or measured."""
    weights = [
        (float(criterion.weight), score.evidence)
        for criterion, score in zip(criteria, scores, strict=True)
        if criterion.takes_evidence
    ]
    total = sum(weight for weight, _ in weights)
    if not total:
        return 0.0
    return sum(weight for weight, evidence in weights if evidence in _STRONG_EVIDENCE) / total


# --- ranking and reasons -------------------------------------------------------------------


def _finish(rfp: Rfp, draft: _Draft, rank: int, ranked: Sequence[_Draft]) -> CandidateScore:
    band = rfp.standing(draft.total)
    reasons = _gap_reasons(draft, rank, ranked)
    if rank > 1 and ranked[rank - 2].total == draft.total:
        reasons.append(_tie_reason(rfp, ranked[rank - 2], draft, above=False))
    if rank < len(ranked) and ranked[rank].total == draft.total:
        reasons.append(_tie_reason(rfp, draft, ranked[rank], above=True))
    return CandidateScore(
        candidate_id=draft.candidate.id,
        name=draft.candidate.name,
        total=draft.total,
        standing=band.name,
        consequence=band.consequence,
        rank=rank,
        criteria=draft.criteria,
        reasons=tuple(reasons),
        verified_share=draft.verified_share,
        risk_adjusted_monthly=draft.cost,
    )


def _gap_reasons(draft: _Draft, rank: int, ranked: Sequence[_Draft]) -> list[str]:
    """Where the candidate gains and loses points against the leader (the leader: the next)."""
    count = len(ranked)
    if count == 1:
        return [f"The only candidate: {draft.total:.2f} points."]
    if rank == 1:
        other = ranked[1]
        gap = draft.total - other.total
        head = (
            f"Ranked 1 of {count} with {draft.total:.2f} points, "
            f"{gap:.2f} ahead of {other.candidate.name}."
        )
        against = f"against {other.candidate.name}"
    else:
        other = ranked[0]
        gap = other.total - draft.total
        head = (
            f"Ranked {rank} of {count} with {draft.total:.2f} points, "
            f"{gap:.2f} behind {other.candidate.name}."
        )
        against = f"against {other.candidate.name}"
    diffs = [
        (mine.name, mine.points - theirs.points)
        for mine, theirs in zip(draft.criteria, other.criteria, strict=True)
    ]
    gains = sorted((d for d in diffs if d[1] >= _EPSILON), key=lambda d: -d[1])[:2]
    losses = sorted((d for d in diffs if d[1] <= -_EPSILON), key=lambda d: d[1])[:2]
    reasons = [head]
    if gains:
        reasons.append(f"Gains most {against} on {_listed([_signed(d) for d in gains])}.")
    if losses:
        reasons.append(f"Loses most {against} on {_listed([_signed(d) for d in losses])}.")
    return reasons


def _tie_reason(rfp: Rfp, first: _Draft, second: _Draft, *, above: bool) -> str:
    """Why `first` ranks above `second` at the same total, from the point of view of one."""
    me, them = (first, second) if above else (second, first)
    where = "above" if above else "below"
    head = f"Tied with {them.candidate.name} at {me.total:.2f} points; ranked {where} it on"
    if first.cost is not None and second.cost is None:
        return (
            f"{head} risk-adjusted cost: {first.candidate.name} has one "
            f"({_money(rfp.currency, first.cost)} a month), {second.candidate.name} none."
        )
    if first.cost is not None and second.cost is not None and first.cost != second.cost:
        return (
            f"{head} lower risk-adjusted cost ({_money(rfp.currency, first.cost)} a month "
            f"for {first.candidate.name} against {_money(rfp.currency, second.cost)})."
        )
    if first.verified_share != second.verified_share:
        return (
            f"{head} more verified evidence ({first.verified_share:.0%} of the claimed "
            f"criteria's weight verified or measured for {first.candidate.name} against "
            f"{second.verified_share:.0%})."
        )
    return (
        f"{head} id, as cost and evidence are equal too "
        f"('{first.candidate.id}' before '{second.candidate.id}')."
    )


# --- wording -------------------------------------------------------------------------------


def _signed(diff: tuple[str, float]) -> str:
    name, points = diff
    return f"{name} ({points:+.2f})"


def _listed(items: Sequence[str]) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


def _money(currency: str, amount: Decimal) -> str:
    return f"{currency} {amount:,.2f}"


def _plain(amount: Decimal) -> str:
    return f"{amount:.2f}"
