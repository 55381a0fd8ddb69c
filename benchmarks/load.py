"""Load test of the service with locust: webhook bursts and dashboard readers, on loopback.

For each store (DuckDB file; PostgreSQL too when the server at `--postgres` answers) the
script builds a new store with the demo brand's year (`--orders` simulated orders ingested
after the contracts, the last `--months` months evaluated and recorded, the reconciliation's
findings kept, an admin and a provider user with passwords and API tokens), starts the real service
(`python -m tallyclerk serve`, uvicorn, one process) over it on a free loopback port with a
Shopify secret and a spool directory, and loads it with locust users (one gevent process,
`FastHttpUser`, no wait between requests), each phase in a fresh child process:

- baseline: `--health` requests of `GET /api/v1/health` by `--users` users, before the
  phases and again after them;
- webhooks: signed Shopify orders/create deliveries until exactly `--webhooks` were sent:
  each a distinct order of three lines, but for 2% replays of a delivery answered 202
  before (same id, same body: 200 with `duplicate: true` expected) and 1% with a bad
  signature (401 expected, and they must never land); then the time until the spool is
  empty (the status endpoint);
- dashboard: `--dashboard` requests in all, by readers logged in through `/login` (the
  form's token and cookie, as a browser does) and readers with API tokens, as the admin and
  as a provider user, each going round `GET /`, the provider's page, `GET
  /api/v1/scorecards` and `GET /api/v1/findings?limit=50`;
- mixed: half the users read the dashboard (`--dashboard` requests again) while the other
  half send webhooks, until the readers are done;
- after: the spool drained, the server stopped as Ctrl-C would, the store counted. Every
  delivery answered 202 must have landed exactly once (its order, three lines, one receipt),
  replays and refused deliveries must have added nothing, the spool must be empty: the
  script fails (exit 1, docs untouched) otherwise.

Results replace the `load` section of docs/reliability.md unless `--no-write` is given.

    uv run python benchmarks/load.py
    uv run python benchmarks/load.py --webhooks 2000 --dashboard 300 --orders 5000 --no-write
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from _report import ROOT, command_line, load_line, stamp, versions, write_section

if TYPE_CHECKING:
    from service import Server

REPORT = ROOT / "docs" / "reliability.md"
POSTGRES = "postgresql://postgres@127.0.0.1:5432/postgres"
ORDER_ID_BASE = 7_000_000_000  # order_bodies() numbers its orders from here
REPLAY_SLOTS = frozenset({37, 83})  # of every 100 deliveries sent: 2 replays ...
BAD_SLOT = 59  # ... and 1 with a bad signature

HEALTH = "GET /api/v1/health"
NEW = "POST /webhooks/shopify, new order"
REPLAY = "POST /webhooks/shopify, replay"
BAD = "POST /webhooks/shopify, bad signature"
LOGIN_FORM = "GET /login"
LOGIN = "POST /login"
ROLES = {"admin": "admin", "provider": "provider user"}
ENDPOINTS = (
    "GET / (overview)",
    "GET /providers/{id}",
    "GET /api/v1/scorecards",
    "GET /api/v1/findings?limit=50",
)
EXPECTED = {HEALTH: 200, NEW: 202, REPLAY: 200, BAD: 401, LOGIN_FORM: 200, LOGIN: 303}


def expected_status(label: str) -> int:
    """The answer a request of this label should get."""
    return EXPECTED.get(label, 200)


# --- the child: one phase under locust ------------------------------------------------------------


def _child(phase: str, config_path: Path, out_path: Path) -> None:
    """Run one phase with locust in this process (locust patches the standard library with
    gevent when it is imported, so it is imported here only) and write what every request got.
    """
    import base64
    import hashlib
    import hmac
    import random
    import resource
    from urllib.parse import urlencode

    import gevent
    from locust import FastHttpUser, User, constant, task
    from locust.env import Environment
    from locust.exception import StopUser
    from locust.runners import STATE_INIT, STATE_SPAWNING

    from service import SECRET, order_bodies

    config: dict[str, Any] = json.loads(config_path.read_text(encoding="utf-8"))
    users: int = config["users"]
    samples: dict[str, list[tuple[float, float, int]]] = {}
    errors: list[str] = []

    def record(
        name: str, response_time: float, response: Any = None, start_time: float = 0.0, **_: Any
    ) -> None:
        status = int(getattr(response, "status_code", 0) or 0)
        samples.setdefault(name, []).append((start_time, response_time, status))

    class Tickets:
        """A fixed number of requests shared by the users; gevent runs one user at a time."""

        def __init__(self, total: int) -> None:
            self.total = total
            self.issued = 0
            self.answered = 0

        def take(self) -> bool:
            if self.issued >= self.total:
                return False
            self.issued += 1
            return True

        @property
        def finished(self) -> bool:
            return self.answered >= self.total

    def signed(body: bytes, delivery_id: str, secret: str) -> dict[str, str]:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        return {
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": delivery_id,
        }

    class Deliveries:
        """The webhooks of the phase: new orders, replays of accepted ones, bad signatures."""

        def __init__(self, limit: int, first: int, bad_first: int) -> None:
            self.limit = limit
            self.first = first
            self.bad_first = bad_first
            self.bodies = order_bodies(limit, first)
            self.bad_bodies = order_bodies(limit // 100 + 1, bad_first)
            self.sent = 0
            self.new = 0
            self.bad = 0
            self.accepted: list[int] = []  # order numbers answered 202
            self.unanswered: list[int] = []  # new orders with no answer (connection lost)
            self.refused: list[int] = []  # new orders answered otherwise
            self.bad_sent: list[int] = []
            self.replayed: list[int] = []
            self.replay_not_duplicate = 0
            self.stop_when: Tickets | None = None  # mixed phase: stop with the readers
            self.rng = random.Random(20_260_302)

        def next(self) -> tuple[str, int, bytes, dict[str, str]] | None:
            if self.sent >= self.limit or (self.stop_when and self.stop_when.finished):
                return None
            slot = self.sent % 100
            self.sent += 1
            if slot in REPLAY_SLOTS and self.accepted:
                n = self.rng.choice(self.accepted)
                body = self.bodies[n - self.first]
                return REPLAY, n, body, signed(body, f"load-{n}", SECRET)
            if slot == BAD_SLOT:
                n = self.bad_first + self.bad
                self.bad += 1
                body = self.bad_bodies[n - self.bad_first]
                return BAD, n, body, signed(body, f"load-{n}", "not-the-app-secret")
            n = self.first + self.new
            self.new += 1
            body = self.bodies[n - self.first]
            return NEW, n, body, signed(body, f"load-{n}", SECRET)

    webhook_plan = config.get("webhooks")
    deliveries = (
        Deliveries(webhook_plan["limit"], webhook_plan["first"], webhook_plan["bad_first"])
        if webhook_plan
        else None
    )
    reads = Tickets(config.get("dashboard", 0))
    health = Tickets(config.get("health", 0))
    if deliveries is not None and phase == "mixed":
        deliveries.stop_when = reads
    provider_id: str = config["provider_id"]
    pages = [
        ("/", ENDPOINTS[0]),
        (f"/providers/{provider_id}", ENDPOINTS[1]),
        ("/api/v1/scorecards", ENDPOINTS[2]),
        ("/api/v1/findings?limit=50", ENDPOINTS[3]),
    ]

    class Health(FastHttpUser):
        wait_time = constant(0)

        @task
        def health(self) -> None:
            if not health.take():
                raise StopUser
            with self.client.get("/api/v1/health", name=HEALTH, catch_response=True) as answer:
                answer.success()

    class Sender(FastHttpUser):
        wait_time = constant(0)

        @task
        def send(self) -> None:
            assert deliveries is not None
            item = deliveries.next()
            if item is None:
                raise StopUser
            label, n, body, headers = item
            with self.client.post(
                "/webhooks/shopify",
                data=body,  # type: ignore[arg-type]  # bytes are sent as they are
                headers=headers,
                name=label,
                catch_response=True,
            ) as answer:
                status = answer.status_code
                if label == NEW:
                    if status == 202:
                        deliveries.accepted.append(n)
                    elif status == 0:
                        deliveries.unanswered.append(n)
                    else:
                        deliveries.refused.append(n)
                elif label == BAD:
                    deliveries.bad_sent.append(n)
                else:
                    deliveries.replayed.append(n)
                    if status != 200 or answer.json().get("duplicate") is not True:
                        deliveries.replay_not_duplicate += 1
                answer.success()

    class Reader(FastHttpUser):
        abstract = True
        wait_time = constant(0)
        role = "admin"
        by_session = False

        def on_start(self) -> None:
            who = config["logins"][self.role]
            self.headers: dict[str, str] = {}
            self.lost = False  # no session: the user leaves at its first task
            self.turn = random.randrange(len(pages))
            if not self.by_session:
                self.headers = {"Authorization": f"Bearer {who['token']}"}
                return
            form = self.client.get("/login", name=LOGIN_FORM)
            found = re.search(r'name="login_token" value="([^"]+)"', form.text or "")
            if found is None:
                errors.append(f"no login form for {self.role} ({form.status_code})")
                self.lost = True
                return
            fields = {
                "username": who["user"],
                "password": who["password"],
                "login_token": found.group(1),
                "next": "/",
            }
            with self.client.post(
                "/login",
                data=urlencode(fields),
                headers={"Content-Type": "application/x-www-form-urlencoded"},
                name=LOGIN,
                allow_redirects=False,
                catch_response=True,
            ) as answer:
                answer.success()
                if answer.status_code != 303:
                    errors.append(f"login of {self.role} answered {answer.status_code}")
                    self.lost = True

        @task
        def read(self) -> None:
            if self.lost or not reads.take():
                raise StopUser
            path, endpoint = pages[self.turn % len(pages)]
            self.turn += 1
            with self.client.get(
                path,
                headers=self.headers,
                name=f"{endpoint}, {ROLES[self.role]}",
                allow_redirects=False,  # a lost session shows as its 303 to /login
                catch_response=True,
            ) as answer:
                answer.success()
            reads.answered += 1

    class AdminSession(Reader):
        role, by_session = "admin", True

    class AdminToken(Reader):
        role, by_session = "admin", False

    class ProviderSession(Reader):
        role, by_session = "provider", True

    class ProviderToken(Reader):
        role, by_session = "provider", False

    readers: list[type[User]] = [AdminSession, AdminToken, ProviderSession, ProviderToken]
    if phase == "health":
        classes: list[type[User]] = [Health]
    elif phase == "webhooks":
        classes = [Sender]
    elif phase == "dashboard":
        classes = readers
    else:  # mixed: half the users send webhooks, the others read
        Sender.fixed_count = users // 2
        classes = [Sender, *readers]

    env = Environment(user_classes=classes, host=config["url"])

    def user_error(exception: BaseException, **_: Any) -> None:
        errors.append(f"{type(exception).__name__}: {exception}")

    env.events.request.add_listener(record)  # type: ignore[no-untyped-call]
    env.events.user_error.add_listener(user_error)  # type: ignore[no-untyped-call]
    runner = env.create_local_runner()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_before = usage.ru_utime + usage.ru_stime
    started = time.time()
    runner.start(users, spawn_rate=min(users, 100))
    deadline = time.monotonic() + config["timeout"]
    gevent.sleep(0.1)
    while runner.user_count or runner.state in (STATE_INIT, STATE_SPAWNING):
        if time.monotonic() > deadline:
            errors.append(f"the phase did not end within {config['timeout']} s")
            break
        gevent.sleep(0.05)
    runner.quit()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    result: dict[str, Any] = {
        "phase": phase,
        "started": started,
        "ended": time.time(),
        "cpu_seconds": usage.ru_utime + usage.ru_stime - cpu_before,
        "samples": samples,
        "errors": errors,
    }
    if deliveries is not None:
        result["deliveries"] = {
            "sent": deliveries.sent,
            "accepted": deliveries.accepted,
            "unanswered": deliveries.unanswered,
            "refused": deliveries.refused,
            "bad": deliveries.bad_sent,
            "replayed": deliveries.replayed,
            "replay_not_duplicate": deliveries.replay_not_duplicate,
        }
    out_path.write_text(json.dumps(result), encoding="utf-8")


# --- what the parent makes of a phase -----------------------------------------------------------


@dataclass
class Series:
    """Requests of one label: when each started (epoch s), its latency (ms) and its status."""

    label: str
    starts: list[float] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    wanted: list[int] = field(default_factory=list)  # the status each request should get

    @property
    def count(self) -> int:
        """Requests sent."""
        return len(self.latencies)

    @property
    def unexpected(self) -> Counter[int]:
        """Statuses other than the expected ones, with their counts (0: no answer)."""
        return Counter(
            got for got, want in zip(self.statuses, self.wanted, strict=True) if got != want
        )

    def percentile(self, share: float) -> float:
        """A latency percentile in milliseconds (nearest rank)."""
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, max(0, round(share * (len(ordered) - 1))))]

    def window(self) -> tuple[float, float]:
        """From the first request's start to the last answer (epoch seconds)."""
        ends = [s + ms / 1000 for s, ms in zip(self.starts, self.latencies, strict=True)]
        return min(self.starts), max(ends)


