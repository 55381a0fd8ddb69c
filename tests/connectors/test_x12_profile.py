"""The X12 mapping profile: defaults, references, loading and the errors a wrong file gets."""

from __future__ import annotations

import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from tallyclerk.connectors import ConnectorError
from tallyclerk.connectors.x12 import DEFAULT_PROFILE, X12Profile, _profile, load_profile
from tallyclerk.connectors.x12._profile import Ref, parse_profile


def _write(tmp_path: Path, text: str, name: str = "westcoast.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_default_profile_follows_common_practice() -> None:
    p = DEFAULT_PROFILE
    assert [str(r) for r in p.s945.order_id] == ["W06-02"]
    assert [str(r) for r in p.s945.shipment_id] == ["W06-04", "W06-02"]
    assert [str(r) for r in p.s945.shipped_at] == ["G62:11", "W06-03"]
    assert [str(r) for r in p.s945.tracking_number] == ["N9:2I", "N9:CN"]
    assert p.s945.packaging == ()
    assert p.s945.shipping_cost == ()
    assert p.s846.on_hand == ("17", "33")
    assert p.s846.available == ("33",)
    assert p.s846.damaged == ("74",)
    assert p.product_qualifiers == ("SK", "VN", "BP", "IN", "UP", "UK", "EN")
    assert p.units["LB"] == Decimal("0.45359237")
    assert p.strict_envelope is False
    assert p.provider is None
    assert p.default_facility is None


@pytest.mark.parametrize(
    ("text", "tag", "qualifier", "element", "time", "zone"),
    [
        ("W06-02", "W06", None, 2, None, None),
        ("n9:2i", "N9", "2I", 2, None, None),
        ("N9:LV-03", "N9", "LV", 3, None, None),
        ("G62:11", "G62", "11", 2, 4, 5),
        ("DTM:007", "DTM", "007", 2, 3, 4),
        ("BIA-04+05", "BIA", None, 4, 5, None),
        ("N1:WH", "N1", "WH", 4, None, None),
        ("MEA:WT", "MEA", "WT", 3, None, None),
        ("XYZ:Q", "XYZ", "Q", 2, None, None),
    ],
)
def test_reference_forms(
    text: str, tag: str, qualifier: str | None, element: int, time: int | None, zone: int | None
) -> None:
    ref = Ref.parse(text)
    assert (ref.tag, ref.qualifier, ref.element, ref.time_element, ref.zone_element) == (
        tag,
        qualifier,
        element,
        time,
        zone,
    )


@pytest.mark.parametrize("text", ["W06", "W06_02", "W06-", "9W-01", "N9:TOOLONG", "W06-00", ""])
def test_bad_references_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"reference|counted from 01"):
        Ref.parse(text)


def test_load_a_full_profile(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """\
format: x12
provider: westcoast
default_facility: reno-1
facilities: {ACME01: reno-1, "Warehouse Name": lax-2}
strict_envelope: true
timezone: America/Los_Angeles
units: {tn: 907.18474}
product_qualifiers: [bp, vn]
"945":
  tracking_number: "N9:BM"
  packaging: ["N9:PKG"]
  shipping_cost: ["N9:FRT"]
"846":
  on_hand: [34, QH]
  as_of: BIA-04+05
"947":
  reason_codes: {zz: decrease, AH: decrease}
"180":
  reasons: {na: wrong_item}
  dispositions: {ra: restock}
""",
    )
    p = load_profile(path)
    assert p.provider == "westcoast"
    assert p.default_facility == "reno-1"
    assert p.facility_for("ACME01") == "reno-1"
    assert p.facility_for("warehouse name") == "lax-2"
    assert p.facility_for("OTHER") is None
    assert p.strict_envelope is True
    assert p.timezone == "America/Los_Angeles"
    assert p.units["TN"] == Decimal("907.18474")
    assert p.units["LB"] == Decimal("0.45359237")  # the defaults stay
    assert p.product_qualifiers == ("BP", "VN")
    assert [str(r) for r in p.s945.tracking_number] == ["N9:BM"]
    assert [str(r) for r in p.s945.packaging] == ["N9:PKG"]
    assert p.s846.on_hand == ("34", "QH")
    assert p.s947.direction("ZZ") == "decrease"
    assert p.s947.direction("AH") == "decrease"
    assert p.s947.direction("AU") == "decrease"  # built in
    assert p.s947.direction("56") == "increase"
    assert p.s947.direction("QQ") is None
    assert p.s180.reason("NA") == "wrong_item"
    assert p.s180.reason("DA") == "damaged"
    assert p.s180.reason("XX") == "other"
    assert p.s180.disposition("RA") == "restock"
    assert p.s180.disposition("DI") == "dispose"
    assert p.s180.disposition("??") is None


