"""The simulated data in the formats it really travels in: Shopify webhooks and 3PL X12 files.

`write_real_formats` rewrites, in place, the canonical CSVs the simulator wrote:

- ``orders.csv`` and ``order_lines.csv`` become ``shopify/orders-YYYY-MM.jsonl``: one
  Shopify orders/create webhook body per line (built by the Shopify connector's
  `order_payload`), month by the order's ``placed_at``. The channel is ``source_name``, the
  promised delivery date a note attribute, the order id the order ``id``.
- ``shipments.csv`` and ``shipment_lines.csv`` become 945 warehouse shipping advices,
  ``x12/<provider>/945-<facility>-YYYYMMDD.edi``: one interchange per provider, facility and
  ship day, one transaction set per shipment.
- ``inventory_snapshots.csv`` becomes 846 inventory advices (``846-<facility>-YYYYMMDD.edi``),
  one per facility and snapshot date.
- ``receipts.csv`` becomes 943 stock transfer shipment advices (what was announced, one set per
  receipt id, files by arrival day) and, for receipts that were received, 944 stock transfer
  receipt advices.
- ``returns.csv`` becomes 180 return authorizations (one set per return id, files by the day
  the return was received).

Every X12 file is written by the X12 connector's own writer, sender the provider (its id in
upper case), receiver ``TALLYCLERK``, with interchange control numbers counted from 1 across
the run. Times are written in the facility's local time (its zone from ``contracts/*.yaml``),
with the G62/DTM time code of the offset in force (``ES``, ``CD``, ``PS``, ...) so that every
instant reads back exactly, also in the hour a clock falls back. A mapping profile per
provider, ``profiles/<provider>.yaml``, says where each value is; ingest the X12 directory of
a provider with its profile.

What stays canonical CSV: adjustments (a 947 cannot say whether the brand approved an
adjustment, and the inventory book counts only approved ones), releases, tracking events,
invoice lines, feedback, audits and products. A row that the real format cannot carry
exactly (a missing key or date, a quantity of zero, a value holding an X12 delimiter, an
order whose line numbers are not 1..n, a weight finer than a gram, a line without its
parent) stays in a canonical CSV of its kind; `RealFormats.kept` counts them (the simulator
writes none).

The files are streamed: DuckDB reads and sorts the CSVs (spilling to disk when they outgrow
memory) and the rows are written day by day, so a million orders need little memory.
"""

from __future__ import annotations

import csv
import itertools
import json
import os
import re
import tempfile
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import duckdb

from tallyclerk.connectors.shopify import order_payload
from tallyclerk.connectors.x12._writer import (
    GroupDraft,
    Party,
    SegmentData,
    SetDraft,
    interchange_text,
)

from ._writer import COLUMNS

FORMATS: tuple[str, ...] = ("shopify", "945", "846", "943", "944", "180")
RECEIVER = "TALLYCLERK"

# GS01 functional identifier of each transaction set.
_FUNCTIONAL = {"945": "SW", "846": "IB", "943": "AR", "944": "RE", "180": "AN"}

# RDR-02 code written for each return reason (the profile maps them back).
REASON_CODES: dict[str, str] = {
    "wrong_item": "WG",
    "missing_item": "ZM",
    "damaged": "DA",
    "defective": "DM",
    "late": "SP",
    "no_longer_needed": "CO",
    "other": "ZZ",
}
# RDR-01 code written for each disposition the simulator writes; others get X01, X02, ...
DISPOSITION_CODES: dict[str, str] = {"restock": "RS", "refurbish": "RF", "dispose": "DI"}

# G62-05 / DTM-04 time codes by (whole hours from UTC, daylight saving time in force).
_TIME_CODES: dict[tuple[int, bool], str] = {
    (0, False): "UT",
    (-3, True): "AD",
    (-4, False): "AS",
    (-4, True): "ED",
    (-5, False): "ES",
    (-5, True): "CD",
    (-6, False): "CS",
    (-6, True): "MD",
    (-7, False): "MS",
    (-7, True): "PD",
    (-8, False): "PS",
    (-10, False): "HS",
}

_WHOLE = re.compile(r"[+-]?\d{1,18}")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_MONTH = re.compile(r"\d{4}-\d{2}")
# Characters an X12 element cannot hold with the writer's delimiters (* > ~) or line breaks.
_NOT_IN_X12 = frozenset("*>~\r\n")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
_FETCH = 5000

Row = dict[str, str | None]


@dataclass(frozen=True, slots=True)
class RealFormats:
    """What `write_real_formats` wrote, and the directories to ingest.

    Ingest ``canonical_dir`` (what stays canonical: products, releases, adjustments, ...),
    then ``shopify_dir`` (recognized by its content), then each provider's X12 directory in
    ``x12_dirs`` with that provider's profile (`profile`). ``files`` and ``documents`` count,
    per format (shopify, 945, 846, 943, 944, 180), the files written and the webhook bodies
    or transaction sets in them; ``converted`` counts the canonical rows per kind that a real
    format now carries, ``kept`` those that stay canonical CSV.
    """

    canonical_dir: Path
    shopify_dir: Path
    x12_dirs: dict[str, Path]
    profiles_dir: Path
    files: dict[str, int]
    documents: dict[str, int]
    converted: dict[str, int]
    kept: dict[str, int]

    def profile(self, provider_id: str) -> Path:
        """The X12 mapping profile of a provider."""
        return self.profiles_dir / f"{_file_part(provider_id)}.yaml"


