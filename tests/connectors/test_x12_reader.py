"""The X12 reader on every real sample file, on broken envelopes and under fuzzing."""

from __future__ import annotations

import ast
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyclerk.connectors import ConnectorError
from tallyclerk.connectors.x12._reader import (
    Delimiters,
    Document,
    Issue,
    decode,
    looks_like_x12,
    read,
)
from tallyclerk.connectors.x12._writer import (
    GroupDraft,
    Party,
    SetDraft,
    interchange_text,
)
from tests.conftest import SAMPLES

X12 = SAMPLES / "edi" / "x12"
FILES = sorted(p.relative_to(X12).as_posix() for p in X12.rglob("*") if p.is_file())
BOM = b"\xef\xbb\xbf"
AT = datetime(2026, 1, 5, 14, 3, tzinfo=UTC)
A, B = Party("ZZ", "SENDER"), Party("ZZ", "RECEIVER")

# Two files leave ISA16 out: the character that stands where it should be ends each segment.
NO_ISA16 = {"940/x12-types_test_940_4.edi", "940/x12-types_test_940_5.edi"}
SET_COUNTS = {
    "856/bots_plugins_856_2.x12": 2,
    "940/edienginetest_940_MultipleInterchangesAndGroups.edi": 6,
}
INTERCHANGE_COUNTS = {"940/edienginetest_940_MultipleInterchangesAndGroups.edi": 2}
# The envelope problems of the real files: (level, segment number, tag, 997 code).
KNOWN_ISSUES = {
    "945/x12-types_test_945_parse_1.edi": [("set", 18, "SE", "4")],
    "856/edifabric_ShipNotice_856.txt": [("group", 47, "GE", "4")],
    "945/edifabric_WarehouseShippingAdvice_945.txt": [("group", 25, "GE", "4")],
    "856/walmartlabs_gozer_asn856.txt": [("interchange", 35, "IEA", None)],
    "940/oopfactory_simplot_940.txt": [("group", 30, "GE", "3"), ("interchange", 31, "IEA", None)],
    "947/babelway_page_947_sample.PAGE_EXTRACT.txt": [("group", 12, "GE", "3")],
    "940/x12-types_test_940_1.edi": [("group", 32, "GE", "3"), ("interchange", 33, "IEA", None)],
}


_QUOTED = r"('(?:[^'\\]|\\.)*')"
_ROW = re.compile(
    rf"\| `([^`]+)` \(\d+ B\) \| [^|]+ \| {_QUOTED} \| {_QUOTED} \| {_QUOTED}[^|]*"
    r"\| ([^|]*) \| (\d+) \|(.*)\|\s*$"
)


def _manifest() -> dict[str, dict[str, str]]:
    """The per-file delimiter table of the samples' MANIFEST.md."""
    rows: dict[str, dict[str, str]] = {}
    for line in (SAMPLES / "MANIFEST.md").read_text(encoding="utf-8").splitlines():
        match = _ROW.match(line)
        if match is None:
            continue
        name, element, isa16, terminator, version, segments, notes = match.groups()
        rows[name] = {
            "element": ast.literal_eval(element),
            "isa16": ast.literal_eval(isa16),
            "terminator": ast.literal_eval(terminator),
            "version": version.strip(),
            "segments": segments,
            "notes": notes.strip(),
        }
    return rows


MANIFEST = _manifest() if (SAMPLES / "MANIFEST.md").exists() else {}


def _issues(document: Document) -> list[tuple[str, int | None, str | None, str | None]]:
    found: list[tuple[str, int | None, str | None, str | None]] = []
    for interchange in document.interchanges:
        found += [("interchange", i.segment, i.tag, i.code) for i in interchange.issues]
        for group in interchange.groups:
            found += [("group", i.segment, i.tag, i.code) for i in group.issues]
            for tx in group.sets:
                found += [("set", i.segment, i.tag, i.code) for i in tx.issues]
    return sorted(found, key=lambda t: (t[1] or 0, t[0]))


def test_every_sample_file_is_in_the_manifest(samples: Path) -> None:
    listed = sorted(p.relative_to(X12).as_posix() for p in X12.rglob("*") if p.is_file())
    assert listed == FILES
    assert len(FILES) >= 30
    assert set(FILES) <= set(MANIFEST)


