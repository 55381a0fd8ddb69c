"""CSV profiles: loading, header matching, conversions, rejects, and the example profiles."""

from __future__ import annotations

import contextlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from tallyclerk.connectors import ConnectorError
from tallyclerk.connectors.csv_profile import (
    CsvProfile,
    DateSpec,
    UnitSpec,
    ValueMap,
    apply_profile,
    header_map,
    load_csv_profile,
    parse_csv_profile,
    profile_format,
    read_export,
    read_with_profile,
)
from tallyclerk.ingest._validate import Validator

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "profiles"
OLIST = Path("ecommerce_datasets") / "olist"


def _profile(text: str) -> CsvProfile:
    return parse_csv_profile(text, "test.yaml")


def _table(header: list[str], rows: list[list[str | None]]) -> tuple[pa.Table, pa.Array]:
    columns = [pa.array([row[i] for row in rows], pa.string()) for i in range(len(header))]
    table = pa.Table.from_arrays(columns, names=header)
    return table, pa.array(range(2, len(rows) + 2), pa.int64())


def _canonical_rows(profile: CsvProfile, data: bytes) -> list[dict[str, str | None]]:
    result = read_with_profile(data, profile, "export.csv")
    assert result.rejects == []
    rows: list[dict[str, str | None]] = result.table.to_pylist()
    return rows


SHIPMENTS = """
format: csv
kind: shipments
provider: heartland
facility: KC1
columns:
  shipment_id: Shipment
  order_id: Order
  shipped_at: Shipped
  carrier: Carrier
  weight_kg: Weight
dates:
  shipped_at: {format: "%m/%d/%Y %H:%M", timezone: America/Chicago}
units:
  weight_kg: {from: lb}
values:
  carrier: {strict: true, map: {FDX: fedex, UPS: ups, "N/A": ~}}
"""
SHIPMENT_HEADER = ["Shipment", "Order", "Shipped", "Carrier", "Weight"]


# --- the examples ---------------------------------------------------------------------------


def test_examples_declare_csv() -> None:
    for name in ("heartland-shipments", "inventory-eu"):
        assert profile_format(EXAMPLES / f"{name}.yaml") == "csv"
        assert load_csv_profile(EXAMPLES / f"{name}.yaml").source.endswith(f"{name}.yaml")


def test_heartland_example_transforms_to_canonical_shipments() -> None:
    profile = load_csv_profile(EXAMPLES / "heartland-shipments.yaml")
    data = (EXAMPLES / "heartland-shipments.csv").read_bytes()
    result = read_with_profile(data, profile, "heartland-shipments.csv")
    assert result.rejects == []
    # Two banner lines and the header come first.
    assert result.lines.to_pylist() == [4, 5, 6, 7, 8, 9, 10]
    rows = result.table.to_pylist()
    assert result.table.column_names == [
        "shipment_id",
        "order_id",
        "provider_id",
        "facility_id",
        "shipped_at",
        "carrier",
        "service",
        "tracking_number",
        "packaging",
        "weight_kg",
        "shipping_cost",
    ]
    assert rows[0] == {
        "shipment_id": "HF-558201",
        "order_id": "1001",
        "provider_id": "heartland",
        "facility_id": "KC1",
        "shipped_at": "2026-03-06T16:12:00-06:00",
        "carrier": "fedex",
        "service": "ground",
        "tracking_number": "771234567890",
        "packaging": "box_small",
        "weight_kg": "1.133980925",  # 2.5 lb
        "shipping_cost": "8.95",
    }
    # US daylight saving time starts at 2:00 on Sunday 2026-03-08 in Chicago.
    assert [r["shipped_at"] for r in rows] == [
        "2026-03-06T16:12:00-06:00",
        "2026-03-07T11:47:00-06:00",
        "2026-03-07T23:59:00-06:00",
        "2026-03-08T01:40:00-06:00",
        "2026-03-09T08:05:00-05:00",
        "2026-03-09T14:30:00-05:00",
        "2026-03-09T17:55:00-05:00",
    ]
    assert [r["carrier"] for r in rows] == [
        "fedex",
        "ups",
        "usps",
        "usps",
        "fedex",  # "fdxg": value maps ignore case
        "old_dominion",
        "ups",
    ]
    pallet = rows[5]
    assert pallet["weight_kg"] == "566.9904625"  # "1,250" lb
    assert pallet["shipping_cost"] == "1045.00"  # "$1,045.00"
    assert pallet["tracking_number"] is None
    assert pallet["service"] == "ltl"
    assert pallet["packaging"] == "pallet"
    assert rows[2]["weight_kg"] == "0.3401942775"  # 0.75 lb
    assert rows[6]["shipping_cost"] == "14.22"


