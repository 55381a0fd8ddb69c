"""Service benchmark: a burst of signed Shopify order webhooks into the running service.

Starts the real service (`python -m tallyclerk serve`, uvicorn) in a subprocess on a free
loopback port, over a new DuckDB store and spool directory in a work folder. Then:

- baseline: `--health` requests of `GET /api/v1/health` (the most trivial endpoint; it
  opens the embedded store, as every request on it does) from `--workers` concurrent
  clients (threads, one keep-alive httpx client each);
- webhooks: `--webhooks` orders/create deliveries, each a distinct order of three lines
  built with the Shopify connector's own payload builder, signed with the app secret and
  sent by the same number of workers; the rate and the p50/p99 latency of the 202 answers;
- landing: the time until the spool is empty (the status endpoint, polled with an admin
  token), from the first 202; then the server is stopped (SIGINT, a graceful shutdown) and
  the store's orders, order lines and webhook receipts are counted. Every accepted delivery
  must have landed exactly once: the script fails otherwise.

The figure to compare across machines is the ratio of the webhook rate to the health rate.
Results replace the `service` section of docs/benchmarks.md unless `--no-write` is given.

    uv run python benchmarks/service.py --webhooks 5000
    uv run python benchmarks/service.py --webhooks 500 --no-write

`--dashboard-path` also measures the p95 latency of a dashboard page on the same server (see
`measure_dashboard_overview`); its store then needs the data the page shows.

`--dashboard-orders N` measures the dashboard over a large store instead (no webhooks): it
simulates N orders of the demo brand (canonical files), ingests them after the contracts,
evaluates and records the twelve months, adds an admin and a provider user, then serves that
store and times, with `--workers` clients (4 by default) sending `--requests` each (300), the
p50/p95/p99 latency of the overview (`GET /`) as the admin and as the provider user,
`GET /api/v1/scorecards` and a provider's page, against the health baseline of the same run.
With `--work DIR` the built store stays there and a rerun reuses it. Results replace the
`service-dashboard` section of docs/benchmarks.md.

    uv run python benchmarks/service.py --dashboard-orders 1000000 --work /tmp/bench-1m
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from _report import REPORT, command_line, publish, stamp, versions

SECRET = "benchmark-app-secret"
ADMIN = "bench-admin"


@dataclass(frozen=True)
class Server:
    """The running service: its address, an admin token, where its files are."""

    url: str
    admin_token: str
    database_url: str
    spool: Path
    process: subprocess.Popen[bytes]


@dataclass(frozen=True)
class Timing:
    """Requests sent by concurrent workers: their count, wall time and latencies."""

    requests: int
    seconds: float
    latencies: list[float]
    statuses: dict[int, int]

    @property
    def rate(self) -> float:
        """Requests per second."""
        return self.requests / self.seconds

    def percentile(self, share: float) -> float:
        """A latency percentile in milliseconds."""
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))
        return ordered[index] * 1000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def user_token(database_url: str, user_id: str, role: str, provider_id: str | None = None) -> str:
    """A new API token for the user, added first if the store (created if new) lacks it."""
    from tallyclerk.access import add_user, create_token, get_user
    from tallyclerk.store import open_store

    store = open_store(url=database_url)
    try:
        with store.begin() as connection:
            if get_user(connection, user_id) is None:
                add_user(connection, user_id, role, provider_id=provider_id)
            return create_token(connection, user_id)[1]
    finally:
        store.close()


@contextmanager
def run_service(work: Path, database_url: str | None = None) -> Iterator[Server]:
    """Start `tallyclerk serve` on a free port over `database_url` (default: a new store in
    `work`), with a new admin token; stop it after."""
    database_url = database_url or f"duckdb:///{work / 'store.duckdb'}"
    token = user_token(database_url, ADMIN, "admin")
    port = _free_port()
    env = {
        **os.environ,
        "TALLYCLERK_DATABASE_URL": database_url,
        "TALLYCLERK_SERVICE__SPOOL_DIR": str(work / "spool"),
        "TALLYCLERK_SERVICE__SHOPIFY_SECRET": SECRET,
    }
    command = [sys.executable, "-m", "tallyclerk", "serve", "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning"]
    log = (work / "server.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    server = Server(url, token, database_url, work / "spool", process)
    try:
        _wait_until_up(server)
        yield server
    finally:
        stop_service(server)
        log.close()


def _wait_until_up(server: Server, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(f"the server stopped at start (exit {server.process.returncode})")
        try:
            if httpx.get(f"{server.url}/api/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the server did not answer within two minutes")


def stop_service(server: Server) -> float:
    """Stop the server as Ctrl-C would (it lands what still waits); seconds it took."""
    if server.process.poll() is not None:
        return 0.0
    started = time.perf_counter()
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
    return time.perf_counter() - started


def send_concurrently(
    server: Server,
    requests: Sequence[Callable[[httpx.Client], httpx.Response]],
    workers: int,
) -> Timing:
    """Send the requests from `workers` threads (each its own client); time each answer."""
    latencies: list[float] = [0.0] * len(requests)
    statuses: list[int] = [0] * len(requests)
    cursor = iter(range(len(requests)))
    lock = threading.Lock()

    def work() -> None:
        client = httpx.Client(base_url=server.url, timeout=60)
        try:
            while True:
                with lock:
                    index = next(cursor, None)
                if index is None:
                    return
                started = time.perf_counter()
                try:
                    statuses[index] = requests[index](client).status_code
                except httpx.TransportError:
                    # The server dropped the connection (status 0): go on with a new one.
                    client.close()
                    client = httpx.Client(base_url=server.url, timeout=60)
                latencies[index] = time.perf_counter() - started
        finally:
            client.close()

    threads = [threading.Thread(target=work) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    counted: dict[int, int] = {}
    for status in statuses:
        counted[status] = counted.get(status, 0) + 1
    return Timing(len(requests), seconds, latencies, counted)


def order_bodies(count: int, first: int = 0) -> list[bytes]:
    """Distinct Shopify orders/create bodies: three lines each, a day's spread of times.

    The orders are numbered from `first` (their ids are 7,000,000,000 plus the number)."""
    from tallyclerk.connectors.shopify import order_payload

    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    bodies = []
    for n in range(first, first + count):
        lines = [
            (f"SKU-{(n * 7 + k) % 500:04d}", 1 + (n + k) % 3, Decimal("12.50")) for k in (1, 2, 3)
        ]
        total = sum((Decimal(qty) * price for _, qty, price in lines), Decimal(0))
        payload = order_payload(
            str(7_000_000_000 + n),
            f"#{100_000 + n}",
            start + timedelta(seconds=17 * n),
            "USD",
            total,
            lines,
            "US",
            f"{10_000 + n % 89_999:05d}",
            "Standard",
        )
        bodies.append(json.dumps(payload).encode())
    return bodies


def webhook_request(body: bytes) -> Callable[[httpx.Client], httpx.Response]:
    """One signed orders/create delivery with its own id."""
    signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Hmac-Sha256": signature.decode(),
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": str(uuid.uuid4()),
    }
    return lambda client: client.post("/webhooks/shopify", content=body, headers=headers)


def wait_for_spool(server: Server, timeout: float = 600.0) -> dict[str, Any]:
    """Poll the status endpoint until nothing waits in the spool; the last status."""
    headers = {"Authorization": f"Bearer {server.admin_token}"}
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=server.url, timeout=60) as client:
        while True:
            status: dict[str, Any] = client.get("/api/v1/webhooks/status", headers=headers).json()
            if status.get("waiting") == 0:
                return status
            if time.monotonic() > deadline:
                raise SystemExit(f"the spool did not drain: {status}")
            time.sleep(0.05)


def health_request(client: httpx.Client) -> httpx.Response:
    """The baseline request: the service's most trivial endpoint."""
    return client.get("/api/v1/health")


