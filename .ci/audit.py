"""Audit the locked dependencies for known vulnerabilities (`make audit`, run by CI).

First choice is pip-audit over the lock file exported by uv, in strict mode: every locked
release is looked up in PyPI's vulnerability data (OSV), and a release it cannot look up is
an error rather than a silent pass.

Some package indexes (mirrors and proxies) serve PyPI's project pages but not the
per-release JSON that pip-audit asks for. Then pip-audit can audit nothing, and this script
falls back to what the index does serve: the project JSON carries the vulnerabilities of
the project's latest release, so every package locked at its latest release is audited from
there. Packages locked at an older release cannot be audited that way; they are listed by
name with both versions, and `--require-complete` makes that an error.

Exit status: 0 clean (as far as audited), 1 a known vulnerability, 2 the audit could not run
or (with `--require-complete`) was incomplete.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYPI = os.environ.get("TALLYCLERK_AUDIT_PYPI", "https://pypi.org/pypi")
_PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


@dataclass
class Outcome:
    audited: list[str] = field(default_factory=list)
    vulnerable: list[str] = field(default_factory=list)
    not_audited: list[str] = field(default_factory=list)


def _uv() -> str:
    local = ROOT / ".tools" / "bin" / "uv"
    return str(local) if local.exists() else "uv"


def locked_requirements() -> list[tuple[str, str]]:
    """Every (name, version) pinned in uv.lock, all dependency groups, the project left out."""
    exported = subprocess.run(
        [
            _uv(),
            "export",
            "--frozen",
            "--all-groups",
            "--no-emit-project",
            "--no-hashes",
            "--format",
            "requirements-txt",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins = []
    for line in exported.splitlines():
        match = _PIN.match(line.strip())
        if match:
            pins.append((match.group(1).lower(), match.group(2)))
    return pins


def run_pip_audit(pins: list[tuple[str, str]]) -> tuple[int, dict[str, object] | None, str]:
    """pip-audit in strict mode over the pins: (exit code, its JSON report or None, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("".join(f"{name}=={version}\n" for name, version in pins))
        requirements = handle.name
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip_audit",
                "-r",
                requirements,
                "--no-deps",
                "--disable-pip",
                "--strict",
                "--progress-spinner",
                "off",
                "--format",
                "json",
            ],
            capture_output=True,
            text=True,
        )
    finally:
        os.unlink(requirements)
    try:
        report = json.loads(done.stdout) if done.stdout.strip() else None
    except json.JSONDecodeError:
        report = None
    return done.returncode, report, done.stderr


def _project(name: str) -> dict[str, object] | None:
    try:
        with urllib.request.urlopen(f"{PYPI}/{name}/json", timeout=30) as answer:
            data: dict[str, object] = json.load(answer)
            return data
    except (urllib.error.URLError, TimeoutError, json.JSONDecodeError, OSError):
        return None


def fallback_audit(pins: list[tuple[str, str]]) -> Outcome:
    """Audit each pin at its project's latest release from the project JSON."""
    outcome = Outcome()
    with ThreadPoolExecutor(max_workers=8) as pool:
        projects = list(pool.map(_project, [name for name, _ in pins]))
    for (name, version), project in zip(pins, projects, strict=True):
        if project is None:
            outcome.not_audited.append(f"{name} {version} (not found on the index)")
            continue
        info = project.get("info")
        latest = info.get("version") if isinstance(info, dict) else None
        if latest != version:
            outcome.not_audited.append(f"{name} {version} (latest is {latest})")
            continue
        outcome.audited.append(f"{name} {version}")
        vulnerabilities = project.get("vulnerabilities") or []
        for vuln in vulnerabilities if isinstance(vulnerabilities, list) else []:
            ident = vuln.get("id", "?") if isinstance(vuln, dict) else "?"
            fixed = ", ".join(vuln.get("fixed_in") or []) if isinstance(vuln, dict) else ""
            outcome.vulnerable.append(
                f"{name} {version}: {ident}" + (f" (fixed in {fixed})" if fixed else "")
            )
    return outcome


def _pip_audit_vulnerable(report: dict[str, object]) -> list[str]:
    found = []
    for dep in report.get("dependencies") or []:  # type: ignore[attr-defined]
        for vuln in dep.get("vulns") or []:
            fixed = ", ".join(vuln.get("fix_versions") or [])
            found.append(
                f"{dep['name']} {dep.get('version')}: {vuln.get('id')}"
                + (f" (fixed in {fixed})" if fixed else "")
            )
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--require-complete",
        action="store_true",
        help="fail when a locked package could not be audited",
    )
    args = parser.parse_args(argv)
    try:
        pins = locked_requirements()
    except (OSError, subprocess.CalledProcessError) as exc:
        print(f"audit: cannot export the lock file: {exc}", file=sys.stderr)
        return 2
    code, report, stderr = run_pip_audit(pins)
    if code == 0 and report is not None:
        print(f"audit: pip-audit checked {len(pins)} locked packages: no known vulnerabilities")
        return 0
    if report is not None and _pip_audit_vulnerable(report):
        print("audit: known vulnerabilities in locked packages:", file=sys.stderr)
        for line in _pip_audit_vulnerable(report):
            print(f"  {line}", file=sys.stderr)
        return 1
    reason = (stderr.strip().splitlines() or ["no output"])[-1]
    print(
        "audit: pip-audit could not look up every locked release on this index "
        f"({reason}); falling back to each project's latest-release data",
        file=sys.stderr,
    )
    outcome = fallback_audit(pins)
    if not outcome.audited and outcome.not_audited:
        print("audit: the index answered for no package: nothing audited", file=sys.stderr)
        return 2
    print(
        f"audit: {len(outcome.audited)} of {len(pins)} locked packages audited "
        f"(locked at their latest release), {len(outcome.vulnerable)} known vulnerabilities"
    )
    if outcome.vulnerable:
        for line in outcome.vulnerable:
            print(f"  VULNERABLE {line}", file=sys.stderr)
        return 1
    if outcome.not_audited:
        print(
            f"audit: NOT AUDITED ({len(outcome.not_audited)}): " + "; ".join(outcome.not_audited),
            file=sys.stderr,
        )
        if args.require_complete:
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