def test_inventory_eu_example_transforms_to_canonical_snapshots() -> None:
    profile = load_csv_profile(EXAMPLES / "inventory-eu.yaml")
    raw = (EXAMPLES / "inventory-eu.csv").read_bytes()
    assert "Verfügbar".encode("cp1252") in raw  # really a Windows-1252 file
    result = read_with_profile(raw, profile, "inventory-eu.csv")
    assert result.rejects == []
    assert result.lines.to_pylist() == [4, 5, 6, 7, 8, 9]
    rows = result.table.to_pylist()
    assert rows[0] == {
        "provider_id": "rheinlog",
        "facility_id": "HAM1",
        "as_of": "2026-03-28T06:00:00+01:00",
        "sku": "JP-TEE-BLK-M",
        "on_hand": "1250",
        "available": "1180",
        "damaged": "3",
    }
    # Summer time starts in Berlin on 2026-03-29.
    assert [r["as_of"] for r in rows[3:]] == ["2026-03-30T06:00:00+02:00"] * 3
    assert [r["facility_id"] for r in rows] == ["HAM1", "HAM1", "MUC1"] * 2
    assert [r["damaged"] for r in rows] == ["3", "0", "12", "3", "0", None]
    assert rows[5]["on_hand"] == "2040"


def test_documented_profiles_are_the_examples() -> None:
    docs = (EXAMPLES.parents[1] / "docs" / "csv-profiles.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", docs, flags=re.DOTALL)
    full = [parse_csv_profile(b, "doc") for b in blocks if b.startswith("format: csv")]
    names = ("heartland-shipments", "inventory-eu")
    examples = [load_csv_profile(EXAMPLES / f"{n}.yaml") for n in names]
    assert [p.model_dump() for p in full] == [p.model_dump() for p in examples]
    # The snippets of each section are valid entries of that section.
    models = {"dates": DateSpec, "units": UnitSpec, "values": ValueMap}
    snippets = [b for b in blocks if b.split(":", 1)[0] in models]
    assert len(snippets) == 3
    for block in snippets:
        section, entries = next(iter(yaml.safe_load(block).items()))
        for entry in entries.values():
            spec = entry if section != "values" or "map" in entry else {"map": entry}
            models[section].model_validate(spec)


@pytest.mark.parametrize("name", ["heartland-shipments", "inventory-eu"])
def test_example_output_passes_the_canonical_validator(name: str) -> None:
    profile = load_csv_profile(EXAMPLES / f"{name}.yaml")
    result = read_with_profile((EXAMPLES / f"{name}.csv").read_bytes(), profile, name)
    kind = profile.kind_spec()
    n = result.table.num_rows
    arrays = [
        result.table.column(c) if c in result.table.column_names else pa.nulls(n, pa.string())
        for c in kind.column_names
    ]
    chunk = pa.table([*arrays, result.lines], names=[*kind.column_names, "_line"])
    validator = Validator(kind, {}, "UTC")
    try:
        good, bad = validator.validate(chunk)
    finally:
        validator.close()
    assert bad == []
    assert good.num_rows == n
    first = good.to_pylist()[0]
    if name == "heartland-shipments":
        assert first["shipped_at"] == datetime(2026, 3, 6, 22, 12, tzinfo=UTC)
    else:
        assert first["as_of"] == datetime(2026, 3, 28, 5, 0, tzinfo=UTC)
        assert first["on_hand"] == 1250


# --- loading profiles -----------------------------------------------------------------------


def test_unknown_key_names_the_key_and_line() -> None:
    text = "format: csv\nkind: shipments\nprovider: p\nfacility: f\nskip_row: 2\n"
    with pytest.raises(ConnectorError) as caught:
        parse_csv_profile(text, "heartland.yaml")
    assert str(caught.value).startswith(
        "heartland.yaml:5: skip_row: unknown key 'skip_row' (did you mean 'skip_rows'?"
    )


def test_unknown_nested_key_and_bad_zone_are_both_reported() -> None:
    text = SHIPMENTS.replace("timezone: America/Chicago}", "timezone: America/Chicgo, fromat: x}")
    with pytest.raises(ConnectorError) as caught:
        _profile(text)
    message = str(caught.value)
    assert message.startswith("2 problems in the profile test.yaml:")
    assert "test.yaml:13: dates.shipped_at.fromat: unknown key 'fromat'" in message
    assert "test.yaml:13: dates.shipped_at.timezone: unknown time zone 'America/Chicgo'" in message


