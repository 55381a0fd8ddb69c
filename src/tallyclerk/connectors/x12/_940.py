"""940 warehouse shipping orders: written for each order released to a 3PL, and read back.

Writing: one interchange per order (so a partner can take, refuse or resend each order on its
own), with a single 940 set:

    W05*N*<order id>*<order id>           shipping order identification (N original)
    N1*ST*<name>  N3  N4*city*state*postal*country      ship to, when anything is known
    N1*WH*<facility>*ZZ*<partner's code for it>         the warehouse that ships it
    G62*10*<date>                         requested ship date: the day of the release
    G62*02*<date>                         deliver by: the date promised to the customer
    G62*47*<date>*Z*<time>[*UT]           released: when the order was released to the 3PL
    W66*PP*U***<service level>            carrier information (prepaid, parcel service)
    LX*<line no>  W01*<qty>*EA**SK*<sku>  one loop per order line
    W76*<total quantity>

Reading maps a received 940 to the release it records (`map_940`) or to the whole order
(`read_940s`). Files in the wild name the ship-to as ST or CN (consignee), carry the item as
SK, VN (vendor's item number), another qualified id or only the UPC case code in W01-03,
and put the service in W66-05 (routing) or W66-10 (carrier SCAC). The release time is the
G62*47 date and time when present, else the date and time the group was sent (GS04/GS05),
else the interchange's (ISA09/ISA10). W05-01 F (cancel) and D (delete) cancel an order:
no release is recorded for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation

from tallyclerk.connectors._base import Outbound, Parsed, Position
from tallyclerk.connectors.x12._ack import SetProblem
from tallyclerk.connectors.x12._reader import (
    FunctionalGroup,
    Interchange,
    Segment,
    TransactionSet,
    read,
)
from tallyclerk.connectors.x12._writer import (
    GroupDraft,
    Party,
    SegmentData,
    SetDraft,
    interchange_text,
)

# G62-01 date qualifiers.
REQUESTED_SHIP = "10"
DELIVER_BY = "02"
RELEASED = "47"
# G62-03 time qualifier: mutually defined (the time the G62-01 date qualifier names).
_TIME_QUALIFIER = "Z"
# W05-01 order status codes that withdraw an order: cancel, delete.
CANCELLING = frozenset({"F", "D"})
# G62-05 time codes with a fixed offset from UTC, in hours.
_TIME_CODES = {
    "UT": 0,
    "GM": 0,
    "ES": -5,
    "ED": -4,
    "CS": -6,
    "CD": -5,
    "MS": -7,
    "MD": -6,
    "PS": -8,
    "PD": -7,
    "AS": -4,
    "AD": -3,
    "HS": -10,
}
_SHIP_TO = ("ST", "CN")  # ship to, else consignee
_PARTY_DETAIL = frozenset({"N2", "N3", "N4", "PER"})
_MAX_CONTROL = 999_999_999


@dataclass(slots=True)
class ReleaseOrder:
    """An order released to a 3PL facility: what a 940 carries."""

    order_id: str
    provider_id: str
    facility_id: str | None
    released_at: datetime
    lines: list[tuple[int, str, int]]  # (line_no, sku, qty)
    ship_to_country: str | None = None
    ship_to_postal: str | None = None
    service_level: str | None = None
    promised_delivery_date: date | None = None
    ship_to_name: str | None = None
    ship_to_address1: str | None = None
    ship_to_address2: str | None = None
    ship_to_city: str | None = None
    ship_to_state: str | None = None
    purpose: str = "N"  # W05-01: N original, R change, F cancel


# --- writing ----------------------------------------------------------------------------------


def _safe_name(value: str) -> str:
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in value)
    return cleaned.strip("._")[:80] or "order"


def _control(first: int, offset: int) -> int:
    """Control numbers run 1..999999999 and start again at 1."""
    return (first - 1 + offset) % _MAX_CONTROL + 1


def _released_g62(released_at: datetime) -> SegmentData:
    if released_at.tzinfo is not None:
        moment = released_at.astimezone(UTC)
        return (RELEASED, f"{moment:%Y%m%d}", _TIME_QUALIFIER, f"{moment:%H%M%S}", "UT")
    return (RELEASED, f"{released_at:%Y%m%d}", _TIME_QUALIFIER, f"{released_at:%H%M%S}")


def order_segments(
    order: ReleaseOrder, facility_codes: Mapping[str, str] | None = None
) -> list[SegmentData]:
    """The body of the 940 set for one order (between ST and SE)."""
    body: list[SegmentData] = [("W05", order.purpose or "N", order.order_id, order.order_id)]
    address = [v for v in (order.ship_to_address1, order.ship_to_address2) if v]
    place = (order.ship_to_city, order.ship_to_state, order.ship_to_postal, order.ship_to_country)
    if order.ship_to_name or address or any(place):
        if order.ship_to_name:
            body.append(("N1", "ST", order.ship_to_name))
        else:  # N1 needs a name or an id: the customer is known by the order's id
            body.append(("N1", "ST", "", "91", order.order_id))
        if address:
            body.append(("N3", *address))
        if any(place):
            body.append(("N4", *(v or "" for v in place)))
    if order.facility_id:
        code = (facility_codes or {}).get(order.facility_id, order.facility_id)
        body.append(("N1", "WH", order.facility_id, "ZZ", code))
    body.append(("G62", REQUESTED_SHIP, f"{order.released_at:%Y%m%d}"))
    if order.promised_delivery_date is not None:
        body.append(("G62", DELIVER_BY, f"{order.promised_delivery_date:%Y%m%d}"))
    body.append(("G62", *_released_g62(order.released_at)))
    body.append(("W66", "PP", "U", "", "", order.service_level or ""))
    for line_no, sku, qty in order.lines:
        body.append(("LX", str(line_no)))
        body.append(("W01", str(qty), "EA", "", "SK", sku))
    body.append(("W76", str(sum(qty for _, _, qty in order.lines))))
    return body


def write_940s(
    orders: Sequence[ReleaseOrder],
    *,
    sender: Party,
    receiver: Party,
    first_control: int,
    at: datetime,
    facility_codes: Mapping[str, str] | None = None,
) -> list[Outbound]:
    """One 940 interchange per order; the i-th takes control number ``first_control + i``.

    The interchange and its group share the control number, the set is ST02 0001.
    ``facility_codes`` maps a facility id to the code the partner knows it by (N1*WH N104).
    """
    documents: list[Outbound] = []
    for offset, order in enumerate(orders):
        control = _control(first_control, offset)
        draft = SetDraft("940", "0001", order_segments(order, facility_codes))
        text = interchange_text(
            sender, receiver, control, [GroupDraft("OW", control, "004010", [draft])], at=at
        )
        documents.append(
            Outbound(
                name=f"940-{_safe_name(order.order_id)}-{control:09d}.x12",
                content=text.encode("utf-8"),
                document="940",
                partner=order.provider_id,
                control_number=f"{control:09d}",
                reference=order.order_id,
            )
        )
    return documents


# --- reading ----------------------------------------------------------------------------------


def _digits(value: str) -> bool:
    return value.isascii() and value.isdigit()


def _date(value: str) -> date | None:
    """CCYYMMDD (or YYMMDD, read as 20YY) as a date; None when it is not one."""
    if not _digits(value) or len(value) not in (6, 8):
        return None
    if len(value) == 6:
        value = "20" + value
    try:
        return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
    except ValueError:
        return None


def _moment(day: str, time: str, code: str = "") -> datetime | None:
    """A date and an HHMM[SS[D[D]]] time as a datetime; a G62-05 UTC code gives an offset."""
    when = _date(day)
    if when is None or not _digits(time) or len(time) not in (4, 6, 7, 8):
        return None
    hours, minutes = int(time[:2]), int(time[2:4])
    seconds = int(time[4:6]) if len(time) >= 6 else 0
    if hours > 23 or minutes > 59 or seconds > 59:
        return None
    offset = _TIME_CODES.get(code.upper())
    zone = None if offset is None else (UTC if offset == 0 else timezone(timedelta(hours=offset)))
    return datetime(when.year, when.month, when.day, hours, minutes, seconds, tzinfo=zone)


def _timestamp(value: datetime) -> str:
    """A canonical timestamp: naive, or with its offset."""
    return value.isoformat(timespec="seconds")


def _quantity(value: str) -> int | None:
    try:
        number = Decimal(value)
    except (InvalidOperation, ValueError):
        return None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        return None
    return int(number)


def _sku(w01: Segment) -> str:
    """The item of a W01: SK, else VN, else any qualified id, else the UPC case code."""
    pairs = [(w01.el(i), w01.el(i + 1)) for i in (4, 6)]
    for wanted in ("SK", "VN"):
        for qualifier, value in pairs:
            if qualifier == wanted and value:
                return value
    for qualifier, value in pairs:
        if qualifier and value:
            return value
    return w01.el(3)


@dataclass(slots=True)
class _Party:
    segment: Segment
    name: str
    code: str
    address: list[str] = field(default_factory=list)
    place: tuple[str, str, str, str] = ("", "", "", "")


@dataclass(slots=True)
class _Header:
    """What the heading of a 940 says, with the problems found reading it."""

    w05: Segment | None = None
    parties: dict[str, _Party] = field(default_factory=dict)
    dates: dict[str, Segment] = field(default_factory=dict)
    service_level: str | None = None
    lines: list[tuple[int, str, int]] = field(default_factory=list)
    bad_lines: list[SetProblem] = field(default_factory=list)


def _in_set(tx: TransactionSet, segment: Segment) -> int:
    return segment.number - tx.header.number + 1


def _scan(tx: TransactionSet) -> _Header:
    """One pass over the set's segments."""
    header = _Header()
    party: _Party | None = None
    line_no: int | None = None
    count = 0
    for segment in tx.segments:
        tag = segment.tag
        if tag not in _PARTY_DETAIL:
            party = None
        if tag == "W05" and header.w05 is None:
            header.w05 = segment
        elif tag == "N1":
            party = _Party(segment, segment.el(2), segment.el(4))
            header.parties.setdefault(segment.el(1), party)
        elif tag == "N3" and party is not None:
            party.address.extend(v for v in (segment.el(1), segment.el(2)) if v)
        elif tag == "N4" and party is not None:
            party.place = (segment.el(1), segment.el(2), segment.el(3), segment.el(4))
        elif tag == "G62":
            header.dates.setdefault(segment.el(1), segment)
        elif tag == "W66" and header.service_level is None:
            header.service_level = segment.el(5) or segment.el(10) or None
        elif tag == "LX":
            count += 1
            line_no = int(segment.el(1)) if _digits(segment.el(1)) else count
        elif tag == "W01":
            if line_no is None:
                count += 1
            number = line_no if line_no is not None else count
            line_no = None
            _read_line(tx, segment, number, header)
    return header


