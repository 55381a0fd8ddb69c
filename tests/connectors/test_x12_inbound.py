"""Inbound X12: 945, 846, 943, 944, 856, 947 and 180 mapped to canonical records, with 997s."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyclerk.connectors import ConnectorError, Parsed, ParseOptions, detect, get
from tallyclerk.connectors.x12 import X12Connector
from tallyclerk.connectors.x12._reader import read
from tallyclerk.connectors.x12._writer import (
    Delimiters,
    GroupDraft,
    Party,
    SegmentData,
    SetDraft,
    interchange_text,
)

X12 = "edi/x12"
AT = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
THREEPL = Party("ZZ", "WESTCOAST3PL")
BRAND = Party("ZZ", "BRANDCO")


def _parse(
    data: bytes | str,
    *,
    profile: Path | None = None,
    provider: str | None = "westcoast",
    next_control: itertools.count[int] | None = None,
) -> Parsed:
    raw = data.encode("utf-8") if isinstance(data, str) else data
    options = ParseOptions(
        provider_id=provider,
        profile=profile,
        source="test.x12",
        received_at=AT,
        next_control=None if next_control is None else next_control.__next__,
    )
    return X12Connector().parse(raw, options)


def _sample(samples: Path, name: str, profile: Path | None = None) -> Parsed:
    return _parse((samples / X12 / name).read_bytes(), profile=profile)


def _profile(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profile.yaml"
    path.write_text("format: x12\n" + text, encoding="utf-8")
    return path


def _x12(*groups: GroupDraft, control: int = 101, delimiters: Delimiters | None = None) -> str:
    if delimiters is None:
        return interchange_text(THREEPL, BRAND, control, groups, at=AT)
    return interchange_text(THREEPL, BRAND, control, groups, at=AT, delimiters=delimiters)


def _group(code: str, *bodies: list[SegmentData], control: int = 7) -> GroupDraft:
    functional = {"945": "SW", "846": "IB", "943": "AR", "944": "RE", "856": "SH", "947": "AW"}
    sets = [SetDraft(code, f"{i:04d}", list(body)) for i, body in enumerate(bodies, start=1)]
    return GroupDraft(functional.get(code, "RA"), control, "004010", sets)


def _acks(parsed: Parsed) -> list[list[tuple[str, ...]]]:
    """The AK segments of each 997 sent back, as (tag, elements...)."""
    found = []
    for outbound in parsed.outbound:
        assert outbound.document == "997"
        interchange = read(outbound.content).interchanges[0]
        found.append(
            [
                (s.tag, *(e.strip() for e in s.elements))
                for _, tx in interchange.transaction_sets()
                for s in tx.segments
            ]
        )
    return found


def _ak5(parsed: Parsed) -> list[tuple[str, ...]]:
    return [seg[1:] for ack in _acks(parsed) for seg in ack if seg[0] == "AK5"]


def _reasons(parsed: Parsed) -> list[str]:
    return [r.reason for r in parsed.rejects]


# --- 945 ----------------------------------------------------------------------------------------

SHIPMENT_945: list[SegmentData] = [
    ("W06", "N", "ORD-1", "20260302", "SHP-1"),
    ("N1", "WH", "WestCoast Reno", "91", "RNO1"),
    ("G62", "11", "20260302", "W", "1415"),
    ("W27", "M", "UPSN", "GROUND"),
    ("N9", "2I", "1Z999AA10123456784"),
    ("LX", "1"),
    ("W12", "CC", "2", "2", "", "EA", "", "SK", "SKU-A"),
    ("LX", "2"),
    ("W12", "CC", "1", "1", "", "EA", "", "SK", "SKU-A"),
    ("LX", "3"),
    ("W12", "CC", "3", "0", "3", "EA", "", "SK", "SKU-B"),
    ("LX", "4"),
    ("W12", "CC", "1", "1", "", "EA", "012345678905", "ZZ", "ODD-ID"),
    ("W03", "4", "4.5", "LB"),
]


def test_945_generated_shipment_sums_lines_of_one_sku() -> None:
    parsed = _parse(_x12(_group("945", SHIPMENT_945)))
    assert parsed.rows["shipments"] == [
        {
            "shipment_id": "SHP-1",
            "order_id": "ORD-1",
            "provider_id": "westcoast",
            "facility_id": "RNO1",
            "shipped_at": "2026-03-02T14:15:00",
            "carrier": "UPSN",
            "service": "GROUND",
            "tracking_number": "1Z999AA10123456784",
            "weight_kg": "2.041",
        }
    ]
    # SKU-A twice (2 + 1), SKU-B shipped nothing, the last line only has its U.P.C.
    assert parsed.rows["shipment_lines"] == [
        {"shipment_id": "SHP-1", "sku": "SKU-A", "qty": "3"},
        {"shipment_id": "SHP-1", "sku": "012345678905", "qty": "1"},
    ]
    assert parsed.positions["shipment_lines"][0].label == "segment 10 (W12)"
    assert parsed.rejects == []
    assert _ak5(parsed) == [("A",)]
    assert parsed.summary == "945"


def test_945_profile_picks_other_qualifiers_and_maps_the_facility(tmp_path: Path) -> None:
    body = [
        *SHIPMENT_945,
        ("N9", "CN", "PRO-55"),
        ("N9", "PKG", "box_small"),
        ("N9", "FRT", "7.25"),
    ]
    profile = _profile(
        tmp_path,
        """\
