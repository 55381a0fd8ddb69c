"""`tallyclerk report weekly` end to end on a small simulated store.

The store holds a simulated quarter (January to March 2026, 400 orders, both providers),
evaluated for February and March and reconciled on 2026-03-20, with a dispute opened with
eastbridge on 2026-03-10 and an action item agreed in the review of 2026-W10. The
command writes the review of 2026-W11 as JSON, HTML and PDF and prints it; the figures of the
JSON must be the ones the HTML and the PDF show.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner, Result

from tallyclerk.cli import _report
from tallyclerk.cli._common import state
from tallyclerk.contracts import load_contract
from tallyclerk.contracts._repository import add_contract
from tallyclerk.ingest import ingest_paths
from tallyclerk.reconcile import DOMAINS, run_findings
from tallyclerk.reports import IsoWeek
from tallyclerk.reports._actions import add_action
from tallyclerk.reports._render import fmt_value
from tallyclerk.settings import Settings
from tallyclerk.simulate import simulate
from tallyclerk.sla import evaluate_periods, open_dispute
from tallyclerk.store import open_store

pytestmark = pytest.mark.slow

runner = CliRunner()
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "review"
SETTINGS = {"brand": {"timezone": "America/Chicago"}}
AS_OF = datetime(2026, 3, 20, 18, 0, tzinfo=UTC)
ACTION_TITLE = "Re-train the pickers <b>before</b> Easter"
DISPUTE_SUBJECT = "Storage billed twice for [bold]February[/bold]"


def _cli() -> typer.Typer:
    """The report commands under a root that takes --db, as `tallyclerk` itself does."""
    app = typer.Typer(pretty_exceptions_enable=False)

    @app.callback()
    def _root(db: str = typer.Option(None, "--db")) -> None:
        state.database_url = db

    app.add_typer(_report.app, name="report")
    return app


CLI = _cli()


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> str:
    data = tmp_path_factory.mktemp("brand")
    simulate(data, 400, seed=5, start=date(2026, 1, 1), months=3)
    url = f"duckdb:///{tmp_path_factory.mktemp('store') / 'store.duckdb'}"
    settings = Settings(database_url=url, **SETTINGS)  # type: ignore[arg-type]
    store = open_store(settings)
    try:
        with store.begin() as connection:
            for path in sorted((data / "contracts").glob("*.yaml")):
                add_contract(
                    connection, load_contract(path), path.read_text(encoding="utf-8"), path.name
                )
        assert ingest_paths(store, [data], settings=settings).ok
        evaluate_periods(
            store, [date(2026, 2, 1), date(2026, 3, 1)], as_of=AS_OF, settings=settings
        )
        run_findings(store, DOMAINS, as_of=AS_OF, settings=settings)
        with store.begin() as connection:
            open_dispute(
                connection,
                provider_id="eastbridge",
                subject=DISPUTE_SUBJECT,
                source="manual",
                amount=Decimal("125.00"),
                currency="USD",
                opened_by="ana",
                opened_at=datetime(2026, 3, 10, 15, 0, tzinfo=UTC),
                settings=settings,
            )
            add_action(
                connection,
                provider_id="eastbridge",
                title=ACTION_TITLE,
                owner="M. Ortega",
                party="provider",
                due_on=date(2026, 3, 12),
                opened_week=IsoWeek(2026, 10),
                by="ana",
                now=datetime(2026, 3, 6, 15, 0, tzinfo=UTC),
            )
    finally:
        store.close()
    return url


def _run(db: str, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    monkeypatch.setattr(state, "settings", Settings(**SETTINGS))  # type: ignore[arg-type]
    monkeypatch.setenv("COLUMNS", "80")
    return runner.invoke(CLI, ["--db", db, "report", "weekly", *args])


def _weekly(db: str, *args: str) -> Result:
    with pytest.MonkeyPatch.context() as patch:
        return _run(db, patch, "--provider", "eastbridge", "--as-of", "2026-03-20", *args)


@pytest.fixture(scope="module")
def outputs(db: str, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The review of 2026-W11 (the last whole week by 2026-03-20) written in each format."""
    folder = tmp_path_factory.mktemp("review")
    written: dict[str, Path] = {}
    for suffix in ("json", "html", "pdf"):
        path = folder / f"review.{suffix}"
        result = _weekly(db, "--out", str(path))
        assert result.exit_code == 0, result.output
        assert f"written to {path}" in result.stdout
        written[suffix] = path
    return written


