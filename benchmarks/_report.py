"""What the benchmark scripts share: measured children, the machine, the report file.

Every measured run is a fresh Python process: the script runs itself with `--child MODE ...`
(`run_child`, or `run_measured_child` where a failed run is reported rather than fatal), the
child prints its result as one JSON object on its last line, peak memory included
(`peak_rss_mb`), and the parent keeps the best of its rounds (`better`).

docs/benchmarks.md holds several benchmarks. Each owns one section, delimited by HTML comment
markers that Markdown does not show:

    <!-- benchmark:ingest -->
    ## Ingest: ...
    <!-- /benchmark:ingest -->

A script replaces only its own section (appending it the first time) and keeps the others.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import re
import resource
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"

_HEADER = (
    "# Benchmarks\n"
    "\n"
    "Each section below is written by one script under `benchmarks/`, which replaces only its\n"
    "own section when it runs again. Every section says when it was measured, on which machine\n"
    "and with which software; compare ratios rather than seconds across machines.\n"
)


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- benchmark:{name} -->", f"<!-- /benchmark:{name} -->"


def write_section(name: str, body: str, path: Path = REPORT) -> None:
    """Put `body` into the section `name` of the report, leaving every other section alone."""
    start, end = _markers(name)
    block = f"{start}\n{body.strip()}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else _HEADER
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: block, text, count=1)
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def stamp() -> list[str]:
    """The date and machine lines every section starts with."""
    return [f"- Date: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", f"- Machine: {machine()}"]


def machine() -> str:
    """CPU model, cores, memory and kernel of this machine."""
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {memory} RAM, {platform.system()} {platform.release()}"


def versions(*packages: str) -> str:
    """Python and the named distributions' versions, e.g. 'Python 3.11.7, DuckDB 1.5.6'."""
    names = {"duckdb": "DuckDB", "ibis-framework": "Ibis", "pyarrow": "pyarrow"}
    parts = [f"Python {platform.python_version()}"]
    for package in packages:
        try:
            version = metadata.version(package)
        except metadata.PackageNotFoundError:
            version = "not installed"
        parts.append(f"{names.get(package, package)} {version}")
    return ", ".join(parts)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (Linux reports ru_maxrss in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def command_line(doc: str | None) -> argparse.ArgumentParser:
    """A script's argument parser, its module docstring as the description (kept as written)."""
    return argparse.ArgumentParser(
        description=doc, formatter_class=argparse.RawDescriptionHelpFormatter
    )


# --- measured children ------------------------------------------------------------------------


def _spawn(
    script: str, mode: str, options: Sequence[str], pycache: Path | None
) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, script, "--child", mode, *options]
    env = None
    if pycache is not None:
        # Bytecode is cached (outside the source tree) even where the environment turns it off.
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return subprocess.run(command, capture_output=True, text=True, check=False, env=env)