def pool(label: str, *parts: Series) -> Series:
    """Several series as one."""
    out = Series(label)
    for part in parts:
        out.starts += part.starts
        out.latencies += part.latencies
        out.statuses += part.statuses
        out.wanted += part.wanted
    return out


@dataclass
class Phase:
    """One phase's requests, by label, and what its child reported."""

    name: str
    series: dict[str, Series]
    started: float
    ended: float
    cpu_seconds: float
    server_cpu_seconds: float
    errors: list[str]
    deliveries: dict[str, Any] | None
    drain: dict[str, Any] | None = None

    @property
    def seconds(self) -> float:
        """From the first request to the last answer, logins left out."""
        windows = [s.window() for s in self.measured()]
        return max(end for _, end in windows) - min(start for start, _ in windows)

    def measured(self) -> list[Series]:
        """The series that count for rates (the logins are set-up)."""
        return [s for s in self.series.values() if s.label not in (LOGIN, LOGIN_FORM) and s.count]

    def rate(self, series: Series) -> float:
        """Requests of the series per second, from its first request to its last answer."""
        start, end = series.window()
        return series.count / (end - start) if end > start else float("nan")

    def overlap(self) -> float:
        """The share of the readers' time during which webhooks were sent too."""
        hooks, reads = self.webhooks().window(), self.dashboard().window()
        shared = min(hooks[1], reads[1]) - max(hooks[0], reads[0])
        return max(0.0, shared) / (reads[1] - reads[0])

    def webhooks(self) -> Series:
        """Every webhook request of the phase."""
        return pool("POST /webhooks/shopify, all", *self._get(NEW, REPLAY, BAD))

    def dashboard(self, endpoint: str | None = None) -> Series:
        """Every dashboard request of the phase (of one endpoint)."""
        parts = [
            s
            for s in self.series.values()
            if s.label.split(", ")[0] in ENDPOINTS
            and (endpoint is None or s.label.startswith(endpoint + ","))
        ]
        return pool(f"{endpoint}, both users" if endpoint else "dashboard, all", *parts)

    def _get(self, *labels: str) -> list[Series]:
        return [self.series[label] for label in labels if label in self.series]


