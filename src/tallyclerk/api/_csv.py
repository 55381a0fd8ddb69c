"""CSV downloads of the API's lists, safe to open in a spreadsheet.

`?format=csv` on a list answers every row its filters match (paging ignored, at most
`MAX_ROWS`) as a file: the rows are the JSON answer's own models, built by the same code, so
a download never shows more than the JSON would. Every cell is text a spreadsheet will not
run: one that starts like a formula (`=`, `+`, `-`, `@`, a tab, a carriage return, a NUL,
their full-width forms, or one of those after leading blanks) gets a leading `'`. Plain
numbers are left alone, so `-12.50` stays a number.

The file is UTF-8 with a byte order mark (Excel reads UTF-8 only with it), quoted as RFC 4180
says, with CRLF line ends. It is written to a temporary file (on disk past 1 MiB) while the
request holds the store, then streamed: memory stays flat, and a failure while reading is a
JSON error, never a cut-off file answered 200.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
import re
import tempfile
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import IO, Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

import ibis.expr.types as ir
import sqlalchemy as sa
from fastapi import Query
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from tallyclerk.store import Store

T = TypeVar("T")

MAX_ROWS = 100_000  # rows of one download; past it the file says it was cut
CHUNK_ROWS = 1_000  # rows read from the store at a time
SPOOL_BYTES = 1 << 20  # kept in memory up to this size, then on disk
READ_BYTES = 64 * 1024  # bytes sent at a time
MEDIA_TYPE = "text/csv; charset=utf-8"
TRUNCATED_HEADER = "X-Tallyclerk-Truncated"
ROWS_HEADER = "X-Tallyclerk-Rows"

# A cell starting with one of these may be read as a formula (full-width forms included: some
# spreadsheets take them for their ASCII twins).
FORMULA_START = frozenset("=+-@\t\r\0\uff1d\uff0b\uff0d\uff20")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")

FormatQuery = Annotated[
    Literal["json", "csv"],
    Query(
        alias="format",
        description="`json`: one page. `csv`: every row the filters match, as a CSV download "
        f"(paging ignored; at most {MAX_ROWS:,} rows, and `{TRUNCATED_HEADER}: true` when "
        "rows were left out). Cells that could run as a spreadsheet formula start with `'`.",
    ),
]


def csv_responses() -> dict[int | str, dict[str, Any]]:
    """The CSV answer of a list, for the OpenAPI document (beside its JSON)."""
    return {
        200: {
            "description": "One page as JSON, or with `format=csv` every matching row as CSV.",
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "headers": {
                "Content-Disposition": {
                    "description": 'CSV only: attachment; filename="tallyclerk-<list>-<date>.csv"',
                    "schema": {"type": "string"},
                },
                TRUNCATED_HEADER: {
                    "description": f"CSV only: true when more than {MAX_ROWS:,} rows matched "
                    "and the rest were left out.",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                },
                ROWS_HEADER: {
                    "description": "CSV only: the rows in the file (the header line aside).",
                    "schema": {"type": "integer"},
                },
            },
        }
    }


# -- cells --------------------------------------------------------------------------------------


def _json_default(value: Any) -> str:
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)


def render(value: object) -> str:
    """A value as the text of a cell (before escaping).

    None is empty, booleans true/false, decimals exact and never in exponent form, datetimes
    ISO 8601 with their offset (UTC when they have none), objects and lists as JSON.
    """
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, Mapping | list | tuple):
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    return str(value)


def is_number(text: str) -> bool:
    """Whether the text is a plain number (`-12.50`, `+3`, `-1e5`): a spreadsheet runs nothing."""
    return _NUMBER.fullmatch(text) is not None


def _blank(char: str) -> bool:
    return char.isspace() or unicodedata.category(char) == "Cf"


def safe_cell(value: object) -> str:
    """The cell's text, with a leading `'` when a spreadsheet could read it as a formula.

    That is when it starts with one of FORMULA_START, or has one after leading blanks
    (spaces, line breaks, invisible format characters); a plain number stays as it is.
    """
    text = render(value)
    if not text or is_number(text):
        return text
    if text[0] in FORMULA_START:
        return "'" + text
    for char in text:
        if not _blank(char):
            return "'" + text if char in FORMULA_START else text
    return text


def write_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str]) -> Iterator[str]:
    """The CSV text of the rows, a line at a time: the header, then a line per row.

    Every cell goes through `safe_cell`; a column a row lacks is empty. Quoting is the csv
    module's (RFC 4180: a cell with a comma, quote or line break is quoted), lines end CRLF.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")

    def line(cells: Iterable[object]) -> str:
        writer.writerow([safe_cell(cell) for cell in cells])
        text = buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()
        return text

    yield line(columns)
    for row in rows:
        yield line(row.get(name) for name in columns)


def export_link(path: str, **filters: str | Sequence[str] | None) -> str:
    """The CSV download of the API list at `path` with these filters (empty ones left out).

    A sequence repeats its parameter (`status=open&status=acknowledged`).
    """
    pairs: list[tuple[str, str]] = []
    for name, value in filters.items():
        if isinstance(value, str):
            if value:
                pairs.append((name, value))
        elif value is not None:
            pairs.extend((name, item) for item in value)
    pairs.append(("format", "csv"))
    return f"{path}?{urlencode(pairs)}"


# -- reading rows -------------------------------------------------------------------------------


@contextmanager
def snapshot(opened: Store) -> Iterator[sa.Connection]:
    """A connection whose reads all see one state of the store, slice after slice.

    PostgreSQL reads in one repeatable-read transaction. DuckDB needs nothing more: the
    service holds the file for the whole request, and its requests take turns.
    """
    with opened.connect() as connection:
        if opened.dialect == "postgresql":
            connection.execution_options(isolation_level="REPEATABLE READ")
        yield connection


def paged(fetch: Callable[[int, int], Sequence[T]], size: int | None = None) -> Iterator[T]:
    """Every item of a list read a slice at a time: `fetch(limit, offset)` gives one slice."""
    step = size or CHUNK_ROWS
    offset = 0
    while True:
        chunk = fetch(step, offset)
        yield from chunk
        if len(chunk) < step:
            return
        offset += step


def table_rows(table: ir.Table) -> Iterator[dict[str, Any]]:
    """The rows of an ordered expression, as many as a download takes.

    The engine answers once, in Arrow (narrow rows: a few MB at the cap); Python objects
    are made a slice at a time.
    """
    answer = table.limit(MAX_ROWS + 1).to_pyarrow()
    for batch in answer.to_batches(max_chunksize=CHUNK_ROWS):
        yield from batch.to_pylist()


# -- the answer ---------------------------------------------------------------------------------


def _stream(spool: IO[bytes]) -> Iterator[bytes]:
    try:
        while block := spool.read(READ_BYTES):
            yield block
    finally:
        spool.close()


def csv_response(name: str, model: type[BaseModel], rows: Iterable[BaseModel]) -> StreamingResponse:
    """The rows (of `model`, the JSON answer's) as a CSV download named after the list.

    The columns are the model's fields in order; at most MAX_ROWS rows are written, and
    the `X-Tallyclerk-Truncated` header says whether more matched.
    """
    limit = MAX_ROWS
    columns = list(model.model_fields)
    written = 0
    truncated = False

    def records() -> Iterator[dict[str, Any]]:
        nonlocal written, truncated
        for row in rows:
            if written >= limit:
                truncated = True
                return
            written += 1
            yield row.model_dump()

    spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
    try:
        spool.write(codecs.BOM_UTF8)
        for text in write_csv(records(), columns):
            spool.write(text.encode("utf-8", "replace"))
        size = spool.tell()
        spool.seek(0)
    except BaseException:
        spool.close()
        raise
    filename = f"tallyclerk-{name}-{datetime.now(UTC):%Y-%m-%d}.csv"
    return StreamingResponse(
        _stream(spool),
        media_type=MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Content-Length": str(size),
            "Cache-Control": "no-store",
            TRUNCATED_HEADER: "true" if truncated else "false",
            ROWS_HEADER: str(written),
        },
        background=BackgroundTask(spool.close),
    )


__all__ = [
    "CHUNK_ROWS",
    "FORMULA_START",
    "MAX_ROWS",
    "FormatQuery",
    "csv_response",
    "csv_responses",
    "export_link",
    "is_number",
    "paged",
    "render",
    "safe_cell",
    "snapshot",
    "table_rows",
    "write_csv",
]
