"""CSV profiles: read a 3PL's own CSV export as canonical records, described in YAML.

A profile names the canonical kind an export holds, which export column feeds each canonical
column, the date formats and time zones, value maps (carrier codes, yes/no flags), units
(pounds, cents) and fixed values (the provider, the facility). The canonical CSV path reads
the export as text columns named by its header and calls this module to turn them into
canonical text columns; typing and checking then happen in ingest as for canonical files.

Everything here is pure: a profile file is read by `load_csv_profile`, the rest works on
Arrow tables and bytes. Conversions run once per distinct value (exports repeat dates,
codes and quantities), and results are spread back over the rows with Arrow.

    profile = load_csv_profile(Path("heartland-shipments.yaml"))
    names = header_map(profile, header)          # fails early, naming missing columns
    out = apply_profile(profile, table, lines)   # canonical text table, lines, rejects
"""

from __future__ import annotations

import codecs
import csv
import difflib
import io
import json
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple

import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tallyclerk._yamlguard import expansion_problem
from tallyclerk.connectors._base import ConnectorError, unstorable
from tallyclerk.domain import KINDS_BY_NAME, ColumnType, Kind

__all__ = [
    "CsvProfile",
    "DateSpec",
    "Export",
    "ProfileReject",
    "Profiled",
    "UnitSpec",
    "ValueMap",
    "apply_profile",
    "header_map",
    "load_csv_profile",
    "parse_csv_profile",
    "profile_format",
    "read_export",
    "read_with_profile",
]

_NUMERIC = (ColumnType.INTEGER, ColumnType.DECIMAL, ColumnType.FLOAT)
_WHEN = (ColumnType.TIMESTAMP, ColumnType.DATE)
# Exact factors to kilograms (the pound is defined as 0.45359237 kg).
_TO_KG = {
    "kg": Decimal(1),
    "g": Decimal("0.001"),
    "lb": Decimal("0.45359237"),
    "lbs": Decimal("0.45359237"),
    "oz": Decimal("0.028349523125"),
}
_CURRENCY_SYMBOLS = "$€£¥"
_SPACES = " \u00a0\u202f\u2009"
_PLAIN_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_SHOWN = 60
# A moment whose every field differs from strptime's defaults (1900-01-01 00:00:00), to
# check that a format round-trips and to show an example of it in messages.
_SAMPLE = datetime(2026, 3, 9, 14, 15, 30, tzinfo=timezone(timedelta(hours=-5)))


# --- the profile ----------------------------------------------------------------------------


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise ValueError(
            f"unknown time zone {name!r} (use an IANA name such as America/Chicago)"
        ) from None


def _check_zone(name: str | None) -> str | None:
    if name is not None:
        _zone(name)
    return name


ZoneName = Annotated[str | None, AfterValidator(_check_zone)]


class DateSpec(_Strict):
    """How one date or timestamp column is written: strptime format(s) and its time zone."""

    # One format or several tried in order; None means ISO 8601 (2026-03-09T14:15:00).
    format: str | list[str] | None = None
    # The zone of values without an offset; None: the profile's `timezone`.
    timezone: ZoneName = None

    @field_validator("format")
    @classmethod
    def _formats_read_back(cls, value: str | list[str] | None) -> str | list[str] | None:
        formats = [value] if isinstance(value, str) else value or []
        if isinstance(value, list) and not value:
            raise ValueError("give at least one format")
        for fmt in formats:
            _check_format(fmt)
        return value

    @property
    def formats(self) -> tuple[str, ...]:
        """The formats to try, in order (empty: ISO 8601)."""
        if self.format is None:
            return ()
        return (self.format,) if isinstance(self.format, str) else tuple(self.format)


def _check_format(fmt: str) -> None:
    if "%" not in fmt:
        raise ValueError(f"{fmt!r} has no % directive (e.g. %m/%d/%Y %I:%M %p)")
    if "%Z" in fmt:
        raise ValueError(
            f"{fmt!r}: %Z (zone names such as CST) cannot be read reliably; "
            "remove it and set `timezone`"
        )
    try:
        shown = _SAMPLE.strftime(fmt)
        back = datetime.strptime(shown, fmt)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"{fmt!r} is not a usable date format ({exc})") from None
    if back.date() != _SAMPLE.date():
        raise ValueError(f"{fmt!r} lacks the year, the month or the day (%Y, %m, %d)")