facilities: {RNO1: reno-1}
timezone: America/Los_Angeles
"945":
  tracking_number: ["N9:CN"]
  packaging: ["N9:PKG"]
  shipping_cost: ["N9:FRT"]
  service: [W27-02]
""",
    )
    parsed = _parse(_x12(_group("945", body)), profile=profile)
    (row,) = parsed.rows["shipments"]
    assert row["facility_id"] == "reno-1"
    assert row["tracking_number"] == "PRO-55"
    assert row["packaging"] == "box_small"
    assert row["shipping_cost"] == "7.25"
    assert row["service"] == "UPSN"
    assert row["shipped_at"] == "2026-03-02T14:15:00-08:00"


def test_945_time_code_gives_the_offset() -> None:
    body = [
        ("W06", "N", "ORD-2", "20260704", "SHP-2"),
        ("G62", "11", "20260704", "W", "0930", "ED"),
    ]
    body += [("W12", "CC", "1", "1", "", "EA", "", "VN", "V-1")]
    parsed = _parse(_x12(_group("945", body)), profile=None)
    # no facility in the document and no profile: refused with a reason that says what to do
    assert parsed.rows.get("shipments") is None
    assert _reasons(parsed)[0] == (
        "no facility: the set has no N1 segment for WH or SF and the profile has no "
        "default_facility (add default_facility: to the profile)"
    )
    body.insert(1, ("N1", "SF", "", "", "CHI"))
    parsed = _parse(_x12(_group("945", body)))
    (row,) = parsed.rows["shipments"]
    assert row["shipped_at"] == "2026-07-04T09:30:00-04:00"
    assert row["facility_id"] == "CHI"
    assert "carrier" not in row
    assert "weight_kg" not in row


def test_945_bad_values_are_refused_with_their_element() -> None:
    body: list[SegmentData] = [
        ("W06", "N", "ORD-3", "20260230", "SHP-3"),
        ("N1", "WH", "", "91", "RNO1"),
        ("W12", "CC", "2", "two", "", "EA", "", "SK", "SKU-A"),
        ("W03", "1", "9", "STONE"),
    ]
    parsed = _parse(_x12(_group("945", body)))
    assert "shipments" not in parsed.rows
    shipment, line = parsed.rejects
    assert shipment.kind == "shipments"
    assert shipment.position.label == "segment 4 (W06)"
    assert shipment.reason == (
        "W06-03 '20260230' is not a date (CCYYMMDD); W03-03 'STONE' is not a weight unit the "
        "profile knows (GR, K, KG, L, LB, OZ); add it under units: in the profile"
    )
    assert shipment.record == "W06*N*ORD-3*20260230*SHP-3"
    assert line.kind == "shipment_lines"
    assert line.position.label == "segment 6 (W12)"
    assert line.reason.endswith("W12-03 'two' is not a whole number")
    ack = _acks(parsed)[0]
    assert ("AK3", "W06", "2", "", "8") in ack
    assert ("AK4", "3", "", "8") in ack
    assert ("AK3", "W12", "4", "", "8") in ack
    assert ("AK4", "3", "", "7") in ack
    assert _ak5(parsed) == [("R", "5")]


def test_945_missing_order_id_is_a_missing_element() -> None:
    body: list[SegmentData] = [
        ("W06", "N", "", "20260302", "SHP-4"),
        ("N1", "WH", "", "91", "RNO1"),
        ("W12", "CC", "1", "1", "", "EA", "", "SK", "SKU-A"),
    ]
    parsed = _parse(_x12(_group("945", body)))
    assert _reasons(parsed)[0] == "order_id is missing (looked in W06-02)"
    assert ("AK4", "2", "", "1") in _acks(parsed)[0]


def test_945_x12_types_sample_with_wrong_se01_is_refused_whole(samples: Path) -> None:
    parsed = _sample(samples, "945/x12-types_test_945_parse_1.edi")
    assert parsed.rows == {}
    (reject,) = parsed.rejects
    assert reject.kind == "shipments"
    assert reject.position.number == 18
    assert reject.reason == (
        "segment 18 (SE): SE01 says the set has 12 segment(s); it has 16 (counting ST and SE); "
        "transaction set 945 000006123 is refused whole"
    )
    assert reject.record is not None
    assert reject.record.startswith("ST*945*000006123~")
    assert _ak5(parsed) == [("R", "4")]


def test_945_x12_types_sample_maps_once_its_count_is_right(samples: Path) -> None:
    text = (samples / X12 / "945/x12-types_test_945_parse_1.edi").read_text()
    parsed = _parse(text.replace("SE*12*", "SE*16*"))
    assert parsed.rows["shipments"] == [
        {
            "shipment_id": "BOL12345",
            "order_id": "IF102",
            "provider_id": "westcoast",
            "facility_id": "CHI",  # N1*SF, no warehouse party
            "shipped_at": "2019-06-04T00:00:00",  # W06-03: the G62 is 10 (requested), not 11
            "carrier": "NPLT",
            "service": "NORTHPOINT TRANSPOR",
            "weight_kg": "6803.886",
        }
    ]
    assert parsed.rows["shipment_lines"] == [
        {"shipment_id": "BOL12345", "sku": "123456789", "qty": "3000"}
    ]
    assert _ak5(parsed) == [("A",)]


def test_945_edifabric_sample_with_placeholder_date(samples: Path) -> None:
    parsed = _sample(samples, "945/edifabric_WarehouseShippingAdvice_945.txt")
    assert parsed.rows == {}
    shipment = parsed.rejects[0]
    assert shipment.kind == "shipments"
    assert shipment.position.label == "segment 4 (W06)"
    assert shipment.reason == "W06-03 'CCYYMMDD' is not a date (CCYYMMDD)"
    assert [r.kind for r in parsed.rejects[1:]] == ["shipment_lines", "shipment_lines"]
    assert parsed.notes == [
        "test.x12: interchange 000000263 is marked as test data (ISA15 T)",
        "test.x12: segment 25 (GE): GE01 says the group has 2 transaction set(s); it has 1",
    ]
    assert _ak5(parsed) == [("R", "5")]


def test_945_edifabric_sample_with_a_real_date(samples: Path) -> None:
    text = (samples / X12 / "945/edifabric_WarehouseShippingAdvice_945.txt").read_bytes()
    parsed = _parse(text.replace(b"*CCYYMMDD*", b"*20071216*"))
    assert parsed.rows["shipments"] == [
        {
            "shipment_id": "123456",
            "order_id": "12345",
            "provider_id": "westcoast",
            "facility_id": "123456",
            "shipped_at": "2007-12-16T00:00:00",
            "carrier": "TRUK",
            "service": "TRUCKING",
            "weight_kg": "6967.179",
        }
    ]
    # two LX loops of the same GTIN-14 (UK): 72 + 72
    assert parsed.rows["shipment_lines"] == [
        {"shipment_id": "123456", "sku": "10071179016458", "qty": "144"}
    ]


# --- 846 ----------------------------------------------------------------------------------------

INVENTORY_846: list[SegmentData] = [
    ("BIA", "00", "MM", "INV-1", "20260302", "0800"),
    ("N1", "WH", "", "91", "RNO1"),
    ("LIN", "1", "SK", "SKU-A"),
    ("QTY", "17", "10"),
    ("QTY", "33", "8"),
    ("QTY", "74", "1"),
    ("LIN", "2", "UP", "012345678905", "SK", "SKU-B"),
    ("QTY", "33", "5"),
    ("CTT", "2"),
]


def test_846_generated_two_lins() -> None:
    parsed = _parse(_x12(_group("846", INVENTORY_846)))
    assert parsed.rows["inventory_snapshots"] == [
        {
            "provider_id": "westcoast",
            "facility_id": "RNO1",
            "as_of": "2026-03-02T08:00:00",
            "sku": "SKU-A",
            "on_hand": "10",
            "available": "8",
            "damaged": "1",
        },
        {
            "provider_id": "westcoast",
            "facility_id": "RNO1",
            "as_of": "2026-03-02T08:00:00",
            "sku": "SKU-B",
            "on_hand": "5",  # QTY*33 stands in for on hand when there is no QTY*17
            "available": "5",
        },
    ]
    assert [p.label for p in parsed.positions["inventory_snapshots"]] == [
        "segment 6 (LIN)",
        "segment 10 (LIN)",
    ]


def test_846_example1_without_on_hand_says_which_qualifiers_it_found(
    samples: Path, tmp_path: Path
) -> None:
    profile = _profile(tmp_path, "default_facility: reno-1\n")
    parsed = _sample(samples, "846/oopfactory_846_Example1.txt", profile)
    assert parsed.rows == {}
    (reject,) = parsed.rejects
    assert reject.kind == "inventory_snapshots"
    assert reject.position.label == "segment 9 (LIN)"
    assert reject.reason == (
        "LIN 46L5055 has no on-hand quantity: no QTY with qualifier 17 or 33; its QTY "
        'qualifiers are 34, QH, QB, 87: map the right one under "846": on_hand: in the profile'
    )
    assert ("AK3", "QTY", "8", "", "3") in _acks(parsed)[0]


def test_846_example1_with_its_qualifiers_mapped(samples: Path, tmp_path: Path) -> None:
    profile = _profile(
        tmp_path,
        'default_facility: reno-1\n"846": {on_hand: ["34"], available: [QH], damaged: [QB]}\n',
    )
    parsed = _sample(samples, "846/oopfactory_846_Example1.txt", profile)
    assert parsed.rows["inventory_snapshots"] == [
        {
            "provider_id": "westcoast",
            "facility_id": "reno-1",
            "as_of": "2004-08-11T23:00:00+00:00",  # DTM*007 with time code GM
            "sku": "46L5055",  # BP: no SK or VN on the LIN
            "on_hand": "5250",
            "available": "100",
            "damaged": "50",
        }
    ]
    assert _ak5(parsed) == [("A",)]


def test_846_example2_fractional_quantities_are_refused(samples: Path, tmp_path: Path) -> None:
    profile = _profile(tmp_path, "default_facility: reno-1\n")
    parsed = _sample(samples, "846/oopfactory_846_Example2.txt", profile)
    assert parsed.rows["inventory_snapshots"] == [
        {
            "provider_id": "westcoast",
            "facility_id": "reno-1",
            "as_of": "2003-08-28T00:23:46.480000",  # BIA-04 + BIA-05 HHMMSSDD
            "sku": "I304/0250035Z",  # VN before BP
            "on_hand": "7280",
        }
    ]
    assert _reasons(parsed) == [
        "QTY-02 (QTY*17) '1998.61' is not a whole number",
        "QTY-02 (QTY*17) '1777.18' is not a whole number",
        "LIN H316L0750040 has no on-hand quantity: no QTY with qualifier 17 or 33; its QTY "
        'qualifiers are 63: map the right one under "846": on_hand: in the profile',
        "QTY-02 (QTY*17) '3621.25' is not a whole number",
    ]
    assert _ak5(parsed) == [("E", "5")]


def test_846_product_qualifier_preference_comes_from_the_profile(
    samples: Path, tmp_path: Path
) -> None:
    profile = _profile(tmp_path, "default_facility: reno-1\nproduct_qualifiers: [BP]\n")
    parsed = _sample(samples, "846/oopfactory_846_Example2.txt", profile)
    assert [r["sku"] for r in parsed.rows["inventory_snapshots"]] == ["35933"]


def test_846_without_a_facility_is_refused(samples: Path) -> None:
    parsed = _sample(samples, "846/oopfactory_846_Example2.txt")
    assert parsed.rows == {}
    assert all(r.reason.startswith("no facility: the set has no N1") for r in parsed.rejects)
    assert ("AK3", "N1", "2", "", "3") in _acks(parsed)[0]


# --- 943, 944 -----------------------------------------------------------------------------------


def test_943_stupidedi_expected_receipt(samples: Path) -> None:
    parsed = _sample(samples, "943/stupidedi_AR943_pass_1.edi")
    assert parsed.rows == {
        "receipts": [
            {
                "receipt_id": "DO12345",
                "provider_id": "westcoast",
                "facility_id": "ACME01",
                "asn_id": "DO12345",
                "sku": "ITEM123",
                "expected_qty": "100",
            }
        ]
    }
    assert parsed.positions["receipts"][0].label == "segment 8 (W04)"
    assert _ak5(parsed) == [("A",)]


def test_944_stupidedi_received_receipt(samples: Path, tmp_path: Path) -> None:
    parsed = _sample(samples, "944/stupidedi_RE944_pass_1.edi")
    assert parsed.rows == {
        "receipts": [
            {
                "receipt_id": "DO12345",
                "provider_id": "westcoast",
                "facility_id": "1234567890001",
                "asn_id": "DO12345",
                "arrived_at": "2026-07-14T00:00:00",
                "sku": "ITEM123",
                "received_qty": "100",
            }
        ]
    }
    profile = _profile(
        tmp_path,
        "facilities: {'1234567890001': reno-1}\ntimezone: America/Los_Angeles\n"
        '"944": {receipt_id: [W17-03], stocked_at: ["G62:11"]}\n',
    )
    (row,) = _sample(samples, "944/stupidedi_RE944_pass_1.edi", profile).rows["receipts"]
    assert row["receipt_id"] == "WR12345"
    assert row["facility_id"] == "reno-1"
    assert row["arrived_at"] == "2026-07-14T00:00:00-07:00"
    assert row["stocked_at"] == "2026-07-14T00:00:00-07:00"


def test_943_then_944_meet_on_one_key(samples: Path) -> None:
    expected = _sample(samples, "943/stupidedi_AR943_pass_1.edi").rows["receipts"][0]
    received = _sample(samples, "944/stupidedi_RE944_pass_1.edi").rows["receipts"][0]
    assert (expected["receipt_id"], expected["sku"]) == (received["receipt_id"], received["sku"])
    assert "received_qty" not in expected
    assert "expected_qty" not in received


def test_943_sums_and_refuses_items() -> None:
    body: list[SegmentData] = [
        ("W06", "F", "TR-9", "20260302"),
        ("N1", "WH", "", "91", "RNO1"),
        ("W04", "10", "EA", "", "SK", "SKU-A"),
        ("W04", "5", "EA", "", "VN", "V-A", "SK", "SKU-A"),
        ("W04", "x", "EA", "", "SK", "SKU-B"),
        ("W04", "4", "EA"),
    ]
    parsed = _parse(_x12(_group("943", body)))
    assert parsed.rows["receipts"] == [
        {
            "receipt_id": "TR-9",
            "provider_id": "westcoast",
            "facility_id": "RNO1",
            "asn_id": "TR-9",
            "sku": "SKU-A",
            "expected_qty": "15",
        }
    ]
    assert _reasons(parsed) == [
        "W04-01 'x' is not a whole number",
        "W04 has no product id (the SKU)",
    ]
    assert _ak5(parsed) == [("E", "5")]


# --- 856 ----------------------------------------------------------------------------------------

# file -> (rows, rejects, first row's receipt_id, facility_id, sku, expected_qty)
SHIP_NOTICES: dict[str, tuple[int, int, tuple[str, str, str, str] | None]] = {
    "bots_plugins_856_1.x12": (58, 0, ("15918861602", "DESTINATION1", "01113481", "11")),
    "bots_plugins_856_2.x12": (3, 0, ("4167427123", "DESTINATION2", "suart", "180")),
    "edienginetest_856.Crossdock.OK.edi": (4, 0, ("000009", "0001", "0000000000642", "24")),
    "edifabric_ShipNotice_856.txt": (2, 0, ("01140824", "0078742035260", "008815509183", "8")),
    "newegg_x12engine_X12_856_00401_000002032.txt": (
        1,
        0,
        ("8006767837", "Tony Stark", "65030864527", "1"),
    ),
    "node-x12_856.edi": (0, 2, None),
    "oopfactory_856_Example1.txt": (0, 3, None),
    "oopfactory_856_Example2.txt": (0, 2, None),
    "oopfactory_856_Example3.txt": (3, 0, ("146940", "ZFIT", "abc123", "1596")),
    "oopfactory_856_Example4.txt": (7, 0, ("DELIVERYNUMBER", "010", "100014544", "10")),
    "oopfactory_856_FromGregarican.txt": (1, 0, ("521649209219", "004", "883932284904", "1")),
    "oopfactory_856_edi1Source.txt": (0, 2, None),
    "walmartlabs_gozer_asn856.txt": (0, 2, None),
}


def test_856_every_sample_is_listed(samples: Path) -> None:
    assert sorted(p.name for p in (samples / X12 / "856").iterdir()) == sorted(SHIP_NOTICES)


@pytest.mark.parametrize("name", sorted(SHIP_NOTICES))
def test_856_samples(samples: Path, name: str) -> None:
    rows, rejects, first = SHIP_NOTICES[name]
    parsed = _sample(samples, f"856/{name}")
    assert parsed.count("receipts") == rows
    assert len(parsed.rejects) == rejects
    for row in parsed.rows.get("receipts", []):
        assert set(row) == {
            "receipt_id",
            "provider_id",
            "facility_id",
            "asn_id",
            "sku",
            "expected_qty",
        }
        assert row["asn_id"] == row["receipt_id"]
    if first is not None:
        row = parsed.rows["receipts"][0]
        assert (row["receipt_id"], row["facility_id"], row["sku"], row["expected_qty"]) == first
    for reject in parsed.rejects:
        assert reject.kind == "receipts"
        assert reject.reason
    assert len(parsed.outbound) == 1
    statuses = {ak5[0] for ak5 in _ak5(parsed)}
    assert statuses == ({"A"} if not rejects else {"R"})


def test_856_reject_reasons(samples: Path) -> None:
    assert _reasons(_sample(samples, "856/oopfactory_856_Example1.txt"))[0] == (
        "LIN has no product id with a qualifier the profile knows (SK, VN, BP, IN, UP, UK, EN): "
        "found CB '1234-123456'; add the right qualifier to product_qualifiers in the profile"
    )
    assert (
        _reasons(_sample(samples, "856/oopfactory_856_Example2.txt"))
        == ["receipt_id is missing (looked in BSN-02)"] * 2
    )
    assert _reasons(_sample(samples, "856/node-x12_856.edi"))[0].startswith(
        "no facility: the set has no N1 segment for ST or WH"
    )


def test_856_profile_fixes_the_refused_samples(samples: Path, tmp_path: Path) -> None:
    profile = _profile(tmp_path, "default_facility: reno-1\nproduct_qualifiers: [CB, UP]\n")
    example1 = _sample(samples, "856/oopfactory_856_Example1.txt", profile)
    assert [(r["sku"], r["expected_qty"]) for r in example1.rows["receipts"]] == [
        ("1234-123456", "16"),
        ("1234-654321", "23"),
        ("1234-223456", "16"),
    ]
    # N1*ST names 201495124, which the profile does not map: the default facility applies
    assert example1.rows["receipts"][0]["facility_id"] == "reno-1"
    node = _sample(samples, "856/node-x12_856.edi", profile)
    assert [(r["facility_id"], r["sku"], r["expected_qty"]) for r in node.rows["receipts"]] == [
        ("reno-1", "999999310145", "24"),
        ("reno-1", "999999311746", "6"),
    ]


def test_856_item_without_quantity_or_product() -> None:
    body: list[SegmentData] = [
        ("BSN", "00", "ASN-1", "20260302", "1200"),
        ("HL", "1", "", "S"),
        ("N1", "ST", "Reno", "92", "RNO1"),
        ("HL", "2", "1", "I"),
        ("LIN", "", "SK", "SKU-A"),
        ("HL", "3", "1", "I"),
        ("SN1", "", "4", "EA"),
        ("HL", "4", "1", "I"),
        ("LIN", "", "SK", "SKU-B"),
        ("SN1", "", "6", "EA"),
    ]
    parsed = _parse(_x12(_group("856", body)))
    assert [(r["sku"], r["expected_qty"]) for r in parsed.rows["receipts"]] == [("SKU-B", "6")]
    assert _reasons(parsed) == [
        "the item of LIN SKU-A has no SN1 (the quantity shipped)",
        "SN1 without a LIN: the item has no product id",
    ]


# --- 947 ----------------------------------------------------------------------------------------


def test_947_babelway_adjustment(samples: Path) -> None:
    parsed = _sample(samples, "947/babelway_page_947_sample.PAGE_EXTRACT.txt")
    assert parsed.rows == {
        "adjustments": [
            {
                "adjustment_id": "3PL_Man_Tran_N",
                "provider_id": "westcoast",
                "facility_id": "1510",
                "sku": "E662255",
                "qty_delta": "1",
                "occurred_at": "2013-07-04T00:00:00",
                "reason": "other (AH)",
            }
        ]
    }
    assert parsed.notes == [
        "test.x12: segment 12 (GE): GE02 '982634811' does not repeat the GS06 control number "
        "'982634833'"
    ]
    assert _ak5(parsed) == [("A",)]


def test_947_sign_follows_the_reason_code(tmp_path: Path) -> None:
    body: list[SegmentData] = [
        ("W15", "20260302", "ADJ-9"),
        ("N1", "WH", "", "91", "RNO1"),
        ("W19", "AU", "2", "EA", "", "SK", "SKU-A"),
        ("W19", "56", "3", "EA", "", "SK", "SKU-B"),
        ("W19", "AA", "-4", "EA", "", "SK", "SKU-C"),
        ("W19", "05", "1", "EA", "", "SK", "SKU-A"),
        ("W19", "QQ", "1", "EA", "", "SK", "SKU-D"),
        ("W19", "AU", "+2", "EA", "", "SK", "SKU-E"),
    ]
    parsed = _parse(_x12(_group("947", body)))
    assert [
        (r["adjustment_id"], r["sku"], r["qty_delta"], r["reason"])
        for r in parsed.rows["adjustments"]
    ] == [
        ("ADJ-9-1", "SKU-A", "-2", "damaged in facility (AU)"),
        ("ADJ-9-2", "SKU-B", "3", "book adjustment increase (56)"),
        ("ADJ-9-3", "SKU-C", "-4", "physical count (AA)"),
        ("ADJ-9-6", "SKU-E", "2", "damaged in facility (AU)"),  # an explicit sign wins
    ]
    assert parsed.rows["adjustments"][0]["occurred_at"] == "2026-03-02T00:00:00"
    assert _reasons(parsed) == [
        "W19-01 'QQ' is not a known adjustment reason code: add it under \"947\": "
        "reason_codes: in the profile as increase, decrease, signed or status"
    ]
    assert parsed.notes == [
        "segment 9 (W19): W19-01 05 (product put on hold) changes stock status, not quantity: "
        "no adjustment recorded"
    ]
    assert ("AK4", "1", "", "7") in _acks(parsed)[0]
    profiled = _parse(
        _x12(_group("947", body)),
        profile=_profile(tmp_path, '"947": {reason_codes: {QQ: decrease}}\n'),
    )
    assert [r["qty_delta"] for r in profiled.rows["adjustments"]][-2:] == ["-1", "2"]
    assert profiled.rows["adjustments"][-2]["reason"] == "code QQ (QQ)"


# --- 180 ----------------------------------------------------------------------------------------


def test_180_easi_return(samples: Path, tmp_path: Path) -> None:
    profile = _profile(tmp_path, "default_facility: reno-1\n")
    parsed = _sample(samples, "180/oopfactory_180_FromEasistandards.txt", profile)
    assert parsed.rows == {
        "returns": [
            {
                "return_id": "04360132310",
                "order_id": "123456789",
                "provider_id": "westcoast",
                "facility_id": "reno-1",
                "sku": "12345670000",
                "qty": "1",
                "reason": "defective",  # RDR-02 DR: defective merchandise returned by consumer
                "received_at": "2004-01-06T13:23:00",
                "disposition": "consumer return to vendor",  # RDR-01 CR
            }
        ]
    }
    assert _ak5(parsed) == [("A",)]


def test_180_reason_and_disposition_from_the_profile(samples: Path, tmp_path: Path) -> None:
    profile = _profile(
        tmp_path,
        'default_facility: reno-1\n"180": {reasons: {DR: damaged}, dispositions: {CR: restock}}\n',
    )
    (row,) = _sample(samples, "180/oopfactory_180_FromEasistandards.txt", profile).rows["returns"]
    assert (row["reason"], row["disposition"]) == ("damaged", "restock")


def test_180_unknown_reason_is_other_and_bad_date_is_refused() -> None:
    body: list[SegmentData] = [
        ("BGN", "00", "RMA-1", "20260302", "0905"),
        ("N1", "WH", "", "91", "RNO1"),
        ("BLI", "SK", "SKU-A", "2", "EA"),
        ("RDR", "", "ZZ"),
        ("BLI", "SK", "SKU-B", "0", "EA"),
    ]
    parsed = _parse(_x12(_group("180", body)))
    (row,) = parsed.rows["returns"]
    assert (row["sku"], row["qty"], row["reason"]) == ("SKU-A", "2", "other")
    assert row["received_at"] == "2026-03-02T09:05:00"
    assert "order_id" not in row
    assert "disposition" not in row
    body[0] = ("BGN", "00", "RMA-1", "20260302", "2561")
    parsed = _parse(_x12(_group("180", body)))
    assert _reasons(parsed) == ["BGN-04 '2561' is not a time (HHMM or HHMMSS)"] * 2
    assert ("AK4", "4", "", "9") in _acks(parsed)[0]


# --- the connector ------------------------------------------------------------------------------


def test_registry_finds_the_connector(samples: Path) -> None:
    connector = get("x12")
    assert connector.name == "x12"
    head = (samples / X12 / "943/stupidedi_AR943_pass_1.edi").read_bytes()
    assert connector.sniff(head, "x.edi")
    assert detect(head, "x.edi") is connector
    assert not connector.sniff(b"order_id,placed_at\n", "orders.csv")


def test_provider_is_required(tmp_path: Path) -> None:
    data = _x12(_group("945", SHIPMENT_945))
    with pytest.raises(ConnectorError) as caught:
        _parse(data, provider=None)
    assert str(caught.value) == ("test.x12: an X12 file needs --provider ID (the 3PL that sent it)")
    profile = _profile(tmp_path, "provider: eastcoast\n")
    assert _parse(data, provider=None, profile=profile).rows["shipments"][0]["provider_id"] == (
        "eastcoast"
    )
    assert _parse(data, provider="westcoast", profile=profile).rows["shipments"][0][
        "provider_id"
    ] == ("westcoast")


def test_not_x12_and_bad_profile_are_connector_errors(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="not an X12 interchange"):
        _parse(b"hello")
    with pytest.raises(ConnectorError, match="unknown key"):
        _parse(_x12(_group("945", SHIPMENT_945)), profile=_profile(tmp_path, "bogus: 1\n"))


def test_unknown_set_is_refused_with_code_1() -> None:
    text = _x12(
        _group("945", SHIPMENT_945),
        GroupDraft("PO", 8, "004010", [SetDraft("850", "0001", [("BEG", "00", "SA", "PO-1")])]),
    )
    parsed = _parse(text)
    assert parsed.count("shipments") == 1
    (reject,) = parsed.rejects
    assert reject.kind is None
    assert reject.reason == "transaction set 850 is not one tallyclerk reads"
    assert _ak5(parsed) == [("A",), ("R", "1")]
    assert parsed.summary == "945, 850"


def test_several_interchanges_and_control_numbers() -> None:
    first = _x12(_group("945", SHIPMENT_945, SHIPMENT_945), control=201)
    second = _x12(_group("846", INVENTORY_846), control=202, delimiters=Delimiters("|", ":", "!"))
    parsed = _parse(first + second, next_control=itertools.count(500))
    assert parsed.summary == "945 ×2, 846 (2 interchanges)"
    assert [o.control_number for o in parsed.outbound] == ["000000500", "000000501"]
    assert [o.reference for o in parsed.outbound] == ["000000201", "000000202"]
    assert parsed.count("shipments") == 2
    assert parsed.count("inventory_snapshots") == 2
    local = _parse(first + second)
    assert [o.control_number for o in local.outbound] == ["000000001", "000000002"]


def test_strict_envelope_refuses_a_group_with_a_bad_trailer(tmp_path: Path) -> None:
    text = _x12(_group("945", SHIPMENT_945)).replace("GE*1*7~", "GE*3*7~")
    lenient = _parse(text)
    assert lenient.count("shipments") == 1
    assert lenient.notes == [
        "test.x12: segment 19 (GE): GE01 says the group has 3 transaction set(s); it has 1"
    ]
    strict = _parse(text, profile=_profile(tmp_path, "strict_envelope: true\n"))
    assert strict.rows == {}
    (reject,) = strict.rejects
    assert reject.kind == "shipments"
    assert reject.reason == (
        "segment 19 (GE): GE01 says the group has 3 transaction set(s); it has 1; "
        "strict_envelope refuses the whole group, so transaction set 945 0001 is refused"
    )
    ack = _acks(strict)[0]
    assert ("AK5", "R") in ack
    assert next(s for s in ack if s[0] == "AK9")[1] == "R"


def test_a_set_without_se_is_refused_whole() -> None:
    text = _x12(_group("945", SHIPMENT_945)).replace("SE*16*0001~\n", "")
    parsed = _parse(text)
    assert parsed.rows == {}
    assert parsed.rejects[0].reason == (
        "segment 3 (ST): transaction set 945 0001 has no SE trailer; "
        "transaction set 945 0001 is refused whole"
    )
    assert _ak5(parsed) == [("R", "2")]


def test_940_is_dispatched_with_the_profile_facility(samples: Path, tmp_path: Path) -> None:
    parsed = _sample(samples, "940/x12-types_test_940_2.edi")
    assert parsed.rows == {}
    assert [r.kind for r in parsed.rejects] == ["releases"]
    profile = _profile(tmp_path, "default_facility: chicago-1\n")
    parsed = _sample(samples, "940/x12-types_test_940_2.edi", profile)
    (row,) = parsed.rows["releases"]
    assert row["facility_id"] == "chicago-1"
    assert row["provider_id"] == "westcoast"
    assert parsed.summary == "940"
    assert _ak5(parsed) == [("A",)]


def test_a_997_received_is_not_answered() -> None:
    text = _x12(GroupDraft("FA", 9, "004010", [SetDraft("997", "0001", [("AK1", "SW", "7")])]))
    parsed = _parse(text)
    assert parsed.outbound == []
    assert _reasons(parsed) == ["transaction set 997 is not one tallyclerk reads"]


# --- fuzzing ------------------------------------------------------------------------------------

BODIES: dict[str, Sequence[SegmentData]] = {
    "945": SHIPMENT_945,
    "846": INVENTORY_846,
    "943": [
        ("W06", "F", "TR-9", "20260302"),
        ("N1", "WH", "", "91", "RNO1"),
        ("W04", "10", "EA", "", "SK", "SKU-A"),
    ],
    "944": [
        ("W17", "F", "20260302", "WR-1", "TR-9", "", "W", "1200"),
        ("N1", "WH", "", "91", "RNO1"),
        ("W07", "10", "EA", "", "SK", "SKU-A"),
    ],
    "856": [
        ("BSN", "00", "ASN-1", "20260302", "1200"),
        ("HL", "1", "", "S"),
        ("N1", "ST", "", "92", "RNO1"),
        ("HL", "2", "1", "I"),
        ("LIN", "", "SK", "SKU-A"),
        ("SN1", "", "6", "EA"),
    ],
    "947": [
        ("W15", "20260302", "ADJ-1"),
        ("N1", "WH", "", "91", "RNO1"),
        ("W19", "AU", "2", "EA", "", "SK", "SKU-A"),
    ],
    "180": [
        ("BGN", "00", "RMA-1", "20260302", "0905"),
        ("N1", "WH", "", "91", "RNO1"),
        ("BLI", "SK", "SKU-A", "2", "EA"),
        ("RDR", "CR", "DA"),
    ],
}
ALL_SETS = _x12(
    *(_group(code, list(body), control=i) for i, (code, body) in enumerate(BODIES.items(), 1))
)
NOISE = st.sampled_from([*"*~>^|:!\n \r0123456789AZ-+.", "ISA", "GS*", "ST*", "SE*", "IEA*"])


def _parse_or_error(text: str) -> Parsed | None:
    """The Parsed of a mangled file, or None when it was refused whole with a reason."""
    try:
        return _parse(text)
    except ConnectorError as exc:
        message = str(exc)
    assert message
    return None


def _sound(parsed: Parsed) -> None:
    for kind, rows in parsed.rows.items():
        assert len(rows) == len(parsed.positions[kind])
    for reject in parsed.rejects:
        assert isinstance(reject.reason, str)
        assert reject.reason


def test_the_fuzz_base_maps_cleanly() -> None:
    parsed = _parse(ALL_SETS)
    assert parsed.rejects == []
    assert parsed.summary == "945, 846, 943, 944, 856, 947, 180"
    assert {k: parsed.count(k) for k in parsed.kinds()} == {
        "shipments": 1,
        "shipment_lines": 2,
        "inventory_snapshots": 2,
        "receipts": 3,
        "adjustments": 1,
        "returns": 1,
    }


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(st.sampled_from(["delete", "insert", "replace"]), st.integers(0, 4000), NOISE),
        min_size=1,
        max_size=12,
    )
)
def test_fuzz_mangled_interchanges(edits: list[tuple[str, int, str]]) -> None:
    text = ALL_SETS
    for action, where, noise in edits:
        at = where % (len(text) + 1)
        if action == "delete":
            text = text[:at] + text[at + len(noise) :]
        elif action == "insert":
            text = text[:at] + noise + text[at:]
        else:
            text = text[:at] + noise + text[at + 1 :]
    parsed = _parse_or_error(text)
    if parsed is not None:
        _sound(parsed)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(sorted(BODIES)),
    st.lists(st.tuples(st.integers(0, 20), st.integers(1, 12), st.text(max_size=12)), max_size=8),
    st.sampled_from(["*~>", "|!:", "~*>", "^\n:"]),
)
def test_fuzz_element_values_and_delimiters(
    code: str, changes: list[tuple[int, int, str]], chosen: str
) -> None:
    element, segment_end, component = chosen
    body = [list(s) for s in BODIES[code]]
    for index, position, value in changes:
        segment = body[index % len(body)]
        while len(segment) <= position:
            segment.append("")
        segment[position] = value
    delimiters = Delimiters(element, component, segment_end)
    text = _x12(_group(code, [tuple(s) for s in body]), delimiters=delimiters)
    parsed = _parse_or_error(text)
    if parsed is not None:
        _sound(parsed)
    assert len(parsed.outbound) == 1
