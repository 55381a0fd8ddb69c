"""Cross-check of the order, delivery and carrier KPIs on a simulated year (3,000 orders).

Three checks: the planted problems of `planted.json` that concern these metrics are found
with the generator's own figures; providers not planted with a problem meet their contract
terms; and every item (order or shipment, its provider, period and hit) equals what a plain
Python reading of the generated CSV files gives, so the Ibis expressions are checked
against an independent implementation of DESIGN section 5 over thousands of cases.
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tallyclerk.contracts import Contract, load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import ingest_paths
from tallyclerk.metrics import (
    ITEM_COLUMNS,
    MetricContext,
    MetricResult,
    compute,
    metric_items,
    open_context,
)
from tallyclerk.metrics._delivery import LatenessSplit, lateness_split
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.store import Store, open_store

pytestmark = pytest.mark.slow

METRICS = (
    "order_accuracy_rate",
    "delivery_on_time_rate",
    "damage_free_rate",
    "perfect_order_rate",
    "no_first_scan_rate",
)
BRAND_ZONE = "America/Chicago"  # the simulated brand's clock (orders.placed_at, feedback)
# Seed 3: at 3,000 orders the generator's background picking errors (mispicks, wrong-item
# returns and feedback tags on about 0.3% of orders) sit close to the 0.5% the contracts
# allow, so some seeds (1, 5, 7, 11) miss the order-accuracy target by sampling noise alone.
SEED = 3
AS_OF = datetime(2028, 1, 1, tzinfo=UTC)  # everything decided: no item pending


@dataclass
class World:
    """The simulated data, its store and everything computed on it once."""

    data: Path
    store: Store
    settings: Settings
    planted: dict[str, Any]
    contracts: dict[str, Contract]
    figures: dict[str, list[MetricResult]]
    items: dict[str, list[dict[str, Any]]]
    split: list[LatenessSplit]


def _settings(url: str) -> Settings:
    return Settings(database_url=url, brand={"timezone": BRAND_ZONE})  # type: ignore[arg-type]


def _load(store: Store, data: Path, settings: Settings) -> dict[str, Contract]:
    """Store the simulated contracts and ingest every file; the contracts by provider."""
    contracts = {}
    with store.begin() as connection:
        for path in sorted((data / "contracts").glob("*.yaml")):
            contract = load_contract(path)
            contracts[contract.provider] = contract
            add_contract(connection, contract, path.read_text(encoding="utf-8"), path.name)
    run = ingest_paths(store, [data], settings=settings)
    assert run.ok, [(b.kind, b.rejects[:3]) for b in run.batches if not b.ok]
    return contracts


def _engine_view(
    ctx: MetricContext,
) -> tuple[dict[str, list[tuple[Any, ...]]], list[LatenessSplit]]:
    """Every item of these metrics, sorted, and the lateness split: to compare engines."""
    view = {
        m: sorted(
            tuple(r[c] for c in ITEM_COLUMNS) for r in metric_items(ctx, m).to_pyarrow().to_pylist()
        )
        for m in METRICS
    }
    return view, lateness_split(ctx)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data = tmp_path_factory.mktemp("planted")
    simulate(data, 3000, seed=SEED)
    db = tmp_path_factory.mktemp("store") / "store.duckdb"
    settings = _settings(f"duckdb:///{db}")
    store = open_store(settings)
    try:
        contracts = _load(store, data, settings)
        with open_context(store, as_of=AS_OF, settings=settings) as ctx:
            figures = {m: compute(ctx, [m], with_ids=True) for m in (*METRICS, "ship_on_time_rate")}
            items = {
                m: metric_items(ctx, m).to_pyarrow().to_pylist()
                for m in (*METRICS, "ship_on_time_rate")
            }
            split = lateness_split(ctx)
        planted = json.loads((data / "planted.json").read_text(encoding="utf-8"))
        yield World(data, store, settings, planted, contracts, figures, items, split)
    finally:
        store.close()


def _total(results: list[MetricResult], provider_id: str) -> tuple[int, int, set[str]]:
    """Numerator, denominator and hit ids of a provider over every period."""
    mine = [r for r in results if r.provider_id == provider_id]
    return (
        sum(r.numerator for r in mine),
        sum(r.denominator for r in mine),
        {i for r in mine for i in r.ids},
    )


def test_planted_problems_are_found_with_the_generators_figures(world: World) -> None:
    checked = 0
    for problem in world.planted["problems"]:
        if problem["metric"] not in METRICS:
            continue
        expected = problem["expected"]
        for provider_id in problem["provider_ids"]:
            numerator, denominator, ids = _total(world.figures[problem["metric"]], provider_id)
            rate = numerator / denominator
            threshold = float(expected["threshold"])
            assert rate > threshold if expected["direction"] == "above" else rate < threshold
            observed = problem["observed"]
            if "numerator" in observed:  # the generator's own tally: the same figure exactly
                assert (numerator, denominator) == (observed["numerator"], observed["denominator"])
            if problem["ids_total"] == len(problem["ids"]):  # the id list is complete
                assert ids == set(problem["ids"])
            checked += 1
    assert checked >= 1  # westcoast_no_first_scan


def test_providers_without_a_planted_problem_meet_their_contract(world: World) -> None:
    planted = {(p["metric"], q) for p in world.planted["problems"] for q in p["provider_ids"]}
    start = date.fromisoformat(world.planted["start"])
    checked = []
    for metric in METRICS:
        for provider_id, contract in world.contracts.items():
            terms = contract.metric_terms(metric, start)
            if terms is None or (metric, provider_id) in planted:
                continue
            numerator, denominator, _ = _total(world.figures[metric], provider_id)
            assert denominator > 0
            assert terms.meets(numerator / denominator), (
                metric,
                provider_id,
                numerator,
                denominator,
            )
            checked.append((metric, provider_id))
    assert sorted(checked) == [
        ("no_first_scan_rate", "eastbridge"),
        ("order_accuracy_rate", "eastbridge"),
        ("order_accuracy_rate", "westcoast"),
    ]


# -- an independent reading of the CSV files -------------------------------------------------


def _rows(data: Path, kind: str) -> list[dict[str, str]]:
    with (data / f"{kind}.csv").open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@dataclass
class Oracle:
    """DESIGN section 5 computed in plain Python over the generated files."""

    provider: dict[str, str]
    accuracy: dict[str, tuple[date, bool]]
    on_time: dict[str, tuple[date, bool]]
    damage_free: dict[str, tuple[date, bool]]
    perfect: dict[str, tuple[date, bool]]


def _oracle(world: World) -> Oracle:
    data = world.data
    zones = {
        f.id: ZoneInfo(str(f.timezone)) for c in world.contracts.values() for f in c.facilities
    }
    brand = ZoneInfo(BRAND_ZONE)
    releases = {r["order_id"]: r for r in _rows(data, "releases")}
    orders = {r["order_id"]: r for r in _rows(data, "orders")}
    ordered: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in _rows(data, "order_lines"):
        ordered[line["order_id"]][line["sku"]] += int(line["qty"])
    shipments = _rows(data, "shipments")
    by_id = {s["shipment_id"]: s for s in shipments}
    shipped: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for line in _rows(data, "shipment_lines"):
        shipped[by_id[line["shipment_id"]]["order_id"]][line["sku"]] += int(line["qty"])
    last_parcel: dict[str, datetime] = {}
    for s in shipments:
        at = datetime.fromisoformat(s["shipped_at"])
        last_parcel[s["order_id"]] = max(at, last_parcel.get(s["order_id"], at))

    complete = {o for o, s in shipped.items() if sum(s.values()) >= sum(ordered[o].values())}
    errors = {o for o in complete if dict(shipped[o]) != dict(ordered[o])}
    returns = _rows(data, "returns")
    feedback = _rows(data, "feedback")
    errors |= {r["order_id"] for r in returns if r["reason"] in ("wrong_item", "missing_item")}
    errors |= {
        f["order_id"]
        for f in feedback
        if {"wrong_item", "missing_item"} & set(f["tags"].split(";"))
    }
    damaged = {r["order_id"] for r in returns if r["reason"] == "damaged"}
    damaged |= {f["order_id"] for f in feedback if "damaged" in f["tags"].split(";")}

    first_delivery: dict[str, datetime] = {}
    for event in _rows(data, "tracking_events"):
        if event["status"] == "delivered":
            at = datetime.fromisoformat(event["occurred_at"])
            number = event["tracking_number"]
            first_delivery[number] = min(at, first_delivery.get(number, at))
    parcels: dict[str, list[str]] = defaultdict(list)
    for s in shipments:
        if s["tracking_number"]:
            parcels[s["order_id"]].append(s["tracking_number"])
    delivered = {
        o: max(first_delivery[n] for n in numbers).astimezone(brand).date()
        for o, numbers in parcels.items()
        if all(n in first_delivery for n in numbers) and o in releases
    }

    accuracy = {
        o: (
            last_parcel[o].astimezone(zones[releases[o]["facility_id"]]).date(),
            o not in errors,
        )
        for o in complete
        if o in releases
    }
    on_time, perfect = {}, {}
    for o, day in delivered.items():
        if orders[o]["promised_delivery_date"]:
            promised = date.fromisoformat(orders[o]["promised_delivery_date"])
            good = day <= promised
            on_time[o] = (promised, good)
            perfect[o] = (
                promised,
                good and o in complete and o not in errors and o not in damaged,
            )
    damage_free = {o: (day, o not in damaged) for o, day in delivered.items()}
    provider = {o: r["provider_id"] for o, r in releases.items()}
    return Oracle(provider, accuracy, on_time, damage_free, perfect)


@pytest.fixture(scope="module")
def oracle(world: World) -> Oracle:
    return _oracle(world)


@pytest.mark.parametrize(
    ("metric", "attribute"),
    [
        ("order_accuracy_rate", "accuracy"),
        ("delivery_on_time_rate", "on_time"),
        ("damage_free_rate", "damage_free"),
        ("perfect_order_rate", "perfect"),
    ],
)
def test_items_equal_an_independent_reading_of_the_files(
    world: World, oracle: Oracle, metric: str, attribute: str
) -> None:
    expected: dict[str, tuple[date, bool]] = getattr(oracle, attribute)
    got = {r["item_id"]: (r["period_date"], r["hit"]) for r in world.items[metric]}
    assert len(got) == len(world.items[metric])  # one item per order
    assert got == expected
    assert all(r["provider_id"] == oracle.provider[r["item_id"]] for r in world.items[metric])
    # And the misses are real: every metric here has some in a simulated year.
    assert 0 < sum(not hit for _, hit in got.values()) < len(got)


def test_lateness_split_adds_up_and_blames_the_peak_on_eastbridge(world: World) -> None:
    shipped_on_time = {r["item_id"]: r["hit"] for r in world.items["ship_on_time_rate"]}
    expected: dict[tuple[str, date], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for r in world.items["delivery_on_time_rate"]:
        counts = expected[(r["provider_id"], r["period_date"].replace(day=1))]
        counts[0] += 1
        if not r["hit"]:
            counts[1] += 1
            counts[2 if shipped_on_time.get(r["item_id"]) is False else 3] += 1
    got = {
        (s.provider_id, s.period): [s.delivered, s.late, s.late_3pl, s.late_carrier]
        for s in world.split
    }
    assert got == dict(expected)
    # Planted problem 1 (eastbridge's peak meltdown): late deliveries promised in December
    # are mostly the 3PL's doing; the rest of the year the carriers cause nearly all of them.
    december = [s for s in world.split if s.provider_id == "eastbridge" and s.period.month == 12]
    rest = [s for s in world.split if s.provider_id == "eastbridge" and s.period.month < 11]
    assert sum(s.late_3pl for s in december) > sum(s.late_3pl for s in rest)
    assert sum(s.late_carrier for s in rest) > sum(s.late_3pl for s in rest)


# -- the same expressions on the other engines ---------------------------------------------


def _duckdb_view(world: World) -> tuple[dict[str, list[tuple[Any, ...]]], list[LatenessSplit]]:
    view = {m: sorted(tuple(r[c] for c in ITEM_COLUMNS) for r in world.items[m]) for m in METRICS}
    return view, world.split


@pytest.mark.postgres
def test_postgres_gives_the_same_items(world: World, postgres_url: str) -> None:
    settings = _settings(postgres_url)
    store = open_store(settings)
    try:
        _load(store, world.data, settings)
        with open_context(store, as_of=AS_OF, settings=settings) as ctx:
            assert _engine_view(ctx) == _duckdb_view(world)
    finally:
        store.close()


# PySpark's own internals use options and keywords pandas deprecates, and leave a py4j
# socket to the garbage collector: none of it is ours, and every warning is an error here.
@pytest.mark.spark
@pytest.mark.filterwarnings("ignore::DeprecationWarning:pyspark")
@pytest.mark.filterwarnings("ignore::FutureWarning:pyspark")
@pytest.mark.filterwarnings("ignore::ResourceWarning")
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_spark_gives_the_same_items(world: World) -> None:
    with open_context(world.store, engine="spark", as_of=AS_OF, settings=world.settings) as ctx:
        assert _engine_view(ctx) == _duckdb_view(world)
