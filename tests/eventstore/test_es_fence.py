"""Fencing tokens: once another writer claims the fence stream, a fenced store writes nothing."""

from __future__ import annotations

import asyncio

import pytest

from eventstore import NO_STREAM, EventStore, Fenced, NewEvent


async def test_a_claim_by_another_writer_fences_every_later_append(store_url: str) -> None:
    async with await EventStore.open(store_url) as first, await EventStore.open(
        store_url
    ) as second:
        claim = await first.append("lease", [NewEvent("Claimed", {"by": 1})], NO_STREAM)
        first.set_fence("lease", claim.next_version - 1)
        assert first.fence == ("lease", 0)
        await first.append("order-a", [NewEvent("E", {})])  # our token holds: committed
        head_before, _ = await second.head()
        await second.append("lease", [NewEvent("Claimed", {"by": 2})], expected_version=0)
        results = await asyncio.gather(  # one batch of several appends: every one refused
            *(first.append(f"order-{i}", [NewEvent("E", {"i": i})]) for i in range(5)),
            return_exceptions=True,
        )
        assert all(isinstance(r, Fenced) for r in results), results
        fenced = results[0]
        assert isinstance(fenced, Fenced)
        assert (fenced.stream_id, fenced.token, fenced.actual) == ("lease", 0, 1)
        head_after, _ = await second.head()
        assert head_after == head_before + 1  # only the second claim was written
        assert [e.type async for e in second.read_stream("order-1")] == []
        second.set_fence("lease", 1)
        await second.append("order-b", [NewEvent("E", {})])  # the new holder writes on
        first.clear_fence()
        await first.append("audit", [NewEvent("E", {})])  # unfenced again: no check
        assert (await second.verify()).ok


async def test_fence_arguments_are_checked(sqlite_url: str) -> None:
    async with await EventStore.open(sqlite_url) as store:
        with pytest.raises(ValueError):
            store.set_fence("lease", -1)
        with pytest.raises((TypeError, ValueError)):
            store.set_fence("", 0)
        assert store.fence is None
