"""The dependency audit (.ci/audit.py): its fallback reads each project's latest release."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / ".ci" / "audit.py"


@pytest.fixture
def audit() -> ModuleType:
    spec = importlib.util.spec_from_file_location("tallyclerk_ci_audit", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


PROJECTS: dict[str, dict[str, Any]] = {
    "safe": {"info": {"version": "1.0"}, "vulnerabilities": []},
    "bad": {
        "info": {"version": "2.0"},
        "vulnerabilities": [{"id": "PYSEC-2026-1", "fixed_in": ["2.0.1"]}],
    },
    "old": {"info": {"version": "5.0"}, "vulnerabilities": []},
}


def test_the_fallback_audits_latest_releases_and_names_the_rest(
    audit: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit, "_project", PROJECTS.get)
    outcome = audit.fallback_audit([("safe", "1.0"), ("bad", "2.0"), ("old", "4.2"), ("gone", "1")])
    assert outcome.audited == ["safe 1.0", "bad 2.0"]
    assert outcome.vulnerable == ["bad 2.0: PYSEC-2026-1 (fixed in 2.0.1)"]
    assert outcome.not_audited == ["old 4.2 (latest is 5.0)", "gone 1 (not found on the index)"]


def test_a_vulnerability_fails_and_an_incomplete_audit_fails_only_when_asked(
    audit: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(audit, "_project", PROJECTS.get)
    monkeypatch.setattr(audit, "run_pip_audit", lambda pins: (1, None, "not found on PyPI"))
    monkeypatch.setattr(audit, "locked_requirements", lambda: [("safe", "1.0"), ("old", "4.2")])
    assert audit.main([]) == 0
    assert "NOT AUDITED (1): old 4.2" in capsys.readouterr().err
    assert audit.main(["--require-complete"]) == 2
    monkeypatch.setattr(audit, "locked_requirements", lambda: [("bad", "2.0")])
    assert audit.main([]) == 1
    assert "VULNERABLE bad 2.0: PYSEC-2026-1" in capsys.readouterr().err


def test_pip_audit_findings_are_reported(
    audit: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    report = {
        "dependencies": [
            {"name": "lib", "version": "1.0", "vulns": [{"id": "GHSA-x", "fix_versions": ["1.1"]}]}
        ]
    }
    monkeypatch.setattr(audit, "locked_requirements", lambda: [("lib", "1.0")])
    monkeypatch.setattr(audit, "run_pip_audit", lambda pins: (1, report, ""))
    assert audit.main([]) == 1
    assert "lib 1.0: GHSA-x (fixed in 1.1)" in capsys.readouterr().err
    monkeypatch.setattr(audit, "run_pip_audit", lambda pins: (0, {"dependencies": []}, ""))
    assert audit.main([]) == 0