def test_leading_zeros_of_qualifiers_survive(tmp_path: Path) -> None:
    p = load_profile(_write(tmp_path, 'format: x12\n"846": {as_of: ["DTM:007"], on_hand: [017]}\n'))
    assert p.s846.as_of[0].qualifier == "007"
    assert p.s846.on_hand == ("017",)


def test_unknown_key_names_file_line_and_key(tmp_path: Path) -> None:
    path = _write(tmp_path, 'format: x12\n"945":\n  order_id: [W06-02]\n  shiped_at: [W06-03]\n')
    with pytest.raises(ConnectorError) as caught:
        load_profile(path)
    message = str(caught.value)
    assert message.startswith(f"{path}, line 4, key 945.shiped_at: unknown key 'shiped_at'")
    assert "shipped_at" in message  # the known keys are listed


def test_unknown_top_level_key(tmp_path: Path) -> None:
    path = _write(tmp_path, "format: x12\nfacility: reno-1\n")
    with pytest.raises(ConnectorError, match=r"line 2, key facility: unknown key 'facility'"):
        load_profile(path)


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, "format: x12\nfacilities: {ACME01: reno-1\n")
    with pytest.raises(ConnectorError) as caught:
        load_profile(path)
    assert str(caught.value).startswith(f"{path}, line ")
    assert "invalid YAML" in str(caught.value)


def test_bad_reference_names_the_key(tmp_path: Path) -> None:
    path = _write(tmp_path, 'format: x12\n"945":\n  tracking_number: ["N9 2I"]\n')
    with pytest.raises(ConnectorError) as caught:
        load_profile(path)
    assert str(caught.value).startswith(
        f"{path}, line 3, key 945.tracking_number: 'N9 2I' is not a reference"
    )


def test_every_problem_is_listed(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "format: x12\ntimezone: Mars/Olympus\nstrict_envelope: perhaps\n"
        '"180": {reasons: {DA: smashed}}\n',
    )
    with pytest.raises(ConnectorError) as caught:
        load_profile(path)
    lines = str(caught.value).splitlines()
    assert len(lines) == 3
    assert lines[0].startswith(f"{path}, line 2, key timezone: 'Mars/Olympus' is not a time zone")
    assert lines[1].startswith(f"{path}, line 3, key strict_envelope:")
    assert lines[2].startswith(f"{path}, line 4, key 180.reasons.DA:")


def test_format_is_required_and_must_be_x12(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match=r"key format: missing: an X12 profile starts with"):
        load_profile(_write(tmp_path, "provider: westcoast\n"))
    with pytest.raises(ConnectorError, match=r"line 1, key format: this is a 'csv' profile"):
        load_profile(_write(tmp_path, "format: csv\ncolumns: {}\n", "csv.yaml"))


def test_empty_missing_and_non_mapping_files(tmp_path: Path) -> None:
    with pytest.raises(ConnectorError, match="the profile is empty"):
        load_profile(_write(tmp_path, "# nothing\n"))
    with pytest.raises(ConnectorError, match="cannot read the profile"):
        load_profile(tmp_path / "absent.yaml")
    with pytest.raises(ConnectorError, match="must be a mapping"):
        load_profile(_write(tmp_path, "- format\n- x12\n", "list.yaml"))


def test_units_must_be_positive() -> None:
    with pytest.raises(ConnectorError) as caught:
        parse_profile("format: x12\nunits: {LB: -1}\n", "p.yaml")
    assert str(caught.value) == (
        "p.yaml, line 2, key units: the factor of unit LB must be a positive number"
    )


def test_profile_is_a_pydantic_model() -> None:
    p = X12Profile.model_validate({"format": "x12", "945": {"carrier": "TD5-03"}})
    assert [str(r) for r in p.s945.carrier] == ["TD5-03"]
    assert p.s945.service == DEFAULT_PROFILE.s945.service


def test_the_documented_example_is_a_valid_profile() -> None:
    doc = _profile.__doc__ or ""
    block = textwrap.dedent(doc[doc.index("::\n") + 3 : doc.index("\nReferences")])
    p = parse_profile(block, "docstring")
    assert p.provider == "westcoast"
    assert p.interchange_id == "WESTCOAST3PL"
    assert p.facility_for("ACME01") == "reno-1"
    assert [str(r) for r in p.s944.arrived_at] == ["W17-02+07"]
    assert p.s947.direction("ZZ") == "decrease"
    assert p.s180.disposition("RA") == "restock"
    assert p.s846.on_hand == DEFAULT_PROFILE.s846.on_hand