def _read_line(tx: TransactionSet, w01: Segment, line_no: int, header: _Header) -> None:
    qty = _quantity(w01.el(1))
    sku = _sku(w01)
    if qty is None:
        header.bad_lines.append(
            SetProblem(
                w01.number,
                "W01",
                _in_set(tx, w01),
                f"W01-01 {w01.el(1)!r} is not a whole number of units",
                element=1,
                element_code="1" if not w01.el(1) else "6",
            )
        )
    elif not sku:
        header.bad_lines.append(
            SetProblem(
                w01.number,
                "W01",
                _in_set(tx, w01),
                "W01 names no item (no SK, VN or other product id, no UPC in W01-03)",
                element=5,
                element_code="1",
            )
        )
    else:
        header.lines.append((line_no, sku, qty))


def _released_at(
    tx: TransactionSet,
    header: _Header,
    group: FunctionalGroup,
    interchange: Interchange,
    problems: list[SetProblem],
) -> datetime | None:
    g62 = header.dates.get(RELEASED)
    if g62 is not None:
        time = g62.el(4) or "0000"
        moment = _moment(g62.el(2), time, g62.el(5))
        if moment is None:
            problems.append(
                SetProblem(
                    g62.number,
                    "G62",
                    _in_set(tx, g62),
                    f"G62*{RELEASED} (released) {g62.el(2)!r} {g62.el(4)!r} is not a date and time",
                    element=2,
                    element_code="8",
                )
            )
        return moment
    moment = _moment(group.header.el(4), group.header.el(5))
    if moment is None:
        moment = _moment(interchange.header.el(9), interchange.header.el(10))
    if moment is None:
        problems.append(
            SetProblem(
                tx.header.number,
                "ST",
                1,
                f"no release time: GS04/GS05 {group.header.el(4)!r} {group.header.el(5)!r} "
                f"and ISA09/ISA10 {interchange.header.el(9)!r} {interchange.header.el(10)!r} "
                "are not a date and time",
                segment_code="8",
            )
        )
    return moment


