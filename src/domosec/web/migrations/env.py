"""Alembic environment: the engine comes from ``web/migrate.py``; batch mode so SQLite can alter tables."""

from __future__ import annotations

from alembic import context

from domosec.web.db import Base

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
    context.run_migrations()
