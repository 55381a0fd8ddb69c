"""Fuzz targets: one per input surface, bytes in, only the documented clean failures let out.

Each target hands its bytes to the real reader of one surface, as a user's file or a sender's
body would reach it. A reader may accept the bytes or refuse them cleanly: a ConnectorError,
a TallyclerkError (InputError and kin), or the located errors of the YAML files (contracts,
RFP, peak scenario, alert rules). Anything else escaping is a bug, and so is a result that
could not be stored: text with a NUL character or an unpaired surrogate (PostgreSQL and
UTF-8 refuse both), a row without its position, a reject without a reason.

`TARGETS` maps each name to its function; `benchmarks/fuzz.py` runs them under atheris, and
`tests/reliability/test_fuzz_regressions.py` replays `corpus/<name>/*` through them.
"""

from __future__ import annotations

import atexit
import importlib
import pkgutil
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path

import pyarrow.compute as pc

import tallyclerk.contracts
import tallyclerk.ingest
from tallyclerk import connectors
from tallyclerk.alerts._rules import RulesError, load_rules
from tallyclerk.connectors import ConnectorError, Parsed, ParseOptions
from tallyclerk.connectors.csv_profile import load_csv_profile
from tallyclerk.connectors.shopify import parse_webhook
from tallyclerk.connectors.x12 import load_profile
from tallyclerk.contracts import ContractError, load_contract
from tallyclerk.contracts._located import LocatedIssue
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.errors import InputError, TallyclerkError
from tallyclerk.forecast._scenario import ScenarioError, load_scenario
from tallyclerk.ingest._read import LINE, Chunk, Reject, read_csv, read_jsonl, read_profiled
from tallyclerk.vetting._rfp import RfpError, load_rfp

ROOT = Path(__file__).resolve().parents[3]
CORPUS = Path(__file__).resolve().parent / "corpus"
EXAMPLES = ROOT / "examples"

Target = Callable[[bytes], None]


class BrokenPromiseError(AssertionError):
    """A reader broke a promise without raising: text that cannot be stored, a lost position.

    `promise` names what was broken in words that do not depend on the input, so that the
    same bug met with other values is known as the same.
    """

    def __init__(self, promise: str, detail: str = "") -> None:
        super().__init__(f"{promise}: {detail}" if detail else promise)
        self.promise = promise


# --- what a clean result looks like ----------------------------------------------------------

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _storable(text: object, what: str) -> None:
    """Text that PostgreSQL and UTF-8 take: no NUL character, no unpaired surrogate."""
    if text is None:
        return
    if not isinstance(text, str):
        raise BrokenPromiseError(f"{what} is not text", type(text).__name__)
    found = _UNSTORABLE.search(text)
    if found is not None:
        char = "a NUL character" if found.group() == "\x00" else "an unpaired surrogate"
        raise BrokenPromiseError(f"{what} holds {char}", repr(text[:120]))


def check_parsed(parsed: Parsed) -> None:
    """A connector's result: rows of known columns with positions, rejects with reasons."""
    if not isinstance(parsed, Parsed):
        raise BrokenPromiseError("a connector returned something else than Parsed", repr(parsed))
    for kind, rows in parsed.rows.items():
        columns = set(KINDS_BY_NAME[kind].column_names)
        positions = parsed.positions.get(kind, [])
        if len(positions) != len(rows):
            raise BrokenPromiseError(f"{kind}: rows and positions differ in number")
        for row, position in zip(rows, positions, strict=True):
            if not set(row) <= columns:
                raise BrokenPromiseError(
                    f"{kind}: unknown columns", str(sorted(set(row) - columns))
                )
            for name, value in row.items():
                _storable(value, f"{kind}.{name}")
            _storable(position.label, f"the position of a {kind} row")
    for reject in parsed.rejects:
        if not reject.reason or not isinstance(reject.reason, str):
            raise BrokenPromiseError("a reject without a reason", reject.position.label)
        _storable(reject.reason, "a reject's reason")
        _storable(reject.record, "a reject's record")
        _storable(reject.position.label, "a reject's position")
    for note in parsed.notes:
        _storable(note, "a note")
    _storable(parsed.summary, "the summary")
    for document in parsed.outbound:
        if not isinstance(document.content, bytes) or not document.content:
            raise BrokenPromiseError("an empty outbound document", document.name)