def _order(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    provider_id: str,
    *,
    default_facility: str | None,
    facilities: Mapping[str, str],
) -> tuple[ReleaseOrder | None, _Header, list[SetProblem]]:
    """The order a 940 carries (None when it names none) and the problems of its heading."""
    header = _scan(tx)
    problems: list[SetProblem] = []
    w05 = header.w05
    if w05 is None:
        problems.append(
            SetProblem(
                tx.header.number,
                "W05",
                2,
                "the 940 has no W05 segment (shipping order identification)",
                segment_code="3",
            )
        )
        return None, header, problems
    order_id = w05.el(2)
    if not order_id:
        problems.append(
            SetProblem(
                w05.number,
                "W05",
                _in_set(tx, w05),
                "W05-02 (the depositor's order number) is empty",
                element=2,
                element_code="1",
            )
        )
    released_at = _released_at(tx, header, group, interchange, problems)
    if not order_id or released_at is None:
        return None, header, problems
    warehouse = header.parties.get("WH")
    facility: str | None = None
    if warehouse is not None and warehouse.code in facilities:
        facility = facilities[warehouse.code]
    elif warehouse is not None and warehouse.name in facilities:
        facility = facilities[warehouse.name]
    elif default_facility:
        facility = default_facility
    elif warehouse is not None and warehouse.code:
        facility = warehouse.code
    ship_to = next((header.parties[q] for q in _SHIP_TO if q in header.parties), None)
    promised_g62 = header.dates.get(DELIVER_BY)
    promised = _date(promised_g62.el(2)) if promised_g62 is not None else None
    address = ship_to.address if ship_to is not None else []
    city, state, postal, country = ship_to.place if ship_to is not None else ("", "", "", "")
    order = ReleaseOrder(
        order_id=order_id,
        provider_id=provider_id,
        facility_id=facility,
        released_at=released_at,
        lines=list(header.lines),
        ship_to_country=country or None,
        ship_to_postal=postal or None,
        service_level=header.service_level,
        promised_delivery_date=promised,
        ship_to_name=(ship_to.name or None) if ship_to is not None else None,
        ship_to_address1=address[0] if address else None,
        ship_to_address2=address[1] if len(address) > 1 else None,
        ship_to_city=city or None,
        ship_to_state=state or None,
        purpose=w05.el(1) or "N",
    )
    return order, header, problems


