"""The X12 connector: a 3PL's EDI files in, canonical records and a 997 per interchange out.

Every transaction set is mapped by its ST01 code: 945 shipments, 846 inventory snapshots,
943 and 856 expected receipts, 944 received receipts, 947 adjustments, 180 returns, 940
releases. The 3PL's mapping profile (``--profile``, see ``_profile``) says which elements and
qualifiers carry each field. A set whose envelope is broken (SE count or control number, no
SE) is refused whole; problems of a group or interchange envelope become notes, or refuse
the group when the profile asks for ``strict_envelope``. Each interchange is answered with a
997 that accepts, accepts with errors noted, or rejects each set, and says why.
"""

from __future__ import annotations

import itertools
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

from tallyclerk.connectors._base import ConnectorError, Parsed, ParseOptions
from tallyclerk.connectors.x12._ack import SetProblem, SetResult, acknowledge
from tallyclerk.connectors.x12._inbound import KIND_OF, MAPPERS
from tallyclerk.connectors.x12._profile import DEFAULT_PROFILE, X12Profile, load_profile
from tallyclerk.connectors.x12._reader import (
    SET_SEGMENT_ERRORS,
    FunctionalGroup,
    Interchange,
    Issue,
    TransactionSet,
    looks_like_x12,
    read,
)

_ACKNOWLEDGMENT = "997"


class X12Connector:
    """ANSI X12 EDI from a 3PL (945, 846, 943, 944, 856, 947, 180, 940), answered by 997s."""

    name = "x12"
    description = (
        "ANSI X12 EDI from a 3PL: 945 shipping advice, 846 inventory, 943/856 inbound "
        "notices, 944 receipts, 947 adjustments, 180 returns, 940 orders; each interchange "
        "is answered with a 997"
    )

    def sniff(self, head: bytes, filename: str) -> bool:
        """Whether the bytes open with an ISA segment."""
        del filename
        return looks_like_x12(head)

    def parse(self, data: bytes, options: ParseOptions) -> Parsed:
        """Map every transaction set of every interchange; a 997 answers each interchange."""
        profile = load_profile(options.profile) if options.profile else DEFAULT_PROFILE
        provider_id = options.provider_id or profile.provider
        if not provider_id:
            raise ConnectorError(
                f"{options.source}: an X12 file needs --provider ID (the 3PL that sent it)"
            )
        try:
            document = read(data, options.source)
        except ConnectorError as exc:
            # A broken ISA is told by its segment: the message names the file as well.
            if str(exc).startswith(f"{options.source}: "):
                raise
            raise ConnectorError(f"{options.source}: {exc}") from None
        parsed = Parsed()
        counter = itertools.count(1)
        next_control: Callable[[], int] = options.next_control or (lambda: next(counter))
        at = options.received_at or datetime.now(UTC)
        codes: Counter[str] = Counter()
        for interchange in document.interchanges:
            results = _read_interchange(interchange, profile, provider_id, parsed, options, codes)
            if any(tx.code != _ACKNOWLEDGMENT for _, tx in interchange.transaction_sets()):
                parsed.outbound.append(
                    acknowledge(
                        interchange,
                        results,
                        control=next_control(),
                        at=at,
                        strict=profile.strict_envelope,
                    )
                )
        parsed.summary = _summary(codes, len(document.interchanges))
        return parsed


def _read_interchange(
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
    options: ParseOptions,
    codes: Counter[str],
) -> dict[tuple[str, str], SetResult]:
    """Map the sets of one interchange; the verdict on each set, keyed by (GS06, ST02)."""
    source = options.source
    if interchange.test:
        parsed.notes.append(
            f"{source}: interchange {interchange.control} is marked as test data (ISA15 T)"
        )
    for issue in interchange.issues:
        parsed.notes.append(f"{source}: {issue.position.label}: {issue.reason}")
    results: dict[tuple[str, str], SetResult] = {}
    for group in interchange.groups:
        for issue in group.issues:
            parsed.notes.append(f"{source}: {issue.position.label}: {issue.reason}")
        refusal = [*group.issues, *interchange.issues] if profile.strict_envelope else []
        for tx in group.sets:
            codes[tx.code or "?"] += 1
            results[(group.control, tx.control)] = _read_set(
                tx, group, interchange, profile, provider_id, parsed, refusal
            )
    return results


def _read_set(
    tx: TransactionSet,
    group: FunctionalGroup,
    interchange: Interchange,
    profile: X12Profile,
    provider_id: str,
    parsed: Parsed,
    refusal: list[Issue],
) -> SetResult:
    """Map one set, or refuse it whole; its 997 verdict."""
    code = tx.code
    kind = KIND_OF.get(code, "releases" if code == "940" else None)
    label = f"transaction set {code or '(no ST01)'} {tx.control}".rstrip()
    if tx.issues:
        record = _set_text(tx, interchange)
        problems: list[SetProblem] = []
        for issue in tx.issues:
            parsed.reject(
                kind,
                issue.position,
                f"{issue.position.label}: {issue.reason}; {label} is refused whole",
                record,
            )
            if issue.code == SET_SEGMENT_ERRORS and issue.segment is not None:
                problems.append(
                    SetProblem(
                        issue.segment,
                        (issue.tag or "?")[:3],
                        max(issue.segment - tx.header.number + 1, 1),
                        issue.reason,
                        segment_code="1",  # unrecognized segment id
                    )
                )
        first = next((i.code for i in tx.issues if i.code), SET_SEGMENT_ERRORS)
        return SetResult("R", first, problems)
    if refusal:
        record = _set_text(tx, interchange)
        for issue in refusal:
            parsed.reject(
                kind,
                tx.header.position,
                f"{issue.position.label}: {issue.reason}; strict_envelope refuses the whole "
                f"group, so {label} is refused",
                record,
            )
        return SetResult("R")
    before = parsed.count()
    if code == "940":
        from tallyclerk.connectors.x12._940 import map_940

        problems = map_940(
            tx,
            group,
            interchange,
            provider_id,
            parsed,
            default_facility=profile.default_facility,
            facilities=profile.facilities,
        )
    elif code in MAPPERS:
        problems = MAPPERS[code](tx, group, interchange, profile, provider_id, parsed)
    else:
        parsed.reject(
            None,
            tx.header.position,
            f"transaction set {code or '(no ST01)'} is not one tallyclerk reads",
            tx.header.text(interchange.delimiters),
        )
        return SetResult("R", "1")
    if not problems:
        return SetResult("A")
    added = parsed.count() - before
    return SetResult("E" if added else "R", SET_SEGMENT_ERRORS, problems)


def _set_text(tx: TransactionSet, interchange: Interchange) -> str:
    """The raw text of a whole set, for the quarantine."""
    delimiters = interchange.delimiters
    segments = [tx.header, *tx.segments, *([tx.trailer] if tx.trailer else [])]
    return "\n".join(s.text(delimiters) + delimiters.segment for s in segments)


def _summary(codes: Counter[str], interchanges: int) -> str:
    """What the file held: ``945 ×2, 846 (2 interchanges)``."""
    parts = [code if n == 1 else f"{code} ×{n}" for code, n in codes.items()]
    text = ", ".join(parts) or "no transaction sets"
    if interchanges > 1:
        text += f" ({interchanges} interchanges)"
    return text


CONNECTORS = (X12Connector(),)

__all__ = ["CONNECTORS", "DEFAULT_PROFILE", "X12Connector", "X12Profile", "load_profile"]
