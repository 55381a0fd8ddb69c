"""Kept vetting reports: the JSON document of each `tallyclerk vet` run (brand-only data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from tallyclerk.store.schema import vetting_reports
from tallyclerk.vetting._document import report_document
from tallyclerk.vetting._service import VetReport


@dataclass(frozen=True)
class KeptReport:
    """A kept vetting: when, by whom, the RFP and window, and the report document."""

    report_id: int
    created_at: datetime
    created_by: str | None
    rfp_name: str
    window_from: date
    window_to: date
    document: dict[str, Any]


def save_report(connection: sa.Connection, report: VetReport, created_by: str | None = None) -> int:
    """Keep a vetting's document; returns its id."""
    return int(
        connection.execute(
            vetting_reports.insert()
            .values(
                created_at=datetime.now(UTC),
                created_by=created_by,
                rfp_name=report.rfp.name,
                window_from=report.first,
                window_to=report.last,
                document=json.dumps(report_document(report)),
            )
            .returning(vetting_reports.c.report_id)
        ).scalar_one()
    )


def latest_report(connection: sa.Connection, report_id: int | None = None) -> KeptReport | None:
    """The kept report with that id, or the latest one; None when there is none."""
    query = sa.select(vetting_reports).order_by(vetting_reports.c.report_id.desc()).limit(1)
    if report_id is not None:
        query = sa.select(vetting_reports).where(vetting_reports.c.report_id == report_id)
    row = connection.execute(query).mappings().first()
    if row is None:
        return None
    return KeptReport(
        report_id=int(row["report_id"]),
        created_at=row["created_at"],
        created_by=row["created_by"],
        rfp_name=row["rfp_name"],
        window_from=row["window_from"],
        window_to=row["window_to"],
        document=json.loads(row["document"]),
    )


__all__ = ["KeptReport", "latest_report", "save_report"]
