"""Fixtures of the fault tests: the launcher of tallyclerk processes (see `_procs.py`)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability._procs import Launcher


@pytest.fixture(scope="session")
def launcher(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Launcher]:
    """Starts `python -m tallyclerk ...` processes in a second or less; kills leftovers."""
    started = Launcher(tmp_path_factory.mktemp("launcher"))
    try:
        yield started
    finally:
        started.close()