def _read_phase(path: Path, server_cpu: float) -> Phase:
    raw = json.loads(path.read_text(encoding="utf-8"))
    series: dict[str, Series] = {}
    for label, rows in raw["samples"].items():
        series[label] = Series(
            label,
            [float(r[0]) for r in rows],
            [float(r[1]) for r in rows],
            [int(r[2]) for r in rows],
            [expected_status(label)] * len(rows),
        )
    return Phase(
        raw["phase"],
        series,
        float(raw["started"]),
        float(raw["ended"]),
        float(raw["cpu_seconds"]),
        server_cpu,
        list(raw["errors"]),
        raw.get("deliveries"),
    )


def _process_cpu(pid: int) -> float:
    """CPU seconds a process has used (user and system), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_phase(phase: str, work: Path, server: Server, config: dict[str, Any]) -> Phase:
    """One phase in a child process; what it measured."""
    config_path = work / f"phase-{phase}-{len(list(work.glob('phase-*.in.json')))}.in.json"
    out_path = config_path.with_suffix("").with_suffix(".out.json")
    config_path.write_text(json.dumps(config), encoding="utf-8")
    command = [sys.executable, __file__, "--child", phase, "--config", str(config_path)]
    command += ["--result", str(out_path)]
    cpu = _process_cpu(server.process.pid)
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    cpu = _process_cpu(server.process.pid) - cpu
    if done.returncode != 0 or not out_path.exists():
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise SystemExit(f"the {phase} phase failed (exit {done.returncode}):\n{tail}")
    return _read_phase(out_path, cpu)


# --- the store and the server -------------------------------------------------------------------


@dataclass
class Built:
    """A store built for the load test: its URL, provider, users and what building took."""

    kind: str
    url: str
    provider_id: str
    providers: list[str]
    logins: dict[str, dict[str, str]]
    figures: dict[str, Any]
    rows: dict[str, int]


def postgres_reachable(admin_url: str) -> str | None:
    """None when the PostgreSQL server answers, else why not (one line)."""
    import psycopg

    try:
        with psycopg.connect(admin_url, connect_timeout=5) as connection:
            connection.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return None


@contextmanager
def new_database(kind: str, work: Path, admin_url: str) -> Iterator[str]:
    """A store URL that does not exist yet: a DuckDB file in `work`, or a new PostgreSQL
    database `tallyclerk_load_<random>` dropped afterwards."""
    if kind == "duckdb":
        yield f"duckdb:///{work / 'store.duckdb'}"
        return
    import psycopg

    name = f"tallyclerk_load_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    base = admin_url.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def build_store(kind: str, url: str, data: Path, months: int) -> Built:
    """The demo year ingested, evaluated and reconciled; passwords and tokens for two users."""
    import sqlalchemy as sa

    from service import ADMIN, DASHBOARD_AS_OF, PROVIDER_USER, YEAR, fill_store, user_token
    from tallyclerk.access import set_password
    from tallyclerk.reconcile import run_findings
    from tallyclerk.settings import Settings
    from tallyclerk.store import open_store
    from tallyclerk.store.schema import CANONICAL_TABLES, findings, providers

    print(f"[{kind}] ingesting {data} ...", flush=True)
    provider_id, figures = fill_store(url, data, YEAR[-months:])
    settings = Settings(database_url=url)
    store = open_store(settings)
    try:
        started = time.perf_counter()
        run = run_findings(
            store, ("handoff", "inventory"), as_of=DASHBOARD_AS_OF, settings=settings
        )
        figures["findings_seconds"] = time.perf_counter() - started
        figures["findings"] = len(run.open_findings)
        print(f"  {len(run.open_findings)} findings kept", flush=True)
        logins = {
            "admin": {"user": ADMIN, "password": secrets.token_urlsafe(18)},
            "provider": {"user": PROVIDER_USER, "password": secrets.token_urlsafe(18)},
        }
        with store.begin() as connection:
            for who in logins.values():
                set_password(connection, who["user"], who["password"])
            rows = {
                table: int(
                    connection.execute(
                        sa.select(sa.func.count()).select_from(CANONICAL_TABLES[table])
                    ).scalar_one()
                )
                for table in ("orders", "order_lines", "shipments", "tracking_events")
            }
            rows["findings"] = int(
                connection.execute(sa.select(sa.func.count()).select_from(findings)).scalar_one()
            )
            found = connection.execute(sa.select(providers.c.provider_id)).scalars().all()
    finally:
        store.close()
    logins["admin"]["token"] = user_token(url, ADMIN, "admin")
    logins["provider"]["token"] = user_token(url, PROVIDER_USER, "provider")
    return Built(kind, url, provider_id, sorted(found), logins, figures, rows)


def store_counts(url: str) -> dict[str, Any]:
    """What the webhooks left in the store: their orders (by number), order lines, receipts,
    batches and quarantined records (read with the server stopped)."""
    import sqlalchemy as sa

    from tallyclerk.store import open_store
    from tallyclerk.store.schema import (
        CANONICAL_TABLES,
        ingestion_batches,
        quarantine,
        webhook_receipts,
    )

    orders = CANONICAL_TABLES["orders"]
    lines = CANONICAL_TABLES["order_lines"]
    store = open_store(url=url, create=False)
    try:
        with store.connect() as connection:
            ids = (
                connection.execute(
                    sa.select(orders.c.order_id).where(orders.c.order_id.not_like("ORD-%"))
                )
                .scalars()
                .all()
            )
            line_count = connection.execute(
                sa.select(sa.func.count())
                .select_from(lines)
                .where(lines.c.order_id.not_like("ORD-%"))
            ).scalar_one()
            receipts = (
                connection.execute(
                    sa.select(webhook_receipts.c.delivery_id).where(
                        webhook_receipts.c.source == "shopify"
                    )
                )
                .scalars()
                .all()
            )

            def count(table: sa.Table) -> int:
                return int(
                    connection.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
                )

            return {
                "orders": [int(i) - ORDER_ID_BASE for i in ids],
                "all_orders": count(orders),
                "order_lines": int(line_count),
                "receipts": list(receipts),
                "batches": count(ingestion_batches),
                "quarantined": count(quarantine),
            }
    finally:
        store.close()


def _status(server: Server) -> dict[str, Any]:
    import httpx

    headers = {"Authorization": f"Bearer {server.admin_token}"}
    answer = httpx.get(f"{server.url}/api/v1/webhooks/status", headers=headers, timeout=60)
    return dict(answer.json())


def drain(server: Server, phase: Phase) -> dict[str, Any]:
    """Wait until the spool is empty: seconds from the phase's first request and from its last
    answer, and the writer's status then."""
    from service import wait_for_spool

    waiting = _status(server)["waiting"]
    status = wait_for_spool(server)
    now = time.time()
    first = min(s.window()[0] for s in phase.measured())
    last = max(s.window()[1] for s in phase.measured())
    return {
        "waiting_at_end": waiting,
        "from_first": now - first,
        "after_last": now - last,
        "status": status,
    }


