"""Opening a SQLite journal for reading without writing a byte to it.

A read-only command must not change the file it reads, nor one it then refuses (another
application's database, a journal behind the schema head, a 0-byte file). So readers open the
file with SQLite's ``mode=ro`` URI: no statement on such a connection can write, and nothing
switches the file to WAL mode (that happens only in :func:`eventstore.migration.ensure_schema`,
for writers, once the file is known to be ours and current).

A WAL database needs its ``-shm`` index to be read, and SQLite creates that file beside the
database if it is missing. In a read-only directory it cannot: then, if no ``-wal`` file holds
events that are not yet in the main file, the journal is opened ``immutable=1`` (SQLite reads
the main file alone, without locks: safe, since no writer can run in a directory where it could
not create its ``-wal``). If a non-empty ``-wal`` is there but cannot be indexed, reading the main
file alone would silently drop its events, so :class:`JournalNotReadable` says why instead.
See https://www.sqlite.org/wal.html#readonly (read-only WAL databases, SQLite ≥ 3.22) and
https://www.sqlite.org/uri.html (``mode``, ``immutable``).

>>> file_uri("/tmp/my journal.db")
'file:/tmp/my%20journal.db?mode=ro'
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eventstore.errors import JournalNotReadable

BUSY_TIMEOUT_S = 30.0


def file_uri(path: str, *, immutable: bool = False) -> str:
    """The read-only ``file:`` URI of ``path`` (absolute, percent-encoded)."""
    uri = "file:" + quote(os.path.abspath(path)) + "?mode=ro"
    return uri + "&immutable=1" if immutable else uri


def read_only_uri(path: str) -> str:
    """The URI to read ``path`` with: ``mode=ro``, or ``immutable=1`` in a read-only directory.

    Raises :class:`JournalNotReadable` when the file is missing, or when it cannot be read
    without losing the events of its ``-wal`` file.
    """
    if not Path(path).is_file():
        raise JournalNotReadable(path, "it does not exist")
    uri = file_uri(path)
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
        return uri
    except sqlite3.DatabaseError as exc:
        if "unable to open" not in str(exc):
            return uri  # not a database, or locked: the schema check reports it clearly
    wal = Path(path + "-wal")
    if wal.exists() and wal.stat().st_size > 0:
        raise JournalNotReadable(
            path,
            f"its write-ahead log {wal.name} holds events not yet in the main file, and SQLite "
            f"cannot create the {Path(path).name}-shm index it needs to read them (the directory "
            "is read-only); copy the journal together with its -wal file to a writable "
            "directory, or open it once where it can be written",
        )
    return file_uri(path, immutable=True)


def read_only_connector(path: str) -> Callable[[], Awaitable[Any]]:
    """An ``async_creator`` for SQLAlchemy: aiosqlite connections on :func:`read_only_uri`."""
    uri = read_only_uri(path)

    async def connect() -> Any:
        import aiosqlite

        return await aiosqlite.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S)

    return connect
