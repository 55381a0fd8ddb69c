"""Readers for canonical files: CSV and JSON Lines, streamed in Arrow chunks of text columns.

Every value arrives as text (or null for an empty cell); typing and checking happen in one
place (`_validate`). Each row carries the line of the file it came from, so a bad record can
be named by file and line. Rows that cannot even be split into columns are rejected here.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import gzip
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import IO, Any, cast

import pyarrow as pa
import pyarrow.csv as pa_csv

from tallyclerk.domain import Kind
from tallyclerk.errors import InputError

LINE = "_line"
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_JSON_CHUNK_ROWS = 50_000
_ENCODING_NAMES = {"cp1252": "Windows-1252 (cp1252)", "latin-1": "ISO-8859-1 (latin-1)"}


@dataclass(frozen=True, slots=True)
class Reject:
    """A record refused before or during validation, with where it was and why."""

    line: int | None
    column: str | None
    reason: str
    record: str | None
    where: str | None = None  # a position other than a line: "segment 14 (W12)"


@dataclass(slots=True)
class Chunk:
    """A slice of a file: text columns in the kind's order plus `_line`, and early rejects."""

    table: pa.Table
    rejects: list[Reject] = field(default_factory=list)
    note: str | None = None


def file_format(path: Path) -> str | None:
    """'csv' or 'jsonl' from the file name (a trailing .gz allowed), else None."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    return FORMATS.get(suffixes[-1]) if suffixes else None


def kind_name_from_path(path: Path) -> str:
    """The kind a file holds by its name: `shipments.csv` -> `shipments`."""
    name = path.name.lower()
    for suffix in (".gz", ".csv", ".jsonl", ".ndjson"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
    return name


class _CountingReader(io.RawIOBase):
    """Wraps a binary file and reports how many bytes have been read (drives progress)."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], None] | None) -> None:
        self._raw = raw
        self._on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        if self._on_bytes is not None and n:
            self._on_bytes(n)
        return n


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix.lower() == ".gz":
        return cast(IO[bytes], gzip.open(path, "rb"))
    return path.open("rb")


def _normalize_header(names: list[str]) -> list[str]:
    return [n.strip().lstrip("\ufeff").strip().lower() for n in names]


def _check_header(kind: Kind, header: list[str], source: str) -> None:
    duplicated = sorted({n for n in header if header.count(n) > 1 and n})
    if duplicated:
        raise InputError(f"{source}: line 1: the header repeats column(s) {', '.join(duplicated)}")
    required = [c.name for c in kind.columns if c.required or c.name in kind.key]
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(
            f"{source}: line 1: the header lacks required column(s) {', '.join(missing)} "
            f"for {kind.name} (expected: {', '.join(kind.column_names)}; "
            f"found: {', '.join(header)})"
        )


def _as_kind_table(kind: Kind, table: pa.Table, lines: pa.Array) -> pa.Table:
    """Keep the kind's columns in order (absent ones as nulls), drop extras, add `_line`."""
    arrays = []
    for name in kind.column_names:
        if name in table.column_names:
            arrays.append(table.column(name))
        else:
            arrays.append(pa.nulls(table.num_rows, pa.string()))
    arrays.append(lines)
    return pa.table(arrays, names=[*kind.column_names, LINE])