def measure_dashboard_overview(
    server: Server, path: str, *, requests: int, workers: int, token: str | None = None
) -> Timing:
    """Latency of a dashboard page under concurrent readers (the "overview p95" figure).

    Reads `path` `requests` times with `token` (default: the admin's). The page is only as
    heavy as the store behind it: measure it over a store holding the orders the figure is
    quoted for (`--dashboard-orders`).
    """
    headers = {"Authorization": f"Bearer {token or server.admin_token}"}

    def read(client: httpx.Client) -> httpx.Response:
        return client.get(path, headers=headers)

    return send_concurrently(server, [read] * requests, workers)


def count_landed(database_url: str) -> dict[str, int]:
    """Orders, order lines, webhook receipts and batches in the store (server stopped)."""
    import sqlalchemy as sa

    from tallyclerk.store import open_store
    from tallyclerk.store.schema import CANONICAL_TABLES, ingestion_batches, webhook_receipts

    tables = {
        "orders": CANONICAL_TABLES["orders"],
        "order_lines": CANONICAL_TABLES["order_lines"],
        "receipts": webhook_receipts,
        "batches": ingestion_batches,
    }
    store = open_store(url=database_url)
    try:
        with store.connect() as connection:
            return {
                name: int(
                    connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                )
                for name, table in tables.items()
            }
    finally:
        store.close()


