"""Which database a command uses, and opening it without ever creating one by accident.

The URL comes from ``--url``, else ``OMS_DATABASE_URL``, else ``sqlite+aiosqlite:///oms.db``.
Plain ``sqlite:///`` and ``postgresql://`` URLs are accepted and given their async driver.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, make_url

from eventstore import EventStore, ForeignDatabase, JournalNotReadable
from oms.cli.errors import CliError, UsageError

URL_ENV = "OMS_DATABASE_URL"
DEFAULT_URL = "sqlite+aiosqlite:///oms.db"
_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


def resolve_url(url: str | None) -> URL:
    """The database URL to use (``--url``, then the environment, then the default), validated.

    Raises :class:`UsageError` for a URL that is malformed or names an unsupported database.
    """
    text = url or os.environ.get(URL_ENV) or DEFAULT_URL
    try:
        parsed = make_url(text)
    except sa.exc.ArgumentError:
        raise UsageError(
            f"bad database URL {text!r}: use sqlite+aiosqlite:///path/oms.db "
            "or postgresql+asyncpg://user@host/db"
        ) from None
    backend = parsed.get_backend_name()
    if backend == "postgres":
        backend = "postgresql"
    if backend not in _DRIVERS:
        raise UsageError(
            f"unsupported database {backend!r} in {shown(parsed)}: use sqlite+aiosqlite:///file.db "
            "or postgresql+asyncpg://user@host/db"
        )
    driver = parsed.get_driver_name()
    if driver not in ("aiosqlite", "asyncpg"):
        parsed = parsed.set(drivername=_DRIVERS[backend])
    if backend == "sqlite" and (not parsed.database or parsed.database == ":memory:"):
        raise UsageError(
            f"{shown(parsed)} names no file: the journal must be a SQLite file "
            "(sqlite+aiosqlite:///path/oms.db)"
        )
    return parsed


def shown(url: URL) -> str:
    """The URL as it may be printed (password hidden)."""
    return url.render_as_string(hide_password=True)


def sqlite_file(url: URL) -> Path | None:
    """The file behind a SQLite URL (None for PostgreSQL)."""
    if url.get_backend_name() != "sqlite":
        return None
    return Path(url.database or "")


def require_existing(url: URL) -> None:
    """Refuse (one clear line) a SQLite file that does not exist, instead of creating it."""
    path = sqlite_file(url)
    if path is not None and not path.is_file():
        raise CliError(
            f"database {path} does not exist: check --url / {URL_ENV}, "
            "or create it with `oms db upgrade`"
        )


@asynccontextmanager
async def open_existing(url: URL, *, read_only: bool = True) -> AsyncIterator[EventStore]:
    """Open an existing event store; never creates a file or a schema.

    ``read_only`` (the default: every query and audit command) opens it so that nothing can be
    written, not even to a database it then refuses; ``oms replay`` (which rebuilds the read
    models) passes ``False`` and writes only once the journal is known to be ours and current.
    """
    require_existing(url)
    try:
        store = await EventStore.open(url, create=False, read_only=read_only)
    except JournalNotReadable as exc:
        raise CliError(str(exc)) from exc
    except ForeignDatabase as exc:
        if "empty" in str(exc):
            raise CliError(
                f"database {shown(url)} holds no OMS event store (it is empty): "
                "create one with `oms db upgrade` or point --url at an existing journal"
            ) from exc
        raise
    try:
        yield store
    finally:
        await store.close()
