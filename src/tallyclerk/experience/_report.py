"""The customer-experience report: perfect orders, late deliveries, damage, mis-ships,
feedback and audits per provider, each with the orders behind it.

Catalogue KPIs (perfect_order_rate, delivery_on_time_rate, damage_free_rate,
order_accuracy_rate) are read from `metrics.compute` over the period's days, so these
figures are the scorecard's. Their breakdowns (failure reasons, causes, routes) come from
the same item expressions the KPIs aggregate, filtered to the KPI's own period dates.

Everything bulk runs in the engine: the breakdowns are one long table of flagged rows
(provider, section, key, order, record) that is counted, and whose ids are capped per
figure, in SQL. Python only reads the summaries and the capped id lists.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date

import ibis
import ibis.expr.types as ir

from tallyclerk.domain import FeedbackTag
from tallyclerk.errors import InputError
from tallyclerk.experience._model import (
    TOTAL,
    AuditItem,
    Audits,
    Breakdown,
    Damage,
    Delivery,
    ExperienceReport,
    Feedback,
    Ids,
    MisShip,
    PerfectOrder,
    ProviderExperience,
    Rate,
)
from tallyclerk.metrics import BRAND_FACILITY, MetricContext, compute
from tallyclerk.metrics._accuracy import (
    has_tag,
    order_accuracy_items,
    picking_errors,
    released_orders,
)
from tallyclerk.metrics._delivery import (
    damage_free_items,
    damage_reports,
    delivery_lateness_items,
    perfect_order_facts,
)
from tallyclerk.metrics._orders import union_all

ID_LIMIT = 1000  # ids kept per figure; the total count is always given

PERFECT = "perfect_order_rate"
ON_TIME = "delivery_on_time_rate"
DAMAGE_FREE = "damage_free_rate"
ACCURACY = "order_accuracy_rate"
KPIS = (PERFECT, ON_TIME, DAMAGE_FREE, ACCURACY)

# section -> the keys of its breakdown rows (the first is the headline count)
PERFECT_REASONS = ("late_delivery", "not_complete", "picking_error", "damaged")
LATE_CAUSES = ("late_3pl", "late_carrier")
DAMAGE_ROUTES = ("by_return", "by_feedback")
MISSHIP_ROUTES = ("by_lines", "by_return", "by_feedback")
TAGS = tuple(str(t) for t in FeedbackTag)

_Key = tuple[str | None, str, str]  # provider, section, key


def _long(
    base: ir.Table,
    section: str,
    keys: Sequence[str],
    *,
    record: str | None = None,
) -> list[ir.Table]:
    """Unpivot a section's boolean key columns into the long table's flagged rows:
    provider_id, section, key, order_id, record_id (one row per true flag)."""
    parts = []
    for key in keys:
        kept = base.filter(base[key])
        parts.append(
            kept.select(
                provider_id=kept.provider_id.cast("string"),
                section=ibis.literal(section).cast("string"),
                key=ibis.literal(key).cast("string"),
                order_id=kept.order_id.cast("string"),
                record_id=(kept[record] if record else ibis.null()).cast("string"),
            )
        )
    return parts


def _in_period(column: ir.DateValue, start: date, end: date) -> ir.BooleanValue:
    return (column >= start) & (column <= end)


def _miss(hit: ir.BooleanValue) -> ir.BooleanValue:
    """Not in a KPI's numerator (a null hit is not counted there either)."""
    return ~hit.fill_null(False)


def perfect_order_failures(ctx: MetricContext, start: date, end: date) -> ir.Table:
    """perfect_order_rate's orders of the period (promised date) with a flag per failure.

    Columns: provider_id, order_id, failed, late_delivery, not_complete, picking_error,
    damaged. An order may fail several components.
    """
    facts = perfect_order_facts(ctx)
    facts = facts.filter(_in_period(facts.promised_date, start, end))
    on_time = facts.on_time.fill_null(False)
    perfect = on_time & facts.complete & ~facts.picking_error & ~facts.damaged
    return facts.select(
        provider_id=facts.provider_id,
        order_id=facts.order_id,
        failed=~perfect,
        late_delivery=~on_time,
        not_complete=~facts.complete,
        picking_error=facts.picking_error,
        damaged=facts.damaged,
    )


