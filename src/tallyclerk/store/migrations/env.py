"""Alembic environment: migrations run on the connection the store hands over."""

from __future__ import annotations

from alembic import context

from tallyclerk.store.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:  # pragma: no cover - the store always passes its connection
    raise RuntimeError("run migrations through tallyclerk.store.upgrade(), not the alembic CLI")

context.configure(connection=connection, target_metadata=metadata, render_as_batch=False)
with context.begin_transaction():
    context.run_migrations()
