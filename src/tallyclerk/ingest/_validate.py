"""Typing and checking of canonical records, column by column, in one vectorized pass.

A chunk of text columns goes into an in-process DuckDB; out come the typed rows that passed
and, for each row that did not, every problem in plain words. The rules come from the kind's
column descriptions (domain.KINDS), so there is one place that says what a valid record is.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from tallyclerk.domain import Column, ColumnType, Kind
from tallyclerk.ingest._read import LINE, Reject

ERRORS = "_errors"
FIRST_BAD = "_first_bad"
TZ = "_tz"

# An explicit UTC offset after a time of day; a bare date such as 2026-01-05 is not one.
_OFFSET = r"[T ]\d{1,2}:\d{2}(:\d{2}(\.\d+)?)?\s*([Zz]|[+-]\d{2}(:?\d{2})?)$"
_INTEGER = r"[+-]?\d+"
_DECIMAL = r"[+-]?(\d+(\.\d*)?|\.\d+)"
_DATE = r"\d{4}-\d{2}-\d{2}"
_TRUE = ("true", "t", "yes", "y", "1")
_FALSE = ("false", "f", "no", "n", "0")


def _lit(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _q(name: str) -> str:
    return '"' + name + '"'


def _shown(raw: str) -> str:
    """The offending value as it appears in messages, quoted and cut short."""
    return f"'\"' || left({raw}, 60) || '\"'"


@dataclass(frozen=True, slots=True)
class _Rule:
    value: str  # SQL for the typed value
    problems: tuple[tuple[str, str], ...]  # (condition, message SQL)


def _rule(column: Column) -> _Rule:
    raw = f"r_{column.name}"
    typed = f"v_{column.name}"  # the typed value, computed once in the query's middle layer
    shown = _shown(raw)
    name = column.name
    problems: list[tuple[str, str]] = []
    t = column.type
    if t in (ColumnType.TEXT,):
        value = raw
    elif t is ColumnType.INTEGER:
        value = (
            f"CASE WHEN regexp_full_match({raw}, '{_INTEGER}') THEN TRY_CAST({raw} AS BIGINT) END"
        )
        problems.append(
            (f"{raw} IS NOT NULL AND {typed} IS NULL", f"{shown} || ' is not a whole number'")
        )
    elif t is ColumnType.DECIMAL:
        value = (
            f"CASE WHEN regexp_full_match({raw}, '{_DECIMAL}') "
            f"THEN TRY_CAST({raw} AS DECIMAL(18, 4)) END"
        )
        problems.append(
            (f"{raw} IS NOT NULL AND {typed} IS NULL", f"{shown} || ' is not a decimal number'")
        )
    elif t is ColumnType.FLOAT:
        value = (
            f"CASE WHEN regexp_full_match({raw}, '{_DECIMAL}([eE][+-]?\\d+)?') "
            f"THEN TRY_CAST({raw} AS DOUBLE) END"
        )
        problems.append(
            (f"{raw} IS NOT NULL AND {typed} IS NULL", f"{shown} || ' is not a number'")
        )
    elif t is ColumnType.TIMESTAMP:
        value = (
            f"CASE WHEN regexp_matches({raw}, '{_OFFSET}') THEN TRY_CAST({raw} AS TIMESTAMPTZ) "
            f"ELSE timezone({TZ}, TRY_CAST({raw} AS TIMESTAMP)) END"
        )
        problems.append(
            (
                f"{raw} IS NOT NULL AND {typed} IS NULL",
                f"{shown} || ' is not an ISO 8601 timestamp (e.g. 2026-03-09T10:15:00-07:00)'",
            )
        )
    elif t is ColumnType.DATE:
        value = f"CASE WHEN regexp_full_match({raw}, '{_DATE}') THEN TRY_CAST({raw} AS DATE) END"
        problems.append(
            (
                f"{raw} IS NOT NULL AND {typed} IS NULL",
                f"{shown} || ' is not a date (YYYY-MM-DD)'",
            )
        )
    elif t is ColumnType.BOOLEAN:
        trues = ", ".join(_lit(v) for v in _TRUE)
        falses = ", ".join(_lit(v) for v in _FALSE)
        value = (
            f"CASE WHEN lower({raw}) IN ({trues}) THEN TRUE "
            f"WHEN lower({raw}) IN ({falses}) THEN FALSE END"
        )
        problems.append(
            (f"{raw} IS NOT NULL AND {typed} IS NULL", f"{shown} || ' is not true or false'")
        )
    elif t is ColumnType.CODE:
        allowed = ", ".join(_lit(v) for v in column.vocabulary)
        value = f"CASE WHEN lower({raw}) IN ({allowed}) THEN lower({raw}) END"
        problems.append(
            (
                f"{raw} IS NOT NULL AND {typed} IS NULL",
                f"{shown} || ' is not one of ' || {_lit(', '.join(column.vocabulary))}",
            )
        )
    elif t is ColumnType.TAGS:
        allowed = "[" + ", ".join(_lit(v) for v in column.vocabulary) + "]"
        items = (
            f"list_filter(list_transform(string_split({raw}, ';'), lambda x: lower(trim(x))), "
            "lambda x: x <> '')"
        )
        unknown = f"list_filter({items}, lambda x: NOT list_contains({allowed}, x))"
        value = f"nullif(array_to_string(list_sort(list_distinct({items})), ';'), '')"
        problems.append(
            (
                f"{raw} IS NOT NULL AND len({unknown}) > 0",
                f"'unknown tag(s) ' || array_to_string({unknown}, ', ') || "
                f"' (allowed: ' || {_lit(', '.join(column.vocabulary))} || ')'",
            )
        )
    elif t is ColumnType.CURRENCY:
        value = f"CASE WHEN regexp_full_match(upper({raw}), '[A-Z]{{3}}') THEN upper({raw}) END"
        problems.append(
            (
                f"{raw} IS NOT NULL AND {typed} IS NULL",
                f"{shown} || ' is not a three-letter currency code'",
            )
        )
    else:  # pragma: no cover - every ColumnType is handled above
        raise AssertionError(t)
    if column.required:
        problems.insert(0, (f"{raw} IS NULL", "'is empty; a value is required'"))
    if column.minimum is not None:
        if column.minimum == 0:
            message = f"{shown} || ' is negative'"
        else:
            message = f"{shown} || ' is below the minimum of {column.minimum}'"
        problems.append((f"{typed} < {column.minimum}", message))
    if column.maximum is not None:
        problems.append(
            (
                (f"{typed} > {column.maximum}"),
                f"{shown} || ' is above the maximum of {column.maximum}'",
            )
        )
    prefixed = tuple((cond, f"{_lit(name + ': ')} || {msg}") for cond, msg in problems)
    return _Rule(value, prefixed)


def validation_sql(kind: Kind, source_view: str) -> str:
    """The query that types every column of `source_view` and lists each row's problems.

    Three layers: trimmed text (r_*), typed values (v_*), then the checks, which read the
    typed values instead of recomputing them; messages are built only for failing rows.
    """
    trimmed = ", ".join(f"nullif(trim({_q(c.name)}), '') AS r_{c.name}" for c in kind.columns)
    rules = {c.name: _rule(c) for c in kind.columns}
    raws = ", ".join(f"r_{c.name}" for c in kind.columns)
    typed = ", ".join(f"{rules[c.name].value} AS v_{c.name}" for c in kind.columns)
    conditions = [(cond, msg, name) for name, rule in rules.items() for cond, msg in rule.problems]
    outputs = ", ".join(f"v_{c.name} AS {_q(c.name)}" for c in kind.columns)
    if conditions:
        failing = " OR ".join(f"({c})" for c, _, _ in conditions)
        errors = (
            "CASE WHEN _failing THEN concat_ws('; ', "
            + ", ".join(f"CASE WHEN {c} THEN {m} END" for c, m, _ in conditions)
            + ") END"
        )
        first = (
            "CASE WHEN _failing THEN coalesce("
            + ", ".join(f"CASE WHEN {c} THEN {_lit(n)} END" for c, _, n in conditions)
            + ") END"
        )
    else:
        failing, errors, first = "FALSE", "NULL", "NULL"
    return (
        f"SELECT {LINE}, {outputs}, {errors} AS {ERRORS}, {first} AS {FIRST_BAD} FROM ("
        f"SELECT *, coalesce({failing}, FALSE) AS _failing FROM ("
        f"SELECT {LINE}, {raws}, {typed} FROM ("
        f"SELECT {LINE}, {TZ}, {trimmed} FROM {source_view})))"
    )


def raw_record_sql(kind: Kind, source_view: str, lines_table: str) -> str:
    """The query that renders rejected rows as JSON objects of their raw text, by line."""
    fields = ", ".join(f"{_q(c.name)} := nullif(trim({_q(c.name)}), '')" for c in kind.columns)
    return (
        f"SELECT {LINE}, CAST(to_json(struct_pack({fields})) AS VARCHAR) FROM {source_view} "
        f"WHERE {LINE} IN (SELECT {LINE} FROM {lines_table})"
    )


class Validator:
    """Types and checks chunks of one kind; naive timestamps read in the facility's zone."""

    def __init__(
        self, kind: Kind, facility_timezones: dict[str, str], default_timezone: str
    ) -> None:
        self.kind = kind
        self._con = duckdb.connect()
        self._con.execute("SET TimeZone = 'UTC'")
        self._con.execute("CREATE TEMP TABLE facility_tz (facility_id VARCHAR, tz VARCHAR)")
        if facility_timezones:
            self._con.executemany(
                "INSERT INTO facility_tz VALUES (?, ?)", list(facility_timezones.items())
            )
        self._default_tz = default_timezone
        self._sql = validation_sql(kind, "_with_tz")
        self._raw_sql = raw_record_sql(kind, "_chunk", "_bad_lines")

    def close(self) -> None:
        """Free the in-process engine."""
        self._con.close()

    def validate(self, chunk: pa.Table) -> tuple[pa.Table, list[Reject]]:
        """Split a text chunk into typed good rows (with `_line`) and rejects."""
        con = self._con
        con.register("_chunk", chunk)
        try:
            if self.kind.has_facility:
                tz = f"coalesce(f.tz, {_lit(self._default_tz)})"
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW _with_tz AS SELECT c.*, {tz} AS {TZ} "
                    "FROM _chunk c LEFT JOIN facility_tz f ON f.facility_id = trim(c.facility_id)"
                )
            else:
                con.execute(
                    "CREATE OR REPLACE TEMP VIEW _with_tz AS "
                    f"SELECT *, {_lit(self._default_tz)} AS {TZ} FROM _chunk"
                )
            # One pass: every row typed, with its problems; the split happens in Arrow.
            checked = con.execute(self._sql).to_arrow_table()
            bad_mask = pc.is_valid(checked.column(ERRORS))
            bad_rows: list[tuple[int, str | None, str]] = []
            raw: dict[int, str] = {}
            if pc.any(bad_mask).as_py():
                bad = checked.filter(bad_mask).select([LINE, FIRST_BAD, ERRORS]).sort_by(LINE)
                bad_rows = list(
                    zip(
                        bad.column(LINE).to_pylist(),
                        bad.column(FIRST_BAD).to_pylist(),
                        bad.column(ERRORS).to_pylist(),
                        strict=True,
                    )
                )
                con.register("_bad_lines", bad.select([LINE]))
                try:
                    raw = dict(con.execute(self._raw_sql).fetchall())
                finally:
                    con.unregister("_bad_lines")
                checked = checked.filter(pc.invert(bad_mask))
            good = checked.select([LINE, *self.kind.column_names])
        finally:
            con.unregister("_chunk")
        rejects = [Reject(line, column, reason, raw.get(line)) for line, column, reason in bad_rows]
        return good, rejects