def late_deliveries(ctx: MetricContext, start: date, end: date) -> ir.Table:
    """delivery_on_time_rate's orders of the period (promised date) with who caused lateness.

    Columns: provider_id, order_id, late, late_3pl (also shipped late), late_carrier.
    """
    items = delivery_lateness_items(ctx)
    items = items.filter(_in_period(items.period_date, start, end))
    late = items.late.fill_null(True)  # as the KPI: a null hit is a miss
    return items.select(
        provider_id=items.provider_id,
        order_id=items.item_id,
        late=late,
        late_3pl=late & items.shipped_late,
        late_carrier=late & ~items.shipped_late,
    )


def damaged_deliveries(ctx: MetricContext, start: date, end: date) -> ir.Table:
    """damage_free_rate's misses of the period (delivery date) with how damage was reported.

    Columns: provider_id, order_id, damaged (always true), by_return, by_feedback.
    """
    items = damage_free_items(ctx)
    items = items.filter(_in_period(items.period_date, start, end) & _miss(items.hit))
    reports = damage_reports(ctx)
    reports = reports.select(
        _order=reports.order_id, _ret=reports.by_return, _fb=reports.by_feedback
    )
    joined = items.left_join(reports, items.item_id == reports._order)
    return joined.select(
        provider_id=joined.provider_id,
        order_id=joined.item_id,
        damaged=ibis.literal(True),
        by_return=joined._ret.fill_null(False),
        by_feedback=joined._fb.fill_null(False),
    )


def misshipped_orders(ctx: MetricContext, start: date, end: date) -> ir.Table:
    """order_accuracy_rate's misses of the period (completion date) with each error route.

    Columns: provider_id, order_id, misshipped (always true), by_lines, by_return,
    by_feedback.
    """
    items = order_accuracy_items(ctx)
    items = items.filter(_in_period(items.period_date, start, end) & _miss(items.hit))
    errors = picking_errors(ctx)
    errors = errors.select(
        _order=errors.order_id,
        _lines=errors.by_lines,
        _ret=errors.by_return,
        _fb=errors.by_feedback,
    )
    joined = items.left_join(errors, items.item_id == errors._order)
    return joined.select(
        provider_id=joined.provider_id,
        order_id=joined.item_id,
        misshipped=ibis.literal(True),
        by_lines=joined._lines.fill_null(False),
        by_return=joined._ret.fill_null(False),
        by_feedback=joined._fb.fill_null(False),
    )


def feedback_in_period(ctx: MetricContext, start: date, end: date) -> ir.Table:
    """Feedback received by the clock on brand-local dates start..end, with its provider.

    Columns: feedback_id, order_id, provider_id (the provider the order was released to;
    null when the order is unknown or was never released), received_date, score, tags,
    and one boolean column per tag (late, damaged, wrong_item, missing_item, packaging).
    """
    feedback = ctx.happened(ctx.table("feedback"), "received_at")
    feedback = feedback.mutate(_brand=ibis.literal(BRAND_FACILITY))
    dated = ctx.with_local_date(feedback, "received_at", "received_date", facility="_brand")
    dated = dated.filter(_in_period(dated.received_date, start, end))
    released = released_orders(ctx)
    released = released.select(_order=released.order_id, _provider=released.provider_id)
    joined = dated.left_join(released, dated.order_id == released._order)
    return joined.select(
        feedback_id=joined.feedback_id,
        order_id=joined.order_id,
        provider_id=joined._provider,
        received_date=joined.received_date,
        score=joined.score,
        tags=joined.tags,
        **{tag: has_tag(joined.tags, tag) for tag in TAGS},
    )


def audits_in_period(ctx: MetricContext, start: date, end: date) -> ir.Table:
    """Audit checks done by the clock on local dates start..end (at the audit's facility,
    or on the brand's clock when it names none or one without a calendar)."""
    audits = ctx.happened(ctx.table("audits"), "audited_at")
    audits = audits.mutate(
        _site=audits.facility_id.fill_null(BRAND_FACILITY),
        _brand=ibis.literal(BRAND_FACILITY),
    )
    dated = ctx.with_local_date(audits, "audited_at", "_site_date", facility="_site")
    dated = ctx.with_local_date(dated, "audited_at", "_brand_date", facility="_brand")
    dated = dated.mutate(audited_date=dated._site_date.fill_null(dated._brand_date))
    dated = dated.filter(_in_period(dated.audited_date, start, end))
    return dated.select(
        "audit_id",
        "provider_id",
        "facility_id",
        "order_id",
        "audited_date",
        "checklist_item",
        "passed",
    )


