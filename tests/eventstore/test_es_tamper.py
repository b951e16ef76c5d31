"""Guarantee 5: every kind of edit outside the store is reported at its first bad position."""

from __future__ import annotations

import uuid

import pytest
from es_helpers import fill, sql
from sqlalchemy import text

from eventstore import EventStore, IntegrityError


async def _store_with_10(url: str) -> EventStore:
    store = await EventStore.open(url)
    await fill(store, 10)
    assert (await store.verify()).ok
    return store


EDITS = {
    "edit data": ("UPDATE events SET data = :d WHERE position = 4", {"d": b'{"i":999}'}, 4),
    "edit type": ("UPDATE events SET type = 'X' WHERE position = 6", {}, 6),
    "edit hash": ("UPDATE events SET hash = :h WHERE position = 5", {"h": "ab" * 32}, 5),
    "edit time": ("UPDATE events SET recorded_at_us = recorded_at_us + 1 WHERE position = 2",
                  {}, 2),
    "delete row": ("DELETE FROM events WHERE position = 3", {}, 3),
    "insert row": (
        "INSERT INTO events SELECT position + 100, stream_id, version + 100, type, event_version, "
        ":eid, data, metadata, recorded_at_us, hash FROM events WHERE position = 10",
        {"eid": None},
        11,
    ),
}


@pytest.mark.parametrize("kind", list(EDITS))
async def test_each_edit_is_reported(store_url: str, kind: str) -> None:
    statement, params, bad = EDITS[kind]
    store = await _store_with_10(store_url)
    try:
        if "eid" in params:  # a valid new uuid in the dialect's storage format
            u = uuid.uuid4()
            params = {"eid": u.hex if store.dialect == "sqlite" else u}
        await sql(store, statement, **params)
        report = await store.verify()
        assert not report.ok
        assert report.first_bad_position == bad, report
        assert report.checked == bad - 1
        with pytest.raises(IntegrityError, match=f"position {bad}"):
            report.raise_if_bad()
    finally:
        await store.close()


async def test_swapped_rows_are_reported(store_url: str) -> None:
    store = await _store_with_10(store_url)
    try:
        await sql(store, "UPDATE events SET position = -7 WHERE position = 7")
        await sql(store, "UPDATE events SET position = 7 WHERE position = 8")
        await sql(store, "UPDATE events SET position = 8 WHERE position = -7")
        report = await store.verify()
        assert (report.ok, report.first_bad_position) == (False, 7)
    finally:
        await store.close()


async def test_truncation_is_caught_with_an_anchor(store_url: str) -> None:
    store = await _store_with_10(store_url)
    try:
        anchor = await store.head()
        assert (await store.verify(anchor=anchor)).ok
        await sql(store, "DELETE FROM events WHERE position >= 9")
        assert (await store.verify()).ok  # a clean prefix: only the anchor can tell
        report = await store.verify(anchor=anchor)
        assert (report.ok, report.first_bad_position) == (False, 9)
    finally:
        await store.close()


async def test_verify_from_a_position_checks_only_the_tail(store_url: str) -> None:
    """Start-up verifies what it replays after a snapshot: from position N, seeded by N-1's hash."""
    store = await _store_with_10(store_url)
    try:
        tail = await store.verify(from_position=6)
        assert tail.ok and tail.checked == 5 and tail.head_position == 10
        await sql(store, "UPDATE events SET type = 'X' WHERE position = 3")
        assert (await store.verify(from_position=6)).ok  # before the tail: not read, not checked
        assert (await store.verify()).first_bad_position == 3  # the full check still sees it
        await sql(store, "UPDATE events SET type = 'X' WHERE position = 8")
        assert (await store.verify(from_position=6)).first_bad_position == 8
        await sql(store, "DELETE FROM events WHERE position = 5")
        missing = await store.verify(from_position=6)
        assert not missing.ok and missing.first_bad_position == 5
        with pytest.raises(ValueError):
            await store.verify(from_position=0)
    finally:
        await store.close()


async def test_event_id_spellings_on_sqlite(sqlite_url: str) -> None:
    """SQLite keeps ids as 32 hex digits. Verification hashes the id, not its spelling: another
    spelling of the same id is the same event; a different id or a non-id is reported."""
    store = await _store_with_10(sqlite_url)
    try:
        await sql(store, "UPDATE events SET event_id = upper(event_id) WHERE position = 2")
        await sql(store, "UPDATE events SET event_id = :e WHERE position = 3",
                  e="{" + str(uuid.UUID(await _id_at(store, 3))) + "}")
        assert (await store.verify()).ok
        await sql(store, "UPDATE events SET event_id = :e WHERE position = 5", e=uuid.uuid4().hex)
        changed = await store.verify()
        assert (changed.ok, changed.first_bad_position) == (False, 5)
        assert "does not match" in (changed.reason or "")
        await sql(store, "UPDATE events SET event_id = 'not-an-id' WHERE position = 4")
        garbage = await store.verify()
        assert (garbage.ok, garbage.first_bad_position) == (False, 4)
        assert "malformed" in (garbage.reason or "")
    finally:
        await store.close()


async def _id_at(store: EventStore, position: int) -> str:
    async with store.engine.connect() as conn:
        value = (await conn.execute(
            text("SELECT event_id FROM events WHERE position = :p"), {"p": position}
        )).scalar_one()
    return str(value)