def error_lines(log: Path) -> list[str]:
    """The distinct exception lines of the server's log, most frequent first."""
    found: dict[str, int] = {}
    for line in log.read_text(encoding="utf-8", errors="replace").splitlines():
        if line and not line.startswith(" ") and "Error" in line.split(":", 1)[0]:
            found[line[:200]] = found.get(line[:200], 0) + 1
    return sorted(found, key=lambda text: -found[text])


def _row(label: str, timing: Timing, baseline: Timing | None, expected: int) -> str:
    ratio = f"{timing.rate / baseline.rate:.2f}x" if baseline is not None else "1.00x"
    failed = timing.requests - timing.statuses.get(expected, 0)
    return (
        f"| {label} | {timing.requests:,} | {failed:,} | {timing.seconds:.2f} | "
        f"{timing.rate:,.0f} | {timing.percentile(0.50):.1f} | {timing.percentile(0.99):.1f} | "
        f"{ratio} |"
    )


def _report(
    args: argparse.Namespace,
    health: Timing,
    hooks: Timing,
    landed_seconds: float,
    counts: dict[str, int],
    dashboard: Timing | None,
    server_errors: list[str],
) -> str:
    lines = [
        "## Service: webhook ingestion",
        "",
        "Measured with `benchmarks/service.py`: the real service (`tallyclerk serve`, uvicorn,",
        "one process) on a loopback port over a new DuckDB store, sent signed Shopify",
        f"orders/create webhooks (each a distinct order of three lines) by {args.workers}",
        "concurrent clients. A webhook is verified, written to the spool and fsynced before",
        "its 202; a writer thread lands the spool in batches. The baseline is `GET",
        "/api/v1/health` on the same server with the same clients (it opens the embedded",
        "store for each request, as every API request does). Latencies are per request, as",
        "the client saw them. A 202 waits for two fsyncs (the delivery's file and the spool",
        "directory), which queue behind the store's own writes on the same disk: the rate",
        "depends on the disk more than on the CPU.",
        "",
        *stamp(),
        f"- Load average when the run started: {args.load:.1f} (the machine is shared)",
        f"- Software: {versions('duckdb', 'fastapi', 'uvicorn', 'httpx', 'tallyclerk')}",
        "",
        "| run | requests | not as expected | seconds | requests / s | p50 ms | p99 ms | "
        "rate vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
        _row("GET /api/v1/health (baseline, 200)", health, None, 200),
        _row("POST /webhooks/shopify (202)", hooks, health, 202),
    ]
    if dashboard is not None:
        lines.append(_row(f"GET {args.dashboard_path}", dashboard, health, 200))
    lines += [
        "",
        f"Landing: every delivery was in the store {landed_seconds:.2f} s after the first 202, "
        f"{max(0.0, landed_seconds - hooks.seconds):.2f} s after the last "
        f"({hooks.requests / landed_seconds:,.0f} deliveries / s end to end), in "
        f"{counts['batches']:,} batches.",
        f"Zero loss (asserted): {hooks.requests:,} accepted, {counts['orders']:,} orders, "
        f"{counts['order_lines']:,} order lines and {counts['receipts']:,} webhook receipts "
        "in the store.",
    ]
    failed = health.requests - health.statuses.get(200, 0)
    if failed:
        lines.append(
            f"{failed:,} baseline requests did not answer 200; the server said: "
            f"`{server_errors[0] if server_errors else 'nothing in its log'}`."
        )
    if dashboard is not None:
        lines.append(
            f"Dashboard page {args.dashboard_path}: p95 {dashboard.percentile(0.95):.1f} ms "
            f"over {dashboard.requests:,} requests."
        )
    return "\n".join(lines)


# --- the dashboard over a large store (--dashboard-orders) -----------------------------------