class UnitSpec(_Strict):
    """A unit conversion: from a named unit (lb, oz, g, kg, cents) or by an exact factor."""

    from_: Literal["kg", "g", "lb", "lbs", "oz", "cents"] | None = Field(None, alias="from")
    factor: Decimal | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> UnitSpec:
        if (self.from_ is None) == (self.factor is None):
            raise ValueError("give either `from` (lb, lbs, oz, g, kg, cents) or `factor`")
        if self.factor is not None and not self.factor.is_finite():
            raise ValueError("`factor` must be a finite number")
        return self

    @property
    def multiplier(self) -> Decimal:
        """What an export value is multiplied by."""
        if self.factor is not None:
            return self.factor
        if self.from_ == "cents":
            return Decimal("0.01")
        return _TO_KG[str(self.from_)]


class ValueMap(_Strict):
    """A map of export values to canonical ones; `strict` rejects values it does not list."""

    map: dict[str, str | None]
    strict: bool = False
    ignore_case: bool = True

    @model_validator(mode="after")
    def _no_clashes(self) -> ValueMap:
        seen: dict[str, str] = {}
        for key in self.map:
            folded = _fold(key, self.ignore_case)
            if folded in seen and self.map[seen[folded]] != self.map[key]:
                raise ValueError(
                    f"{seen[folded]!r} and {key!r} are the same value and map differently"
                )
            seen[folded] = key
        return self

    def lookup(self) -> dict[str, str | None]:
        """The map with keys as they are matched (trimmed, case-folded unless ignore_case)."""
        return {_fold(k, self.ignore_case): v for k, v in self.map.items()}


def _fold(value: str, ignore_case: bool) -> str:
    value = value.strip()
    return value.casefold() if ignore_case else value


class CsvProfile(_Strict):
    """How to read one 3PL CSV export as records of one canonical kind."""

    format: Literal["csv"]
    kind: str
    description: str | None = None
    provider: str | None = None  # fills provider_id (or its empty cells)
    facility: str | None = None  # fills facility_id (or its empty cells)
    delimiter: str = ","
    encoding: str | None = None  # None: UTF-8, else Windows-1252, like canonical files
    skip_rows: int = Field(0, ge=0, le=10_000)  # banner lines before the header
    decimal_separator: Literal[".", ","] = "."
    thousands_separator: Literal[",", ".", " ", "'"] | None = None
    # canonical column -> export header (or several: the first one present is used)
    columns: dict[str, str | list[str]] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)
    dates: dict[str, DateSpec] = Field(default_factory=dict)
    timezone: ZoneName = None  # the zone of timestamps without an offset
    values: dict[str, ValueMap] = Field(default_factory=dict)
    units: dict[str, UnitSpec] = Field(default_factory=dict)

    _source: str = PrivateAttr(default="<profile>")

    @field_validator("format", mode="before")
    @classmethod
    def _format_any_case(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("delimiter")
    @classmethod
    def _one_character(cls, value: str) -> str:
        value = "\t" if value.lower() in ("tab", "\\t") else value
        if len(value) != 1 or value in '\r\n"':
            raise ValueError('must be one character such as , ; | or a tab ("\\t")')
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                codecs.lookup(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r} (e.g. utf-8, cp1252)") from None
        return value

    @field_validator("columns")
    @classmethod
    def _headers_given(cls, value: dict[str, str | list[str]]) -> dict[str, str | list[str]]:
        for name, headers in value.items():
            listed = [headers] if isinstance(headers, str) else headers
            if not listed or any(not _norm(h) for h in listed):
                raise ValueError(f"{name}: give the export column's header")
        return value

    @field_validator("values", mode="before")
    @classmethod
    def _plain_maps(cls, value: Any) -> Any:
        # `carrier: {FDX: fedex}` is short for `carrier: {map: {FDX: fedex}}`.
        if not isinstance(value, dict):
            return value
        return {
            column: spec
            if isinstance(spec, dict) and isinstance(spec.get("map"), dict)
            else {"map": spec}
            for column, spec in value.items()
        }

    @model_validator(mode="after")
    def _consistent(self, info: ValidationInfo) -> CsvProfile:
        # parse_csv_profile runs the same checks itself, to give each its line in the file.
        if isinstance(info.context, dict) and info.context.get("located"):
            return self
        problems = _cross_check(self)
        if problems:
            raise ValueError("; ".join(f"{'.'.join(loc)}: {msg}" for loc, msg in problems))
        return self

    @property
    def source(self) -> str:
        """The file the profile was read from, for messages."""
        return self._source

    def kind_spec(self) -> Kind:
        """The canonical kind the export holds."""
        return KINDS_BY_NAME[self.kind]

    def headers(self, column: str) -> tuple[str, ...]:
        """The export header(s) a canonical column is read from, in order of preference."""
        given = self.columns[column]
        return (given,) if isinstance(given, str) else tuple(given)

    def fills(self) -> dict[str, str]:
        """Fixed values: the constants plus provider_id and facility_id from the profile."""
        fixed = dict(self.constants)
        if self.provider is not None:
            fixed.setdefault("provider_id", self.provider)
        if self.facility is not None:
            fixed.setdefault("facility_id", self.facility)
        return fixed


# --- reading the YAML -----------------------------------------------------------------------


class _ProfileLoader(yaml.SafeLoader):
    """A SafeLoader that keeps every scalar as text, except an empty value or ~ (null).

    Profiles are full of codes: `01: ups`, `Y: "true"`, `NO: norway`; YAML's usual typing
    would turn those keys into numbers and booleans and break the match with the export.
    Merge keys (`<<: *carriers`) still work, to share a map between profiles' sections.
    """


_KEPT_TAGS = {"tag:yaml.org,2002:null", "tag:yaml.org,2002:merge"}
_ProfileLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag in _KEPT_TAGS]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