def _check_message(exc: BaseException) -> None:
    """A refusal says why, in text that can be kept as a failed batch's message."""
    if not str(exc).strip():
        raise BrokenPromiseError(f"{type(exc).__name__} without a message")
    _storable(str(exc), f"the message of a {type(exc).__name__}")


def check_chunks(chunks: Iterable[Chunk], kind: str, first_line: int) -> None:
    """Canonical chunks: the kind's columns and `_line`, every row placed, rejects explained."""
    expected = [*KINDS_BY_NAME[kind].column_names, LINE]
    for chunk in chunks:
        table = chunk.table
        if table.column_names != expected:
            raise BrokenPromiseError("a chunk with other columns", str(table.column_names))
        lines = table.column(LINE)
        if lines.null_count or (len(lines) and pc.min(lines).as_py() < first_line):
            raise BrokenPromiseError(f"a row without a line, or before line {first_line}")
        for name in KINDS_BY_NAME[kind].column_names:
            for value in table.column(name).to_pylist():
                _storable(value, f"{kind}.{name}")
        for reject in chunk.rejects:
            _check_reject(reject)
        _storable(chunk.note, "the chunk's note")


def _check_reject(reject: Reject) -> None:
    if not reject.reason:
        raise BrokenPromiseError("a reject without a reason", f"line {reject.line}")
    if reject.line is None and reject.where is None:
        raise BrokenPromiseError("a reject without a position", reject.reason)
    _storable(reject.reason, "a reject's reason")
    _storable(reject.record, "a reject's record")


def check_located(errors: Iterable[LocatedIssue], source: str) -> None:
    """Located problems: each names the file, a line from 1 when known, and says something."""
    listed = list(errors)
    if not listed:
        raise BrokenPromiseError("an error without any located problem")
    for issue in listed:
        if issue.file != source:
            raise BrokenPromiseError("a problem located in another file", str(issue))
        if issue.line is not None and issue.line < 1:
            raise BrokenPromiseError("a problem before line 1", str(issue))
        if not issue.message.strip():
            raise BrokenPromiseError("a problem without a message", str(issue))


# --- files the readers take by path ----------------------------------------------------------

_WORK: list[Path] = []


def workdir() -> Path:
    """A private folder for the files of this process, removed when it exits."""
    if not _WORK:
        folder = Path(tempfile.mkdtemp(prefix="tallyclerk-fuzz-"))
        atexit.register(shutil.rmtree, folder, True)
        _WORK.append(folder)
    return _WORK[0]


def _file(name: str, data: bytes) -> Path:
    path = workdir() / name
    path.write_bytes(data)
    return path


def _fixed(name: str, text: str) -> Path:
    """A file of the given text, written once per process (a profile the targets read)."""
    path = workdir() / name
    if not path.exists():
        path.write_text(text, encoding="utf-8")
    return path


# --- connectors ---------------------------------------------------------------------------------

X12_PROFILE = """\
format: x12
provider: westcoast
default_facility: reno-1
facilities: {ACME01: reno-1, "Warehouse Name": lax-2, RNO1: reno-1}
strict_envelope: true
timezone: America/Los_Angeles
units: {TN: 907.18474}
product_qualifiers: [BP, VN, SK]
"945":
  tracking_number: "N9:BM"
  packaging: ["N9:PKG"]
  shipping_cost: ["N9:FRT"]
"846":
  on_hand: [34, QH, "17"]
  as_of: BIA-04+05
"947":
  reason_codes: {ZZ: decrease, AH: decrease}
"180":
  reasons: {NA: wrong_item}
  dispositions: {RA: restock}
"""


def _connector(name: str, data: bytes, options: ParseOptions) -> None:
    try:
        parsed = connectors.get(name).parse(data, options)
    except ConnectorError as exc:
        _check_message(exc)
        return
    check_parsed(parsed)


def x12(data: bytes) -> None:
    """An X12 file from a 3PL, read with the default profile."""
    _connector("x12", data, ParseOptions(provider_id="westcoast", source="fuzz.edi"))