PROVIDER_USER = "bench-provider"
YEAR = [date(2026, month, 1) for month in range(1, 13)]  # simulate()'s twelve months
# The demo's clock: after the simulated year, so every order is settled.
DASHBOARD_AS_OF = datetime(2027, 1, 31, 23, 59, tzinfo=UTC)
STORE_TABLES = (
    "orders",
    "order_lines",
    "shipments",
    "tracking_events",
    "invoice_lines",
    "sla_results",
)


@dataclass(frozen=True)
class BuiltStore:
    """A store built for the dashboard figures and what building it took."""

    database_url: str
    path: Path
    provider_id: str
    build: dict[str, Any]
    reused: bool


def _simulated(work: Path, orders: int, seed: int) -> tuple[Path, float]:
    """The demo brand's canonical files for `orders` (simulated unless already there)."""
    data = work / f"data-{orders}-{seed}"
    done = data / "bench-simulated.json"  # written after simulate() returned
    if done.exists():
        return data, float(json.loads(done.read_text(encoding="utf-8"))["seconds"])
    from tallyclerk.simulate import simulate

    shutil.rmtree(data, ignore_errors=True)
    print(f"simulating {orders:,} orders into {data} ...", flush=True)
    started = time.perf_counter()
    simulate(data, orders, seed=seed)
    seconds = time.perf_counter() - started
    done.write_text(json.dumps({"seconds": seconds}), encoding="utf-8")
    print(f"  done in {seconds:.0f} s", flush=True)
    return data, seconds


def build_dashboard_store(work: Path, orders: int, seed: int = 7) -> BuiltStore:
    """A DuckDB store of the demo brand's year with its scorecards recorded, and two users.

    Simulates `orders` orders (canonical files), ingests them after the contracts, evaluates
    and records the twelve months, then adds an admin and a provider user. A store built
    before in `work` (its marker file written last) is reused as it is.
    """
    db = work / f"dashboard-{orders}-{seed}.duckdb"
    marker = work / f"dashboard-{orders}-{seed}.json"
    url = f"duckdb:///{db}"
    if marker.exists() and db.exists():
        build = json.loads(marker.read_text(encoding="utf-8"))
        print(f"reusing the store {db} (built {build['built']})", flush=True)
        return BuiltStore(url, db, build["provider_id"], build, reused=True)
    marker.unlink(missing_ok=True)
    data, simulate_seconds = _simulated(work, orders, seed)
    for leftover in (db, Path(f"{db}.wal")):
        leftover.unlink(missing_ok=True)
    print(f"ingesting {data} into {db} ...", flush=True)
    provider_id, figures = fill_store(url, data)
    build = {
        "built": f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "orders": orders,
        "seed": seed,
        "provider_id": provider_id,
        "simulate_seconds": simulate_seconds,
        **figures,
    }
    marker.write_text(json.dumps(build, indent=2), encoding="utf-8")
    return BuiltStore(url, db, provider_id, build, reused=False)


def fill_store(
    url: str, data: Path, months: Sequence[date] | None = None
) -> tuple[str, dict[str, Any]]:
    """Ingest simulated files into the store at `url` (contracts first), evaluate and record
    the twelve months (or `months`), add an admin and a provider user: the first provider and
    the figures (seconds of ingest and evaluate, records, quarantined, provider-months)."""
    import sqlalchemy as sa

    from tallyclerk.access import add_user
    from tallyclerk.contracts import load_contract
    from tallyclerk.contracts._repository import add_contract
    from tallyclerk.ingest import ingest_paths
    from tallyclerk.settings import Settings
    from tallyclerk.sla import evaluate_periods
    from tallyclerk.store import open_store
    from tallyclerk.store.schema import providers

    settings = Settings(database_url=url)
    started = time.perf_counter()
    store = open_store(settings)
    try:
        with store.begin() as connection:
            for path in sorted((data / "contracts").glob("*.yaml")):
                add_contract(connection, load_contract(path), path.read_text("utf-8"), path.name)
        run = ingest_paths(store, [data], settings=settings)
        ingest_seconds = time.perf_counter() - started
        failed = [f"{b.source}: {b.status} {b.message or ''}" for b in run.batches if not b.ok]
        if failed:
            raise SystemExit("ingesting the simulation failed: " + "; ".join(failed))
        print(f"  done in {ingest_seconds:.0f} s; evaluating the year ...", flush=True)
        started = time.perf_counter()
        reports = evaluate_periods(
            store, list(months or YEAR), as_of=DASHBOARD_AS_OF, settings=settings
        )
        evaluate_seconds = time.perf_counter() - started
        print(f"  done in {evaluate_seconds:.0f} s", flush=True)
        with store.begin() as connection:
            provider_id = (
                connection.execute(
                    sa.select(providers.c.provider_id).order_by(providers.c.provider_id)
                )
                .scalars()
                .first()
            )
            if provider_id is None:
                raise SystemExit("the simulation left no provider in the store")
            add_user(connection, ADMIN, "admin")
            add_user(connection, PROVIDER_USER, "provider", provider_id=provider_id)
    finally:
        store.close()
    return provider_id, {
        "ingest_seconds": ingest_seconds,
        "evaluate_seconds": evaluate_seconds,
        "records": sum(b.records for b in run.batches),
        "quarantined": sum(b.quarantined for b in run.batches),
        "evaluations": sum(len(r.providers) for r in reports),
    }