def read_csv(
    path: Path,
    kind: Kind,
    source: str,
    on_bytes: Callable[[int], None] | None = None,
    block_size: int = 32 * 1024 * 1024,
) -> Iterator[Chunk]:
    """Stream a canonical CSV file as text chunks, rejecting rows with the wrong field count."""
    shape = _scan(path)
    with _open_binary(path) as probe:
        first = probe.readline().decode(
            "utf-8-sig" if shape.encoding == "utf-8" else shape.encoding, errors="replace"
        )
    if not first.strip():
        raise InputError(f"{source}: line 1: the file is empty; a header row is expected")
    header = _normalize_header(next(csv.reader([first])))
    _check_header(kind, header, source)
    skipped: list[int] = []
    early: list[Reject] = []

    def on_invalid(row: Any) -> str:
        line = row.number
        text = row.text or ""
        if line is not None:
            skipped.append(line)
        if text.strip():
            early.append(
                Reject(
                    line,
                    None,
                    f"expected {row.expected_columns} fields, found {row.actual_columns}",
                    json.dumps({"raw": text[:2000]}),
                )
            )
        return "skip"

    read_options = pa_csv.ReadOptions(
        column_names=header,
        skip_rows=1,
        block_size=block_size,
        use_threads=False,
        encoding=shape.encoding,
    )
    parse_options = pa_csv.ParseOptions(
        newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid
    )
    convert_options = pa_csv.ConvertOptions(
        column_types={n: pa.string() for n in header},
        strings_can_be_null=True,
        quoted_strings_can_be_null=True,
        null_values=[""],
    )
    record_lines = _record_start_lines(path, shape.encoding) if shape.multiline else None
    rows_seen = 0
    with _open_binary(path) as raw:
        stream = io.BufferedReader(_CountingReader(raw, on_bytes), buffer_size=1024 * 1024)
        try:
            reader = pa_csv.open_csv(
                stream,
                read_options=read_options,
                parse_options=parse_options,
                convert_options=convert_options,
            )
            for batch in reader:
                table = pa.Table.from_batches([batch])
                n = table.num_rows
                if record_lines is not None:
                    lines = _lines_from_records(record_lines, skipped, rows_seen, n)
                else:
                    lines = _lines_skipping(sorted(skipped), rows_seen, n)
                rows_seen += n
                chunk = Chunk(_as_kind_table(kind, table, lines), rejects=list(early))
                if rows_seen == n and shape.encoding != "utf-8":
                    chunk.note = f"not valid UTF-8: read as {_ENCODING_NAMES[shape.encoding]}"
                early.clear()
                yield chunk
        except pa.ArrowInvalid as exc:
            raise InputError(f"{source}: cannot be read as CSV: {exc}") from exc
    if early:
        yield Chunk(_as_kind_table(kind, _empty(header), pa.array([], pa.int64())), early)


def _empty(header: list[str]) -> pa.Table:
    return pa.table({n: pa.array([], pa.string()) for n in header})


def _lines_skipping(skipped: list[int], start_row: int, n: int) -> pa.Array:
    """Lines of rows start_row.. when every record is one line; skipped lines shift them."""
    if not skipped:
        return pa.array(range(start_row + 2, start_row + n + 2), pa.int64())
    # Valid rows before skipped line s_i (header is line 1) number s_i - 2 - i.
    thresholds = [s - 2 - i for i, s in enumerate(skipped)]
    lines = [k + 2 + bisect.bisect_right(thresholds, k) for k in range(start_row, start_row + n)]
    return pa.array(lines, pa.int64())


@dataclass(frozen=True, slots=True)
class _Shape:
    """What one pass over a CSV file tells before parsing it."""

    multiline: bool  # some quoted value spans lines
    encoding: str  # utf-8; else cp1252, or latin-1 when even cp1252 fails


