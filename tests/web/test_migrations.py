"""The Alembic migrations on SQLite: up to head, down to nothing, up again; and they match the ORM tables."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect

from domosec.web import migrate
from domosec.web.db import Base, make_engine


def test_up_down_up_on_sqlite(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
    migrate.upgrade(engine)
    assert migrate.current_revision(engine) == migrate.head_revision(engine)
    engine.dispose()


def test_migrations_create_exactly_the_orm_tables(tmp_path: Path) -> None:
    """A model change without its migration shows here (what ``alembic revision --autogenerate`` would write)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'w.sqlite'}")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()


def test_upgrading_keeps_the_data(tmp_path: Path) -> None:
    """Starting the workspace twice on one file (each start upgrades to head) keeps what was stored."""
    url = f"sqlite:///{tmp_path / 'w.sqlite'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql("insert into users (username, password_hash, created_at) values ('a', 'x', '2026-01-01')")
    migrate.upgrade(engine)
    with engine.connect() as conn:
        assert conn.exec_driver_sql("select username from users").fetchall() == [("a",)]
    engine.dispose()