@dataclass(frozen=True)
class _Issue:
    line: int | None
    key: str
    message: str


def _fail(source: str, issues: Sequence[_Issue]) -> ConnectorError:
    ordered = sorted(dict.fromkeys(issues), key=lambda i: (i.line is None, i.line or 0, i.key))

    def render(issue: _Issue) -> str:
        where = source if issue.line is None else f"{source}:{issue.line}"
        return (
            f"{where}: {issue.key}: {issue.message}" if issue.key else f"{where}: {issue.message}"
        )

    if len(ordered) == 1:
        return ConnectorError(render(ordered[0]))
    lines = [f"{len(ordered)} problems in the profile {source}:"]
    lines.extend(f"  {render(i)}" for i in ordered)
    return ConnectorError("\n".join(lines))


def _read_yaml(text: str, source: str) -> tuple[Node | None, object]:
    loader: _ProfileLoader | None = None
    try:
        loader = _ProfileLoader(text)
        node = loader.get_single_node()
        if node is not None:
            _check_size(node, source)
        data = None if node is None else loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "cannot be parsed"
        if "'%'" in problem:
            problem += ' (quote values that start with %: format: "%m/%d/%Y")'
        line = None if mark is None else mark.line + 1
        raise _fail(source, [_Issue(line, "", f"invalid YAML: {problem}")]) from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        message = f"invalid YAML: the character U+{code:04X} is not allowed"
        raise _fail(source, [_Issue(line, "", message)]) from None
    except yaml.YAMLError as exc:
        raise _fail(source, [_Issue(None, "", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        raise _fail(source, [_Issue(None, "", "invalid YAML: nested too deeply")]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def _check_size(root: Node, source: str) -> None:
    """Refuse documents whose aliases expand into a huge (or endless) structure."""
    found = expansion_problem(root)
    if found is not None:
        loop = "refers to the node" in found[1]
        message = (
            "the profile refers to itself (an alias loop)" if loop else "the profile is too large"
        )
        raise _fail(source, [_Issue(None, "", message)])


def _line(node: Node) -> int:
    return int(node.start_mark.line) + 1


def _locate(root: Node | None, loc: Sequence[str | int]) -> tuple[str, int | None]:
    """The dotted key of a location and the line of it (or of its closest parent)."""
    key = ""
    node = root
    line = None if root is None else _line(root)
    for segment in loc:
        text = str(segment)
        if text == "[key]":
            continue
        if isinstance(segment, int) and isinstance(node, SequenceNode):
            key += f"[{segment}]"
            node = node.value[segment] if 0 <= segment < len(node.value) else None
            line = line if node is None else _line(node)
            continue
        key += ("." if key else "") + (text if re.fullmatch(r"[\w-]+", text) else repr(text))
        if isinstance(node, MappingNode):
            found = [(k, v) for k, v in node.value if isinstance(k, ScalarNode) and k.value == text]
            if found:
                line = _line(found[-1][0])
                node = found[-1][1]
                continue
        node = None
    return key, line


def _duplicates(root: Node | None) -> list[tuple[tuple[str, ...], int]]:
    found: list[tuple[tuple[str, ...], int]] = []
    stack: list[tuple[Node, tuple[str, ...]]] = [] if root is None else [(root, ())]
    seen_nodes: set[int] = set()
    while stack:
        node, path = stack.pop()
        if id(node) in seen_nodes or not isinstance(node, MappingNode):
            continue
        seen_nodes.add(id(node))
        keys: set[str] = set()
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                if key.value in keys and key.value != "<<":
                    found.append(((*path, key.value), _line(key)))
                keys.add(key.value)
                stack.append((value, (*path, key.value)))
    return found


def _shown_input(value: object) -> str:
    if value is None:
        return "an empty value"
    if isinstance(value, str):
        return repr(value if len(value) <= _SHOWN else value[: _SHOWN - 3] + "...")
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def _model_at(loc: Sequence[str | int]) -> type[BaseModel] | None:
    """The model whose keys a location lists (for 'expected one of' in messages)."""
    if not loc:
        return CsvProfile
    nested: dict[str, type[BaseModel]] = {
        "dates": DateSpec,
        "units": UnitSpec,
        "values": ValueMap,
    }
    if len(loc) == 2 and str(loc[0]) in nested:
        return nested[str(loc[0])]
    return None


def _message(error: ErrorDetails) -> str:
    loc = error["loc"]
    kind = error["type"]
    if kind == "missing":
        return "required key is missing"
    if kind == "extra_forbidden":
        model = _model_at(loc[:-1])
        expected = (
            [f.alias or n for n, f in model.model_fields.items()] if model is not None else []
        )
        close = difflib.get_close_matches(str(loc[-1]), expected, n=1, cutoff=0.7)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return f"unknown key {str(loc[-1])!r} ({hint}expected one of: {', '.join(expected)})"
    if kind == "literal_error" and loc == ("format",):
        return f"this is not a CSV profile (format: csv), got {_shown_input(error['input'])}"
    text = error["msg"]
    if text.startswith("Value error, "):
        return text[len("Value error, ") :]
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping, got {_shown_input(error['input'])}"
    return f"{text[:1].lower()}{text[1:]}, got {_shown_input(error['input'])}"


def _read_text(path: Path) -> str:
    try:
        return Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        reason = f"the profile is not UTF-8 text (byte {exc.start})"
    except OSError as exc:
        reason = f"cannot read the profile: {exc.strerror or exc}"
    raise ConnectorError(f"{path}: {reason}")


def profile_format(path: Path) -> str:
    """The `format` a mapping profile declares (`csv`, `x12`), reading nothing else of it."""
    source = str(path)
    root, data = _read_yaml(_read_text(path), source)
    if not isinstance(data, dict):
        line = None if root is None else _line(root)
        raise _fail(source, [_Issue(line, "", "a profile must be a mapping of keys")])
    value = data.get("format")
    if not isinstance(value, str) or not value.strip():
        line = _locate(root, ["format"] if "format" in data else [])[1]
        raise _fail(
            source,
            [_Issue(line, "format", "the profile must say its format (format: csv or x12)")],
        )
    return value.strip().lower()


def load_csv_profile(path: Path) -> CsvProfile:
    """Read and check a CSV profile; ConnectorError names the file, line and key of each problem."""
    return parse_csv_profile(_read_text(path), str(path))


def parse_csv_profile(text: str, source: str = "<profile>") -> CsvProfile:
    """Check CSV profile YAML given as text (see `load_csv_profile`)."""
    root, data = _read_yaml(text, source)
    if root is None or not isinstance(data, dict):
        line = None if root is None else _line(root)
        raise _fail(source, [_Issue(line, "", "a profile must be a mapping of keys")])
    issues = [
        _Issue(line, _locate(root, loc)[0], "the key is given twice")
        for loc, line in _duplicates(root)
    ]
    try:
        profile = CsvProfile.model_validate(data, context={"located": True})
    except ValidationError as exc:
        for error in exc.errors(include_url=False):
            key, line = _locate(root, error["loc"])
            issues.append(_Issue(line, key, _message(error)))
        raise _fail(source, issues) from None
    for loc, message in _cross_check(profile):
        key, line = _locate(root, loc)
        issues.append(_Issue(line, key, message))
    if issues:
        raise _fail(source, issues)
    profile._source = source
    return profile


def _cross_check(profile: CsvProfile) -> list[tuple[tuple[str, ...], str]]:
    """Problems between keys: columns the kind lacks, required columns nobody supplies."""
    spec = KINDS_BY_NAME.get(profile.kind)
    if spec is None:
        close = difflib.get_close_matches(profile.kind, list(KINDS_BY_NAME), n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return [
            (("kind",), f"unknown kind {profile.kind!r} ({hint}known: {', '.join(KINDS_BY_NAME)})")
        ]
    names = spec.column_names
    problems: list[tuple[tuple[str, ...], str]] = []

    def unknown(section: str, column: str) -> tuple[tuple[str, ...], str]:
        close = difflib.get_close_matches(column, names, n=1, cutoff=0.6)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return (section, column), (
            f"{spec.name} has no column {column!r} ({hint}columns: {', '.join(names)})"
        )

    sections: dict[str, Mapping[str, object]] = {
        "columns": profile.columns,
        "constants": profile.constants,
        "dates": profile.dates,
        "values": profile.values,
        "units": profile.units,
    }
    for section, entries in sections.items():
        problems.extend(unknown(section, c) for c in entries if c not in names)
    for field, column in (("provider", "provider_id"), ("facility", "facility_id")):
        value = getattr(profile, field)
        if value is not None and column not in names:
            problems.append(((field,), f"{spec.name} records have no {column}"))
        elif value is not None and column in profile.constants:
            problems.append(((field,), f"{column} is also set under constants; keep one"))
    for column in profile.constants:
        if column in profile.columns:
            problems.append(
                (("constants", column), f"{column} is also read from the export under columns")
            )
        elif column in profile.values or column in profile.dates or column in profile.units:
            problems.append(
                (("constants", column), f"{column} is a constant: it takes no conversion")
            )
    for section in ("dates", "values", "units"):
        for column in sections[section]:
            if (
                column in names
                and column not in profile.columns
                and column not in profile.constants
            ):
                problems.append(
                    ((section, column), f"{column} is not read from the export (add it to columns)")
                )
    for column in profile.dates:
        if column in names and spec.column(column).type not in _WHEN:
            problems.append((("dates", column), f"{column} is not a date or timestamp column"))
    for column, unit in profile.units.items():
        if column not in names:
            continue
        ctype = spec.column(column).type
        if ctype not in _NUMERIC:
            problems.append((("units", column), f"{column} is not a number column"))
        elif unit.from_ == "cents" and ctype is not ColumnType.DECIMAL:
            problems.append((("units", column), f"{column} is not an amount of money"))
        elif unit.from_ in _TO_KG and not column.endswith("_kg"):
            problems.append((("units", column), f"{column} is not a weight in kg"))
        elif ctype is ColumnType.INTEGER and unit.from_ is not None:
            problems.append((("units", column), f"{column} is a count; use `factor`"))
    supplied = set(profile.columns) | set(profile.fills())
    for needed in spec.columns:
        if (needed.required or needed.name in spec.key) and needed.name not in supplied:
            where = {
                "provider_id": "set `provider`, ",
                "facility_id": "set `facility`, ",
            }.get(needed.name, "")
            problems.append(
                (
                    ("columns",),
                    f"nothing supplies {needed.name}, required for {spec.name} "
                    f"({where}map it under columns or set it under constants)",
                )
            )
    return problems


# --- matching the export's header ------------------------------------------------------------


def _norm(header: str) -> str:
    """A header as it is matched: no byte-order mark, no spaces, case-folded."""
    return "".join(header.replace("\ufeff", "").split()).casefold()


def _resolve(profile: CsvProfile, header: Sequence[str]) -> tuple[dict[str, int], list[str]]:
    """Canonical column -> index of its export column, and the problems found."""
    positions: dict[str, list[int]] = {}
    for index, name in enumerate(header):
        positions.setdefault(_norm(str(name)), []).append(index)
    found: dict[str, int] = {}
    problems: list[str] = []
    for column in profile.columns:
        wanted = profile.headers(column)
        for name in wanted:
            hits = positions.get(_norm(name), [])
            if len(hits) > 1:
                numbers = ", ".join(str(i + 1) for i in hits)
                problems.append(
                    f"the export has {len(hits)} columns named {name!r} (columns {numbers}; "
                    f"profile columns.{column})"
                )
                break
            if hits:
                found[column] = hits[0]
                break
        else:
            names = " or ".join(repr(n) for n in wanted)
            problems.append(f"the export has no column {names} (profile columns.{column})")
    return found, problems


def _header_error(
    profile: CsvProfile, header: Sequence[str], problems: list[str], source: str
) -> ConnectorError:
    shown = ", ".join(repr(str(h)) for h in header[:40]) + (", ..." if len(header) > 40 else "")
    return ConnectorError(
        f"{source}: {'; '.join(problems)}. The export's columns: {shown or 'none'}. "
        f"Profile: {profile.source}"
    )


def header_map(
    profile: CsvProfile, header: Sequence[str], source: str = "<export>"
) -> dict[str, str]:
    """Canonical column -> the export header it is read from; ConnectorError naming what lacks.

    Headers match ignoring case and spaces. Call it on the header row before reading rows to
    stop early on an export that does not fit the profile.
    """
    found, problems = _resolve(profile, header)
    if problems:
        raise _header_error(profile, header, problems, source)
    return {column: str(header[index]) for column, index in found.items()}


# --- converting values ----------------------------------------------------------------------

# A converter takes one trimmed, non-empty export value and returns (value, problem).
_Converter = Callable[[str], tuple[str | None, str | None]]


def _quoted(value: str) -> str:
    return '"' + (value if len(value) <= _SHOWN else value[: _SHOWN - 3] + "...") + '"'


def _date_converter(
    column: str, formats: tuple[str, ...], zone: tzinfo | None, is_date: bool
) -> _Converter:
    if formats:
        examples = " or ".join(f"{f} (e.g. {_SAMPLE.strftime(f)})" for f in formats)
        expected = f"does not match the date format {examples}"
    else:
        expected = (
            "is not an ISO 8601 date (e.g. 2026-03-09T14:15:00); give its format under "
            f"dates.{column}"
        )

    def parse(value: str) -> datetime | None:
        for fmt in formats:
            try:
                return datetime.strptime(value, fmt)
            except ValueError:
                continue
        if not formats:
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                return None
        return None

    def convert(value: str) -> tuple[str | None, str | None]:
        try:
            moment = parse(value)
            if moment is None:
                return None, expected
            if is_date:
                if moment.tzinfo is not None and zone is not None:
                    moment = moment.astimezone(zone)
                return moment.date().isoformat(), None
            if moment.tzinfo is None and zone is not None:
                moment = moment.replace(tzinfo=zone)
            return moment.isoformat(), None
        except (ValueError, OverflowError):
            return None, f"{expected} (it is out of range)"

    return convert


@dataclass(frozen=True, slots=True)
class _NumberStyle:
    decimal: str
    thousands: str | None


def _clean_number(text: str, style: _NumberStyle) -> Decimal | None:
    """The number in an export cell, or None: $1,234.50, (12.00), 1.234,5 € with a style."""
    s = text.strip(_SPACES)
    negative = False
    if s.startswith("(") and s.endswith(")"):
        negative, s = True, s[1:-1].strip(_SPACES)
    sign = ""
    if s[:1] in ("+", "-"):
        sign, s = s[:1], s[1:]
    s = s.strip(_CURRENCY_SYMBOLS + _SPACES)
    if not sign and s[:1] in ("+", "-"):
        sign, s = s[:1], s[1:]
    if style.thousands is not None:
        group = f"[{_SPACES}]" if style.thousands == " " else re.escape(style.thousands)
        whole, point, fraction = s.partition(style.decimal)
        if re.search(group, whole):
            if not re.fullmatch(rf"\d{{1,3}}({group}\d{{3}})+", whole):
                return None
            whole = re.sub(group, "", whole)
        s = whole + point + fraction
    if style.decimal == ",":
        if "." in s:
            return None
        s = s.replace(",", ".")
    if not _PLAIN_NUMBER.fullmatch(s):
        return None
    number = Decimal(sign + s)
    return -number if negative else number


def _number_converter(ctype: ColumnType, unit: UnitSpec | None, style: _NumberStyle) -> _Converter:
    multiplier = None if unit is None else unit.multiplier
    cents = unit is not None and unit.from_ == "cents"

    def convert(value: str) -> tuple[str | None, str | None]:
        try:
            number = _clean_number(value, style)
        except InvalidOperation:
            number = None
        if number is None:
            return None, "is not a number"
        if cents:
            number = number.scaleb(-2)
        elif multiplier is not None and multiplier != 1:
            number = (number * multiplier).normalize()
        if ctype is ColumnType.INTEGER:
            if number != number.to_integral_value():
                return None, "is not a whole number"
            return str(int(number)), None
        if number.is_zero():
            number = number.copy_abs()
        return format(number, "f"), None

    return convert


def _map_converter(spec: ValueMap, then: _Converter | None) -> _Converter:
    lookup = spec.lookup()
    known = sorted(spec.map)
    listed = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")

    def convert(value: str) -> tuple[str | None, str | None]:
        key = _fold(value, spec.ignore_case)
        if key in lookup:
            mapped = lookup[key]
            if mapped is None or not mapped.strip():
                return None, None
            value = mapped.strip()
        elif spec.strict:
            return None, f"is not in the value map (known: {listed})"
        return then(value) if then is not None else (value, None)

    return convert


def _converter(profile: CsvProfile, column: str) -> _Converter | None:
    """The conversion a canonical column's values need, or None to pass them through."""
    ctype = profile.kind_spec().column(column).type
    convert: _Converter | None = None
    if ctype in _WHEN:
        spec = profile.dates.get(column)
        zone_name = spec.timezone if spec is not None and spec.timezone else profile.timezone
        if spec is not None or zone_name is not None:
            zone = _zone(zone_name) if zone_name is not None else None
            formats = spec.formats if spec is not None else ()
            convert = _date_converter(column, formats, zone, ctype is ColumnType.DATE)
    elif ctype in _NUMERIC:
        style = _NumberStyle(profile.decimal_separator, profile.thousands_separator)
        convert = _number_converter(ctype, profile.units.get(column), style)
    values = profile.values.get(column)
    if values is not None:
        convert = _map_converter(values, convert)
    return convert


# --- applying a profile to a table -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProfileReject:
    """A row of the export the profile could not convert (fields as in ingest's Reject)."""

    line: int | None
    column: str | None  # the first canonical column at fault
    reason: str
    record: str | None  # the export row as JSON, by export header


class Profiled(NamedTuple):
    """An export chunk in canonical form: text columns, their lines, and the rows refused."""

    table: pa.Table  # canonical names (the columns the profile supplies), text values
    lines: pa.Array  # the line of each row of `table`
    rejects: list[ProfileReject]


def _text_array(column: pa.ChunkedArray | pa.Array) -> pa.Array:
    array = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_string(array.type):
        array = pc.cast(array, pa.string())
    return array


def _convert_column(
    array: pa.Array, convert: _Converter, column: str, header: str
) -> tuple[pa.Array, pa.Array | None]:
    """Converted values and, where a value failed, the problem (None when all passed)."""
    distinct = pc.unique(array.drop_null())
    outputs: list[str | None] = []
    problems: list[str | None] = []
    any_problem = False
    for raw in distinct.to_pylist():
        text = raw.strip(_SPACES + "\t\r\n")
        if not text:
            outputs.append(None)
            problems.append(None)
            continue
        try:
            value, problem = convert(text)
        except (ValueError, ArithmeticError):
            value, problem = None, "cannot be converted"
        outputs.append(value)
        if problem is not None:
            any_problem = True
            problem = f"{column}: {_quoted(text)} in column {header!r} {problem}"
        problems.append(problem)
    index = pc.index_in(array, value_set=distinct)
    values = pc.take(pa.array(outputs, pa.string()), index)
    if not any_problem:
        return values, None
    return values, pc.take(pa.array(problems, pa.string()), index)


def apply_profile(
    profile: CsvProfile,
    table: pa.Table,
    lines: pa.Array | pa.ChunkedArray,
    source: str = "<export>",
) -> Profiled:
    """Turn text columns named by the export header into the canonical columns of the profile.

    Returns the canonical table (only the columns the profile supplies, in the kind's order),
    the lines of its rows, and a reject for every row with a value the profile cannot convert
    (all its problems in one reason). Rows whose every cell is blank are dropped, as blank
    lines are. ConnectorError when the export lacks a mapped column.
    """
    found, missing = _resolve(profile, table.column_names)
    if missing:
        raise _header_error(profile, table.column_names, missing, source)
    spec = profile.kind_spec()
    line_array = _text_lines(lines)
    blank = _blank_rows(table)
    if blank is not None:
        table, line_array = table.filter(pc.invert(blank)), line_array.filter(pc.invert(blank))
    n = table.num_rows
    outputs: dict[str, pa.Array] = {}
    problems: list[tuple[str, pa.Array]] = []
    fills = profile.fills()
    for column in spec.column_names:
        if column in found:
            index = found[column]
            array = _text_array(table.column(index))
            convert = _converter(profile, column)
            if convert is not None:
                array, bad = _convert_column(array, convert, column, str(table.column_names[index]))
                if bad is not None:
                    problems.append((column, bad))
            if column in fills:
                array = pc.coalesce(array, pa.scalar(fills[column], pa.string()))
            outputs[column] = array
        elif column in fills:
            outputs[column] = pa.repeat(pa.scalar(fills[column], pa.string()), n)
    result = pa.table(outputs)
    if not problems:
        return Profiled(result, line_array, [])
    bad_mask = pc.is_valid(problems[0][1])
    for _, bad in problems[1:]:
        bad_mask = pc.or_(bad_mask, pc.is_valid(bad))
    bad_rows = pc.indices_nonzero(bad_mask)
    names = [str(name) for name in table.column_names]
    raw_rows = table.take(bad_rows)
    raw_columns = [raw_rows.column(i).to_pylist() for i in range(len(names))]
    messages = [(column, bad.take(bad_rows).to_pylist()) for column, bad in problems]
    rejects: list[ProfileReject] = []
    for row, line in enumerate(line_array.take(bad_rows).to_pylist()):
        reasons = [(column, found_[row]) for column, found_ in messages if found_[row]]
        raw = {name: values[row] for name, values in zip(names, raw_columns, strict=True)}
        record = json.dumps(raw, default=str, ensure_ascii=False)[:4000]
        rejects.append(
            ProfileReject(line, reasons[0][0], "; ".join(str(m) for _, m in reasons), record)
        )
    keep = pc.invert(bad_mask)
    return Profiled(result.filter(keep), line_array.filter(keep), rejects)


def _blank_rows(table: pa.Table) -> pa.Array | None:
    """Which rows have nothing but empty or blank cells, or None when no row does."""
    mask = None
    for index in range(table.num_columns):
        cells = _text_array(table.column(index))
        blank = pc.fill_null(pc.equal(pc.utf8_trim_whitespace(cells), ""), True)
        mask = blank if mask is None else pc.and_(mask, blank)
    if mask is None or not pc.any(mask).as_py():
        return None
    return mask


def _text_lines(lines: pa.Array | pa.ChunkedArray) -> pa.Array:
    array = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    return array if array.type == pa.int64() else pc.cast(array, pa.int64())


# --- reading an export held in memory ---------------------------------------------------------


class Export(NamedTuple):
    """An export split into text columns: its header, the rows, their lines, broken rows."""

    header: list[str]
    table: pa.Table
    lines: pa.Array
    rejects: list[ProfileReject]


def _decode(data: bytes, encoding: str | None, source: str) -> str:
    if encoding is None and data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        encoding = "utf-16"  # as its byte-order mark says
    if encoding is not None:
        try:
            return data.decode(encoding)
        except UnicodeDecodeError as exc:
            raise ConnectorError(
                f"{source}: not valid {encoding} (byte {exc.start}); check the profile's encoding"
            ) from None
    for candidate in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def read_export(data: bytes, profile: CsvProfile, source: str = "<export>") -> Export:
    """Split an export's bytes into text columns by its header, as the profile describes.

    Banner lines (`skip_rows`) are passed over, blank rows skipped, and rows with the wrong
    number of fields rejected with their line. For files that fit in memory; large files
    go through ingest's streaming reader instead.
    """
    text = _decode(data, profile.encoding, source)
    offset = 0
    for _ in range(profile.skip_rows):
        newline = text.find("\n", offset)
        offset = len(text) if newline < 0 else newline + 1
    reader = csv.reader(io.StringIO(text[offset:], newline=""), delimiter=profile.delimiter)
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)
    except csv.Error as exc:
        raise ConnectorError(f"{source}: the header cannot be read: {exc}") from None
    if header is None:
        raise ConnectorError(
            f"{source}: the file has no header row"
            + (f" after {profile.skip_rows} banner line(s)" if profile.skip_rows else "")
        )
    header = [h.replace("\ufeff", "").strip() for h in header]
    width = len(header)
    cells: list[list[str | None]] = [[] for _ in header]
    lines: list[int] = []
    rejects: list[ProfileReject] = []
    end = reader.line_num
    while True:
        start = end + 1
        try:
            row = next(reader, None)
        except csv.Error as exc:
            rejects.append(
                ProfileReject(
                    start + profile.skip_rows, None, f"cannot be read as CSV: {exc}", None
                )
            )
            break
        end = reader.line_num
        if row is None:
            break
        if not any(cell.strip() for cell in row):
            continue
        line = start + profile.skip_rows
        held = next((why for cell in row if (why := unstorable(cell)) is not None), None)
        if held is not None:
            raw = json.dumps({"raw": profile.delimiter.join(row)[:2000]})
            rejects.append(ProfileReject(line, None, f"the row {held}", raw))
            continue
        if len(row) != width:
            raw = json.dumps({"raw": profile.delimiter.join(row)[:2000]}, ensure_ascii=False)
            rejects.append(
                ProfileReject(line, None, f"expected {width} fields, found {len(row)}", raw)
            )
            continue
        for index, cell in enumerate(row):
            cells[index].append(cell if cell != "" else None)
        lines.append(line)
    arrays = [pa.array(values, pa.string()) for values in cells]
    table = pa.Table.from_arrays(arrays, names=header)
    return Export(header, table, pa.array(lines, pa.int64()), rejects)


def read_with_profile(data: bytes, profile: CsvProfile, source: str = "<export>") -> Profiled:
    """Read an export held in memory and convert it (read_export, header_map, apply_profile)."""
    export = read_export(data, profile, source)
    header_map(profile, export.header, source)
    profiled = apply_profile(profile, export.table, export.lines)
    rejects = sorted([*export.rejects, *profiled.rejects], key=lambda r: r.line or 0)
    return Profiled(profiled.table, profiled.lines, rejects)
