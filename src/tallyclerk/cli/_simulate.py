"""`tallyclerk simulate` and `tallyclerk demo`."""

from __future__ import annotations

import json
import secrets
import shutil
from datetime import UTC, date, datetime, time
from email.message import EmailMessage
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import sqlalchemy as sa
import typer
from rich.table import Table

from tallyclerk.alerts._rules import EmailChannel, WebhookChannel
from tallyclerk.cli._common import console, count_progress, err_console, state, store_session
from tallyclerk.cli._findings import title_of
from tallyclerk.cli._ingest import print_run
from tallyclerk.cli._store import print_summary
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.domain import KINDS
from tallyclerk.errors import InputError
from tallyclerk.ingest import IngestRequest, IngestRun, ingest_sources
from tallyclerk.metrics import get_metric, open_context
from tallyclerk.reconcile import DOMAINS, run_findings
from tallyclerk.settings import Settings
from tallyclerk.sla import MetricEvaluation, evaluate_periods
from tallyclerk.store import CANONICAL_TABLES
from tallyclerk.store.schema import providers
from tallyclerk.store.summary import summarize

if TYPE_CHECKING:
    from tallyclerk.simulate import RealFormats, SimulationSummary


def _run_simulation(
    out: Path,
    orders: int,
    seed: int,
    start: date,
    months: int,
    *,
    problems: bool = True,
    history_months: int = 0,
) -> SimulationSummary:
    # Imported here: the generator is only needed by the commands that simulate.
    from tallyclerk.simulate import simulate

    with count_progress() as progress:
        task = progress.add_task("simulating orders", total=orders)
        return simulate(
            out,
            orders,
            seed=seed,
            start=start,
            months=months,
            progress=lambda n: progress.advance(task, n),
            problems=problems,
            history_months=history_months,
        )


def simulate_command(
    out: Annotated[Path, typer.Option("--out", "-o", help="Directory for the CSV files.")],
    orders: Annotated[
        int, typer.Option("--orders", "-n", min=100, help="Orders to generate.")
    ] = 50_000,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Same seed, same files.")] = 7,
    start: Annotated[
        str, typer.Option("--start", help="First day of the simulated year (YYYY-MM-DD).")
    ] = "2026-01-01",
    months: Annotated[int, typer.Option("--months", min=1, max=36, help="Months to cover.")] = 12,
    no_problems: Annotated[
        bool,
        typer.Option(
            "--no-problems",
            help="Plant no problems: a clean year with only the ordinary noise of operations.",
        ),
    ] = False,
    formats: Annotated[
        str,
        typer.Option(
            "--formats",
            help="canonical: one CSV per kind; real: store orders as Shopify webhook JSON "
            "and the 3PLs' shipments, stock counts, receipts and returns as X12, with a "
            "mapping profile per 3PL.",
        ),
    ] = "canonical",
    history_months: Annotated[
        int,
        typer.Option(
            "--history-months",
            min=0,
            max=36,
            help="Also write the store's orders of this many months before --start, placed "
            "before the 3PL contracts began (the history a forecast learns last year's peak "
            "from).",
        ),
    ] = 0,
) -> None:
    """Write a demo brand's data files, contracts and planted problems.

    Two 3PLs (westcoast: LAX1; eastbridge: EWR1 and DFW1) serve a year of orders with a
    November-December peak. Problems are planted on purpose (a peak meltdown, inventory
    shrink, overbilling, slow returns, orders never shipped, parcels never scanned) and
    listed in planted.json. Streams to disk, so millions of orders fit in little memory.
    With --no-problems nothing is planted (planted.json then lists none), which gives a
    baseline where a check should find only the everyday noise.

    Examples:

      tallyclerk simulate --out demo-data --orders 50000 --seed 7

      tallyclerk simulate --out bench --orders 1000000

      tallyclerk simulate --out clean-data --orders 50000 --no-problems

      tallyclerk simulate --out edi-data --orders 20000 --formats real

      tallyclerk simulate --out demo-data --history-months 12
    """
    try:
        first_day = date.fromisoformat(start)
    except ValueError:
        err_console.print(f"[red]error:[/] --start {start!r} is not a date (YYYY-MM-DD)")
        raise typer.Exit(2) from None
    _check_formats(formats)
    summary = _run_simulation(
        out,
        orders,
        seed,
        first_day,
        months,
        problems=not no_problems,
        history_months=history_months,
    )
    _print_counts(dict(summary.rows), f"Simulated data in {out}")
    if formats == "real":
        _convert(out)
    if no_problems:
        console.print(f"No problems were planted ({out / 'planted.json'} lists none).")
    else:
        console.print(f"Planted problems are listed in {out / 'planted.json'}.")