@pytest.fixture(scope="module")
def doc(outputs: dict[str, Path]) -> dict[str, Any]:
    return json.loads(outputs["json"].read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def _flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_default_week_is_the_last_whole_week_by_as_of(doc: dict[str, Any]) -> None:
    # 2026-03-20 is a Friday: its week (W12) is not over, W11 (Mar 9-15) is the last whole one.
    assert doc["week"] == "2026-W11"
    assert (doc["week_start"], doc["week_end"]) == ("2026-03-09", "2026-03-15")
    assert doc["provider_id"] == "eastbridge"
    assert doc["audience"] == "brand"
    # The figures are read by the end of --as-of at the latest (UTC), not before the week ends.
    assert "2026-03-15" <= doc["as_of"][:10] <= "2026-03-20"


def test_json_holds_the_review(doc: dict[str, Any]) -> None:
    metrics = {k["metric"] for k in doc["kpis"]}
    assert "ship_on_time_rate" in metrics
    for kpi in doc["kpis"]:
        if kpi["denominator"] and kpi["unit"] == "rate":
            assert kpi["value"] == pytest.approx(kpi["numerator"] / kpi["denominator"])
    (action,) = [a for a in doc["actions"] if a["title"] == ACTION_TITLE]
    assert action["opened_week"] == "2026-W10"
    assert len(doc["disputes"]) == 1


def test_html_shows_the_json_figures(outputs: dict[str, Path], doc: dict[str, Any]) -> None:
    html = outputs["html"].read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org/", "")
    text = _flat(re.sub(r"<[^>]+>", " ", html))
    assert doc["provider_name"] in text
    assert "2026-W11 · Mon 2026-03-09 to Sun 2026-03-15" in text
    for kpi in doc["kpis"]:
        label = kpi["metric"].replace("_", " ")
        assert f"{label} " in text
        assert fmt_value(kpi["value"], kpi["unit"]) in text
    assert html.count("<svg") == len(doc["kpis"]) + (1 if doc["forecast"] else 0)
    # The carried action item, escaped, flagged overdue (due 2026-03-12, before the week's end).
    assert "Re-train the pickers &lt;b&gt;before&lt;/b&gt; Easter" in html
    assert "2026-W10 carried" in text
    assert "2026-03-12 overdue" in text
    (dispute,) = doc["disputes"]
    assert dispute["dispute_id"] in text
    assert DISPUTE_SUBJECT in text
    assert "USD 125.00" in text


def test_pdf_shows_the_json_figures(outputs: dict[str, Path], doc: dict[str, Any]) -> None:
    pdf = outputs["pdf"].read_bytes()
    assert pdf.startswith(b"%PDF")
    tool = shutil.which("pdftotext")
    assert tool is not None, "pdftotext (poppler-utils) is needed"
    text = _flat(
        subprocess.run(
            [tool, str(outputs["pdf"]), "-"], check=True, capture_output=True, text=True
        ).stdout
    )
    assert doc["provider_name"] in text
    for kpi in doc["kpis"]:
        assert fmt_value(kpi["value"], kpi["unit"]) in text
    assert re.search(r"tallyclerk weekly review · .+ · 2026-W11 · page 1 of \d+", text)
    # The pages as pictures, for people to look at.
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for old in ARTIFACTS.glob("cli-*.png"):
        old.unlink()
    pages = shutil.which("pdftoppm")
    assert pages is not None
    subprocess.run(
        [pages, "-png", "-r", "60", str(outputs["pdf"]), str(ARTIFACTS / "cli")], check=True
    )
    assert list(ARTIFACTS.glob("cli-*.png"))


def test_provider_copy(db: str, tmp_path: Path, doc: dict[str, Any]) -> None:
    path = tmp_path / "provider.html"
    result = _weekly(db, "--week", "2026-W11", "--audience", "provider", "--out", str(path))
    assert result.exit_code == 0, result.output
    text = _flat(re.sub(r"<[^>]+>", " ", path.read_text(encoding="utf-8")))
    assert f"Copy for {doc['provider_name']}: brand cost data left out" in text
    assert "Provider copy" in text
    assert "Value off at cost" not in text


def test_summary_in_the_terminal(db: str, doc: dict[str, Any]) -> None:
    result = _weekly(db, "--week", "2026-w11")
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "2026-W11 (2026-03-09 to 2026-03-15)" in _flat(out)
    assert "KPIs against target" in out
    assert "Action items" in out
    assert "Open disputes" in out
    for kpi in doc["kpis"]:
        assert fmt_value(kpi["value"], kpi["unit"]) in out
    # Markup in the data is printed as text, not interpreted.
    assert "<b>before</b>" in _flat(out)
    assert "[bold]February[/bold]" in _flat(out)
    assert max(len(line) for line in out.splitlines()) <= 80


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--week", "2026-W99"], "2026 has no ISO week 99"),
        (["--week", "last week"], "is not an ISO week (write it like 2026-W47)"),
        (["--out", "review.txt"], "give a file ending in .pdf, .html or .json"),
        (["--audience", "everyone"], "give one of brand, provider"),
        (["--as-of", "20/03/2026"], "is not a date (YYYY-MM-DD)"),  # the last --as-of counts
        (["--week", "2026-W13"], "is before 2026-W13 begins"),
    ],
)
def test_bad_input_is_one_plain_error(
    db: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], message: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = _run(db, monkeypatch, "--provider", "eastbridge", "--as-of", "2026-03-20", *args)
    assert result.exit_code == 2, result.output
    assert message in _flat(result.output)
    assert "Traceback" not in result.output
    assert not (tmp_path / "review.txt").exists()


def test_unknown_provider(db: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    out = tmp_path / "review.pdf"
    result = _run(db, monkeypatch, "--provider", "nowhere", "--week", "2026-W11", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert "unknown provider 'nowhere'" in result.output
    assert "Traceback" not in result.output
    assert not out.exists()


def test_default_week_before_today() -> None:
    # Today's week is never whole: a Sunday's review is the week before.
    assert _report.default_week(today=date(2026, 11, 22)) == IsoWeek(2026, 46)
    assert _report.default_week(today=date(2026, 11, 23)) == IsoWeek(2026, 47)
    # By the end of --as-of: a Sunday closes its own week, a Saturday does not.
    assert _report.default_week(as_of=date(2026, 11, 22)) == IsoWeek(2026, 47)
    assert _report.default_week(as_of=date(2026, 11, 21)) == IsoWeek(2026, 46)
    assert _report.default_week(today=date(2027, 1, 4)) == IsoWeek(2026, 53)


def test_help_has_examples() -> None:
    result = runner.invoke(CLI, ["report", "weekly", "--help"])
    assert result.exit_code == 0
    assert "Examples" in result.output
    assert "--out review.pdf" in _flat(result.output)