@pytest.mark.parametrize("name", FILES)
def test_reader_on_sample(samples: Path, name: str) -> None:
    data = (X12 / name).read_bytes()
    expected = MANIFEST[name]
    document = read(data, name)

    assert len(document.interchanges) == INTERCHANGE_COUNTS.get(name, 1)
    assert document.segments == int(expected["segments"])
    for interchange in document.interchanges:
        delimiters = interchange.delimiters
        assert delimiters.element == expected["element"]
        if name in NO_ISA16:
            # the table measured ISA16 naively; the file has none and ends segments with it
            assert (delimiters.component, delimiters.segment) == (None, expected["isa16"])
        else:
            assert (delimiters.component, delimiters.segment) == (
                expected["isa16"],
                expected["terminator"],
            )
        assert interchange.header.tag == "ISA"
        assert interchange.trailer is not None
        assert interchange.trailer.tag == "IEA"
    version = document.interchanges[0].groups[0].version
    assert version == expected["version"].rstrip("~" if name in NO_ISA16 else "")
    codes = [tx.code for ic in document.interchanges for _, tx in ic.transaction_sets()]
    assert codes == [name.split("/")[0]] * SET_COUNTS.get(name, 1)
    assert _issues(document) == KNOWN_ISSUES.get(name, [])
    # segments are numbered from 1 at the first ISA, without gaps
    numbers = [document.interchanges[0].header.number]
    for interchange in document.interchanges:
        for _, tx in interchange.transaction_sets():
            numbers += [tx.header.number, *(s.number for s in tx.segments)]
    assert numbers[0] == 1
    assert numbers == sorted(set(numbers))
    assert looks_like_x12(data[:64])
    if "BOM" in expected["notes"]:
        assert data.startswith(BOM)
        assert read(data[len(BOM) :]).segments == document.segments


def test_reader_on_sample_reasons(samples: Path) -> None:
    def reasons(name: str) -> list[str]:
        document = read((X12 / name).read_bytes())
        return [
            f"{i.position.label}: {i.reason}"
            for ic in document.interchanges
            for i in [
                *ic.issues,
                *(gi for g in ic.groups for gi in g.issues),
                *(ti for _, tx in ic.transaction_sets() for ti in tx.issues),
            ]
        ]

    assert reasons("945/x12-types_test_945_parse_1.edi") == [
        "segment 18 (SE): SE01 says the set has 12 segment(s); it has 16 (counting ST and SE)"
    ]
    assert reasons("856/edifabric_ShipNotice_856.txt") == [
        "segment 47 (GE): GE01 says the group has 2 transaction set(s); it has 1"
    ]
    assert reasons("856/walmartlabs_gozer_asn856.txt") == [
        "segment 35 (IEA): IEA02 '000000049' does not repeat the ISA13 control number '000003438'"
    ]
    assert reasons("940/oopfactory_simplot_940.txt") == [
        "segment 31 (IEA): IEA02 '940001777' does not repeat the ISA13 control number '398161180'",
        "segment 30 (GE): GE02 '940001777' does not repeat the GS06 control number '177818711'",
    ]
    assert reasons("947/babelway_page_947_sample.PAGE_EXTRACT.txt") == [
        "segment 12 (GE): GE02 '982634811' does not repeat the GS06 control number '982634833'"
    ]


def test_unusual_terminators_and_layouts(samples: Path) -> None:
    # U+2026 as the terminator, in UTF-8 with a byte-order mark
    document = read((X12 / "856/oopfactory_856_Example3.txt").read_bytes())
    assert document.interchanges[0].delimiters.segment == "…"
    (_, tx) = next(document.interchanges[0].transaction_sets())
    assert tx.segments[0].tag == "BSN"
    # carriage return only, lines indented with spaces
    simplot = read((X12 / "940/oopfactory_simplot_940.txt").read_bytes()).interchanges[0]
    (_, tx) = next(simplot.transaction_sets())
    assert [s.tag for s in tx.segments[:3]] == ["W05", "N1", "N1"]
    assert tx.segments[0].el(2) == "01235639"
    # no ISA16: segments end with '~' and a newline; composites are not split
    four = read((X12 / "940/x12-types_test_940_4.edi").read_bytes()).interchanges[0]
    assert four.header.el(16) == ""
    (_, tx) = next(four.transaction_sets())
    assert tx.segments[0].elements[:2] == ("R", "18061930")
    assert tx.segments[0].component(1, 2) == ""
    # '~' between elements and '*' as terminator
    inverted = read((X12 / "846/oopfactory_846_Example2.txt").read_bytes()).interchanges[0]
    assert inverted.groups[0].sets[0].control == "0008505"