def _check_formats(formats: str) -> None:
    if formats not in ("canonical", "real"):
        err_console.print(f"[red]error:[/] --formats {formats!r}: use canonical or real")
        raise typer.Exit(2)


def _convert(out: Path) -> RealFormats:
    from tallyclerk.simulate import write_real_formats

    with console.status("writing Shopify JSON and X12 files"):
        formats = write_real_formats(out)
    table = Table(title="Written in real formats", title_justify="left")
    table.add_column("format")
    table.add_column("files", justify="right")
    table.add_column("documents", justify="right")
    for name, files in formats.files.items():
        table.add_row(name, f"{files:,}", f"{formats.documents.get(name, 0):,}")
    console.print(table)
    console.print(
        f"X12 profiles per 3PL in {formats.profiles_dir}; what stays canonical CSV is in "
        f"{formats.canonical_dir}."
    )
    return formats


def _print_counts(counts: dict[str, int], title: str) -> None:
    table = Table(title=title, title_justify="left")
    table.add_column("kind")
    table.add_column("rows", justify="right")
    for kind in KINDS:
        if kind.name in counts:
            table.add_row(kind.name, f"{counts[kind.name]:,}")
    console.print(table)


def demo(
    orders: Annotated[
        int, typer.Option("--orders", "-n", min=100, help="Orders to simulate.")
    ] = 50_000,
    seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the simulation.")] = 7,
    data_dir: Annotated[
        Path, typer.Option("--dir", help="Where to write the simulated files.")
    ] = Path("demo-data"),
    fresh: Annotated[
        bool, typer.Option("--fresh", help="Delete an existing DuckDB store file first.")
    ] = False,
    formats: Annotated[
        str,
        typer.Option(
            "--formats",
            help="real: the store's orders as Shopify webhook JSON and the 3PLs' files as "
            "X12 (997s written back); canonical: one CSV per kind.",
        ),
    ] = "real",
    serve: Annotated[
        bool,
        typer.Option(
            "--serve",
            help="End by serving the dashboard and API, with a demo admin and provider login.",
        ),
    ] = False,
    port: Annotated[
        int, typer.Option("--port", min=1, max=65535, help="Port to serve on (with --serve).")
    ] = 8000,
    rfp: Annotated[
        Path | None,
        typer.Option(
            "--rfp",
            help="An RFP to vet on the demo brand's history (make demo gives "
            "examples/vetting/rfp.yaml).",
        ),
    ] = None,
    alert_rules: Annotated[
        Path | None,
        typer.Option(
            "--alerts",
            help="Alert rules to run in the middle of the peak (make demo gives "
            "examples/alerts/rules.yaml); messages are written to DIR/alerts-outbox.",
        ),
    ] = None,
) -> None:
    """Run the whole job on a demo brand: simulate a year, load it, summarize it.

    Simulates two 3PLs and a year of orders with planted problems, writes the store's
    orders as Shopify webhooks and the 3PLs' shipments, stock counts, receipts and returns
    as X12, creates the store, adds the contracts, ingests every file (answering each
    interchange with a 997) and prints what landed and what to look for.

    Examples:

      tallyclerk demo --fresh

      tallyclerk demo --orders 200000 --dir /tmp/demo --fresh

      tallyclerk demo --fresh --formats canonical

      tallyclerk demo --fresh --serve

      tallyclerk demo --fresh --rfp examples/vetting/rfp.yaml

      tallyclerk demo --fresh --alerts examples/alerts/rules.yaml
    """
    _check_formats(formats)
    settings = state.effective_settings()
    path = settings.duckdb_path
    if fresh and path is not None:
        for leftover in (path, Path(str(path) + ".wal")):
            leftover.unlink(missing_ok=True)
    if data_dir.exists():
        shutil.rmtree(data_dir)
    _run_simulation(
        data_dir, orders, seed, date(2026, 1, 1), 12, history_months=DEMO_HISTORY_MONTHS
    )
    real = _convert(data_dir) if formats == "real" else None
    with store_session() as store:
        with store.connect() as connection:
            held = connection.execute(
                sa.select(sa.func.count()).select_from(CANONICAL_TABLES["orders"])
            ).scalar_one()
        if held and not fresh:
            raise InputError(
                f"the store {store.description} already holds {held:,} orders; run the demo "
                "with --fresh (DuckDB) or point TALLYCLERK_DATABASE_URL at an empty database"
            )
        with store.begin() as connection:
            for contract_path in sorted((data_dir / "contracts").glob("*.yaml")):
                contract = load_contract(contract_path)
                add_contract(
                    connection, contract, contract_path.read_text("utf-8"), contract_path.name
                )
                console.print(f"contract added: {contract.provider} effective {contract.effective}")
        sources: list[tuple[Path, IngestRequest]] = [(data_dir, IngestRequest())]
        if real is not None:
            sources = [(real.canonical_dir, IngestRequest())]
            if real.shopify_dir.is_dir():
                sources.append((real.shopify_dir, IngestRequest()))
            for provider, folder in sorted(real.x12_dirs.items()):
                sources.append(
                    (
                        folder,
                        IngestRequest(
                            provider_id=provider,
                            profile=real.profile(provider),
                            ack_dir=data_dir / "outbound" / provider,
                        ),
                    )
                )
        with count_progress() as progress:
            total = sum(1 for folder, _ in sources for p in folder.iterdir() if p.is_file())
            task = progress.add_task("ingesting", total=total)

            def next_file(_path: Path, _label: str, _size: int) -> None:
                progress.advance(task)

            run = IngestRun()
            for folder, request in sources:
                part = ingest_sources(store, [folder], request, on_file=next_file)
                run.batches += part.batches
                run.unrecognized += part.unrecognized
                run.documents.update(part.documents)
        print_run(run, title=f"Demo data loaded into {store.description}")
        with store.connect() as connection:
            summary = summarize(connection)
    print_summary(summary, "What the store now holds")
    planted = json.loads((data_dir / "planted.json").read_text("utf-8"))
    _print_year(store_settings=state.effective_settings())
    _print_found(planted, state.effective_settings())
    _forecast_demo(state.effective_settings())
    if rfp is not None:
        _vet_demo(rfp, state.effective_settings())
    _review_demo(data_dir, state.effective_settings())
    if alert_rules is not None:
        _alerts_demo(alert_rules, data_dir, state.effective_settings())
    clock = "--as-of 2027-01-31"
    hints = (
        (f"evaluate --period 2026-11 {clock}", "both segments of the peak month"),
        (
            f"kpi drill ship_on_time_rate --provider eastbridge --period 2026-11 --misses {clock}",
            "the late orders",
        ),
        (f"reconcile {clock}", "every hand-off that broke, with its age"),
        (f"inventory {clock}", "the book against the 3PLs' counts"),
        (f"billing audit {clock}", "every invoice against the rate card"),
        (f"experience --period 2026-11 {clock}", "what the customers saw"),
        (
            f"report weekly --provider westcoast --week {DEMO_REVIEW_WEEK} {clock} "
            "--audience provider --out w48.pdf",
            "the weekly review, as the 3PL gets it",
        ),
        ("alerts list", "what the alert rules raised, and who was told"),
        ("findings list", "acknowledge, resolve or dispute what was found"),
        (
            f"forecast --as-of {DEMO_FORECAST_AS_OF} --plot forecast.png",
            "the peak ahead, as seen on the last day of October",
        ),
    )
    console.print(
        "\n[bold]Next[/] (with the clock after the demo year, so every order is settled):"
    )
    for command, what in hints:
        console.print(f"  [bold]tallyclerk {command}[/]\n      [dim]{what}[/]")
    if serve:
        _serve_demo(port)


