"""The fuzz corpus replayed, and Hypothesis on the loaders that had no fuzzing of their own.

Every file kept under `tests/reliability/fuzz/corpus/<target>/` (seeds, and each crash the
coverage-guided fuzzer found, `crash-<sha1>`) goes through its target again: it must be read
or refused cleanly. Then arbitrary and mutated YAML for the contract, the RFP, the peak
scenario and the alert rules must give located errors (file, line, key), and canonical CSV
and JSON Lines files with bad bytes must account for every line: a row or a reject, never
a crash and never text that cannot be stored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tallyclerk.alerts._rules import RulesError, parse_rules
from tallyclerk.contracts import ContractError, parse_contract
from tallyclerk.contracts._located import LocatedIssue
from tallyclerk.domain import KINDS_BY_NAME
from tallyclerk.errors import InputError
from tallyclerk.forecast._scenario import ScenarioError, parse_scenario
from tallyclerk.ingest._read import LINE, read_csv, read_jsonl
from tallyclerk.vetting._rfp import RfpError, parse_rfp
from tests.reliability.fuzz.targets import (
    EXAMPLES,
    ROOT,
    SAMPLE_SEEDS,
    TARGETS,
    check_chunks,
    check_located,
    corpus_files,
    sample_seeds,
)

CASES = [(name, path) for name in TARGETS for path in corpus_files(name)]


@pytest.mark.parametrize(
    ("name", "path"), CASES, ids=[f"{name}/{path.name[:20]}" for name, path in CASES]
)
def test_a_kept_input_is_read_or_refused_cleanly(name: str, path: Path) -> None:
    TARGETS[name](path.read_bytes())


def test_every_target_has_a_corpus() -> None:
    assert {name for name, _ in CASES} == set(TARGETS)


@pytest.mark.parametrize("name", sorted(SAMPLE_SEEDS))
def test_the_real_samples_seeding_a_target_pass_it(name: str, samples: Path) -> None:
    seeds = sample_seeds(name, samples)
    assert seeds, f"no sample matches the seeds of {name}"
    for path in seeds:
        TARGETS[name](path.read_bytes())


# -- YAML loaders: located errors whatever the text ----------------------------------------------

Parse = Callable[[str, str], object]
LOADERS: dict[str, tuple[Parse, type[Exception], Path]] = {
    "contract": (parse_contract, ContractError, ROOT / "tests/fixtures/contracts/westcoast.yaml"),
    "rfp": (parse_rfp, RfpError, EXAMPLES / "vetting/rfp.yaml"),
    "peak scenario": (parse_scenario, ScenarioError, EXAMPLES / "peak/black-friday-promo.yaml"),
    "alert rules": (parse_rules, RulesError, EXAMPLES / "alerts/rules.yaml"),
}
SOURCE = "fuzz.yaml"
NOISE = st.sampled_from(
    [
        "- x\n", ": :\n", "  : : :\n", "&a [*a]\n", "*nowhere\n", "{[}\n", "'open\n", '"\\q"\n',
        "!!python/object:os.system ls\n", "!!binary aGk=\n", "? [a]\n", "---\n", "...\n",
        "%YAML 1.1\n", "\t\n", "\x00", "\x85", "\ufeff", "key: value\n", "key: value\nkey: 2\n",
        "<<: *a\n", "a: &a {b: *a}\n", "- - - - - - - -\n", "{" * 60, "[" * 60,
    ]
)  # fmt: skip
VALUES = st.sampled_from(
    [
        "-1", "0", "1e999", "-.inf", ".nan", "null", "~", "[]", "{}", "''", "'x'", "NO", "yes",
        "0x1F", "0o17", "2026-02-30", "2026-13-01", "99:99", "24:00", "2026-01-01T25:00:00",
        "Mars/Olympus", "[1, [2, [3]]]", "{a: {b: {c: 1}}}", "*a", "&b 3", "!!str 5",
        "!!int x", "!!float y", "!!timestamp z", "12345678901234567890123", "\"\\u0000\"",
        "é", "' '", "-", "100%", "1_000", "+.5",
    ]
)  # fmt: skip


def _parse_cleanly(loader: str, text: str) -> None:
    parse, error, _ = LOADERS[loader]
    try:
        parse(text, SOURCE)
    except error as exc:
        issues: list[LocatedIssue] = exc.errors  # type: ignore[attr-defined]
        check_located(issues, SOURCE)
        message = str(exc)
        assert message.startswith(SOURCE) or re.match(rf"\d+ problems in {SOURCE}:", message)


@pytest.mark.parametrize("loader", sorted(LOADERS))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pieces=st.lists(NOISE | st.text(max_size=20), max_size=8))
def test_arbitrary_yaml_gets_located_errors(loader: str, pieces: list[str]) -> None:
    _parse_cleanly(loader, "".join(pieces))


def _mutate(lines: list[str], data: st.DataObject) -> list[str]:
    """A few edits a person (or a broken tool) makes to a YAML file."""
    lines = list(lines)
    for _ in range(data.draw(st.integers(1, 4))):
        if not lines:
            break
        at = data.draw(st.integers(0, len(lines) - 1))
        action = data.draw(st.sampled_from(["value", "drop", "twice", "indent", "noise", "cut"]))
        line = lines[at]
        if action == "value" and ":" in line:
            key = line.split(":", 1)[0]
            lines[at] = f"{key}: {data.draw(VALUES)}"
        elif action == "drop":
            del lines[at]
        elif action == "twice":
            lines.insert(at, line)
        elif action == "indent":
            lines[at] = " " * data.draw(st.integers(0, 6)) + line.lstrip()
        elif action == "noise":
            lines.insert(at, data.draw(NOISE).rstrip("\n"))
        else:
            lines[at] = line[: data.draw(st.integers(0, len(line)))]
    return lines


@pytest.mark.parametrize("loader", sorted(LOADERS))
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_mutated_real_files_get_located_errors(loader: str, data: st.DataObject) -> None:
    lines = [
        line
        for line in LOADERS[loader][2].read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    _parse_cleanly(loader, "\n".join(_mutate(lines, data)) + "\n")


@pytest.mark.parametrize("loader", sorted(LOADERS))
def test_the_real_files_load(loader: str) -> None:
    parse, _, path = LOADERS[loader]
    assert parse(path.read_text(encoding="utf-8"), str(path)) is not None


# -- canonical files: every line a row or a reject -----------------------------------------------

SHIPMENTS = KINDS_BY_NAME["shipments"]
HEADER = b"shipment_id,order_id,provider_id,facility_id,shipped_at"
PIECES = st.sampled_from(
    [b"a", b"7", b"-", b" ", b"\t", b"\x00", b"\xe9", "é".encode(), b"\xff\xfe", b"\xc3", b"Z"]
)
CELLS = st.lists(PIECES, max_size=5).map(b"".join)


def _accounted(path: Path, read: Callable[..., Any], first: int) -> list[int]:
    """The lines of the rows and rejects read from a file (checked as the fuzz targets do)."""
    chunks = list(read(path, SHIPMENTS, path.name))
    check_chunks(chunks, "shipments", first)
    lines = [line for c in chunks for line in c.table.column(LINE).to_pylist()]
    lines += [r.line for c in chunks for r in c.rejects]
    return sorted(lines)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.lists(st.lists(CELLS, min_size=5, max_size=6), max_size=12),
    ending=st.sampled_from([b"\n", b"\r\n", b"\r"]),
    bom=st.booleans(),
)
def test_every_csv_line_is_a_row_or_a_reject(
    tmp_path_factory: pytest.TempPathFactory, rows: list[list[bytes]], ending: bytes, bom: bool
) -> None:
    path = tmp_path_factory.mktemp("csv") / "shipments.csv"
    body = b"".join(b",".join(row) + ending for row in rows)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + HEADER + ending + body)
    try:
        lines = _accounted(path, read_csv, 2)
    except InputError as exc:
        refused = str(exc)
    else:
        assert lines == list(range(2, len(rows) + 2))
        return
    assert "looks like UTF-16" in refused  # the only file refused whole here


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
JSON_LINES = st.one_of(
    st.dictionaries(st.sampled_from(SHIPMENTS.column_names), JSON_VALUES, max_size=6).map(
        lambda d: json.dumps(d).encode()
    ),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    st.sampled_from(
        [
            b'{"shipment_id": "S\\u0000"}',
            b'{"shipment_id": "S\\udc00"}',
            b'{"shipment_id": "caf\xe9"}',
            b"[" * 5000,
            b'{"shipment_id": ' + b"[" * 900 + b"]" * 900 + b"}",
            b'{"a": 1} {"b": 2}',
            b"\x00\x00",
            b"NaN",
            b'{"shipment_id": 1e999999}',
        ]
    ),
    st.binary(max_size=30).filter(lambda b: b"\n" not in b),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=st.lists(JSON_LINES, max_size=10), ending=st.sampled_from([b"\n", b"\r\n"]))
def test_every_json_line_is_a_row_or_a_reject(
    tmp_path_factory: pytest.TempPathFactory, lines: list[bytes], ending: bytes
) -> None:
    path = tmp_path_factory.mktemp("jsonl") / "shipments.jsonl"
    path.write_bytes(b"".join(line + ending for line in lines))
    try:
        found = _accounted(path, read_jsonl, 1)
    except InputError as exc:
        refused = str(exc)
    else:
        assert found == [n for n, line in enumerate(lines, 1) if not _blank(line, n)]
        return
    # Only a file whose first bytes say it is something else is refused whole.
    assert re.search(r"line 1: (this is|the file looks like)", refused)


def _blank(line: bytes, number: int) -> bool:
    """Whether the reader skips the line as empty (text that is only white space)."""
    if number == 1:
        line = line.removeprefix(b"\xef\xbb\xbf")
    try:
        return not line.decode("utf-8").strip()
    except UnicodeDecodeError:
        return False