def test_unknown_canonical_column_suggests_the_right_one() -> None:
    text = SHIPMENTS.replace("  carrier: Carrier\n", "  carier: Carrier\n")
    with pytest.raises(ConnectorError) as caught:
        _profile(text)
    assert (
        "test.yaml:10: columns.carier: shipments has no column 'carier' "
        "(did you mean 'carrier'?" in str(caught.value)
    )
    assert "values.carrier: carrier is not read from the export" in str(caught.value)


def test_required_column_nobody_supplies_is_an_error() -> None:
    text = SHIPMENTS.replace("  shipment_id: Shipment\n", "")
    with pytest.raises(ConnectorError, match="nothing supplies shipment_id, required for"):
        _profile(text)
    without_facility = SHIPMENTS.replace("facility: KC1\n", "")
    with pytest.raises(ConnectorError, match=r"facility_id.*set `facility`"):
        _profile(without_facility)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("kind: shipments", "kind: shipment"), "kind: unknown kind 'shipment' (did you mean"),
        (("{from: lb}", "{from: lb, factor: 2}"), "give either `from`"),
        (("weight_kg: {from: lb}", "carrier: {from: lb}"), "carrier is not a number column"),
        (
            ('"%m/%d/%Y %H:%M"', '"%H:%M"'),
            "'%H:%M' lacks the year, the month or the day",
        ),
        (('"%m/%d/%Y %H:%M"', '"%m/%d/%Y %H:%M %Z"'), "remove it and set `timezone`"),
        (('"%m/%d/%Y %H:%M"', "%m/%d/%Y"), 'quote values that start with %: format: "%m/%d/%Y"'),
        (("provider: heartland", "provider: heartland\ndelimiter: ';;'"), "one character"),
        (("provider: heartland", "provider: heartland\nencoding: klingon"), "unknown encoding"),
        (("FDX: fedex,", "FDX: fedex, fdx: dhl,"), "'FDX' and 'fdx' are the same value"),
        (("format: csv", "format: x12"), "this is not a CSV profile (format: csv)"),
        (("provider: heartland", "provider: heartland\nprovider: other"), "given twice"),
        (
            ("provider: heartland", "provider: heartland\nconstants: {carrier: ups}"),
            "carrier is also read from the export under columns",
        ),
    ],
)
def test_profile_problems_are_explained(change: tuple[str, str], message: str) -> None:
    old, new = change
    assert old in SHIPMENTS
    with pytest.raises(ConnectorError) as caught:
        _profile(SHIPMENTS.replace(old, new, 1))
    assert message in str(caught.value)
    assert str(caught.value).startswith(("test.yaml:", "2 problems in the profile test.yaml"))


def test_cross_checks_also_apply_when_built_directly() -> None:
    with pytest.raises(ValidationError, match="nothing supplies shipment_id"):
        CsvProfile.model_validate({"format": "csv", "kind": "shipments", "columns": {}})


def test_format_is_read_in_any_case() -> None:
    assert _profile(SHIPMENTS.replace("format: csv", "format: CSV")).format == "csv"


def test_yaml_scalars_stay_text() -> None:
    profile = _profile(
        SHIPMENTS.replace(
            '{FDX: fedex, UPS: ups, "N/A": ~}', '{01: fedex, 1.0: ups, yes: dhl, NO: "no"}'
        )
    )
    assert profile.values["carrier"].map == {"01": "fedex", "1.0": "ups", "yes": "dhl", "NO": "no"}


def test_profile_format(tmp_path: Path) -> None:
    x12 = tmp_path / "westcoast.yaml"
    x12.write_text("format: X12\npartner: westcoast\n")
    assert profile_format(x12) == "x12"
    missing = tmp_path / "missing.yaml"
    missing.write_text("kind: shipments\ncolumns: {}\n")
    with pytest.raises(ConnectorError, match=r"missing\.yaml:1: format: the profile must say"):
        profile_format(missing)
    listed = tmp_path / "list.yaml"
    listed.write_text("- format: csv\n")
    with pytest.raises(ConnectorError, match=r"list\.yaml:1: a profile must be a mapping"):
        profile_format(listed)
    with pytest.raises(ConnectorError, match="cannot read the profile"):
        profile_format(tmp_path / "absent.yaml")
    with pytest.raises(ConnectorError, match="cannot read the profile"):
        load_csv_profile(tmp_path / "absent.yaml")


def test_alias_bombs_are_refused() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(7)
    )
    with pytest.raises(ConnectorError, match="too large"):
        parse_csv_profile(bomb, "bomb.yaml")


# --- headers ---------------------------------------------------------------------------------


