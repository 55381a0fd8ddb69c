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
import re
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from tallyclerk.connectors._base import exact_number, storable, unstorable
from tallyclerk.domain import Kind
from tallyclerk.errors import InputError

LINE = "_line"
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
_JSON_CHUNK_ROWS = 50_000
_ENCODING_NAMES = {"cp1252": "Windows-1252 (cp1252)", "latin-1": "ISO-8859-1 (latin-1)"}
_HEAD = 64 * 1024
_MAX_HEADER = 1024 * 1024  # characters of a header line
_MAX_LINE = 16 * 1024 * 1024  # bytes of a JSON line, or of a CSV line being checked
# A .gz file may decompress to this many times its size (and to 64 MB in any case): more is
# what a gzip bomb does, and it is refused before it fills memory or disk.
_GZIP_RATIO = 200
_GZIP_FREE = 64 * 1024 * 1024
# What other files start with: refused by name rather than read as garbled text.
_MAGIC = (
    (
        b"PK\x03\x04",
        "a ZIP archive (or an Excel workbook)",
        "unpack it, or export the sheet as CSV",
    ),
    (b"PK\x05\x06", "an empty ZIP archive", ""),
    (b"\x1f\x8b", "gzip-compressed", "name it with .gz at the end, as in orders.csv.gz"),
    (b"%PDF-", "a PDF document", ""),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Office file", "export the sheet as CSV"),
    (b"PAR1", "a Parquet file", ""),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive", "unpack it"),
    (b"BZh91AY&SY", "bzip2-compressed", "unpack it"),
    (b"\xfd7zXZ\x00", "xz-compressed", "unpack it"),
    (b"\xff\xfe\x00\x00", "UTF-32 text", "save it as UTF-8"),
    (b"\x00\x00\xfe\xff", "UTF-32 text", "save it as UTF-8"),
)
_NEWLINE = re.compile(r"\r\n|\r|\n")


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