def _forecast_demo(store_settings: Settings) -> None:
    """Forecast as of the end of October, before the peak, and keep the run for the dashboard."""
    from tallyclerk.cli._forecast import print_run
    from tallyclerk.forecast import forecast_inputs, read_inputs, save_run

    console.print(
        f"\n[bold]The peak, seen from {DEMO_FORECAST_AS_OF}[/] (history up to October: "
        "a year of store orders before the 3PLs, ten months of releases to them)"
    )
    with store_session() as store:
        inputs = read_inputs(
            store, as_of=DEMO_FORECAST_AS_OF, horizon=DEMO_FORECAST_DAYS, settings=store_settings
        )
    with console.status("choosing and fitting forecast models", spinner="dots"):
        run = forecast_inputs(inputs)
    with store_session() as store, store.begin() as connection:
        save_run(connection, run, created_by="demo")
    print_run(run, measures=("orders",))
    _peak_demo(store_settings)


def _vet_demo(rfp_path: Path, store_settings: Settings) -> None:
    """Three candidate 3PLs ranked on the demo brand's own January to October."""
    from tallyclerk.cli._vetting import print_report
    from tallyclerk.vetting import load_rfp, read_inputs, report_document, save_report, vet_inputs

    rfp = load_rfp(rfp_path)
    console.print(
        f"\n[bold]Vetting[/] {rfp_path}: three candidates priced on the brand's own orders "
        "(the same as: tallyclerk vet " + str(rfp_path) + ")"
    )
    with store_session() as store:
        inputs = read_inputs(store, rfp, settings=store_settings)
    report = vet_inputs(inputs)
    with store_session() as store, store.begin() as connection:
        save_report(connection, report, created_by="demo")
    print_report(report_document(report))


