"""Schema management through Alembic, configured in code (no ``alembic.ini`` at run time).

>>> revision_history()[0]
'0001_events'
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncEngine

import migrations
from eventstore.engine import create_engine, display_url, sqlite_path
from eventstore.errors import ForeignDatabase, NotADatabase, SchemaOutOfDate
from eventstore.sqlite_backend import enable_wal

VERSION_TABLE = "alembic_version"


def alembic_config(connection: Any = None, url: str | None = None) -> Config:
    """An Alembic ``Config`` pointing at the ``migrations`` package."""
    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    if url is not None:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def revision_history() -> list[str]:
    """Every revision id of the schema, oldest first."""
    script = ScriptDirectory.from_config(alembic_config())
    return [rev.revision for rev in reversed(list(script.walk_revisions()))]


def head_revision() -> str:
    """The revision a database must be at for this software."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the migrations package has no revisions"
    return head


def _state(sync_conn: sa.Connection) -> tuple[list[str], str | None]:
    tables = sa.inspect(sync_conn).get_table_names()
    if VERSION_TABLE not in tables:
        return tables, None
    rows = sync_conn.exec_driver_sql(f"SELECT version_num FROM {VERSION_TABLE}").fetchall()
    return tables, (rows[0][0] if len(rows) == 1 else None)


def _upgrade(sync_conn: sa.Connection) -> None:
    command.upgrade(alembic_config(connection=sync_conn), "head")


async def _read_state(engine: AsyncEngine, url: URL) -> tuple[list[str], str | None]:
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_state)
    except sa.exc.DatabaseError as exc:
        if isinstance(exc.orig, sqlite3.DatabaseError) and "not a database" in str(exc):
            raise NotADatabase(url.database or display_url(url)) from exc
        raise


async def _writable(url: URL) -> None:
    """SQLite: switch a file known to be ours (or a new one) to WAL mode before writing."""
    if url.get_backend_name() == "sqlite":
        await asyncio.to_thread(enable_wal, sqlite_path(url))


async def ensure_schema(
    engine: AsyncEngine, url: URL, *, create: bool = True, read_only: bool = False
) -> str:
    """Create a new database at head, or check an existing one is ours and current.

    The check reads only: nothing is written to a database until it is known to be ours and at
    head (or empty and ``create`` is set). ``read_only`` never writes at all.
    Raises :class:`ForeignDatabase`, :class:`SchemaOutOfDate` or :class:`NotADatabase`.
    """
    shown = display_url(url)
    tables, rev = await _read_state(engine, url)
    history = revision_history()
    if not tables:
        if not create or read_only:
            raise ForeignDatabase(shown, "it is empty and creation was not requested")
        await _writable(url)
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
        return history[-1]
    if rev is None:
        raise ForeignDatabase(
            shown, f"it has tables {sorted(tables)[:5]} but no single {VERSION_TABLE} revision"
        )
    if rev not in history:
        raise ForeignDatabase(
            shown, f"its schema revision {rev!r} is unknown to this software (newer, or not ours)"
        )
    if rev != history[-1]:
        raise SchemaOutOfDate(shown, rev, history[-1])
    if not read_only:
        await _writable(url)
    return rev


async def database_revision(url: str | URL) -> str | None:
    """The schema revision of the database at ``url``, or None if it has none (reads only)."""
    sa_url = make_url(url)
    if sa_url.get_backend_name() == "sqlite" and not await asyncio.to_thread(
        Path(sqlite_path(sa_url)).exists
    ):
        return None  # and no file is created to say so
    engine = create_engine(sa_url, read_only=True)
    try:
        return (await _read_state(engine, sa_url))[1]
    finally:
        await engine.dispose()


async def upgrade_database(url: str | URL) -> str:
    """Upgrade (or create) the database at ``url`` to the head revision; return that revision.

    Back the database up first. Refuses databases of other applications.

    >>> # await upgrade_database("sqlite+aiosqlite:///oms.db")
    """
    sa_url = make_url(url)
    engine = create_engine(sa_url)
    try:
        tables, rev = await _read_state(engine, sa_url)
        history = revision_history()
        if tables and (rev is None or rev not in history):
            raise ForeignDatabase(
                display_url(sa_url), f"revision {rev!r}, tables {sorted(tables)[:5]}"
            )
        await _writable(sa_url)
        async with engine.begin() as conn:
            await conn.run_sync(_upgrade)
        return history[-1]
    finally:
        await engine.dispose()