def map_940(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    provider_id: str,
    parsed: Parsed,
    *,
    default_facility: str | None,
    facilities: Mapping[str, str],
) -> list[SetProblem]:
    """Map a received 940 to the `releases` row it records; return the set's problems.

    The facility is the warehouse's N1*WH N104 code (or N102 name) through ``facilities``,
    else ``default_facility``, else the N104 code itself. Only what the release needs is checked
    (W05-02, the warehouse, the release time); a set with a problem adds no row and each
    problem is also recorded as a reject of the release. A cancelled order (W05-01 F or D)
    adds no row and no problem, only a note.
    """
    order, header, problems = _order(
        tx,
        group,
        interchange,
        provider_id,
        default_facility=default_facility,
        facilities=facilities,
    )
    w05 = header.w05
    if order is not None and w05 is not None and order.purpose in CANCELLING:
        parsed.notes.append(
            f"{w05.position.label}: order {order.order_id} is cancelled "
            f"(W05-01 {order.purpose!r}); no release recorded"
        )
        return problems
    if order is not None and order.facility_id is None:
        warehouse = header.parties.get("WH")
        if warehouse is None:
            anchor = w05 or tx.header
            problems.append(
                SetProblem(
                    anchor.number,
                    "N1",
                    _in_set(tx, anchor) + 1,
                    "no N1*WH segment names the warehouse, and no default facility is set",
                    segment_code="3",
                )
            )
        else:
            problems.append(
                SetProblem(
                    warehouse.segment.number,
                    "N1",
                    _in_set(tx, warehouse.segment),
                    "N1*WH has no warehouse code in N104, and no default facility is set",
                    element=4,
                    element_code="1",
                )
            )
    source = w05 or tx.header
    if problems or order is None:
        tags = {s.number: s.tag for s in (tx.header, *tx.segments)}
        for problem in problems:
            number = problem.segment_number
            parsed.reject(
                "releases",
                Position.segment(number, tags.get(number, problem.segment_id)),
                problem.reason,
                source.text(interchange.delimiters),
            )
        return problems
    parsed.add(
        "releases",
        {
            "order_id": order.order_id,
            "provider_id": provider_id,
            "facility_id": order.facility_id,
            "released_at": _timestamp(order.released_at),
        },
        source.position,
    )
    return problems


def read_940s(
    data: bytes | str,
    *,
    provider_id: str | None = None,
    default_facility: str | None = None,
    facilities: Mapping[str, str] | None = None,
    source: str = "<payload>",
) -> list[ReleaseOrder]:
    """Every order of the 940 sets of a file, in file order (cancellations included).

    The provider is ``provider_id``, else the interchange's receiver (ISA08). Sets that name
    no order (no W05-02) or no release time are left out, and so are lines without a whole
    quantity or an item; ConnectorError when the bytes are not X12 at all.
    """
    orders: list[ReleaseOrder] = []
    for interchange in read(data, source).interchanges:
        provider = provider_id or interchange.receiver[1]
        for group, tx in interchange.transaction_sets():
            if tx.code != "940":
                continue
            order, _, _ = _order(
                tx,
                group,
                interchange,
                provider,
                default_facility=default_facility,
                facilities=facilities or {},
            )
            if order is not None:
                orders.append(order)
    return orders