def write_real_formats(data_dir: Path) -> RealFormats:
    """Convert a simulated data directory's store and 3PL files to Shopify JSON and X12.

    The canonical CSVs of orders, order lines, shipments, shipment lines, inventory
    snapshots, receipts and returns are replaced by the real formats (see the module
    docstring); what a real format cannot carry stays in a canonical CSV of its kind.
    """
    data_dir = Path(data_dir)
    clock = _Clock.from_contracts(data_dir / "contracts")
    with tempfile.TemporaryDirectory(prefix="tallyclerk-formats-") as spill:
        source = _Source(data_dir, Path(spill))
        try:
            out = _Output(data_dir, clock)
            _convert_orders(source, out)
            _convert_shipments(source, out)
            _convert_inventory(source, out)
            _convert_receipts(source, out)
            _convert_returns(source, out)
        finally:
            source.close()
    out.finish()
    return out.result()


# -- values ------------------------------------------------------------------------------------


def _whole(value: str | None) -> int | None:
    if value is None or not _WHOLE.fullmatch(value):
        return None
    return int(value)


def _decimal(value: str | None) -> bool:
    return value is not None and _DECIMAL.fullmatch(value) is not None


def _grams(value: str) -> bool:
    """Whether a weight in kilograms is exact to the gram (an X12 weight reads back so)."""
    if not _decimal(value):
        return False
    fraction = value.partition(".")[2]
    return len(fraction.rstrip("0")) <= 3


