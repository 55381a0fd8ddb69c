"""What every command shares: the console, the settings, opening the store, friendly errors."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from tallyclerk.errors import TallyclerkError
from tallyclerk.settings import Settings, get_settings
from tallyclerk.store import Store, open_waiting

console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)


@dataclass
class State:
    """Options given before the command (e.g. --db) that every command honours."""

    database_url: str | None = None
    settings: Settings = field(default_factory=get_settings)

    def effective_settings(self) -> Settings:
        """Settings with command-line overrides applied."""
        if self.database_url is None:
            return self.settings
        return self.settings.model_copy(update={"database_url": self.database_url})


state = State()


@contextmanager
def user_errors() -> Iterator[None]:
    """Print expected failures as one plain message and exit non-zero, no stack trace."""
    try:
        yield
    except TallyclerkError as exc:
        err_console.print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(exc.exit_code) from None


@contextmanager
def store_session(*, create: bool = True) -> Iterator[Store]:
    """Open the configured store for the length of one command.

    A DuckDB file held by a running server (for one request) is waited for, not failed on.
    """
    settings = state.effective_settings()
    with user_errors():
        store = open_waiting(
            settings.database_url, wait=settings.service.store_wait_seconds, create=create
        )
    try:
        with user_errors():
            yield store
    finally:
        store.close()


def byte_progress() -> Progress:
    """A progress bar for reading files: bytes, speed, time left."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )


def count_progress() -> Progress:
    """A progress bar for counted work (orders generated, tables written)."""
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err_console,
        transient=True,
    )
