"""The X12 mapping profile of one 3PL: which elements and qualifiers carry each canonical field.

Real 3PLs fill the same transaction sets differently: one puts the tracking number in an
``N9*2I``, another in ``N9*CN``; one reports stock on hand as ``QTY*17``, another as
``QTY*33``. A profile (YAML) says where to look; every key is optional except ``format``,
and the defaults below follow common X12 004010 warehouse practice::

    format: x12                  # required: this is an X12 profile (a CSV profile says csv)
    provider: westcoast          # optional; the --provider option wins
    interchange_id: WESTCOAST3PL # the 3PL's ISA id for the 940s sent to it (else the provider)
    default_facility: reno-1     # when the document names no facility that maps
    facilities: {ACME01: reno-1} # N1 code (N104) or name (N102) -> our facility_id
    strict_envelope: false       # true: a GE/IEA count or control mismatch rejects the group
    timezone: null               # read X12 dates in this IANA zone (else: the facility's)
    units: {LB: 0.45359237}      # weight unit -> kilograms (added to LB, L, KG, K, OZ, GR)
    product_qualifiers: [SK, VN, BP, IN, UP, UK, EN]   # which product id is the SKU, in order
    "945":                       # warehouse shipping advice -> shipments, shipment_lines
      facility: [WH, SF]         # N1 entity codes naming the facility, in order
      order_id: [W06-02]
      shipment_id: [W06-04, W06-02]
      shipped_at: ["G62:11", W06-03]
      carrier: [W27-02]          # SCAC
      service: [W27-03]          # routing
      tracking_number: ["N9:2I", "N9:CN"]
      packaging: []              # e.g. ["N9:PKG"]
      shipping_cost: []          # e.g. ["N9:FRT"]
      weight: [W03-02]
      weight_unit: [W03-03]
    "846":                       # inventory advice -> inventory_snapshots
      facility: [WH]
      as_of: ["DTM:007", BIA-04+05]
      on_hand: ["17", "33"]      # QTY01 qualifiers: 17 quantity on hand, 33 available for sale
      available: ["33"]
      damaged: ["74"]            # 74 damaged goods
    "943": {facility: [WH, ST], receipt_id: [W06-02], asn_id: [W06-02]}
    "944": {facility: [WH], receipt_id: [W17-04], asn_id: [W17-04],
            arrived_at: [W17-02+07], stocked_at: []}
    "856": {facility: [ST, WH], receipt_id: [BSN-02], asn_id: [BSN-02]}
    "947":
      facility: [WH]
      adjustment_id: [W15-02, W15-03]
      occurred_at: [W15-01, G62-02+04]
      reason_codes: {ZZ: decrease}   # W19-01 code -> increase | decrease | signed | status
    "180":
      facility: [WH, ST]
      return_id: [BGN-02]
      order_id: [PRF-01]
      received_at: [BGN-03+04]
      processed_at: []
      reasons: {NA: wrong_item}      # RDR-02 code -> return reason (added to the defaults)
      dispositions: {RA: restock}    # RDR-01 code -> disposition text (added to the defaults)

References (each key takes one or a list; the first one that is present and not empty wins):

- ``SEG-NN``: element NN of the first segment SEG that has it (``W06-02``).
- ``SEG:QUAL``: the first segment SEG whose first element is QUAL, at its usual value
  element: N9, REF, QTY, AMT, MAN, PRF: 02; N1: 04; MEA: 03; G62: date 02 with time 04 and
  time code 05; DTM: date 02 with time 03 and time code 04; any other segment: 02.
- ``SEG:QUAL-NN``: element NN of that segment (``N9:LV-03``).
- ``+NN`` after either form names the element holding the time for a date (``BIA-04+05``).

Dates are CCYYMMDD or YYMMDD, times HHMM, HHMMSS or with decimal seconds; they become ISO
text in the facility's local time, or with an offset when the document gives a time code
(DTM-04, G62-05) or the profile a ``timezone``.

The 947 direction of each W19-01 reason code: ``increase`` and ``decrease`` give the sign of
an unsigned W19-02 (an explicit sign always wins), ``signed`` takes W19-02 as written (a
credit when unsigned), ``status`` marks a change of stock status that moves no quantity
(no adjustment is recorded). Codes in neither the defaults nor the profile are refused.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, Field, PlainValidator, ValidationError, field_validator
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from tallyclerk._yamlguard import expansion_problem
from tallyclerk.connectors._base import ConnectorError
from tallyclerk.domain import ReturnReason

_NULL = "tag:yaml.org,2002:null"
_MERGE = "tag:yaml.org,2002:merge"

# Where a qualified reference (SEG:QUAL) finds its value: (value, time, time code) elements.
_QUALIFIED: dict[str, tuple[int, int | None, int | None]] = {
    "N9": (2, None, None),
    "REF": (2, None, None),
    "QTY": (2, None, None),
    "AMT": (2, None, None),
    "MAN": (2, None, None),
    "PRF": (2, None, None),
    "N1": (4, None, None),
    "MEA": (3, None, None),
    "G62": (2, 4, 5),
    "DTM": (2, 3, 4),
}

_REF = re.compile(
    r"(?P<tag>[A-Z][A-Z0-9]{1,2})"
    r"(?::(?P<qualifier>[A-Z0-9]{1,3}))?"
    r"(?:-(?P<element>\d{1,2})(?:\+(?P<time>\d{1,2}))?)?"
)
_CODE = re.compile(r"[A-Z0-9]{1,3}")


@dataclass(frozen=True, slots=True)
class Ref:
    """Where a value sits in a transaction set: a segment id, maybe a qualifier, an element."""

    tag: str
    element: int
    qualifier: str | None = None
    time_element: int | None = None
    zone_element: int | None = None
    text: str = ""

    def __str__(self) -> str:
        return self.text or f"{self.tag}-{self.element:02d}"

    @staticmethod
    def parse(text: str) -> Ref:
        """Read ``W06-02``, ``N9:2I``, ``N9:LV-03`` or ``BIA-04+05``; ValueError if it is none."""
        written = text.strip().upper()
        match = _REF.fullmatch(written)
        if match is None or (match["qualifier"] is None and match["element"] is None):
            raise ValueError(
                f"{text!r} is not a reference: write SEG-NN (W06-02), SEG:QUALIFIER (N9:2I) "
                "or SEG:QUALIFIER-NN (N9:LV-03), with +NN for the time element of a date "
                "(BIA-04+05)"
            )
        tag, qualifier = match["tag"], match["qualifier"]
        element = int(match["element"]) if match["element"] else None
        time = int(match["time"]) if match["time"] else None
        if element == 0 or time == 0:
            raise ValueError(f"{text!r}: elements are counted from 01")
        zone = None
        if qualifier is not None and element is None:
            element, usual_time, zone = _QUALIFIED.get(tag, (2, None, None))
            time = usual_time if time is None else time
        elif qualifier is not None and tag in _QUALIFIED:
            zone = _QUALIFIED[tag][2]
        assert element is not None
        return Ref(tag, element, qualifier, time, zone, written)


def refs(*texts: str) -> tuple[Ref, ...]:
    """References from their written forms."""
    return tuple(Ref.parse(text) for text in texts)


def _to_list(value: object, what: str) -> list[object]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return list(value)
    raise ValueError(f"expected {what} or a list of them, got {type(value).__name__}")


def _validate_refs(value: object) -> tuple[Ref, ...]:
    found: list[Ref] = []
    for item in _to_list(value, "a reference such as W06-02"):
        if isinstance(item, Ref):
            found.append(item)
        elif isinstance(item, str):
            found.append(Ref.parse(item))
        else:
            raise ValueError(f"{item!r} is not a reference such as W06-02 or N9:2I")
    return tuple(found)


def _validate_codes(value: object) -> tuple[str, ...]:
    found: list[str] = []
    for item in _to_list(value, "a code such as WH"):
        text = str(item).strip().upper() if isinstance(item, str | int) else None
        if text is None or not _CODE.fullmatch(text):
            raise ValueError(f"{item!r} is not an X12 code (1 to 3 letters or digits)")
        found.append(text)
    return tuple(found)


Refs = Annotated[tuple[Ref, ...], PlainValidator(_validate_refs)]
Codes = Annotated[tuple[str, ...], PlainValidator(_validate_codes)]
Direction = Literal["increase", "decrease", "signed", "status"]
ReturnReasonCode = Literal[
    "wrong_item", "missing_item", "damaged", "defective", "late", "no_longer_needed", "other"
]
assert set(get_args(ReturnReasonCode)) == {r.value for r in ReturnReason}

# W19-01 quantity or status adjustment reason codes: (readable text, direction).
ADJUSTMENT_REASONS: dict[str, tuple[str, Direction]] = {
    "04": ("receipt less than previously reported", "decrease"),
    "05": ("product put on hold", "status"),
    "07": ("product dumped or destroyed", "decrease"),
    "51": ("unable-to-locate product located", "increase"),
    "52": ("recoup or rework of damaged product", "signed"),
    "53": ("shipment less than previously reported", "signed"),
    "55": ("product taken off hold", "status"),
    "56": ("book adjustment increase", "increase"),
    "AA": ("physical count", "signed"),
    "AB": ("accounting error", "signed"),
    "AC": ("condition change", "signed"),
    "AD": ("purpose change", "signed"),
    "AE": ("reidentification", "signed"),
    "AF": ("stock number change", "signed"),
    "AG": ("ownership change", "signed"),
    "AH": ("other", "signed"),
    "AI": ("disaster", "decrease"),
    "AK": ("transfer", "signed"),
    "AL": ("capitalization", "signed"),
    "AN": ("unit of issue change", "signed"),
    "AR": ("order shipment error", "signed"),
    "AS": ("recouping", "signed"),
    "AT": ("prepack preparation", "signed"),
    "AU": ("damaged in facility", "decrease"),
    "AV": ("damaged in transit", "decrease"),
    "AW": ("product recall", "decrease"),
    "AX": ("shelf-life obsolescence", "decrease"),
    "AY": ("receipt error", "signed"),
    "BM": ("replacement", "signed"),
    "BN": ("tariff deduction", "signed"),
    "BR": ("regrade", "signed"),
    "BS": ("downgrade", "signed"),
    "CD": ("product donations", "decrease"),
    "CO": ("consignment", "signed"),
    "TC": ("tax conversion", "signed"),
}

# RDR-02 return request reason codes -> the return-reason vocabulary.
RETURN_REASONS: dict[str, ReturnReasonCode] = {
    "DA": "damaged",  # damaged product
    "DT": "damaged",  # damaged in transit
    "DP": "damaged",  # defective packaging
    "PS": "damaged",  # product spoiled
    "DM": "defective",  # defective merchandise or store inspection
    "DR": "defective",  # defective merchandise or returned by consumer
    "PW": "defective",  # poor workmanship
    "WG": "wrong_item",  # wrong goods or not ordered
    "SP": "late",  # shipped past cancel date
    "CO": "no_longer_needed",  # customer ordering error
    "EI": "no_longer_needed",  # excess inventory
    "EO": "no_longer_needed",  # end of season
}

# RDR-01 returns disposition codes -> disposition text (map one to "restock" to count it in
# the inventory book).
DISPOSITIONS: dict[str, str] = {
    "CR": "consumer return to vendor",
    "DI": "dispose",
    "KA": "keep with an allowance",
    "KR": "keep and repair",
    "MW": "manufacturer warranty service",
    "PA": "partially authorized",
    "RA": "return with authorization number",
    "RD": "request denied",
    "RF": "return for factory repair",
    "RN": "return without authorization number",
    "RP": "return authorization pending",
    "RT": "ship to third party",
    "SC": "ship to third party for charitable contribution",
    "SD": "ship to third party for disposal",
}

UNITS: dict[str, Decimal] = {
    "LB": Decimal("0.45359237"),
    "L": Decimal("0.45359237"),
    "KG": Decimal("1"),
    "K": Decimal("1"),
    "OZ": Decimal("0.028349523125"),
    "GR": Decimal("0.001"),
}

PRODUCT_QUALIFIERS = ("SK", "VN", "BP", "IN", "UP", "UK", "EN")


def _upper_keys(value: object) -> object:
    if isinstance(value, Mapping):
        return {str(k).strip().upper() if isinstance(k, str) else k: v for k, v in value.items()}
    return value


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    facility: Codes = ("WH",)


class ShippingAdvice(_Section):
    """945 warehouse shipping advice -> shipments and shipment_lines."""

    facility: Codes = ("WH", "SF")
    order_id: Refs = refs("W06-02")
    shipment_id: Refs = refs("W06-04", "W06-02")
    shipped_at: Refs = refs("G62:11", "W06-03")
    carrier: Refs = refs("W27-02")
    service: Refs = refs("W27-03")
    tracking_number: Refs = refs("N9:2I", "N9:CN")
    packaging: Refs = ()
    shipping_cost: Refs = ()
    weight: Refs = refs("W03-02")
    weight_unit: Refs = refs("W03-03")


class InventoryAdvice(_Section):
    """846 inventory inquiry/advice -> inventory_snapshots (QTY01 qualifiers per quantity)."""

    as_of: Refs = refs("DTM:007", "BIA-04+05")
    on_hand: Codes = ("17", "33")
    available: Codes = ("33",)
    damaged: Codes = ("74",)


class TransferShipment(_Section):
    """943 stock transfer shipment advice -> expected receipts."""

    facility: Codes = ("WH", "ST")
    receipt_id: Refs = refs("W06-02")
    asn_id: Refs = refs("W06-02")


class TransferReceipt(_Section):
    """944 stock transfer receipt advice -> received receipts."""

    receipt_id: Refs = refs("W17-04")
    asn_id: Refs = refs("W17-04")
    arrived_at: Refs = refs("W17-02+07")
    stocked_at: Refs = ()


class ShipNotice(_Section):
    """856 ship notice/manifest -> expected receipts."""

    facility: Codes = ("ST", "WH")
    receipt_id: Refs = refs("BSN-02")
    asn_id: Refs = refs("BSN-02")


class AdjustmentAdvice(_Section):
    """947 warehouse inventory adjustment advice -> adjustments."""

    adjustment_id: Refs = refs("W15-02", "W15-03")
    occurred_at: Refs = refs("W15-01", "G62-02+04")
    reason_codes: dict[str, Direction] = Field(default_factory=dict)

    @field_validator("reason_codes", mode="before")
    @classmethod
    def _codes_upper(cls, value: object) -> object:
        return _upper_keys(value)

    def direction(self, code: str) -> Direction | None:
        """The direction of a W19-01 code: the profile's, else the built-in table's."""
        if code in self.reason_codes:
            return self.reason_codes[code]
        known = ADJUSTMENT_REASONS.get(code)
        return None if known is None else known[1]


class ReturnAuthorization(_Section):
    """180 return merchandise authorization and notification -> returns."""

    facility: Codes = ("WH", "ST")
    return_id: Refs = refs("BGN-02")
    order_id: Refs = refs("PRF-01")
    received_at: Refs = refs("BGN-03+04")
    processed_at: Refs = ()
    reasons: dict[str, ReturnReasonCode] = Field(default_factory=dict)
    dispositions: dict[str, str] = Field(default_factory=dict)

    @field_validator("reasons", "dispositions", mode="before")
    @classmethod
    def _codes_upper(cls, value: object) -> object:
        return _upper_keys(value)

    def reason(self, code: str) -> str:
        """The return reason of an RDR-02 code (``other`` when unknown)."""
        return self.reasons.get(code) or RETURN_REASONS.get(code) or "other"

    def disposition(self, code: str) -> str | None:
        """The disposition text of an RDR-01 code, None when unknown."""
        return self.dispositions.get(code) or DISPOSITIONS.get(code)


class X12Profile(BaseModel):
    """How one 3PL fills its X12 transaction sets (see the module docstring for the YAML)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    format: Literal["x12"]
    provider: str | None = None
    interchange_id: str | None = None
    default_facility: str | None = None
    facilities: dict[str, str] = Field(default_factory=dict)
    strict_envelope: bool = False
    timezone: str | None = None
    units: dict[str, Decimal] = Field(default_factory=lambda: dict(UNITS))
    product_qualifiers: Codes = PRODUCT_QUALIFIERS
    s945: ShippingAdvice = Field(default_factory=ShippingAdvice, alias="945")
    s846: InventoryAdvice = Field(default_factory=InventoryAdvice, alias="846")
    s943: TransferShipment = Field(default_factory=TransferShipment, alias="943")
    s944: TransferReceipt = Field(default_factory=TransferReceipt, alias="944")
    s856: ShipNotice = Field(default_factory=ShipNotice, alias="856")
    s947: AdjustmentAdvice = Field(default_factory=AdjustmentAdvice, alias="947")
    s180: ReturnAuthorization = Field(default_factory=ReturnAuthorization, alias="180")

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"{value!r} is not a time zone (use an IANA name such as America/Los_Angeles)"
            ) from None
        return value

    @field_validator("units", mode="before")
    @classmethod
    def _merge_units(cls, value: object) -> object:
        value = _upper_keys(value)
        if isinstance(value, Mapping):
            return {**UNITS, **value}
        return value

    @field_validator("units")
    @classmethod
    def _positive_units(cls, value: dict[str, Decimal]) -> dict[str, Decimal]:
        for unit, factor in value.items():
            if not factor.is_finite() or factor <= 0:
                raise ValueError(f"the factor of unit {unit} must be a positive number")
        return value

    def facility_for(self, code: str) -> str | None:
        """Our facility id for a 3PL's warehouse code or name, if the profile maps it."""
        if code in self.facilities:
            return self.facilities[code]
        folded = code.casefold()
        for key, facility in self.facilities.items():
            if key.casefold() == folded:
                return facility
        return None


