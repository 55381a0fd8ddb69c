"""The context KPI expressions run in: an Ibis backend, the canonical tables, the calendars.

Time-zone and business-day logic reaches the expressions as joins on the tables of
`_frames`, so the same expression runs on DuckDB, PostgreSQL and Spark.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from tallyclerk.metrics._frames import Frames

UTC_TIMESTAMP = dt.Timestamp(timezone="UTC")
T = TypeVar("T")

_DAY_FACTS = (
    "is_business_day",
    "cutoff_utc",
    "end_utc",
    "next_business_date",
    "next_business_end_utc",
    "anchor_index",
)


def _keep(joined: ir.Table, table: ir.Table, **extra: ir.Value) -> ir.Table:
    """The columns of `table` (from a join) plus named extras."""
    return joined.select(*(joined[c] for c in table.columns), **extra)


@dataclass
class MetricContext:
    """Everything a metric's expression may read."""

    backend: ibis.BaseBackend
    as_of: datetime
    tables: dict[str, ir.Table]
    frames: Frames
    # The first moment any contract with a 3PL was in force (its effective date's midnight in
    # the brand's zone): orders placed before it had no contracted 3PL to be released to.
    contracts_from: datetime | None = None
    _frame_tables: dict[str, ir.Table] = field(default_factory=dict)
    _memo: dict[str, Any] = field(default_factory=dict)

    def memo(self, key: str, build: Callable[[], T]) -> T:
        """A result computed once per context (e.g. a small table several checks share)."""
        if key not in self._memo:
            self._memo[key] = build()
        return self._memo[key]  # type: ignore[no-any-return]

    def table(self, kind: str) -> ir.Table:
        """A canonical table."""
        return self.tables[kind]

    def frame(self, name: str) -> ir.Table:
        """A calendar or parameter table (registered with the backend on first use)."""
        if name not in self._frame_tables:
            self._frame_tables[name] = ibis.memtable(getattr(self.frames, name))
        return self._frame_tables[name]

    @property
    def now(self) -> ir.TimestampScalar:
        """The evaluation clock: nothing after it has happened yet."""
        return ibis.literal(self.as_of, type=UTC_TIMESTAMP)

    def seen(self, column: ir.TimestampValue) -> ir.BooleanValue:
        """True where a timestamp is set and not after the evaluation clock."""
        return column.notnull() & (column <= self.now)

    def happened(self, table: ir.Table, column: str) -> ir.Table:
        """The rows whose event (timestamp `column`) happened by the evaluation clock."""
        return table.filter(self.seen(table[column]))

    def with_local_date(
        self, table: ir.Table, ts: str, out: str, facility: str = "facility_id"
    ) -> ir.Table:
        """Add the facility-local date of timestamp column `ts` as `out`.

        A range join finds the interval of constant UTC offset holding the timestamp (a few
        rows per facility and year, so every engine joins it cheaply); the local date is the
        date of the timestamp shifted by that offset. Null outside the calendars' span.
        """
        offsets = self.frame("utc_offsets")
        offsets = offsets.select(
            _tz_facility=offsets.facility_id,
            _tz_from=offsets.from_utc,
            _tz_to=offsets.to_utc,
            _tz_offset=offsets.offset_seconds,
        )
        keyed = table.mutate(_tz_instant=table[ts])
        joined = keyed.left_join(
            offsets,
            [
                keyed[facility] == offsets._tz_facility,
                keyed._tz_instant >= offsets._tz_from,
                keyed._tz_instant < offsets._tz_to,
            ],
        )
        # Project the offset first: a value computed from both sides of a join chain cannot
        # be a key of a later join in Ibis, a plain projected column can.
        shifted = _keep(joined, table, _tz_instant=joined._tz_instant, _tz_offset=joined._tz_offset)
        local = (shifted._tz_instant + shifted._tz_offset.as_interval("s")).date()
        return shifted.select(*table.columns, **{out: local})

    def hours_between(self, start: ir.TimestampValue, end: ir.TimestampValue) -> ir.FloatingValue:
        """Hours from `start` to `end` as float64, the same on every engine.

        Counted in whole seconds (Spark's epoch has whole seconds, DuckDB's and PostgreSQL's
        keep the fraction) and divided as floats (Spark reads a literal like 3600.0 as a
        decimal and rounds the quotient to 6 decimal places).
        """
        seconds = end.truncate("s").epoch_seconds() - start.truncate("s").epoch_seconds()
        return seconds.cast("float64") / 3600

    def with_day(
        self, table: ir.Table, date_column: str, prefix: str, facility: str = "facility_id"
    ) -> ir.Table:
        """Add the calendar facts of a facility-local date (business day, cutoff, ...)."""
        days = self.frame("facility_days")
        joined = table.left_join(
            days, [table[facility] == days.facility_id, table[date_column] == days.local_date]
        )
        return _keep(joined, table, **{f"{prefix}{n}": joined[n] for n in _DAY_FACTS})

    def with_ship_due(
        self, table: ir.Table, released: str = "released_at", facility: str = "facility_id"
    ) -> ir.Table:
        """Add `due_utc` and `due_date` by the rule same_day_before_cutoff (DESIGN section 3).

        Released on a business day before the local cutoff: due by the end of that day;
        otherwise by the end of the next business day.
        """
        local = self.with_local_date(table, released, "_release_date", facility)
        facts = self.with_day(local, "_release_date", "_r_", facility)
        same_day = facts._r_is_business_day & (facts[released] < facts._r_cutoff_utc)
        out = facts.mutate(
            due_utc=ibis.ifelse(same_day, facts._r_end_utc, facts._r_next_business_end_utc),
            due_date=ibis.ifelse(same_day, facts._release_date, facts._r_next_business_date),
        )
        return out.select(*table.columns, "due_utc", "due_date")

    def with_business_deadline(
        self,
        table: ir.Table,
        event: str,
        metric: str,
        facility: str = "facility_id",
        provider: str = "provider_id",
    ) -> ir.Table:
        """Add `deadline_utc` and `deadline_date`: the end of the N-th business day after
        the first business day on or after the event's local date, N from the contract."""
        local = self.with_local_date(table, event, "_event_date", facility)
        params = self.frame("metric_params").filter(lambda p: p.metric == metric)
        with_n = local.left_join(
            params,
            [local[provider] == params.provider_id, local._event_date == params.local_date],
        )
        with_n = _keep(with_n, local, _n=with_n.within_business_days)
        facts = self.with_day(with_n, "_event_date", "_e_", facility)
        keyed = facts.mutate(_target_index=facts._e_anchor_index + facts._n)
        bdays = self.frame("business_days")
        joined = keyed.left_join(
            bdays,
            [keyed[facility] == bdays.facility_id, keyed._target_index == bdays.bd_index],
        )
        return _keep(joined, table, deadline_utc=joined.end_utc, deadline_date=joined.local_date)
