"""Documents sent to partners: 997 acknowledgments and 940 warehouse shipping orders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyclerk.connectors import ConnectorError, Parsed
from tallyclerk.connectors.x12._940 import (
    ReleaseOrder,
    map_940,
    order_segments,
    read_940s,
    write_940s,
)
from tallyclerk.connectors.x12._ack import SetProblem, SetResult, acknowledge
from tallyclerk.connectors.x12._reader import Delimiters, Interchange, read
from tallyclerk.connectors.x12._writer import GroupDraft, Party, SetDraft, interchange_text
from tests.connectors.test_x12_reader import _interchanges, _mutate, _mutations

AT = datetime(2026, 3, 2, 9, 15, tzinfo=UTC)
BRAND = Party("ZZ", "BRANDCO")
WESTCOAST = Party("ZZ", "WESTCOAST3PL")
X12 = "edi/x12"


def _interchange(text: str) -> Interchange:
    document = read(text)
    assert len(document.interchanges) == 1
    return document.interchanges[0]


def _sent(groups: list[GroupDraft], control: int = 4711) -> Interchange:
    """An interchange from the 3PL to the brand, as the reader sees it."""
    return _interchange(interchange_text(WESTCOAST, BRAND, control, groups, at=AT))


def _945(control: str) -> SetDraft:
    return SetDraft("945", control, [("W06", "N", f"ORD-{control}"), ("W03", "1")])


def _sound(ack: Interchange) -> None:
    """The 997 itself has a sound envelope."""
    assert ack.issues == []
    for group in ack.groups:
        assert group.issues == []
        assert group.functional_id == "FA"
        for tx in group.sets:
            assert tx.issues == []
            assert tx.code == "997"


def _body(ack: Interchange, index: int = 0) -> list[tuple[str, ...]]:
    """The segments of the index-th 997 set, as (tag, element, ...)."""
    tx = ack.groups[0].sets[index]
    return [(s.tag, *(e.strip() for e in s.elements)) for s in tx.segments]


# --- 997 --------------------------------------------------------------------------------------


def test_997_accepts_every_set_of_a_sound_interchange() -> None:
    received = _sent(
        [
            GroupDraft("SW", 31, sets=[_945("0001"), _945("0002")]),
            GroupDraft("SW", 32, sets=[_945("0003")]),
        ]
    )
    out = acknowledge(received, {}, control=17, at=AT)

    assert out.document == "997"
    assert out.name == "997-000000017-for-000004711.x12"
    assert out.partner == "WESTCOAST3PL"
    assert out.reference == "000004711"
    assert out.control_number == "000000017"
    ack = _interchange(out.content.decode())
    _sound(ack)
    assert ack.sender == ("ZZ", "BRANDCO")
    assert ack.receiver == ("ZZ", "WESTCOAST3PL")
    assert ack.control == "000000017"
    assert len(ack.groups) == 1
    assert ack.groups[0].control == "17"
    assert [tx.control for tx in ack.groups[0].sets] == ["0001", "0002"]
    assert _body(ack, 0) == [
        ("AK1", "SW", "31"),
        ("AK2", "945", "0001"),
        ("AK5", "A"),
        ("AK2", "945", "0002"),
        ("AK5", "A"),
        ("AK9", "A", "2", "2", "2"),
    ]
    assert _body(ack, 1) == [
        ("AK1", "SW", "32"),
        ("AK2", "945", "0003"),
        ("AK5", "A"),
        ("AK9", "A", "1", "1", "1"),
    ]


def test_997_reports_problems_with_ak3_ak4_and_a_partial_acceptance() -> None:
    received = _sent([GroupDraft("SW", 5, sets=[_945("0001"), _945("0002"), _945("0003")])])
    problem = SetProblem(5, "W06", 2, "W06-02 is empty", element=2, element_code="1")
    missing = SetProblem(5, "W03", 3, "no W03", segment_code="3")
    results = {
        ("5", "0001"): SetResult("R", None, [problem, missing]),
        ("5", "0002"): SetResult("E", "5", [problem]),
        ("5", "0003"): SetResult("A"),
    }
    ack = _interchange(acknowledge(received, results, control=2, at=AT).content.decode())
    _sound(ack)
    assert _body(ack) == [
        ("AK1", "SW", "5"),
        ("AK2", "945", "0001"),
        ("AK3", "W06", "2", "", "8"),
        ("AK4", "2", "", "1"),
        ("AK3", "W03", "3", "", "3"),
        ("AK5", "R", "5"),
        ("AK2", "945", "0002"),
        ("AK3", "W06", "2", "", "8"),
        ("AK4", "2", "", "1"),
        ("AK5", "E", "5"),
        ("AK2", "945", "0003"),
        ("AK5", "A"),
        ("AK9", "P", "3", "3", "2"),
    ]


def test_997_rejects_the_group_when_every_set_is_rejected() -> None:
    received = _sent([GroupDraft("SW", 9, sets=[_945("0001")])])
    results = {("9", "0001"): SetResult("R", "5")}
    ack = _interchange(acknowledge(received, results, control=3, at=AT).content.decode())
    assert _body(ack)[-2:] == [("AK5", "R", "5"), ("AK9", "R", "1", "1", "0")]


def test_997_judges_a_set_without_a_result_by_its_envelope() -> None:
    text = interchange_text(WESTCOAST, BRAND, 8, [GroupDraft("SW", 4, sets=[_945("0001")])], at=AT)
    received = _interchange(text.replace("SE*4*0001~", "SE*4*0009~"))
    ack = _interchange(acknowledge(received, {}, control=4, at=AT).content.decode())
    assert _body(ack) == [
        ("AK1", "SW", "4"),
        ("AK2", "945", "0001"),
        ("AK5", "R", "3"),
        ("AK9", "R", "1", "1", "0"),
    ]


def test_997_answers_a_set_without_se_and_a_group_without_ge() -> None:
    text = interchange_text(WESTCOAST, BRAND, 8, [GroupDraft("SW", 4, sets=[_945("0001")])], at=AT)
    received = _interchange(text.replace("SE*4*0001~\n", "").replace("GE*1*4~\n", ""))
    ack = _interchange(acknowledge(received, {}, control=4, at=AT).content.decode())
    # the set has no SE (code 2) and the group no GE: sets included = sets received
    assert _body(ack) == [
        ("AK1", "SW", "4"),
        ("AK2", "945", "0001"),
        ("AK5", "R", "2"),
        ("AK9", "R", "1", "1", "0", "2"),
    ]


@pytest.mark.parametrize(
    ("path", "ak1", "sets", "ak9", "strict_ak9"),
    [
        (
            "945/x12-types_test_945_parse_1.edi",
            ("SW", "000000123"),
            [("945", "000006123", ("R", "4"))],
            ("R", "1", "1", "0"),
            ("R", "1", "1", "0"),
        ),
        (
            "856/edifabric_ShipNotice_856.txt",
            ("IN", "000000001"),
            [("856", "0001", ("A",))],
            ("E", "2", "1", "1", "4"),
            ("R", "2", "1", "1", "4"),
        ),
        (
            "945/edifabric_WarehouseShippingAdvice_945.txt",
            ("IN", "000000001"),
            [("945", "0001", ("A",))],
            ("E", "2", "1", "1", "4"),
            ("R", "2", "1", "1", "4"),
        ),
        (
            "940/x12-types_test_940_1.edi",
            ("OW", "3317"),
            [("940", "0001", ("A",))],
            ("E", "1", "1", "1", "3"),
            ("R", "1", "1", "1", "3"),
        ),
        (
            "940/oopfactory_simplot_940.txt",
            ("OW", "177818711"),
            [("940", "0001", ("A",))],
            ("E", "1", "1", "1", "3"),
            ("R", "1", "1", "1", "3"),
        ),
        (
            "947/babelway_page_947_sample.PAGE_EXTRACT.txt",
            ("AW", "982634833"),
            [("947", "0001", ("A",))],
            ("E", "1", "1", "1", "3"),
            ("R", "1", "1", "1", "3"),
        ),
        (
            # IEA02 is wrong: an interchange problem, which a 997 does not report
            "856/walmartlabs_gozer_asn856.txt",
            ("SH", "49"),
            [("856", "0008", ("A",))],
            ("A", "1", "1", "1"),
            ("A", "1", "1", "1"),
        ),
        (
            "846/oopfactory_846_Example2.txt",
            ("IB", "1979"),
            [("846", "0008505", ("A",))],
            ("A", "1", "1", "1"),
            ("A", "1", "1", "1"),
        ),
    ],
)
def test_997_for_real_files(
    samples: Path,
    path: str,
    ak1: tuple[str, str],
    sets: list[tuple[str, str, tuple[str, ...]]],
    ak9: tuple[str, ...],
    strict_ak9: tuple[str, ...],
) -> None:
    received = read((samples / X12 / path).read_bytes()).interchanges[0]
    for strict, expected_ak9 in ((False, ak9), (True, strict_ak9)):
        out = acknowledge(received, {}, control=900, at=AT, strict=strict)
        ack = _interchange(out.content.decode())
        _sound(ack)
        assert ack.receiver == received.sender
        assert ack.sender == received.receiver
        expected = [("AK1", *ak1)]
        for code, control, ak5 in sets:
            expected += [("AK2", code, control), ("AK5", *ak5)]
        expected.append(("AK9", *expected_ak9))
        assert _body(ack) == expected
        assert out.reference == received.control
        assert out.partner == received.sender[1]


def test_997_for_each_interchange_of_a_file_with_two(samples: Path) -> None:
    data = (samples / X12 / "940/edienginetest_940_MultipleInterchangesAndGroups.edi").read_bytes()
    interchanges = read(data).interchanges
    outs = [acknowledge(ic, {}, control=50 + i, at=AT) for i, ic in enumerate(interchanges)]
    assert [o.name for o in outs] == [
        "997-000000050-for-000003438.x12",
        "997-000000051-for-000003439.x12",
    ]
    answered = []
    for out in outs:
        ack = _interchange(out.content.decode())
        _sound(ack)
        for index in range(len(ack.groups[0].sets)):
            body = _body(ack, index)
            answered.append((body[0][2], [s[2] for s in body if s[0] == "AK2"], body[-1]))
    assert answered == [
        ("3313", ["0001", "0002"], ("AK9", "A", "2", "2", "2")),
        ("3314", ["0001"], ("AK9", "A", "1", "1", "1")),
        ("3315", ["0001", "0002"], ("AK9", "A", "2", "2", "2")),
        ("3316", ["0001"], ("AK9", "A", "1", "1", "1")),
    ]


def test_997_to_a_partner_whose_ids_hold_our_delimiters() -> None:
    theirs = Delimiters("|", "^", "\n")
    text = interchange_text(
        Party("Z>", "A*B~C"),
        BRAND,
        5,
        [GroupDraft("SW", 1, sets=[_945("0001")])],
        at=AT,
        delimiters=theirs,
    )
    received = _interchange(text)
    assert received.sender == ("Z>", "A*B~C")
    out = acknowledge(received, {}, control=3, at=AT)
    ack = _interchange(out.content.decode())
    _sound(ack)
    assert ack.receiver == ("Z", "A B C")
    assert ack.groups[0].receiver == "A B C"
    assert out.partner == "A*B~C"


def test_997_file_name_is_safe_for_any_control_number() -> None:
    text = interchange_text(WESTCOAST, BRAND, 1, [GroupDraft("SW", 1, sets=[_945("1")])], at=AT)
    received = _interchange(text.replace("000000001*0*P", "../x y:1*0*P", 1))
    out = acknowledge(received, {}, control=999_999_999, at=AT)
    assert out.name == "997-999999999-for-x_y_1.x12"
    assert out.reference == "../x y:1"


# --- 940: writing ------------------------------------------------------------------------------


def _order(order_id: str = "SO-1001", **changes: object) -> ReleaseOrder:
    order = ReleaseOrder(
        order_id=order_id,
        provider_id="westcoast",
        facility_id="LAX1",
        released_at=datetime(2026, 3, 1, 22, 40, 5, tzinfo=UTC),
        lines=[(1, "TEE-BLK-M", 2), (2, "MUG-01", 1)],
        ship_to_country="US",
        ship_to_postal="94107",
        service_level="expedited",
        promised_delivery_date=date(2026, 3, 4),
    )
    for name, value in changes.items():
        setattr(order, name, value)
    return order


def test_940_segments_of_one_order() -> None:
    assert order_segments(_order(), {"LAX1": "WC-LAX-01"}) == [
        ("W05", "N", "SO-1001", "SO-1001"),
        ("N1", "ST", "", "91", "SO-1001"),
        ("N4", "", "", "94107", "US"),
        ("N1", "WH", "LAX1", "ZZ", "WC-LAX-01"),
        ("G62", "10", "20260301"),
        ("G62", "02", "20260304"),
        ("G62", "47", "20260301", "Z", "224005", "UT"),
        ("W66", "PP", "U", "", "", "expedited"),
        ("LX", "1"),
        ("W01", "2", "EA", "", "SK", "TEE-BLK-M"),
        ("LX", "2"),
        ("W01", "1", "EA", "", "SK", "MUG-01"),
        ("W76", "3"),
    ]


def test_write_940s_one_interchange_per_order() -> None:
    orders = [_order("SO-1001"), _order("SO/1002 b"), _order("SO-1003", facility_id=None)]
    outs = write_940s(orders, sender=BRAND, receiver=WESTCOAST, first_control=120, at=AT)

    assert [o.name for o in outs] == [
        "940-SO-1001-000000120.x12",
        "940-SO_1002_b-000000121.x12",
        "940-SO-1003-000000122.x12",
    ]
    assert [o.reference for o in outs] == ["SO-1001", "SO/1002 b", "SO-1003"]
    assert [o.control_number for o in outs] == ["000000120", "000000121", "000000122"]
    assert {o.document for o in outs} == {"940"}
    assert {o.partner for o in outs} == {"westcoast"}
    for out, control in zip(outs, (120, 121, 122), strict=True):
        interchange = _interchange(out.content.decode())
        assert interchange.issues == []
        assert interchange.control == f"{control:09d}"
        assert interchange.sender == ("ZZ", "BRANDCO")
        assert interchange.receiver == ("ZZ", "WESTCOAST3PL")
        (group,) = interchange.groups
        assert (group.functional_id, group.control, group.version) == ("OW", str(control), "004010")
        assert group.issues == []
        (tx,) = group.sets
        assert (tx.code, tx.control, tx.issues) == ("940", "0001", [])
    third = _interchange(outs[2].content.decode()).groups[0].sets[0]
    assert "WH" not in [s.el(1) for s in third.segments if s.tag == "N1"]


def test_write_940s_control_numbers_start_again_after_the_largest() -> None:
    outs = write_940s(
        [_order("A"), _order("B")],
        sender=BRAND,
        receiver=WESTCOAST,
        first_control=999_999_999,
        at=AT,
    )
    assert [o.control_number for o in outs] == ["999999999", "000000001"]


def test_940_round_trip_keeps_every_field() -> None:
    orders = [
        _order(),
        _order(
            "SO-2002",
            facility_id="JFK1",
            released_at=datetime(2026, 3, 2, 8, 0, tzinfo=timezone(timedelta(hours=-5))),
            lines=[(1, "HAT", 4)],
            ship_to_name="Ada Lovelace",
            ship_to_address1="1 Main St",
            ship_to_address2="Apt 2",
            ship_to_city="Brooklyn",
            ship_to_state="NY",
            promised_delivery_date=None,
            service_level=None,
        ),
        _order("SO-3003", released_at=datetime(2026, 3, 2, 7, 1, 2), ship_to_country=None),
        _order("SO-4004", purpose="F", lines=[], ship_to_postal=None, ship_to_country=None),
    ]
    codes = {"LAX1": "WC-LAX-01", "JFK1": "WC-JFK-07"}
    outs = write_940s(
        orders, sender=BRAND, receiver=WESTCOAST, first_control=1, at=AT, facility_codes=codes
    )
    back = [
        order
        for out in outs
        for order in read_940s(
            out.content,
            provider_id="westcoast",
            facilities={code: facility for facility, code in codes.items()},
        )
    ]
    assert back == orders
    # an aware release time is written in UTC and comes back as the same instant
    assert back[1].released_at.utcoffset() == timedelta(0)
    assert back[2].released_at.tzinfo is None


_text = (
    st.text(
        alphabet=st.characters(min_codepoint=32, max_codepoint=126, exclude_characters="*~>"),
        min_size=1,
        max_size=12,
    )
    .map(str.strip)
    .filter(bool)
)
_maybe = st.none() | _text
_orders = st.builds(
    ReleaseOrder,
    order_id=_text,
    provider_id=st.just("westcoast"),
    facility_id=_maybe,
    released_at=st.datetimes(
        min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31), timezones=st.just(UTC)
    ).map(lambda d: d.replace(microsecond=0)),
    lines=st.lists(st.tuples(st.integers(1, 999), _text, st.integers(0, 10_000)), max_size=5),
    ship_to_country=_maybe,
    ship_to_postal=_maybe,
    service_level=_maybe,
    promised_delivery_date=st.none() | st.dates(date(2000, 1, 1), date(2099, 12, 31)),
    ship_to_name=_maybe,
    ship_to_address1=_maybe,
    ship_to_address2=st.none(),
    ship_to_city=_maybe,
    ship_to_state=_maybe,
    purpose=st.sampled_from(["N", "R", "F"]),
)


@settings(max_examples=100, deadline=None)
@given(orders=st.lists(_orders, min_size=1, max_size=3), first=st.integers(1, 999_999_999))
def test_940_round_trip_property(orders: list[ReleaseOrder], first: int) -> None:
    outs = write_940s(orders, sender=BRAND, receiver=WESTCOAST, first_control=first, at=AT)
    back = [o for out in outs for o in read_940s(out.content, provider_id="westcoast")]
    assert back == orders


# --- 940: reading ------------------------------------------------------------------------------


SAMPLES_940 = {
    "edienginetest_940.2.OK.edi": {
        "orders": ["35131"],
        "released_at": "2009-09-02T17:00:00",
        "facility": None,
        "lines": [(1, "110220", 1)],
        "service_level": "UPS GROUND",
    },
    "edienginetest_940.OK.edi": {
        "orders": ["538686"],
        "released_at": "2000-01-28T05:57:00",
        "facility": "0000000000140",
        "lines": [(1, "000100", 12), (2, "000200", 32), (3, "000300", 12)],
        "service_level": "MTEN",
    },
    "edienginetest_940_MultipleInterchangesAndGroups.edi": {
        "orders": ["538686"] * 6,
        "released_at": "2000-01-28T05:57:00",
        "facility": None,
        "lines": [(1, "000100", 12)],
        "service_level": None,
    },
    "oopfactory_simplot_940.txt": {
        "orders": ["01235639"],
        "released_at": "2011-12-11T09:30:00",
        "facility": "708090",
        "lines": [(1, "10071179009894", 972), (2, "10071179017073", 189)],
        "service_level": "CUST",
    },
    "x12-types_test_940_1.edi": {
        "orders": ["538686"],
        "released_at": "2000-01-28T05:57:00",
        "facility": "0581493780140",
        "lines": [(1, "000100", 12), (2, "000200", 32), (3, "000300", 12)],
        "service_level": "MTEN",
    },
    "x12-types_test_940_2.edi": {
        "orders": ["0080215659"],
        "released_at": "2018-03-27T01:31:34",
        "facility": None,
        "lines": [(1, "E000169", 2)],
        "service_level": "CALL",
    },
    "x12-types_test_940_3.edi": {
        "orders": ["18061923"],
        "released_at": "2011-12-01T11:08:00",
        "facility": None,
        "lines": [(1, "0638746000", 750), (2, "0143872000", 170)],
        "service_level": "CPU",
    },
    "x12-types_test_940_4.edi": {
        "orders": ["18061930"],
        "released_at": "2011-12-23T09:38:00",
        "facility": None,
        "lines": [(1, "0172183000", 300)],
        "service_level": "GORK",
    },
    "x12-types_test_940_5.edi": {
        "orders": ["18061923"],
        "released_at": "2011-12-01T11:08:00",
        "facility": None,
        "lines": [],
        "service_level": None,
    },
}


def test_every_940_sample_is_covered(samples: Path) -> None:
    assert sorted(p.name for p in (samples / X12 / "940").iterdir()) == sorted(SAMPLES_940)


@pytest.mark.parametrize("name", sorted(SAMPLES_940))
def test_read_940s_on_samples(samples: Path, name: str) -> None:
    expected = SAMPLES_940[name]
    orders = read_940s((samples / X12 / "940" / name).read_bytes(), provider_id="acme")
    assert [o.order_id for o in orders] == expected["orders"]
    for order in orders:
        assert order.provider_id == "acme"
        assert order.released_at.isoformat() == expected["released_at"]
        assert order.facility_id == expected["facility"]
        assert order.lines == expected["lines"]
        assert order.service_level == expected["service_level"]


@pytest.mark.parametrize("name", sorted(SAMPLES_940))
def test_map_940_on_samples(samples: Path, name: str) -> None:
    expected = SAMPLES_940[name]
    data = (samples / X12 / "940" / name).read_bytes()
    parsed = Parsed()
    problems = []
    # the warehouse's own code when the file names one, else a default facility is needed
    facility = expected["facility"] or "DEF1"
    default = None if expected["facility"] else "DEF1"
    for interchange in read(data).interchanges:
        for group, tx in interchange.transaction_sets():
            problems += map_940(
                tx, group, interchange, "acme", parsed, default_facility=default, facilities={}
            )
    assert problems == []
    assert parsed.rejects == []
    cancelled = name == "x12-types_test_940_5.edi"
    rows = (
        []
        if cancelled
        else [
            {
                "order_id": order_id,
                "provider_id": "acme",
                "facility_id": facility,
                "released_at": expected["released_at"],
            }
            for order_id in expected["orders"]
        ]
    )
    assert parsed.rows.get("releases", []) == rows


def test_simplot_details(samples: Path) -> None:
    (order,) = read_940s((samples / X12 / "940/oopfactory_simplot_940.txt").read_bytes())
    assert order.provider_id == "COMPANY C"  # ISA08 when no provider is given
    assert order.promised_delivery_date == date(2011, 1, 14)
    # the ship-to is the consignee (N1*CN) in this file
    assert (order.ship_to_name, order.ship_to_city, order.ship_to_state) == (
        "McLane Foodservice Inc",
        "Guilderland Center",
        "NY",
    )
    assert (order.ship_to_postal, order.ship_to_country) == ("12085", "US")
    assert order.ship_to_address1 == "Northeaster Industrial Park Bldg 22"


def test_940_change_and_cancel(samples: Path) -> None:
    (change,) = read_940s((samples / X12 / "940/x12-types_test_940_4.edi").read_bytes())
    assert change.purpose == "R"
    assert (change.ship_to_name, change.ship_to_address2) == (
        "FONTANA % UNITED FACILITIES",
        "CSF - 1050",
    )
    (cancel,) = read_940s((samples / X12 / "940/x12-types_test_940_5.edi").read_bytes())
    assert cancel.purpose == "F"
    assert cancel.lines == []
    data = (samples / X12 / "940/x12-types_test_940_5.edi").read_bytes()
    interchange = read(data).interchanges[0]
    parsed = Parsed()
    group, tx = next(interchange.transaction_sets())
    assert (
        map_940(tx, group, interchange, "acme", parsed, default_facility=None, facilities={}) == []
    )
    assert parsed.count() == 0
    assert parsed.notes == [
        "segment 4 (W05): order 18061923 is cancelled (W05-01 'F'); no release recorded"
    ]


def test_map_940_facility_through_the_partner_codes(samples: Path) -> None:
    data = (samples / X12 / "940/oopfactory_simplot_940.txt").read_bytes()
    interchange = read(data).interchanges[0]
    group, tx = next(interchange.transaction_sets())
    parsed = Parsed()
    map_940(
        tx,
        group,
        interchange,
        "du",
        parsed,
        default_facility="OTHER",
        facilities={"708090": "ALB1"},
    )
    assert parsed.rows["releases"][0]["facility_id"] == "ALB1"
    assert parsed.positions["releases"][0].label == "segment 4 (W05)"
    # a code the mapping does not know: the default facility comes before the code itself
    parsed = Parsed()
    map_940(tx, group, interchange, "du", parsed, default_facility="OTHER", facilities={"1": "X"})
    assert parsed.rows["releases"][0]["facility_id"] == "OTHER"
    # or by the warehouse's name (N102)
    parsed = Parsed()
    names = {"Distribution Unlimited Inc 090": "ALB2"}
    map_940(tx, group, interchange, "du", parsed, default_facility=None, facilities=names)
    assert parsed.rows["releases"][0]["facility_id"] == "ALB2"


def _map(text: str, default_facility: str | None = None) -> tuple[list[SetProblem], Parsed]:
    interchange = _interchange(text)
    group, tx = next(interchange.transaction_sets())
    parsed = Parsed()
    problems = map_940(
        tx, group, interchange, "acme", parsed, default_facility=default_facility, facilities={}
    )
    return problems, parsed


def _940(*body: tuple[str, ...], gs_date: str | None = None) -> str:
    text = interchange_text(
        BRAND,
        WESTCOAST,
        5,
        [GroupDraft("OW", 5, sets=[SetDraft("940", "0001", list(body))])],
        at=AT,
    )
    if gs_date is not None:
        text = text.replace("*20260302*0915*5*", f"*{gs_date}*0915*5*")
    return text


def test_map_940_without_a_warehouse() -> None:
    problems, parsed = _map(_940(("W05", "N", "A-1"), ("LX", "1")))
    assert problems == [
        SetProblem(
            4,
            "N1",
            3,
            "no N1*WH segment names the warehouse, and no default facility is set",
            segment_code="3",
        )
    ]
    assert [(r.kind, r.position.label, r.reason, r.record) for r in parsed.rejects] == [
        (
            "releases",
            "segment 4 (W05)",
            "no N1*WH segment names the warehouse, and no default facility is set",
            "W05*N*A-1",
        )
    ]
    assert parsed.count() == 0


def test_map_940_warehouse_without_a_code() -> None:
    problems, parsed = _map(_940(("W05", "N", "A-1"), ("N1", "WH", "Somewhere")))
    assert [(p.segment_id, p.position_in_set, p.element, p.element_code) for p in problems] == [
        ("N1", 3, 4, "1")
    ]
    assert parsed.rejects[0].position.label == "segment 5 (N1)"
    assert parsed.rejects[0].reason == (
        "N1*WH has no warehouse code in N104, and no default facility is set"
    )


def test_map_940_without_w05_or_order_number() -> None:
    problems, parsed = _map(_940(("N1", "WH", "X", "ZZ", "W1")))
    assert problems == [
        SetProblem(
            3,
            "W05",
            2,
            "the 940 has no W05 segment (shipping order identification)",
            segment_code="3",
        )
    ]
    assert parsed.rejects[0].position.label == "segment 3 (ST)"
    problems, parsed = _map(_940(("W05", "N", ""), ("N1", "WH", "X", "ZZ", "W1")))
    assert problems == [
        SetProblem(
            4,
            "W05",
            2,
            "W05-02 (the depositor's order number) is empty",
            element=2,
            element_code="1",
        )
    ]
    assert parsed.count() == 0


def test_map_940_release_time() -> None:
    warehouse = ("N1", "WH", "X", "ZZ", "W1")
    # G62*47 with a UTC time code wins over the group's date
    _, parsed = _map(
        _940(("W05", "N", "A"), warehouse, ("G62", "47", "20260301", "Z", "2310", "UT"))
    )
    assert parsed.rows["releases"][0]["released_at"] == "2026-03-01T23:10:00+00:00"
    _, parsed = _map(
        _940(("W05", "N", "A"), warehouse, ("G62", "47", "20260301", "Z", "2310", "ES"))
    )
    assert parsed.rows["releases"][0]["released_at"] == "2026-03-01T23:10:00-05:00"
    # without it, the group's GS04/GS05 (a YYMMDD GS04 read as 20YY)
    _, parsed = _map(_940(("W05", "N", "A"), warehouse, ("G62", "10", "20260301")))
    assert parsed.rows["releases"][0]["released_at"] == "2026-03-02T09:15:00"
    _, parsed = _map(_940(("W05", "N", "A"), warehouse, gs_date="260302"))
    assert parsed.rows["releases"][0]["released_at"] == "2026-03-02T09:15:00"
    # a GS04 that is no date: the interchange's ISA09/ISA10
    text = _940(("W05", "N", "A"), warehouse, gs_date="2026XX02").replace("*0915*U*", "*0800*U*")
    _, parsed = _map(text)
    assert parsed.rows["releases"][0]["released_at"] == "2026-03-02T08:00:00"
    problems, parsed = _map(text.replace("*260302*0800*U*", "*2603*0800*U*"))
    assert [p.reason for p in problems] == [
        "no release time: GS04/GS05 '2026XX02' '0915' and ISA09/ISA10 '2603' '0800' "
        "are not a date and time"
    ]
    assert parsed.rejects[0].position.label == "segment 3 (ST)"
    problems, parsed = _map(
        _940(("W05", "N", "A"), warehouse, ("G62", "47", "20260231", "Z", "2310"))
    )
    assert problems == [
        SetProblem(
            6,
            "G62",
            4,
            "G62*47 (released) '20260231' '2310' is not a date and time",
            element=2,
            element_code="8",
        )
    ]
    assert parsed.rejects[0].position.label == "segment 6 (G62)"


def test_read_940s_leaves_out_bad_lines() -> None:
    text = _940(
        ("W05", "N", "A"),
        ("LX", "1"),
        ("W01", "2.5", "EA", "", "SK", "X"),
        ("LX", "2"),
        ("W01", "3", "EA"),
        ("LX", "x"),
        ("W01", "4.0", "EA", "0001", "UP", "0002", "VN", "V-9"),
        ("W01", "1", "EA", "UPC-ONLY"),
    )
    (order,) = read_940s(text)
    assert order.lines == [(3, "V-9", 4), (4, "UPC-ONLY", 1)]


def test_997_from_a_940_mapping() -> None:
    text = _940(("W05", "N", "A"), ("N1", "WH", "Somewhere"))
    interchange = _interchange(text)
    group, tx = next(interchange.transaction_sets())
    problems = map_940(
        tx, group, interchange, "acme", Parsed(), default_facility=None, facilities={}
    )
    results = {(group.control, tx.control): SetResult("R", "5", problems)}
    ack = _interchange(acknowledge(interchange, results, control=6, at=AT).content.decode())
    assert _body(ack) == [
        ("AK1", "OW", "5"),
        ("AK2", "940", "0001"),
        ("AK3", "N1", "3", "", "8"),
        ("AK4", "4", "", "1"),
        ("AK5", "R", "5"),
        ("AK9", "R", "1", "1", "0"),
    ]


@settings(max_examples=150, deadline=None)
@given(case=_interchanges(), steps=_mutations)
def test_997_of_any_readable_interchange_is_sound(
    case: tuple[str, Delimiters, int], steps: list[tuple[str, int, int]]
) -> None:
    text, delimiters, _ = case
    try:
        document = read(_mutate(text, delimiters, steps))
    except ConnectorError:
        return
    for interchange in document.interchanges:
        out = acknowledge(interchange, {}, control=77, at=AT, strict=True)
        ack = _interchange(out.content.decode())
        _sound(ack)
        assert ack.control == "000000077"
        answered = [_body(ack, i)[0] for i in range(len(ack.groups[0].sets))] if ack.groups else []
        assert len(answered) == len(interchange.groups)
        assert "/" not in out.name