def _review_demo(data_dir: Path, store_settings: Settings) -> None:
    """eastbridge's weekly review of the week after Black Friday, with an action item agreed
    the week before, written as PDF and HTML beside the demo data."""
    from tallyclerk.cli._report import print_summary as print_review
    from tallyclerk.reports import IsoWeek, add_action, build_review, render_html, render_pdf
    from tallyclerk.reports._render import RenderError

    week = IsoWeek.parse(DEMO_REVIEW_WEEK)
    console.print(
        f"\n[bold]eastbridge's weekly review of {week.name}[/] ({week.start} to {week.end}: "
        f"the same as: tallyclerk report weekly --provider eastbridge --week {week.name} "
        f"--as-of {DEMO_YEAR_END:%Y-%m-%d} --out review.pdf)"
    )
    with store_session() as store, store.begin() as connection:
        agreed = datetime.combine(week.shifted(-1).end, time(17), tzinfo=UTC)
        add_action(
            connection,
            provider_id="eastbridge",
            title="Add a second picking shift for Black Friday to Cyber Monday",
            owner="eastbridge operations manager",
            party="provider",
            due_on=week.start,
            opened_week=week.shifted(-1),
            reference="forecast W48-W49 over capacity",
            by="demo",
            now=agreed,
        )
    with store_session() as store, console.status("building the review", spinner="dots"):
        review = build_review(store, store_settings, "eastbridge", week, as_of=DEMO_YEAR_END)
    folder = data_dir / "reviews"
    folder.mkdir(parents=True, exist_ok=True)
    html_path = folder / f"review-eastbridge-{week.name}.html"
    html_path.write_text(render_html(review), encoding="utf-8")
    print_review(review)
    written = [str(html_path)]
    try:
        pdf = render_pdf(review)
    except RenderError as exc:
        console.print(f"[yellow]no PDF:[/] {exc}")
    else:
        pdf_path = html_path.with_suffix(".pdf")
        pdf_path.write_bytes(pdf)
        written.insert(0, str(pdf_path))
    console.print(f"written: {' and '.join(written)}")


