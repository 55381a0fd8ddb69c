"""Idempotent writes: stage a chunk, then insert what is new and update what changed.

Plain SQL that DuckDB and PostgreSQL both run. A record equal to the stored one is a
duplicate and leaves the row untouched; a later version of a record (same natural key,
other values) replaces it; within one file the last occurrence of a key wins and the
earlier ones count as duplicates.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import sqlalchemy as sa

from tallyclerk.domain import KINDS_BY_NAME, Kind
from tallyclerk.ingest._read import LINE, Reject
from tallyclerk.store.bulk import append_arrow, driver_connection, quote
from tallyclerk.store.schema import LINEAGE_COLUMN

STAGE = "_tallyclerk_stage"


@dataclass(slots=True)
class MergeCounts:
    """What happened to the records of a chunk or batch."""

    stored: int = 0
    updated: int = 0
    duplicate: int = 0

    def add(self, other: MergeCounts) -> None:
        """Accumulate another chunk's counts."""
        self.stored += other.stored
        self.updated += other.updated
        self.duplicate += other.duplicate


def _join(kind: Kind, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{quote(k)} = {right}.{quote(k)}" for k in kind.key)


def _differs(columns: Sequence[str], left: str, right: str) -> str:
    parts = [f"{left}.{quote(c)} IS DISTINCT FROM {right}.{quote(c)}" for c in columns]
    return "(" + " OR ".join(parts) + ")" if parts else "(1 = 0)"


class Merger:
    """Merges validated chunks of one kind into its table inside the caller's transaction.

    The chunk is staged where the database can join it with the stored table: on DuckDB the
    Arrow table itself is scanned (no copy), on PostgreSQL it is copied into a temporary
    table. Rows refused on the way are dropped from the stage the same two ways.
    """

    def __init__(
        self,
        connection: sa.Connection,
        kind: Kind,
        batch_id: int,
        columns: Sequence[str] | None = None,
    ) -> None:
        self.connection = connection
        self.kind = kind
        self.batch_id = batch_id
        # The value columns the source supplies; a later version updates only these, so a
        # document that carries part of a record (a receipt advice) keeps the rest stored.
        supplied = set(kind.column_names if columns is None else columns)
        self.value_columns = tuple(c for c in kind.value_columns if c in supplied)
        self._arrow_stage = connection.dialect.name == "duckdb"
        self._staged: pa.Table | None = None
        self._stage_table_ready = False

    # -- the stage -------------------------------------------------------------------------

    def _load_stage(self, good: pa.Table) -> None:
        if self._arrow_stage:
            self._staged = good
            driver_connection(self.connection).register(STAGE, good)
            return
        exec_ = self.connection.exec_driver_sql
        if not self._stage_table_ready:
            exec_(f"DROP TABLE IF EXISTS {STAGE}")
            columns = ", ".join(quote(c) for c in self.kind.column_names)
            exec_(
                f"CREATE TEMPORARY TABLE {STAGE} AS SELECT {columns}, "
                f"CAST(NULL AS BIGINT) AS {LINE} FROM {quote(self.kind.name)} WHERE 1 = 0"
            )
            self._stage_table_ready = True
        append_arrow(self.connection, STAGE, good)

    def _drop_from_stage(self, condition: str) -> None:
        """Remove the staged rows meeting an SQL condition on the stage."""
        if not self._arrow_stage:
            self.connection.exec_driver_sql(f"DELETE FROM {STAGE} WHERE {condition}")
            return
        assert self._staged is not None
        lines = [
            line
            for (line,) in self.connection.exec_driver_sql(
                f"SELECT {LINE} FROM {STAGE} WHERE {condition}"
            )
        ]
        if lines:
            keep = pc.invert(pc.is_in(self._staged.column(LINE), pa.array(lines, pa.int64())))
            self._load_stage(self._staged.filter(keep))

    def _staged_rows(self) -> int:
        if self._arrow_stage:
            assert self._staged is not None
            return int(self._staged.num_rows)
        return int(self.connection.exec_driver_sql(f"SELECT count(*) FROM {STAGE}").scalar_one())

    def _clear_stage(self) -> None:
        if self._arrow_stage:
            if self._staged is not None:
                driver_connection(self.connection).unregister(STAGE)
                self._staged = None
            return
        self.connection.exec_driver_sql(f"DELETE FROM {STAGE}")

    def close(self) -> None:
        """Release the stage."""
        if self._arrow_stage:
            self._clear_stage()
        elif self._stage_table_ready:
            self.connection.exec_driver_sql(f"DROP TABLE IF EXISTS {STAGE}")
            self._stage_table_ready = False

    # -- the merge -------------------------------------------------------------------------

    def merge(self, good: pa.Table) -> tuple[MergeCounts, list[Reject]]:
        """Write one chunk of validated rows; returns counts and rows refused for a reference."""
        counts = MergeCounts()
        if good.num_rows == 0:
            return counts, []
        exec_ = self.connection.exec_driver_sql
        kind = self.kind
        target = quote(kind.name)
        self._load_stage(good)
        rejects = self._reject_unknown_parents()

        # Within one file the last occurrence of a key wins; the earlier ones are counted as
        # duplicates (superseded inside the file) so that reading a file again changes and
        # counts nothing new. Most files repeat no key, so a cheap grouping check comes first.
        keys = ", ".join(quote(k) for k in kind.key)
        repeated = int(
            exec_(
                f"SELECT coalesce(sum(n - 1), 0) FROM "
                f"(SELECT count(*) AS n FROM {STAGE} GROUP BY {keys} HAVING count(*) > 1) r"
            ).scalar_one()
        )
        if repeated:
            counts.duplicate += repeated
            self._drop_from_stage(
                f"EXISTS (SELECT 1 FROM {STAGE} k "
                f"WHERE {_join(kind, STAGE, 'k')} AND k.{LINE} > {STAGE}.{LINE})"
            )

        # Most chunks of a first load meet no stored key; a semi-join says so cheaply before
        # the column-by-column comparison runs.
        matched = int(
            exec_(
                f"SELECT count(*) FROM {STAGE} s "
                f"WHERE EXISTS (SELECT 1 FROM {target} t WHERE {_join(kind, 't', 's')})"
            ).scalar_one()
        )
        new, same, changed = self._staged_rows() - matched, 0, 0
        if matched:
            same, changed = exec_(
                f"SELECT count(*) FILTER (WHERE NOT {_differs(self.value_columns, 's', 't')}), "
                f"count(*) FILTER (WHERE {_differs(self.value_columns, 's', 't')}) "
                f"FROM {STAGE} s JOIN {target} t ON {_join(kind, 's', 't')}"
            ).one()
        if changed:
            assignments = ", ".join(f"{quote(c)} = s.{quote(c)}" for c in self.value_columns)
            exec_(
                f"UPDATE {target} SET {assignments}, {LINEAGE_COLUMN} = {int(self.batch_id)} "
                f"FROM {STAGE} s WHERE {_join(kind, target, 's')} "
                f"AND {_differs(self.value_columns, target, 's')}"
            )
        if new:
            columns = ", ".join(quote(c) for c in kind.column_names)
            insert = (
                f"INSERT INTO {target} ({columns}, {LINEAGE_COLUMN}) "
                f"SELECT {columns}, {int(self.batch_id)} FROM {STAGE} s"
            )
            if same or changed:  # only then can a staged key already be stored
                insert += (
                    f" WHERE NOT EXISTS (SELECT 1 FROM {target} t WHERE {_join(kind, 't', 's')})"
                )
            exec_(insert)
        self._clear_stage()
        counts.stored += int(new)
        counts.duplicate += int(same)
        counts.updated += int(changed)
        return counts, rejects

    def _reject_unknown_parents(self) -> list[Reject]:
        """Refuse rows whose parent record is unknown (a line of an order never seen)."""
        rejects: list[Reject] = []
        exec_ = self.connection.exec_driver_sql
        names = self.kind.column_names
        for ref in self.kind.parents:
            parent = KINDS_BY_NAME[ref.kind]
            missing = (
                f"NOT EXISTS (SELECT 1 FROM {quote(parent.name)} p "
                f"WHERE p.{quote(ref.parent_column)} = {STAGE}.{quote(ref.column)})"
            )
            rows = exec_(
                f"SELECT {LINE}, {', '.join(quote(n) for n in names)} FROM {STAGE} WHERE {missing}"
            ).all()
            if not rows:
                continue
            for row in rows:
                record = {
                    n: (None if v is None else str(v)) for n, v in zip(names, row[1:], strict=True)
                }
                value = record[ref.column]
                rejects.append(
                    Reject(
                        int(row[0]),
                        ref.column,
                        f"{ref.column}: {parent.name[:-1]} '{value}' is not known; ingest "
                        f"{parent.name} first, then run 'tallyclerk quarantine replay'",
                        json.dumps(record),
                    )
                )
            self._drop_from_stage(missing)
        return rejects
