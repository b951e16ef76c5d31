"""The SQLAlchemy async engine the store (and the projections) share.

On SQLite the engine's connections get the same durability settings as the writer's and every
SQLAlchemy transaction starts with ``BEGIN IMMEDIATE``: pysqlite's own implicit, deferred BEGIN
would let a read-then-write transaction fail with "database is locked" instead of waiting, and
would not make reads and writes of one ``engine.begin()`` block atomic.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from eventstore.errors import NotADatabase
from eventstore.sqlite_backend import BUSY_TIMEOUT_S, PAGE_SIZE_PRAGMA


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
    cur.execute(PAGE_SIZE_PRAGMA)  # before WAL mode: it fixes the page size of a new file
    cur.execute("PRAGMA journal_mode = WAL")
    cur.execute("PRAGMA synchronous = FULL")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def create_engine(url: str | URL) -> AsyncEngine:
    """An ``AsyncEngine`` for a ``sqlite+aiosqlite`` or ``postgresql+asyncpg`` URL."""
    sa_url = make_url(url)
    backend = sa_url.get_backend_name()
    if backend == "sqlite":
        sqlite_path(sa_url)
        engine = create_async_engine(sa_url, connect_args={"timeout": BUSY_TIMEOUT_S})
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    if backend == "postgresql":
        # pre_ping: a restarted server must not fail the first read after it
        return create_async_engine(sa_url, pool_size=8, max_overflow=8, pool_pre_ping=True)
    raise ValueError(
        f"{display_url(sa_url)}: unsupported database; use sqlite+aiosqlite:///file.db "
        "or postgresql+asyncpg://user@host/db"
    )