def test_decode_and_sniff() -> None:
    assert decode(BOM + b"ISA*") == "ISA*"
    assert decode(b"ISA*\xe9") == "ISA*é"  # not UTF-8: Latin-1
    assert looks_like_x12(BOM + b" \r\nISA*00*")
    assert not looks_like_x12(b"ISA100")
    assert not looks_like_x12(b"order_id,sku\n")
    assert not looks_like_x12(b"")


# --- broken input: the exact reasons -----------------------------------------------------------


def _valid(*sets: SetDraft, control: int = 1) -> str:
    return interchange_text(A, B, control, [GroupDraft("SW", 7, sets=list(sets))], at=AT)


SET = SetDraft("945", "0001", [("W06", "N", "ORDER-1"), ("W03", "1")])


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"", "f.edi: not an X12 interchange (it does not start with ISA)"),
        (b" \r\n\t", "f.edi: not an X12 interchange (it does not start with ISA)"),
        (b"GS*SW*A*B~", "f.edi: not an X12 interchange (it does not start with ISA)"),
        (b"order_id,sku\nA,B\n", "f.edi: not an X12 interchange (it does not start with ISA)"),
        (b"ISA", "segment 1: expected an ISA segment to open an interchange"),
        (b"ISA000", "segment 1 (ISA): '0' cannot be the element separator"),
        (b"ISA 00", "segment 1 (ISA): ' ' cannot be the element separator"),
        (b"ISA*00*   *00*", "segment 1 (ISA): the ISA is cut short (fewer than 16 elements)"),
        (
            _valid(SET)[:105].encode(),
            "segment 1 (ISA): the ISA has no segment terminator",
        ),
        (
            _valid(SET).replace(">~\n", ">X", 1).encode(),
            "segment 1 (ISA): 'X' after ISA16 cannot be the segment terminator",
        ),
    ],
)
def test_not_readable(data: bytes, reason: str) -> None:
    with pytest.raises(ConnectorError) as error:
        read(data, "f.edi")
    assert str(error.value) == reason


def _only(text: str) -> Document:
    document = read(text)
    assert len(document.interchanges) == 1
    return document


def test_bad_segment_id_inside_a_set() -> None:
    document = _only(_valid(SET).replace("W03*1~", "W0#*1~"))
    (_, tx) = next(document.interchanges[0].transaction_sets())
    assert tx.issues[0] == Issue(
        5,
        "W0#",
        "'W0#*1' is not a segment (a segment starts with an id of 2 or 3 letters and digits)",
        "5",
    )
    assert not tx.accepted
    assert [s.tag for s in tx.segments] == ["W06"]


def test_bad_segment_id_is_still_counted_by_se01() -> None:
    document = _only(_valid(SET).replace("W03*1~", "W0#*1~"))
    (_, tx) = next(document.interchanges[0].transaction_sets())
    assert [i.code for i in tx.issues] == ["5"]


def test_segments_outside_their_place() -> None:
    text = _valid(SET)
    text = text.replace("GS*", "1234*X~\nW99*1~\nGS*", 1)
    interchange = _only(text).interchanges[0]
    assert [(i.segment, i.tag, i.reason) for i in interchange.issues] == [
        (
            2,
            "123",
            "'1234*X' is not a segment (a segment starts with an id of 2 or 3 letters and digits)",
        ),
        (3, "W99", "a W99 segment outside any transaction set"),
    ]


def test_missing_se() -> None:
    text = _valid(SET, SetDraft("945", "0002", [("W06", "N", "ORDER-2")]))
    document = _only(text.replace("SE*4*0001~\n", ""))
    first, second = document.interchanges[0].groups[0].sets
    assert first.issues == [Issue(3, "ST", "transaction set 945 0001 has no SE trailer", "2")]
    assert first.trailer is None
    assert second.issues == []
    assert document.interchanges[0].groups[0].issues == []


def test_missing_ge() -> None:
    document = _only(_valid(SET).replace("GE*1*7~\n", ""))
    interchange = document.interchanges[0]
    assert interchange.groups[0].issues == [
        Issue(2, "GS", "functional group 7 has no GE trailer", "2")
    ]
    assert interchange.groups[0].sets[0].issues == []
    assert interchange.issues == []


