"""Every planted problem of a simulated year is found, and nothing else beyond its noise.

The simulator's `planted.json` lists what it planted (3,000 orders, seed 3); reconciliation,
the inventory book, the invoice audit and the KPIs must show each entry with its ids and its
money, as the demo prints it. Findings that match no planted id may only be of the kinds the
simulated operations produce by chance (a mis-pick, a parcel lost by the carrier).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import ingest_paths
from tallyclerk.metrics import open_context
from tallyclerk.reconcile import DOMAINS, FindingsRun, run_findings
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.simulate._verify import PlantedCheck, verify_planted
from tallyclerk.store import Store, open_store

pytestmark = pytest.mark.slow

SEED = 3
AS_OF = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)  # the demo's clock: a month after the year
# What the simulated operations produce without anything planted: ordinary mis-picks (a
# wrong SKU or quantity in the parcel) and the rare parcel a carrier loses.
NOISE = {"quantity_mismatch", "no_first_scan"}


@dataclasses.dataclass
class Checked:
    store: Store
    settings: Settings
    planted: dict[str, Any]
    run: FindingsRun
    check: PlantedCheck


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Checked]:
    data = tmp_path_factory.mktemp("planted")
    simulate(data, 3000, seed=SEED)
    db = tmp_path_factory.mktemp("store") / "store.duckdb"
    settings = Settings(
        database_url=f"duckdb:///{db}",
        brand={"timezone": "America/Chicago"},  # type: ignore[arg-type]
    )
    store = open_store(settings)
    try:
        with store.begin() as connection:
            for path in sorted((data / "contracts").glob("*.yaml")):
                add_contract(
                    connection, load_contract(path), path.read_text(encoding="utf-8"), path.name
                )
        assert ingest_paths(store, [data], settings=settings).ok
        planted = json.loads((data / "planted.json").read_text(encoding="utf-8"))
        run = run_findings(store, DOMAINS, as_of=AS_OF, settings=settings)
        with open_context(store, as_of=AS_OF, settings=settings) as ctx:
            check = verify_planted(ctx, planted, run.detected)
        yield Checked(store, settings, planted, run, check)
    finally:
        store.close()


def test_every_planted_problem_is_found(checked: Checked) -> None:
    names = {p["name"] for p in checked.planted["problems"]}
    assert {o.name for o in checked.check.outcomes} == names
    assert len(names) >= 7
    for outcome in checked.check.outcomes:
        assert outcome.found_ok, outcome
        assert outcome.found == outcome.checked > 0, outcome
        assert not outcome.missed


def test_the_planted_money_is_shown(checked: Checked) -> None:
    storage = next(o for o in checked.check.outcomes if o.name == "eastbridge_storage_overbilled")
    lines = next(
        p for p in checked.planted["problems"] if p["name"] == "eastbridge_storage_overbilled"
    )["details"]["lines"]
    planted = sum(float(x["billed_amount"]) - float(x["expected_amount"]) for x in lines)
    assert f"over-billed {planted:,.2f} USD" in storage.figure


def test_nothing_else_is_found_beyond_the_noise(checked: Checked) -> None:
    extra = {u.kind for u in checked.check.unplanted}
    assert extra <= NOISE, checked.check.unplanted
    lost = [u for u in checked.check.unplanted if u.kind == "no_first_scan"]
    # The carrier loses parcels rarely: a handful of shipments, not a rate.
    assert sum(u.count for u in lost) <= 5


def test_a_missing_finding_is_reported_as_missed(checked: Checked) -> None:
    """The check itself can fail: without the never-shipped findings it says so."""
    without = [d for d in checked.run.detected if d.kind != "not_shipped"]
    with open_context(checked.store, as_of=AS_OF, settings=checked.settings) as ctx:
        check = verify_planted(ctx, checked.planted, without)
    never = next(o for o in check.outcomes if o.name == "released_never_shipped")
    assert not never.found_ok
    assert never.found == 0
    assert len(never.missed) == never.checked
    assert not check.all_found


def test_reconciling_again_raises_nothing_new(checked: Checked) -> None:
    again = run_findings(checked.store, DOMAINS, as_of=AS_OF, settings=checked.settings)
    assert again.sync is not None
    assert (again.sync.new, again.sync.cleared, again.sync.reopened) == (0, 0, 0)
    assert again.sync.seen_again == len({d.fingerprint for d in checked.run.detected})