def _scan(path: Path) -> _Shape:
    """Check the encoding and whether quoted values span lines, in one pass of 8 MB blocks.

    A line with an odd number of quote characters leaves a quoted value open (escaped quotes
    "" keep the count even). Files that are not valid UTF-8 are, in practice, spreadsheet
    exports in Windows-1252, which can encode any byte sequence we meet.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    multiline = False
    pending = b""
    with _open_binary(path) as raw:
        while block := raw.read(8 * 1024 * 1024):
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if multiline:
                if not utf8:
                    break
                continue
            data = pending + block
            cut = data.rfind(b"\n") + 1
            complete, pending = data[:cut], data[cut:]
            if b'"' in complete:
                multiline = any(
                    line.count(b'"') % 2 for line in complete.split(b"\n") if b'"' in line
                )
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if not multiline and pending.count(b'"') % 2:
        multiline = True
    return _Shape(multiline, "utf-8" if utf8 else _single_byte_encoding(path))


def _single_byte_encoding(path: Path) -> str:
    """cp1252 when it decodes the file, else latin-1, which decodes any byte."""
    decoder = codecs.getincrementaldecoder("cp1252")()
    with _open_binary(path) as raw:
        try:
            while block := raw.read(8 * 1024 * 1024):
                decoder.decode(block)
        except UnicodeDecodeError:
            return "latin-1"
    return "cp1252"


def _record_start_lines(path: Path, encoding: str) -> list[int]:
    """The line where each data record starts, counted with a record-aware CSV reader."""
    starts: list[int] = []
    with _open_binary(path) as raw:
        text = io.TextIOWrapper(
            raw,
            encoding="utf-8-sig" if encoding == "utf-8" else encoding,
            errors="replace",
            newline="",
        )
        reader = csv.reader(text)
        previous_end = 1
        for index, _row in enumerate(reader):
            if index > 0:
                starts.append(previous_end + 1)
            previous_end = reader.line_num
    return starts


def _lines_from_records(starts: list[int], skipped: list[int], start_row: int, n: int) -> pa.Array:
    skipped_set = set(skipped)
    kept = [line for line in starts if line not in skipped_set]
    return pa.array(kept[start_row : start_row + n], pa.int64())


def _json_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ";".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        raise ValueError("is an object; a plain value is expected")
    text = str(value)
    return text if text != "" else None


def read_jsonl(
    path: Path, kind: Kind, source: str, on_bytes: Callable[[int], None] | None = None
) -> Iterator[Chunk]:
    """Stream a JSON Lines file: one object per line; a malformed line is rejected, not fatal."""
    names = kind.column_names
    columns: dict[str, list[str | None]] = {n: [] for n in names}
    lines: list[int] = []
    rejects: list[Reject] = []

    def flush() -> Chunk:
        table = pa.table(
            {
                **{n: pa.array(columns[n], pa.string()) for n in names},
                LINE: pa.array(lines, pa.int64()),
            }
        )
        chunk = Chunk(table, list(rejects))
        for values in columns.values():
            values.clear()
        lines.clear()
        rejects.clear()
        return chunk

    with _open_binary(path) as raw:
        for number, data in enumerate(raw, start=1):
            if on_bytes is not None:
                on_bytes(len(data))
            text = data.decode("utf-8-sig" if number == 1 else "utf-8", errors="replace").strip()
            if not text:
                continue
            try:
                obj = json.loads(text, parse_float=Decimal, parse_int=str)
            except json.JSONDecodeError as exc:
                rejects.append(
                    Reject(
                        number, None, f"not valid JSON: {exc.msg}", json.dumps({"raw": text[:2000]})
                    )
                )
                continue
            if not isinstance(obj, dict):
                rejects.append(
                    Reject(number, None, "not a JSON object", json.dumps({"raw": text[:2000]}))
                )
                continue
            obj = {str(k).strip().lower(): v for k, v in obj.items()}
            row: dict[str, str | None] = {}
            problem: Reject | None = None
            for name in names:
                try:
                    row[name] = _json_text(obj.get(name))
                except ValueError as exc:
                    problem = Reject(
                        number, name, f"{name}: {exc}", json.dumps(obj, default=str)[:4000]
                    )
                    break
            if problem is not None:
                rejects.append(problem)
                continue
            for name in names:
                columns[name].append(row[name])
            lines.append(number)
            if len(lines) >= _JSON_CHUNK_ROWS:
                yield flush()
    if lines or rejects:
        yield flush()


_PROFILE_CHUNK_ROWS = 100_000


def read_profiled(
    path: Path,
    kind: Kind,
    profile_path: Path,
    source: str,
    on_bytes: Callable[[int], None] | None = None,
) -> tuple[tuple[str, ...], Iterator[Chunk]]:
    """Read a 3PL export through its CSV profile: the columns supplied, then text chunks.

    The export is read in memory (3PL exports are files of a day or a month); banner lines,
    delimiters, encodings, dates, units and value maps are the profile's business. Rows it
    cannot convert are rejected with their line; a mapped column the export lacks fails
    the file.
    """
    from tallyclerk.connectors import ConnectorError
    from tallyclerk.connectors.csv_profile import load_csv_profile, read_with_profile

    try:
        profile = load_csv_profile(profile_path)
        if profile.kind != kind.name:
            raise InputError(f"{profile_path}: the profile reads {profile.kind}, not {kind.name}")
        with _open_binary(path) as raw:
            data = raw.read()
        profiled = read_with_profile(data, profile, source)
    except ConnectorError as exc:
        raise InputError(str(exc)) from exc
    if on_bytes is not None:
        on_bytes(path.stat().st_size)
    supplied = tuple(c for c in kind.column_names if c in profiled.table.column_names)
    rejects = [Reject(r.line, r.column, r.reason, r.record) for r in profiled.rejects]

    def chunks() -> Iterator[Chunk]:
        table, lines = profiled.table, profiled.lines
        total = table.num_rows
        if total == 0:
            empty = pa.table({n: pa.array([], pa.string()) for n in supplied})
            yield Chunk(_as_kind_table(kind, empty, pa.array([], pa.int64())), list(rejects))
            return
        for start in range(0, total, _PROFILE_CHUNK_ROWS):
            part = table.slice(start, _PROFILE_CHUNK_ROWS)
            chunk = Chunk(
                _as_kind_table(kind, part, lines.slice(start, _PROFILE_CHUNK_ROWS)),
                rejects=list(rejects) if start == 0 else [],
            )
            if start == 0:
                chunk.note = f"read with the CSV profile {profile_path.name}"
            yield chunk

    return supplied, chunks()
