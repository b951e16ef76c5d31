"""The SQLAlchemy async engine the store (and the projections) share.

On SQLite the engine's connections get the same durability settings as the writer's and every
SQLAlchemy transaction starts with ``BEGIN IMMEDIATE``: pysqlite's own implicit, deferred BEGIN
would let a read-then-write transaction fail with "database is locked" instead of waiting, and
would not make reads and writes of one ``engine.begin()`` block atomic.

Connecting changes nothing in the file: WAL mode (which rewrites the header of a rollback-journal
or empty file) is switched on by :func:`eventstore.migration.ensure_schema` only once the database
is known to be ours and at the schema head. A ``read_only`` engine opens the file with SQLite's
``mode=ro`` (``immutable=1`` in a read-only directory, see :mod:`eventstore.sqlite_open`), so no
statement on it can write.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from eventstore.errors import NotADatabase
from eventstore.sqlite_open import BUSY_TIMEOUT_S, read_only_connector


def display_url(url: URL) -> str:
    """The URL as it may appear in messages and logs (password hidden)."""
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> str:
    """The file behind a SQLite URL; refuses in-memory databases and non-SQLite files."""
    path = url.database
    if not path or path == ":memory:" or path.startswith("file:"):
        raise ValueError(
            f"{display_url(url)}: the event store needs a SQLite *file* "
            "(sqlite+aiosqlite:///path/to/oms.db); in-memory databases are not durable"
        )
    if Path(path).is_dir():
        raise NotADatabase(path)
    # Never open() the file to sniff its header: closing any descriptor of a database file
    # drops every POSIX lock SQLite holds on it in this process, which corrupts a live WAL
    # database. SQLite itself reports "file is not a database" when the schema is read.
    return path


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # we issue BEGIN ourselves (see module docstring)
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA synchronous = FULL")
    cur.close()


def _sqlite_connect_read_only(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA query_only = 1")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def _sqlite_begin_read(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN")  # a reader takes no write lock


def create_engine(url: str | URL, *, read_only: bool = False) -> AsyncEngine:
    """An ``AsyncEngine`` for a ``sqlite+aiosqlite`` or ``postgresql+asyncpg`` URL.

    ``read_only``: SQLite files are opened ``mode=ro`` (see :mod:`eventstore.sqlite_open`);
    PostgreSQL sessions default to read-only transactions. Either way no statement can write.
    Raises ``JournalNotReadable`` when a read-only SQLite file cannot be read.
    """
    sa_url = make_url(url)
    backend = sa_url.get_backend_name()
    if backend == "sqlite":
        path = sqlite_path(sa_url)
        if read_only:
            engine = create_async_engine(sa_url, async_creator=read_only_connector(path))
            event.listen(engine.sync_engine, "connect", _sqlite_connect_read_only)
            event.listen(engine.sync_engine, "begin", _sqlite_begin_read)
            return engine
        engine = create_async_engine(sa_url, connect_args={"timeout": BUSY_TIMEOUT_S})
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        args: dict[str, Any] = {}
        if read_only:
            args["server_settings"] = {"default_transaction_read_only": "on"}
        # pre_ping: a restarted server must not fail the first read after it
        return create_async_engine(
            sa_url, pool_size=8, max_overflow=8, pool_pre_ping=True, connect_args=args
        )
    raise ValueError(
        f"{display_url(sa_url)}: unsupported database; use sqlite+aiosqlite:///file.db "
        "or postgresql+asyncpg://user@host/db"
    )