def _only(table: ir.Table, providers: Sequence[str] | None) -> ir.Table:
    return table if providers is None else table.filter(table.provider_id.isin(providers))


def _count_rows(flags: ir.Table) -> dict[_Key, int]:
    counted = flags.group_by(["provider_id", "section", "key"]).aggregate(n=flags.count())
    return {
        (r["provider_id"], r["section"], r["key"]): int(r["n"])
        for r in counted.to_pyarrow().to_pylist()
    }


def _capped_ids(flags: ir.Table, column: str, limit: int) -> dict[_Key, Ids]:
    """Per (provider, section, key) and for the brand (provider TOTAL): the first `limit`
    distinct ids of `column` and how many there are, counted and cut in the engine."""
    ids = flags.filter(flags[column].notnull())
    ids = ids.select("provider_id", "section", "key", id=ids[column]).distinct()
    both = union_all(ids, ids.mutate(provider_id=ibis.literal(TOTAL)))
    group = [both.provider_id, both.section, both.key]
    ranked = both.mutate(
        _rank=ibis.row_number().over(group_by=group, order_by=both.id),
        _total=both.count().over(group_by=group),
    )
    kept = ranked.filter(ranked._rank < limit).select(
        "provider_id", "section", "key", "id", "_total"
    )
    found: dict[_Key, list[str]] = defaultdict(list)
    totals: dict[_Key, int] = {}
    for row in kept.to_pyarrow().to_pylist():  # at most `limit` rows per figure
        key = (row["provider_id"], row["section"], row["key"])
        found[key].append(row["id"])
        totals[key] = int(row["_total"])
    return {k: Ids(tuple(sorted(v)), totals[k]) for k, v in found.items()}


def _kpi_counts(
    ctx: MetricContext, start: date, end: date, providers: Sequence[str] | None
) -> dict[tuple[str, str], tuple[int, int]]:
    """(metric, provider) -> (numerator, denominator) over the period's days, from compute."""
    sums: dict[tuple[str, str], tuple[int, int]] = {}
    for r in compute(ctx, list(KPIS), grain="day", start=start, end=end):
        if providers is not None and r.provider_id not in providers:
            continue
        num, den = sums.get((r.metric, r.provider_id), (0, 0))
        sums[(r.metric, r.provider_id)] = (num + r.numerator, den + r.denominator)
    return sums


@dataclass
class _Facts:
    """Everything read from the engine, keyed by provider (None: feedback without one)."""

    kpis: dict[tuple[str, str], tuple[int, int]]
    counts: dict[_Key, int]
    orders: dict[_Key, Ids]
    records: dict[_Key, Ids]
    feedback: dict[str | None, tuple[int, int, int]]  # responses, scored, score sum
    scores: dict[str | None, dict[int, int]]
    checks: dict[str, dict[str, tuple[int, int]]]  # provider -> item -> (checks, passed)
    audited: dict[str, tuple[int, int]]  # provider -> (orders audited, passed every check)

    def providers(self) -> list[str]:
        found: set[str | None] = {p for _, p in self.kpis}
        found |= {p for p, _, _ in self.counts}
        found |= set(self.feedback) | set(self.checks)
        return sorted(p for p in found if p is not None)


