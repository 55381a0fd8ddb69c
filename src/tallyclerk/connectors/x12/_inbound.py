"""Inbound X12 transaction sets mapped to canonical records, one function per set.

Each mapping is given a transaction set with its group and interchange, the 3PL's profile,
the provider id and the ``Parsed`` to add to; it returns the problems found, for the 997.

- 945 warehouse shipping advice -> ``shipments`` (one per set) and ``shipment_lines`` (one
  per W12 product; lines of the same SKU are summed; a line with nothing shipped is skipped).
- 846 inventory advice -> ``inventory_snapshots``, one per LIN loop, quantities from its QTY
  segments by the qualifiers of the profile.
- 943 stock transfer shipment advice (W04) and 856 ship notice (LIN + SN1 in the HL loops) ->
  expected ``receipts`` (receipt_id, asn_id, sku, expected_qty).
- 944 stock transfer receipt advice (W07) -> received ``receipts`` (received_qty, arrived_at).
- 947 inventory adjustment advice (W19) -> ``adjustments``, signed by the reason code.
- 180 return merchandise authorization (BLI + RDR) -> ``returns``.

The SKU of an item is the product id whose qualifier comes first in the profile's
``product_qualifiers`` (default SK, VN, BP, IN, UP, UK, EN), else the U.P.C. case code of the
segment when it has one. Records are keyed like the canonical kinds; repeated keys within a
set are summed. A record that cannot be mapped is refused with every reason found, and each
problem becomes an AK3/AK4 entry of the 997 (element code 1 missing, 7 invalid value, 8
invalid date, 9 invalid time).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal
from zoneinfo import ZoneInfo

from tallyclerk.connectors._base import Parsed, Row
from tallyclerk.connectors.x12._ack import SetProblem
from tallyclerk.connectors.x12._profile import ADJUSTMENT_REASONS, Ref, X12Profile
from tallyclerk.connectors.x12._reader import (
    FunctionalGroup,
    Interchange,
    Segment,
    TransactionSet,
)
from tallyclerk.domain import KINDS_BY_NAME

Mapper = Callable[
    [TransactionSet, FunctionalGroup, Interchange, X12Profile, str, Parsed], list[SetProblem]
]

MISSING = "1"  # AK403: mandatory data element missing
INVALID = "7"  # AK403: invalid code value
BAD_DATE = "8"  # AK403: invalid date
BAD_TIME = "9"  # AK403: invalid time
SEGMENT_MISSING = "3"  # AK304: mandatory segment missing

_WHOLE = re.compile(r"([+-]?)(\d+)(?:\.0*)?")
_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
_TIME = re.compile(r"(\d{2})(\d{2})(?:(\d{2})(\d{1,2})?)?")

# DTM-04 / G62-05 time codes: fixed offsets (standard or daylight time) and named zones.
_OFFSETS = {
    "GM": 0,
    "UT": 0,
    "AS": -4,
    "AD": -3,
    "ES": -5,
    "ED": -4,
    "CS": -6,
    "CD": -5,
    "MS": -7,
    "MD": -6,
    "PS": -8,
    "PD": -7,
    "HS": -10,
}
_ZONES = {
    "AT": "America/Halifax",
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
}


@dataclass(frozen=True, slots=True)
class _Fault:
    """Why (part of) a record cannot be mapped, and where, for the reject and the 997."""

    segment: Segment  # the segment at fault, or the one after which a missing one belongs
    reason: str
    element: int | None = None
    code: str = INVALID
    missing_tag: str | None = None  # a mandatory segment that is not there


@dataclass(frozen=True, slots=True)
class _Hit:
    """A value found by a reference."""

    ref: Ref
    segment: Segment
    value: str

    @property
    def label(self) -> str:
        """``W06-03``, or ``G62-02 (G62*11)`` for a qualified reference."""
        return _label(self.segment, self.ref.element, self.ref.qualifier)


def _label(segment: Segment, element: int, qualifier: str | None = None) -> str:
    label = f"{segment.tag}-{element:02d}"
    return f"{label} ({segment.tag}*{qualifier})" if qualifier else label


class _Set:
    """One transaction set being mapped: lookups, faults, and the records it yields."""

    def __init__(
        self,
        tx: TransactionSet,
        interchange: Interchange,
        profile: X12Profile,
        provider_id: str,
        parsed: Parsed,
    ) -> None:
        self.tx = tx
        self.segments = tx.segments
        self.interchange = interchange
        self.profile = profile
        self.provider_id = provider_id
        self.parsed = parsed
        self.problems: list[SetProblem] = []
        self._reported: set[tuple[int, str, int | None, str]] = set()

    # -- faults, rejects and records -------------------------------------------------------

    def _report(self, fault: _Fault) -> None:
        segment = fault.segment
        in_set = max(segment.number - self.tx.header.number + 1, 1)
        key: tuple[int, str, int | None, str]
        if fault.missing_tag is not None:
            key = (segment.number, fault.missing_tag, None, SEGMENT_MISSING)
            problem = SetProblem(
                segment.number,
                fault.missing_tag,
                in_set + 1,
                fault.reason,
                segment_code=SEGMENT_MISSING,
            )
        else:
            key = (segment.number, segment.tag, fault.element, fault.code)
            problem = SetProblem(
                segment.number,
                segment.tag,
                in_set,
                fault.reason,
                element=fault.element,
                element_code=fault.code,
            )
        if key not in self._reported:
            self._reported.add(key)
            self.problems.append(problem)

    def reject(self, kind: str, faults: Sequence[_Fault], anchor: Segment | None) -> None:
        """Refuse one record with every reason found; each fault goes to the 997 once."""
        for fault in faults:
            self._report(fault)
        where = anchor or faults[0].segment
        reasons = list(dict.fromkeys(f.reason for f in faults))
        record = where.text(self.interchange.delimiters)
        self.parsed.reject(kind, where.position, "; ".join(reasons), record)

    def add(self, kind: str, row: Row, anchor: Segment | None) -> None:
        """Add one record at the position of its segment (the ST when it has none)."""
        self.parsed.add(kind, row, (anchor or self.tx.header).position)

    def first(self, tag: str) -> Segment | None:
        """The first segment of the set with the id ``tag``."""
        return next((s for s in self.segments if s.tag == tag), None)

    # -- lookups ---------------------------------------------------------------------------

    def find(self, refs: Sequence[Ref], scope: Sequence[Segment] | None = None) -> _Hit | None:
        """The first value present for the references, in their order."""
        segments = self.segments if scope is None else scope
        for ref in refs:
            for segment in segments:
                if segment.tag != ref.tag:
                    continue
                if ref.qualifier is not None and segment.el(1).upper() != ref.qualifier:
                    continue
                value = segment.el(ref.element)
                if value:
                    return _Hit(ref, segment, value)
        return None

    def missing(self, field: str, refs: Sequence[Ref], near: Segment | None = None) -> _Fault:
        """The fault for a required value that none of the references finds."""
        near = near or self.tx.header
        if not refs:
            return _Fault(
                near, f"{field} is missing: the profile maps no element for it", None, MISSING
            )
        where = ", ".join(str(r) for r in refs)
        reason = f"{field} is missing (looked in {where})"
        ref = refs[0]
        for segment in self.segments:
            if segment.tag == ref.tag and (
                ref.qualifier is None or segment.el(1).upper() == ref.qualifier
            ):
                return _Fault(segment, reason, ref.element, MISSING)
        return _Fault(near, reason, None, MISSING, missing_tag=ref.tag)

    def text(
        self,
        field: str,
        refs: Sequence[Ref],
        faults: list[_Fault],
        *,
        required: bool = False,
        scope: Sequence[Segment] | None = None,
    ) -> str | None:
        """A text value; a fault when required and absent."""
        hit = self.find(refs, scope)
        if hit is None:
            if required:
                faults.append(self.missing(field, refs))
            return None
        return hit.value

    def timestamp(
        self,
        field: str,
        refs: Sequence[Ref],
        faults: list[_Fault],
        *,
        required: bool = False,
    ) -> str | None:
        """An ISO timestamp from a date (and its time, when the reference names one)."""
        hit = self.find(refs)
        if hit is None:
            if required:
                faults.append(self.missing(field, refs))
            return None
        day = parse_date(hit.value)
        if day is None:
            faults.append(
                _Fault(
                    hit.segment,
                    f"{hit.label} {hit.value!r} is not a date (CCYYMMDD)",
                    hit.ref.element,
                    BAD_DATE,
                )
            )
            return None
        moment = time()
        if hit.ref.time_element is not None:
            raw = hit.segment.el(hit.ref.time_element)
            parsed_time = parse_time(raw) if raw else time()
            if parsed_time is None:
                label = _label(hit.segment, hit.ref.time_element, hit.ref.qualifier)
                faults.append(
                    _Fault(
                        hit.segment,
                        f"{label} {raw!r} is not a time (HHMM or HHMMSS)",
                        hit.ref.time_element,
                        BAD_TIME,
                    )
                )
                return None
            moment = parsed_time
        zone = None
        if hit.ref.zone_element is not None:
            zone = _zone(hit.segment.el(hit.ref.zone_element))
        if zone is None and self.profile.timezone:
            zone = ZoneInfo(self.profile.timezone)
        stamp = datetime.combine(day, moment)
        if zone is not None:
            stamp = stamp.replace(tzinfo=zone)
        return stamp.isoformat()

    def decimal(self, field: str, refs: Sequence[Ref], faults: list[_Fault]) -> Decimal | None:
        """A decimal number, when the references find one."""
        hit = self.find(refs)
        if hit is None:
            return None
        if not _DECIMAL.fullmatch(hit.value):
            faults.append(
                _Fault(hit.segment, f"{hit.label} {hit.value!r} is not a number", hit.ref.element)
            )
            return None
        return Decimal(hit.value)

    def whole(
        self,
        segment: Segment,
        element: int,
        faults: list[_Fault],
        *,
        signed: bool = False,
        qualifier: str | None = None,
    ) -> int | None:
        """A whole quantity from one element; a fault when absent, fractional or negative."""
        raw = segment.el(element)
        label = _label(segment, element, qualifier)
        if not raw:
            faults.append(_Fault(segment, f"{label} (the quantity) is empty", element, MISSING))
            return None
        number = parse_whole(raw)
        if number is None:
            faults.append(_Fault(segment, f"{label} {raw!r} is not a whole number", element))
            return None
        if number < 0 and not signed:
            faults.append(_Fault(segment, f"{label} {raw!r} is negative", element))
            return None
        return number

    def facility(self, parties: Sequence[str], faults: list[_Fault]) -> str | None:
        """Our facility: an N1 party the profile maps, else the default, else its own code."""
        named: str | None = None
        for party in parties:
            for segment in self.segments:
                if segment.tag != "N1" or segment.el(1).upper() != party:
                    continue
                for candidate in (segment.el(4), segment.el(2)):
                    mapped = self.profile.facility_for(candidate) if candidate else None
                    if mapped:
                        return mapped
                named = named or segment.el(4) or segment.el(2) or None
        if self.profile.default_facility:
            return self.profile.default_facility
        if named:
            return named
        faults.append(
            _Fault(
                self.tx.header,
                f"no facility: the set has no N1 segment for {' or '.join(parties) or 'any party'}"
                " and the profile has no default_facility (add default_facility: to the profile)",
                None,
                MISSING,
                missing_tag="N1",
            )
        )
        return None

    def product(
        self, segment: Segment, pairs: Sequence[tuple[int, int]], upc: int | None
    ) -> tuple[str | None, _Fault | None]:
        """The SKU of an item: the product id with the most preferred qualifier."""
        ids = [(segment.el(q).upper(), segment.el(v), q) for q, v in pairs if segment.el(v) != ""]
        for wanted in self.profile.product_qualifiers:
            for qualifier, value, _ in ids:
                if qualifier == wanted:
                    return value, None
        if upc is not None and segment.el(upc):
            return segment.el(upc), None
        known = ", ".join(self.profile.product_qualifiers)
        if not ids:
            return None, _Fault(
                segment,
                f"{segment.tag} has no product id (the SKU)",
                pairs[0][1] if pairs else upc,
                MISSING,
            )
        found = ", ".join(f"{q or '(no qualifier)'} {v!r}" for q, v, _ in ids)
        return None, _Fault(
            segment,
            f"{segment.tag} has no product id with a qualifier the profile knows ({known}): "
            f"found {found}; add the right qualifier to product_qualifiers in the profile",
            ids[0][2],
        )


class _Records:
    """Records of one kind keyed like the canonical kind; quantities of a repeated key add up."""

    def __init__(self, kind: str, key: Sequence[str], sums: Sequence[str]) -> None:
        self.kind = kind
        self.key = tuple(key)
        self.sums = tuple(sums)
        self.entries: dict[tuple[str | None, ...], tuple[Row, Segment]] = {}

    def put(self, row: Row, anchor: Segment) -> None:
        """Add a record, or add its quantities to the one already held for its key."""
        key = tuple(row.get(c) for c in self.key)
        held = self.entries.get(key)
        if held is None:
            self.entries[key] = (dict(row), anchor)
            return
        for column in self.sums:
            value = row.get(column)
            if value is None:
                continue
            before = held[0].get(column)
            held[0][column] = str(int(before) + int(value)) if before is not None else value

    def flush(self, s: _Set) -> None:
        """Hand every record to the Parsed."""
        for row, anchor in self.entries.values():
            s.add(self.kind, row, anchor)


# -- values ----------------------------------------------------------------------------------


def parse_date(text: str) -> date | None:
    """A CCYYMMDD or YYMMDD date (YY below 50 is 20YY), else None."""
    if not text.isdigit() or not text.isascii():
        return None
    try:
        if len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:]))
        if len(text) == 6:
            year = int(text[:2])
            return date(2000 + year if year < 50 else 1900 + year, int(text[2:4]), int(text[4:]))
    except ValueError:
        return None
    return None


def parse_time(text: str) -> time | None:
    """An HHMM, HHMMSS, HHMMSSD or HHMMSSDD time, else None."""
    match = _TIME.fullmatch(text) if text.isascii() else None
    if match is None:
        return None
    hours, minutes, seconds, fraction = match.groups()
    try:
        micro = int((fraction or "0").ljust(6, "0")) if fraction else 0
        return time(int(hours), int(minutes), int(seconds or 0), micro)
    except ValueError:
        return None


def parse_whole(text: str) -> int | None:
    """A whole number written as digits (``72``, ``-5``, ``72.00``), else None."""
    match = _WHOLE.fullmatch(text) if text.isascii() else None
    if match is None:
        return None
    number = int(match.group(2))
    return -number if match.group(1) == "-" else number


def _zone(code: str) -> tzinfo | None:
    code = code.upper()
    if code in _OFFSETS:
        hours = _OFFSETS[code]
        return UTC if hours == 0 else timezone(timedelta(hours=hours))
    if code in _ZONES:
        return ZoneInfo(_ZONES[code])
    return None


def _kilograms(value: Decimal) -> str:
    rounded = value.quantize(Decimal("0.001"), rounding=ROUND_HALF_EVEN)
    return format(rounded.normalize(), "f")


def _loops(segments: Sequence[Segment], start: str, stops: frozenset[str]) -> list[list[Segment]]:
    """The loops opened by each ``start`` segment, up to the next start or a stop segment."""
    loops: list[list[Segment]] = []
    current: list[Segment] | None = None
    for segment in segments:
        if segment.tag == start:
            current = [segment]
            loops.append(current)
        elif segment.tag in stops:
            current = None
        elif current is not None:
            current.append(segment)
    return loops


def _pairs(first: int, last: int) -> tuple[tuple[int, int], ...]:
    return tuple((q, q + 1) for q in range(first, last, 2))


_W12_IDS = ((7, 8),)
_W04_IDS = ((4, 5), (6, 7))
_W07_IDS = ((4, 5), (6, 7))
_W19_IDS = ((5, 6), (7, 8), (17, 18))
_LIN_IDS = _pairs(2, 31)
_BLI_IDS = ((1, 2),)


# -- 945 ---------------------------------------------------------------------------------------


def map_945(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
) -> list[SetProblem]:
    """945 warehouse shipping advice -> one shipment and its lines."""
    del group
    s = _Set(tx, interchange, profile, provider_id, parsed)
    p = profile.s945
    faults: list[_Fault] = []
    shipment_id = s.text("shipment_id", p.shipment_id, faults, required=True)
    order_id = s.text("order_id", p.order_id, faults, required=True)
    facility = s.facility(p.facility, faults)
    shipped_at = s.timestamp("shipped_at", p.shipped_at, faults, required=True)
    row: Row = {
        "shipment_id": shipment_id,
        "order_id": order_id,
        "provider_id": provider_id,
        "facility_id": facility,
        "shipped_at": shipped_at,
    }
    for column, column_refs in (
        ("carrier", p.carrier),
        ("service", p.service),
        ("tracking_number", p.tracking_number),
        ("packaging", p.packaging),
    ):
        value = s.text(column, column_refs, faults)
        if value is not None:
            row[column] = value
    weight = _weight(s, faults)
    if weight is not None:
        row["weight_kg"] = weight
    cost = s.decimal("shipping_cost", p.shipping_cost, faults)
    if cost is not None:
        row["shipping_cost"] = format(cost, "f")
    anchor = s.first("W06")
    if faults:
        s.reject("shipments", faults, anchor)
    else:
        s.add("shipments", row, anchor)

    lines = _Records("shipment_lines", ("shipment_id", "sku"), ("qty",))
    for segment in s.segments:
        if segment.tag != "W12":
            continue
        line_faults = list(faults)
        qty = s.whole(segment, 3, line_faults)
        sku, fault = s.product(segment, _W12_IDS, 6)
        if fault is not None:
            line_faults.append(fault)
        if line_faults:
            s.reject("shipment_lines", line_faults, segment)
        elif qty:
            lines.put({"shipment_id": shipment_id, "sku": sku, "qty": str(qty)}, segment)
    lines.flush(s)
    return s.problems


def _weight(s: _Set, faults: list[_Fault]) -> str | None:
    p = s.profile.s945
    weight = s.find(p.weight)
    if weight is None:
        return None
    value = s.decimal("weight", p.weight, faults)
    if value is None:
        return None
    unit_hit = s.find(p.weight_unit, [weight.segment]) or s.find(p.weight_unit)
    if unit_hit is None:
        faults.append(
            _Fault(
                weight.segment,
                f"{weight.label} {weight.value!r} has no weight unit "
                f"(looked in {', '.join(str(r) for r in p.weight_unit) or 'nothing'})",
                p.weight_unit[0].element if p.weight_unit else None,
                MISSING,
            )
        )
        return None
    factor = s.profile.units.get(unit_hit.value.upper())
    if factor is None:
        known = ", ".join(sorted(s.profile.units))
        faults.append(
            _Fault(
                unit_hit.segment,
                f"{unit_hit.label} {unit_hit.value!r} is not a weight unit the profile knows "
                f"({known}); add it under units: in the profile",
                unit_hit.ref.element,
            )
        )
        return None
    return _kilograms(value * factor)


# -- 846 ---------------------------------------------------------------------------------------


def map_846(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
) -> list[SetProblem]:
    """846 inventory advice -> one inventory snapshot per LIN loop."""
    del group
    s = _Set(tx, interchange, profile, provider_id, parsed)
    p = profile.s846
    header: list[_Fault] = []
    facility = s.facility(p.facility, header)
    as_of = s.timestamp("as_of", p.as_of, header, required=True)
    snapshots = _Records(
        "inventory_snapshots",
        ("provider_id", "facility_id", "as_of", "sku"),
        ("on_hand", "available", "damaged"),
    )
    for loop in _loops(s.segments, "LIN", frozenset({"CTT"})):
        lin = loop[0]
        faults = list(header)
        sku, fault = s.product(lin, _LIN_IDS, None)
        if fault is not None:
            faults.append(fault)
        row: Row = {
            "provider_id": provider_id,
            "facility_id": facility,
            "as_of": as_of,
            "sku": sku,
        }
        found_on_hand = False
        for column, qualifiers in (
            ("on_hand", p.on_hand),
            ("available", p.available),
            ("damaged", p.damaged),
        ):
            found, qty = _quantity(s, loop, qualifiers, faults)
            found_on_hand = found_on_hand or (found and column == "on_hand")
            if qty is not None:
                row[column] = str(qty)
        if not found_on_hand:
            seen = ", ".join(q.el(1) for q in loop if q.tag == "QTY" and q.el(1)) or "none"
            wanted = " or ".join(p.on_hand) or "(none mapped)"
            faults.append(
                _Fault(
                    lin,
                    f"LIN {sku or '(no SKU)'} has no on-hand quantity: no QTY with qualifier "
                    f"{wanted}; its QTY qualifiers are {seen}: map the right one under "
                    '"846": on_hand: in the profile',
                    None,
                    MISSING,
                    missing_tag="QTY",
                )
            )
        if faults:
            s.reject("inventory_snapshots", faults, lin)
        else:
            snapshots.put(row, lin)
    snapshots.flush(s)
    return s.problems


def _quantity(
    s: _Set, loop: Sequence[Segment], qualifiers: Sequence[str], faults: list[_Fault]
) -> tuple[bool, int | None]:
    """Whether the loop has a QTY with a listed qualifier (in list order), and its QTY-02."""
    for qualifier in qualifiers:
        for segment in loop:
            if segment.tag == "QTY" and segment.el(1).upper() == qualifier and segment.el(2):
                return True, s.whole(segment, 2, faults, qualifier=qualifier)
    return False, None


# -- 943, 944, 856 -----------------------------------------------------------------------------


def map_943(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
) -> list[SetProblem]:
    """943 stock transfer shipment advice -> expected receipts, one per W04 SKU."""
    del group
    s = _Set(tx, interchange, profile, provider_id, parsed)
    p = profile.s943
    header, base = _receipt_header(s, p.receipt_id, p.asn_id, p.facility)
    items = [segment for segment in s.segments if segment.tag == "W04"]
    _receipt_items(s, header, base, items, _W04_IDS, 3, "expected_qty")
    return s.problems


def map_944(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
) -> list[SetProblem]:
    """944 stock transfer receipt advice -> received receipts, one per W07 SKU."""
    del group
    s = _Set(tx, interchange, profile, provider_id, parsed)
    p = profile.s944
    header, base = _receipt_header(s, p.receipt_id, p.asn_id, p.facility)
    arrived = s.timestamp("arrived_at", p.arrived_at, header)
    if arrived is not None:
        base["arrived_at"] = arrived
    stocked = s.timestamp("stocked_at", p.stocked_at, header)
    if stocked is not None:
        base["stocked_at"] = stocked
    items = [segment for segment in s.segments if segment.tag == "W07"]
    _receipt_items(s, header, base, items, _W07_IDS, 3, "received_qty")
    return s.problems


def map_856(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
) -> list[SetProblem]:
    """856 ship notice -> expected receipts, one per item (LIN with its SN1) SKU."""
    del group
    s = _Set(tx, interchange, profile, provider_id, parsed)
    p = profile.s856
    header, base = _receipt_header(s, p.receipt_id, p.asn_id, p.facility)
    receipts = _Records("receipts", ("receipt_id", "sku"), ("expected_qty",))
    items: list[tuple[Segment | None, Segment | None]] = []  # (LIN, SN1) of each item
    for segment in s.segments:
        if segment.tag == "LIN":
            items.append((segment, None))
        elif segment.tag == "SN1":
            lin, sn1 = items[-1] if items else (None, None)
            if items and sn1 is None and lin is not None:
                items[-1] = (lin, segment)
            else:
                items.append((None, segment))
        elif segment.tag in ("HL", "CTT") and items and items[-1] != (None, None):
            items.append((None, None))  # an HL closes the item before it
    for lin, sn1 in items:
        anchor = lin or sn1
        if anchor is None:
            continue
        faults = list(header)
        sku: str | None = None
        if lin is None:
            faults.append(_Fault(anchor, "SN1 without a LIN: the item has no product id"))
        else:
            sku, fault = s.product(lin, _LIN_IDS, None)
            if fault is not None:
                faults.append(fault)
        qty = None
        if sn1 is None:
            what = f"LIN {sku}" if sku else "LIN"
            reason = f"the item of {what} has no SN1 (the quantity shipped)"
            faults.append(_Fault(anchor, reason, None, MISSING, missing_tag="SN1"))
        else:
            qty = s.whole(sn1, 2, faults)
        if faults:
            s.reject("receipts", faults, anchor)
        elif qty is not None:
            receipts.put({**base, "sku": sku, "expected_qty": str(qty)}, anchor)
    if not any(lin or sn1 for lin, sn1 in items):
        reason = "the ship notice has no items (LIN with SN1)"
        s.reject(
            "receipts",
            [*header, _Fault(s.tx.header, reason, None, MISSING, missing_tag="LIN")],
            None,
        )
    receipts.flush(s)
    return s.problems


def _receipt_header(
    s: _Set, receipt_refs: Sequence[Ref], asn_refs: Sequence[Ref], parties: Sequence[str]
) -> tuple[list[_Fault], Row]:
    header: list[_Fault] = []
    base: Row = {
        "receipt_id": s.text("receipt_id", receipt_refs, header, required=True),
        "provider_id": s.provider_id,
        "facility_id": s.facility(parties, header),
    }
    asn = s.text("asn_id", asn_refs, header)
    if asn is not None:
        base["asn_id"] = asn
    return header, base


def _receipt_items(
    s: _Set,
    header: list[_Fault],
    base: Row,
    items: Sequence[Segment],
    pairs: Sequence[tuple[int, int]],
    upc: int | None,
    column: str,
) -> None:
    receipts = _Records("receipts", ("receipt_id", "sku"), (column,))
    for segment in items:
        faults = list(header)
        qty = s.whole(segment, 1, faults)
        sku, fault = s.product(segment, pairs, upc)
        if fault is not None:
            faults.append(fault)
        if faults:
            s.reject("receipts", faults, segment)
        else:
            receipts.put({**base, "sku": sku, column: str(qty)}, segment)
    if not items:
        item_tag = {"expected_qty": "W04", "received_qty": "W07"}.get(column, "W04")
        s.reject(
            "receipts",
            [
                *header,
                _Fault(
                    s.tx.header,
                    f"the set has no {item_tag} item segment",
                    None,
                    MISSING,
                    missing_tag=item_tag,
                ),
            ],
            None,
        )
    receipts.flush(s)


# -- 947 ---------------------------------------------------------------------------------------


def map_947(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
) -> list[SetProblem]:
    """947 warehouse inventory adjustment advice -> one adjustment per W19."""
    del group
    s = _Set(tx, interchange, profile, provider_id, parsed)
    p = profile.s947
    header: list[_Fault] = []
    adjustment_id = s.text("adjustment_id", p.adjustment_id, header, required=True)
    facility = s.facility(p.facility, header)
    occurred_at = s.timestamp("occurred_at", p.occurred_at, header, required=True)
    details = [segment for segment in s.segments if segment.tag == "W19"]
    for number, segment in enumerate(details, start=1):
        faults = list(header)
        code = segment.el(1).upper()
        direction = p.direction(code) if code else None
        if not code:
            faults.append(
                _Fault(segment, "W19-01 (the adjustment reason code) is empty", 1, MISSING)
            )
        elif direction is None:
            faults.append(
                _Fault(
                    segment,
                    f"W19-01 {code!r} is not a known adjustment reason code: add it under "
                    '"947": reason_codes: in the profile as increase, decrease, signed or status',
                    1,
                )
            )
        if direction == "status":
            text = ADJUSTMENT_REASONS.get(code, (code, "status"))[0]
            s.parsed.notes.append(
                f"{segment.position.label}: W19-01 {code} ({text}) changes stock status, not "
                "quantity: no adjustment recorded"
            )
            continue
        qty = s.whole(segment, 2, faults, signed=True)
        sku, fault = s.product(segment, _W19_IDS, 4)
        if fault is not None:
            faults.append(fault)
        if faults or qty is None:
            s.reject("adjustments", faults, segment)
            continue
        explicit = segment.el(2)[:1] in ("-", "+")
        if not explicit and direction == "decrease":
            qty = -qty
        reason = ADJUSTMENT_REASONS.get(code, (f"code {code}", "signed"))[0]
        ident = adjustment_id if len(details) == 1 else f"{adjustment_id}-{number}"
        row: Row = {
            "adjustment_id": ident,
            "provider_id": provider_id,
            "facility_id": facility,
            "sku": sku,
            "qty_delta": str(qty),
            "occurred_at": occurred_at,
            "reason": f"{reason} ({code})",
        }
        s.add("adjustments", row, segment)
    if not details:
        s.reject(
            "adjustments",
            [
                *header,
                _Fault(s.tx.header, "the set has no W19 item", None, MISSING, missing_tag="W19"),
            ],
            None,
        )
    return s.problems


# -- 180 ---------------------------------------------------------------------------------------


def map_180(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
) -> list[SetProblem]:
    """180 return merchandise authorization and notification -> one return per BLI SKU."""
    del group
    s = _Set(tx, interchange, profile, provider_id, parsed)
    p = profile.s180
    header: list[_Fault] = []
    base: Row = {"return_id": s.text("return_id", p.return_id, header, required=True)}
    order_id = s.text("order_id", p.order_id, header)
    if order_id is not None:
        base["order_id"] = order_id
    base["provider_id"] = provider_id
    base["facility_id"] = s.facility(p.facility, header)
    base["received_at"] = s.timestamp("received_at", p.received_at, header, required=True)
    processed = s.timestamp("processed_at", p.processed_at, header)
    if processed is not None:
        base["processed_at"] = processed
    loops = _loops(s.segments, "BLI", frozenset({"CTT"}))
    opening = next((seg for seg in s.segments if seg.tag in ("BLI", "RDR")), None)
    header_rdr = opening if opening is not None and opening.tag == "RDR" else None
    returns = _Records("returns", ("return_id", "sku"), ("qty",))
    for loop in loops:
        bli = loop[0]
        faults = list(header)
        qty = s.whole(bli, 3, faults)
        sku, fault = s.product(bli, _BLI_IDS, None)
        if fault is not None:
            faults.append(fault)
        if faults:
            s.reject("returns", faults, bli)
            continue
        if not qty:
            continue
        row: Row = {**base, "sku": sku, "qty": str(qty)}
        rdr = next((seg for seg in loop if seg.tag == "RDR"), header_rdr)
        if rdr is not None:
            if rdr.el(2):
                row["reason"] = p.reason(rdr.el(2).upper())
            disposition = p.disposition(rdr.el(1).upper()) if rdr.el(1) else None
            if disposition is not None:
                row["disposition"] = disposition
        returns.put(_ordered(row, "returns"), bli)
    if not loops:
        s.reject(
            "returns",
            [
                *header,
                _Fault(s.tx.header, "the set has no BLI item", None, MISSING, missing_tag="BLI"),
            ],
            None,
        )
    returns.flush(s)
    return s.problems


def _ordered(row: Row, kind: str) -> Row:
    return {c: row[c] for c in KINDS_BY_NAME[kind].column_names if c in row}


MAPPERS: dict[str, Mapper] = {
    "945": map_945,
    "846": map_846,
    "943": map_943,
    "944": map_944,
    "856": map_856,
    "947": map_947,
    "180": map_180,
}

# The canonical kind each set yields (its first, for a set refused whole).
KIND_OF: dict[str, str] = {
    "945": "shipments",
    "846": "inventory_snapshots",
    "943": "receipts",
    "944": "receipts",
    "856": "receipts",
    "947": "adjustments",
    "180": "returns",
}

__all__ = ["KIND_OF", "MAPPERS", "Mapper", "parse_date", "parse_time", "parse_whole"]
