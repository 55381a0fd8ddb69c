"""X12 benchmark: reading a large 945 file, against merely splitting its bytes.

Writes one interchange of 945 warehouse shipping advices (`--segments`, about 2,000,000 by
default: sets of a W06 heading, warehouse and ship-to parties, the ship date, the carrier, a
tracking number, four LX/W12 line loops and W03 totals), with the project's own X12 writer,
into a work directory. Then, each in a fresh process that first loads the file's bytes:

- (a) baseline: decode the bytes and split them into segments and elements,
  `[s.split("*") for s in text.split("~")]`: the near-limit of touching every element in
  Python, with no checks at all;
- (b) the reader, `tallyclerk.connectors.x12._reader.read`: delimiters from the ISA,
  segments numbered, envelopes built, every count and control number checked;
- (c) the whole connector, `X12Connector().parse`: the reader, then every 945 mapped to
  shipments and shipment lines, and the 997 that answers the interchange.

Runs are alternated over `--rounds` rounds and the best time of each is kept. Peak memory is
the child's peak resident set (ru_maxrss), with the growth over its size before the timed
work (the file's bytes already loaded). Results replace the `x12` section of
docs/benchmarks.md unless `--no-write` is given (use it for small check runs).

    uv run python benchmarks/x12.py --segments 2000000
    uv run python benchmarks/x12.py --segments 20000 --no-write
"""

from __future__ import annotations

import json
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from _report import REPORT, better, command_line, peak_rss_mb, publish, run_child, stamp, versions

MODES = ("baseline", "reader", "connector")
LINES_PER_SET = 4
SETS_PER_GROUP = 5_000
PROVIDER = "bench3pl"


def _set_body(number: int) -> list[tuple[str, ...]]:
    """The body of one 945: a shipment of one order with four lines."""
    day = date(2026, 1, 1) + timedelta(days=number % 365)
    stamp_day = f"{day:%Y%m%d}"
    body: list[tuple[str, ...]] = [
        ("W06", "N", f"SO{number:09d}", stamp_day, f"SH{number:09d}"),
        ("N1", "WH", "Reno distribution center", "ZZ", "RNO1"),
        ("N1", "ST", f"Customer {number % 9973}"),
        ("N4", "Reno", "NV", f"{89500 + number % 99:05d}", "US"),
        ("G62", "11", stamp_day, "Z", f"{number % 24:02d}{number % 60:02d}"),
        ("W27", "M", "UPSN", "GROUND"),
        ("N9", "2I", f"1Z999AA1{number:010d}"),
    ]
    units = 0
    for line in range(1, LINES_PER_SET + 1):
        qty = 1 + (number + line) % 5
        units += qty
        sku = f"SKU-{(number * 7 + line) % 20_000:05d}"
        body.append(("LX", str(line)))
        body.append(("W12", "CC", str(qty), str(qty), "0", "EA", "", "VN", sku))
    body.append(("W03", str(units), f"{units * 0.45:.2f}", "LB"))
    return body


SEGMENTS_PER_SET = len(_set_body(0)) + 2  # with ST and SE