def _moment(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _fits(*values: str | None) -> bool:
    """Whether every value reads back unchanged from an X12 element."""
    for value in values:
        if value is None:
            continue
        if value != value.strip() or not _NOT_IN_X12.isdisjoint(value):
            return False
    return True


def _file_part(text: str) -> str:
    return _UNSAFE_NAME.sub("_", text) or "_"


class _Clock:
    """Facility time zones, and timestamps as X12 date, time and time code."""

    def __init__(self, zones: dict[str, ZoneInfo]) -> None:
        self.zones = zones

    @staticmethod
    def from_contracts(directory: Path) -> _Clock:
        """The facility zones of every contract in the directory (none when there is none)."""
        from tallyclerk.contracts import load_contract

        zones: dict[str, ZoneInfo] = {}
        if directory.is_dir():
            for path in sorted(directory.glob("*.yaml")):
                for facility in load_contract(path).facilities:
                    try:
                        zones[str(facility.id)] = ZoneInfo(str(facility.timezone))
                    except (ZoneInfoNotFoundError, ValueError):
                        continue
        return _Clock(zones)

    def local(self, facility: str, moment: datetime) -> tuple[datetime, str]:
        """The moment in the facility's local time, and its time code ('' for a naive one).

        When no time code names the local offset, the moment is written in UTC (code UT) so
        that it still reads back as the same instant.
        """
        if moment.tzinfo is None:
            return moment, ""
        zone = self.zones.get(facility)
        local = moment.astimezone(zone) if zone is not None else moment
        code = _time_code(local)
        if code:
            return local, code
        return moment.astimezone(ZoneInfo("UTC")), "UT"

    def stamp(self, facility: str, text: str) -> tuple[str, str, str]:
        """(CCYYMMDD, HHMMSS[DD], time code) of an ISO timestamp."""
        moment = _moment(text)
        assert moment is not None
        local, code = self.local(facility, moment)
        clock = local.strftime("%H%M%S")
        if local.microsecond:
            clock += f"{local.microsecond // 10000:02d}"
        return local.strftime("%Y%m%d"), clock, code

    def day(self, facility: str, text: str) -> date:
        """The facility's local date of an ISO timestamp."""
        moment = _moment(text)
        assert moment is not None
        return self.local(facility, moment)[0].date()


def _time_code(moment: datetime) -> str:
    offset = moment.utcoffset()
    if offset is None or offset.total_seconds() % 3600:
        return ""
    hours = int(offset.total_seconds() // 3600)
    daylight = bool(moment.dst())
    return _TIME_CODES.get((hours, daylight)) or _TIME_CODES.get((hours, not daylight), "")


# -- reading -----------------------------------------------------------------------------------


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class _Source:
    """The canonical CSVs, read and sorted by DuckDB, streamed row by row."""

    def __init__(self, data_dir: Path, spill: Path) -> None:
        self.data_dir = data_dir
        self.con = duckdb.connect(
            config={
                "memory_limit": "512MB",
                "preserve_insertion_order": False,
                "temp_directory": str(spill / "duckdb"),
            }
        )

    def close(self) -> None:
        """Close the DuckDB connection."""
        self.con.close()

    def path(self, kind: str) -> Path:
        """The canonical CSV of a kind."""
        return self.data_dir / f"{kind}.csv"

    def has(self, kind: str) -> bool:
        """Whether the directory holds the canonical CSV of a kind."""
        return self.path(kind).is_file()

    def table(self, kind: str) -> str:
        """A SQL relation of the kind's canonical columns as text (empty without a file)."""
        columns = COLUMNS[kind]
        path = self.path(kind)
        if not path.is_file():
            nulls = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in columns)
            return f"(SELECT {nulls} WHERE false)"
        with path.open(encoding="utf-8-sig", newline="") as handle:
            header = next(csv.reader(handle), [])
        if not header:
            nulls = ", ".join(f'NULL::VARCHAR AS "{c}"' for c in columns)
            return f"(SELECT {nulls} WHERE false)"
        types = "{" + ", ".join(f"{_literal(name)}: 'VARCHAR'" for name in header) + "}"
        picked = ", ".join(f'"{c}"' if c in header else f'NULL::VARCHAR AS "{c}"' for c in columns)
        reader = (
            f"read_csv({_literal(str(path))}, header=true, auto_detect=false, delim=',', "
            f"quote='\"', escape='\"', null_padding=true, columns={types})"
        )
        return f"(SELECT {picked} FROM {reader})"

    def rows(self, sql: str) -> Iterator[Row]:
        """The rows of a query as dicts of text (an empty cell is None)."""
        cursor = self.con.cursor()
        try:
            cursor.execute(sql)
            names = [d[0] for d in cursor.description or ()]
            while batch := cursor.fetchmany(_FETCH):
                for values in batch:
                    yield {
                        n: (None if v is None or v == "" else str(v))
                        for n, v in zip(names, values, strict=True)
                    }
        finally:
            cursor.close()


# -- writing -----------------------------------------------------------------------------------


class _Kept:
    """The rows of one kind that stay canonical, written to a side file until the end."""

    def __init__(self, data_dir: Path, kind: str) -> None:
        self.kind = kind
        self.path = data_dir / f".{kind}.kept.csv"
        self.count = 0
        self._file: IO[str] | None = None
        self._writer: Any = None

    def add(self, row: Row) -> None:
        """Keep one canonical row."""
        if self._writer is None:
            self._file = self.path.open("w", encoding="utf-8", newline="")
            self._writer = csv.writer(self._file, lineterminator="\n")
            self._writer.writerow(COLUMNS[self.kind])
        self._writer.writerow([row.get(c) or "" for c in COLUMNS[self.kind]])
        self.count += 1

    def replace(self, target: Path) -> None:
        """Put the kept rows in place of the converted CSV (or just remove the CSV)."""
        if self._file is not None:
            self._file.close()
            self._file = None
            os.replace(self.path, target)
        else:
            target.unlink(missing_ok=True)


@dataclass
class _Batch:
    """The transaction sets of one file being gathered: provider, code, facility and day."""

    key: tuple[str, str, str, date] | None = None
    sets: list[list[SegmentData]] = field(default_factory=list)


class _Output:
    """Everything written: X12 interchanges, Shopify lines, kept rows and the counts."""

    def __init__(self, data_dir: Path, clock: _Clock) -> None:
        self.data_dir = data_dir
        self.clock = clock
        self.shopify_dir = data_dir / "shopify"
        self.x12_root = data_dir / "x12"
        self.profiles_dir = data_dir / "profiles"
        self.shopify_dir.mkdir(exist_ok=True)
        self.x12_root.mkdir(exist_ok=True)
        self.controls = itertools.count(1)
        self.files: Counter[str] = Counter()
        self.documents: Counter[str] = Counter()
        self.converted: Counter[str] = Counter()
        self.kept: dict[str, _Kept] = {}
        self.providers: dict[str, Path] = {}
        self.dispositions: dict[str, dict[str, str]] = {}
        self._written: set[Path] = set()
        self._batches: dict[str, _Batch] = {}

    # kept rows

    def keep(self, kind: str, row: Row) -> None:
        """A canonical row no real format here can carry exactly."""
        if kind not in self.kept:
            self.kept[kind] = _Kept(self.data_dir, kind)
        self.kept[kind].add(row)

    def replace(self, *kinds: str) -> None:
        """The converted kinds' CSVs give way to their kept rows (if any)."""
        for kind in kinds:
            target = self.data_dir / f"{kind}.csv"
            if kind in self.kept:
                self.kept[kind].replace(target)
            else:
                target.unlink(missing_ok=True)

    # X12

    def add_set(
        self, code: str, provider: str, facility: str, day: date, segments: list[SegmentData]
    ) -> None:
        """One transaction set for the file of its provider, facility and day."""
        batch = self._batches.setdefault(code, _Batch())
        key = (provider, code, facility, day)
        if batch.key != key:
            self.flush(code)
            batch.key = key
        batch.sets.append(segments)

    def flush(self, code: str) -> None:
        """Write the gathered sets of a code as one interchange."""
        batch = self._batches.get(code)
        if batch is None or batch.key is None or not batch.sets:
            return
        provider, _, facility, day = batch.key
        directory = self.x12_root / _file_part(provider)
        directory.mkdir(exist_ok=True)
        self.providers[provider] = directory
        stem = f"{code}-{_file_part(facility)}-{day:%Y%m%d}"
        path = directory / f"{stem}.edi"
        number = 1
        while path in self._written:  # the same day again (rows out of order): a second file
            number += 1
            path = directory / f"{stem}-{number}.edi"
        self._written.add(path)
        control = next(self.controls)
        drafts = [SetDraft(code, f"{n:04d}", segments) for n, segments in enumerate(batch.sets, 1)]
        text = interchange_text(
            Party("ZZ", interchange_id(provider)),
            Party("ZZ", RECEIVER),
            control,
            [GroupDraft(_FUNCTIONAL[code], control, sets=drafts)],
            at=datetime.combine(day, time(23, 59)),
        )
        path.write_text(text, encoding="utf-8")
        self.files[code] += 1
        self.documents[code] += len(drafts)
        batch.key = None
        batch.sets = []

    def disposition_code(self, provider: str, disposition: str) -> str:
        """The RDR-01 code of a disposition (a new X-code for one not known)."""
        codes = self.dispositions.setdefault(provider, dict(DISPOSITION_CODES))
        if disposition not in codes:
            extra = sum(1 for c in codes.values() if c.startswith("X"))
            codes[disposition] = f"X{extra + 1:02d}"
        return codes[disposition]

    def facility_party(self, provider: str, facility: str) -> SegmentData:
        """The N1 segment naming the warehouse (N104 is our facility id)."""
        return ("N1", "WH", f"{provider} {facility}", "91", facility)

    def finish(self) -> None:
        """Write the last files and a mapping profile per provider."""
        for code in list(self._batches):
            self.flush(code)
        if self.providers:
            self.profiles_dir.mkdir(exist_ok=True)
        for provider in sorted(self.providers):
            codes = self.dispositions.get(provider, dict(DISPOSITION_CODES))
            text = profile_text(provider, codes)
            (self.profiles_dir / f"{_file_part(provider)}.yaml").write_text(text, "utf-8")

    def result(self) -> RealFormats:
        """The summary of the run."""
        return RealFormats(
            canonical_dir=self.data_dir,
            shopify_dir=self.shopify_dir,
            x12_dirs=dict(sorted(self.providers.items())),
            profiles_dir=self.profiles_dir,
            files={f: self.files[f] for f in FORMATS},
            documents={f: self.documents[f] for f in FORMATS},
            converted=dict(self.converted),
            kept={kind: kept.count for kind, kept in self.kept.items() if kept.count},
        )


def interchange_id(provider: str) -> str:
    """The ISA id of a provider: its id in upper case (15 characters at most)."""
    return provider.upper()[:15]


def profile_text(provider: str, dispositions: dict[str, str]) -> str:
    """The X12 mapping profile (YAML) of the files written for one provider."""

    def q(text: str) -> str:
        return json.dumps(text, ensure_ascii=False)

    reasons = "\n".join(f"    {q(code)}: {reason}" for reason, code in REASON_CODES.items())
    kinds = "\n".join(
        f"    {q(code)}: {q(text)}" for text, code in sorted(dispositions.items(), key=_by_code)
    )
    return f"""\
# How {provider}'s X12 files carry each canonical field (see tallyclerk.connectors.x12).
format: x12
provider: {q(provider)}
interchange_id: {q(interchange_id(provider))}
# The facility is the N104 of the N1*WH segment: no default_facility is needed.
"945":
  facility: [WH]
  packaging: ["N9:PKG"]
  shipping_cost: ["N9:FRT"]
"846":
  facility: [WH]
"943":
  facility: [WH]
  receipt_id: [W06-02]
  asn_id: [W06-04]
"944":
  facility: [WH]
  receipt_id: [W17-04]
  asn_id: [W17-05]
  arrived_at: ["G62:19"]   # date unloaded, with its time and time code
  stocked_at: ["G62:09"]   # process date: put away
"180":
  facility: [WH]
  return_id: [BGN-02]
  order_id: [PRF-01]
  received_at: ["DTM:050", BGN-03+04]
  processed_at: ["DTM:009"]
  reasons:                 # RDR-02 code -> return reason
{reasons}
  dispositions:            # RDR-01 code -> disposition
{kinds}
"""


def _by_code(item: tuple[str, str]) -> str:
    return item[1]


# -- orders ------------------------------------------------------------------------------------

_ORDER_FIELDS = COLUMNS["orders"]
_LINE_FIELDS = ("line_no", "sku", "qty", "unit_price")


def _convert_orders(source: _Source, out: _Output) -> None:
    if not source.has("orders"):
        return
    orders, lines = source.table("orders"), source.table("order_lines")
    picked = ", ".join(f'o."{c}"' for c in _ORDER_FIELDS)
    joined = ", ".join(f'l."{c}" AS "line_{c}"' for c in _LINE_FIELDS)
    sql = (
        f"SELECT {picked}, {joined} FROM {orders} o "
        f"LEFT JOIN {lines} l ON l.order_id = o.order_id "
        "ORDER BY substr(o.placed_at, 1, 7) NULLS FIRST, o.order_id NULLS FIRST, "
        "TRY_CAST(l.line_no AS BIGINT), l.line_no"
    )
    writer = _MonthFiles(out)
    try:
        for group in _groups(source.rows(sql), "order_id"):
            _order(group, writer, out)
    finally:
        writer.close()
    orphans = (
        f"SELECT * FROM {lines} l WHERE l.order_id IS NULL OR NOT EXISTS "
        f"(SELECT 1 FROM {orders} o WHERE o.order_id = l.order_id)"
    )
    for row in source.rows(orphans):
        out.keep("order_lines", row)
    out.replace("orders", "order_lines")


def _groups(rows: Iterator[Row], key: str) -> Iterator[list[Row]]:
    """Consecutive rows with the same key (a row without a key is a group of its own)."""
    group: list[Row] = []
    for row in rows:
        if group and (row[key] is None or row[key] != group[0][key]):
            yield group
            group = []
        group.append(row)
    if group:
        yield group


class _MonthFiles:
    """One Shopify JSON Lines file open at a time, by the month the order was placed."""

    def __init__(self, out: _Output) -> None:
        self.out = out
        self.month: str | None = None
        self.handle: IO[str] | None = None
        self.started: set[str] = set()

    def write(self, month: str, payload: dict[str, Any]) -> None:
        """Append one webhook body to its month's file."""
        if month != self.month:
            self.close()
            path = self.out.shopify_dir / f"orders-{month}.jsonl"
            new = month not in self.started
            self.handle = path.open("w" if new else "a", encoding="utf-8")
            self.month = month
            if new:
                self.started.add(month)
                self.out.files["shopify"] += 1
        assert self.handle is not None
        self.handle.write(json.dumps(payload, ensure_ascii=False, separators=(",", ":")))
        self.handle.write("\n")
        self.out.documents["shopify"] += 1

    def close(self) -> None:
        """Close the open file."""
        if self.handle is not None:
            self.handle.close()
            self.handle = None
            self.month = None


def _order(group: list[Row], writer: _MonthFiles, out: _Output) -> None:
    heads = list(dict.fromkeys(tuple(r[c] for c in _ORDER_FIELDS) for r in group))
    lines = [
        {"order_id": r["order_id"], **{c: r[f"line_{c}"] for c in _LINE_FIELDS}}
        for r in group
        if r["line_line_no"] is not None or r["line_sku"] is not None
    ]
    order: Row = dict(zip(_ORDER_FIELDS, heads[0], strict=True))
    payload = _order_payload(order, lines) if len(heads) == 1 else None
    if payload is None:
        for head in heads:
            out.keep("orders", dict(zip(_ORDER_FIELDS, head, strict=True)))
        for line in lines:
            out.keep("order_lines", line)
        return
    placed = order["placed_at"] or ""
    month = placed[:7] if _MONTH.fullmatch(placed[:7]) else "undated"
    writer.write(month, payload)
    out.converted["orders"] += 1
    out.converted["order_lines"] += len(lines)


def _order_payload(order: Row, lines: Sequence[Row]) -> dict[str, Any] | None:
    """The webhook body of an order, or None when Shopify JSON cannot carry it exactly."""
    order_id = order["order_id"]
    if order_id is None or _moment(order["placed_at"]) is None:
        return None
    if order["cancelled_at"] is not None and _moment(order["cancelled_at"]) is None:
        return None
    if order["order_value"] is not None and not _decimal(order["order_value"]):
        return None
    items: list[tuple[str, int, str]] = []
    for number, line in enumerate(lines, 1):
        qty = _whole(line["qty"])
        price = line["unit_price"]
        if (
            _whole(line["line_no"]) != number
            or not line["sku"]
            or line["sku"] != line["sku"].strip()
            or qty is None
            or (price is not None and not _decimal(price))
        ):
            return None
        items.append((line["sku"], qty, price if price is not None else "0"))
    if any(value is not None and value != value.strip() for value in order.values()):
        return None  # Shopify text comes back trimmed
    placed = order["placed_at"]
    assert placed is not None
    payload = order_payload(
        order_id,
        f"#{order_id}",
        placed,
        order["currency"] or "",
        order["order_value"] or "0",
        items,
        order["ship_to_country"],
        order["ship_to_postal"],
        order["service_level"],
        cancelled_at=order["cancelled_at"],
    )
    payload["source_name"] = order["channel"]
    payload["currency"] = payload["presentment_currency"] = order["currency"]
    if order["order_value"] is None:
        payload["total_price"] = None
    for item, line in zip(payload["line_items"], lines, strict=True):
        if line["unit_price"] is None:
            item["price"] = None
    if order["promised_delivery_date"] is not None:
        if _day(order["promised_delivery_date"]) is None:
            return None
        payload["note_attributes"] = [
            {"name": "Promised delivery date", "value": order["promised_delivery_date"]}
        ]
    return payload


# -- shipments: 945 ----------------------------------------------------------------------------

_SHIPMENT_FIELDS = COLUMNS["shipments"]


def _convert_shipments(source: _Source, out: _Output) -> None:
    if not source.has("shipments"):
        return
    shipments, lines = source.table("shipments"), source.table("shipment_lines")
    picked = ", ".join(f's."{c}"' for c in _SHIPMENT_FIELDS)
    sql = (
        f'SELECT {picked}, l.sku AS "line_sku", l.qty AS "line_qty" FROM {shipments} s '
        f"LEFT JOIN {lines} l ON l.shipment_id = s.shipment_id "
        "ORDER BY s.provider_id, s.facility_id, substr(s.shipped_at, 1, 10), s.shipment_id, "
        "l.sku"
    )
    for group in _groups(source.rows(sql), "shipment_id"):
        _shipment(group, out)
    out.flush("945")
    orphans = (
        f"SELECT * FROM {lines} l WHERE l.shipment_id IS NULL OR NOT EXISTS "
        f"(SELECT 1 FROM {shipments} s WHERE s.shipment_id = l.shipment_id)"
    )
    for row in source.rows(orphans):
        out.keep("shipment_lines", row)
    out.replace("shipments", "shipment_lines")


def _shipment(group: list[Row], out: _Output) -> None:
    heads = list(dict.fromkeys(tuple(r[c] for c in _SHIPMENT_FIELDS) for r in group))
    ship: Row = dict(zip(_SHIPMENT_FIELDS, heads[0], strict=True))
    lines: list[Row] = [
        {"shipment_id": r["shipment_id"], "sku": r["line_sku"], "qty": r["line_qty"]}
        for r in group
        if r["line_sku"] is not None or r["line_qty"] is not None
    ]
    provider, facility = ship["provider_id"], ship["facility_id"]
    sound = (
        len(heads) == 1
        and ship["shipment_id"] is not None
        and ship["order_id"] is not None
        and provider is not None
        and facility is not None
        and _moment(ship["shipped_at"]) is not None
        and (ship["weight_kg"] is None or _grams(ship["weight_kg"]))
        and (ship["shipping_cost"] is None or _decimal(ship["shipping_cost"]))
        and _fits(*(ship[c] for c in _SHIPMENT_FIELDS))
    )
    if not sound:
        for head in heads:
            out.keep("shipments", dict(zip(_SHIPMENT_FIELDS, head, strict=True)))
        for line in lines:
            out.keep("shipment_lines", line)
        return
    assert provider is not None
    assert facility is not None
    carried: list[tuple[str, int]] = []
    for line in lines:
        qty = _whole(line["qty"])
        sku = line["sku"]
        if sku and qty is not None and qty > 0 and _fits(sku):
            carried.append((sku, qty))
        else:
            out.keep("shipment_lines", line)  # nothing shipped, or not a quantity
    shipped_at = ship["shipped_at"]
    assert shipped_at is not None
    day, clock, code = out.clock.stamp(facility, shipped_at)
    segments: list[SegmentData] = [
        ("W06", "F", ship["order_id"] or "", day, ship["shipment_id"] or ""),
        out.facility_party(provider, facility),
    ]
    for qualifier, column in (("2I", "tracking_number"), ("PKG", "packaging")):
        if ship[column] is not None:
            segments.append(("N9", qualifier, ship[column] or ""))
    if ship["shipping_cost"] is not None:
        segments.append(("N9", "FRT", ship["shipping_cost"] or ""))
    segments.append(("G62", "11", day, "8", clock, code))
    if ship["carrier"] is not None or ship["service"] is not None:
        segments.append(("W27", "U", ship["carrier"] or "", ship["service"] or ""))
    for number, (sku, qty) in enumerate(carried, 1):
        segments.append(("LX", str(number)))
        segments.append(("W12", "CC", str(qty), str(qty), "", "EA", "", "SK", sku))
    units = str(sum(qty for _, qty in carried))
    if ship["weight_kg"] is not None:
        segments.append(("W03", units, ship["weight_kg"] or "", "KG"))
    else:
        segments.append(("W03", units))
    out.add_set("945", provider, facility, out.clock.day(facility, shipped_at), segments)
    out.converted["shipments"] += 1
    out.converted["shipment_lines"] += len(carried)


# -- inventory snapshots: 846 ------------------------------------------------------------------


def _convert_inventory(source: _Source, out: _Output) -> None:
    if not source.has("inventory_snapshots"):
        return
    sql = (
        f"SELECT * FROM {source.table('inventory_snapshots')} "
        "ORDER BY provider_id, facility_id, as_of, sku"
    )
    key: tuple[str, str, date] | None = None
    items: list[Row] = []
    for row in source.rows(sql):
        as_of = _day(row["as_of"])
        provider, facility = row["provider_id"], row["facility_id"]
        if not _snapshot_fits(row) or as_of is None or provider is None or facility is None:
            out.keep("inventory_snapshots", row)
            continue
        if (provider, facility, as_of) != key:
            _snapshot(key, items, out)
            key, items = (provider, facility, as_of), []
        items.append(row)
    _snapshot(key, items, out)
    out.flush("846")
    out.replace("inventory_snapshots")


def _snapshot_fits(row: Row) -> bool:
    on_hand = _whole(row["on_hand"])
    if on_hand is None or on_hand < 0 or not row["sku"]:
        return False
    for column in ("available", "damaged"):
        if row[column] is not None:
            value = _whole(row[column])
            if value is None or value < 0:
                return False
    return _fits(row["provider_id"], row["facility_id"], row["sku"])


def _snapshot(key: tuple[str, str, date] | None, items: list[Row], out: _Output) -> None:
    if key is None or not items:
        return
    provider, facility, as_of = key
    day = f"{as_of:%Y%m%d}"
    segments: list[SegmentData] = [
        ("BIA", "00", "SI", f"{facility}-{day}", day),
        ("DTM", "007", day),
        out.facility_party(provider, facility),
    ]
    for row in items:
        segments.append(("LIN", "", "SK", row["sku"] or ""))
        for qualifier, column in (("17", "on_hand"), ("33", "available"), ("74", "damaged")):
            if row[column] is not None:
                segments.append(("QTY", qualifier, str(_whole(row[column])), "EA"))
    segments.append(("CTT", str(len(items))))
    out.add_set("846", provider, facility, as_of, segments)
    out.converted["inventory_snapshots"] += len(items)


# -- receipts: 943 and 944 ---------------------------------------------------------------------


def _convert_receipts(source: _Source, out: _Output) -> None:
    if not source.has("receipts"):
        return
    sql = (
        f"SELECT * FROM {source.table('receipts')} ORDER BY provider_id, facility_id, "
        "substr(coalesce(arrived_at, stocked_at), 1, 10), receipt_id, asn_id, arrived_at, "
        "stocked_at, sku"
    )
    announced = _SetGroups("943", ("receipt_id", "asn_id"))
    received = _SetGroups("944", ("receipt_id", "asn_id", "arrived_at", "stocked_at"))
    for row in source.rows(sql):
        day = _receipt_day(row, out.clock)
        expected, got = _whole(row["expected_qty"]), _whole(row["received_qty"])
        sound = (
            day is not None
            and row["receipt_id"] is not None
            and bool(row["sku"])
            and (row["expected_qty"] is None or (expected is not None and expected >= 0))
            and (row["received_qty"] is None or (got is not None and got >= 0))
            and (expected is not None or got is not None)
            and _fits(*(row[c] for c in COLUMNS["receipts"]))
        )
        if not sound:
            out.keep("receipts", row)
            continue
        assert day is not None
        if expected is not None:
            announced.add(row, day, out)
        if got is not None:
            received.add(row, day, out)
        out.converted["receipts"] += 1
    announced.close(out)
    received.close(out)
    out.flush("943")
    out.flush("944")
    out.replace("receipts")


def _receipt_day(row: Row, clock: _Clock) -> date | None:
    if row["provider_id"] is None or row["facility_id"] is None:
        return None
    for column in ("arrived_at", "stocked_at"):
        if row[column] is not None and _moment(row[column]) is None:
            return None
    when = row["arrived_at"] or row["stocked_at"]
    return None if when is None else clock.day(row["facility_id"], when)


class _SetGroups:
    """Consecutive rows that share a transaction set's header values become one set."""

    def __init__(self, code: str, header: tuple[str, ...]) -> None:
        self.code = code
        self.header = header
        self.key: tuple[Any, ...] | None = None
        self.rows: list[Row] = []
        self.day: date | None = None

    def add(self, row: Row, day: date, out: _Output) -> None:
        """Add a row, writing the set before it when its header differs."""
        key = (row["provider_id"], row["facility_id"], day, *(row[c] for c in self.header))
        if key != self.key:
            self.close(out)
            self.key, self.day = key, day
        self.rows.append(row)

    def close(self, out: _Output) -> None:
        """Write the gathered set."""
        if not self.rows or self.day is None:
            return
        first = self.rows[0]
        provider, facility = first["provider_id"] or "", first["facility_id"] or ""
        if self.code == "943":
            segments = _943(first, self.rows, self.day, out)
        else:
            segments = _944(first, self.rows, self.day, out)
        out.add_set(self.code, provider, facility, self.day, segments)
        self.rows = []
        self.key = None


def _943(first: Row, rows: list[Row], day: date, out: _Output) -> list[SegmentData]:
    provider, facility = first["provider_id"] or "", first["facility_id"] or ""
    segments: list[SegmentData] = [
        ("W06", "F", first["receipt_id"] or "", f"{day:%Y%m%d}", first["asn_id"] or ""),
        out.facility_party(provider, facility),
    ]
    total = 0
    for row in rows:
        qty = _whole(row["expected_qty"]) or 0
        total += qty
        segments.append(("W04", str(qty), "EA", "", "SK", row["sku"] or ""))
    segments.append(("W03", str(total)))
    return segments


def _944(first: Row, rows: list[Row], day: date, out: _Output) -> list[SegmentData]:
    provider, facility = first["provider_id"] or "", first["facility_id"] or ""
    receipt = first["receipt_id"] or ""
    segments: list[SegmentData] = [
        ("W17", "F", f"{day:%Y%m%d}", receipt, receipt, first["asn_id"] or ""),
        out.facility_party(provider, facility),
    ]
    for qualifier, time_qualifier, column in (("19", "R", "arrived_at"), ("09", "W", "stocked_at")):
        value = first[column]
        if value is not None:
            stamp_day, clock, code = out.clock.stamp(facility, value)
            segments.append(("G62", qualifier, stamp_day, time_qualifier, clock, code))
    total = 0
    for row in rows:
        qty = _whole(row["received_qty"]) or 0
        total += qty
        segments.append(("W07", str(qty), "EA", "", "SK", row["sku"] or ""))
    segments.append(("W14", str(total)))
    return segments


# -- returns: 180 ------------------------------------------------------------------------------


def _convert_returns(source: _Source, out: _Output) -> None:
    if not source.has("returns"):
        return
    sql = (
        f"SELECT * FROM {source.table('returns')} ORDER BY provider_id, facility_id, "
        "substr(received_at, 1, 10), return_id, order_id, received_at, processed_at, sku"
    )
    groups = _ReturnGroups()
    for row in source.rows(sql):
        day = _return_day(row, out.clock)
        if day is None:
            out.keep("returns", row)
            continue
        groups.add(row, day, out)
        out.converted["returns"] += 1
    groups.close(out)
    out.flush("180")
    out.replace("returns")


def _return_day(row: Row, clock: _Clock) -> date | None:
    qty = _whole(row["qty"])
    reason = row["reason"]
    sound = (
        row["return_id"] is not None
        and row["provider_id"] is not None
        and row["facility_id"] is not None
        and bool(row["sku"])
        and qty is not None
        and qty > 0
        and _moment(row["received_at"]) is not None
        and (row["processed_at"] is None or _moment(row["processed_at"]) is not None)
        and (reason is None or reason.strip().lower() in REASON_CODES)
        and _fits(*(row[c] for c in COLUMNS["returns"] if c != "disposition"))
    )
    if not sound:
        return None
    disposition = row["disposition"]
    if disposition is not None and disposition != disposition.strip():
        return None  # the profile's text would come back trimmed
    assert row["facility_id"] is not None
    assert row["received_at"] is not None
    return clock.day(row["facility_id"], row["received_at"])


class _ReturnGroups:
    """Consecutive rows of one return (same id, order and times) become one 180."""

    def __init__(self) -> None:
        self.key: tuple[Any, ...] | None = None
        self.rows: list[Row] = []
        self.day: date | None = None

    def add(self, row: Row, day: date, out: _Output) -> None:
        """Add a row, writing the set before it when it belongs to another return."""
        key = (
            row["provider_id"],
            row["facility_id"],
            day,
            row["return_id"],
            row["order_id"],
            row["received_at"],
            row["processed_at"],
        )
        if key != self.key:
            self.close(out)
            self.key, self.day = key, day
        self.rows.append(row)

    def close(self, out: _Output) -> None:
        """Write the gathered set."""
        if not self.rows or self.day is None:
            return
        out.add_set("180", *_180(self.rows, self.day, out))
        self.rows = []
        self.key = None


def _180(rows: list[Row], day: date, out: _Output) -> tuple[str, str, date, list[SegmentData]]:
    first = rows[0]
    provider, facility = first["provider_id"] or "", first["facility_id"] or ""
    received = first["received_at"] or ""
    received_day, received_clock, received_code = out.clock.stamp(facility, received)
    segments: list[SegmentData] = [
        ("BGN", "00", first["return_id"] or "", received_day, received_clock),
        ("DTM", "050", received_day, received_clock, received_code),
    ]
    if first["processed_at"] is not None:
        segments.append(("DTM", "009", *out.clock.stamp(facility, first["processed_at"])))
    if first["order_id"] is not None:
        segments.append(("PRF", first["order_id"]))
    segments.append(out.facility_party(provider, facility))
    for row in rows:
        segments.append(("BLI", "SK", row["sku"] or "", str(_whole(row["qty"])), "EA"))
        reason = row["reason"]
        disposition = row["disposition"]
        reason_code = REASON_CODES[reason.strip().lower()] if reason is not None else ""
        disposition_code = (
            out.disposition_code(provider, disposition) if disposition is not None else ""
        )
        if reason_code or disposition_code:
            segments.append(("RDR", disposition_code, reason_code))
    return provider, facility, day, segments


__all__ = [
    "DISPOSITION_CODES",
    "FORMATS",
    "REASON_CODES",
    "RealFormats",
    "interchange_id",
    "profile_text",
    "write_real_formats",
]