class _OutboxSender:
    """Alert messages written to a folder (one .eml per email, one .json per webhook post)
    instead of being sent: the demo has no mail server to talk to."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, suffix: str) -> Path:
        self.count += 1
        return self.folder / f"{self.count:03d}{suffix}"

    def email(
        self, channel: EmailChannel, to: str, subject: str, text: str, html: str | None
    ) -> None:
        message = EmailMessage()
        message["From"], message["To"], message["Subject"] = channel.sender, to, subject
        message.set_content(text)
        if html is not None:
            message.add_alternative(html, subtype="html")
        self._path(".eml").write_bytes(bytes(message))

    def webhook(self, name: str, channel: WebhookChannel, body: dict[str, Any]) -> None:
        self._path(f"-{name}.json").write_text(json.dumps(body, indent=2), encoding="utf-8")


def _alerts_demo(rules_path: Path, data_dir: Path, store_settings: Settings) -> None:
    """The alert rules run in the middle of the peak: what opened and who was told."""
    from tallyclerk.alerts import list_alerts, load_rules, run_alerts
    from tallyclerk.cli._alerts import alerts_table

    rules = load_rules(rules_path)
    # Every demo file was loaded a moment ago, not over the year: at the peak's clock every
    # source would look silent, so that rule sits this run out.
    kept = [r for r in rules.rules if r.kind != "source_silent"]
    rules = rules.model_copy(update={"rules": kept})
    outbox = data_dir / "alerts-outbox"
    console.print(
        f"\n[bold]Alerts at {DEMO_ALERT_CLOCK:%Y-%m-%d %H:%M} UTC[/], in the peak (the same as: "
        f"tallyclerk alerts run {rules_path} --now {DEMO_ALERT_CLOCK:%Y-%m-%dT%H:%M}Z; "
        f"source_silent left out; messages written to {outbox} instead of sent)"
    )
    sender = _OutboxSender(outbox)
    with store_session() as store:
        run = run_alerts(store, rules, store_settings, now=DEMO_ALERT_CLOCK, sender=sender)
        with store.connect() as connection:
            raised = list_alerts(connection, statuses=("open", "acknowledged"))
    console.print(alerts_table(raised, title="Open alerts"))
    console.print(f"{run.summary()}; {sender.count} messages in {outbox}")


def _peak_demo(store_settings: Settings) -> None:
    """eastbridge's peak played day by day on the forecast, before it happens."""
    from tallyclerk.cli._forecast import print_outcome
    from tallyclerk.forecast._scenario import parse_scenario
    from tallyclerk.forecast._scenario_run import read_scenario_inputs, simulate_scenario

    scenario = parse_scenario(DEMO_SCENARIO, "demo scenario")
    console.print(
        "\n[bold]eastbridge's peak, simulated day by day[/] "
        "(the same as: tallyclerk peak simulate examples/peak/forecast-p90.yaml)"
    )
    with store_session() as store:
        inputs = read_scenario_inputs(store, scenario, settings=store_settings)
    with console.status("simulating the peak", spinner="dots"):
        outcome = simulate_scenario(inputs)
    print_outcome(outcome, show_days=False)


