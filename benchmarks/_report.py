"""What the benchmark scripts share: the machine and software they ran on, and the report file.

docs/benchmarks.md holds several benchmarks. Each owns one section, delimited by HTML comment
markers that Markdown does not show:

    <!-- benchmark:ingest -->
    ## Ingest: ...
    <!-- /benchmark:ingest -->

A script replaces only its own section (appending it the first time) and keeps the others.
"""

from __future__ import annotations

import os
import platform
import re
import resource
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

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
