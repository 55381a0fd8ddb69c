"""The calendar frames: local dates of UTC instants, checked against a plain reference.

The fast builders work from each zone's offset changes; the reference asks `zoneinfo` for
every 15-minute bucket one by one. Zones cover the usual DST (Los Angeles, New York), a
half-hour offset without DST (Kolkata) and a half-hour DST shift (Lord Howe).
"""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import ibis
import pyarrow as pa
import pytest

from tallyclerk.calendar import BusinessCalendar, FacilityClock
from tallyclerk.metrics import MetricContext, build_frames
from tallyclerk.metrics._frames import BUCKET_SECONDS, FacilitySite, _buckets

ZONES = ("America/Los_Angeles", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe")


def _sites(zones: tuple[str, ...] = ZONES) -> list[FacilitySite]:
    return [
        FacilitySite(
            f"F{i}", "p", FacilityClock(f"F{i}", ZoneInfo(z), time(14), BusinessCalendar())
        )
        for i, z in enumerate(zones)
    ]


def _reference_buckets(sites: list[FacilitySite], first: date, last: date) -> pa.Table:
    """Every bucket's local date, one `astimezone` call each (the table's definition)."""
    start = datetime.combine(first - timedelta(days=1), time(), UTC)
    stop = datetime.combine(last + timedelta(days=1), time(), UTC)
    hours = int((stop - start).total_seconds()) // 3600 + 1
    first_bucket = int(start.timestamp()) // BUCKET_SECONDS
    rows: dict[str, list[object]] = {"facility_id": [], "bucket": [], "local_date": []}
    for site in sites:
        for i in range(hours * 3600 // BUCKET_SECONDS):
            moment = start + timedelta(seconds=i * BUCKET_SECONDS)
            rows["facility_id"].append(site.facility_id)
            rows["bucket"].append(first_bucket + i)
            rows["local_date"].append(moment.astimezone(site.clock.timezone).date())
    return pa.table(
        {
            "facility_id": pa.array(rows["facility_id"], pa.string()),
            "bucket": pa.array(rows["bucket"], pa.int64()),
            "local_date": pa.array(rows["local_date"], pa.date32()),
        }
    )


@pytest.mark.parametrize(
    ("first", "last"),
    [
        (date(2026, 1, 1), date(2026, 12, 31)),  # a year: both DST changes everywhere
        (date(2026, 3, 7), date(2026, 3, 9)),  # US spring forward (03-08)
        (date(2026, 4, 4), date(2026, 4, 6)),  # Lord Howe: back 30 minutes (04-05)
        (date(2026, 10, 3), date(2026, 10, 5)),  # Lord Howe: forward 30 minutes (10-04)
        (date(2026, 11, 1), date(2026, 11, 1)),  # US fall back, a one-day span
    ],
)
def test_buckets_match_the_reference(first: date, last: date) -> None:
    sites = _sites()
    fast = _buckets(sites, first, last)
    assert fast.equals(_reference_buckets(sites, first, last))


def test_offsets_change_where_the_zones_do() -> None:
    frames = build_frames(_sites(), {}, date(2026, 1, 8), date(2026, 11, 1))
    offsets = frames.utc_offsets.to_pylist()
    by_facility: dict[str, list[dict[str, object]]] = {}
    for row in offsets:
        by_facility.setdefault(str(row["facility_id"]), []).append(row)
    kolkata, lord_howe = by_facility["F2"], by_facility["F3"]
    assert [r["offset_seconds"] for r in kolkata] == [19_800]
    # Lord Howe: +11:00 in summer, +10:30 from 2026-04-05 02:00 local, +11:00 from 10-04.
    assert [r["offset_seconds"] for r in lord_howe] == [39_600, 37_800, 39_600]
    assert lord_howe[1]["from_utc"] == datetime(2026, 4, 4, 15, 0, tzinfo=UTC)
    assert lord_howe[2]["from_utc"] == datetime(2026, 10, 3, 15, 30, tzinfo=UTC)
    for rows in by_facility.values():  # contiguous intervals
        assert all(a["to_utc"] == b["from_utc"] for a, b in itertools.pairwise(rows))


def test_local_dates_on_duckdb_match_zoneinfo() -> None:
    """`with_local_date` (a range join on the offset intervals) around each DST change."""
    sites = _sites()
    frames = build_frames(sites, {}, date(2026, 1, 1), date(2026, 12, 31))
    changes = [
        datetime(2026, 3, 8, 10, tzinfo=UTC),  # US spring forward
        datetime(2026, 11, 1, 9, tzinfo=UTC),  # US fall back
        datetime(2026, 4, 4, 15, tzinfo=UTC),  # Lord Howe back
        datetime(2026, 10, 3, 15, 30, tzinfo=UTC),  # Lord Howe forward
        datetime(2026, 6, 30, 18, 30, tzinfo=UTC),  # Kolkata midnight
    ]
    instants = [
        c + timedelta(minutes=m, microseconds=u)
        for c in changes
        for m in range(-150, 151, 15)
        for u in (0, 1, -1)
    ]
    rows = [(s.facility_id, t) for s in sites for t in instants]
    events = ibis.memtable(
        pa.table(
            {
                "facility_id": pa.array([f for f, _ in rows], pa.string()),
                "at": pa.array([t for _, t in rows], pa.timestamp("us", tz="UTC")),
                "n": pa.array(range(len(rows)), pa.int64()),
            }
        )
    )
    ctx = MetricContext(ibis.duckdb.connect(), datetime(2027, 1, 1, tzinfo=UTC), {}, frames)
    got = ctx.with_local_date(events, "at", "day").order_by("n").to_pyarrow()
    zones = {s.facility_id: s.clock.timezone for s in sites}
    assert got.column("day").to_pylist() == [t.astimezone(zones[f]).date() for f, t in rows]