def x12_profile(data: bytes) -> None:
    """An X12 file read with a 3PL's profile (qualifiers, facilities, strict envelopes)."""
    profile = _fixed("westcoast-x12.yaml", X12_PROFILE)
    _connector("x12", data, ParseOptions(profile=profile, source="fuzz.edi"))


def shopify_json(data: bytes) -> None:
    """A Shopify JSON document: an order, a fulfillment, an Admin REST reply."""
    _connector("shopify", data, ParseOptions(source="fuzz.json"))


def shopify_jsonl(data: bytes) -> None:
    """Shopify JSON Lines, Airbyte records among them."""
    _connector("shopify", data, ParseOptions(source="fuzz.jsonl"))


def shopify_csv(data: bytes) -> None:
    """The orders CSV export of the Shopify admin."""
    _connector("shopify", data, ParseOptions(source="orders_export.csv"))


def shopify_webhook(data: bytes) -> None:
    """A Shopify webhook body, read by an order topic and by a fulfillment topic."""
    for topic in ("orders/updated", "fulfillments/create"):
        try:
            parsed = parse_webhook(data, topic, ParseOptions())
        except ConnectorError as exc:
            _check_message(exc)
            continue
        check_parsed(parsed)


def easypost(data: bytes) -> None:
    """An EasyPost Tracker, Event or list."""
    _connector("easypost", data, ParseOptions(source="fuzz.json"))


def aftership(data: bytes) -> None:
    """An AfterShip tracking reply or webhook."""
    _connector("aftership", data, ParseOptions(source="fuzz.json"))


def tracking_json(data: bytes) -> None:
    """The plain tracking JSON form (and Shippo tracks)."""
    _connector("tracking-json", data, ParseOptions(source="fuzz.json"))


def detect(data: bytes) -> None:
    """A dropped file: recognized by its first bytes and name, then read by what took it."""
    read: set[tuple[str, str]] = set()
    for name in ("drop", "drop.json", "drop.edi", "drop.csv", "drop.jsonl"):
        found = connectors.detect(data[: 64 * 1024], name)
        # X12 and tracking JSON are read alike whatever the name; Shopify by its suffix.
        key = (found.name, name if found.name == "shopify" else "") if found else None
        if key is not None and key not in read:
            read.add(key)
            _connector(key[0], data, ParseOptions(provider_id="westcoast", source=name))


# --- canonical files and 3PL exports (ingest) -------------------------------------------------


def _canonical(read: Callable[[], Iterable[Chunk]], kind: str, first_line: int) -> None:
    try:
        check_chunks(read(), kind, first_line)
    except InputError as exc:
        _check_message(exc)


def canonical_csv(data: bytes) -> None:
    """A canonical CSV file of shipments, through ingest's streaming reader."""
    path = _file("shipments.csv", data)
    kind = KINDS_BY_NAME["shipments"]
    _canonical(lambda: read_csv(path, kind, "shipments.csv", block_size=64 * 1024), kind.name, 2)


def canonical_jsonl(data: bytes) -> None:
    """A canonical JSON Lines file of shipments."""
    path = _file("shipments.jsonl", data)
    kind = KINDS_BY_NAME["shipments"]
    _canonical(lambda: read_jsonl(path, kind, "shipments.jsonl"), kind.name, 1)


def _profiled(data: bytes, profile: Path, kind: str) -> None:
    path = _file("export.csv", data)
    try:
        _, chunks = read_profiled(path, KINDS_BY_NAME[kind], profile, "export.csv")
        check_chunks(chunks, kind, 1)
    except InputError as exc:
        _check_message(exc)


def csv_profile_export(data: bytes) -> None:
    """A 3PL's shipment report read through its CSV profile (US dates, pounds, codes)."""
    _profiled(data, EXAMPLES / "profiles" / "heartland-shipments.yaml", "shipments")


def csv_profile_export_eu(data: bytes) -> None:
    """A stock list read through its CSV profile (cp1252, semicolons, German numbers)."""
    _profiled(data, EXAMPLES / "profiles" / "inventory-eu.yaml", "inventory_snapshots")


# --- YAML files ----------------------------------------------------------------------------------


