"""The X12 interchange reader: delimiters from the ISA, envelopes, control numbers and counts.

An interchange declares its own delimiters: the element separator is the character after
"ISA", the component (sub-element) separator is ISA16 and the segment terminator is the
character after it. Files in the wild vary: any terminator (``~``, ``!``, a newline, even
``…``), newlines or indentation after it, an ISA that is not padded to its fixed width, a
UTF-8 byte-order mark, several interchanges with different delimiters in one file. The
reader takes all of these and checks what the envelope promises: SE01 counts the segments of
its set, GE01 the sets of its group, IEA01 the groups of its interchange, and every trailer
repeats its header's control number. A broken set is kept with its problems listed, so the
caller can refuse it (and say so in the 997) while the sound sets of the file still land.

Segments are numbered from 1 at the first ISA of the file; that number is what messages and
the quarantine use to point at a segment.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from tallyclerk.connectors._base import ConnectorError, Position

_BOM = "\ufeff"
_SPACE = " \t\r\n"
_GAP = re.compile(r"[ \t\r\n]*")
_PADDING = re.compile(r"[ \t\r\n\x00\x1a]*")

# 997 AK5 (transaction set) and AK9 (group) syntax error codes.
SET_TRAILER_MISSING = "2"
SET_CONTROL_MISMATCH = "3"
SET_COUNT_MISMATCH = "4"
SET_SEGMENT_ERRORS = "5"
GROUP_TRAILER_MISSING = "2"
GROUP_CONTROL_MISMATCH = "3"
GROUP_COUNT_MISMATCH = "4"


@dataclass(frozen=True, slots=True)
class Delimiters:
    """The separators an interchange declares in its ISA."""

    element: str
    component: str | None
    segment: str
    repetition: str | None = None


@dataclass(frozen=True, slots=True)
class Segment:
    """One segment: its id, its elements (``elements[0]`` is XX01) and its number in the file."""

    tag: str
    elements: tuple[str, ...]
    number: int
    component_separator: str | None = None

    def el(self, index: int) -> str:
        """Element ``index`` (1-based, as in W12-03), stripped; '' when absent."""
        if 1 <= index <= len(self.elements):
            return self.elements[index - 1].strip()
        return ""

    def component(self, index: int, sub: int) -> str:
        """Component ``sub`` (1-based) of a composite element; '' when absent."""
        value = self.el(index)
        if self.component_separator is None:
            return value if sub == 1 else ""
        parts = value.split(self.component_separator)
        return parts[sub - 1].strip() if sub <= len(parts) else ""

    @property
    def position(self) -> Position:
        """Where the segment is, for messages and the quarantine."""
        return Position.segment(self.number, self.tag)

    def text(self, delimiters: Delimiters) -> str:
        """The segment as it was written (without its terminator)."""
        return delimiters.element.join((self.tag, *self.elements))


@dataclass(slots=True)
class Issue:
    """A problem of the envelope or the syntax, where it is and its 997 code."""

    segment: int | None
    tag: str | None
    reason: str
    code: str | None = None

    @property
    def position(self) -> Position:
        """Where the problem is."""
        if self.segment is None:
            return Position(None, "end of file")
        return Position.segment(self.segment, self.tag or "?")


@dataclass(slots=True)
class TransactionSet:
    """An ST…SE set: its code (ST01), control number (ST02) and the segments between."""

    header: Segment
    segments: list[Segment] = field(default_factory=list)
    trailer: Segment | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def code(self) -> str:
        """The transaction set identifier, ST01: 945, 846, …"""
        return self.header.el(1)

    @property
    def control(self) -> str:
        """ST02."""
        return self.header.el(2)

    @property
    def accepted(self) -> bool:
        """Whether the envelope of the set is sound."""
        return not self.issues


@dataclass(slots=True)
class FunctionalGroup:
    """A GS…GE group of sets of one functional kind."""

    header: Segment
    sets: list[TransactionSet] = field(default_factory=list)
    trailer: Segment | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def functional_id(self) -> str:
        """GS01: SW for a 945, IB for an 846, …"""
        return self.header.el(1)

    @property
    def sender(self) -> str:
        """GS02, the application sender's code."""
        return self.header.el(2)

    @property
    def receiver(self) -> str:
        """GS03."""
        return self.header.el(3)

    @property
    def control(self) -> str:
        """GS06, the group control number."""
        return self.header.el(6)

    @property
    def version(self) -> str:
        """GS08, the version, release and industry code (004010, 004010VICS)."""
        return self.header.el(8)