def _read_facts(
    ctx: MetricContext,
    start: date,
    end: date,
    providers: Sequence[str] | None,
    limit: int,
    stack: ExitStack,
) -> _Facts:
    def cached(table: ir.Table) -> ir.Table:
        # Each base is read several times (counts, ids, summaries): computed once.
        return stack.enter_context(_only(table, providers).cache())

    feedback = cached(feedback_in_period(ctx, start, end))
    audits = cached(audits_in_period(ctx, start, end))
    failed_audits = audits.filter(~audits.passed)
    parts = [
        *_long(
            cached(perfect_order_failures(ctx, start, end)),
            "perfect_order",
            ("failed", *PERFECT_REASONS),
        ),
        *_long(cached(late_deliveries(ctx, start, end)), "delivery", ("late", *LATE_CAUSES)),
        *_long(cached(damaged_deliveries(ctx, start, end)), "damage", ("damaged", *DAMAGE_ROUTES)),
        *_long(
            cached(misshipped_orders(ctx, start, end)), "misship", ("misshipped", *MISSHIP_ROUTES)
        ),
        *_long(feedback, "feedback", TAGS, record="feedback_id"),
        failed_audits.select(
            provider_id=failed_audits.provider_id.cast("string"),
            section=ibis.literal("audits").cast("string"),
            key=failed_audits.checklist_item.cast("string"),
            order_id=failed_audits.order_id.cast("string"),
            record_id=failed_audits.audit_id.cast("string"),
        ),
    ]
    flags = stack.enter_context(union_all(*parts).cache())

    summary = feedback.group_by("provider_id").aggregate(
        responses=feedback.count(),
        scored=feedback.score.count(),
        score_sum=feedback.score.sum(),
    )
    scored = feedback.filter(feedback.score.notnull())
    distribution = scored.group_by(["provider_id", "score"]).aggregate(n=scored.count())
    checks = audits.group_by(["provider_id", "checklist_item"]).aggregate(
        checks=audits.count(), passed=audits.passed.ifelse(1, 0).sum()
    )
    # An audited order passes when every check on it passed (an audit without an order
    # stands for itself).
    audited = audits.mutate(_subject=audits.order_id.fill_null(audits.audit_id))
    whole = audited.group_by(["provider_id", "_subject"]).aggregate(ok=audited.passed.all())
    per_provider = whole.group_by("provider_id").aggregate(
        audited=whole.count(), passed=whole.ok.ifelse(1, 0).sum()
    )

    scores: dict[str | None, dict[int, int]] = defaultdict(dict)
    for r in distribution.to_pyarrow().to_pylist():
        scores[r["provider_id"]][int(r["score"])] = int(r["n"])
    by_item: dict[str, dict[str, tuple[int, int]]] = defaultdict(dict)
    for r in checks.to_pyarrow().to_pylist():
        by_item[r["provider_id"]][r["checklist_item"]] = (int(r["checks"]), int(r["passed"] or 0))
    return _Facts(
        kpis=_kpi_counts(ctx, start, end, providers),
        counts=_count_rows(flags),
        orders=_capped_ids(flags, "order_id", limit),
        records=_capped_ids(flags, "record_id", limit),
        feedback={
            r["provider_id"]: (int(r["responses"]), int(r["scored"]), int(r["score_sum"] or 0))
            for r in summary.to_pyarrow().to_pylist()
        },
        scores=dict(scores),
        checks=dict(by_item),
        audited={
            r["provider_id"]: (int(r["audited"]), int(r["passed"] or 0))
            for r in per_provider.to_pyarrow().to_pylist()
        },
    )


def _sum_pairs(pairs: Iterable[tuple[int, ...]], width: int) -> tuple[int, ...]:
    totals = [0] * width
    for pair in pairs:
        for i, n in enumerate(pair):
            totals[i] += n
    return tuple(totals)


