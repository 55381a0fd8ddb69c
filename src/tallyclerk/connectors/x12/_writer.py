"""Writing X12: segments joined with chosen delimiters inside a valid ISA/GS/ST envelope.

The writer counts for itself: SE01 is the number of segments of the set, GE01 the sets of
the group, IEA01 the groups of the interchange, and every trailer repeats its header's
control number. Callers hand in the body segments and the control numbers; nothing else.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from tallyclerk.connectors.x12._reader import Delimiters

DEFAULT_DELIMITERS = Delimiters(element="*", component=">", segment="~", repetition="^")

SegmentData = Sequence[str]  # ("W05", "N", "ORDER-1", "PO-1"): the id, then the elements


def _pad(value: str, width: int) -> str:
    return value[:width].ljust(width)


@dataclass(frozen=True, slots=True)
class Party:
    """An interchange sender or receiver: ISA qualifier and id, and the GS application code."""

    qualifier: str
    identifier: str
    application: str | None = None

    @property
    def code(self) -> str:
        """The GS02/GS03 code (the application code, else the interchange id)."""
        return self.application or self.identifier


@dataclass
class SetDraft:
    """A transaction set to write: its code, control number and body segments."""

    code: str
    control: str
    segments: list[SegmentData] = field(default_factory=list)


@dataclass
class GroupDraft:
    """A functional group: GS01 id, GS06 control number, GS08 version and its sets."""

    functional_id: str
    control: int
    version: str = "004010"
    sets: list[SetDraft] = field(default_factory=list)


def _check(value: str, delimiters: Delimiters) -> str:
    for char in (delimiters.element, delimiters.segment, delimiters.component):
        if char and char in value:
            value = value.replace(char, " ")
    return value


def segment_text(segment: SegmentData, delimiters: Delimiters = DEFAULT_DELIMITERS) -> str:
    """One segment with its terminator; delimiter characters in values become spaces."""
    parts = [_check(str(v), delimiters) for v in segment]
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()  # trailing empty elements are left out, as X12 asks
    return delimiters.element.join(parts) + delimiters.segment


def interchange_text(
    sender: Party,
    receiver: Party,
    control: int,
    groups: Sequence[GroupDraft],
    *,
    at: datetime,
    test: bool = False,
    ack_requested: bool = False,
    delimiters: Delimiters = DEFAULT_DELIMITERS,
    newline: bool = True,
) -> str:
    """A whole interchange: ISA, the groups with their sets, IEA; counts filled in."""
    if not 0 < control <= 999_999_999:
        raise ValueError(f"interchange control number {control} is outside 1..999999999")
    end = "\n" if newline else ""
    e = delimiters.element
    isa = e.join(
        (
            "ISA",
            "00",
            _pad("", 10),
            "00",
            _pad("", 10),
            _pad(_check(sender.qualifier, delimiters), 2),
            _pad(_check(sender.identifier, delimiters), 15),
            _pad(_check(receiver.qualifier, delimiters), 2),
            _pad(_check(receiver.identifier, delimiters), 15),
            at.strftime("%y%m%d"),
            at.strftime("%H%M"),
            "U",  # ISA11 of version 00401: the US EDI community standard
            "00401",
            f"{control:09d}",
            "1" if ack_requested else "0",
            "T" if test else "P",
            delimiters.component or ">",
        )
    )
    out = [isa + delimiters.segment + end]
    for group in groups:
        gs = (
            "GS",
            group.functional_id,
            sender.code,
            receiver.code,
            at.strftime("%Y%m%d"),
            at.strftime("%H%M"),
            str(group.control),
            "X",
            group.version,
        )
        out.append(segment_text(gs, delimiters) + end)
        for draft in group.sets:
            out.append(segment_text(("ST", draft.code, draft.control), delimiters) + end)
            for segment in draft.segments:
                out.append(segment_text(segment, delimiters) + end)
            count = len(draft.segments) + 2
            out.append(segment_text(("SE", str(count), draft.control), delimiters) + end)
        out.append(segment_text(("GE", str(len(group.sets)), str(group.control)), delimiters) + end)
    out.append(segment_text(("IEA", str(len(groups)), f"{control:09d}"), delimiters) + end)
    return "".join(out)