def warm_up(server: Server, built: Built, pages: list[str]) -> None:
    """Each page once per user: the first answers load templates, code and the catalogue."""
    import httpx

    for who in built.logins.values():
        headers = {"Authorization": f"Bearer {who['token']}"}
        for path in pages:
            httpx.get(f"{server.url}{path}", headers=headers, timeout=120)


# --- one store ------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """Everything measured and checked on one store."""

    built: Built
    phases: dict[str, Phase]
    counts: dict[str, Any]
    checks: list[str]
    problems: list[str]
    stop_seconds: float
    server_errors: list[str]
    build_seconds: float


def run_store(args: Any, kind: str, work: Path, data: Path) -> Outcome:
    """Build the store, serve it, run the phases, stop it, count and check what landed."""
    from service import check_scope, error_lines, run_service, stop_service

    work.mkdir(parents=True, exist_ok=True)
    with new_database(kind, work, args.postgres) as url:
        started = time.perf_counter()
        built = build_store(kind, url, data, args.months)
        build_seconds = time.perf_counter() - started
        before = store_counts(url)
        if before["orders"] or before["receipts"]:
            raise SystemExit(f"[{kind}] the new store already holds webhook orders or receipts")
        phases: dict[str, Phase] = {}
        with run_service(work, url) as server:
            print(f"[{kind}] server up at {server.url}", flush=True)
            others = [p for p in built.providers if p != built.provider_id]
            check_scope(server, built.logins["provider"]["token"], built.provider_id, others)
            pages = ["/", f"/providers/{built.provider_id}", "/api/v1/scorecards"]
            warm_up(server, built, [*pages, "/api/v1/findings?limit=50", "/api/v1/health"])
            base = {
                "url": server.url,
                "users": args.users,
                "provider_id": built.provider_id,
                "logins": built.logins,
                "timeout": args.timeout,
            }
            n = args.webhooks
            plan = [
                ("health", "before", {"health": args.health}),
                ("webhooks", "webhooks", {"webhooks": _batch(n, 0)}),
                ("dashboard", "dashboard", {"dashboard": args.dashboard}),
            ]
            if not args.no_mixed:
                mixed = {"dashboard": args.dashboard, "webhooks": _batch(n, 2 * n + 2)}
                plan.append(("mixed", "mixed", mixed))
            plan.append(("health", "after", {"health": args.health}))
            for child, name, extra in plan:
                phase = run_phase(child, work, server, {**base, **extra})
                phase.name = name
                if phase.deliveries is not None:
                    phase.drain = drain(server, phase)
                phases[name] = phase
                print(f"[{kind}] {_progress(phase)}", flush=True)
            final_status = _status(server)
            stop_seconds = stop_service(server)
        counts = store_counts(url)
    server_errors = error_lines(work / "server.log")
    spool_left = sorted(p.name for p in (work / "spool").glob("*") if p.is_file())
    checks, problems = verify(phases, counts, before, spool_left, final_status)
    for phase in phases.values():
        problems += [f"{phase.name}: {error}" for error in phase.errors]
    problems = [f"[{kind}] {problem}" for problem in problems]
    return Outcome(
        built, phases, counts, checks, problems, stop_seconds, server_errors, build_seconds
    )