def store_contents(path: Path) -> tuple[dict[str, int], list[str]]:
    """Rows of the store's main tables and its providers (read while no server holds it)."""
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        rows = {
            table: int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # type: ignore[index]
            for table in STORE_TABLES
        }
        found = con.execute("SELECT provider_id FROM providers ORDER BY provider_id").fetchall()
        return rows, [str(provider_id) for (provider_id,) in found]
    finally:
        con.close()


def check_scope(server: Server, token: str, provider_id: str, others: list[str]) -> None:
    """The provider user's overview shows its provider and none of the others (asserted)."""
    page = httpx.get(
        f"{server.url}/", headers={"Authorization": f"Bearer {token}"}, timeout=120
    ).text
    shown = [other for other in others if other in page]
    if provider_id not in page or shown:
        raise SystemExit(
            f"the provider user's overview is not scoped to {provider_id}: it shows {shown}"
        )


@dataclass(frozen=True)
class Page:
    """One request of the dashboard run: what the report calls it, the path, the token."""

    label: str
    path: str
    token: str


def measure_dashboard(
    server: Server, pages: list[Page], *, requests: int, workers: int
) -> tuple[Timing, list[Timing], Timing]:
    """The health baseline, each page in turn, then the baseline again, after a warm-up."""
    for page in pages:  # the first answers load templates, code and the store's catalogue
        measure_dashboard_overview(
            server, page.path, requests=2 * workers, workers=workers, token=page.token
        )
    send_concurrently(server, [health_request] * 4 * workers, workers)
    before = send_concurrently(server, [health_request] * requests, workers)
    print(f"health    p95 {before.percentile(0.95):8.1f} ms  {before.statuses}", flush=True)
    timings = []
    for page in pages:
        timing = measure_dashboard_overview(
            server, page.path, requests=requests, workers=workers, token=page.token
        )
        print(
            f"{page.label:<40} p95 {timing.percentile(0.95):8.1f} ms  {timing.statuses}",
            flush=True,
        )
        timings.append(timing)
    after = send_concurrently(server, [health_request] * requests, workers)
    print(f"health    p95 {after.percentile(0.95):8.1f} ms  {after.statuses}", flush=True)
    return before, timings, after


def pooled(*timings: Timing) -> Timing:
    """Several runs of the same request as one: their requests, seconds and latencies."""
    statuses: dict[int, int] = {}
    for timing in timings:
        for status, count in timing.statuses.items():
            statuses[status] = statuses.get(status, 0) + count
    return Timing(
        sum(t.requests for t in timings),
        sum(t.seconds for t in timings),
        [latency for t in timings for latency in t.latencies],
        statuses,
    )


def _latency_row(label: str, timing: Timing, baseline: Timing | None) -> str:
    failed = timing.requests - timing.statuses.get(200, 0)
    cells = [
        label,
        f"{timing.requests:,}",
        f"{failed:,}",
        f"{timing.rate:,.1f}",
        *(f"{timing.percentile(share):,.1f}" for share in (0.50, 0.95, 0.99)),
    ]
    if baseline is None:
        cells += ["", ""]
    else:
        cells += [
            f"{timing.percentile(share) / baseline.percentile(share):,.1f}x"
            for share in (0.50, 0.95)
        ]
    return "| " + " | ".join(cells) + " |"