DEFAULT_PROFILE = X12Profile(format="x12")


class _TextLoader(yaml.SafeLoader):
    """A SafeLoader that keeps every scalar as text (so qualifier 007 stays 007), except null."""


_TextLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag in {_NULL, _MERGE}]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_profile(path: Path) -> X12Profile:
    """Read and check an X12 profile; ConnectorError naming the file, line and key if wrong."""
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConnectorError(f"{path}: the profile is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise ConnectorError(f"{path}: cannot read the profile: {exc.strerror or exc}") from None
    return parse_profile(text, str(path))


def parse_profile(text: str, source: str = "<profile>") -> X12Profile:
    """Check the YAML text of an X12 profile; ConnectorError naming source, line and key."""
    loader: _TextLoader | None = None
    try:
        loader = _TextLoader(text)  # refuses characters YAML does not allow, such as NUL
        root = loader.get_single_node()
        grows = None if root is None else expansion_problem(root)
        if grows is not None:  # aliases that would expand into billions of values
            line = grows[0].start_mark.line + 1
            raise ConnectorError(f"{source}, line {line}: invalid YAML: {grows[1]}")
        data = None if root is None else loader.construct_document(root)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = "" if mark is None else f", line {mark.line + 1}"
        problem = ", ".join(p for p in (exc.context, exc.problem) if p) or "cannot be parsed"
        raise ConnectorError(f"{source}{where}: invalid YAML: {problem}") from None
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1])
        raise ConnectorError(
            f"{source}, line {line}: invalid YAML: the character U+{code:04X} is not allowed"
        ) from None
    except (yaml.YAMLError, RecursionError) as exc:
        raise ConnectorError(f"{source}: invalid YAML: {exc}") from None
    finally:
        if loader is not None:
            loader.dispose()
    if root is None or data is None:
        raise ConnectorError(f"{source}: the profile is empty (it needs at least format: x12)")
    if not isinstance(data, dict):
        raise ConnectorError(
            f"{source}, line {root.start_mark.line + 1}: the profile must be a mapping of keys "
            "such as format: x12"
        )
    if data.get("format") not in (None, "x12") and "format" in data:
        raise ConnectorError(
            f"{source}, line {_locate(root, ('format',))[1]}, key format: this is a "
            f"{data['format']!r} profile; an X12 file needs format: x12"
        )
    try:
        return X12Profile.model_validate(data)
    except ValidationError as exc:
        found = []
        for error in exc.errors():
            key, line = _locate(root, tuple(error["loc"]))
            found.append((line, f"{source}, line {line}, key {key}: {_message(error)}"))
        found.sort(key=lambda item: item[0])
        raise ConnectorError("\n".join(text for _, text in found)) from None


