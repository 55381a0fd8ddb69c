"""Processes for the fault tests: the real service and commands, killed and started again.

Every wait here is bounded: a hang fails the test with a message instead of blocking CI.

    server = start_server(launcher, work, url, token=token)  # tallyclerk serve, health checked
    answer = post_delivery(client, delivery)                 # a signed orders/create webhook
    server.process.kill()                                    # SIGKILL, as a crash would
    stop_server(server)                                      # SIGINT: lands what waits, exits

Commands run as `python -m tallyclerk ...` in a process of their own. Starting Python and
importing the libraries tallyclerk uses (pyarrow, ibis, DuckDB, FastAPI, pandas) takes
seconds on a small machine, and these tests start about twenty such processes; so they are
forked from a `Launcher`, a process that imported those libraries once (and nothing of
tallyclerk). Each child then runs the `tallyclerk` module as `python -m` does, with its own
environment, arguments and output file: tallyclerk itself, its settings and its store are
all new in every child. The launcher reaps its children and writes each exit status to a
file beside the output, so the tests can wait for them and read their return codes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, NoReturn

# Imported by the launcher before it forks: libraries only, never tallyclerk itself.
PRELOAD = (
    "pyarrow",
    "pyarrow.compute",
    "pyarrow.csv",
    "pyarrow.json",
    "pyarrow.parquet",
    "duckdb",
    "duckdb_engine",
    "sqlalchemy",
    "sqlalchemy.dialects.postgresql",
    "psycopg",
    "alembic",
    "ibis",
    "ibis.backends.duckdb",
    "ibis.backends.postgres",
    "numpy",
    "pandas",
    "holidays",
    "yaml",
    "jinja2",
    "pydantic",
    "pydantic_settings",
    "typer",
    "rich",
    "httpx",
    "fastapi",
    "starlette",
    "uvicorn",
)


# -- the launcher (runs as its own process: `python _procs.py --launcher`) --------------------


def _die_with_parent() -> None:
    """Ask Linux to SIGKILL this process when its parent (the launcher) dies."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def _child(request: dict[str, Any]) -> None:
    """In the forked child: become `python -m tallyclerk ARGS` (never returns)."""
    code = 1
    try:
        _die_with_parent()
        os.setpgrp()  # a signal for the tests' process group does not reach it
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        null = os.open(os.devnull, os.O_RDONLY)
        out = os.open(request["out"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        os.dup2(null, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        os.close(null)
        os.close(out)
        sys.stdin = open(0, encoding="utf-8", closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", encoding="utf-8", buffering=1, closefd=False)  # noqa: SIM115
        os.environ.clear()
        os.environ.update(request["env"])
        os.chdir(request["cwd"])
        sys.path.insert(0, request["cwd"])  # as `python -m` puts the working directory first
        import runpy

        if request.get("prelude"):
            exec(compile(request["prelude"], "<prelude>", "exec"), {"__name__": "__prelude__"})
        sys.argv = ["tallyclerk", *request["argv"]]
        runpy.run_module("tallyclerk", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        code = 1
    finally:
        for stream in (sys.stdout, sys.stderr):
            with suppress(Exception):
                stream.flush()
        os._exit(code)


def _write_status(path: str, returncode: int) -> None:
    temporary = f"{path}.tmp"
    with open(temporary, "w", encoding="utf-8") as handle:
        handle.write(str(returncode))
    os.replace(temporary, path)


def _launcher_main() -> None:
    """Import the libraries, then fork a child per request read from stdin (a JSON line)."""
    import importlib

    here = str(Path(__file__).resolve().parent)
    sys.path[:] = [p for p in sys.path if p and str(Path(p).resolve()) != here]
    for name in PRELOAD:
        importlib.import_module(name)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the tests stop it by closing its stdin
    children: dict[int, str] = {}
    pending = b""
    os.write(1, b"ready\n")
    while True:
        readable, _, _ = select.select([0], [], [], 0.02)
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            path = children.pop(pid, None)
            if path is not None:
                _write_status(path, os.waitstatus_to_exitcode(status))
        if not readable:
            continue
        data = os.read(0, 65536)
        if not data:  # the tests are done: nothing of theirs may outlive them
            for pid in children:
                with suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            return
        pending += data
        while b"\n" in pending:
            line, pending = pending.split(b"\n", 1)
            request = json.loads(line)
            pid = os.fork()
            if pid == 0:
                _child(request)
            children[pid] = request["out"] + ".status"
            os.write(1, f"{pid}\n".encode())


if __name__ == "__main__" and sys.argv[1:] == ["--launcher"]:
    _launcher_main()
    sys.exit(0)

import httpx  # noqa: E402
import pytest  # noqa: E402
import sqlalchemy as sa  # noqa: E402

SECRET = "reliability-app-secret"
ADMIN = "reliability-admin"
# How long a server may take to answer its first health check (imports, migrations).
START_SECONDS = 60.0


class Launched:
    """A process forked by the launcher: signal it, poll it, wait for it, read its output."""

    def __init__(self, pid: int, out: Path) -> None:
        self.pid = pid
        self.out = out
        self._status = Path(f"{out}.status")
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The return code once it has exited (-N: killed by signal N), else None."""
        if self.returncode is None and self._status.exists():
            self.returncode = int(self._status.read_text(encoding="utf-8"))
        return self.returncode

    def wait(self, timeout: float) -> int:
        """Wait for it to exit; fail the test after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while self.poll() is None:
            if time.monotonic() > deadline:
                raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout)
            time.sleep(0.01)
        assert self.returncode is not None
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Send a signal, unless it has exited already."""
        if self.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(self.pid, sig)

    def kill(self, timeout: float = 30.0) -> int:
        """SIGKILL it (a crash: nothing of it runs after) and wait until it is gone."""
        self.send_signal(signal.SIGKILL)
        return self.wait(timeout)

    def output(self) -> str:
        """What it wrote to stdout and stderr so far."""
        if not self.out.exists():
            return ""
        return self.out.read_text(encoding="utf-8", errors="replace")

    def follow(self, timeout: float) -> Iterator[str]:
        """Its output, line by line as written, until it exits; fail after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        with self.out.open("r", encoding="utf-8", errors="replace") as handle:
            partial = ""
            while True:
                chunk = handle.readline()
                if chunk:
                    partial += chunk
                    if partial.endswith("\n"):
                        yield partial
                        partial = ""
                    continue
                if self.poll() is not None:
                    rest = handle.read()
                    if partial or rest:
                        yield partial + rest
                    return
                if time.monotonic() > deadline:
                    pytest.fail(f"pid {self.pid} ran for more than {timeout:g} s")
                time.sleep(0.005)


class Launcher:
    """The process that forks `python -m tallyclerk` children (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--launcher"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=folder,
        )
        self._count = 0
        ready = self._line(timeout=180)
        if ready != "ready":
            self.close()
            pytest.fail(f"the launcher did not start: {ready!r}")

    def _line(self, timeout: float) -> str:
        assert self._process.stdout is not None
        readable, _, _ = select.select([self._process.stdout], [], [], timeout)
        if not readable:
            return "(no answer)"
        return self._process.stdout.readline().decode().strip()

    def run(
        self,
        args: Sequence[str],
        env: Mapping[str, str],
        *,
        out: Path | None = None,
        prelude: str | None = None,
        cwd: Path | None = None,
    ) -> Launched:
        """Start `python -m tallyclerk ARGS` with `env` (the whole environment)."""
        self._count += 1
        out = out or self.folder / f"process-{self._count}.out"
        out.touch()
        request = {
            "argv": list(args),
            "env": dict(env),
            "out": str(out),
            "prelude": prelude,
            "cwd": str(cwd or self.folder),
        }
        assert self._process.stdin is not None
        self._process.stdin.write(json.dumps(request).encode() + b"\n")
        self._process.stdin.flush()
        answer = self._line(timeout=30)
        if not answer.isdigit():
            pytest.fail(f"the launcher did not start the process: {answer!r}")
        return Launched(int(answer), out)

    def run_to_end(
        self, args: Sequence[str], env: Mapping[str, str], timeout: float = 180.0
    ) -> tuple[int, str]:
        """Run a command to its end; its return code and output."""
        process = self.run(args, env)
        try:
            code = process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail(f"tallyclerk {' '.join(args)} ran for more than {timeout:g} s")
        return code, process.output()

    def close(self) -> None:
        """Stop the launcher; it kills any child still running."""
        if self._process.stdin is not None:
            self._process.stdin.close()
        try:
            self._process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._process.stdout is not None:
            self._process.stdout.close()


def free_port() -> int:
    """A TCP port free on the loopback interface."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def tallyclerk_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a tallyclerk process on `database_url` (no other TALLYCLERK_*)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALLYCLERK_")}
    env.update({"TALLYCLERK_DATABASE_URL": database_url, "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


# -- counting ----------------------------------------------------------------------------------


def rows(url: str, query: sa.Select[Any]) -> list[tuple[Any, ...]]:
    """The rows of a query on the store at `url` (no server may hold a DuckDB file)."""
    from tallyclerk.store import open_store

    store = open_store(url=url)
    try:
        with store.connect() as connection:
            return [tuple(row) for row in connection.execute(query)]
    finally:
        store.close()


def count(url: str, table: sa.Table, where: Any = None) -> int:
    """Rows of `table` (matching `where`) in the store at `url`."""
    query = sa.select(sa.func.count()).select_from(table)
    if where is not None:
        query = query.where(where)
    ((found,),) = rows(url, query)
    return int(found)


def admin_token(url: str) -> str:
    """A new API token of an admin user (added first if missing)."""
    from tallyclerk.access import add_user, create_token, get_user
    from tallyclerk.store import open_store

    store = open_store(url=url)
    try:
        with store.begin() as connection:
            if get_user(connection, ADMIN) is None:
                add_user(connection, ADMIN, "admin")
            return create_token(connection, ADMIN, name="reliability")[1]
    finally:
        store.close()


# -- webhooks ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One signed Shopify orders/create delivery: its id, order id and the request to send."""

    delivery_id: str
    order_id: str
    body: bytes
    headers: Mapping[str, str]


def order_deliveries(count: int, *, first: int = 0, prefix: str = "d") -> list[Delivery]:
    """Distinct orders/create deliveries (three lines each), built by the Shopify connector."""
    from tallyclerk.connectors.shopify import order_payload

    start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    out = []
    for n in range(first, first + count):
        lines = [
            (f"SKU-{(n * 7 + k) % 97:04d}", 1 + (n + k) % 3, Decimal("12.50")) for k in (1, 2, 3)
        ]
        total = sum((Decimal(qty) * price for _, qty, price in lines), Decimal(0))
        order_id = str(8_000_000_000 + n)
        payload = order_payload(
            order_id,
            f"#{200_000 + n}",
            start + timedelta(seconds=11 * n),
            "USD",
            total,
            lines,
            "US",
            f"{10_000 + n % 89_999:05d}",
            "Standard",
        )
        body = json.dumps(payload).encode()
        signature = base64.b64encode(hmac.new(SECRET.encode(), body, hashlib.sha256).digest())
        delivery_id = f"{prefix}-{n:06d}"
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Hmac-Sha256": signature.decode(),
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": delivery_id,
        }
        out.append(Delivery(delivery_id, order_id, body, headers))
    return out


def post_delivery(client: httpx.Client, delivery: Delivery) -> int:
    """Send one delivery; its status, or 0 when no answer came (the sender will retry)."""
    try:
        response = client.post("/webhooks/shopify", content=delivery.body, headers=delivery.headers)
    except httpx.TransportError:
        return 0
    return response.status_code


# -- the service -------------------------------------------------------------------------------


@dataclass
class Server:
    """A running `tallyclerk serve`: its address, process and admin token."""

    url: str
    process: Launched
    token: str
    database_url: str
    spool: Path

    def auth(self) -> dict[str, str]:
        """Headers of a request made as the admin."""
        return {"Authorization": f"Bearer {self.token}"}

    def log_text(self) -> str:
        """What the server wrote so far."""
        return self.process.output()


def start_server(
    launcher: Launcher,
    work: Path,
    database_url: str,
    *,
    token: str,
    spool: Path | None = None,
    port: int | None = None,
) -> Server:
    """Start `tallyclerk serve` and wait (bounded) until its health check answers 200."""
    spool = spool or work / "spool"
    port = port or free_port()
    env = tallyclerk_env(
        database_url,
        TALLYCLERK_SERVICE__SPOOL_DIR=str(spool),
        TALLYCLERK_SERVICE__SHOPIFY_SECRET=SECRET,
    )
    args = ["serve", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    process = launcher.run(args, env, out=work / f"server-{port}-{time.monotonic_ns()}.log")
    server = Server(f"http://127.0.0.1:{port}", process, token, database_url, spool)
    deadline = time.monotonic() + START_SECONDS
    while True:
        if process.poll() is not None:
            pytest.fail(f"the server exited at start ({process.returncode}):\n{server.log_text()}")
        try:
            if httpx.get(f"{server.url}/api/v1/health", timeout=5).status_code == 200:
                return server
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            pytest.fail(f"the server did not answer in {START_SECONDS:g} s:\n{server.log_text()}")
        time.sleep(0.05)


@contextmanager
def serving(
    launcher: Launcher,
    work: Path,
    database_url: str,
    *,
    token: str,
    spool: Path | None = None,
) -> Iterator[Server]:
    """A started server, killed on the way out if the test left it running (a failure)."""
    server = start_server(launcher, work, database_url, token=token, spool=spool)
    try:
        yield server
    finally:
        if server.process.poll() is None:
            server.process.kill()


def stop_server(server: Server, timeout: float = 60.0) -> None:
    """Stop the server as Ctrl-C does (it lands what waits first); fail if it hangs."""
    server.process.send_signal(signal.SIGINT)
    try:
        server.process.wait(timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        pytest.fail(f"the server did not stop within {timeout:g} s:\n{server.log_text()}")


def webhook_status(server: Server) -> dict[str, Any]:
    """The spool's status as the admin sees it."""
    response = httpx.get(f"{server.url}/api/v1/webhooks/status", headers=server.auth(), timeout=30)
    assert response.status_code == 200, response.text
    status: dict[str, Any] = response.json()
    return status


def wait_until(check: Callable[[], Any], timeout: float, what: str, *, every: float = 0.05) -> Any:
    """Poll `check` until it returns something true; fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(every)
    pytest.fail(f"{what}: not within {timeout:g} s (last seen: {last!r})")


def wait_for_spool(server: Server, timeout: float = 60.0) -> dict[str, Any]:
    """Wait until nothing waits in the spool; the last status."""

    def drained() -> dict[str, Any] | None:
        status = webhook_status(server)
        return status if status["waiting"] == 0 else None

    found: dict[str, Any] = wait_until(drained, timeout, "the spool did not drain")
    return found


# -- a private PostgreSQL cluster --------------------------------------------------------------


def _postgres_bindir() -> Path | None:
    """Where initdb and pg_ctl are: pg_config's bindir, else the newest Debian layout."""
    found = shutil.which("pg_config")
    if found:
        try:
            out = subprocess.run(
                [found, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            )
            candidate = Path(out.stdout.strip())
            if (candidate / "initdb").exists():
                return candidate
        except (OSError, subprocess.SubprocessError):
            pass
    versions = sorted(
        (p for p in Path("/usr/lib/postgresql").glob("*/bin") if p.parent.name.isdigit()),
        key=lambda p: int(p.parent.name),
        reverse=True,
    )
    for candidate in versions:
        if (candidate / "initdb").exists():
            return candidate
    found = shutil.which("initdb")
    return Path(found).parent if found else None


def _unavailable(reason: str) -> NoReturn:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"a private PostgreSQL cluster is required in CI: {reason}")
    pytest.skip(f"no private PostgreSQL cluster: {reason}")


@dataclass
class PrivatePostgres:
    """A PostgreSQL cluster of one test: initdb in a temporary folder, on its own port."""

    bindir: Path
    folder: Path
    port: int
    as_user: list[str]

    @property
    def data(self) -> Path:
        """The data directory."""
        return self.folder / "data"

    @property
    def url(self) -> str:
        """The URL of its `postgres` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.as_user, *args], capture_output=True, text=True, timeout=timeout, check=False
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder} -c max_connections=50"
        )
        done = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.folder / "postgres.log"), "-w", "-t", "60", "start",
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stdout}{done.stderr}{self.log()}")

    def stop(self, mode: str = "immediate") -> None:
        """Stop the server (`immediate`: as a crash of PostgreSQL; `fast`: cleanly)."""
        done = self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"
        )
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl stop failed: {done.stdout}{done.stderr}")

    def running(self) -> bool:
        """Whether pg_ctl sees the server running."""
        return (
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "status").returncode == 0
        )

    def log(self) -> str:
        """The server's log so far."""
        path = self.folder / "postgres.log"
        return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def private_postgres() -> Iterator[PrivatePostgres]:
    """A fresh PostgreSQL cluster on a free port; skipped (failed in CI) when it cannot start.

    initdb refuses to run as root, so as root the binaries run as the `postgres` user in a
    folder it owns.
    """
    bindir = _postgres_bindir()
    if bindir is None:
        _unavailable("initdb and pg_ctl are not installed")
    folder = Path(tempfile.mkdtemp(prefix="tallyclerk-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        if runuser is None:
            shutil.rmtree(folder, ignore_errors=True)
            _unavailable("running as root without runuser to switch to the postgres user")
        as_user = [str(runuser), "-u", "postgres", "--"]
        try:
            shutil.chown(folder, user="postgres")
        except (LookupError, OSError) as exc:
            shutil.rmtree(folder, ignore_errors=True)
            _unavailable(f"cannot hand a folder to the postgres user: {exc}")
    cluster = PrivatePostgres(bindir, folder, free_port(), as_user)
    try:
        done = cluster._run(
            str(bindir / "initdb"), "-D", str(cluster.data), "-A", "trust", "-U", "postgres",
            "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        if done.returncode != 0:
            _unavailable(f"initdb failed: {(done.stderr or done.stdout).strip()[:500]}")
        try:
            cluster.start()
        except RuntimeError as exc:
            _unavailable(str(exc)[:1000])
        yield cluster
    finally:
        if cluster.running():
            with suppress(RuntimeError):
                cluster.stop("immediate")
        shutil.rmtree(folder, ignore_errors=True)