def _batch(limit: int, first: int) -> dict[str, int]:
    """A phase's webhook numbering: new orders from `first`, refused ones after them."""
    return {"limit": limit, "first": first, "bad_first": first + limit + 1}


def _progress(phase: Phase) -> str:
    parts = [f"{phase.name:<9} {phase.seconds:6.1f} s"]
    if phase.deliveries is not None:
        hooks = phase.webhooks()
        parts.append(
            f"webhooks {phase.rate(hooks):7.1f}/s p95 {hooks.percentile(0.95):7.1f} ms "
            f"{dict(Counter(hooks.statuses))}"
        )
    reads = phase.dashboard()
    if reads.count:
        parts.append(
            f"dashboard {phase.rate(reads):6.1f}/s p95 {reads.percentile(0.95):7.1f} ms "
            f"{dict(Counter(reads.statuses))}"
        )
    if HEALTH in phase.series:
        health = phase.series[HEALTH]
        parts.append(f"health {phase.rate(health):7.1f}/s p95 {health.percentile(0.95):6.1f} ms")
    if phase.drain is not None:
        parts.append(f"spool empty {phase.drain['after_last']:.1f} s after the last answer")
    return "; ".join(parts)


def verify(
    phases: dict[str, Phase],
    counts: dict[str, Any],
    before: dict[str, Any],
    spool_left: list[str],
    final_status: dict[str, Any],
) -> tuple[list[str], list[str]]:
    """The counts after the run against the answers: lines for the report, and problems."""
    accepted: set[int] = set()
    unanswered: set[int] = set()
    refused: set[int] = set()
    bad: set[int] = set()
    replays = replay_wrong = sent = 0
    for phase in phases.values():
        d = phase.deliveries
        if d is None:
            continue
        accepted |= set(d["accepted"])
        unanswered |= set(d["unanswered"])
        refused |= set(d["refused"])
        bad |= set(d["bad"])
        replays += len(d["replayed"])
        replay_wrong += int(d["replay_not_duplicate"])
        sent += int(d["sent"])
    landed = set(counts["orders"])
    receipts = set(counts["receipts"])
    lost = accepted - landed
    extra = landed - accepted - unanswered
    bad_landed = landed & bad
    expected_receipts = {f"load-{n}" for n in landed}
    problems = []
    if lost:
        problems.append(f"{len(lost):,} deliveries answered 202 did not land (lost)")
    if extra - bad:
        problems.append(f"{len(extra - bad):,} orders landed that were never answered 202")
    if bad_landed:
        problems.append(f"{len(bad_landed):,} deliveries with a bad signature landed")
    if len(counts["orders"]) != len(landed):
        problems.append("an order landed twice")
    if counts["order_lines"] != 3 * len(landed):
        problems.append(
            f"{counts['order_lines']:,} order lines for {len(landed):,} orders (3 each expected)"
        )
    if receipts != expected_receipts or len(counts["receipts"]) != len(landed):
        problems.append(
            f"{len(counts['receipts']):,} webhook receipts for {len(landed):,} landed orders"
        )
    if counts["all_orders"] - before["all_orders"] != len(landed):
        problems.append("the store's order count grew by more than the landed deliveries")
    if replay_wrong:
        problems.append(f"{replay_wrong:,} replays were not answered 200 with duplicate: true")
    if refused:
        problems.append(f"{len(refused):,} new deliveries were refused")
    quarantined = counts["quarantined"] - before["quarantined"]
    if quarantined:
        problems.append(f"{quarantined:,} records of the deliveries were quarantined")
    if spool_left:
        problems.append(f"{len(spool_left)} files left in the spool: {spool_left[:3]}")
    if final_status.get("last_error"):
        problems.append(f"the writer's last error: {final_status['last_error']}")
    checks = [
        f"{sent:,} webhooks sent: {len(accepted):,} distinct new orders answered 202, "
        f"{replays:,} replays answered 200 (duplicate), {len(bad):,} with a bad signature "
        f"answered 401, {len(unanswered):,} without an answer.",
        f"In the store after the stop: {len(landed):,} of those orders "
        f"({len(lost):,} lost, {len(bad_landed):,} refused ones), "
        f"{counts['order_lines']:,} order lines, {len(counts['receipts']):,} webhook receipts, "
        f"{counts['batches'] - before['batches']:,} webhook batches, {quarantined:,} records "
        f"quarantined; {len(spool_left)} files left in the spool.",
    ]
    return checks, problems


