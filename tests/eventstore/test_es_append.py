"""Guarantees 1–3 on both backends: atomic appends, optimistic concurrency, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import pairwise
from uuid import uuid4

import pytest

from eventstore import (
    ANY,
    NO_STREAM,
    STREAM_EXISTS,
    EventStore,
    IdempotencyConflict,
    NewEvent,
    WrongExpectedVersion,
)


async def test_append_and_read_back_every_field(store_url: str) -> None:
    async with await EventStore.open(store_url) as store:
        before = datetime.now(UTC) - timedelta(seconds=1)
        eid = uuid4()
        res = await store.append(
            "order-1",
            [
                NewEvent("Created", {"px": "1.5", "n": [1, 2]}, {"corr": "c1"}, eid, version=2),
                NewEvent("Acked", {"oid": 7}),
            ],
            expected_version=NO_STREAM,
        )
        assert (res.stream_id, res.first_position, res.last_position, res.next_version) == (
            "order-1", 1, 2, 2,
        )
        got = [ev async for ev in store.read_stream("order-1")]
        assert [(e.version, e.position, e.type) for e in got] == [
            (0, 1, "Created"), (1, 2, "Acked"),
        ]
        first = got[0]
        assert first.event_id == eid and first.event_version == 2
        assert got[1].event_version == 1
        assert first.data == {"px": "1.5", "n": [1, 2]} and first.metadata == {"corr": "c1"}
        assert first.recorded_at.tzinfo is UTC and first.recorded_at >= before
        assert len(first.hash) == 64 and first.hash != got[1].hash
        assert list(res.events) == got
        assert (await store.head()) == (2, got[1].hash)


async def test_expected_version_rules_and_nothing_written_on_mismatch(store_url: str) -> None:
    async with await EventStore.open(store_url) as store:
        with pytest.raises(WrongExpectedVersion) as info:
            await store.append("s", [NewEvent("E", {})], expected_version=STREAM_EXISTS)
        assert (info.value.stream_id, info.value.actual) == ("s", None)
        await store.append("s", [NewEvent("E", {})], expected_version=NO_STREAM)
        with pytest.raises(WrongExpectedVersion):
            await store.append("s", [NewEvent("E", {})], expected_version=NO_STREAM)
        with pytest.raises(WrongExpectedVersion) as info:
            await store.append("s", [NewEvent("E", {}), NewEvent("E", {})], expected_version=3)
        assert (info.value.expected, info.value.actual) == (3, 0)
        assert "re-read the stream" in str(info.value)
        await store.append("s", [NewEvent("E", {})], expected_version=0)
        await store.append("s", [NewEvent("E", {})], expected_version=STREAM_EXISTS)
        res = await store.append("s", [NewEvent("E", {})], expected_version=ANY)
        assert res.next_version == 4
        assert [e.version async for e in store.read_stream("s")] == [0, 1, 2, 3]
        assert [e.position async for e in store.read_all()] == [1, 2, 3, 4]


async def test_idempotent_retry_returns_original_even_after_reopen(store_url: str) -> None:
    batch = [NewEvent("A", {"i": 1}), NewEvent("B", {"i": 2})]
    async with await EventStore.open(store_url) as store:
        first = await store.append("s", batch, expected_version=NO_STREAM)
        again = await store.append("s", batch, expected_version=NO_STREAM)
        assert again == first and again.events == first.events
    async with await EventStore.open(store_url) as store:
        third = await store.append("s", batch, expected_version=7)
        assert third == first
        assert [e.position async for e in store.read_all()] == [1, 2]


async def test_idempotency_conflicts(store_url: str) -> None:
    a, b = NewEvent("A", {"i": 1}), NewEvent("B", {"i": 2})
    async with await EventStore.open(store_url) as store:
        await store.append("s", [a, b])
        cases = [
            ("s", [NewEvent("A", {"i": 99}, event_id=a.event_id)], "different type or content"),
            ("s", [NewEvent("A", {"i": 1}, {"m": 1}, a.event_id)], "different type or content"),
            ("other", [a], "in stream 'other'"[:9]),
            ("s", [a, NewEvent("C", {})], "only part of this batch"),
            ("s", [b, a], "different batch"),
        ]
        for stream, events, why in cases:
            with pytest.raises(IdempotencyConflict, match=why.split("'")[0]):
                await store.append(stream, events)
        assert [e.position async for e in store.read_all()] == [1, 2]


async def test_read_ranges(store_url: str) -> None:
    async with await EventStore.open(store_url) as store:
        for i in range(25):
            await store.append(f"s{i % 3}", [NewEvent("E", {"i": i})])
        assert [e.position async for e in store.read_all(5, 9)] == [5, 6, 7, 8, 9]
        assert [e.position async for e in store.read_all(20, batch_size=2)] == list(range(20, 26))
        assert [e.data["i"] async for e in store.read_all(0, batch_size=7)] == list(range(25))
        assert [e.version async for e in store.read_stream("s1", 5, batch_size=2)] == [5, 6, 7]
        assert [e async for e in store.read_stream("nope")] == []


def test_default_event_ids_are_unique_time_ordered_uuid7() -> None:
    ids = [NewEvent("E", {}).event_id for _ in range(10_000)]
    assert {i.version for i in ids} == {7} and len(set(ids)) == len(ids)
    # Ordered (keeps the event_id index append-mostly); ties within one clock tick are fine.
    assert sum(a.int > b.int for a, b in pairwise(ids)) < 100