def test_header_map_ignores_case_and_spaces() -> None:
    profile = _profile(SHIPMENTS)
    header = ["\ufeffSHIPMENT", " order ", "Ship ped", "carrier", "WEIGHT", "Notes"]
    assert header_map(profile, header) == {
        "shipment_id": "\ufeffSHIPMENT",
        "order_id": " order ",
        "shipped_at": "Ship ped",
        "carrier": "carrier",
        "weight_kg": "WEIGHT",
    }


def test_missing_export_column_is_named() -> None:
    profile = _profile(SHIPMENTS.replace("shipped_at: Shipped", "shipped_at: Ship Date"))
    with pytest.raises(ConnectorError) as caught:
        header_map(profile, SHIPMENT_HEADER, "export.csv")
    assert str(caught.value).startswith(
        "export.csv: the export has no column 'Ship Date' (profile columns.shipped_at). "
        "The export's columns: 'Shipment', 'Order', 'Shipped', 'Carrier', 'Weight'."
    )
    table, lines = _table(SHIPMENT_HEADER, [["S1", "O1", "03/09/2026 10:00", "FDX", "1"]])
    with pytest.raises(ConnectorError, match="the export has no column 'Ship Date'"):
        apply_profile(profile, table, lines)


def test_alternative_headers_and_duplicates() -> None:
    profile = _profile(SHIPMENTS.replace("shipped_at: Shipped", "shipped_at: [Ship Date, Shipped]"))
    assert header_map(profile, SHIPMENT_HEADER)["shipped_at"] == "Shipped"
    with pytest.raises(ConnectorError, match=r"has 2 columns named 'Carrier' \(columns 4, 6"):
        header_map(profile, [*SHIPMENT_HEADER, "carrier"])


# --- conversions ----------------------------------------------------------------------------


def test_bad_date_is_a_row_reject_with_line_and_format() -> None:
    profile = _profile(SHIPMENTS)
    table, lines = _table(
        SHIPMENT_HEADER,
        [
            ["S1", "O1", "03/09/2026 10:00", "FDX", "2"],
            ["S2", "O2", "2026-03-09 10:00", "UPS", "3"],
            ["S3", "O3", "03/10/2026 07:30", "UPS", "4"],
        ],
    )
    result = apply_profile(profile, table, lines)
    assert result.table.column("shipment_id").to_pylist() == ["S1", "S3"]
    assert result.lines.to_pylist() == [2, 4]
    assert len(result.rejects) == 1
    reject = result.rejects[0]
    assert reject.line == 3
    assert reject.column == "shipped_at"
    assert reject.reason == (
        "shipped_at: \"2026-03-09 10:00\" in column 'Shipped' does not match the date format "
        "%m/%d/%Y %H:%M (e.g. 03/09/2026 14:15)"
    )
    assert reject.record is not None
    assert json.loads(reject.record)["Shipped"] == "2026-03-09 10:00"


def test_every_problem_of_a_row_is_in_its_reason() -> None:
    profile = _profile(SHIPMENTS)
    table, lines = _table(SHIPMENT_HEADER, [["S1", "O1", "yesterday", "DHL", "heavy"]])
    (reject,) = apply_profile(profile, table, lines).rejects
    assert reject.column == "shipped_at"
    assert reject.reason.split("; ")[1:] == [
        "carrier: \"DHL\" in column 'Carrier' is not in the value map (known: FDX, N/A, UPS)",
        "weight_kg: \"heavy\" in column 'Weight' is not a number",
    ]


def test_value_maps() -> None:
    profile = _profile(
        SHIPMENTS.replace("  weight_kg: Weight\n", "  weight_kg: Weight\n  service: Service\n")
        + "  service: {GND: ground, 2DA: 2day}\n"
    )
    header = [*SHIPMENT_HEADER, "Service"]
    table, lines = _table(
        header,
        [
            ["S1", "O1", "03/09/2026 10:00", " fdx ", "1", "GND"],
            ["S2", "O2", "03/09/2026 10:00", "N/A", "1", "EXPRESS"],
            ["S3", "O3", "03/09/2026 10:00", None, "1", "2da"],
        ],
    )
    result = apply_profile(profile, table, lines)
    assert result.rejects == []
    assert result.table.column("carrier").to_pylist() == ["fedex", None, None]
    # Not strict: unknown codes pass through unchanged.
    assert result.table.column("service").to_pylist() == ["ground", "EXPRESS", "2day"]


