"""997 functional acknowledgments: one per interchange received, accepted or rejected, with why.

A 997 answers every functional group of an interchange: AK1 names the group, then for each
transaction set AK2 names it, AK3/AK4 point at the segments and elements in error and AK5
gives the verdict (A accepted, E accepted with errors noted, R rejected, with a code); AK9
sums up the group (A, E, P partially accepted, R) with the counts of sets declared,
received and accepted, and the codes of the group's own envelope problems.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from tallyclerk.connectors._base import Outbound
from tallyclerk.connectors.x12._reader import (
    SET_SEGMENT_ERRORS,
    FunctionalGroup,
    Interchange,
    TransactionSet,
)
from tallyclerk.connectors.x12._writer import (
    DEFAULT_DELIMITERS,
    GroupDraft,
    Party,
    SegmentData,
    SetDraft,
    interchange_text,
)

SetStatus = Literal["A", "E", "R"]  # AK501: accepted, accepted with errors noted, rejected


@dataclass(frozen=True, slots=True)
class SetProblem:
    """One problem inside a transaction set, as a 997 reports it (AK3, and AK4 when an element)."""

    segment_number: int  # the segment's number in the file (for messages)
    segment_id: str  # AK301: W12
    position_in_set: int  # AK302: counted from 1 at the ST
    reason: str  # plain words, for people and the batch report
    element: int | None = None  # AK401: the element's position in the segment
    element_code: str = "7"  # AK403: 1 mandatory missing, 6 invalid character, 7 invalid code
    #                          value, 8 invalid date, 9 invalid time
    segment_code: str = "8"  # AK304: 8 = segment has data element errors


@dataclass(slots=True)
class SetResult:
    """What became of one transaction set: its AK5 status, the code when rejected, problems."""

    status: SetStatus = "A"
    syntax_code: str | None = None  # AK502 when not plainly accepted (reader's SET_* codes)
    problems: list[SetProblem] = field(default_factory=list)


# --- the builder ------------------------------------------------------------------------------

_MAX_GROUP_CODES = 5  # AK905..AK909


def _safe(value: str) -> str:
    """A value fit for a file name: letters, digits, dot, dash and underscore."""
    cleaned = "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in value)
    return cleaned.strip("._") or "unknown"


def _isa_value(value: str, fallback: str) -> str:
    """A received ISA party field fit for our ISA: our delimiters and line breaks blanked."""
    unsafe = {DEFAULT_DELIMITERS.element, DEFAULT_DELIMITERS.segment, "\r", "\n"}
    if DEFAULT_DELIMITERS.component:
        unsafe.add(DEFAULT_DELIMITERS.component)
    cleaned = "".join(" " if c in unsafe else c for c in value).strip()
    return cleaned or fallback


def _result_for(tx: TransactionSet, given: SetResult | None) -> SetResult:
    """The caller's verdict on a set, else the one its envelope issues give."""
    if given is not None:
        return given
    if not tx.issues:
        return SetResult("A")
    code = tx.issues[0].code or next((i.code for i in tx.issues if i.code), None)
    return SetResult("R", code)


def _set_segments(tx: TransactionSet, result: SetResult) -> list[SegmentData]:
    """AK2, an AK3 (and AK4) per problem, AK5 for one transaction set."""
    body: list[SegmentData] = [("AK2", tx.code, tx.control)]
    for problem in result.problems:
        body.append(
            ("AK3", problem.segment_id, str(problem.position_in_set), "", problem.segment_code)
        )
        if problem.element is not None:
            body.append(("AK4", str(problem.element), "", problem.element_code))
    code = result.syntax_code
    if code is None and result.status != "A" and result.problems:
        code = SET_SEGMENT_ERRORS
    body.append(("AK5", result.status, code or ""))
    return body


def _group_status(
    group: FunctionalGroup, statuses: Sequence[SetStatus], *, strict: bool
) -> Literal["A", "E", "P", "R"]:
    """AK901: accepted, accepted with errors noted, partially accepted, or rejected."""
    rejected = sum(1 for s in statuses if s == "R")
    if group.issues and strict:
        return "R"
    if statuses and rejected == len(statuses):
        return "R"
    if rejected:
        return "P"
    if group.issues or any(s == "E" for s in statuses):
        return "E"
    return "A"


def _group_segments(
    group: FunctionalGroup,
    results: Mapping[tuple[str, str], SetResult],
    *,
    strict: bool,
) -> list[SegmentData]:
    """The body of one 997: AK1, the sets' answers, AK9."""
    body: list[SegmentData] = [("AK1", group.functional_id, group.control)]
    statuses: list[SetStatus] = []
    for tx in group.sets:
        result = _result_for(tx, results.get((group.control, tx.control)))
        statuses.append(result.status)
        body.extend(_set_segments(tx, result))
    declared = group.trailer.el(1) if group.trailer is not None else ""
    included = declared if declared.isascii() and declared.isdigit() else str(len(group.sets))
    accepted = sum(1 for s in statuses if s in ("A", "E"))
    codes: list[str] = []
    for issue in group.issues:
        if issue.code and issue.code not in codes and len(codes) < _MAX_GROUP_CODES:
            codes.append(issue.code)
    status = _group_status(group, statuses, strict=strict)
    body.append(("AK9", status, included, str(len(group.sets)), str(accepted), *codes))
    return body


def acknowledge(
    interchange: Interchange,
    results: Mapping[tuple[str, str], SetResult],
    *,
    control: int,
    at: datetime,
    strict: bool = False,
) -> Outbound:
    """The 997 interchange that answers every functional group of a received interchange.

    ``results`` holds the verdict on each transaction set, keyed by (GS06, ST02); a set
    without one is judged by its own envelope issues (rejected with the first issue's code,
    else accepted). Problems of a group's envelope (GE count or control number, no GE) are
    noted in its AK9: accepted with errors, or rejected when ``strict``. The answer goes
    from the received interchange's receiver back to its sender, one 997 set per group in
    one FA group; ``control`` numbers both the interchange and that group.
    """
    their_qualifier, their_id = interchange.sender
    our_qualifier, our_id = interchange.receiver
    first = interchange.groups[0] if interchange.groups else None
    # Their interchange may use other delimiters than ours: its ids could hold ours.
    sender = Party(
        _isa_value(our_qualifier, "ZZ"),
        _isa_value(our_id, "UNKNOWN"),
        first.receiver if first else None,
    )
    receiver = Party(
        _isa_value(their_qualifier, "ZZ"),
        _isa_value(their_id, "UNKNOWN"),
        first.sender if first else None,
    )
    drafts = [
        SetDraft("997", f"{index:04d}", _group_segments(group, results, strict=strict))
        for index, group in enumerate(interchange.groups, start=1)
    ]
    version = first.version if first is not None and first.version else "004010"
    groups = [GroupDraft("FA", control, version, drafts)] if drafts else []
    text = interchange_text(sender, receiver, control, groups, at=at, delimiters=DEFAULT_DELIMITERS)
    their_control = interchange.control
    return Outbound(
        name=f"997-{control:09d}-for-{_safe(their_control)}.x12",
        content=text.encode("utf-8"),
        document="997",
        partner=their_id or None,
        control_number=f"{control:09d}",
        reference=their_control or None,
    )