def generate(path: Path, segments: int) -> dict[str, int]:
    """Write the 945 interchange; its size, segments and sets."""
    from tallyclerk.connectors.x12._writer import GroupDraft, Party, SetDraft, interchange_text

    sets = max(1, segments // SEGMENTS_PER_SET)
    groups: list[GroupDraft] = []
    for first in range(0, sets, SETS_PER_GROUP):
        drafts = [
            SetDraft("945", f"{n % 9_999 + 1:04d}", list(_set_body(n)))
            for n in range(first, min(sets, first + SETS_PER_GROUP))
        ]
        groups.append(GroupDraft("SW", len(groups) + 1, sets=drafts))
    text = interchange_text(
        Party("ZZ", "BENCH3PL"),
        Party("ZZ", "BRANDCO"),
        1,
        groups,
        at=datetime(2026, 12, 31, 23, 0, tzinfo=UTC),
    )
    data = text.encode("utf-8")
    path.write_bytes(data)
    total = sets * SEGMENTS_PER_SET + 2 * len(groups) + 2
    return {"bytes": len(data), "segments": total, "sets": sets}


def _child(mode: str, path: Path) -> dict[str, Any]:
    # imports and the file's bytes first: neither is part of the timed work
    from tallyclerk.connectors import ParseOptions
    from tallyclerk.connectors.x12._reader import read

    connector: Any = None
    if mode == "connector":
        try:
            from tallyclerk.connectors.x12 import X12Connector
        except ImportError as error:
            return {"skipped": f"the X12 connector cannot be imported ({error})"}
        connector = X12Connector()
    options = ParseOptions(
        provider_id=PROVIDER, source=path.name, received_at=datetime(2027, 1, 1, tzinfo=UTC)
    )
    data = path.read_bytes()
    before = peak_rss_mb()
    note = ""
    start = time.perf_counter()
    if mode == "baseline":
        text = data.decode("utf-8")
        split = [s.split("*") for s in text.split("~")]
        segments = sum(1 for s in split if s[0].strip())
    elif mode == "reader":
        segments = read(data, path.name).segments
    else:
        parsed = connector.parse(data, options)
        segments = -1
        note = (
            f"{parsed.count('shipments'):,} shipments, "
            f"{parsed.count('shipment_lines'):,} shipment lines, "
            f"{len(parsed.rejects):,} rejects, {len(parsed.outbound)} 997"
        )
    seconds = time.perf_counter() - start
    return {
        "seconds": seconds,
        "segments": segments,
        "note": note,
        "peak_rss_mb": peak_rss_mb(),
        "before_mb": before,
    }


LABELS = {
    "baseline": "(a) split into segments and elements (baseline)",
    "reader": "(b) the X12 reader: envelopes, counts, control numbers",
    "connector": "(c) the X12 connector: reader, 945 mapping, 997",
}


def _report(
    size: dict[str, int], best: dict[str, dict[str, Any]], skipped: dict[str, str], rounds: int
) -> str:
    megabytes = size["bytes"] / 1e6
    base = best["baseline"]["seconds"]
    lines = [
        f"## X12: reading a 945 file of {size['segments']:,} segments",
        "",
        "Measured with `benchmarks/x12.py`: one interchange of 945 warehouse shipping advices",
        f"({size['sets']:,} sets of {SEGMENTS_PER_SET} segments: W06, warehouse and ship-to",
        f"parties, ship date, carrier, tracking number, {LINES_PER_SET} LX/W12 line loops, W03",
        "totals), written by the project's X12 writer. Each run is a fresh process that loads",
        "the bytes first (untimed); figures are the best of "
        f"{rounds} alternated round(s). Peak memory is",
        "the process's ru_maxrss; *growth* is the part above its size before the timed work.",
        "",
        *stamp(),
        f"- Software: {versions('tallyclerk')}",
        f"- Input: {megabytes:,.1f} MB, {size['segments']:,} segments, {size['sets']:,} sets",
        "",
        "| run | seconds | MB / s | segments / s | peak memory | growth | time vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode in MODES:
        if mode in skipped:
            lines.append(f"| {LABELS[mode]} | skipped: {skipped[mode]} | | | | | |")
            continue
        r = best[mode]
        lines.append(
            f"| {LABELS[mode]} | {r['seconds']:.2f} | {megabytes / r['seconds']:,.1f} | "
            f"{size['segments'] / r['seconds']:,.0f} | {r['peak_rss_mb']:,.0f} MB | "
            f"{r['peak_rss_mb'] - r['before_mb']:,.0f} MB | {r['seconds'] / base:.2f}x |"
        )
    if "connector" in best and best["connector"].get("note"):
        lines += ["", f"The connector's run mapped {best['connector']['note']}."]
    lines += [
        "",
        "The baseline does the least any reader must do: it neither numbers segments, nor",
        "finds the delimiters, nor strips the newlines, nor checks anything. The reader keeps",
        "every segment as an object with its number (the position every message and quarantine",
        "entry points at), which is where most of its time and memory go.",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = command_line(__doc__)
    parser.add_argument("--segments", type=int, default=2_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--work", type=Path, default=None, help="keep the file here")
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    parser.add_argument("--child", choices=MODES)
    parser.add_argument("--file", type=Path)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(_child(args.child, args.file)))
        return

    with tempfile.TemporaryDirectory(prefix="tallyclerk-x12-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        path = work / f"bench-945-{args.segments}.x12"
        started = time.perf_counter()
        size = generate(path, args.segments)
        print(
            f"wrote {path} ({size['bytes'] / 1e6:,.1f} MB, {size['segments']:,} segments) "
            f"in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        best: dict[str, dict[str, Any]] = {}
        skipped: dict[str, str] = {}
        for round_no in range(1, args.rounds + 1):
            for mode in MODES:
                if mode in skipped:
                    continue
                result = run_child(__file__, mode, "--file", str(path))
                if "skipped" in result:
                    skipped[mode] = result["skipped"]
                    print(f"round {round_no} {mode:<9} skipped: {result['skipped']}", flush=True)
                    continue
                if mode != "connector" and result["segments"] != size["segments"]:
                    raise SystemExit(
                        f"{mode} counted {result['segments']:,} segments, "
                        f"the file has {size['segments']:,}"
                    )
                print(
                    f"round {round_no} {mode:<9} {result['seconds']:7.2f} s  "
                    f"{result['peak_rss_mb']:7.0f} MB",
                    flush=True,
                )
                if better(result, best.get(mode)):
                    best[mode] = result
    publish("x12", _report(size, best, skipped, args.rounds), args.out, write=not args.no_write)


if __name__ == "__main__":
    main()