# --- the report -----------------------------------------------------------------------------------

_HEADER = (
    "| phase | request | requests | not as expected | requests / s | p50 ms | p95 ms | p99 ms "
    "| max ms | p50 vs baseline |\n"
    "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"
)


def _unexpected(series: Series) -> str:
    wrong = series.unexpected
    if not wrong:
        return "0"
    shown = ", ".join(
        f"{n:,} × {'no answer' if status == 0 else status}"
        for status, n in sorted(wrong.items(), key=lambda item: -item[1])
    )
    return f"{sum(wrong.values()):,} ({shown})"


def _row(phase: str, label: str, series: Series, rate: float, baseline: Series | None) -> str:
    ratio = ""
    if baseline is not None and baseline.percentile(0.5) > 0:
        ratio = f"{series.percentile(0.5) / baseline.percentile(0.5):,.1f}x"
    cells = [
        phase,
        label,
        f"{series.count:,}",
        _unexpected(series),
        f"{rate:,.1f}",
        *(f"{series.percentile(share):,.1f}" for share in (0.50, 0.95, 0.99)),
        f"{max(series.latencies):,.1f}",
        ratio,
    ]
    return "| " + " | ".join(cells) + " |"


def _cpu_note(phase: Phase) -> str:
    seconds = phase.ended - phase.started
    return (
        f"{phase.name}: client {phase.cpu_seconds / seconds:.0%}, "
        f"server {phase.server_cpu_seconds / seconds:.0%}"
    )


