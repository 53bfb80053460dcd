"""Migrations are the only way the schema changes: they go up, down and up again, and match the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from feedback_portal import db, models


def test_upgrade_downgrade_and_upgrade_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    db.upgrade(url)
    db.run_alembic(url, "downgrade", "base")
    engine = db.make_engine(url)
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) == {"alembic_version"}
    engine.dispose()
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as connection:
        assert {"feedback", "users", "audit_events"} <= set(sa.inspect(connection).get_table_names())
    engine.dispose()


def test_the_models_and_the_migrations_agree(tmp_path):
    url = f"sqlite:///{tmp_path / 'portal.db'}"
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, models.Base.metadata)
    engine.dispose()
    assert differences == []


def test_every_migration_file_is_named_by_date_and_slug():
    names = [path.name for path in (db.MIGRATIONS_DIR / "versions").glob("*.py")]
    assert names
    assert all(len(name) > 11 and name[:4].isdigit() and name[4] == "-" and name[10] == "_" for name in names)


def test_upgrade_downgrade_and_upgrade_again_on_postgresql(postgres_server):
    url = postgres_server.url(postgres_server.create_database())
    db.upgrade(url)
    db.run_alembic(url, "downgrade", "base")
    engine = db.make_engine(url)
    with engine.connect() as connection:
        assert set(sa.inspect(connection).get_table_names()) == {"alembic_version"}
    engine.dispose()
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as connection:
        assert {"feedback", "users", "audit_events"} <= set(sa.inspect(connection).get_table_names())
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, models.Base.metadata)
    engine.dispose()
    assert differences == []