def test_missing_iea() -> None:
    document = _only(_valid(SET).replace("IEA*1*000000001~\n", ""))
    interchange = document.interchanges[0]
    assert interchange.trailer is None
    assert interchange.issues == [
        Issue(None, "IEA", "the interchange has no IEA trailer (is the file cut short?)")
    ]
    assert interchange.issues[0].position.label == "end of file"
    assert interchange.groups[0].issues == []


def test_cut_short_in_the_middle_of_a_set() -> None:
    text = _valid(SET)
    document = _only(text[: text.index("W03")])
    interchange = document.interchanges[0]
    assert [i.reason for i in interchange.groups[0].sets[0].issues] == [
        "transaction set 945 0001 has no SE trailer"
    ]
    assert [i.reason for i in interchange.groups[0].issues] == [
        "functional group 7 has no GE trailer"
    ]
    assert [i.reason for i in interchange.issues] == [
        "the interchange has no IEA trailer (is the file cut short?)"
    ]


def test_envelope_counts_and_controls() -> None:
    text = (
        _valid(SET)
        .replace("SE*4*0001", "SE*5*0002")
        .replace("GE*1*7", "GE*3*8")
        .replace("IEA*1*000000001", "IEA*2*000000009")
    )
    document = _only(text)
    assert _issues(document) == [
        ("set", 6, "SE", "4"),
        ("set", 6, "SE", "3"),
        ("group", 7, "GE", "4"),
        ("group", 7, "GE", "3"),
        ("interchange", 8, "IEA", None),
        ("interchange", 8, "IEA", None),
    ]
    # leading zeros do not make a control number different
    same = _valid(SET).replace("GE*1*7", "GE*1*0007").replace("IEA*1*000000001", "IEA*1*1")
    assert _issues(_only(same)) == []


def test_structure_out_of_order() -> None:
    text = _valid(SET)
    body = text[text.index("GS*") : text.index("IEA")]
    isa = text[: text.index("GS*")]
    weird = isa + "ST*945*0009~\nSE*2*0009~\nGE*1*3~\nSE*1*1~\n" + body + "IEA*2*000000001~\n"
    interchange = _only(weird).interchanges[0]
    stray = interchange.groups[0]
    assert [(i.segment, i.reason) for i in stray.issues] == [
        (2, "a transaction set outside a GS group"),
        (4, "GE02 '3' does not repeat the GS06 control number ''"),
    ]
    assert [(i.segment, i.tag, i.reason) for i in interchange.issues] == [
        (5, "SE", "an SE trailer without its ST header"),
    ]
    assert [g.control for g in interchange.groups] == ["", "7"]
    nested = _only(text.replace("GE*1*7~\n", "GE*1*7~\n" + isa)).interchanges[0]
    assert nested.issues[0].reason == "an ISA inside an interchange (the IEA is missing)"
    orphan = _only(text.replace("GS*", "GE*1*1~\nGS*", 1)).interchanges[0]
    assert [i.reason for i in orphan.issues] == ["a GE trailer without its GS header"]


def test_several_interchanges_and_what_follows() -> None:
    two = _valid(SET, control=1) + "\r\n" + _valid(SET, control=2).replace("*", "|")
    document = read(two)
    assert [ic.control for ic in document.interchanges] == ["000000001", "000000002"]
    assert [ic.delimiters.element for ic in document.interchanges] == ["*", "|"]
    assert document.segments == 16
    assert _issues(document) == []
    # padding after the last IEA (NUL, SUB, white space) is fine; other text is reported
    assert _issues(read(_valid(SET) + "\x00\x1a \n")) == []
    trailing = read(_valid(SET) + "garbage here\nmore").interchanges[0]
    assert [i.reason for i in trailing.issues] == [
        "data after the IEA is not an interchange: 'garbage here'"
    ]


def test_str_input_and_byte_order_mark() -> None:
    text = _valid(SET)
    assert read("\ufeff" + text).segments == read(BOM + text.encode()).segments == 8


# --- faults fuzzing once found ---------------------------------------------------------------


def test_superscript_digit_in_a_count_is_reported_not_raised() -> None:
    document = read(_valid(SET).replace("GE*1*7", "GE*\u00b2*7"))
    assert _issues(document) == [("group", 7, "GE", "4")]


def test_broken_second_interchange_keeps_the_first() -> None:
    document = read(_valid(SET) + "ISA*00*")
    assert len(document.interchanges) == 1
    assert document.interchanges[0].issues != []


# --- fuzzing ----------------------------------------------------------------------------------

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)


