"""Guarantees 4, 6, 7: group commit, failures isolated in a batch, subscriptions, processes."""

from __future__ import annotations

import asyncio
import subprocess

from es_helpers import HERE, PYTHON, subprocess_env

from eventstore import NO_STREAM, EventStore, NewEvent, RecordedEvent, WrongExpectedVersion


async def test_concurrent_appends_share_transactions_and_failures_stay_alone(
    store_url: str,
) -> None:
    async with await EventStore.open(store_url) as store:
        await store.append("taken", [NewEvent("E", {})])

        async def good(i: int) -> int:
            return (await store.append(f"g{i}", [NewEvent("E", {"i": i})], NO_STREAM)).last_position

        calls = [good(i) for i in range(60)]
        calls.insert(20, store.append("taken", [NewEvent("E", {})], NO_STREAM))
        calls.insert(40, store.append("bad", [NewEvent("E", {"d": {1, 2}})]))  # type: ignore[dict-item]
        results = await asyncio.gather(*calls, return_exceptions=True)
        assert isinstance(results[20], WrongExpectedVersion)
        assert isinstance(results[40], TypeError)
        ok = sorted(r for r in results if isinstance(r, int))
        assert ok == list(range(2, 62))  # every other append committed, gap-free
        times = {e.recorded_at_us async for e in store.read_all(2)}
        assert len(times) < 30, "60 concurrent appends should be grouped into few transactions"
        assert (await store.verify()).ok


async def test_retries_inside_a_batch_of_new_appends_return_the_original(
    store_url: str,
) -> None:
    # The writer plans a batch as if all its ids were new; a retry (even with ANY, which no
    # version check refuses) must still get its original result and the others must commit.
    async with await EventStore.open(store_url) as store:
        old = [NewEvent("E", {"i": i}) for i in range(3)]
        first = [await store.append(f"r{i}", [ev]) for i, ev in enumerate(old)]
        calls = [store.append(f"n{i}", [NewEvent("E", {})], NO_STREAM) for i in range(30)]
        calls.insert(5, store.append("r0", [old[0]]))  # ANY
        calls.insert(15, store.append("r1", [old[1]], NO_STREAM))
        calls.insert(25, store.append("r2", [old[2]], expected_version=0))
        results = await asyncio.gather(*calls)
        assert [results[5], results[15], results[25]] == first
        fresh = sorted(r.last_position for i, r in enumerate(results) if i not in (5, 15, 25))
        assert fresh == list(range(4, 34))
        assert (await store.verify()).ok


async def test_subscribe_catches_up_then_goes_live_and_is_cancellable(store_url: str) -> None:
    # A long poll interval proves in-process writers wake the subscriber directly.
    async with await EventStore.open(store_url, poll_interval=30) as store:
        for i in range(5):
            await store.append("s", [NewEvent("E", {"i": i})])
        seen: list[RecordedEvent] = []
        all_seen = asyncio.Event()

        async def consume() -> None:
            async for ev in store.subscribe(2, batch_size=2):
                seen.append(ev)
                if len(seen) == 8:
                    all_seen.set()

        task = asyncio.create_task(consume())
        await asyncio.sleep(0.05)
        for i in range(5, 9):
            await store.append("s", [NewEvent("E", {"i": i})])
        await asyncio.wait_for(all_seen.wait(), 5)  # far below the 30 s poll interval
        assert [e.position for e in seen] == list(range(2, 10))
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert task.cancelled()


async def test_a_cancel_that_races_a_commit_always_stops_the_subscriber(store_url: str) -> None:
    # Regression: the poll wait used asyncio.wait_for, which on Python 3.11 swallows a cancel
    # that arrives in the same loop turn as the commit wake-up; the subscriber then never ended
    # (this hung a CI run). Cancel right as each append wakes a caught-up subscriber.
    async with await EventStore.open(store_url, poll_interval=30) as store:
        for round_ in range(40):
            caught_up = asyncio.Event()
            head, _ = await store.head()

            async def consume(last: int = head, flag: asyncio.Event = caught_up) -> None:
                async for ev in store.subscribe(1):
                    if ev.position >= last:
                        flag.set()

            task = asyncio.create_task(consume())
            if head:
                await asyncio.wait_for(caught_up.wait(), 5)
            await asyncio.sleep(0)  # let it park in its poll wait
            await store.append("race", [NewEvent("E", {"round": round_})])
            task.cancel()  # same turn as the commit wake-up
            done, _ = await asyncio.wait({task}, timeout=5)
            assert done, f"round {round_}: a cancelled subscriber kept running"
            assert task.cancelled()


async def test_processes_writing_at_once_keep_one_gap_free_order(store_url: str) -> None:
    procs, appenders, count = 4, 8, 6
    total = procs * appenders * count
    async with await EventStore.open(store_url, poll_interval=0.02) as store:
        seen: list[int] = []

        async def tail() -> None:
            async for ev in store.subscribe():
                seen.append(ev.position)
                if len(seen) == total:
                    return

        tailer = asyncio.create_task(tail())
        children = [
            await asyncio.create_subprocess_exec(
                PYTHON, str(HERE / "es_writer_proc.py"), "writers", store_url,
                str(p), str(appenders), str(count),
                stdout=subprocess.PIPE, env=subprocess_env(),
            )
            for p in range(procs)
        ]
        outs = await asyncio.wait_for(asyncio.gather(*(c.communicate() for c in children)), 90)
        assert all(c.returncode == 0 for c in children), outs
        await asyncio.wait_for(tailer, 20)
        assert seen == list(range(1, total + 1))  # every event exactly once, in order
        report = await store.verify()
        assert (report.ok, report.checked) == (True, total)
        for p in range(procs):
            versions = [e.version async for e in store.read_stream(f"p{p}-a3")]
            assert versions == list(range(count))