def test_booleans_map_through_values_and_case_can_matter() -> None:
    profile = _profile(
        """
format: csv
kind: adjustments
provider: heartland
facility: KC1
columns: {adjustment_id: Adj, sku: SKU, qty_delta: Change, occurred_at: When, approved: OK}
timezone: America/Chicago
values:
  approved: {map: {Y: "true", N: "false"}, strict: true, ignore_case: false}
"""
    )
    table, lines = _table(
        ["Adj", "SKU", "Change", "When", "OK"],
        [
            ["A1", "SKU1", "-3", "2026-03-09 10:00:00", "Y"],
            ["A2", "SKU1", "(2)", "2026-03-09T10:00:00Z", "N"],
            ["A3", "SKU1", "1.0", "2026-03-09", "y"],
        ],
    )
    result = apply_profile(profile, table, lines)
    assert result.table.to_pylist() == [
        {
            "adjustment_id": "A1",
            "provider_id": "heartland",
            "facility_id": "KC1",
            "sku": "SKU1",
            "qty_delta": "-3",
            "occurred_at": "2026-03-09T10:00:00-05:00",
            "approved": "true",
        },
        {
            "adjustment_id": "A2",
            "provider_id": "heartland",
            "facility_id": "KC1",
            "sku": "SKU1",
            "qty_delta": "-2",
            "occurred_at": "2026-03-09T10:00:00+00:00",
            "approved": "false",
        },
    ]
    assert [(r.line, r.column) for r in result.rejects] == [(4, "approved")]


def test_constants_and_provider_fill_empty_cells() -> None:
    profile = _profile(
        """
format: csv
kind: invoice_lines
provider: heartland
columns: {invoice_id: Invoice, line_no: Line, provider_id: Warehouse, charge_type: Type,
          amount: Amount (cents), invoice_date: Date}
constants: {currency: USD}
dates: {invoice_date: {format: "%d-%b-%Y %H:%M", timezone: America/Chicago}}
units: {amount: {from: cents}}
"""
    )
    table, lines = _table(
        ["Invoice", "Line", "Warehouse", "Type", "Amount (cents)", "Date"],
        [
            ["INV-7", "1", None, "pick_pack", "1250", "31-Mar-2026 23:30"],
            ["INV-7", "2", "heartland-kc", "shipping", "-5", "31-Mar-2026 23:30"],
            ["INV-7", "3", "heartland-kc", "storage", "1,999", "31-Mar-2026 23:30"],
        ],
    )
    result = apply_profile(profile, table, lines)
    rows = result.table.to_pylist()
    assert [r["provider_id"] for r in rows] == ["heartland", "heartland-kc"]
    assert [r["amount"] for r in rows] == ["12.50", "-0.05"]
    assert [r["currency"] for r in rows] == ["USD", "USD"]
    assert [r["invoice_date"] for r in rows] == ["2026-03-31", "2026-03-31"]
    assert result.rejects[0].reason == (
        "amount: \"1,999\" in column 'Amount (cents)' is not a number"
    )


def test_numbers_in_european_and_accounting_styles() -> None:
    profile = _profile(
        """
format: csv
kind: products
columns: {sku: Artikel, unit_cost: Preis, weight_kg: Gewicht (g), units_per_pallet: Palette}
decimal_separator: ","
thousands_separator: " "
units: {weight_kg: {from: g}, units_per_pallet: {factor: "12"}}
"""
    )
    table, lines = _table(
        ["Artikel", "Preis", "Gewicht (g)", "Palette"],
        [
            ["A", "1 234,50 €", "1 500", "10"],
            ["B", "(3,5)", "250,5", "2,5"],
            ["C", "1.5", "0", "x"],
            ["D", "12 34,5", "7", "1"],
        ],
    )
    result = apply_profile(profile, table, lines)
    assert result.table.to_pylist() == [
        {"sku": "A", "unit_cost": "1234.50", "weight_kg": "1.5", "units_per_pallet": "120"},
        {"sku": "B", "unit_cost": "-3.5", "weight_kg": "0.2505", "units_per_pallet": "30"},
    ]
    reasons = {r.line: r.reason for r in result.rejects}
    assert reasons[4] == (
        "unit_cost: \"1.5\" in column 'Preis' is not a number; "
        "units_per_pallet: \"x\" in column 'Palette' is not a number"
    )
    assert reasons[5] == "unit_cost: \"12 34,5\" in column 'Preis' is not a number"


def test_count_that_is_not_whole_is_rejected() -> None:
    profile = _profile(
        "format: csv\nkind: shipment_lines\ncolumns: {shipment_id: Ship, sku: Item, qty: Qty}\n"
    )
    table, lines = _table(["Ship", "Item", "Qty"], [["S", "A", "2.00"], ["S", "B", "2.5"]])
    result = apply_profile(profile, table, lines)
    assert result.table.column("qty").to_pylist() == ["2"]
    assert result.rejects[0].reason == "qty: \"2.5\" in column 'Qty' is not a whole number"


