"""Reconciliation: every hand-off, the inventory book against the 3PL, the invoice audit.

Checks are Ibis expressions registered by domain (`handoff`, `inventory`, `invoice`); their
findings are stored with a lifecycle (open, acknowledged, resolved) so a problem is raised
once and its resolution is kept.
"""

from __future__ import annotations

# Importing the check modules registers their checks.
from tallyclerk.reconcile import _handoff, _inventory, _invoice  # noqa: F401
from tallyclerk.reconcile._findings import (
    CHECKS,
    DETECTED_COLUMNS,
    DOMAINS,
    STATUSES,
    SYSTEM_USER,
    Check,
    CheckParams,
    Detected,
    Domain,
    Finding,
    SyncResult,
    acknowledge,
    checks_of,
    count_findings,
    fingerprint,
    get_finding,
    list_findings,
    register_check,
    resolve,
    run_check,
    sync_findings,
)
from tallyclerk.reconcile._service import FindingsRun, detect, dispute_finding, run_findings

__all__ = [
    "CHECKS",
    "DETECTED_COLUMNS",
    "DOMAINS",
    "STATUSES",
    "SYSTEM_USER",
    "Check",
    "CheckParams",
    "Detected",
    "Domain",
    "Finding",
    "FindingsRun",
    "SyncResult",
    "acknowledge",
    "checks_of",
    "count_findings",
    "detect",
    "dispute_finding",
    "fingerprint",
    "get_finding",
    "list_findings",
    "register_check",
    "resolve",
    "run_check",
    "run_findings",
    "sync_findings",
]