def _message(error: Any) -> str:
    kind = error["type"]
    loc = tuple(error["loc"])
    if kind == "extra_forbidden":
        known = _known_keys(loc[:-1])
        return f"unknown key {loc[-1]!r} (known keys: {', '.join(known)})"
    if kind == "missing" and loc == ("format",):
        return "missing: an X12 profile starts with format: x12"
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


def _known_keys(loc: tuple[Any, ...]) -> list[str]:
    model: type[BaseModel] = X12Profile
    for part in loc:
        field = next(
            (f for name, f in model.model_fields.items() if (f.alias or name) == part), None
        )
        annotation = None if field is None else field.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            return []
        model = annotation
    return [field.alias or name for name, field in model.model_fields.items()]


def _locate(root: Node, loc: tuple[Any, ...]) -> tuple[str, int]:
    """The dotted key of a validation location and the line of the closest node found."""
    key = ""
    node: Node | None = root
    line = root.start_mark.line + 1
    for part in loc:
        if isinstance(part, int):
            key += f"[{part}]"
            if isinstance(node, SequenceNode) and 0 <= part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                node = None
            continue
        key += ("." if key else "") + str(part)
        found = None
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(k, ScalarNode) and k.value.strip().upper() == str(part).upper():
                    found = (k, v)
        if found is None:
            node = None
            continue
        line = found[0].start_mark.line + 1
        node = found[1]
    return key or "(top)", line