def test_timestamps_without_a_zone_stay_naive_and_iso_values_need_no_format() -> None:
    profile = _profile(
        "format: csv\nkind: tracking_events\n"
        "columns: {tracking_number: Tracking, status: Status, occurred_at: Time}\n"
        "dates: {occurred_at: {format: ['%Y%m%d%H%M%S', '%Y%m%d']}}\n"
    )
    table, lines = _table(
        ["Tracking", "Status", "Time"],
        [["1Z", "delivered", "20260309141530"], ["1Z", "in_transit", "20260308"]],
    )
    result = apply_profile(profile, table, lines)
    # No zone anywhere: naive, read later in the facility's (or brand's) zone.
    assert result.table.column("occurred_at").to_pylist() == [
        "2026-03-09T14:15:30",
        "2026-03-08T00:00:00",
    ]
    iso = _profile(
        "format: csv\nkind: tracking_events\ntimezone: Europe/Berlin\n"
        "columns: {tracking_number: Tracking, status: Status, occurred_at: Time}\n"
    )
    table, lines = _table(
        ["Tracking", "Status", "Time"],
        [["1Z", "delivered", "2026-03-29 03:30"], ["1Z", "x", "2026-03-29T01:30:00-04:00"]],
    )
    assert apply_profile(iso, table, lines).table.column("occurred_at").to_pylist() == [
        "2026-03-29T03:30:00+02:00",
        "2026-03-29T01:30:00-04:00",
    ]
    table, lines = _table(["Tracking", "Status", "Time"], [["1Z", "x", "29/03/2026"]])
    (reject,) = apply_profile(iso, table, lines).rejects
    assert "is not an ISO 8601 date" in reject.reason
    assert "dates.occurred_at" in reject.reason


def test_repeated_and_skipped_wall_times() -> None:
    profile = _profile(SHIPMENTS)
    table, lines = _table(
        SHIPMENT_HEADER,
        [
            ["S1", "O1", "11/01/2026 01:30", "UPS", "1"],  # happened twice: the first one
            ["S2", "O2", "03/08/2026 02:30", "UPS", "1"],  # never happened: offset before
        ],
    )
    assert apply_profile(profile, table, lines).table.column("shipped_at").to_pylist() == [
        "2026-11-01T01:30:00-05:00",
        "2026-03-08T02:30:00-06:00",
    ]


# --- reading exports ---------------------------------------------------------------------------


def test_read_export_counts_lines_across_quoted_newlines_and_rejects_ragged_rows() -> None:
    profile = _profile(
        SHIPMENTS.replace("provider: heartland", "provider: heartland\nskip_rows: 1")
    )
    data = (
        b"Report\r\n"
        b"Shipment,Order,Shipped,Carrier,Weight\r\n"
        b'S1,"O\n1",03/09/2026 10:00,FDX,1\r\n'
        b"S2,O2,03/09/2026 10:00,FDX\r\n"
        b",,,,\r\n"
        b"\r\n"
        b"S3,O3,03/09/2026 10:00,UPS,2\r\n"
    )
    export = read_export(data, profile)
    assert export.header == SHIPMENT_HEADER
    assert export.lines.to_pylist() == [3, 8]
    assert [(r.line, r.reason) for r in export.rejects] == [(5, "expected 5 fields, found 4")]
    result = read_with_profile(data, profile)
    assert result.table.column("order_id").to_pylist() == ["O\n1", "O3"]


def test_read_export_encodings() -> None:
    profile = _profile(SHIPMENTS.replace("Order\n", "Bestellnr.\n").replace("Order", "Bestellnr."))
    text = "Shipment,Bestellnr.,Shipped,Carrier,Weight\nS1,Müller-1,03/09/2026 10:00,FDX,1\n"
    for encoding in ("utf-8-sig", "cp1252"):
        rows = _canonical_rows(profile, text.encode(encoding))
        assert rows[0]["order_id"] == "Müller-1"
    forced = _profile(SHIPMENTS + "encoding: utf-8\n")
    with pytest.raises(ConnectorError, match="not valid utf-8"):
        read_export("Shipment\nMü\n".encode("cp1252"), forced, "x.csv")
    with pytest.raises(ConnectorError, match="no header row after 2 banner"):
        read_export(b"a\nb\n", _profile(SHIPMENTS + "skip_rows: 2\n"))


