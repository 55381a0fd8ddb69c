"""What tallyclerk found against what the simulator planted (`planted.json`).

The demo prints this, and the planted tests assert it: every planted problem must be shown
by the command a user would run (a finding of reconciliation or the invoice audit, or a KPI
figure for the problems that are a rate), with its ids and its money. Findings that match
no planted id are reported apart, by kind: the simulation's ordinary randomness (a mis-pick,
a parcel the carrier loses) is real noise in the data, and the user should see it too.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from tallyclerk.metrics import MetricContext, metric_items
from tallyclerk.reconcile import Detected

# Which findings show a planted problem, by the planted entry's (metric, id kind).
_FINDING_KINDS: dict[tuple[str, str], tuple[str, ...]] = {
    ("ship_on_time_rate", "order_id"): ("not_shipped",),  # never shipped (not the peak)
    ("inventory_accuracy_rate", "sku"): ("inventory_variance", "inventory_drift"),
    ("invoice_accuracy_rate", "invoice_line"): ("wrong_rate", "wrong_quantity", "wrong_amount"),
    ("invoice_accuracy_rate", "order_id"): ("duplicate_charge",),
    ("no_first_scan_rate", "shipment_id"): ("no_first_scan",),
}
_SHOWN_BY = {
    "not_shipped": "tallyclerk reconcile",
    "inventory_variance": "tallyclerk inventory",
    "wrong_rate": "tallyclerk billing audit",
    "duplicate_charge": "tallyclerk billing audit",
    "no_first_scan": "tallyclerk reconcile",
}
_CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class PlantedOutcome:
    """One planted problem and what tallyclerk shows of it."""

    name: str
    description: str
    provider_ids: tuple[str, ...]
    shown_by: str  # the command (or KPI) that shows it
    planted: int  # ids planted in all
    checked: int  # planted ids listed in planted.json (at most its cap), checked one by one
    found: int  # of those, how many tallyclerk shows
    figure: str  # what it amounts to, in words and numbers
    found_ok: bool  # every checked id found and the figure as planted
    missed: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Unplanted:
    """Findings of one kind and provider that match no planted id."""

    kind: str
    provider_id: str | None
    count: int
    examples: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlantedCheck:
    """Every planted problem's outcome, and the findings nothing planted explains."""

    outcomes: list[PlantedOutcome]
    unplanted: list[Unplanted] = field(default_factory=list)

    @property
    def all_found(self) -> bool:
        """Whether every planted problem is shown."""
        return all(o.found_ok for o in self.outcomes)


def _misses(
    ctx: MetricContext,
    metric: str,
    providers: Sequence[str],
    windows: Sequence[tuple[date, date]] | None = None,
) -> tuple[set[str], int, int]:
    """Item ids a KPI counts against the providers, with hits and items (in the windows)."""
    items = metric_items(ctx, metric)
    items = items.filter(items.provider_id.isin(list(providers)))
    if windows:
        inside = None
        for start, end in windows:
            part = (items.period_date >= start) & (items.period_date <= end)
            inside = part if inside is None else inside | part
        items = items.filter(inside)
    rows = items.select("item_id", "hit").to_pyarrow().to_pylist()
    missed = {str(r["item_id"]) for r in rows if not r["hit"]}
    hits = sum(1 for r in rows if r["hit"])
    return missed, hits, len(rows)


def _rate(hits: int, total: int) -> str:
    return f"{hits / total:.1%}" if total else "no data"


def verify_planted(
    ctx: MetricContext, planted: Mapping[str, Any], detected: Sequence[Detected]
) -> PlantedCheck:
    """Match the planted problems with the findings detected and the KPIs on `ctx`."""
    outcomes: list[PlantedOutcome] = []
    explained: set[tuple[str, str]] = set()  # (kind, subject_id) of findings matched
    for problem in planted.get("problems", []):
        outcome, matched = _outcome(ctx, problem, detected)
        outcomes.append(outcome)
        explained |= matched
    leftovers: dict[tuple[str, str | None], list[str]] = {}
    for d in detected:
        if (d.kind, d.subject_id) not in explained:
            leftovers.setdefault((d.kind, d.provider_id), []).append(d.subject_id)
    unplanted = [
        Unplanted(kind, provider, len(ids), tuple(sorted(ids)[:3]))
        for (kind, provider), ids in sorted(
            leftovers.items(), key=lambda x: (x[0][0], x[0][1] or "")
        )
    ]
    return PlantedCheck(outcomes, unplanted)