class _Gunzip(io.RawIOBase):
    """A .gz file decompressed while read; refused when it grows like a gzip bomb."""

    def __init__(self, path: Path) -> None:
        self._name = path.name
        self._file = gzip.open(path, "rb")  # noqa: SIM115 (closed by close())
        self._limit = max(_GZIP_FREE, _GZIP_RATIO * path.stat().st_size)
        self._size = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            data = self._file.read(len(buffer))
        except (OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{self._name}: not a readable gzip file ({exc})") from None
        self._size += len(data)
        if self._size > self._limit:
            raise InputError(
                f"{self._name}: decompresses to more than {self._limit:,} bytes "
                f"({_GZIP_RATIO} times its size): refused as a likely gzip bomb"
            )
        n = len(data)
        buffer[:n] = data
        return n

    def close(self) -> None:
        self._file.close()
        super().close()


def _open_binary(path: Path) -> IO[bytes]:
    if path.suffix.lower() == ".gz":
        return io.BufferedReader(_Gunzip(path), buffer_size=1024 * 1024)
    return path.open("rb")


def _head(path: Path) -> bytes:
    with _open_binary(path) as raw:
        return raw.read(_HEAD)


def _check_content(head: bytes, source: str, what: str) -> str | None:
    """Refuse files that are not text by their first bytes; 'utf-16' when it has that BOM."""
    for magic, name, hint in _MAGIC:
        if head.startswith(magic):
            raise InputError(
                f"{source}: line 1: this is {name}, not {what}" + (hint and f": {hint}")
            )
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = head[:4096]
    if len(sample) >= 8:
        even, odd = sample[0::2], sample[1::2]
        for zeros, other, order in ((odd, even, "little"), (even, odd, "big")):
            if zeros.count(0) > 0.9 * len(zeros) and other.count(0) < 0.1 * len(other):
                raise InputError(
                    f"{source}: line 1: the file looks like UTF-16 ({order}-endian) without a "
                    f"byte-order mark: save it as UTF-8 (or UTF-16 with a byte-order mark)"
                )
    return None


def _normalize_header(names: list[str]) -> list[str]:
    return [n.strip().lstrip("\ufeff").strip().lower() for n in names]


def _check_header(kind: Kind, header: list[str], source: str) -> None:
    duplicated = sorted({n for n in header if header.count(n) > 1 and n})
    if duplicated:
        raise InputError(
            storable(f"{source}: line 1: the header repeats column(s) {', '.join(duplicated)}")
        )
    required = [c.name for c in kind.columns if c.required or c.name in kind.key]
    missing = [c for c in required if c not in header]
    if missing:
        found = ", ".join(header)
        found = found if len(found) <= 500 else found[:500] + "..."
        raise InputError(
            storable(
                f"{source}: line 1: the header lacks required column(s) {', '.join(missing)} "
                f"for {kind.name} (expected: {', '.join(kind.column_names)}; found: {found})"
            )
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
    """Stream a canonical CSV file as text chunks, rejecting rows with the wrong field count.

    Rows on lines that cannot be text (a NUL byte; bytes that are not UTF-8 in a file that
    otherwise is) are quarantined with their line and the reason.
    """
    shape = _scan(path, source)
    first = _first_line(path, shape.encoding, source)
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
        encoding="utf-8" if shape.repair else shape.encoding,
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
    record_lines = _record_start_lines(path, shape.encoding, source) if shape.multiline else None
    held = _held_records(shape.bad_lines, record_lines)
    rows_seen = 0
    with _open_binary(path) as raw:
        counted: io.RawIOBase = _CountingReader(raw, on_bytes)
        if shape.repair:
            counted = _Utf8Repair(counted)
        stream = io.BufferedReader(counted, buffer_size=1024 * 1024)
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
                if held:
                    _hold_back(chunk, held)
                if rows_seen == n and shape.encoding in _ENCODING_NAMES:
                    chunk.note = f"not valid UTF-8: read as {_ENCODING_NAMES[shape.encoding]}"
                early.clear()
                yield chunk
        except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
            raise InputError(storable(f"{source}: cannot be read as CSV: {exc}")) from exc
    if early:
        yield Chunk(_as_kind_table(kind, _empty(header), pa.array([], pa.int64())), early)


def _text_of(raw: IO[bytes], encoding: str) -> io.TextIOWrapper:
    """A file's bytes as text in its encoding (a UTF-8 byte-order mark skipped)."""
    return io.TextIOWrapper(
        raw,
        encoding="utf-8-sig" if encoding == "utf-8" else encoding,
        errors="replace",
        newline="",
    )


def _first_line(path: Path, encoding: str, source: str) -> str:
    """The header line as text (at most _MAX_HEADER characters)."""
    with _open_binary(path) as raw:
        text = _text_of(raw, encoding)
        first = text.readline(_MAX_HEADER)
    if len(first) >= _MAX_HEADER and not first.endswith(("\n", "\r")):
        raise InputError(
            f"{source}: line 1: the header is longer than {_MAX_HEADER:,} characters; "
            "is this a CSV file?"
        )
    return first


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
    encoding: str  # utf-8 or utf-16 (by its byte-order mark); else cp1252, or latin-1
    # Lines that cannot be text (line -> why): NUL bytes; bytes that are not UTF-8 in a
    # file whose other lines are UTF-8 (then `repair` reads them as NUL, to be held back).
    bad_lines: dict[int, str] = field(default_factory=dict)
    repair: bool = False


def _scan(path: Path, source: str) -> _Shape:
    """Check the encoding and whether quoted values span lines, in one pass of 8 MB blocks.

    A line with an odd number of quote characters leaves a quoted value open (escaped quotes
    "" keep the count even). A file that is not valid UTF-8 is, in practice, a spreadsheet
    export in Windows-1252, which can encode any byte sequence we meet; unless some of its
    lines hold UTF-8 beyond ASCII: then it is UTF-8 with a few bad lines, which are held back.
    """
    if _check_content(_head(path), source, "a CSV file") == "utf-16":
        return _scan_text(path, "utf-16", source)
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    nul = False
    multiline = False
    pending = b""
    with _open_binary(path) as raw:
        while block := raw.read(8 * 1024 * 1024):
            nul = nul or b"\x00" in block
            if utf8:
                try:
                    decoder.decode(block)
                except UnicodeDecodeError:
                    utf8 = False
            if multiline:
                continue
            data = pending + block
            cut = data.rfind(b"\n") + 1
            complete, rest = data[:cut], data[cut:]
            # Only the parity of the quotes of an unfinished line matters: keep just that.
            pending = b'"' * (rest.count(b'"') % 2)
            if b'"' in complete:
                multiline = any(
                    line.count(b'"') % 2 for line in complete.split(b"\n") if b'"' in line
                )
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    if not multiline and pending:
        multiline = True
    if utf8 and not nul:
        return _Shape(multiline, "utf-8")
    bad, utf8_beyond_ascii = _line_problems(path, source, check_utf8=not utf8)
    if utf8 or utf8_beyond_ascii:
        return _Shape(multiline, "utf-8", bad, repair=not utf8)
    nul_lines = {line: why for line, why in bad.items() if "NUL" in why}
    return _Shape(multiline, _single_byte_encoding(path), nul_lines)


def _line_problems(path: Path, source: str, *, check_utf8: bool) -> tuple[dict[int, str], bool]:
    """Lines with a NUL byte or (`check_utf8`) invalid UTF-8, and whether any line holds
    valid UTF-8 beyond ASCII. Lines end at \\n, \\r or \\r\\n, as for the CSV parser."""
    bad: dict[int, str] = {}
    beyond_ascii = False
    number = 0
    pending = b""
    with _open_binary(path) as raw:
        while True:
            block = raw.read(8 * 1024 * 1024)
            lines = (pending + block).splitlines(keepends=True)
            pending = b""
            if block and lines and (lines[-1].endswith(b"\r") or lines[-1][-1:] != b"\n"):
                pending = lines.pop()  # it may go on in the next block
                if len(pending) > _MAX_LINE:
                    raise InputError(
                        f"{source}: line {number + len(lines) + 1} is longer than "
                        f"{_MAX_LINE:,} bytes; is this a CSV file?"
                    )
            for line in lines:
                number += 1
                zero = line.find(b"\x00")
                if zero >= 0:
                    bad[number] = (
                        f"holds a NUL byte (0x00) at position {zero + 1}, which is not text "
                        "(is the file binary, or UTF-16?)"
                    )
                    continue
                if line.isascii():
                    continue
                try:
                    line.decode("utf-8")
                except UnicodeDecodeError as exc:
                    if check_utf8:
                        bad[number] = (
                            f"not valid UTF-8 (byte 0x{line[exc.start]:02X} at position "
                            f"{exc.start + 1}), unlike the rest of the file: save the file as "
                            "UTF-8 and ingest it again"
                        )
                    continue
                beyond_ascii = True
            if not block:
                return bad, beyond_ascii


def _scan_text(path: Path, encoding: str, source: str) -> _Shape:
    """The shape of a file in a text encoding other than UTF-8 (UTF-16 with its BOM)."""
    bad: dict[int, str] = {}
    multiline = False
    number = 0
    pending = ""
    with _open_binary(path) as raw:
        text = io.TextIOWrapper(raw, encoding=encoding, errors="strict", newline="")
        try:
            while block := text.read(4 * 1024 * 1024):
                data = pending + block
                carry = "\r" if data.endswith("\r") else ""  # a \n may follow in the next block
                parts = _NEWLINE.split(data[: len(data) - len(carry)])
                pending = parts.pop() + carry
                for part in parts:
                    number += 1
                    multiline = multiline or part.count('"') % 2 == 1
                    problem = unstorable(part)
                    if problem is not None:
                        bad[number] = problem
                if len(pending) > _MAX_LINE:
                    raise InputError(
                        f"{source}: line {number + 1} is longer than {_MAX_LINE:,} characters; "
                        "is this a CSV file?"
                    )
        except UnicodeDecodeError as exc:
            raise InputError(
                f"{source}: line {number + 1}: not valid {encoding.upper()} ({exc.reason}), "
                "though the file starts with its byte-order mark"
            ) from None
    if pending:
        problem = unstorable(pending)
        if problem is not None:
            bad[number + 1] = problem
        multiline = multiline or pending.count('"') % 2 == 1
    return _Shape(multiline, encoding, bad)


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


# Bytes that are not UTF-8 are read as NUL characters: the rows holding them are held back.
_AS_NUL = "tallyclerk-as-nul"


def _as_nul(error: UnicodeError) -> tuple[str, int]:
    assert isinstance(error, UnicodeDecodeError)
    return "\x00", error.end


codecs.register_error(_AS_NUL, _as_nul)


class _Utf8Repair(io.RawIOBase):
    """Bytes with every invalid UTF-8 sequence read as a NUL (the rows holding one are held)."""

    def __init__(self, raw: io.RawIOBase) -> None:
        self._raw = raw
        self._decoder = codecs.getincrementaldecoder("utf-8")(_AS_NUL)
        self._out = b""
        self._done = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._out and not self._done:
            data = self._raw.read(1024 * 1024)
            self._done = not data
            self._out = self._decoder.decode(data or b"", final=self._done).encode("utf-8")
        n = min(len(buffer), len(self._out))
        buffer[:n] = self._out[:n]
        self._out = self._out[n:]
        return n


def _held_records(bad_lines: dict[int, str], starts: list[int] | None) -> dict[int, str]:
    """The records to hold back, by the line each starts on (a bad line inside a quoted
    value that spans lines holds back its whole record)."""
    if starts is None or not bad_lines:
        return dict(bad_lines)
    held: dict[int, str] = {}
    for line, why in sorted(bad_lines.items()):
        index = bisect.bisect_right(starts, line) - 1
        if index >= 0:
            start = starts[index]
            where = "" if start == line else f" (its line {line})"
            held.setdefault(start, why + where)
    return held


def _hold_back(chunk: Chunk, held: dict[int, str]) -> None:
    """Move the rows holding a NUL (a NUL byte, or bytes that were not text) to the rejects.

    The reason is the one found for the row's line, when the line-by-line pass and the CSV
    parser agree on where the record starts; a general one otherwise.
    """
    table = chunk.table
    mask: Any = None
    for name in table.column_names:
        if name != LINE:
            found = pc.fill_null(pc.match_substring(table.column(name), "\x00"), False)
            mask = found if mask is None else pc.or_(mask, found)
    if mask is None or not pc.any(mask).as_py():
        return
    for row in table.filter(mask).to_pylist():
        line = row.pop(LINE)
        shown = {
            k: v.replace("\x00", "\ufffd") if isinstance(v, str) else v for k, v in row.items()
        }
        why = held.get(line, "holds a NUL byte, or bytes that are not UTF-8: not text")
        chunk.rejects.append(Reject(line, None, why, json.dumps(shown)[:4000]))
    chunk.table = table.filter(pc.invert(mask))


def _record_start_lines(path: Path, encoding: str, source: str) -> list[int]:
    """The line where each data record starts, counted with a record-aware CSV reader."""
    starts: list[int] = []
    with _open_binary(path) as raw:
        text = _text_of(raw, encoding)
        reader = csv.reader(text)
        previous_end = 1
        try:
            for index, _row in enumerate(reader):
                if index > 0:
                    starts.append(previous_end + 1)
                previous_end = reader.line_num
        except csv.Error as exc:
            raise InputError(
                f"{source}: line {reader.line_num}: cannot be read as CSV ({exc})"
            ) from None
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
        if any(isinstance(v, list | dict) for v in value):
            raise ValueError("is a list holding lists or objects; plain values are expected")
        return ";".join("" if v is None else str(v) for v in value)
    if isinstance(value, dict):
        raise ValueError("is an object; a plain value is expected")
    text = str(value)
    return text if text != "" else None


def _record_text(obj: Any, raw: str) -> str:
    """A record as JSON for the quarantine (its raw line when it cannot be written back)."""
    try:
        return json.dumps(obj, default=str)[:4000]
    except (RecursionError, ValueError):
        return json.dumps({"raw": raw[:2000]})


def _json_lines(path: Path, source: str) -> Iterator[tuple[int, int, str, str | None]]:
    """Each line of a JSON Lines file: its number, bytes, text, and why it is not text.

    Files are UTF-8 (a byte-order mark allowed) or UTF-16 with its byte-order mark. A line
    that is not UTF-8, or longer than _MAX_LINE bytes, comes with the reason instead.
    """
    encoding = _check_content(_head(path), source, "a JSON Lines file")
    with _open_binary(path) as raw:
        if encoding is not None:
            text = io.TextIOWrapper(raw, encoding=encoding, errors="strict")
            number = 0
            try:
                while line := text.readline(_MAX_LINE):
                    number += 1
                    if len(line) >= _MAX_LINE and not line.endswith("\n"):
                        while (more := text.readline(_MAX_LINE)) and not more.endswith("\n"):
                            pass
                        yield number, 2 * len(line), "", _too_long()
                        continue
                    yield number, 2 * len(line), line, None
            except UnicodeDecodeError as exc:
                raise InputError(
                    f"{source}: line {number + 1}: not valid {encoding.upper()} ({exc.reason}), "
                    "though the file starts with its byte-order mark"
                ) from None
            return
        number = 0
        while data := raw.readline(_MAX_LINE + 1):
            number += 1
            size = len(data)
            if size > _MAX_LINE and not data.endswith(b"\n"):
                while (rest := raw.readline(_MAX_LINE)) and not rest.endswith(b"\n"):
                    size += len(rest)
                yield number, size + len(rest), "", _too_long()
                continue
            if number == 1:
                data = data.removeprefix(codecs.BOM_UTF8)
            try:
                yield number, size, data.decode("utf-8"), None
            except UnicodeDecodeError as exc:
                why = (
                    f"not valid UTF-8 (byte 0x{data[exc.start]:02X} at position {exc.start + 1}): "
                    "JSON Lines files are UTF-8; save the file as UTF-8 and ingest it again"
                )
                yield number, size, data.decode("utf-8", errors="replace"), why


def _raw(text: str) -> str:
    return json.dumps({"raw": text[:2000]})


def _too_long() -> str:
    return f"longer than {_MAX_LINE:,} bytes; a JSON Lines record is one line of JSON"


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

    for number, size, line, not_text in _json_lines(path, source):
        if on_bytes is not None:
            on_bytes(size)
        text = line.strip()
        problem: Reject | None = None
        if not_text is not None:
            problem = Reject(number, None, not_text, _raw(text))
        elif not text:
            continue
        else:
            try:
                obj = json.loads(text, parse_float=exact_number, parse_int=str)
            except json.JSONDecodeError as exc:
                problem = Reject(number, None, f"not valid JSON: {exc.msg}", _raw(text))
            except ValueError as exc:
                problem = Reject(number, None, f"not read: {exc}", _raw(text))
            except RecursionError:
                problem = Reject(
                    number, None, "not read: the JSON is nested too deeply", _raw(text)
                )
            else:
                if not isinstance(obj, dict):
                    problem = Reject(number, None, "not a JSON object", _raw(text))
        if problem is not None:
            rejects.append(problem)
            continue
        obj = {str(k).strip().lower(): v for k, v in obj.items()}
        row: dict[str, str | None] = {}
        for name in names:
            try:
                value = _json_text(obj.get(name))
            except ValueError as exc:
                problem = Reject(number, name, f"{name}: {exc}", _record_text(obj, text))
                break
            why = None if value is None else unstorable(value)
            if why is not None:
                problem = Reject(number, name, f"{name} {why}", _record_text(obj, text))
                break
            row[name] = value
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