def test_blank_rows_are_dropped_and_merge_keys_share_maps() -> None:
    profile = _profile(
        SHIPMENTS.replace(
            'carrier: {strict: true, map: {FDX: fedex, UPS: ups, "N/A": ~}}',
            "carrier: {strict: true, map: {<<: {FDX: fedex, UPS: ups}, DHL: dhl}}",
        )
    )
    assert profile.values["carrier"].map == {"FDX": "fedex", "UPS": "ups", "DHL": "dhl"}
    table, lines = _table(
        SHIPMENT_HEADER,
        [[None, " ", None, "", None], ["S1", "O1", "03/09/2026 10:00", "DHL", None]],
    )
    result = apply_profile(profile, table, lines)
    assert result.rejects == []
    assert result.lines.to_pylist() == [3]
    assert result.table.column("carrier").to_pylist() == ["dhl"]


def test_tab_delimiter() -> None:
    profile = _profile(SHIPMENTS + "delimiter: tab\n")
    data = b"Shipment\tOrder\tShipped\tCarrier\tWeight\nS1\tO1\t03/09/2026 10:00\tUPS\t1\n"
    assert _canonical_rows(profile, data)[0]["carrier"] == "ups"


# --- real exports ------------------------------------------------------------------------------


OLIST_ORDERS = """
format: csv
kind: orders
columns:
  order_id: order_id
  placed_at: order_purchase_timestamp
  promised_delivery_date: order_estimated_delivery_date
constants: {channel: olist, currency: BRL}
timezone: America/Sao_Paulo
dates:
  placed_at: {format: "%Y-%m-%d %H:%M:%S"}
  promised_delivery_date: {format: "%Y-%m-%d %H:%M:%S"}
"""


def test_olist_orders_export(samples: Path) -> None:
    path = samples / OLIST / "sample_4000_orders_consistent" / "olist_orders_dataset.csv"
    result = read_with_profile(path.read_bytes(), _profile(OLIST_ORDERS), path.name)
    assert result.rejects == []
    assert result.table.num_rows == 4000
    by_line = dict(zip(result.lines.to_pylist(), result.table.to_pylist(), strict=True))
    assert by_line[2] == {
        "order_id": "bb953a084ab406da9e19dfdc06df0245",
        "placed_at": "2018-07-29T13:54:51-03:00",
        "channel": "olist",
        "promised_delivery_date": "2018-09-03",
        "currency": "BRL",
    }
    # Brazil kept summer time (UTC-2) until 2018; 2017-11-24 is inside it.
    assert by_line[20]["order_id"] == "dcb56bf601ec6f24940b3b1ab0aa5e2e"
    assert by_line[20]["placed_at"] == "2017-11-24T19:18:55-02:00"
    # Summer time ended at midnight on 2018-02-18: 23:00-23:59 on the 17th happened twice,
    # and an export without offsets is read as the first of the two.
    twice = [r for r in by_line.values() if r["order_id"] == "fd2af1836362513c249c7ae85941141f"]
    assert twice[0]["placed_at"] == "2018-02-17T23:43:05-02:00"


def test_olist_products_export_weights_in_grams(samples: Path) -> None:
    path = samples / OLIST / "full_small_tables" / "olist_products_dataset.csv"
    profile = _profile(
        "format: csv\nkind: products\n"
        "columns: {sku: product_id, name: product_category_name, weight_kg: product_weight_g}\n"
        "units: {weight_kg: {from: g}}\n"
    )
    result = read_with_profile(path.read_bytes(), profile, path.name)
    assert result.rejects == []
    assert result.table.num_rows == 32951
    rows = dict(
        zip(
            result.table.column("sku").to_pylist(),
            result.table.column("weight_kg").to_pylist(),
            strict=True,
        )
    )
    assert rows["1e9e8ef04dbcff4541ed26657ea517e5"] == "0.225"
    assert rows["3aa071139cb16b67ca9e5dea641aaa2f"] == "1"
    assert rows["09ff539a621711667c43eba6a3bd8466"] is None  # no weight in the export


# --- properties ------------------------------------------------------------------------------


ZONES = [
    "America/Chicago",
    "Europe/Berlin",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",  # a 30-minute summer-time shift
    "Asia/Kolkata",
    "America/St_Johns",
    "UTC",
]
FORMATS = [
    "%m/%d/%Y %I:%M:%S %p",
    "%d.%m.%Y %H:%M:%S",
    "%Y%m%d %H%M%S",
    "%d-%b-%y %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%z",
]