def store_section(args: Any, outcome: Outcome) -> list[str]:
    """The part of the report about one store."""
    built, phases = outcome.built, outcome.phases
    title = "DuckDB (one file)" if built.kind == "duckdb" else "PostgreSQL (same machine)"
    f = built.figures
    baseline = pool("baseline", phases["before"].series[HEALTH], phases["after"].series[HEALTH])
    lines = [
        f"### {title}",
        "",
        f"- Store: {', '.join(f'{t} {n:,}' for t, n in built.rows.items())} rows; built in "
        f"{outcome.build_seconds:,.0f} s (ingest {f['ingest_seconds']:,.0f} s, evaluate "
        f"{f['evaluations']} provider-months {f['evaluate_seconds']:,.0f} s, reconcile "
        f"{f['findings_seconds']:,.0f} s)",
    ]
    logins = [s for p in phases.values() for s in p.series.values() if s.label == LOGIN]
    if logins:
        login = pool(LOGIN, *logins)
        lines.append(
            f"- Logins through `/login` (form token and cookie, then the password): "
            f"{login.count} answered {dict(Counter(login.statuses))}, p50 "
            f"{login.percentile(0.5):,.0f} ms, max {max(login.latencies):,.0f} ms"
        )
    lines.append(
        "- CPU used, in share of one core over each phase (the locust process; the server): "
        + "; ".join(_cpu_note(p) for p in phases.values())
    )
    lines += ["", _HEADER]
    for name in ("before", "after"):
        phase = phases[name]
        health = phase.series[HEALTH]
        lines.append(_row(f"baseline, {name}", HEALTH, health, phase.rate(health), None))
    rate = sum(phases[n].rate(phases[n].series[HEALTH]) for n in ("before", "after")) / 2
    lines.append(_row("baseline", f"{HEALTH}, pooled", baseline, rate, None))
    hooks = phases["webhooks"]
    lines.append(
        _row(
            "A webhooks",
            "POST /webhooks/shopify, all",
            hooks.webhooks(),
            hooks.rate(hooks.webhooks()),
            baseline,
        )
    )
    for label in (NEW, REPLAY, BAD):
        if label in hooks.series:
            series = hooks.series[label]
            lines.append(_row("A webhooks", label, series, hooks.rate(series), baseline))
    reads = phases["dashboard"]
    lines.append(
        _row(
            "B dashboard",
            "dashboard, all",
            reads.dashboard(),
            reads.rate(reads.dashboard()),
            baseline,
        )
    )
    for label in sorted(reads.series, key=_dashboard_order):
        series = reads.series[label]
        if label.split(", ")[0] in ENDPOINTS:
            lines.append(_row("B dashboard", label, series, reads.rate(series), baseline))
    mixed = phases.get("mixed")
    if mixed is not None:
        for series in (mixed.webhooks(), mixed.dashboard()):
            lines.append(_row("C mixed", series.label, series, mixed.rate(series), baseline))
        for endpoint in ENDPOINTS:
            series = mixed.dashboard(endpoint)
            lines.append(_row("C mixed", series.label, series, mixed.rate(series), baseline))
    lines.append("")
    for sent in (hooks, mixed):
        if sent is None or sent.drain is None:
            continue
        d = sent.drain
        lines.append(
            f"Spool after {sent.name}: {d['waiting_at_end']:,} deliveries waited when the last "
            f"answer came; empty {d['after_last']:.1f} s later "
            f"({sent.webhooks().count:,} sent in {sent.seconds:.1f} s, all landed "
            f"{d['from_first']:.1f} s after the first)."
        )
    if mixed is not None:
        lines.append(
            f"In C, webhooks were sent during {mixed.overlap():.0%} of the readers' time "
            f"({mixed.webhooks().count:,} of at most {args.webhooks:,})."
        )
    lines += outcome.checks
    lines.append(
        f"Graceful stop (SIGINT) took {outcome.stop_seconds:.1f} s. "
        + ("**Zero lost webhooks** (asserted)." if not outcome.problems else "")
    )
    if outcome.server_errors:
        lines.append(
            f"The server's log holds {len(outcome.server_errors)} distinct error lines; the "
            f"most frequent: `{outcome.server_errors[0]}`."
        )
    return lines


def _dashboard_order(label: str) -> tuple[int, str]:
    endpoint = label.split(", ")[0]
    return (ENDPOINTS.index(endpoint) if endpoint in ENDPOINTS else 99, label)