def _printed(stdout: str) -> dict[str, Any]:
    """The JSON object a child printed on its last line."""
    return json.loads(stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def run_child(script: str, mode: str, *options: str, pycache: Path | None = None) -> dict[str, Any]:
    """`python script --child mode options...` in a fresh process: the result it printed.

    A child that fails raises CalledProcessError. With `pycache`, bytecode is cached there.
    """
    out = _spawn(script, mode, options, pycache)
    out.check_returncode()
    return _printed(out.stdout)


def run_measured_child(
    script: str, mode: str, *options: str, pycache: Path, **failed: Any
) -> dict[str, Any]:
    """As `run_child`, but a child that fails gives a result that says so instead of raising.

    That result has the seconds until the child ended, no setup, a NaN peak memory, `error`
    (the exit code and the last line of its stderr, or the signal that killed it: SIGKILL is
    likely the kernel's out-of-memory killer), `where` ("child process") and `failed`.
    """
    started = time.perf_counter()
    out = _spawn(script, mode, options, pycache)
    if out.returncode == 0:
        return _printed(out.stdout)
    if out.returncode < 0:
        reason = f"killed by {signal.Signals(-out.returncode).name}"
        if out.returncode == -signal.SIGKILL:
            reason += " (likely out of memory)"
    else:
        tail = [line for line in out.stderr.strip().splitlines() if line.strip()][-1:]
        reason = f"exit {out.returncode}: {' '.join(tail)[:300]}"
    return {
        "seconds": time.perf_counter() - started,
        "setup_seconds": 0.0,
        "peak_rss_mb": float("nan"),
        **failed,
        "error": reason,
        "where": "child process",
    }


def failure(error: BaseException) -> dict[str, Any]:
    """An exception in a child as a result reports it: `error`, its first line, and `where`,
    the innermost tallyclerk frame and the innermost frame of all."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f for f in frames if "/tallyclerk/" in f.filename]
    where = [f"{Path(f.filename).name}:{f.lineno} in {f.name}" for f in (ours[-1:] + frames[-1:])]
    lines = str(error).strip().splitlines() or [""]
    return {
        "error": f"{type(error).__name__}: {lines[0][:300]}",
        "where": " -> ".join(dict.fromkeys(where)),
    }


def preload(*modules: str) -> None:
    """Import what a child would, before its clock starts: the benchmarks time work, not imports."""
    for name in modules:
        importlib.import_module(name)


def better(result: dict[str, Any], kept: dict[str, Any] | None) -> bool:
    """Whether a run beats the kept one: a success beats a failure, then the faster wins."""
    if kept is None or "error" in kept:
        return kept is None or "error" not in result
    return "error" not in result and result["seconds"] < kept["seconds"]


def best_of(
    rounds: int,
    modes: Sequence[str],
    run: Callable[[str], dict[str, Any]],
    line: Callable[[int, str, dict[str, Any]], str],
) -> dict[str, dict[str, Any]]:
    """Every mode run once per round, alternated; each run's `line` printed; the best kept."""
    best: dict[str, dict[str, Any]] = {}
    for round_no in range(1, rounds + 1):
        for mode in modes:
            result = run(mode)
            print(line(round_no, mode, result), flush=True)
            if better(result, best.get(mode)):
                best[mode] = result
    return best


def failed_note(result: dict[str, Any]) -> str:
    """ "FAILED: " and the error of a failed run; nothing for one that ran."""
    return f"FAILED: {result['error']}" if "error" in result else ""


def round_line(
    orders: int, round_no: int, mode: str, width: int, result: dict[str, Any], extra: str = ""
) -> str:
    """A measured run as printed while a store benchmark runs: time, setup, memory, failure."""
    return (
        f"{orders:>11,} round {round_no} {mode:<{width}} {result['seconds']:8.2f} s "
        f"(setup {result['setup_seconds']:6.2f} s) {result['peak_rss_mb']:7.0f} MB"
        f"{extra} {failed_note(result)}"
    )


# --- the figures in a section --------------------------------------------------------------------


def fmt_seconds(result: dict[str, Any], key: str = "seconds") -> str:
    """Seconds with two decimals, or "failed"."""
    return "failed" if "error" in result else f"{result[key]:,.2f}"


def ratio(a: dict[str, Any], b: dict[str, Any]) -> float | None:
    """a's seconds over b's (None when either failed or b took no time)."""
    if "error" in a or "error" in b or not b["seconds"]:
        return None
    return float(a["seconds"] / b["seconds"])


def orders_label(orders: int) -> str:
    """10M, 1M, or 20,000."""
    if orders % 1_000_000 == 0:
        return f"{orders // 1_000_000}M"
    return f"{orders:,}"


def store_line(load: dict[str, Any]) -> str:
    """The store a run read: "Store: N MB DuckDB file; table rows, ... rows" (no full stop)."""
    return (
        f"Store: {load['size_mb']:,.0f} MB DuckDB file; "
        + ", ".join(f"{t} {n:,}" for t, n in load["rows"].items())
        + " rows"
    )


def load_line(loadavg: tuple[float, float]) -> str:
    """The machine's load when a size's runs started and ended (the machines are shared)."""
    return (
        "Machine load (1-minute load average) when this size's runs started and ended: "
        f"{loadavg[0]:.1f} and {loadavg[1]:.1f} on "
        f"{os.cpu_count()} cores; above the core count, other work shared the machine."
    )


def publish(name: str, body: str, path: Path = REPORT, *, write: bool = True) -> None:
    """Write `body` as the section `name` (unless not `write`: --no-write), then print it."""
    if write:
        write_section(name, body, path)
    else:
        print("\n(--no-write: docs/benchmarks.md left as it is)\n")
    print(body)
