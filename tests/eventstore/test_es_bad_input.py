"""Bad input is refused before anything is written; bad databases get a clear error."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from eventstore import ANY, EventStore, NewEvent


async def _assert_nothing_written(store: EventStore) -> None:
    assert (await store.head())[0] == 0


BAD_PAYLOADS: list[Any] = [
    {"px": Decimal("1.5")},
    {"at": datetime.now(UTC)},
    {"s": {1, 2}},
    {"o": object()},
    {1: "non-string key"},
    {"big": 2**70},
    ["not", "an", "object"],
]


@pytest.mark.parametrize("payload", BAD_PAYLOADS, ids=lambda p: repr(p)[:20])
async def test_non_json_data_or_metadata_is_a_type_error(store_url: str, payload: Any) -> None:
    async with await EventStore.open(store_url) as store:
        with pytest.raises(TypeError, match="data of E event"):
            await store.append("s", [NewEvent("E", {"ok": 1}), NewEvent("E", payload)])
        with pytest.raises(TypeError, match="metadata of E event"):
            await store.append("s", [NewEvent("E", {}, payload)])
        await _assert_nothing_written(store)


async def test_bad_arguments_are_value_errors(sqlite_url: str) -> None:
    async with await EventStore.open(sqlite_url) as store:
        ev = NewEvent("E", {})
        for call in (
            lambda: store.append("s", []),
            lambda: store.append("", [ev]),
            lambda: store.append("x" * 257, [ev]),
            lambda: store.append("s", [ev, ev]),
            lambda: store.append("s", [NewEvent("", {})]),
            lambda: store.append("s", [ev], expected_version=-1),
        ):
            with pytest.raises(ValueError):
                await call()
        with pytest.raises(TypeError):
            await store.append("s", ev)  # type: ignore[arg-type]
        for bad in (lambda: store.read_all(-1), lambda: store.subscribe(-5),
                    lambda: store.read_stream("s", -1), lambda: store.read_all(1, batch_size=0)):
            with pytest.raises(ValueError):
                bad()
        await store.append("x" * 256, [ev], expected_version=ANY)  # the limit itself is fine
        assert (await store.head())[0] == 1


async def test_a_file_that_is_not_sqlite_is_named(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello, I am not a database\n" * 50)
    with pytest.raises(Exception, match=str(path)) as info:
        await EventStore.open(f"sqlite+aiosqlite:///{path}")
    assert "not an SQLite database" in str(info.value)


async def test_a_database_of_another_application_is_named(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT)")
    with pytest.raises(Exception, match=str(path)) as info:
        await EventStore.open(f"sqlite+aiosqlite:///{path}")
    assert "does not look like an OMS event store" in str(info.value)
    with sqlite3.connect(path) as conn:  # untouched
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["customers"]


async def test_closed_store_refuses_work(sqlite_url: str) -> None:
    from eventstore import StoreClosed

    store = await EventStore.open(sqlite_url)
    await store.close()
    await store.close()
    with pytest.raises(StoreClosed):
        await store.append("s", [NewEvent("E", {})])


NON_FINITE: list[Any] = [
    {"x": float("nan")},
    {"x": float("inf")},
    {"deep": [1.0, {"y": -float("inf")}]},
]


@pytest.mark.parametrize("payload", NON_FINITE, ids=["nan", "inf", "nested-minus-inf"])
async def test_nan_and_infinity_are_refused_not_stored_as_null(
    store_url: str, payload: Any
) -> None:
    """Issue 13 item 3: orjson writes NaN/±Infinity as ``null``; the store must refuse them."""
    async with await EventStore.open(store_url) as store:
        with pytest.raises(ValueError, match="non-finite float"):
            await store.append("s", [NewEvent("E", {"ok": 1}), NewEvent("E", payload)])
        with pytest.raises(ValueError, match="metadata of E event"):
            await store.append("s", [NewEvent("E", {}, payload)])
        await _assert_nothing_written(store)
        # null itself and finite floats are still fine
        await store.append("s", [NewEvent("E", {"n": None, "f": [1.5, -0.0, 1e308]})])
        assert (await store.head())[0] == 1
