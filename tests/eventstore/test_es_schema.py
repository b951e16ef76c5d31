"""Guarantee 8: Alembic owns the schema; stale databases are refused with the upgrade command."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

import eventstore.schema
from eventstore import (
    EventStore,
    NewEvent,
    SchemaOutOfDate,
    database_revision,
    revision_history,
    upgrade_database,
)


def test_history_starts_with_0001_events() -> None:
    history = revision_history()
    assert history[0] == "0001_events"


async def test_open_creates_at_head_with_the_expected_columns(store_url: str) -> None:
    assert await database_revision(store_url) is None
    async with await EventStore.open(store_url) as store, store.engine.connect() as conn:
        cols = await conn.run_sync(
            lambda c: {col["name"] for col in sa.inspect(c).get_columns("events")}
        )
    assert cols == {c.name for c in eventstore.schema.events.columns}
    assert "event_version" in cols
    assert await database_revision(store_url) == revision_history()[-1]
    assert await upgrade_database(store_url) == revision_history()[-1]  # idempotent


async def test_a_database_behind_head_is_refused_then_upgraded(tmp_path: Path) -> None:
    history = revision_history()
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    async with await EventStore.open(url):
        pass
    if len(history) < 2:
        pytest.skip("only one schema revision exists yet: nothing can be behind head")
    with sqlite3.connect(tmp_path / "old.db") as conn:  # as a release stopped one revision back
        conn.execute("UPDATE alembic_version SET version_num = ?", (history[-2],))
    with pytest.raises(SchemaOutOfDate, match="oms db upgrade --url"):
        await EventStore.open(url)
    assert await database_revision(url) == history[-2]


async def test_unknown_revision_is_refused(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"
    async with await EventStore.open(url):
        pass
    with sqlite3.connect(tmp_path / "x.db") as conn:
        conn.execute("UPDATE alembic_version SET version_num = 'zzzz_future'")
    with pytest.raises(Exception, match="unknown to this software"):
        await EventStore.open(url)


async def test_page_size_is_set_for_new_files_and_kept_for_old_ones(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "old.db") as conn:  # as created by an earlier release
        conn.execute("PRAGMA journal_mode = WAL")
    for name, size in (("new.db", 2048), ("old.db", 4096)):
        url = f"sqlite+aiosqlite:///{tmp_path / name}"
        async with await EventStore.open(url, create=True) as store:
            await store.append("s", [NewEvent("E", {})])
        with sqlite3.connect(tmp_path / name) as conn:
            assert conn.execute("PRAGMA page_size").fetchone()[0] == size