class _Builder:
    """Assembles one provider's (or the brand's) figures from the facts."""

    def __init__(self, facts: _Facts, provider: str, members: Sequence[str | None]) -> None:
        self.facts = facts
        self.provider = provider  # the id of the row (TOTAL for the brand)
        self.members = members  # the providers whose counts it adds up

    def kpi(self, metric: str) -> Rate:
        pairs = [self.facts.kpis.get((metric, p), (0, 0)) for p in self.members if p is not None]
        num, den = _sum_pairs(pairs, 2)
        return Rate(metric, num, den)

    def count(self, section: str, key: str) -> int:
        return sum(self.facts.counts.get((p, section, key), 0) for p in self.members)

    def breakdown(self, section: str, key: str, base: int, *, records: bool = False) -> Breakdown:
        where = (self.provider, section, key)
        return Breakdown(
            key=key,
            count=self.count(section, key),
            base=base,
            orders=self.facts.orders.get(where, Ids()),
            records=self.facts.records.get(where, Ids()) if records else None,
        )

    def perfect_order(self) -> PerfectOrder:
        rate = self.kpi(PERFECT)
        return PerfectOrder(
            rate=rate,
            failed=self.breakdown("perfect_order", "failed", rate.denominator),
            reasons=tuple(
                self.breakdown("perfect_order", k, rate.denominator) for k in PERFECT_REASONS
            ),
        )

    def delivery(self) -> Delivery:
        rate = self.kpi(ON_TIME)
        return Delivery(
            rate=rate,
            late=self.breakdown("delivery", "late", rate.denominator),
            causes=tuple(self.breakdown("delivery", k, rate.denominator) for k in LATE_CAUSES),
        )

    def damage(self) -> Damage:
        rate = self.kpi(DAMAGE_FREE)
        damaged = self.breakdown("damage", "damaged", rate.denominator)
        return Damage(
            rate=rate,
            damaged=damaged,
            routes=tuple(self.breakdown("damage", k, rate.denominator) for k in DAMAGE_ROUTES),
        )

    def misship(self) -> MisShip:
        rate = self.kpi(ACCURACY)
        return MisShip(
            rate=rate,
            misshipped=self.breakdown("misship", "misshipped", rate.denominator),
            routes=tuple(self.breakdown("misship", k, rate.denominator) for k in MISSHIP_ROUTES),
        )

    def feedback(self) -> Feedback:
        responses, scored, score_sum = _sum_pairs(
            (self.facts.feedback.get(p, (0, 0, 0)) for p in self.members), 3
        )
        distribution: dict[int, int] = defaultdict(int)
        for p in self.members:
            for score, n in self.facts.scores.get(p, {}).items():
                distribution[score] += n
        return Feedback(
            responses=responses,
            scored=scored,
            score_sum=score_sum,
            distribution=tuple(sorted(distribution.items())),
            tags=tuple(self.breakdown("feedback", t, responses, records=True) for t in TAGS),
        )

    def audits(self) -> Audits:
        members = [p for p in self.members if p is not None]
        per_item: dict[str, tuple[int, ...]] = {}
        for p in members:
            for item, pair in self.facts.checks.get(p, {}).items():
                per_item[item] = _sum_pairs([per_item.get(item, (0, 0)), pair], 2)
        audited, passed = _sum_pairs((self.facts.audited.get(p, (0, 0)) for p in members), 2)
        items = []
        for item in sorted(per_item):
            where = (self.provider, "audits", item)
            checks, ok = per_item[item]
            items.append(
                AuditItem(
                    checklist_item=item,
                    checks=checks,
                    passed=ok,
                    failed_audits=self.facts.records.get(where, Ids()),
                    failed_orders=self.facts.orders.get(where, Ids()),
                )
            )
        return Audits(orders_audited=audited, orders_passed=passed, items=tuple(items))

    def build(self) -> ProviderExperience:
        return ProviderExperience(
            provider_id=self.provider,
            perfect_order=self.perfect_order(),
            delivery=self.delivery(),
            damage=self.damage(),
            misship=self.misship(),
            feedback=self.feedback(),
            audits=self.audits(),
        )


def experience_report(
    ctx: MetricContext,
    period_start: date,
    period_end: date,
    providers: Sequence[str] | None = None,
    *,
    id_limit: int = ID_LIMIT,
) -> ExperienceReport:
    """The customer-experience figures of the days period_start..period_end (inclusive).

    Per provider (only `providers` when given) and for the brand (provider_id TOTAL). The
    KPI-backed figures place each order by the KPI's own period date (DESIGN section 3);
    feedback by its brand-local received date; audits by their local audited date. The
    brand total also holds feedback on orders no provider was released (when no provider
    filter is given).
    """
    if period_end < period_start:
        raise InputError(f"the period ends ({period_end}) before it starts ({period_start})")
    if id_limit < 1:
        raise InputError("the id limit must be at least 1")
    wanted = sorted(set(providers)) if providers else None
    with ExitStack() as stack:
        facts = _read_facts(ctx, period_start, period_end, wanted, id_limit, stack)
    names = wanted if wanted is not None else facts.providers()
    rows = tuple(_Builder(facts, p, [p]).build() for p in names)
    everyone: list[str | None] = [*names, *([] if wanted is not None else [None])]
    total = _Builder(facts, TOTAL, everyone).build()
    return ExperienceReport(
        period_start=period_start,
        period_end=period_end,
        as_of=ctx.as_of,
        id_limit=id_limit,
        providers=rows,
        total=total,
    )