def _serve_demo(port: int) -> None:
    """Create a demo admin and one login per provider, print them, and serve the dashboard."""
    from tallyclerk.access import add_user, get_user
    from tallyclerk.cli._serve import run_server

    logins: list[tuple[str, str, str]] = []
    with store_session() as store, store.begin() as connection:
        provider_ids = list(
            connection.execute(sa.select(providers.c.provider_id).order_by("provider_id")).scalars()
        )
        wanted = [("admin", "admin", None)] + [(f"{p}-ops", "provider", p) for p in provider_ids]
        for user_id, role, provider_id in wanted:
            if get_user(connection, user_id) is not None:
                continue
            password = secrets.token_urlsafe(9)
            add_user(connection, user_id, role, provider_id=provider_id, password=password)
            logins.append((user_id, password, f"{role} of {provider_id}" if provider_id else role))
    table = Table(title=f"Demo logins for http://127.0.0.1:{port}", title_justify="left")
    for column in ("user", "password", "sees"):
        table.add_column(column, no_wrap=True)
    for user_id, password, what in logins:
        table.add_row(user_id, password, what)
    console.print(table)
    run_server(state.effective_settings(), "127.0.0.1", port)


def _print_found(planted: dict[str, Any], store_settings: Settings) -> None:
    """Reconcile and audit the year, then show each planted problem beside what was found."""
    # Imported here: only the demo matches findings against a simulation's planted list.
    from tallyclerk.simulate._verify import verify_planted

    with (
        store_session() as store,
        console.status("reconciling hand-offs, inventory and invoices ..."),
    ):
        run = run_findings(store, DOMAINS, as_of=DEMO_YEAR_END, settings=store_settings)
        with open_context(store, as_of=DEMO_YEAR_END, settings=store_settings) as ctx:
            check = verify_planted(ctx, planted, run.detected)
    table = Table(
        title="The planted problems, and what tallyclerk shows of them "
        f"(as of {DEMO_YEAR_END:%Y-%m-%d})",
        title_justify="left",
    )
    table.add_column("planted problem", overflow="fold", ratio=3)
    table.add_column("found", justify="right", no_wrap=True)
    table.add_column("what it amounts to; where to look", overflow="fold", ratio=2)
    for o in check.outcomes:
        mark = "[green]✓[/]" if o.found_ok else "[bold red]✗[/]"
        found = f"{o.found:,}/{o.checked:,} {mark}"
        table.add_row(
            f"[bold]{o.name}[/] [dim]({', '.join(o.provider_ids)})[/]\n{o.description}",
            found,
            f"{o.figure}\n[dim]{o.shown_by}[/]",
        )
    console.print(table)
    if not check.outcomes:
        console.print("Nothing was planted in this data set.")
    if check.unplanted:
        console.print(
            "[bold]Found, not planted[/]: the simulated operations' ordinary noise "
            "(a mis-pick, a parcel the carrier loses); each is a real discrepancy in the data."
        )
        for u in check.unplanted:
            console.print(
                f"  {title_of(u.kind)} ({u.kind}), {u.provider_id or 'no provider'}: "
                f"{u.count:,}  [dim]e.g. {', '.join(u.examples)}[/]"
            )
    if run.sync is not None:
        console.print(
            f"[dim]{len(run.detected):,} findings stored: {run.sync.new:,} new, "
            f"{run.sync.seen_again:,} seen before.[/]"
        )