@dataclass(slots=True)
class Interchange:
    """An ISA…IEA interchange."""

    header: Segment
    delimiters: Delimiters
    groups: list[FunctionalGroup] = field(default_factory=list)
    trailer: Segment | None = None
    issues: list[Issue] = field(default_factory=list)

    @property
    def control(self) -> str:
        """ISA13, the interchange control number."""
        return self.header.el(13)

    @property
    def sender(self) -> tuple[str, str]:
        """(ISA05 qualifier, ISA06 id)."""
        return self.header.el(5), self.header.el(6)

    @property
    def receiver(self) -> tuple[str, str]:
        """(ISA07 qualifier, ISA08 id)."""
        return self.header.el(7), self.header.el(8)

    @property
    def version(self) -> str:
        """ISA12, the interchange control version (00401)."""
        return self.header.el(12)

    @property
    def test(self) -> bool:
        """ISA15 is T: a test interchange."""
        return self.header.el(15) == "T"

    def transaction_sets(self) -> Iterator[tuple[FunctionalGroup, TransactionSet]]:
        """Every set with its group, in file order."""
        for group in self.groups:
            for tx in group.sets:
                yield group, tx


def decode(data: bytes) -> str:
    """The text of an interchange: UTF-8 (a byte-order mark dropped), else Latin-1."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return text.lstrip(_BOM)


def looks_like_x12(head: bytes) -> bool:
    """Whether bytes start (after a byte-order mark and white space) with an ISA segment."""
    text = head[:512].decode("latin-1").replace("ï»¿", "", 1).lstrip(_SPACE + _BOM)
    return text.startswith("ISA") and len(text) > 3 and not text[3].isalnum()


def _delimiters(text: str, start: int, number: int) -> tuple[Delimiters, int]:
    """Read the ISA at ``start``: its delimiters and the index just after its terminator."""
    if not text.startswith("ISA", start) or len(text) < start + 4:
        raise ConnectorError(f"segment {number}: expected an ISA segment to open an interchange")
    element = text[start + 3]
    if element.isalnum() or element in _SPACE:
        raise ConnectorError(f"segment {number} (ISA): {element!r} cannot be the element separator")
    index = start + 3
    for _ in range(15):
        index = text.find(element, index + 1)
        if index < 0:
            raise ConnectorError(
                f"segment {number} (ISA): the ISA is cut short (fewer than 16 elements)"
            )
    # `index` is the separator before ISA16; ISA16 is one character, the terminator follows.
    if index + 2 >= len(text):
        raise ConnectorError(f"segment {number} (ISA): the ISA has no segment terminator")
    component, terminator = text[index + 1], text[index + 2]
    after = index + 3
    if terminator in "\r\n" and _ends_lines_with(text, after, component):
        # A producer that left ISA16 out: what sits there ends every segment (`~` + newline).
        return Delimiters(element, None, component, None), index + 2
    if terminator == element or terminator.isalnum() or terminator == " ":
        raise ConnectorError(
            f"segment {number} (ISA): {terminator!r} after ISA16 cannot be the segment terminator"
        )
    return Delimiters(element, component, terminator, None), after


def _skip(pattern: re.Pattern[str], text: str, start: int) -> int:
    """The index of the first character at or after ``start`` that ``pattern`` does not take."""
    match = pattern.match(text, start)
    return match.end() if match else start


def _ends_lines_with(text: str, start: int, char: str) -> bool:
    """Whether the next line after the ISA (the GS) ends with ``char`` before its newline."""
    begin = _skip(_GAP, text, start)
    end = text.find("\n", begin)
    line = text[begin : end if end >= 0 else len(text)].rstrip("\r")
    return bool(line) and line.endswith(char) and line.count(char) == 1


class _Scanner:
    """Walks the segments of one interchange, remembering where it stopped."""

    def __init__(self, text: str, start: int, delimiters: Delimiters, number: int) -> None:
        self.text = text
        self.position = start
        self.delimiters = delimiters
        self.number = number

    def __iter__(self) -> Iterator[Segment]:
        """The segments from the ISA up to and including the IEA (or the end of the text)."""
        text = self.text
        terminator, element = self.delimiters.segment, self.delimiters.element
        length = len(text)
        while self.position < length:
            end = text.find(terminator, self.position)
            if end < 0:
                end = length
            raw = text[self.position : end].lstrip(_SPACE).rstrip("\r\n")
            self.position = min(end + len(terminator), length)
            if not raw:
                continue
            parts = raw.split(element)
            tag = parts[0].strip()
            segment = Segment(tag, tuple(parts[1:]), self.number, self.delimiters.component)
            self.number += 1
            yield segment
            if tag == "IEA":
                return


@dataclass(slots=True)
class Document:
    """Everything read from one file: its interchanges and where reading stopped."""

    interchanges: list[Interchange] = field(default_factory=list)
    segments: int = 0


def read(data: bytes | str, source: str = "<payload>") -> Document:
    """Read every interchange of a file; ConnectorError when it is not X12 at all."""
    text = decode(data) if isinstance(data, bytes) else data.lstrip(_BOM)
    position = len(text) - len(text.lstrip(_SPACE))
    if not text.startswith("ISA", position):
        raise ConnectorError(f"{source}: not an X12 interchange (it does not start with ISA)")
    document = Document()
    number = 1
    while True:
        try:
            delimiters, _ = _delimiters(text, position, number)
        except ConnectorError as error:
            if not document.interchanges:
                raise
            document.interchanges[-1].issues.append(Issue(number, "ISA", str(error)))
            break
        interchange, position, number = _interchange(text, position, delimiters, number)
        document.interchanges.append(interchange)
        position = _skip(_PADDING, text, position)
        if position >= len(text):
            break
        if not text.startswith("ISA", position):
            snippet = text[position : position + 20].splitlines()[0] if text[position:] else ""
            interchange.issues.append(
                Issue(number, snippet[:3], f"data after the IEA is not an interchange: {snippet!r}")
            )
            break
    document.segments = number - 1
    return document


def _interchange(
    text: str, start: int, delimiters: Delimiters, number: int
) -> tuple[Interchange, int, int]:
    """Read one interchange; returns it, the index after it and the next segment number."""
    scanner = _Scanner(text, start, delimiters, number)
    segments = iter(scanner)
    header = next(segments)
    interchange = Interchange(header, delimiters)
    group: FunctionalGroup | None = None
    tx: TransactionSet | None = None
    last = header
    for segment in segments:
        last = segment
        tag = segment.tag
        if not _valid_tag(tag):
            issue = Issue(
                segment.number,
                tag[:3] or "?",
                f"{segment.text(delimiters)[:40]!r} is not a segment "
                "(a segment starts with an id of 2 or 3 letters and digits)",
                SET_SEGMENT_ERRORS,
            )
            (tx.issues if tx else interchange.issues).append(issue)
            continue
        if tag == "GS":
            if tx is not None and group is not None:
                _close_set(tx, None, group)
                tx = None
            if group is not None:
                _close_group(group, None, interchange)
            group = FunctionalGroup(segment)
            interchange.groups.append(group)
        elif tag == "ST":
            if group is None:
                group = FunctionalGroup(Segment("GS", (), segment.number))
                group.issues.append(
                    Issue(segment.number, "ST", "a transaction set outside a GS group")
                )
                interchange.groups.append(group)
            if tx is not None:
                _close_set(tx, None, group)
            tx = TransactionSet(segment)
            group.sets.append(tx)
        elif tag == "SE":
            if tx is None or group is None:
                interchange.issues.append(
                    Issue(segment.number, "SE", "an SE trailer without its ST header")
                )
                continue
            _close_set(tx, segment, group)
            tx = None
        elif tag == "GE":
            if group is None:
                interchange.issues.append(
                    Issue(segment.number, "GE", "a GE trailer without its GS header")
                )
                continue
            if tx is not None:
                _close_set(tx, None, group)
                tx = None
            _close_group(group, segment, interchange)
            group = None
        elif tag == "IEA":
            break
        elif tag == "ISA":
            interchange.issues.append(
                Issue(segment.number, "ISA", "an ISA inside an interchange (the IEA is missing)")
            )
        elif tx is not None:
            tx.segments.append(segment)
        else:
            interchange.issues.append(
                Issue(segment.number, tag, f"a {tag} segment outside any transaction set")
            )
    if tx is not None and group is not None:
        _close_set(tx, None, group)
    if group is not None:
        _close_group(group, None, interchange)
    end = scanner.position
    if last.tag == "IEA":
        interchange.trailer = last
        _check_interchange(interchange)
    else:
        interchange.issues.append(
            Issue(None, "IEA", "the interchange has no IEA trailer (is the file cut short?)")
        )
    return interchange, end, scanner.number


def _valid_tag(tag: str) -> bool:
    return 2 <= len(tag) <= 3 and tag.isascii() and tag.isalnum() and tag[0].isalpha()


def _close_set(tx: TransactionSet, trailer: Segment | None, group: FunctionalGroup) -> None:
    tx.trailer = trailer
    if trailer is None:
        tx.issues.append(
            Issue(
                tx.header.number,
                "ST",
                f"transaction set {tx.code} {tx.control} has no SE trailer",
                SET_TRAILER_MISSING,
            )
        )
        return
    declared = trailer.el(1)
    actual = trailer.number - tx.header.number + 1
    if declared != str(actual) and not (declared.isdecimal() and int(declared) == actual):
        tx.issues.append(
            Issue(
                trailer.number,
                "SE",
                f"SE01 says the set has {declared or 'no'} segment(s); it has {actual} "
                "(counting ST and SE)",
                SET_COUNT_MISMATCH,
            )
        )
    if trailer.el(2) != tx.control:
        tx.issues.append(
            Issue(
                trailer.number,
                "SE",
                f"SE02 {trailer.el(2)!r} does not repeat the ST02 control number {tx.control!r}",
                SET_CONTROL_MISMATCH,
            )
        )


def _close_group(group: FunctionalGroup, trailer: Segment | None, interchange: Interchange) -> None:
    del interchange
    group.trailer = trailer
    if trailer is None:
        group.issues.append(
            Issue(
                group.header.number,
                "GS",
                f"functional group {group.control} has no GE trailer",
                GROUP_TRAILER_MISSING,
            )
        )
        return
    declared = trailer.el(1)
    if not (declared.isdecimal() and int(declared) == len(group.sets)):
        group.issues.append(
            Issue(
                trailer.number,
                "GE",
                f"GE01 says the group has {declared or 'no'} transaction set(s); "
                f"it has {len(group.sets)}",
                GROUP_COUNT_MISMATCH,
            )
        )
    if _number(trailer.el(2)) != _number(group.control):
        group.issues.append(
            Issue(
                trailer.number,
                "GE",
                f"GE02 {trailer.el(2)!r} does not repeat the GS06 control number {group.control!r}",
                GROUP_CONTROL_MISMATCH,
            )
        )


def _check_interchange(interchange: Interchange) -> None:
    trailer = interchange.trailer
    assert trailer is not None
    declared = trailer.el(1)
    if not (declared.isdecimal() and int(declared) == len(interchange.groups)):
        interchange.issues.append(
            Issue(
                trailer.number,
                "IEA",
                f"IEA01 says the interchange has {declared or 'no'} functional group(s); "
                f"it has {len(interchange.groups)}",
            )
        )
    if _number(trailer.el(2)) != _number(interchange.control):
        interchange.issues.append(
            Issue(
                trailer.number,
                "IEA",
                f"IEA02 {trailer.el(2)!r} does not repeat the ISA13 control number "
                f"{interchange.control!r}",
            )
        )


def _number(value: str) -> str:
    """A control number compared as a number when it is one (000000001 = 1)."""
    return str(int(value)) if value.isdecimal() else value
