"""Cells of the CSV downloads: rendered exactly, and never run as a spreadsheet formula."""

from __future__ import annotations

import csv
import io
import unicodedata
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tallyclerk.api._csv import FORMULA_START, export_link, is_number, render, safe_cell, write_csv

PROPERTY = settings(max_examples=300, deadline=None)


def _read_back(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def _runs(cell: str) -> bool:
    """Whether a spreadsheet could take the cell for a formula: not a plain number, and a
    formula character first, or first after blanks and invisible characters."""
    if is_number(cell):
        return False
    shown = cell.lstrip("".join(c for c in cell if c.isspace() or unicodedata.category(c) == "Cf"))
    return cell[:1] in FORMULA_START or shown[:1] in FORMULA_START


@pytest.mark.parametrize(
    ("text", "cell"),
    [
        ('=HYPERLINK("http://evil.example","x")', '\'=HYPERLINK("http://evil.example","x")'),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("@SUM(1+1)", "'@SUM(1+1)"),
        ("-2+3", "'-2+3"),
        ("\t=1+1", "'\t=1+1"),
        ("\r=1+1", "'\r=1+1"),
        ("\tplain", "'\tplain"),
        ("  =1+1", "'  =1+1"),
        ("\n\n@x", "'\n\n@x"),
        ("\u200b=1+1", "'\u200b=1+1"),  # a zero-width space first
        ("\u00a0-A1", "'\u00a0-A1"),  # a no-break space first
        ("\uff1d1+1", "'\uff1d1+1"),  # a full-width equals sign
        ("-", "'-"),
        ("-inf", "'-inf"),
        ("- 5", "'- 5"),
        ("-12.50", "-12.50"),
        ("+3", "+3"),
        ("-1e5", "-1e5"),
        ("-.5", "-.5"),
        ("1+1", "1+1"),
        ("a=b", "a=b"),
        ("'=already", "'=already"),
        ("ORD-0001", "ORD-0001"),
        ("  ", "  "),
        ("", ""),
    ],
)
def test_safe_cell(text: str, cell: str) -> None:
    assert safe_cell(text) == cell


def test_numbers_written_in_other_scripts_are_not_plain_numbers() -> None:
    assert not is_number("-\u0661\u0662")  # Arabic-Indic digits
    assert safe_cell("-\u0661\u0662") == "'-\u0661\u0662"
    assert not is_number("-12.50\n")


@pytest.mark.parametrize(
    ("value", "cell"),
    [
        (None, ""),
        (True, "true"),
        (False, "false"),
        (0, "0"),
        (-7, "-7"),
        (Decimal("146.7800"), "146.7800"),
        (Decimal("-12.50"), "-12.50"),
        (Decimal("1E+3"), "1000"),
        (Decimal("-0.00001"), "-0.00001"),
        (0.8363636363636363, "0.8363636363636363"),
        (-31.5, "-31.5"),
        (datetime(2026, 3, 20, 18, 0, tzinfo=UTC), "2026-03-20T18:00:00+00:00"),
        (
            datetime(2026, 3, 20, 12, 30, tzinfo=timezone(timedelta(hours=-6))),
            "2026-03-20T12:30:00-06:00",
        ),
        (datetime(2026, 3, 20, 18, 0), "2026-03-20T18:00:00+00:00"),  # naive: UTC
        (date(2026, 2, 1), "2026-02-01"),
        (
            {"unit_cost": Decimal("1.50"), "on": date(2026, 2, 1)},
            '{"unit_cost": "1.50", "on": "2026-02-01"}',
        ),
        (["a", 1], '["a", 1]'),
        ({"raw": "=1+1"}, '{"raw": "=1+1"}'),
    ],
)
def test_values_are_rendered_exactly(value: Any, cell: str) -> None:
    assert render(value) == cell
    assert safe_cell(value) == cell


def test_a_negative_amount_stays_a_number() -> None:
    amount = Decimal("-1553.05")
    (_, line) = write_csv([{"amount": amount, "note": "-1553.05 owed"}], ["amount", "note"])
    assert _read_back(line) == [["-1553.05", "'-1553.05 owed"]]
    assert Decimal(_read_back(line)[0][0]) == amount


def test_write_csv_quotes_as_rfc_4180_says() -> None:
    rows = [
        {"id": 1, "text": 'a "quoted", word', "note": "two\nlines"},
        {"id": 2, "text": None},
    ]
    lines = list(write_csv(rows, ["id", "text", "note"]))
    assert lines == [
        "id,text,note\r\n",
        '1,"a ""quoted"", word","two\nlines"\r\n',
        "2,,\r\n",
    ]
    assert _read_back("".join(lines)) == [
        ["id", "text", "note"],
        ["1", 'a "quoted", word', "two\nlines"],
        ["2", "", ""],
    ]


def test_export_link_keeps_the_filters() -> None:
    assert (
        export_link("/api/v1/findings", domain=None, kind="", status=["open", "acknowledged"])
        == "/api/v1/findings?status=open&status=acknowledged&format=csv"
    )
    assert export_link("/api/v1/credits", provider="west coast") == (
        "/api/v1/credits?provider=west+coast&format=csv"
    )


# Text that starts like a formula more often than chance would have it.
_TRICKY = st.text(alphabet="=+-@\t\r\n \u00a0\u200b\uff1d.eE0123456789,\"'", max_size=8)
texts = st.one_of(st.text(), st.builds(str.__add__, _TRICKY, st.text()))


@PROPERTY
@given(texts)
def test_any_text_reads_back_as_itself_or_quoted(text: str) -> None:
    (_, line) = write_csv([{"c": text}], ["c"])
    [[cell]] = _read_back(line)
    assert cell in (text, "'" + text)
    assert not _runs(cell), repr(cell)
    assert (cell == text) == (not _runs(text))


@PROPERTY
@given(st.lists(st.lists(texts, min_size=3, max_size=3), max_size=5))
def test_rows_read_back_whole(table: list[list[str]]) -> None:
    columns = ["a", "b", "c"]
    rows = [dict(zip(columns, values, strict=True)) for values in table]
    text = "".join(write_csv(rows, columns))
    back = _read_back(text)
    assert back[0] == columns
    assert len(back) == len(rows) + 1
    for written, read in zip(table, back[1:], strict=True):
        for value, cell in zip(written, read, strict=True):
            assert cell in (value, "'" + value)
            assert not _runs(cell)


@PROPERTY
@given(
    st.one_of(
        st.decimals(allow_nan=False, allow_infinity=False, places=4),
        st.decimals(allow_nan=False, allow_infinity=False),
        st.floats(allow_nan=False, allow_infinity=False),
        st.integers(),
    )
)
def test_numbers_stay_numbers(number: Decimal | float | int) -> None:
    cell = safe_cell(number)
    assert is_number(cell)
    assert type(number)(cell) == number