@settings(max_examples=200, deadline=None)
@given(
    instant=st.datetimes(
        min_value=datetime(1971, 1, 1), max_value=datetime(2067, 12, 31), timezones=st.just(UTC)
    ),
    zone_name=st.sampled_from(ZONES),
    fmt=st.sampled_from(FORMATS),
)
def test_a_formatted_moment_comes_back_as_the_same_instant(
    instant: datetime, zone_name: str, fmt: str
) -> None:
    instant = instant.replace(microsecond=0)
    zone = ZoneInfo(zone_name)
    local = instant.astimezone(zone)
    profile = _profile(
        "format: csv\nkind: tracking_events\n"
        "columns: {tracking_number: T, status: S, occurred_at: W}\n"
        f"dates: {{occurred_at: {{format: {json.dumps(fmt)}, timezone: {zone_name}}}}}\n"
    )
    table, lines = _table(["T", "S", "W"], [["1Z", "delivered", local.strftime(fmt)]])
    result = apply_profile(profile, table, lines)
    assert result.rejects == []
    back = datetime.fromisoformat(result.table.column("occurred_at")[0].as_py())
    assert back.utcoffset() is not None
    if "%z" in fmt:
        assert back.astimezone(UTC) == instant
    else:
        # Without an offset, a wall time that happened twice is read as the first one.
        # (Compared in UTC: Python never calls such a time equal to one in another zone.)
        first = local.replace(tzinfo=None).replace(tzinfo=zone, fold=0)
        assert back.astimezone(UTC) == first.astimezone(UTC)
        assert back.replace(tzinfo=None) == local.replace(tzinfo=None)
        if first.utcoffset() == first.replace(fold=1).utcoffset():
            assert back.astimezone(UTC) == instant


CELLS = st.one_of(st.none(), st.text(max_size=20), st.sampled_from(["1,5", "$-3", "(2)", " "]))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.lists(CELLS, min_size=5, max_size=5), max_size=15))
def test_mangled_cells_become_rows_or_rejects(rows: list[list[str | None]]) -> None:
    profile = _profile(SHIPMENTS + "thousands_separator: ','\n")
    table, lines = _table(SHIPMENT_HEADER, rows)
    result = apply_profile(profile, table, lines)
    kept = [line for line, row in enumerate(rows, 2) if any(c and c.strip() for c in row)]
    assert result.table.num_rows + len(result.rejects) == len(kept)
    assert len(result.lines) == result.table.num_rows
    assert sorted([*result.lines.to_pylist(), *(r.line for r in result.rejects)]) == kept
    for reject in result.rejects:
        assert reject.column in ("shipped_at", "carrier", "weight_kg")


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_mangled_exports_never_crash(data: bytes) -> None:
    profile = _profile(SHIPMENTS)
    try:
        result = read_with_profile(
            b"Shipment,Order,Shipped,Carrier,Weight\n" + data, profile, "x.csv"
        )
    except ConnectorError:
        return
    assert all(r.line is not None and r.line >= 2 for r in result.rejects)
    with contextlib.suppress(ConnectorError):
        read_with_profile(data, profile, "x.csv")


YAML_PIECES = st.sampled_from(
    [
        "format: csv\n",
        "kind: shipments\n",
        "columns: {shipment_id: A, order_id: B, shipped_at: C}\n",
        "provider: p\n",
        "facility: f\n",
        "dates: {shipped_at: {format: '%d'}}\n",
        "values: {carrier: [1, 2]}\n",
        "units: {weight_kg: {factor: abc}}\n",
        "skip_rows: -1\n",
        "timezone: Mars/Base\n",
        "- x\n",
        "  : : :\n",
        "&a [*a]\n",
        "columns: ~\n",
        "'unterminated\n",
        "{[}\n",
    ]
)


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(YAML_PIECES, max_size=8),
    noise=st.text(max_size=40),
)
def test_mangled_profiles_raise_connector_errors_only(pieces: list[str], noise: str) -> None:
    for text in ("".join(pieces), "".join(pieces) + noise, noise):
        try:
            profile = parse_csv_profile(text, "fuzz.yaml")
        except ConnectorError as exc:
            message = str(exc)
        else:
            assert profile.kind == "shipments"
            continue
        assert re.match(r"(fuzz\.yaml|\d+ problems in the profile fuzz\.yaml)", message)


def test_reject_example_is_fixed() -> None:
    # The example shown in messages is a fixed moment, whatever the date or zone of the run.
    profile = _profile(SHIPMENTS)
    table, lines = _table(SHIPMENT_HEADER, [["S", "O", "13/40/2026 99:00", "UPS", "1"]])
    (reject,) = apply_profile(profile, table, lines).rejects
    assert reject.reason.endswith("(e.g. 03/09/2026 14:15)")
