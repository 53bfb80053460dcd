"""Database plumbing: the declarative Base, engines and sessions, and running the migrations."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy import event, orm

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"


class Base(orm.DeclarativeBase):
    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(sa.types.TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive values)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTCDateTime column")
        return value.astimezone(dt.UTC)

    def process_result_value(self, value: dt.datetime | None, dialect: sa.Dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def make_engine(database_url: str) -> sa.Engine:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A connection per busy thread (Litestar runs sync handlers on up to 40 threads); SQLite
        # connections are only file handles, so the pool is sized for that rather than a server's limit.
        engine = sa.create_engine(
            database_url,
            connect_args={"check_same_thread": False, "timeout": 15},
            pool_size=20,
            # Never make a thread wait for a connection: a waiting handler can hold up the clean-up
            # of the very sessions it waits for. SQLite serialises writers itself (busy_timeout).
            max_overflow=-1,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate_on_write)
        return engine
    return sa.create_engine(database_url, pool_pre_ping=True, pool_size=10, max_overflow=10)


def _sqlite_pragmas(dbapi_connection, connection_record) -> None:  # noqa: ANN001
    # Let SQLAlchemy own transactions (pysqlite's implicit BEGIN is disabled) so BEGIN can be chosen.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.close()


def _sqlite_begin_immediate_on_write(connection: sa.Connection) -> None:
    # A deferred BEGIN that later writes can fail with "database is locked" without waiting for the
    # busy timeout; sessions that intend to write ask for IMMEDIATE via execution options.
    if connection.get_execution_options().get("sqlite_write"):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        connection.exec_driver_sql("BEGIN")


def make_session_factory(engine: sa.Engine) -> orm.sessionmaker[orm.Session]:
    return orm.sessionmaker(engine, expire_on_commit=False)


@contextmanager
def write_session(factory: orm.sessionmaker[orm.Session]) -> Iterator[orm.Session]:
    """A session whose transaction takes SQLite's write lock up front; commits on success."""
    with factory() as session:
        session.connection(execution_options={"sqlite_write": True})
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


def alembic_config(database_url: str):  # noqa: ANN201
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.set_main_option(
        "file_template", "%%(year)d-%%(month).2d-%%(day).2d_%%(slug)s_%%(rev)s"
    )
    return config


def run_alembic(database_url: str, command_name: str, *args: object, **kwargs: object) -> None:
    """Run an Alembic command over our own engine, so SQLite gets its folder and pragmas."""
    from alembic import command

    config = alembic_config(database_url)
    engine = make_engine(database_url)
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            getattr(command, command_name)(config, *args, **kwargs)
    finally:
        engine.dispose()


def upgrade(database_url: str, revision: str = "head") -> None:
    run_alembic(database_url, "upgrade", revision)


def begin_write(session: orm.Session) -> None:
    """Start a transaction that will write. On SQLite it takes the write lock now (BEGIN IMMEDIATE),
    so a busy database makes us wait our turn instead of failing half-way."""
    if session.in_transaction():
        session.commit()
    session.connection(execution_options={"sqlite_write": True})