def _dashboard_report(
    args: argparse.Namespace,
    built: BuiltStore,
    rows: dict[str, int],
    pages: list[Page],
    measured: tuple[Timing, list[Timing], Timing],
    loads: tuple[float, float],
    server_errors: list[str],
) -> str:
    before, timings, after = measured
    baseline = pooled(before, after)
    build = built.build
    orders = int(build["orders"])
    build_total = sum(build[f"{step}_seconds"] for step in ("simulate", "ingest", "evaluate"))
    overview = timings[0]
    when = f"done on {build['built']}, reused by this run" if built.reused else "this run"
    lines = [
        f"## Service: dashboard with {orders:,} orders",
        "",
        f"Measured with `benchmarks/service.py --dashboard-orders {orders}`: the demo brand's year",
        f"({orders:,} simulated orders, canonical files, seed {build['seed']}) ingested into a "
        "DuckDB store after its",
        "contracts, the twelve months of 2026 evaluated and recorded (as of "
        f"{DASHBOARD_AS_OF:%Y-%m-%d %H:%M} UTC), an",
        "admin and a provider user added; then the real service (`tallyclerk serve`, uvicorn,",
        f"one process) over that store, read by {args.workers} concurrent clients (threads, one",
        "keep-alive httpx client each) with bearer tokens, each request "
        f"{args.requests:,} times after a",
        "warm-up. The baseline is `GET /api/v1/health` on the same server with the same clients,",
        "just before and just after the pages, pooled; the ratios are latency over the",
        "baseline's at the same percentile (the figure to compare across machines; the two",
        "health runs show how much the shared machine moved meanwhile). The pages read the",
        "recorded scorecards, not the orders: what the store's size costs them is opening",
        "the store (once per request on DuckDB) and the tables they read. The provider",
        "user's overview is checked to show its provider and no other.",
        "",
        *stamp(),
        f"- Load average when the run started and ended: {loads[0]:.1f} and {loads[1]:.1f} "
        "(2 cores, shared with other work)",
        f"- Software: {versions('duckdb', 'fastapi', 'uvicorn', 'httpx', 'tallyclerk')}",
        f"- Store: {built.path.stat().st_size / 1e6:,.0f} MB DuckDB file; "
        + ", ".join(f"{table} {count:,}" for table, count in rows.items())
        + " rows",
        f"- Build ({when}): simulate {build['simulate_seconds']:,.0f} s, ingest (contracts and "
        "every file, "
        f"{build['records']:,} records, {build['quarantined']:,} quarantined) "
        f"{build['ingest_seconds']:,.0f} s, evaluate and record 12 months "
        f"({build['evaluations']} provider-months) {build['evaluate_seconds']:,.0f} s; "
        f"{build_total / 60:,.1f} min in all",
        "",
        "| request | requests | not 200 | requests / s | p50 ms | p95 ms | p99 ms | "
        "p50 vs baseline | p95 vs baseline |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        _latency_row("GET /api/v1/health, before the pages", before, None),
        _latency_row("GET /api/v1/health, after the pages", after, None),
        _latency_row("GET /api/v1/health, both runs pooled (baseline)", baseline, None),
        *(
            _latency_row(page.label, timing, baseline)
            for page, timing in zip(pages, timings, strict=True)
        ),
        "",
        f"Overview p95 as the admin: {overview.percentile(0.95):,.1f} ms "
        f"({overview.percentile(0.95) / baseline.percentile(0.95):,.1f}x the baseline's p95), "
        f"with {orders:,} orders in the store.",
    ]
    failed = sum(t.requests - t.statuses.get(200, 0) for t in (before, *timings, after))
    if failed:
        lines.append(
            f"{failed:,} requests did not answer 200; the server said: "
            f"`{server_errors[0] if server_errors else 'nothing in its log'}`."
        )
    return "\n".join(lines)