def _outcome(
    ctx: MetricContext, problem: Mapping[str, Any], detected: Sequence[Detected]
) -> tuple[PlantedOutcome, set[tuple[str, str]]]:
    name = str(problem["name"])
    metric = str(problem["metric"])
    id_kind = str(problem["id_kind"])
    providers = tuple(problem.get("provider_ids", ()))
    ids = [str(i) for i in problem.get("ids", ())]
    base: dict[str, Any] = {
        "name": name,
        "description": str(problem.get("description", "")),
        "provider_ids": providers,
        "planted": int(problem.get("ids_total", len(ids))),
        "checked": len(ids),
    }
    # A problem with peak windows is a rate over those windows (the peak meltdown).
    is_rate = bool(problem.get("details", {}).get("peak_windows"))
    kinds = None if is_rate else _FINDING_KINDS.get((metric, id_kind))
    if kinds is None:
        return _kpi_outcome(ctx, problem, base, ids), set()
    ours = [d for d in detected if d.kind in kinds and d.provider_id in providers]
    matched: set[tuple[str, str]] = set()
    if id_kind == "sku":
        by_id: dict[str, list[Detected]] = {}
        for d in ours:
            by_id.setdefault(d.subject_id.split("|", 1)[-1], []).append(d)
    elif id_kind == "order_id" and kinds == ("duplicate_charge",):
        by_id = {}
        for d in ours:
            by_id.setdefault(str(d.evidence.get("reference", "")), []).append(d)
    else:
        by_id = {}
        for d in ours:
            by_id.setdefault(d.subject_id, []).append(d)
    found = [i for i in ids if i in by_id]
    for i in found:
        matched |= {(d.kind, d.subject_id) for d in by_id[i]}
    missed = tuple(i for i in ids if i not in by_id)
    figure, figure_ok = _finding_figure(problem, [d for i in found for d in by_id[i]], len(found))
    outcome = PlantedOutcome(
        **base,
        shown_by=_SHOWN_BY.get(kinds[0], "tallyclerk reconcile"),
        found=len(found),
        figure=figure,
        found_ok=not missed and figure_ok,
        missed=missed,
    )
    return outcome, matched


def _money(items: Iterable[Detected]) -> Decimal:
    return sum((d.amount for d in items if d.amount is not None), Decimal(0))


def _finding_figure(
    problem: Mapping[str, Any], found: Sequence[Detected], count: int
) -> tuple[str, bool]:
    """The money or units a problem's findings amount to, against what was planted."""
    details = problem.get("details", {})
    currency = next((d.currency for d in found if d.currency), "")
    if problem["id_kind"] == "invoice_line":
        planted = sum(
            (
                Decimal(str(line["billed_amount"])) - Decimal(str(line["expected_amount"]))
                for line in details.get("lines", [])
            ),
            Decimal(0),
        )
        shown = _money(found)
        ok = shown.quantize(_CENT) == planted.quantize(_CENT)
        return f"over-billed {shown:,.2f} {currency} (planted {planted:,.2f})", ok
    if problem["id_kind"] == "order_id" and any(d.kind == "duplicate_charge" for d in found):
        return f"{count} orders billed twice: over-billed {_money(found):,.2f} {currency}", True
    if problem["id_kind"] == "sku":
        variances = [d for d in found if d.kind == "inventory_variance"]
        units = sum(int(d.evidence.get("variance", 0) or 0) for d in variances)
        return (
            f"{len(variances)} SKUs off the book by {units:+,} units, "
            f"{_money(variances):,.2f} {currency} at cost",
            True,
        )
    kinds = {d.kind for d in found}
    if "not_shipped" in kinds:
        return f"{count} orders released and never shipped", True
    if "no_first_scan" in kinds:
        return f"{count} shipments without a carrier scan (likely lost)", True
    return f"{count} found", True


def _kpi_outcome(
    ctx: MetricContext, problem: Mapping[str, Any], base: dict[str, Any], ids: list[str]
) -> PlantedOutcome:
    """A planted problem shown by a KPI: its misses hold the planted ids, its rate misses."""
    metric = str(problem["metric"])
    providers = tuple(base["provider_ids"])
    windows = [
        (date.fromisoformat(a), date.fromisoformat(b))
        for a, b in problem.get("details", {}).get("peak_windows", [])
    ]
    missed_items, hits, total = _misses(ctx, metric, providers, windows or None)
    # An item id may carry more than the planted id (a return line is RETURN|SKU).
    missed_ids = missed_items | {i.split("|", 1)[0] for i in missed_items}
    found = [i for i in ids if i in missed_ids]
    expected = problem.get("expected", {})
    threshold = expected.get("threshold")
    rate_ok = True
    figure = f"{metric} {_rate(hits, total)}"
    if threshold is not None and total:
        rate = hits / total
        limit = float(threshold)
        below = expected.get("direction") == "below"
        rate_ok = rate < limit if below else rate > limit
        figure += f" ({'target' if below else 'max'} {limit:.1%})"
    if windows:
        figure += " in " + ", ".join(f"{a:%b %d}–{b:%b %d}" for a, b in windows)
    return PlantedOutcome(
        **base,
        shown_by=f"tallyclerk evaluate ({metric})",
        found=len(found),
        figure=figure,
        found_ok=len(found) == len(ids) and rate_ok,
        missed=tuple(i for i in ids if i not in missed_ids),
    )
