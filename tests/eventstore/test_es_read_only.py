"""Opening never writes to a file before it is known to be ours and at head (issue 13 items 4, 17).

Each refused file is compared byte for byte before and after, and its journal mode is read back:
the old code switched every file it touched to WAL before looking at its schema.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from fs_helpers import read_only_directory

from eventstore import (
    EventStore,
    ForeignDatabase,
    NewEvent,
    SchemaOutOfDate,
    database_revision,
    read_all_raw,
    revision_history,
)
from eventstore.errors import JournalNotReadable, ReadOnlyStore


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _journal_mode(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])
    finally:
        conn.close()


def _foreign(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO customers (name) VALUES ('ada')")


async def _behind_head(path: Path) -> None:
    async with await EventStore.open(f"sqlite+aiosqlite:///{path}") as store:
        await store.append("s", [NewEvent("E", {"i": 1})])
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        conn.execute("PRAGMA journal_mode = DELETE")  # as an older release left it
        conn.execute("UPDATE alembic_version SET version_num = ?", (revision_history()[0],))


@pytest.mark.parametrize("read_only", [True, False], ids=["reader", "writer"])
@pytest.mark.parametrize("kind", ["foreign", "behind-head", "zero-bytes"])
async def test_a_refused_file_is_left_exactly_as_it_was(
    tmp_path: Path, kind: str, read_only: bool
) -> None:
    path = tmp_path / "x.db"
    if kind == "foreign":
        _foreign(path)
        expected: type[Exception] = ForeignDatabase
    elif kind == "behind-head":
        if len(revision_history()) < 2:
            pytest.skip("one schema revision: nothing can be behind head")
        await _behind_head(path)
        expected = SchemaOutOfDate
    else:
        path.write_bytes(b"")
        expected = ForeignDatabase
    before = _digest(path)
    mode = _journal_mode(path) if path.stat().st_size else None
    url = f"sqlite+aiosqlite:///{path}"
    with pytest.raises(expected):
        # a writer that may not create: the engine's own open of a foreign or old file
        await EventStore.open(url, create=False, read_only=read_only)
    if kind != "zero-bytes":
        with pytest.raises(expected):
            await EventStore.open(url, read_only=read_only)  # create=True: still refused
        assert _journal_mode(path) == mode
    assert _digest(path) == before
    await database_revision(url)  # `oms db current` reads only
    assert _digest(path) == before
    assert _size(Path(f"{path}-wal")) == 0


def _restore_wal_without_shm(path: Path, saved: Path) -> None:
    shutil.copy(saved, f"{path}-wal")
    Path(f"{path}-shm").unlink(missing_ok=True)


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def test_a_read_only_store_reads_while_a_writer_appends_and_refuses_appends(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'j.db'}"
    async with await EventStore.open(url) as writer:
        await writer.append("s", [NewEvent("E", {"i": 0})])
        async with await EventStore.open(url, read_only=True) as reader:
            assert reader.read_only
            with pytest.raises(ReadOnlyStore):
                await reader.append("s", [NewEvent("E", {})])
            await writer.append("s", [NewEvent("E", {"i": 1})])
            assert [e.data["i"] async for e in reader.read_all()] == [0, 1]
            assert (await reader.verify()).ok
            rows = [r async for batch in read_all_raw(reader) for r in batch]
            assert [r[0] for r in rows] == [1, 2]


async def test_read_only_open_of_a_missing_file_creates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "missing.db"
    with pytest.raises(JournalNotReadable, match="does not exist"):
        await EventStore.open(f"sqlite+aiosqlite:///{path}", read_only=True)
    assert not path.exists()
    assert await database_revision(f"sqlite+aiosqlite:///{path}") is None
    assert os.listdir(tmp_path) == []


async def test_a_journal_in_a_read_only_directory_can_still_be_read(tmp_path: Path) -> None:
    folder = tmp_path / "archive"
    folder.mkdir()
    url = f"sqlite+aiosqlite:///{folder / 'j.db'}"
    async with await EventStore.open(url) as store:
        for i in range(5):
            await store.append("s", [NewEvent("E", {"i": i})])
    assert sorted(os.listdir(folder)) == ["j.db"]  # a clean close leaves no -wal/-shm
    before = _digest(folder / "j.db")
    with read_only_directory(folder):
        async with await EventStore.open(url, read_only=True) as reader:
            assert [e.data["i"] async for e in reader.read_all()] == [0, 1, 2, 3, 4]
            assert (await reader.verify()).checked == 5
        assert await database_revision(url) == revision_history()[-1]
    assert sorted(os.listdir(folder)) == ["j.db"]
    assert _digest(folder / "j.db") == before


async def test_a_read_only_directory_with_events_in_the_wal_is_refused_clearly(
    tmp_path: Path,
) -> None:
    """Reading the main file alone would silently drop the -wal's events: say why instead."""
    folder = tmp_path / "archive"
    folder.mkdir()
    path = folder / "j.db"
    url = f"sqlite+aiosqlite:///{path}"
    async with await EventStore.open(url) as store:
        await store.append("s", [NewEvent("E", {"i": 0})])
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA wal_autocheckpoint = 0")
    conn.execute("CREATE TABLE pending (x)")  # a commit that lives only in the -wal
    wal = Path(f"{path}-wal")
    shutil.copy(wal, tmp_path / "wal")
    conn.close()  # the last connection checkpoints: put the -wal back without its -shm
    _restore_wal_without_shm(path, tmp_path / "wal")
    with read_only_directory(folder), pytest.raises(
        JournalNotReadable, match="-wal file to a writable directory"
    ):
        await EventStore.open(url, read_only=True)


async def test_a_read_only_store_cannot_write_even_through_its_engine(store_url: str) -> None:
    """SQLite ``mode=ro`` / PostgreSQL read-only transactions: not only ``append`` refuses."""
    from sqlalchemy import text

    async with await EventStore.open(store_url) as writer:
        await writer.append("s", [NewEvent("E", {"i": 0})])
    async with await EventStore.open(store_url, read_only=True) as reader:
        with pytest.raises(ReadOnlyStore):
            await reader.append("s", [NewEvent("E", {})])
        with pytest.raises(Exception, match=r"(?i)read.?only"):
            async with reader.engine.begin() as conn:
                await conn.execute(text("DELETE FROM events"))
        assert [e.data["i"] async for e in reader.read_all()] == [0]
