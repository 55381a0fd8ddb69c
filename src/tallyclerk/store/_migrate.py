"""Schema migrations (Alembic) that run on DuckDB and PostgreSQL alike."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.ddl.impl import DefaultImpl
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

_SCRIPTS = Path(__file__).parent / "migrations"


class DuckDBImpl(DefaultImpl):
    """Teach Alembic the DuckDB dialect; DuckDB runs DDL inside transactions."""

    __dialect__ = "duckdb"
    transactional_ddl = True


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(_SCRIPTS))
    return config


def head_revision() -> str:
    """The newest migration shipped with this version of tallyclerk."""
    head = ScriptDirectory.from_config(_config()).get_current_head()
    assert head is not None
    return head


def current_revision(connection: sa.Connection) -> str | None:
    """The migration the database is at, or None for an empty database."""
    return MigrationContext.configure(connection).get_current_revision()


def upgrade(engine: sa.Engine) -> tuple[str | None, str]:
    """Bring the schema up to the newest migration; returns (from, to) revisions."""
    with engine.begin() as connection:
        before = current_revision(connection)
        if before == head_revision():
            return before, before
        config = _config()
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
    return before, head_revision()