def dashboard_benchmark(args: argparse.Namespace) -> str:
    """Build (or reuse) the large store, serve it and time the dashboard's pages; the report."""
    load_start = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="tallyclerk-dashboard-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        built = build_dashboard_store(work, args.dashboard_orders, args.seed)
        rows, provider_ids = store_contents(built.path)
        provider_token = user_token(built.database_url, PROVIDER_USER, "provider")
        with run_service(work, built.database_url) as server:
            print(f"server up at {server.url}", flush=True)
            others = [p for p in provider_ids if p != built.provider_id]
            check_scope(server, provider_token, built.provider_id, others)
            admin = server.admin_token
            pages = [
                Page("GET / (overview), admin", "/", admin),
                Page(
                    f"GET / (overview), provider user of {built.provider_id}", "/", provider_token
                ),
                Page("GET /api/v1/scorecards, admin", "/api/v1/scorecards", admin),
                Page(
                    f"GET /providers/{built.provider_id}, admin",
                    f"/providers/{built.provider_id}",
                    admin,
                ),
            ]
            measured = measure_dashboard(
                server, pages, requests=args.requests, workers=args.workers
            )
        server_errors = error_lines(work / "server.log")
    for page, timing in zip(pages, measured[1], strict=True):
        if not timing.statuses.get(200):
            raise SystemExit(
                f"{page.label} never answered 200 ({timing.statuses}): "
                + (server_errors[0] if server_errors else "nothing in the server's log")
            )
    loads = (load_start, os.getloadavg()[0])
    return _dashboard_report(args, built, rows, pages, measured, loads, server_errors)


def webhook_benchmark(args: argparse.Namespace) -> str:
    """The webhook burst over a new store (and `--dashboard-path` on it); the report."""
    bodies = order_bodies(args.webhooks)
    with tempfile.TemporaryDirectory(prefix="tallyclerk-service-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        with run_service(work) as server:
            print(f"server up at {server.url}", flush=True)
            send_concurrently(server, [health_request] * 100, args.workers)  # warm-up
            health = send_concurrently(server, [health_request] * args.health, args.workers)
            print(f"health    {health.rate:8,.0f} / s  {health.statuses}", flush=True)
            started = time.perf_counter()
            hooks = send_concurrently(server, [webhook_request(b) for b in bodies], args.workers)
            print(f"webhooks  {hooks.rate:8,.0f} / s  {hooks.statuses}", flush=True)
            wait_for_spool(server)
            landed_seconds = time.perf_counter() - started
            print(f"landed in {landed_seconds:.2f} s", flush=True)
            dashboard = None
            if args.dashboard_path:
                dashboard = measure_dashboard_overview(
                    server, args.dashboard_path, requests=args.health, workers=args.workers
                )
        counts = count_landed(server.database_url)
        server_errors = error_lines(work / "server.log")
    accepted = hooks.statuses.get(202, 0)
    if accepted != args.webhooks:
        raise SystemExit(f"webhooks not all accepted: {hooks.statuses}")
    if not (counts["orders"] == counts["receipts"] == accepted):
        raise SystemExit(f"deliveries lost or doubled: {accepted:,} accepted, store has {counts}")
    return _report(args, health, hooks, landed_seconds, counts, dashboard, server_errors)


def main() -> None:
    parser = command_line(__doc__)
    parser.add_argument("--webhooks", type=int, default=None, help="deliveries (default 5000)")
    parser.add_argument("--health", type=int, default=2_000, help="baseline requests")
    parser.add_argument(
        "--workers", type=int, default=None, help="concurrent clients (default 16; 4 with pages)"
    )
    parser.add_argument("--dashboard-path", default=None, help="also time this page (p95)")
    parser.add_argument(
        "--dashboard-orders",
        type=int,
        default=None,
        metavar="N",
        help="time the dashboard's pages over a store of N simulated orders instead",
    )
    parser.add_argument(
        "--requests", type=int, default=300, help="requests per page with --dashboard-orders"
    )
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--work", type=Path, default=None, help="keep the store and log here")
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    args = parser.parse_args()
    args.load = os.getloadavg()[0]

    if args.dashboard_orders is not None:
        if args.webhooks:
            parser.error("--dashboard-orders runs alone: leave out --webhooks or give 0")
        if args.dashboard_orders < 1 or args.requests < 1:
            parser.error("--dashboard-orders and --requests must be at least 1")
        args.workers = args.workers or 4
        section, body = "service-dashboard", dashboard_benchmark(args)
    else:
        args.webhooks = 5_000 if args.webhooks is None else args.webhooks
        args.workers = args.workers or 16
        section, body = "service", webhook_benchmark(args)
    publish(section, body, args.out, write=not args.no_write)


if __name__ == "__main__":
    main()