def report(args: Any, outcomes: list[Outcome], loads: tuple[float, float], note: str) -> str:
    """The `load` section."""
    names = " and ".join("DuckDB" if o.built.kind == "duckdb" else "PostgreSQL" for o in outcomes)
    lines = [
        "## Load: webhooks and dashboard readers under locust",
        "",
        f"Measured with `benchmarks/load.py` on {names}: for each, a new store holding the",
        f"demo brand's year ({args.orders:,} simulated orders, seed {args.seed}; "
        + ("December" if args.months == 1 else f"the last {args.months} months")
        + " evaluated and recorded,",
        "the reconciliation's findings kept), served by the real service (`tallyclerk serve`,",
        "uvicorn, one process) on a loopback port, loaded by locust (`FastHttpUser`, one gevent",
        f"process, no wait between requests) with {args.users} concurrent users, each phase a "
        "fixed number of requests:",
        "",
        f"- **A webhooks**: {args.webhooks:,} signed Shopify orders/create deliveries, each a "
        "distinct order of three lines",
        "  (202), but 2% replays of a delivery answered before (200, `duplicate: true`) and 1% "
        "with a bad",
        "  signature (401); then the wait until the spool is empty;",
        f"- **B dashboard**: {args.dashboard:,} requests by the admin and a provider user, half "
        "of the users logged in",
        "  through `/login` (form token, cookie) and half with API tokens, each user going "
        "round the overview,",
        "  the provider's page, `/api/v1/scorecards` and `/api/v1/findings?limit=50`;",
    ]
    if not args.no_mixed:
        lines += [
            f"- **C mixed**: {args.users - args.users // 2} users read the dashboard "
            f"({args.dashboard:,} requests) while {args.users // 2} send webhooks",
            "  (as in A) until the readers are done: the realistic case;",
        ]
    lines += [
        f"- **baseline**: {args.health:,} requests of `GET /api/v1/health` (it opens the store, "
        "as every API request",
        "  does) before the phases and as many after; latencies are compared with their "
        "pooled p50.",
        "",
        "Latencies are per request as the client saw them; rates are requests over the phase's",
        "time from the first request to the last answer. Then the server is stopped as Ctrl-C "
        "would",
        "and the store counted: every delivery answered 202 must have landed once (its order,",
        "three lines, one receipt), replays and refused deliveries nothing, and the spool must be",
        "empty; the script fails otherwise. The client and the server share the machine's cores",
        "(the CPU line says how busy each was): on a small machine the figures are a lower",
        "bound, compare them with the baseline.",
        "",
        *stamp(),
        f"- {load_line(loads)}",
        "- Software: "
        + versions("locust", "duckdb", "psycopg", "fastapi", "uvicorn", "tallyclerk"),
        f"- Settings: `--webhooks {args.webhooks} --dashboard {args.dashboard} --users "
        f"{args.users} --orders {args.orders} --months {args.months} --health {args.health}`"
        + (" `--no-mixed`" if args.no_mixed else ""),
    ]
    if note:
        lines.append(f"- {note}")
    for outcome in outcomes:
        lines += ["", *store_section(args, outcome)]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------


def main() -> None:
    parser = command_line(__doc__)
    parser.add_argument("--webhooks", type=int, default=20_000, help="deliveries in phase A")
    parser.add_argument("--dashboard", type=int, default=3_000, help="requests in phase B")
    parser.add_argument("--users", type=int, default=32, help="concurrent locust users")
    parser.add_argument("--orders", type=int, default=20_000, help="simulated orders in store")
    parser.add_argument("--health", type=int, default=1_000, help="baseline requests, twice")
    parser.add_argument(
        "--months",
        type=int,
        default=3,
        choices=range(1, 13),
        metavar="1-12",
        help="months of 2026 evaluated, the last ones (default 3)",
    )
    parser.add_argument(
        "--database",
        choices=("duckdb", "postgres", "both"),
        default=None,
        help="the store(s) to load (default: both when PostgreSQL answers, else DuckDB)",
    )
    parser.add_argument("--postgres", default=POSTGRES, help="PostgreSQL admin URL")
    parser.add_argument("--no-mixed", action="store_true", help="leave out phase C")
    parser.add_argument("--seed", type=int, default=7, help="simulation seed")
    parser.add_argument("--timeout", type=float, default=1_800, help="seconds per phase, at most")
    parser.add_argument("--work", type=Path, default=None, help="keep stores and logs here")
    parser.add_argument("--out", type=Path, default=REPORT)
    parser.add_argument("--no-write", action="store_true", help="print, do not touch the docs")
    parser.add_argument("--child", default=None, help=argparse_hidden())
    parser.add_argument("--config", type=Path, default=None, help=argparse_hidden())
    parser.add_argument("--result", type=Path, default=None, help=argparse_hidden())
    args = parser.parse_args()
    if args.child:
        _child(args.child, args.config, args.result)
        return
    if min(args.webhooks, args.dashboard, args.users, args.orders, args.health) < 1:
        parser.error("--webhooks, --dashboard, --users, --orders and --health must be positive")
    if args.users < 2 and not args.no_mixed:
        parser.error("phase C needs at least 2 users (or give --no-mixed)")

    # A stop (timeout, kill) still drops the PostgreSQL database and stops the server.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    note = ""
    if args.database in (None, "both", "postgres"):
        why = postgres_reachable(args.postgres)
        if why is not None and args.database in ("both", "postgres"):
            raise SystemExit(f"PostgreSQL at {args.postgres} is unreachable: {why}")
        if why is not None:
            note = f"PostgreSQL left out: the server did not answer ({why})."
            print(note, flush=True)
        kinds = ["duckdb", "postgres"] if why is None else ["duckdb"]
        kinds = ["postgres"] if args.database == "postgres" else kinds
    else:
        kinds = ["duckdb"]

    from service import _simulated

    load_start = os.getloadavg()[0]
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="tallyclerk-load-") as scratch:
        work = args.work or Path(scratch)
        work.mkdir(parents=True, exist_ok=True)
        data, _seconds = _simulated(work, args.orders, args.seed)
        for kind in kinds:
            outcomes.append(run_store(args, kind, work / f"{kind}-{uuid.uuid4().hex[:6]}", data))
    body = report(args, outcomes, (load_start, os.getloadavg()[0]), note)
    problems = [problem for outcome in outcomes for problem in outcome.problems]
    print(body)
    if problems:
        print("\nFAILED:\n" + "\n".join(problems), file=sys.stderr)
        raise SystemExit(1)
    if args.no_write:
        print(f"\n(--no-write: {args.out} left as it is)")
    else:
        write_section("load", body, path=args.out)
        print(f"\nwritten to the section `load` of {args.out}")


def argparse_hidden() -> str:
    """Help text of the options only the script itself gives its children."""
    import argparse

    return argparse.SUPPRESS


if __name__ == "__main__":
    main()