def _read_or_refuse(data: bytes | str) -> None:
    started = time.perf_counter()
    message = ""
    try:
        document = read(data, "fuzz.edi")
    except ConnectorError as error:
        message = str(error)
        assert message.startswith(("fuzz.edi: ", "segment "))
    if not message:
        assert isinstance(document, Document)
        assert document.interchanges
        for interchange in document.interchanges:
            for issue in interchange.issues:
                assert issue.position.label
    assert time.perf_counter() - started < 2.0


@FUZZ
@given(st.binary(max_size=3000))
def test_fuzz_random_bytes(data: bytes) -> None:
    _read_or_refuse(data)


@FUZZ
@given(st.binary(max_size=2000), st.sampled_from([b"ISA*", b"ISA~", BOM + b"ISA|", b"  ISA*"]))
def test_fuzz_random_bytes_after_isa(tail: bytes, head: bytes) -> None:
    _read_or_refuse(head + tail)


_SEPARATORS = "*|~^!:>}`\\…\x1d\x1e\x1f"
_values = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=126) | st.sampled_from("é…\t"),
    max_size=8,
)
_segment_ids = st.from_regex(r"[A-Z][A-Z0-9]{1,2}", fullmatch=True).filter(
    lambda t: t not in {"ISA", "IEA", "GS", "GE", "ST", "SE"}
)


@st.composite
def _interchanges(draw: st.DrawFn) -> tuple[str, Delimiters, int]:
    chars = draw(st.lists(st.sampled_from(_SEPARATORS), min_size=3, max_size=3, unique=True))
    terminator = draw(st.sampled_from([chars[1], "\n", "\r"])) if chars[1] != "…" else chars[1]
    delimiters = Delimiters(chars[0], chars[2], terminator)
    groups = []
    sets = 0
    for g in range(draw(st.integers(0, 3))):
        drafts = []
        for s in range(draw(st.integers(0, 3))):
            body = draw(
                st.lists(
                    st.tuples(_segment_ids, _values, _values).map(lambda t: (t[0], t[1], t[2])),
                    max_size=5,
                )
            )
            drafts.append(SetDraft("945", f"{s + 1:04d}", [b for b in body if b[1] or b[2]]))
            sets += 1
        groups.append(GroupDraft("SW", g + 1, sets=drafts))
    control = draw(st.integers(1, 999_999_999))
    newline = terminator not in "\r\n" and draw(st.booleans())
    text = interchange_text(A, B, control, groups, at=AT, delimiters=delimiters, newline=newline)
    return text, delimiters, sets


@FUZZ
@given(_interchanges())
def test_fuzz_written_interchanges_read_back_clean(case: tuple[str, Delimiters, int]) -> None:
    text, delimiters, sets = case
    document = read(text.encode("utf-8"))
    (interchange,) = document.interchanges
    assert interchange.delimiters.element == delimiters.element
    assert interchange.delimiters.segment == delimiters.segment
    assert _issues(document) == []
    assert sum(1 for _ in interchange.transaction_sets()) == sets


_mutations = st.lists(
    st.tuples(
        st.sampled_from(["delete", "duplicate", "truncate", "insert", "swap"]),
        st.integers(0, 10_000),
        st.integers(1, 20),
    ),
    min_size=1,
    max_size=6,
)


def _mutate(text: str, delimiters: Delimiters, steps: list[tuple[str, int, int]]) -> str:
    specials = [delimiters.element, delimiters.segment, delimiters.component or "", "\n", "ISA"]
    for kind, where, size in steps:
        if not text:
            break
        at = where % len(text)
        if kind == "delete":
            text = text[:at] + text[at + size :]
        elif kind == "duplicate":
            char = specials[size % len(specials)] or "~"
            text = text[:at] + char * (1 + size % 3) + text[at:]
        elif kind == "truncate":
            text = text[:at]
        elif kind == "insert":
            text = text[:at] + specials[size % len(specials)] + text[at:]
        else:
            other = (at * 7 + size) % len(text)
            chars = list(text)
            chars[at], chars[other] = chars[other], chars[at]
            text = "".join(chars)
    return text


@FUZZ
@given(_interchanges(), _mutations, st.booleans())
def test_fuzz_mutated_interchanges(
    case: tuple[str, Delimiters, int], steps: list[tuple[str, int, int]], twice: bool
) -> None:
    text, delimiters, _ = case
    mutated = _mutate(text, delimiters, steps)
    if twice:
        mutated = mutated + "\n" + text
    _read_or_refuse(mutated.encode("utf-8"))
    _read_or_refuse(mutated)