def csv_profile(data: bytes) -> None:
    """A CSV profile file."""
    path = _file("profile.yaml", data)
    try:
        load_csv_profile(path)
    except ConnectorError as exc:
        _check_message(exc)


def x12_profile_file(data: bytes) -> None:
    """An X12 mapping profile file."""
    path = _file("x12-profile.yaml", data)
    try:
        load_profile(path)
    except ConnectorError as exc:
        _check_message(exc)


def contract(data: bytes) -> None:
    """A contract file."""
    path = _file("contract.yaml", data)
    try:
        load_contract(path)
    except ContractError as exc:
        check_located(exc.errors, str(path))


def rfp(data: bytes) -> None:
    """An RFP file (candidates, claims, criteria)."""
    path = _file("rfp.yaml", data)
    try:
        load_rfp(path)
    except RfpError as exc:
        check_located(exc.errors, str(path))


def peak_scenario(data: bytes) -> None:
    """A peak scenario file."""
    path = _file("scenario.yaml", data)
    try:
        load_scenario(path)
    except ScenarioError as exc:
        check_located(exc.errors, str(path))


def alert_rules(data: bytes) -> None:
    """An alert rules file."""
    path = _file("rules.yaml", data)
    try:
        load_rules(path)
    except RulesError as exc:
        check_located(exc.errors, str(path))


TARGETS: dict[str, Target] = {
    "x12": x12,
    "x12-profile": x12_profile,
    "shopify-json": shopify_json,
    "shopify-jsonl": shopify_jsonl,
    "shopify-csv": shopify_csv,
    "shopify-webhook": shopify_webhook,
    "easypost": easypost,
    "aftership": aftership,
    "tracking-json": tracking_json,
    "detect": detect,
    "canonical-csv": canonical_csv,
    "canonical-jsonl": canonical_jsonl,
    "csv-profile-export": csv_profile_export,
    "csv-profile-export-eu": csv_profile_export_eu,
    "csv-profile": csv_profile,
    "x12-profile-file": x12_profile_file,
    "contract": contract,
    "rfp": rfp,
    "peak-scenario": peak_scenario,
    "alert-rules": alert_rules,
}

# Exceptions a target lets through on purpose are caught inside it; these never are.
CLEAN = (ConnectorError, TallyclerkError, ContractError)

# Real samples (../shared/samples, read in place: several may not be copied) that seed a
# target besides its corpus, as globs under the samples folder.
SAMPLE_SEEDS: dict[str, tuple[str, ...]] = {
    "x12": ("edi/x12/*/*",),
    "x12-profile": ("edi/x12/945/*", "edi/x12/846/*", "edi/x12/947/*", "edi/x12/180/*"),
    "shopify-json": ("shopify/*/*.json",),
    "shopify-jsonl": ("shopify/*.jsonl",),
    "shopify-webhook": ("shopify/shopify_python_api_fixtures/order.json",
                        "shopify/shopify_python_api_fixtures/fulfillment.json"),
    "easypost": ("carrier_tracking/easypost_examples/*.json",),
    "aftership": ("carrier_tracking/pyaftership_fixtures/*.json",),
    "tracking-json": ("carrier_tracking/shippo_python_client_cassettes/*.json",
                      "carrier_tracking/karrio/schemas/*.json"),
    "detect": ("edi/x12/945/*", "shopify/shopify_python_api_fixtures/order.json",
               "carrier_tracking/easypost_examples/trackers-create.json"),
}  # fmt: skip


def preload() -> None:
    """Import every module the targets may reach (some are imported on first use), so that a
    fuzzer instrumenting imports covers them too."""
    for package in (connectors, tallyclerk.ingest, tallyclerk.contracts):
        for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            importlib.import_module(module.name)
    for name in connectors.names():
        connectors.get(name)


def corpus_files(name: str) -> list[Path]:
    """The corpus of a target (seeds and crash inputs kept as regression cases)."""
    folder = CORPUS / name
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def sample_seeds(name: str, samples: Path) -> list[Path]:
    """The real sample files that seed a target (none when the folder is absent)."""
    found: set[Path] = set()
    for pattern in SAMPLE_SEEDS.get(name, ()):
        found.update(p for p in samples.glob(pattern) if p.is_file())
    return sorted(found)