# Short column heads for the year matrix (the full names are in `tallyclerk evaluate`).
_SHORT = {
    "ship_on_time_rate": "ship",
    "order_cycle_hours_p50": "p50 h",
    "order_cycle_hours_p90": "p90 h",
    "order_accuracy_rate": "acc",
    "inventory_accuracy_rate": "inv",
    "dock_to_stock_on_time_rate": "dock",
    "return_processing_on_time_rate": "ret",
    "delivery_on_time_rate": "deliv",
    "damage_free_rate": "dmg",
    "perfect_order_rate": "perf",
    "no_first_scan_rate": "scan",
    "invoice_accuracy_rate": "bill",
    "dispute_response_on_time_rate": "disp",
}
DEMO_YEAR_END = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)
DEMO_PEAK_CLOCK = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)
# The store's order history before the 3PL contracts: last year's peak for the forecast.
DEMO_HISTORY_MONTHS = 12
# The forecast is made as of this day, before the peak, to show the risk ahead of it.
DEMO_FORECAST_AS_OF = date(2026, 10, 31)
DEMO_REVIEW_WEEK = "2026-W49"  # the week after Black Friday (2026-11-27): the backlog's week
DEMO_ALERT_CLOCK = datetime(2026, 12, 4, 15, 0, tzinfo=UTC)  # 10:00 in New York
DEMO_FORECAST_DAYS = 92  # November to January
DEMO_SCENARIO = f"""
name: Demo peak at the P90 forecast
provider: eastbridge
as_of: {DEMO_FORECAST_AS_OF}
from: 2026-11-01
to: 2026-12-31
demand: {{quantile: p90}}
second_provider: westcoast
"""


def _cell(m: MetricEvaluation) -> str:
    if m.value is None:
        return "[dim]—[/]"
    text = f"{m.value:.1f}" if get_metric(m.metric).unit == "hours" else f"{m.value * 100:.1f}"
    return f"[green]{text}[/]" if m.met else f"[bold red]{text}[/]"


def _print_year(store_settings: Settings) -> None:
    """Every provider's scorecard for every month, and the burn-rate view inside the peak."""
    months = [date(2026, month, 1) for month in range(1, 13)]
    with store_session() as store:
        # The mid-peak view is recorded first, so the dashboard can show the burn-rate
        # warnings it raised while the settled year-end runs stay the months' latest.
        (peak,) = evaluate_periods(
            store,
            [DEMO_PEAK_CLOCK.date().replace(day=1)],
            as_of=DEMO_PEAK_CLOCK,
            settings=store_settings,
        )
        reports = evaluate_periods(store, months, as_of=DEMO_YEAR_END, settings=store_settings)
    providers = sorted({p.provider_id for r in reports for p in r.providers})
    for provider_id in providers:
        rows = [(r.period, p) for r in reports for p in r.providers if p.provider_id == provider_id]
        names: list[str] = []
        for _, p in rows:
            for m in p.evaluation.metrics:
                if m.metric not in names:
                    names.append(m.metric)
        table = Table(
            title=f"{provider_id}: the year against its contract (% or hours; red = breached)",
            title_justify="left",
        )
        table.add_column("month")
        for name in names:
            table.add_column(_SHORT.get(name, name), justify="right")
        table.add_column("credit", justify="right")
        for period, p in rows:
            cells = []
            for name in names:
                judged = [m for m in p.evaluation.metrics if m.metric == name]
                worst = min(
                    judged,
                    key=lambda m: (m.met is not False, m.value is None, m.segment.start),
                    default=None,
                )
                cells.append(_cell(worst) if worst else "")
            credit = p.credits.total.amount
            table.add_row(
                f"{period:%Y-%m}", *cells, f"[bold red]{credit:,.2f}[/]" if credit else "0"
            )
        console.print(table)
    console.print(
        "[dim]A month split by a peak window shows its worse part; "
        "tallyclerk evaluate --period YYYY-MM shows both.[/]"
    )
    console.print(
        "\n[bold]Early warning[/]: the error budget as the clock read "
        f"{DEMO_PEAK_CLOCK:%Y-%m-%d %H:%M} UTC "
        f"({DEMO_PEAK_CLOCK:%B} still open):"
    )
    for p in peak.providers:
        for b in p.burn:
            if b.state in ("warn", "page"):
                colour = "bold red" if b.state == "page" else "yellow"
                console.print(f"  [{colour}]{b.state}[/] {p.provider_id} {b.metric}: {b.reason}")
    if not any(b.state in ("warn", "page") for p in peak.providers for b in p.burn):
        console.print("  every error budget is on track")
